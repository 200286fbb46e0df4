/**
 * The app monitor: after a deploy with `monitor: { interval, alertAfter: 3, bake }`, the live color
 * breaks (its container paused: probes time out, as with a hung process) and the monitor alone raises
 * the alert and puts traffic back on the kept previous color. Per run: break -> alert, break -> the
 * switch back (the monitor's own record), break -> the router's route on the previous color (read here).
 * Targets (issue 12): alert <= 3 intervals + 1 s; traffic back < 20 s at the 5 s default, < 3 s after
 * the alert at a 1 s interval.
 */
import { resetApp } from '../../harness/host';
import type { TestWorker } from '../../harness/worker';
import type { MonitorView } from '../../src/monitor';
import { containerName, MESSAGES, monitorWorkflowId } from '../../src/names';
import { deployOnce, docker, log, median, oneServiceSpec, router, V2, withImage } from '../shared';
import { waitUntil } from '../wait';

const APP = 'bench-monitor';

interface MonitorRun {
  intervalMs: number;
  alertMs: number;
  switchedMs: number;
  routeMs: number;
}

export async function monitor(w: TestWorker) {
  const base = oneServiceSpec(APP, 4950, 4951, 4952);
  const handle = w.client.workflow.getHandle(monitorWorkflowId(APP));
  const view = () => handle.query<MonitorView>(MESSAGES.monitor);
  await handle.terminate('a new bench run').catch(() => undefined);
  await resetApp(docker, router, APP);
  await deployOnce(w, base);
  const runs: MonitorRun[] = [];
  for (const [intervalMs, times] of [[1_000, 3], [5_000, 2]] as const) {
    for (let i = 0; i < times; i++) {
      // The live color is blue (v1); v2 goes onto green with a bake that keeps blue.
      const spec = { ...withImage(base, V2), health: { ...base.health, timeout: 500 }, monitor: { interval: intervalMs, alertAfter: 3, bake: 600_000 } };
      await deployOnce(w, spec);
      await waitUntil('a first round', async () => (await view()).rounds >= 1, 30_000, 50);
      const brokeAt = Date.now();
      const green = docker.getContainer(containerName(APP, 'web', 'green'));
      await green.pause();
      await waitUntil('the route on blue', async () => (await router.readRoute(APP))?.live === 'blue', 60_000, 5);
      const routeMs = Date.now() - brokeAt;
      const v = await waitUntil('the rollback on record', async () => {
        const now = await view();
        return now.rollback && now;
      }, 30_000, 50);
      await green.unpause().catch(() => undefined);
      runs.push({ intervalMs, alertMs: Date.parse(v.alertedAt!) - brokeAt, switchedMs: Date.parse(v.rollback!.at) - brokeAt, routeMs });
    }
  }
  await handle.terminate('bench over').catch(() => undefined);
  await resetApp(docker, router, APP);
  const at = (ms: number) => runs.filter((r) => r.intervalMs === ms);
  const summary = (ms: number) => ({
    intervalMs: ms,
    alertMs: at(ms).map((r) => r.alertMs),
    routeMs: at(ms).map((r) => r.routeMs),
    alertToRouteMs: at(ms).map((r) => r.routeMs - r.alertMs),
    medianAlertMs: median(at(ms).map((r) => r.alertMs)),
    medianRouteMs: median(at(ms).map((r) => r.routeMs)),
  });
  const figures = [summary(1_000), summary(5_000)];
  for (const f of figures) log(`monitor (interval ${f.intervalMs} ms, alert after 3): break -> alert ${f.alertMs.join(', ')} ms; break -> route on the previous color ${f.routeMs.join(', ')} ms (alert -> route ${f.alertToRouteMs.join(', ')} ms)`);
  return figures;
}
