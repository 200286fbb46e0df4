/** The peer baseline: stop the old container, run the new one on the same port, under load. */
import { buildAppContainer } from '../../host/builders/container';
import { resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { containerName } from '../../src/names';
import { activities, docker, log, oneServiceSpec, router, sleep, V2, withImage } from '../shared';

export async function naiveRedeploy() {
  const spec = oneServiceSpec('bench-naive', 4790, 4791, 4792);
  await resetApp(docker, router, spec.app);
  await activities.deployColor(spec, 'blue', 'naive-1');
  await activities.switchTraffic(spec, { live: 'blue', backup: null });
  await activities.healthCheck(spec, 'blue');
  const load = startLoad({ urls: ['http://127.0.0.1:4790/api/version'], ratePerSecond: 200, keepAlive: true, record: true, maxDurationMs: 30_000 });
  await sleep(1_000);
  const name = containerName(spec.app, 'web', 'blue');
  const t0 = Date.now();
  await docker.getContainer(name).remove({ force: true });
  const fresh = await docker.createContainer(buildAppContainer({ spec: withImage(spec, V2), service: 'web', color: 'blue', deployId: 'naive-2', secretEnv: {} }));
  await fresh.start();
  const redeployMs = Date.now() - t0;
  await sleep(3_000);
  const report = await load.stop();
  const okTimes = report.samples!.filter((s) => s.ok).map((s) => s.sentAt).sort((a, b) => a - b);
  let longestGapMs = 0;
  for (let i = 1; i < okTimes.length; i++) longestGapMs = Math.max(longestGapMs, okTimes[i]! - okTimes[i - 1]!);
  await resetApp(docker, router, spec.app);
  log(`naive redeploy: ${report.failed} failed of ${report.sent}, longest gap ${longestGapMs} ms`);
  return { ratePerSecond: 200, sent: report.sent, failed: report.failed, failures: report.failures, downtimeMs: longestGapMs, redeployMs };
}

