/**
 * The singleton handover (`overlap: false`): the example worker (a PostgreSQL advisory lock, its holds
 * recorded by the database's clock) beside the example backend, redeployed ROUNDS times. The gap is the
 * old worker's release of the lock to the new one's acquisition (PostgreSQL's clock_timestamp() both);
 * the container gap is the old container's exit to the new one's start returning (the worker's clock).
 * Every round also checks that no two ran at once: the holds, and Docker's list sampled every 20 ms.
 */
import { resetApp } from '../../harness/host';
import type { TestWorker } from '../../harness/worker';
import { handoverGaps, holdsOf, resetHolds, watchRunning, workerAppSpec } from '../../harness/workers';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { docker, log, median, router } from '../shared';

const APP = 'bench-singleton';
const ROUNDS = 7;
const spec = (worker: string) => workerAppSpec({ app: APP, routerPort: 5430, webPorts: { blue: 5431, green: 5432 }, worker, lockKey: 5430 });

export async function singleton(w: TestWorker) {
  await resetApp(docker, router, APP);
  resetHolds(APP);
  const first = await awaitOutcome(await startDeploy(w.client, spec('v1'), w.taskQueue));
  if (first.exitCode !== 0) throw new Error(`bench singleton: first deploy failed: ${first.message}`);
  const gapsMs: number[] = [];
  const containerGapsMs: number[] = [];
  const stopMs: number[] = [];
  let overlaps = 0;
  let maxRunning = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const before = holdsOf(APP).length;
    const watch = watchRunning(docker, APP, 'jobs');
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(round % 2 ? 'v2' : 'v1'), w.taskQueue));
    const seen = await watch.stop();
    if (outcome.exitCode !== 0) throw new Error(`bench singleton: round ${round} failed: ${outcome.message}`);
    const holds = holdsOf(APP).slice(before - 1);
    const gaps = handoverGaps(holds);
    overlaps += gaps.overlaps.length + seen.together.length;
    maxRunning = Math.max(maxRunning, seen.maxRunning);
    gapsMs.push(...gaps.gapsMs);
    const handover = outcome.status!.handover!.services[0]!;
    containerGapsMs.push(handover.startedAt - handover.stoppedAt);
    stopMs.push(handover.stopMs);
    log(`singleton round ${round}: gap ${gaps.gapsMs.map((g) => g.toFixed(0)).join(', ')} ms, container gap ${handover.startedAt - handover.stoppedAt} ms, stop ${handover.stopMs} ms, ${seen.samples} samples, max running ${seen.maxRunning}`);
  }
  await resetApp(docker, router, APP);
  const round = (values: number[]) => values.map((v) => Math.round(v));
  return {
    rounds: ROUNDS,
    gapMs: { median: Math.round(median(gapsMs)), min: Math.round(Math.min(...gapsMs)), max: Math.round(Math.max(...gapsMs)), all: round(gapsMs) },
    containerGapMs: { median: Math.round(median(containerGapsMs)), all: round(containerGapsMs) },
    stopMs: { median: Math.round(median(stopMs)), all: round(stopMs) },
    overlaps,
    maxRunning,
  };
}
