/**
 * The drain by open connections: N WebSockets open on the live color through the router, then a deploy.
 * (a) They close by themselves within 2 s of the cleanup starting: how long after the last one the old
 * color is stopped, how long the cleanup took, how many were cut (any close but the client's own 1000).
 * (b) They stay open past a 3 s maximum: the app's SIGTERM handler closes them (1001); cut = 1006.
 */
import { resetApp } from '../../harness/host';
import { openSocket, type SocketClient } from '../../harness/streams';
import type { TestWorker } from '../../harness/worker';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { containerName, type Color } from '../../src/names';
import { statusQuery } from '../../workflows/messages';
import { docker, log, median, oneServiceSpec, router, V1, V2, withImage } from '../shared';
import { waitUntil } from '../wait';

const APP = 'bench-drain';
const PORT = 5210;
const SOCKETS = 50;
const ROUNDS = 3;

/** A deterministic spread of close times in [0, spanMs): the same in every run. */
const closeDelay = (round: number, i: number, spanMs: number) => ((round * SOCKETS + i) * 7919) % spanMs;

async function deployWithSockets(w: TestWorker, drain: string, closeWithinMs: number | null, round: number) {
  const base = { ...oneServiceSpec(APP, PORT, PORT + 1, PORT + 2), cleanup: { previous: 'stop' as const, drain: drain === '30s' ? 30_000 : 3_000 } };
  const live = (await router.readRoute(APP))!.live as Color;
  const sockets: SocketClient[] = [];
  for (let i = 0; i < SOCKETS; i++) sockets.push(await openSocket(`ws://127.0.0.1:${PORT}/api/ws`));
  const handle = await startDeploy(w.client, withImage(base, live === 'blue' ? V2 : V1), w.taskQueue);
  await waitUntil('cleanup', async () => (await handle.query(statusQuery)).phase === 'cleanup', 120_000, 20);
  let lastCloseAt = 0;
  if (closeWithinMs !== null) {
    await Promise.all(
      sockets.map(async (socket, i) => {
        await new Promise((r) => setTimeout(r, closeDelay(round, i, closeWithinMs)));
        await socket.close();
        lastCloseAt = Math.max(lastCloseAt, Date.now());
      }),
    );
  }
  const outcome = await awaitOutcome(handle);
  if (outcome.exitCode !== 0) throw new Error(`bench drain deploy failed: ${outcome.message}`);
  const codes = await Promise.all(sockets.map((s) => s.closed));
  const stoppedAt = Date.parse((await docker.getContainer(containerName(APP, 'web', live)).inspect()).State.FinishedAt);
  const cleanupMs = outcome.status!.phases.find((p) => p.phase === 'cleanup')?.durationMs ?? 0;
  return { codes, stopAfterLastCloseMs: lastCloseAt ? stoppedAt - lastCloseAt : null, cleanupMs };
}

export async function drain(w: TestWorker) {
  await resetApp(docker, router, APP);
  const first = await awaitOutcome(await startDeploy(w.client, withImage(oneServiceSpec(APP, PORT, PORT + 1, PORT + 2), V1), w.taskQueue));
  if (first.exitCode !== 0) throw new Error(`bench drain: first deploy failed: ${first.message}`);
  const closing = { stopAfterLastCloseMs: [] as number[], cleanupMs: [] as number[], cut: 0 };
  const held = { cleanupMs: [] as number[], closedByApp: 0, cut: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const a = await deployWithSockets(w, '30s', 2_000, round);
    closing.stopAfterLastCloseMs.push(a.stopAfterLastCloseMs!);
    closing.cleanupMs.push(a.cleanupMs);
    closing.cut += a.codes.filter((c) => c !== 1000).length;
    const b = await deployWithSockets(w, '3s', null, round);
    held.cleanupMs.push(b.cleanupMs);
    held.closedByApp += b.codes.filter((c) => c === 1001).length;
    held.cut += b.codes.filter((c) => c === 1006).length;
  }
  await resetApp(docker, router, APP);
  const spread = (values: number[]) => `${Math.min(...values)}–${Math.max(...values)}`;
  log(`drain, ${SOCKETS} WebSockets closing within 2 s: old color stopped ${closing.stopAfterLastCloseMs.join(', ')} ms after the last closed; cleanup ${closing.cleanupMs.join(', ')} ms; cut ${closing.cut}`);
  log(`drain, ${SOCKETS} WebSockets held past a 3 s maximum: cleanup ${held.cleanupMs.join(', ')} ms; closed by the app (1001) ${held.closedByApp}, cut ${held.cut}`);
  return {
    sockets: SOCKETS,
    rounds: ROUNDS,
    closing: { ...closing, medianStopAfterLastCloseMs: median(closing.stopAfterLastCloseMs), spreadStopAfterLastCloseMs: spread(closing.stopAfterLastCloseMs), medianCleanupMs: median(closing.cleanupMs) },
    held: { ...held, medianCleanupMs: median(held.cleanupMs), spreadCleanupMs: spread(held.cleanupMs) },
  };
}
