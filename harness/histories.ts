/**
 * Recorded histories are stored decoded: the payloads a deploy's codec encrypted (src/codec.ts) are
 * opened with this machine's payload key, so test/histories replay on any machine, with or without a key.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import { isEncrypted, payloadCodecFromEnv } from '../src/codec';
import { deployWorkflowId } from '../src/names';
import { REPO, TEMPORAL_ADDRESS, TEMPORAL_BIN } from './paths';

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const toPayload = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  ...(p.data && p.data.length > 0 ? { data: Buffer.from(p.data).toString('base64') } : {}),
});

/** The history JSON (as `temporal workflow show --output json` prints it) with every encrypted payload decoded. */
export async function decodedHistoryJson(json: string): Promise<string> {
  const codec = payloadCodecFromEnv();
  const sealed: JsonPayload[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const candidate = node as JsonPayload;
    if (candidate.metadata && typeof candidate.metadata === 'object' && isEncrypted(toPayload(candidate))) sealed.push(candidate);
    else Object.values(node).forEach(visit);
  };
  const history = JSON.parse(json) as unknown;
  visit(history);
  const opened = await codec.decode(sealed.map(toPayload));
  sealed.forEach((payload, i) => {
    const plain = toJson(opened[i]!);
    payload.metadata = plain.metadata;
    if (plain.data === undefined) delete payload.data;
    else payload.data = plain.data;
  });
  return `${JSON.stringify(history, null, 2)}\n`;
}

/**
 * With GREENLIGHT_RECORD_HISTORIES=1, keeps run `runId` of `app`'s deploy (or of another workflow of it, `workflowId`) as test/histories/<name>.json
 * (decoded) for the replay test; otherwise nothing. The Temporal CLI writes the standard proto JSON that
 * historyFromJSON reads back.
 */
export async function recordHistory(app: string, runId: string, name: string, workflowId = deployWorkflowId(app)): Promise<void> {
  if (process.env.GREENLIGHT_RECORD_HISTORIES !== '1') return;
  const dir = join(REPO, 'test', 'histories');
  mkdirSync(dir, { recursive: true });
  const json = execFileSync(TEMPORAL_BIN, ['workflow', 'show', '--address', TEMPORAL_ADDRESS, '--workflow-id', workflowId, '--run-id', runId, '--output', 'json'], { maxBuffer: 64 << 20, encoding: 'utf8' });
  writeFileSync(join(dir, `${name}.json`), await decodedHistoryJson(json));
}

/**
 * The whole history of `app`'s deploy (its latest run, or `runId`) as text, every payload decrypted and
 * its data decoded to UTF-8: what a search for a leaked secret must look through.
 */
export async function historyText(app: string, runId?: string): Promise<string> {
  const args = ['workflow', 'show', '--address', TEMPORAL_ADDRESS, '--workflow-id', deployWorkflowId(app), ...(runId ? ['--run-id', runId] : []), '--output', 'json'];
  const json = execFileSync(TEMPORAL_BIN, args, { maxBuffer: 64 << 20, encoding: 'utf8' });
  const history = JSON.parse(await decodedHistoryJson(json)) as unknown;
  return JSON.stringify(history, (key, value: unknown) => (key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value));
}
