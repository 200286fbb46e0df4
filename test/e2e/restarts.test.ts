/**
 * The host's own parts restart under an app that keeps serving, on the real parts (the stack's dockerd,
 * nginx, Temporal dev server), with a client that never retries at 200 req/s:
 * - the Docker daemon restarts (an `apt upgrade` of Docker): live-restore keeps the containers running
 *   and nginx reaches them at their own addresses, so 0 requests fail;
 * - nginx restarts in place (scripts/nginx.sh restart: binary upgrade) or reloads: 0 failed, and the
 *   route stays on the live color although the new master's shared dict starts empty;
 * - nginx stopped and started: requests fail while no port is open (counted, not 0), and it comes back
 *   on the live color, not on blue;
 * - a reboot-like power cut of every part at once (SIGKILL: containers, dockerd, nginx, the worker):
 *   brought back as a boot would, the app serves the live color again by itself, and the next deploy
 *   runs on the restarted worker.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploySpec } from '../../src/config/schema';
import { containerName } from '../../src/names';
import { deployOk } from '../../harness/deploys';
import { get, resetApp } from '../../harness/host';
import { startLoad, type LoadReport } from '../../harness/loadgen';
import { spawnWorker, type WorkerProcess } from '../../harness/processes';
import { alive, boot, dockerdPid, powerCut, restartDockerd, stopStartNginx } from '../../harness/restarts';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const TASK_QUEUE = 'e2e-restarts';
const APP = 'restarts';
// Ports 5700-5702: no other e2e file uses them.
const PORT = 5700;
const URL = `http://127.0.0.1:${PORT}/api/version`;

function spec(version: string): DeploySpec {
  return webSpec(
    APP,
    { image: exampleImages(version).backend, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '30s' }, verify: { window: '1s', interval: '100ms' }, cleanup: { previous: 'stop' } },
  );
}

let w: TestWorker;
const docker = new Docker();

/** 200 req/s through the router without keep-alive (every request a new connection to nginx), no retries. */
function traffic() {
  return startLoad({ urls: [URL], ratePerSecond: 200, keepAlive: false, maxDurationMs: 120_000, timeoutMs: 5_000 });
}

function failuresOf(report: LoadReport): string {
  return `${report.failed} of ${report.sent} failed: ${JSON.stringify(report.failures)}`;
}

async function containerInfo(color: 'blue' | 'green') {
  return docker.getContainer(containerName(APP, 'web', color)).inspect();
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  // v1 on blue, then v2 on green: the live color is not the one a route-less nginx would default to.
  await deployOk(w, spec('v1'), TASK_QUEUE);
  await deployOk(w, spec('v2'), TASK_QUEUE);
  expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('restarts of the host under a serving app', () => {
  it('the Docker daemon restarts (live-restore): 0 failed requests, the same container keeps serving', async () => {
    expect((await docker.info()).LiveRestoreEnabled).toBe(true);
    const before = await containerInfo('green');
    const load = traffic();
    await new Promise((r) => setTimeout(r, 1_000));
    const { downForMs } = await restartDockerd(2_000);
    await new Promise((r) => setTimeout(r, 1_000));
    const report = await load.stop();
    expect(downForMs).toBeGreaterThan(2_000);
    expect(report.sent).toBeGreaterThan(600);
    expect(report.failed, failuresOf(report)).toBe(0);
    expect(report.versions).toEqual({ v2: report.ok });
    const after = await containerInfo('green');
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
  });

  it('nginx restarts in place (binary upgrade) and reloads: 0 failed, still on the live color', async () => {
    const oldPid = await w.router.pid();
    const load = traffic();
    await new Promise((r) => setTimeout(r, 500));
    const { newPid } = await w.router.restart();
    await new Promise((r) => setTimeout(r, 1_000));
    await w.router.reload();
    await new Promise((r) => setTimeout(r, 1_000));
    const report = await load.stop();
    expect(newPid).not.toBe(oldPid);
    await expect.poll(() => alive(oldPid!), { timeout: 15_000, interval: 50, message: 'the old nginx master to exit' }).toBe(false);
    expect(report.failed, failuresOf(report)).toBe(0);
    expect(report.versions).toEqual({ v2: report.ok });
    expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
  });

  it('nginx stopped and started: it comes back on the live color (the gap is what the in-place restart avoids)', async () => {
    const load = traffic();
    await new Promise((r) => setTimeout(r, 500));
    const { downForMs } = await stopStartNginx(w.router);
    await new Promise((r) => setTimeout(r, 1_000));
    const report = await load.stop();
    console.log(`nginx stop and start: down ${downForMs} ms, ${failuresOf(report)}`);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
    // Everything answered after the restart came from the live color.
    expect(Object.keys(report.versions)).toEqual(['v2']);
    expect((await get(URL)).body).toContain('"v2"');
  });

  it('a reboot-like power cut of every part: back by itself on the live color, and the next deploy runs on the restarted worker', async () => {
    await w.stop(); // the in-process worker becomes a process that can be killed like a host's
    const hostWorker = (): WorkerProcess => spawnWorker(TASK_QUEUE, undefined, `${TASK_QUEUE}-host`);
    const first = hostWorker();
    const before = await containerInfo('green');
    const cut = await powerCut(docker, w.router, [first]);
    expect(cut.killed.containers).toBeGreaterThanOrEqual(1);
    await expect(get(URL)).rejects.toThrow();

    const worker = await boot(hostWorker);
    try {
      await expect.poll(async () => (await get(URL).catch(() => null))?.body.includes('"v2"') ?? false, { timeout: 60_000, interval: 50, message: 'the app to serve v2 again' }).toBe(true);
      const servingAfterMs = Date.now() - cut.cutAt;
      console.log(`reboot-like power cut: serving the live color again ${servingAfterMs} ms after the cut (scripts and restart policy)`);
      const after = await containerInfo('green');
      expect(after.Id).toBe(before.Id);
      expect(after.State.Running).toBe(true);
      expect(await dockerdPid()).toBeGreaterThan(0);
      expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
      w = await startTestWorker(`${TASK_QUEUE}-after`); // only its client, docker and router are used below
      await deployOk(w, spec('v3'), TASK_QUEUE);
      expect(await w.router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
      expect((await get(URL)).body).toContain('"v3"');
    } finally {
      await worker.kill('SIGTERM');
    }
  });
});
