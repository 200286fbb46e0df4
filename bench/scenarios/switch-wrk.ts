/**
 * The switch under wrk, an independent client (not the project's own): wrk -t2 -c50 flat out for 6 s
 * through the router, the reload-free switch 2 s in, with keep-alive and with "Connection: close" (a new
 * connection per request). Any socket error or non-2xx response would count.
 */
import { resetApp } from '../../harness/host';
import type { Color } from '../../src/names';
import { activities, docker, log, oneServiceSpec, router, sleep, twoColorsReady } from '../shared';
import { wrk, type WrkRun } from '../wrk';

export interface SwitchUnderWrk extends WrkRun {
  keepAlive: boolean;
  switches: string;
}

export async function switchWrk(): Promise<SwitchUnderWrk[]> {
  const spec = oneServiceSpec('bench-switch-wrk', 4720, 4721, 4722);
  await twoColorsReady(spec);
  let live: Color = 'blue';
  const results: SwitchUnderWrk[] = [];
  for (const keepAlive of [true, false, true, false]) {
    const target: Color = live === 'blue' ? 'green' : 'blue';
    const running = wrk('http://127.0.0.1:4720/api/version', { closeEach: !keepAlive, args: ['-t2', '-c50', '-d6s'] });
    await sleep(2_000);
    await activities.switchTraffic(spec, { live: target, backup: live });
    const run = await running;
    await activities.switchTraffic(spec, { live: target, backup: null });
    results.push({ ...run, keepAlive, switches: `${live} → ${target}` });
    log(`switch ${live} -> ${target} under wrk, keep-alive ${keepAlive}: ${run.requests ?? '?'} requests, ${run.requestsPerSecond} req/s, ${run.errors} errors`);
    live = target;
  }
  await resetApp(docker, router, spec.app);
  return results;
}
