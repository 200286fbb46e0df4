/**
 * Every activity run twice with the same input leaves the same state: called directly (no workflow)
 * against the real Docker engine and nginx. This is what makes retries after a crash safe. Each test
 * starts from the host state the one before it leaves, and makes that state itself when it is not
 * there (ensureHost), so each also runs alone.
 */
import { isDeepStrictEqual } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { containerName, LABELS, type Color } from '../../src/names';
import type { Route } from '../../src/types';
import { appContainers, get, resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import { testRouter } from '../../harness/worker';

const APP = 'idem-shop';
const BASE = 4300;
const docker = new Docker();
const router = testRouter();
const activities = createActivities({ docker, router });
const spec = withImages(
  twoServiceSpec(APP, BASE, {
    verify: { window: '300ms', interval: '100ms' },
    validate: { commands: [{ name: 'selftest', service: 'backend', run: ['node', '/app/selftest.js'] }] },
  }),
  {},
);

interface HostState {
  containers: Array<{ name: string; id: string; state: string; deployId: string }>;
  config: string | null;
  route: unknown;
}

async function hostState(): Promise<HostState> {
  const list = await docker.listContainers({ all: true, filters: { label: [`${LABELS.app}=${APP}`] } });
  return {
    containers: list
      .map((c) => ({ name: c.Names[0]!.slice(1), id: c.Id, state: c.State, deployId: c.Labels[LABELS.deployId] ?? '' }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    config: await router.readAppConfig(APP),
    route: await router.readRoute(APP),
  };
}

/** A host state a test starts from: its containers as name:state:deploy-id (any, when left out) and the route, and how to make it from an empty host. */
interface Stage {
  containers?: string[];
  route: Route | null;
  build: Array<() => Promise<unknown>>;
}

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const GREEN_LIVE: Route = { live: 'green', backup: null };

/** Both services' containers of each color, as name:state:deploy-id. */
const containersOf = (colors: Array<[Color, 'running' | 'exited', string]>): string[] =>
  colors.flatMap(([color, state, deployId]) => ['backend', 'frontend'].map((service) => `${containerName(APP, service, color)}:${state}:${deployId}`));

const EMPTY: Stage = { containers: [], route: null, build: [] };
const BLUE_1: Stage = { containers: containersOf([['blue', 'running', 'deploy-1']]), route: null, build: [() => activities.deployColor(spec, 'blue', 'deploy-1')] };
const BLUE_2: Stage = { containers: containersOf([['blue', 'running', 'deploy-2']]), route: null, build: [() => activities.deployColor(spec, 'blue', 'deploy-2')] };
const BLUE_2_LIVE: Stage = { ...BLUE_2, route: BLUE_LIVE, build: [...BLUE_2.build, () => activities.switchTraffic(spec, BLUE_LIVE)] };
const BLUE_2_LIVE_GREEN_3: Stage = {
  containers: containersOf([['blue', 'running', 'deploy-2'], ['green', 'running', 'deploy-3']]),
  route: BLUE_LIVE,
  build: [...BLUE_2_LIVE.build, () => activities.deployColor(spec, 'green', 'deploy-3')],
};
const GREEN_4_LIVE_BLUE_STOPPED: Stage = {
  containers: containersOf([['blue', 'exited', 'deploy-2'], ['green', 'running', 'deploy-4']]),
  route: GREEN_LIVE,
  build: [...BLUE_2_LIVE.build, () => activities.deployColor(spec, 'green', 'deploy-4'), () => activities.switchTraffic(spec, GREEN_LIVE), () => activities.retireColor(spec, 'blue', 'stop')],
};
const ROUTED: Stage = { route: BLUE_LIVE, build: BLUE_2_LIVE.build };

/** Brings the host to `stage`: nothing to do when it is there (the tests in order), else reset and build. */
async function ensureHost(stage: Stage): Promise<void> {
  const now = await hostState();
  const containers = now.containers.map((c) => `${c.name}:${c.state}:${c.deployId}`).sort();
  if ((stage.containers === undefined || isDeepStrictEqual(containers, [...stage.containers].sort())) && isDeepStrictEqual(now.route, stage.route)) return;
  await resetApp(docker, router, APP);
  for (const step of stage.build) await step();
}

/** Runs `step` twice and returns the host state after each run. */
async function twice(step: () => Promise<unknown>): Promise<[HostState, HostState]> {
  await step();
  const first = await hostState();
  await step();
  return [first, await hostState()];
}

beforeAll(async () => {
  await router.ensureRunning();
});

afterAll(async () => {
  await resetApp(docker, router, APP);
});

describe('activities are idempotent (run twice, same state)', () => {
  it('runValidationCommands: same results, no leftover validation containers', async () => {
    await ensureHost(EMPTY);
    const first = await activities.runValidationCommands(spec, 'deploy-1');
    const second = await activities.runValidationCommands(spec, 'deploy-1');
    expect(second).toEqual(first);
    expect(first).toEqual([{ name: 'selftest', exitCode: 0, output: 'selftest: 12 of 12 checks passed' }]);
    expect(await appContainers(docker, APP)).toEqual([]);
  });

  it('deployColor: the retry finds its own containers (same ids), all running', async () => {
    await ensureHost(EMPTY);
    const [first, second] = await twice(() => activities.deployColor(spec, 'blue', 'deploy-1'));
    expect(second).toEqual(first);
    expect(first.containers.map((c) => `${c.name}:${c.state}:${c.deployId}`)).toEqual([`${containerName(APP, 'backend', 'blue')}:running:deploy-1`, `${containerName(APP, 'frontend', 'blue')}:running:deploy-1`]);
  });

  it('deployColor for another deploy id replaces leftovers instead of reusing them', async () => {
    await ensureHost(BLUE_1);
    const before = await hostState();
    await activities.deployColor(spec, 'blue', 'deploy-2');
    const after = await hostState();
    expect(after.containers.map((c) => c.deployId)).toEqual(['deploy-2', 'deploy-2']);
    expect(after.containers.map((c) => c.id)).not.toEqual(before.containers.map((c) => c.id));
  });

  it('healthCheck, checkColorHealth, measureBaseline, verify: read-only, same answer', async () => {
    await ensureHost(BLUE_2);
    const before = await hostState();
    expect((await activities.healthCheck(spec, 'blue')).color).toBe('blue');
    expect((await activities.healthCheck(spec, 'blue')).color).toBe('blue');
    expect(await activities.checkColorHealth(spec, 'blue')).toEqual({ healthy: true, detail: 'blue healthy' });
    expect(await activities.checkColorHealth(spec, 'blue')).toEqual({ healthy: true, detail: 'blue healthy' });
    expect((await activities.measureBaseline(spec, 'blue')).samples).toBeGreaterThan(0);
    expect(await hostState()).toEqual(before);
  });

  it('switchTraffic: the same route twice gives the same config and route (the second needs no reload)', async () => {
    await ensureHost(BLUE_2);
    const results: Array<{ reloaded: boolean }> = [];
    const [first, second] = await twice(async () => results.push(await activities.switchTraffic(spec, { live: 'blue', backup: null })));
    expect(second).toEqual(first);
    expect(first.route).toEqual({ live: 'blue', backup: null });
    expect(results.map((r) => r.reloaded)).toEqual([true, false]);
    expect(JSON.parse((await get(`http://127.0.0.1:${BASE}/api/version`)).body)).toEqual({ version: 'v1', color: 'blue' });
  });

  it('verify on a healthy color passes, twice', async () => {
    await ensureHost(BLUE_2_LIVE);
    const first = await activities.verify(spec, 'blue', null);
    const second = await activities.verify(spec, 'blue', null);
    expect([first.errors, second.errors]).toEqual([0, 0]);
  });

  it('switchTraffic with a backup, then back, twice: the same state each time', async () => {
    await ensureHost(BLUE_2_LIVE);
    await activities.deployColor(spec, 'green', 'deploy-3');
    const [first, second] = await twice(() => activities.switchTraffic(spec, { live: 'green', backup: 'blue' }));
    expect(second).toEqual(first);
    expect(first.route).toEqual({ live: 'green', backup: 'blue' });
    const [back1, back2] = await twice(() => activities.switchTraffic(spec, { live: 'blue', backup: null }));
    expect(back2).toEqual(back1);
    expect(back1.route).toEqual({ live: 'blue', backup: null });
  });

  it('removeColor refuses a routed color, and removes an unrouted one, twice', async () => {
    await ensureHost(BLUE_2_LIVE_GREEN_3);
    await expect(activities.removeColor(spec, 'blue')).rejects.toThrow(`refusing to remove ${APP}'s blue containers: nginx routes traffic to blue`);
    const [first, second] = await twice(() => activities.removeColor(spec, 'green'));
    expect(second).toEqual(first);
    expect(first.containers.map((c) => c.name)).toEqual([containerName(APP, 'backend', 'blue'), containerName(APP, 'frontend', 'blue')]);
  });

  it('retireColor (stop) refuses a routed color, and stops an unrouted one, twice', async () => {
    await ensureHost(BLUE_2_LIVE);
    await expect(activities.retireColor(spec, 'blue', 'stop')).rejects.toThrow(`refusing to stop ${APP}'s blue containers`);
    await activities.deployColor(spec, 'green', 'deploy-4');
    await activities.switchTraffic(spec, { live: 'green', backup: null });
    const [first, second] = await twice(() => activities.retireColor(spec, 'blue', 'stop'));
    expect(second).toEqual(first);
    expect(first.containers.map((c) => `${c.name}:${c.state}`)).toEqual([
      `${containerName(APP, 'backend', 'blue')}:exited`,
      `${containerName(APP, 'backend', 'green')}:running`,
      `${containerName(APP, 'frontend', 'blue')}:exited`,
      `${containerName(APP, 'frontend', 'green')}:running`,
    ]);
  });

  it('retireColor also retires a service the new spec dropped, twice', async () => {
    await ensureHost(GREEN_4_LIVE_BLUE_STOPPED);
    // The next version has no frontend: blue serves the backend alone, green (both services) retires.
    const backendOnly = withImages({ ...twoServiceSpec(APP, BASE, { verify: { window: '300ms', interval: '100ms' } }), services: { backend: twoServiceSpec(APP, BASE).services.backend! } }, {});
    await activities.deployColor(backendOnly, 'blue', 'deploy-5');
    await activities.switchTraffic(backendOnly, { live: 'blue', backup: null });
    const [first, second] = await twice(() => activities.retireColor(backendOnly, 'green', 'stop'));
    expect(second).toEqual(first);
    expect(first.containers.map((c) => `${c.name}:${c.state}`)).toEqual([
      `${containerName(APP, 'backend', 'blue')}:running`,
      `${containerName(APP, 'backend', 'green')}:exited`,
      `${containerName(APP, 'frontend', 'blue')}:exited`,
      `${containerName(APP, 'frontend', 'green')}:exited`,
    ]);
    expect(first.config).toContain(`gl_${APP}_backend__blue`);
    expect(first.config).not.toContain(`gl_${APP}_frontend`);
  });

  it('removeRoute: the app is off the router after the first call; the second changes nothing', async () => {
    await ensureHost(ROUTED);
    expect(await activities.removeRoute(APP)).toBe(true);
    const afterFirst = await hostState();
    expect(await activities.removeRoute(APP)).toBe(false);
    expect(await hostState()).toEqual(afterFirst);
    expect(afterFirst.config).toBe(null);
    expect(afterFirst.route).toBe(null);
  });
});
