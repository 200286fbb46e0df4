/**
 * Restarts of the host's own parts under a serving app (200 req/s, no keep-alive, a client that never
 * retries): the Docker daemon (live-restore), nginx in place (binary upgrade), nginx stopped and
 * started, and a reboot-like power cut of every part, brought back as a boot would. Several rounds each.
 */
import { get, resetApp } from '../../harness/host';
import { startLoad, type LoadReport } from '../../harness/loadgen';
import { spawnWorker } from '../../harness/processes';
import { boot, powerCut, restartDockerd, stopStartNginx } from '../../harness/restarts';
import type { TestWorker } from '../../harness/worker';
import { deployOnce, docker, log, median, oneServiceSpec, router, sleep, V2, withImage } from '../shared';
import { waitUntil } from '../wait';

const ROUNDS = 3;
const URL = 'http://127.0.0.1:4870/api/version';

export interface RestartFigures {
  part: string;
  /** Failed requests of those sent, per round. */
  failed: number[];
  sent: number[];
  /** How long the part was down (stopped → answering again), per round. */
  downMs: number[];
}

async function underLoad(restart: () => Promise<number>): Promise<{ report: LoadReport; downMs: number }> {
  const load = startLoad({ urls: [URL], ratePerSecond: 200, keepAlive: false, maxDurationMs: 60_000 });
  await sleep(1_000);
  const downMs = await restart();
  await sleep(1_000);
  return { report: await load.stop(), downMs };
}

export async function restarts(w: TestWorker) {
  const spec = oneServiceSpec('bench-restarts', 4870, 4871, 4872);
  await resetApp(docker, router, spec.app);
  await deployOnce(w, spec);
  await deployOnce(w, withImage(spec, V2)); // live on green: a route-less restart would default to blue
  const parts: Array<[string, () => Promise<number>]> = [
    ['Docker daemon restart (live-restore, down 2 s)', async () => (await restartDockerd(2_000)).downForMs],
    ['nginx restart in place (scripts/nginx.sh restart)', async () => { const t = Date.now(); await router.restart(); return Date.now() - t; }],
    ['nginx reload', async () => { const t = Date.now(); await router.reload(); return Date.now() - t; }],
    ['nginx stop and start', async () => (await stopStartNginx(router)).downForMs],
  ];
  const figures: RestartFigures[] = [];
  for (const [part, restart] of parts) {
    const f: RestartFigures = { part, failed: [], sent: [], downMs: [] };
    for (let i = 0; i < ROUNDS; i++) {
      const { report, downMs } = await underLoad(restart);
      if (Object.keys(report.versions).some((v) => v !== 'v2')) throw new Error(`${part}: answered by ${JSON.stringify(report.versions)}, not the live color alone`);
      f.failed.push(report.failed);
      f.sent.push(report.sent);
      f.downMs.push(downMs);
      await sleep(500);
    }
    log(`${part}: failed ${f.failed.join(', ')} of ${f.sent.join(', ')}`);
    figures.push(f);
  }
  // The power cut: a worker process of this host's (the bench's own in-process worker stays), nginx,
  // dockerd and the containers, all SIGKILLed; back when the live color answers through the router.
  const rebootMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const hostWorker = () => spawnWorker('bench-restarts', undefined, `bench-restarts-${i}`);
    const cut = await powerCut(docker, router, [hostWorker()]);
    const worker = await boot(hostWorker);
    const servingAt = await waitUntil('the live color to answer after the power cut', async () => ((await get(URL).catch(() => null))?.body.includes('"v2"') ? Date.now() : undefined), 90_000, 25);
    rebootMs.push(servingAt - cut.cutAt);
    await worker.kill('SIGTERM');
  }
  log(`power cut → serving again: ${rebootMs.join(', ')} ms`);
  await resetApp(docker, router, spec.app);
  return { parts: figures, rebootMs, medianRebootMs: median(rebootMs) };
}
