/** Scaling: N apps (1, 5, 20, 50) deployed at once by one worker process. */
import { resetApp } from '../../harness/host';
import { rssMiB, spawnWorker } from '../../harness/processes';
import type { TestWorker } from '../../harness/worker';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { docker, log, median, oneServiceSpec, round, router } from '../shared';

export async function scaling(w: TestWorker) {
  const results: Array<{ apps: number; totalMs: number; perDeployMedianMs: number; failed: number; workerPeakRssMiB: number; eventsPerHistory: number }> = [];
  const maxApps = 50;
  const specs = Array.from({ length: maxApps }, (_, i) => oneServiceSpec(`bench-s${i}`, 5100 + i, 5200 + i, 5300 + i));
  // Its own worker process, so its memory is measured alone.
  const worker = spawnWorker('bench-scale', undefined, 'bench-scale');
  try {
    for (const n of [1, 5, 20, 50]) {
      for (const spec of specs.slice(0, n)) await resetApp(docker, router, spec.app);
      let peak = rssMiB(worker.child.pid!);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(worker.child.pid!))), 200);
      const started = Date.now();
      const handles = await Promise.all(specs.slice(0, n).map((spec) => startDeploy(w.client, spec, 'bench-scale')));
      const outcomes = await Promise.all(handles.map((h) => awaitOutcome(h)));
      const totalMs = Date.now() - started;
      clearInterval(sampler);
      const durations = await Promise.all(handles.map(async (h) => {
        const d = await h.describe();
        return (d.closeTime?.getTime() ?? Date.now()) - d.startTime.getTime();
      }));
      const events = await Promise.all(handles.slice(0, 5).map(async (h) => (await h.fetchHistory()).events?.length ?? 0));
      results.push({ apps: n, totalMs, perDeployMedianMs: median(durations), failed: outcomes.filter((o) => o.exitCode !== 0).length, workerPeakRssMiB: round(peak), eventsPerHistory: median(events) });
      log(`${n} apps at once: ${totalMs} ms, ${outcomes.filter((o) => o.exitCode !== 0).length} failed, worker peak ${round(peak)} MiB`);
    }
  } finally {
    for (const spec of specs) await resetApp(docker, router, spec.app);
    await worker.kill('SIGTERM');
  }
  return results;
}

