/**
 * Background workers on the real parts (Temporal dev server, Docker, the stack's nginx, the example
 * infra's PostgreSQL): the example worker (no port) runs as a singleton (`overlap: false`) beside the
 * example backend (which overlaps, as every web service). Checked, not assumed, through two witnesses:
 * the worker's own record of the periods it held its PostgreSQL advisory lock (harness/workers.ts,
 * database clock) and Docker's container list, sampled every 20 ms for the whole deploy. The handover
 * gap (the old worker's release to the new one's acquisition) is printed; bench scenario `singleton`
 * measures it over several deploys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { rollback } from '../../src/cli/commands/rollback';
import { containerName, deployWorkflowId, type Color } from '../../src/names';
import { recordHistory } from '../../harness/histories';
import { deployOk } from '../../harness/deploys';
import { appContainers, resetApp } from '../../harness/host';
import { handoverGaps, holdsOf, resetHolds, watchRunning, workerAppSpec } from '../../harness/workers';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'e2e-workers';
const TASK_QUEUE = 'e2e-workers';
// Ports 5420-5422: no other e2e file uses them.
const spec = (worker: string) => workerAppSpec({ app: APP, routerPort: 5420, webPorts: { blue: 5421, green: 5422 }, worker, lockKey: 5420 });

// An app of the worker alone: port 5423 (its router config still holds the live color).
const ONLY = 'e2e-workers-only';
const onlySpec = (worker: string) => workerAppSpec({ app: ONLY, routerPort: 5423, worker, lockKey: 5423 });

let w: TestWorker;

/**
 * GREENLIGHT_RECORD_HISTORIES=1 keeps this run's deploy history as test/histories/<name>.json (decoded,
 * harness/histories.ts) for the replay test.
 */
async function record(name: string): Promise<void> {
  await recordHistory(APP, (await w.client.workflow.getHandle(deployWorkflowId(APP)).describe()).runId, name);
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  resetHolds(APP);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  if (w) await resetApp(w.docker, w.router, ONLY);
  await w?.stop();
});

const state = async () => (await appContainers(w.docker, APP)).map((c) => `${c.name}:${c.state}:${c.image}`);

describe('singleton workers (overlap: false)', () => {
  it('a first deploy starts the worker with its color; the next hands it over after the switch: never two at once, the web service overlapped', async () => {
    await deployOk(w, spec('v1'), TASK_QUEUE);
    expect(await state()).toEqual([`${containerName(APP, 'jobs', 'blue')}:running:greenlight-example-worker:v1`, `${containerName(APP, 'web', 'blue')}:running:greenlight-example-backend:v1`]);

    const jobs = watchRunning(w.docker, APP, 'jobs');
    const web = watchRunning(w.docker, APP, 'web');
    const outcome = await deployOk(w, spec('v2'), TASK_QUEUE);
    const [jobsSeen, webSeen] = [await jobs.stop(), await web.stop()];
    await record('singleton-handover');
    // The last job may still be recording its hold: the new worker's row is written when it takes the lock.
    const holds = holdsOf(APP);
    const { gapsMs, overlaps } = handoverGaps(holds);
    console.log(`[workers] handover: ${JSON.stringify(outcome.status?.handover)}; holds ${JSON.stringify(holds)}; gap ${gapsMs.join(', ')} ms; container samples ${jobsSeen.samples}`);

    expect(jobsSeen.samples).toBeGreaterThan(50);
    expect(jobsSeen.together).toEqual([]);
    expect(jobsSeen.maxRunning).toBe(1);
    expect(webSeen.maxRunning).toBe(2); // overlap: true (the default) — both colors ran during the deploy
    expect(overlaps).toEqual([]);
    expect(holds.map((h) => `${h.color}:${h.version}`)).toEqual(['blue:v1', 'green:v2']);
    expect(holds[0]!.releasedAt).not.toBeNull(); // the old worker finished its job and released the lock itself (SIGTERM, stopTimeout)
    expect(gapsMs).toHaveLength(1);
    expect(outcome.status?.handover?.services.map((s) => s.service)).toEqual(['jobs']);
    expect(await state()).toEqual([
      `${containerName(APP, 'jobs', 'blue')}:exited:greenlight-example-worker:v1`,
      `${containerName(APP, 'jobs', 'green')}:running:greenlight-example-worker:v2`,
      `${containerName(APP, 'web', 'blue')}:exited:greenlight-example-backend:v1`,
      `${containerName(APP, 'web', 'green')}:running:greenlight-example-backend:v1`,
    ]);
  });

  it('`greenlight rollback` after the deploy restores the previous worker: its stopped container is started again once the live one has stopped', async () => {
    // Green runs v2 and blue's v1 is stopped (the test before): the restore adopts blue's containers.
    const blueBefore = (await w.docker.listContainers({ all: true, filters: { name: [containerName(APP, 'jobs', 'blue')] } }))[0]?.Id;
    const before = holdsOf(APP).length;
    const jobs = watchRunning(w.docker, APP, 'jobs');
    const lines: string[] = [];
    const end = await rollback(w.client, APP, { reason: 'workers e2e: restore', taskQueue: TASK_QUEUE, json: true, wait: true, out: (line) => lines.push(line) });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the restored worker takes its lock
    const seen = await jobs.stop();
    const holds = holdsOf(APP).slice(before - 1);
    const { gapsMs, overlaps } = handoverGaps(holds);
    console.log(`[workers] restore: gap ${gapsMs.join(', ')} ms, ${seen.samples} samples`);

    expect(end, lines.join('\n')).toBe('succeeded');
    expect([seen.maxRunning, seen.together, overlaps]).toEqual([1, [], []]);
    expect(holds.map((h) => `${h.color}:${h.version}`)).toEqual(['green:v2', 'blue:v1']);
    expect((await w.docker.listContainers({ filters: { name: [containerName(APP, 'jobs', 'blue')] } }))[0]?.Id).toBe(blueBefore); // the same container, started again
    expect(await w.router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
  });

  it('a new worker that crashes after its handover is rolled back the other way: the new one stopped, then the old one started, never two at once', async () => {
    // The live worker is the restored v1 (the test before); the crashing one goes to the other color.
    const live = (await w.router.readRoute(APP))!.live as Color;
    const liveVersion = (await appContainers(w.docker, APP, live)).find((c) => c.name === containerName(APP, 'jobs', live))!.image.split(':')[1]!;
    const before = holdsOf(APP).length;
    const jobs = watchRunning(w.docker, APP, 'jobs');
    const outcome = await awaitOutcome(await startDeploy(w.client, spec('crash'), TASK_QUEUE));
    // The old worker's start is the rollback's last step but one: give it a moment to take the lock.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const seen = await jobs.stop();
    await record('singleton-rollback');
    const holds = holdsOf(APP).slice(Math.max(0, before - 1));
    const { gapsMs, overlaps } = handoverGaps(holds);
    console.log(`[workers] rollback: ${outcome.message}; holds ${JSON.stringify(holds)}; gaps ${gapsMs.join(', ')} ms; container samples ${seen.samples}`);

    expect(outcome.end).toBe('rolled-back');
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.message).toContain('jobs');
    expect(seen.together).toEqual([]);
    expect(seen.maxRunning).toBe(1);
    expect(overlaps).toEqual([]);
    // The live worker before, the crashing one (maybe restarted by Docker), then the live one again.
    expect(holds[0]!.version).toBe(liveVersion);
    expect(holds.at(-1)!.version).toBe(liveVersion);
    expect(holds.some((h) => h.version === 'crash')).toBe(true);
    expect(await state()).toEqual([
      `${containerName(APP, 'jobs', live)}:running:greenlight-example-worker:${liveVersion}`,
      `${containerName(APP, 'web', live)}:running:greenlight-example-backend:v1`,
    ]);
  });

  it('an app of a worker alone deploys and hands over like any (its router config has no upstream)', async () => {
    await resetApp(w.docker, w.router, ONLY);
    resetHolds(ONLY);
    await deployOk(w, onlySpec('v1'), TASK_QUEUE);
    const jobs = watchRunning(w.docker, ONLY, 'jobs');
    await deployOk(w, onlySpec('v2'), TASK_QUEUE);
    const seen = await jobs.stop();
    const { gapsMs, overlaps } = handoverGaps(holdsOf(ONLY));
    console.log(`[workers] worker-only app: gap ${gapsMs.join(', ')} ms, ${seen.samples} samples`);
    expect([seen.maxRunning, seen.together, overlaps, gapsMs.length]).toEqual([1, [], [], 1]);
    expect(await w.router.readRoute(ONLY)).toEqual({ live: 'green', backup: null });
    expect(await w.router.readAppConfig(ONLY)).not.toMatch(/^upstream /m);
    expect((await appContainers(w.docker, ONLY)).map((c) => `${c.name}:${c.state}`)).toEqual([`${containerName(ONLY, 'jobs', 'blue')}:exited`, `${containerName(ONLY, 'jobs', 'green')}:running`]);
  });
});
