import type { Client } from '@temporalio/client';
import { deployWorkflowId, SEARCH_ATTRIBUTES } from '../../names';
import { formatMs } from '../../format';
import type { CommandEnd } from '../exit-codes';

export interface HistoryEntry {
  runId: string;
  workflowStatus: string;
  outcome: string;
  startedAt: string;
  durationMs: number | null;
  images: string[];
  /** A fleet deploy's hosts (absent for one host). */
  hosts?: string[];
}

/** The last `limit` deploys of `app` (a valid app name: cli.ts checks it) from Temporal visibility, newest first. */
export async function history(client: Client, app: string, limit: number, json: boolean, out: (line: string) => void = console.log): Promise<CommandEnd> {
  const entries: HistoryEntry[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${deployWorkflowId(app)}'`, pageSize: limit })) {
    const sa = execution.typedSearchAttributes;
    entries.push({
      runId: execution.runId,
      workflowStatus: execution.status.name,
      outcome: sa.get(SEARCH_ATTRIBUTES.outcome) ?? execution.status.name.toLowerCase(),
      startedAt: execution.startTime.toISOString(),
      durationMs: execution.closeTime ? execution.closeTime.getTime() - execution.startTime.getTime() : null,
      images: sa.get(SEARCH_ATTRIBUTES.images) ?? [],
      ...(sa.get(SEARCH_ATTRIBUTES.hosts)?.length ? { hosts: sa.get(SEARCH_ATTRIBUTES.hosts) } : {}),
    });
    if (entries.length >= limit) break;
  }
  if (json) {
    out(JSON.stringify(entries));
    // An app with no deploy is exit 2 in JSON too: CI tells "unknown app" from "no news" by the code.
    return entries.length === 0 ? 'unknown-app' : 'done';
  }
  if (entries.length === 0) {
    out(`no deploy of ${app} found: check the app name`);
    return 'unknown-app';
  }
  out(`${'started'.padEnd(24)} ${'outcome'.padEnd(20)} ${'duration'.padEnd(9)} images`);
  for (const e of entries) out(`${e.startedAt.padEnd(24)} ${e.outcome.padEnd(20)} ${(e.durationMs === null ? 'running' : formatMs(e.durationMs)).padEnd(9)} ${e.images.join(', ')}${e.hosts ? ` on ${e.hosts.join(', ')}` : ''}`);
  return 'done';
}
