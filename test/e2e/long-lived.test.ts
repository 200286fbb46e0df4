/**
 * Long-lived connections across a deploy, on the real parts (Temporal dev server, Docker, the stack's
 * nginx, the example backend's /api/ws and /api/events): WebSockets and an event stream opened before a
 * switch stay on their color and keep working; new ones land on the new color; the old color is stopped
 * only after its last connection closed, or at the drain maximum, and then by the app's SIGTERM handler
 * (1001, `event: bye`), never cut; the same under 1,000 req/s with 0 failed. A rollback after the switch
 * drains the new color the same way.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec } from '../../src/config/schema';
import { containerName, type Color } from '../../src/names';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { exampleImages, webSpec } from '../../harness/specs';
import { openEventStream, openSocket, type SocketClient } from '../../harness/streams';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';

const TASK_QUEUE = 'e2e-long-lived';
const APP = 'streams';
// Ports 5200-5202: no other e2e file uses them.
const PORT = 5200;
const WS = `ws://127.0.0.1:${PORT}/api/ws`;
const EVENTS = `http://127.0.0.1:${PORT}/api/events`;

function spec(version: string, drain: string, verifyWindow = '2s'): DeploySpec {
  return webSpec(
    APP,
    { image: exampleImages(version).backend, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] },
    {
      router: { port: PORT },
      health: { interval: '200ms', successes: 3, deadline: '20s' },
      verify: { window: verifyWindow, interval: '100ms' },
      cleanup: { previous: 'stop', drain },
    },
  );
}

let w: TestWorker;
const docker = new Docker();

/** State of the app's container of `color`: running, exited, or gone. */
async function containerState(color: Color): Promise<string> {
  const info = await docker.getContainer(containerName(APP, 'web', color)).inspect().catch(() => null);
  return info ? info.State.Status : 'gone';
}

/** Waits until nginx routes the app to `live` alone or with a backup, i.e. the switch happened. */
async function switchedTo(live: Color): Promise<void> {
  await expect.poll(async () => (await w.router.readRoute(APP))?.live, { timeout: 60_000, interval: 50, message: `the switch to ${live}` }).toBe(live);
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('WebSockets and event streams across a switch', () => {
  it('stay on their color until they close by themselves; new ones land on the new color; the old color stops only after the last one closed (1,000 req/s, 0 failed)', async () => {
    await deployOk(w, spec('v1', '1s'), TASK_QUEUE);
    const before = await Promise.all([openSocket(WS), openSocket(WS), openSocket(WS)]);
    const stream = await openEventStream(EVENTS);
    expect(before.map((s) => s.color)).toEqual(['blue', 'blue', 'blue']);
    expect(stream.colors[0]).toBe('blue');
    expect(Object.values((await w.router.openConnections(spec('v1', '1s')))!.web!)).toEqual([4, 0]);

    const traffic = startLoad({ urls: [`http://127.0.0.1:${PORT}/api/items`, `http://127.0.0.1:${PORT}/api/version`], ratePerSecond: 1_000, keepAlive: true, maxDurationMs: 120_000 });
    const handle = await startDeploy(w.client, spec('v2', '30s'), TASK_QUEUE);
    await switchedTo('green');
    const eventsAtSwitch = stream.colors.length;
    const after = await openSocket(WS);
    expect(after.color).toBe('green');
    // Through the switch and on: the old ones are still served by blue.
    for (const socket of before) expect(await socket.echo('still there?')).toBe('blue');
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 50, message: 'cleanup' }).toBe('cleanup');

    // The drain waits on the four open connections: blue keeps running well past the old fixed drain.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await containerState('blue')).toBe('running');
    expect((await handle.query(statusQuery)).phase).toBe('cleanup');
    // `greenlight status` shows the drain: what is open on blue, how long it waited, its maximum.
    const shown = await cli(['status', APP]);
    expect(shown.stdout).toMatch(/^ {2}draining blue: 4 open \(web 4\), \d+\.\d s of at most 30\.0 s$/m);
    for (const socket of before) expect(await socket.echo('and now?')).toBe('blue');
    expect(stream.ending()).toBeNull();
    // Events keep arriving as the app sends them (one per 200 ms): the router does not buffer the stream.
    expect(stream.colors.length).toBeGreaterThan(eventsAtSwitch + 10);

    // They close by themselves; blue is stopped right after the last one, long before the 30 s maximum.
    for (const socket of before) await socket.close();
    const closedAt = Date.now();
    stream.close();
    const outcome = await awaitOutcome(handle);
    const report = await traffic.stop();

    expect(outcome.exitCode).toBe(EXIT.ok);
    expect(Date.now() - closedAt).toBeLessThan(15_000);
    const blue = await docker.getContainer(containerName(APP, 'web', 'blue')).inspect();
    expect(blue.State.Status).toBe('exited');
    expect(Date.parse(blue.State.FinishedAt)).toBeGreaterThanOrEqual(closedAt - 50);
    expect(before.map((s) => s.closeCode())).toEqual([1000, 1000, 1000]);
    expect(new Set(stream.colors)).toEqual(new Set(['blue']));
    expect(stream.bye()).toBe(false);
    // The new color's socket was never touched.
    expect(await after.echo('new one')).toBe('green');
    await after.close();
    console.log(`long-lived: ${report.sent} requests at 1,000 req/s, ${report.failed} failed; blue stopped ${Date.parse(blue.State.FinishedAt) - closedAt} ms after the last connection closed`);
    expect(report.sent).toBeGreaterThan(5_000);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
  });

  it('at the drain maximum, the app closes what is left on SIGTERM: WebSockets with 1001, streams with `event: bye`, none cut', async () => {
    const live = (await w.router.readRoute(APP))?.live ?? null;
    if (live === null) await deployOk(w, spec('v1', '1s'), TASK_QUEUE);
    const from = (await w.router.readRoute(APP))!.live;
    const sockets = await Promise.all([openSocket(WS), openSocket(WS)]);
    const stream = await openEventStream(EVENTS);
    expect(sockets.map((s) => s.color)).toEqual([from, from]);

    const started = Date.now();
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(from === 'blue' ? 'v2' : 'v1', '2s'), TASK_QUEUE));
    expect(outcome.exitCode).toBe(EXIT.ok);
    const codes = await Promise.all(sockets.map((s) => s.closed));
    expect(codes).toEqual([1001, 1001]);
    expect(await stream.ended).toBe('end');
    expect(stream.bye()).toBe(true);
    expect(Date.now() - started).toBeGreaterThan(2_000);
    expect(await containerState(from)).toBe('exited');
  });

  it('a rollback after the switch drains the new color the same way: removed only after its last WebSocket closed', async () => {
    const from = (await w.router.readRoute(APP))!.live;
    const to: Color = from === 'blue' ? 'green' : 'blue';
    const handle = await startDeploy(w.client, spec(from === 'blue' ? 'v2' : 'v1', '30s', '2m'), TASK_QUEUE);
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 50, message: 'verify' }).toBe('verify');
    // During verify the new color takes new connections.
    const socket: SocketClient = await openSocket(WS);
    expect(socket.color).toBe(to);

    await handle.executeUpdate(rollbackUpdate, { args: ['e2e: roll back with a WebSocket open'] });
    await expect.poll(async () => (await w.router.readRoute(APP))?.live, { timeout: 30_000, interval: 50 }).toBe(from);
    await new Promise((r) => setTimeout(r, 2_000));
    // Traffic is back on the previous color, but the open socket keeps its container alive.
    expect(await containerState(to)).toBe('running');
    expect(await socket.echo('rolled back?')).toBe(to);
    const fresh = await openSocket(WS);
    expect(fresh.color).toBe(from);

    await socket.close();
    const outcome = await awaitOutcome(handle);
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(await containerState(to)).toBe('gone');
    expect(await fresh.echo('still live')).toBe(from);
    await fresh.close();
  });
});
