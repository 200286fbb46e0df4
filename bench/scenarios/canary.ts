/**
 * A failing new color (the example backend answering 500 to half of its requests) under user load, as a
 * blue/green deploy and as a canary at 10 %: how many user requests failed until the rollback. The
 * load is POST, which nginx never retries on the live color (non-idempotent), so every failed attempt
 * is a failed user request; the healthy app answers such a POST with 405 (no 5xx, not a failure here).
 * A GET would have been retried: 0 failed either way (test/e2e/canary.test.ts). Rounds alternate.
 */
import { startLoad } from '../../harness/loadgen';
import { resetApp } from '../../harness/host';
import type { TestWorker } from '../../harness/worker';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { deployOnce, docker, log, median, oneServiceSpec, router } from '../shared';

const APP = 'bench-canary';
const PORT = 4890;
const ROUNDS = 3;

function failing(base: DeploySpec, canary: boolean): DeploySpec {
  const web = { ...base.services.web!, image: 'greenlight-example-backend:flaky', env: { FLAKY_RATE: '0.5' } };
  return parseDeploySpec({
    ...base,
    services: { web },
    verify: { window: '60s', interval: '250ms', minRequests: 5 },
    ...(canary ? { strategy: { canary: { steps: [{ weight: 10, pause: '60s' }] } } } : {}),
  });
}

async function failedRequests(w: TestWorker, spec: DeploySpec): Promise<{ failed: number; sent: number; rollbackMs: number }> {
  const load = startLoad({ urls: [`http://127.0.0.1:${PORT}/api/items`], ratePerSecond: 100, keepAlive: true, method: 'POST', maxDurationMs: 120_000 });
  const started = Date.now();
  const outcome = await awaitOutcome(await startDeploy(w.client, spec, w.taskQueue));
  const rollbackMs = Date.now() - started;
  const report = await load.stop();
  if (outcome.status?.outcome !== 'rolled-back') throw new Error(`the failing deploy of ${APP} was not rolled back: ${outcome.message}`);
  return { failed: report.failed, sent: report.sent, rollbackMs };
}

export async function canary(w: TestWorker) {
  const base = oneServiceSpec(APP, PORT, PORT + 1, PORT + 2);
  await resetApp(docker, router, APP);
  await deployOnce(w, base);
  const blueGreen: Array<{ failed: number; sent: number; rollbackMs: number }> = [];
  const canaryAt10: Array<{ failed: number; sent: number; rollbackMs: number }> = [];
  for (let i = 0; i < ROUNDS; i++) {
    blueGreen.push(await failedRequests(w, failing(base, false)));
    canaryAt10.push(await failedRequests(w, failing(base, true)));
  }
  await resetApp(docker, router, APP);
  const failedBlueGreen = blueGreen.map((r) => r.failed);
  const failedCanary = canaryAt10.map((r) => r.failed);
  const ratio = median(failedBlueGreen) === 0 ? null : median(failedCanary) / median(failedBlueGreen);
  log(`failing new color, POST at 100 req/s: blue/green ${failedBlueGreen.join(', ')} failed; canary at 10 % ${failedCanary.join(', ')} failed (median ratio ${ratio?.toFixed(2) ?? '-'})`);
  return { rounds: ROUNDS, blueGreen, canaryAt10, medianFailedBlueGreen: median(failedBlueGreen), medianFailedCanary: median(failedCanary), canaryToBlueGreen: ratio };
}
