/** What the bench scenarios share: this host's Docker engine and nginx, the real activities, images and helpers. */
import Docker from 'dockerode';
import { createActivities } from '../activities';
import { percentile } from '../host/probe';
import { awaitOutcome, startDeploy } from '../src/cli/deploy-client';
import type { DeploySpec } from '../src/config/schema';
import { resetApp } from '../harness/host';
import { webSpec, withImages } from '../harness/specs';
import { testRouter, type TestWorker } from '../harness/worker';

export const docker = new Docker();
export const router = testRouter();
export const activities = createActivities({ docker, router });
export const V1 = 'greenlight-example-backend:v1';
export const V2 = 'greenlight-example-backend:v2';
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (values: number[]) => percentile(values, 50);
export const round = (n: number) => Math.round(n * 10) / 10;

/** The example backend alone on "/": the smallest app that exercises every step. */
export function oneServiceSpec(app: string, routerPort: number, blue: number, green: number): DeploySpec {
  return webSpec(app, { image: V1, port: 4000, hostPorts: { blue, green }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] }, {
    router: { port: routerPort },
    health: { interval: '200ms', successes: 2, deadline: '90s' },
    verify: { window: '1s', interval: '200ms' },
    cleanup: { previous: 'stop', drain: '200ms' },
  });
}

/** The spec with a new image for its backend service ("web" in one-service specs). */
export function withImage(spec: DeploySpec, image: string): DeploySpec {
  return withImages(spec, { ['web' in spec.services ? 'web' : 'backend']: image });
}

/** The app fresh on this host: blue live on V1, green deployed on V2 and healthy beside it (no deploy workflow). */
export async function twoColorsReady(spec: DeploySpec): Promise<void> {
  await resetApp(docker, router, spec.app);
  await activities.deployColor(spec, 'blue', 'bench-blue');
  await activities.switchTraffic(spec, { live: 'blue', backup: null });
  await activities.deployColor(withImage(spec, V2), 'green', 'bench-green');
  await activities.healthCheck(spec, 'green');
}

export function log(line: string): void {
  console.log(`[bench] ${line}`);
}

/** One deploy through the workflow, to success: its total time and its phases. */
export async function deployOnce(w: TestWorker, spec: DeploySpec) {
  const started = Date.now();
  const outcome = await awaitOutcome(await startDeploy(w.client, spec, w.taskQueue));
  if (outcome.exitCode !== 0) throw new Error(`bench deploy of ${spec.app} failed: ${outcome.message}`);
  const phases = Object.fromEntries(outcome.status!.phases.filter((p) => p.phase !== 'done').map((p) => [p.phase, p.durationMs ?? 0]));
  return { totalMs: Date.now() - started, phases };
}
