/** Phase breakdown of real deploys of two services: with a zero verify window and with the default one. */
import { resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import type { TestWorker } from '../../harness/worker';
import { deployOnce, docker, log, router, V1, V2 } from '../shared';

export async function phaseBreakdown(w: TestWorker) {
  const base = twoServiceSpec('bench-phases', 4730, { health: { interval: '200ms', successes: 3, deadline: '60s' } });
  await resetApp(docker, router, 'bench-phases');
  await deployOnce(w, withImages(base, {}));
  const zeroWindow = await deployOnce(w, withImages({ ...base, verify: { window: '0s' } }, { backend: V2 }));
  log(`deploy with a zero verify window: ${zeroWindow.totalMs} ms`);
  const defaultWindow = await deployOnce(w, withImages({ ...base, verify: {} }, { backend: V1 }));
  log(`deploy with the default verify window: ${defaultWindow.totalMs} ms`);
  await resetApp(docker, router, 'bench-phases');
  return { zeroWindow, defaultWindow };
}

