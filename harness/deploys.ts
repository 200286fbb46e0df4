/**
 * Deploys that tests build on: one run to success, and whether an app already is where a test needs
 * it (so a test that builds on an earlier one deploys only when run without it).
 */
import type { Client } from '@temporalio/client';
import type Docker from 'dockerode';
import type { NginxRouter } from '../host/nginx';
import { awaitOutcome, startDeploy, type DeployOutcome } from '../src/cli/deploy-client';
import { EXIT } from '../src/cli/exit-codes';
import type { DeploySpec } from '../src/config/schema';
import { containerName, deployWorkflowId, type Color } from '../src/names';
import { appContainers } from './host';

/** What the checks and deploys talk to (a TestWorker has all three). */
export interface DeployHost {
  client: Client;
  docker: Docker;
  router: NginxRouter;
}

/** Deploys `spec` through the worker on `taskQueue`; throws unless the deploy succeeds. */
export async function deployOk(host: Pick<DeployHost, 'client'>, spec: DeploySpec, taskQueue: string): Promise<DeployOutcome> {
  const outcome = await awaitOutcome(await startDeploy(host.client, spec, taskQueue));
  if (outcome.exitCode !== EXIT.ok) throw new Error(`deploy of ${spec.app} failed: ${outcome.message}`);
  return outcome;
}

/**
 * Whether `app` has been deployed, no deploy of it runs, and nginx routes it to one color (no backup)
 * whose containers run; with `want`, that this color is `want.color` and its services run `want.images`.
 */
export async function isLive(host: DeployHost, app: string, want?: { color: Color; images: Record<string, string> }): Promise<boolean> {
  const last = await host.client.workflow.getHandle(deployWorkflowId(app)).describe().catch(() => null);
  if (!last || last.status.name === 'RUNNING') return false;
  const route = await host.router.readRoute(app);
  if (!route || route.backup !== null || (want && route.live !== want.color)) return false;
  const live = await appContainers(host.docker, app, route.live);
  if (live.length === 0 || live.some((c) => c.state !== 'running')) return false;
  return Object.entries(want?.images ?? {}).every(([service, image]) => live.some((c) => c.name === containerName(app, service, route.live) && c.image === image));
}
