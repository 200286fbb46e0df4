/** Rollback: on request, and on automatic detection of a new color that starts failing. */
import { resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import type { TestWorker } from '../../harness/worker';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { containerName, type Color } from '../../src/names';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';
import { deployOnce, docker, log, median, round, router, sleep, V2 } from '../shared';
import { waitUntil } from '../wait';

async function routeIs(app: string, live: Color): Promise<boolean> {
  const route = await router.readRoute(app);
  return route?.live === live && route.backup === null;
}

export async function rollbackTimes(w: TestWorker) {
  const base = twoServiceSpec('bench-rollback', 4800, { health: { interval: '200ms', successes: 2, deadline: '60s' } });
  await resetApp(docker, router, 'bench-rollback');
  await deployOnce(w, withImages(base, {}));
  const manualMs: number[] = [];
  const automaticMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const handle = await startDeploy(w.client, withImages({ ...base, verify: { window: '5m', interval: '200ms' } }, { backend: V2 }), w.taskQueue);
    await waitUntil('verify', async () => (await handle.query(statusQuery)).phase === 'verify', 60_000, 20);
    const t0 = performance.now();
    await handle.executeUpdate(rollbackUpdate, { args: ['bench'] });
    await waitUntil('old color', () => routeIs('bench-rollback', 'blue'), 30_000, 2);
    manualMs.push(round(performance.now() - t0));
    await awaitOutcome(handle);
  }
  for (let i = 0; i < 3; i++) {
    // 1-second probes; the new backend dies 2.5 s into verify.
    const handle = await startDeploy(w.client, withImages({ ...base, verify: { window: '60s', interval: '1s', minSamples: 5 } }, { backend: V2 }), w.taskQueue);
    await waitUntil('verify', async () => (await handle.query(statusQuery)).phase === 'verify', 60_000, 20);
    await sleep(2_500);
    const t0 = performance.now();
    await docker.getContainer(containerName('bench-rollback', 'backend', 'green')).kill();
    await waitUntil('old color', () => routeIs('bench-rollback', 'blue'), 60_000, 2);
    automaticMs.push(round(performance.now() - t0));
    await awaitOutcome(handle);
  }
  await resetApp(docker, router, 'bench-rollback');
  log(`rollback on request ${manualMs.join(', ')} ms; automatic ${automaticMs.join(', ')} ms`);
  return { manualMs, automaticMs, medianManualMs: median(manualMs), medianAutomaticMs: median(automaticMs) };
}

