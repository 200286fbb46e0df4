/** Crash recovery: the worker SIGKILLed during verify, a new worker process takes over. */
import { resetApp } from '../../harness/host';
import { movedAgainAt, spawnWorker } from '../../harness/processes';
import { twoServiceSpec, withImages } from '../../harness/specs';
import type { TestWorker } from '../../harness/worker';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { deployOnce, docker, log, router, V1, V2, withImage } from '../shared';
import { waitUntil } from '../wait';

export async function crashRecovery(w: TestWorker) {
  const spec = withImages(twoServiceSpec('bench-crash', 4830, { verify: { window: '4s', interval: '200ms' } }), {});
  await resetApp(docker, router, spec.app);
  await deployOnce(w, spec);
  const samples: Array<{ startToMovingMs: number; killToMovingMs: number }> = [];
  for (let i = 0; i < 2; i++) {
    const dying = spawnWorker('bench-crash', 'verify:during:1:1000', `bench-crash-${i}`);
    const handle = await startDeploy(w.client, withImage(spec, i % 2 ? V1 : V2), 'bench-crash');
    await dying.exited;
    const killedAt = Date.now();
    const replacement = spawnWorker('bench-crash', undefined, `bench-crash-${i}-new`);
    const moving = await waitUntil('the deploy to move again', () => movedAgainAt(handle, replacement.startedAt), 120_000, 50);
    await awaitOutcome(handle);
    await replacement.kill('SIGTERM');
    samples.push({ startToMovingMs: moving - replacement.startedAt, killToMovingMs: moving - killedAt });
  }
  await resetApp(docker, router, spec.app);
  log(`crash recovery: ${samples.map((s) => `${s.startToMovingMs} ms`).join(', ')}`);
  return samples;
}

