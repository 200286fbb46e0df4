/** Switch gap: the switch itself, under fixed-rate load through nginx (200, 1000 and 3000 requests/s, with and without keep-alive). */
import { startLoad, type LoadSample } from '../../harness/loadgen';
import { colorUpstream, resetApp } from '../../harness/host';
import { percentile } from '../../host/probe';
import type { Color } from '../../src/names';
import { activities, docker, log, oneServiceSpec, round, router, sleep, twoColorsReady } from '../shared';

export interface SwitchGap {
  ratePerSecond: number;
  keepAlive: boolean;
  sent: number;
  failed: number;
  p99MsAroundSwitch: number;
  maxMsAroundSwitch: number;
  switchToFirstNewResponseMs: number;
  switchActivityMs: number;
}

export async function switchGap(): Promise<SwitchGap[]> {
  const spec = oneServiceSpec('bench-switch', 4700, 4710, 4712);
  await twoColorsReady(spec);
  let live: Color = 'blue';
  const results: SwitchGap[] = [];
  for (const ratePerSecond of [200, 1000, 3000]) {
    for (const keepAlive of [true, false]) {
      const target: Color = live === 'blue' ? 'green' : 'blue';
      const targetUpstream = await colorUpstream(router, spec.app, 'web', target, spec.services.web!.hostPorts![target]);
      const load = startLoad({ urls: [`http://127.0.0.1:4700/api/version`], ratePerSecond, keepAlive, record: true, maxDurationMs: 30_000 });
      await sleep(2_000);
      const t0 = Date.now();
      await activities.switchTraffic(spec, { live: target, backup: live });
      const switchActivityMs = Date.now() - t0;
      await sleep(2_000);
      const report = await load.stop();
      const around = report.samples!.filter((s) => Math.abs(s.sentAt - t0) <= 1_000).map((s) => s.latencyMs);
      const firstNew = report.samples!.filter((s: LoadSample) => s.ok && s.upstream.startsWith(targetUpstream) && s.sentAt >= t0).map((s) => s.sentAt + s.latencyMs - t0);
      results.push({
        ratePerSecond,
        keepAlive,
        sent: report.sent,
        failed: report.failed,
        p99MsAroundSwitch: round(percentile(around, 99)),
        maxMsAroundSwitch: round(Math.max(...around)),
        switchToFirstNewResponseMs: round(Math.min(...firstNew)),
        switchActivityMs,
      });
      log(`switch ${live} -> ${target} at ${ratePerSecond}/s keep-alive ${keepAlive}: ${report.failed} failed of ${report.sent}`);
      await activities.switchTraffic(spec, { live: target, backup: null });
      live = target;
    }
  }
  await resetApp(docker, router, spec.app);
  return results;
}

