import type { Client } from '@temporalio/client';
import { fleetHosts, resolveHost } from '../../config/hosts';
import type { DeploySpec } from '../../config/schema';
import { deployInputOf, lastDeploy } from '../deploy-client';
import type { CommandEnd } from '../exit-codes';
import { deployWorkflowId, type Color } from '../../names';
import { formatPlan, hostPlan, plan as buildPlan, planSummary, type HostState, type Plan } from '../../../host/builders/plan';

/** Reads one host's state for the plan (default: this host's engine and router, worker/plan-host.ts). */
export type HostReader = (next: DeploySpec, live: DeploySpec | null) => Promise<HostState>;

/** The spec live now: the input of the app's last deploy that completed (a rolled-back one leaves its predecessor's live), and its run. */
async function liveSpecOf(client: Client, app: string): Promise<{ spec: DeploySpec; runId: string } | null> {
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${deployWorkflowId(app)}' AND ExecutionStatus = 'Completed'`, pageSize: 1 })) {
    return { spec: (await deployInputOf(client, client.workflow.getHandle(deployWorkflowId(app), execution.runId))).spec, runId: execution.runId };
  }
  return null;
}

export interface PlanOptions {
  json: boolean;
  out: (line: string) => void;
  readHost: HostReader;
  /** The fleet host this machine is (GREENLIGHT_HOST): the one host of a fleet spec read from here. */
  thisHost: string | null;
}

/**
 * The plan of `spec` against the live spec, host by host: `readHost` reads the hosts that can be read
 * from here (a one-host spec's, or this fleet host's), null reads none (the spec-to-spec changes only).
 */
export async function planOf(client: Client, spec: DeploySpec, readHost: HostReader | null, thisHost: string | null = null): Promise<{ plan: Plan; liveRunId: string | null }> {
  const found = await liveSpecOf(client, spec.app);
  const live = found?.spec ?? null;
  let hosts;
  if (spec.hosts?.length) {
    const recorded = (await lastDeploy(client, spec.app).catch(() => null))?.status?.hosts ?? [];
    hosts = await Promise.all(fleetHosts(spec).map(async (h) => {
      const liveEntry = live?.hosts?.find((e) => e.name === h.name);
      const liveHost = live && liveEntry ? resolveHost(live, liveEntry).spec : null;
      const state = readHost && h.name === thisHost ? await readHost(h.spec, liveHost) : null;
      const liveColor: Color | null = recorded.find((r) => r.name === h.name)?.liveColor ?? null;
      return hostPlan({ host: h.name, next: h.spec, live: liveHost, state, liveColor });
    }));
  } else {
    hosts = [hostPlan({ host: null, next: spec, live, state: readHost ? await readHost(spec, live) : null })];
  }
  return { plan: buildPlan(spec.app, live === null, hosts), liveRunId: found?.runId ?? null };
}

/**
 * What `greenlight deploy` of `spec` would change, host by host, and the drift found on the hosts read.
 * Changes nothing anywhere: it reads Temporal's history, the Docker engine and the router's files.
 */
export async function planDeploy(client: Client, spec: DeploySpec, { json, out, readHost, thisHost }: PlanOptions): Promise<CommandEnd> {
  const { plan: result } = await planOf(client, spec, readHost, thisHost);
  if (json) out(JSON.stringify(result));
  else for (const line of formatPlan(result)) out(line);
  return result.drift ? 'drift' : result.changed ? 'changes' : 'no-changes';
}

/**
 * The summary a deploy records in its details (the Temporal UI): what changes against the live spec,
 * names only, from Temporal's history alone (no host is read), led by the run whose spec it compared
 * with (a queued deploy may start after another one: the reader sees what it was compared with). Null
 * when it cannot be read now: the deploy starts all the same, without it.
 */
export async function changeSummary(client: Client, spec: DeploySpec): Promise<string[] | null> {
  try {
    const { plan, liveRunId } = await planOf(client, spec, null);
    return [...(liveRunId ? [`against the live spec of run ${liveRunId} (the last completed deploy)`] : []), ...planSummary(plan)];
  } catch {
    return null;
  }
}
