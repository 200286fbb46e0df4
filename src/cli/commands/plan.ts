import type { Client } from '@temporalio/client';
import { fleetHosts, resolveHost } from '../../config/hosts';
import type { DeploySpec } from '../../config/schema';
import { deployInputOf, lastDeploy } from '../deploy-client';
import type { CommandEnd } from '../exit-codes';
import { deployWorkflowId, type Color } from '../../names';
import { formatPlan, hostPlan, plan as buildPlan, type HostState, type Plan } from '../../../host/builders/plan';

/** Reads one host's state for the plan (default: this host's engine and router, worker/plan-host.ts). */
export type HostReader = (next: DeploySpec, live: DeploySpec | null) => Promise<HostState>;

/** The spec live now: the input of the app's last deploy that completed (a rolled-back one leaves its predecessor's live). */
async function liveSpecOf(client: Client, app: string): Promise<DeploySpec | null> {
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${deployWorkflowId(app)}' AND ExecutionStatus = 'Completed'`, pageSize: 1 })) {
    return (await deployInputOf(client, client.workflow.getHandle(deployWorkflowId(app), execution.runId))).spec;
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
 * What `greenlight deploy` of `spec` would change, host by host, and the drift found on the hosts read.
 * Changes nothing anywhere: it reads Temporal's history, the Docker engine and the router's files.
 */
export async function planDeploy(client: Client, spec: DeploySpec, { json, out, readHost, thisHost }: PlanOptions): Promise<CommandEnd> {
  const live = await liveSpecOf(client, spec.app);
  let hosts;
  if (spec.hosts?.length) {
    const recorded = (await lastDeploy(client, spec.app).catch(() => null))?.status?.hosts ?? [];
    hosts = await Promise.all(fleetHosts(spec).map(async (h) => {
      const liveEntry = live?.hosts?.find((e) => e.name === h.name);
      const liveHost = live && liveEntry ? resolveHost(live, liveEntry).spec : null;
      const state = h.name === thisHost ? await readHost(h.spec, liveHost) : null;
      const liveColor: Color | null = recorded.find((r) => r.name === h.name)?.liveColor ?? null;
      return hostPlan({ host: h.name, next: h.spec, live: liveHost, state, liveColor });
    }));
  } else {
    hosts = [hostPlan({ host: null, next: spec, live, state: await readHost(spec, live) })];
  }
  const result: Plan = buildPlan(spec.app, live === null, hosts);
  if (json) out(JSON.stringify(result));
  else for (const line of formatPlan(result)) out(line);
  return result.drift ? 'drift' : result.changed ? 'changes' : 'no-changes';
}
