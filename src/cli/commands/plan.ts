import { randomUUID } from 'node:crypto';
import { TimeoutFailure, WorkflowFailedError, type Client } from '@temporalio/client';
import { fleetTargets, resolveHost } from '../../config/hosts';
import type { DeploySpec } from '../../config/schema';
import { deployInputOf, lastDeploy } from '../deploy-client';
import type { CliOutcome } from '../exit-codes';
import { deployWorkflowId, PLAN_READ_WORKFLOW, planReadWorkflowId, type Color } from '../../names';
import { taskQueueFromEnv } from '../../settings';
import type { PlanRead, PlanReadInput, planReadWorkflow } from '../../../workflows/plan';
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
}

/** How long a fleet's read may wait for the workflow's worker (none polls its queue: the CLI says so). */
const FLEET_READ_TIMEOUT = '2m';

/**
 * Every host of a fleet read through its own worker (workflows/plan.ts), all at once, on the task queue
 * of the app's last deploy (else GREENLIGHT_TASK_QUEUE). A host that cannot be read has its error.
 */
async function readFleet(client: Client, input: PlanReadInput, taskQueue: string): Promise<PlanRead[]> {
  const handle = await client.workflow.start<typeof planReadWorkflow>(PLAN_READ_WORKFLOW, {
    taskQueue,
    workflowId: planReadWorkflowId(input.app, randomUUID().slice(0, 8)),
    args: [input],
    workflowExecutionTimeout: FLEET_READ_TIMEOUT,
    staticSummary: `greenlight plan: read ${input.app} on ${input.hosts.map((h) => h.target.name).join(', ')}`,
  });
  try {
    return await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const why = err.cause instanceof TimeoutFailure ? `no worker ran the read within ${FLEET_READ_TIMEOUT} (task queue ${taskQueue}): is \`greenlight worker\` of this version running? (an older one has no planReadWorkflow)` : (err.cause?.message ?? err.message);
    return input.hosts.map(({ target }) => ({ host: target.name, state: null, error: why }));
  }
}

/**
 * The plan of `spec` against the live spec, host by host: `readHost` reads a one-host spec's host (this
 * machine's engine and router); a fleet's hosts are read through their workers. Null reads no host
 * (the spec-to-spec changes only).
 */
export async function planOf(client: Client, spec: DeploySpec, readHost: HostReader | null): Promise<{ plan: Plan; liveRunId: string | null }> {
  const found = await liveSpecOf(client, spec.app);
  const live = found?.spec ?? null;
  let hosts;
  if (spec.hosts?.length) {
    const last = await lastDeploy(client, spec.app).catch(() => null);
    const recorded = last?.status?.hosts ?? [];
    const fleet = fleetTargets(spec).map((h) => {
      const liveEntry = live?.hosts?.find((e) => e.name === h.name);
      return { ...h, live: live && liveEntry ? resolveHost(live, liveEntry).spec : null };
    });
    const reads = readHost ? await readFleet(client, { app: spec.app, hosts: fleet.map((h) => ({ target: { name: h.name, taskQueue: h.taskQueue, hostTimeoutMs: h.hostTimeoutMs }, next: h.spec, live: h.live })) }, last?.taskQueue ?? taskQueueFromEnv()) : [];
    hosts = fleet.map((h, i) => {
      const liveColor: Color | null = recorded.find((r) => r.name === h.name)?.liveColor ?? null;
      return hostPlan({ host: h.name, next: h.spec, live: h.live, state: reads[i]?.state ?? null, liveColor, readError: reads[i]?.error ?? null });
    });
  } else {
    hosts = [hostPlan({ host: null, next: spec, live, state: readHost ? await readHost(spec, live) : null })];
  }
  return { plan: buildPlan(spec.app, live === null, hosts), liveRunId: found?.runId ?? null };
}

/**
 * What `greenlight deploy` of `spec` would change, host by host, and the drift found on the hosts read.
 * Changes nothing anywhere: it reads Temporal's history, the Docker engine and the router's files.
 */
export async function planDeploy(client: Client, spec: DeploySpec, { json, out, readHost }: PlanOptions): Promise<CliOutcome> {
  const { plan: result } = await planOf(client, spec, readHost);
  if (json) out(JSON.stringify(result));
  else for (const line of formatPlan(result)) out(line);
  // Drift found is certain; a host not read leaves the plan incomplete: neither "changes" nor "no changes".
  return result.drift ? 'drift' : result.hosts.some((h) => h.unread !== null) ? 'infrastructure-unavailable' : result.changed ? 'changes' : 'no-changes';
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
