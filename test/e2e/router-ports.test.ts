/**
 * Router ports that cannot clash, and verify through the router, end to end on the real parts (Temporal
 * dev server, Docker, the stack's nginx): a second app on an app's port, an app onto a port another
 * program holds, a route mistake that only the router shows (and its rollback, which restores the
 * previous routing), a rollback of a structure change under load, and a spec moving the live color's port.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy, type DeployOutcome } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec, DeploySpecInput } from '../../src/config/schema';
import { parseDeploySpec } from '../../src/config/load';
import { containerName } from '../../src/names';
import { deployOk } from '../../harness/deploys';
import { appContainers, colorUpstream, get, resetApp } from '../../harness/host';
import { exampleImages, twoServiceSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { startLoad } from '../../harness/loadgen';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';

const TASK_QUEUE = 'e2e-router-ports';
// Ports 4850-4912: no other e2e file uses them.
const FIRST = 'ports-first';
const SECOND = 'ports-second';
const first = twoServiceSpec(FIRST, 4850);
const second = twoServiceSpec(SECOND, 4880);

/** App "ports-api": the example backend alone, on `route` (it serves /api/...). */
function apiSpec(route: string): DeploySpec {
  return parseDeploySpec({
    app: 'ports-api',
    router: { port: 4910 },
    services: {
      backend: { image: exampleImages('v1').backend, port: 4000, hostPorts: { blue: 4911, green: 4912 }, route, health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] },
    },
    health: { interval: '200ms', successes: 3, deadline: '20s' },
    verify: { window: '3s', interval: '100ms' },
    cleanup: { previous: 'stop', drain: '500ms' },
  });
}

let w: TestWorker;

async function deploy(spec: DeploySpecInput | DeploySpec): Promise<DeployOutcome> {
  return awaitOutcome(await startDeploy(w.client, parseDeploySpec(spec), TASK_QUEUE));
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  for (const app of [FIRST, SECOND, 'ports-api']) await resetApp(w.docker, w.router, app);
});

afterAll(async () => {
  if (w) for (const app of [FIRST, SECOND, 'ports-api']) await resetApp(w.docker, w.router, app);
  await w?.stop();
});

describe('router ports that cannot clash', () => {
  it("a second app on the first app's router port fails validation; the first app is untouched", async () => {
    await deployOk(w, parseDeploySpec(first), TASK_QUEUE);
    const configBefore = await w.router.readAppConfig(FIRST);
    const containersBefore = await appContainers(w.docker, FIRST);

    const outcome = await deploy({ ...second, router: { port: 4850 } });

    expect(outcome.end).toBe('validation-failed');
    expect(outcome.exitCode).toBe(EXIT.invalid);
    expect(outcome.message).toContain(
      `router.port: port 4850 is app "${FIRST}"'s router port (greenlight's nginx serves ${FIRST} there): two apps cannot share a port, choose another router port`,
    );
    expect(await w.router.readAppConfig(SECOND)).toBeNull();
    expect(await appContainers(w.docker, SECOND)).toEqual([]);
    expect(await w.router.readAppConfig(FIRST)).toBe(configBefore);
    expect(await appContainers(w.docker, FIRST)).toEqual(containersBefore);
    const api = await get('http://127.0.0.1:4850/api/version');
    expect(JSON.parse(api.body)).toEqual({ version: 'v1', color: 'blue' });
  });

  it("a host port of another app's idle color fails validation too (nothing listens on it yet)", async () => {
    // 4871 is the first app's frontend green: no container holds it while blue is live.
    const outcome = await deploy({ ...second, services: { ...second.services, frontend: { ...second.services.frontend!, hostPorts: { blue: 4871, green: 4901 } } } });
    expect(outcome.end).toBe('validation-failed');
    expect(outcome.message).toContain(`services.frontend.hostPorts.blue: port 4871 is a host port of app "${FIRST}" (its containers bind it): choose a host port no other app uses`);
    expect(await w.router.readAppConfig(SECOND)).toBeNull();
  });

  it('an app onto a port another program holds fails validation, also when it moves there from its own port', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(4855, '127.0.0.1', resolve));
    try {
      const message = 'router.port: port 4855 is already in use by another program (nginx could not listen on it, and every reload would fail for all apps): free it or choose another router port';
      const fresh = await deploy({ ...second, router: { port: 4855 } });
      expect(fresh.end).toBe('validation-failed');
      expect(fresh.message).toContain(message);
      expect(await w.router.readAppConfig(SECOND)).toBeNull();

      // The routed first app moving onto it: before, only a first deploy was checked.
      const configBefore = await w.router.readAppConfig(FIRST);
      const moved = await deploy({ ...first, router: { port: 4855 } });
      expect(moved.end).toBe('validation-failed');
      expect(moved.message).toContain(message);
      expect(await w.router.readAppConfig(FIRST)).toBe(configBefore);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe('verify through the router', () => {
  it('a route prefix the app does not serve passes the direct probes, fails through the router and is rolled back', async () => {
    await deployOk(w, apiSpec('/api'), TASK_QUEUE);
    const configBefore = await w.router.readAppConfig('ports-api');
    // The spec moves the backend to /v1, but the app still serves /api/...: on its host port /api/health
    // answers 200, through the router /api/health reaches no service (404).
    const outcome = await deploy(apiSpec('/v1'));

    expect(outcome.end).toBe('rolled-back');
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.status?.phases.map((p) => p.phase)).toContain('verify');
    expect(outcome.message).toContain('green failed its health checks 3 rounds in a row (verify.maxConsecutiveHealthFailures)');
    expect(outcome.message).toContain('GET http://127.0.0.1:4910/api/health -> HTTP 404');
    // Traffic is back on blue (v1), green is gone, and so is the new spec's route: users reach the
    // backend on /api again (before, the rollback kept /v1, so /api answered 404 after it).
    const api = await get('http://127.0.0.1:4910/api/version');
    expect({ status: api.status, route: api.headers['x-greenlight-route'], body: JSON.parse(api.body) as unknown }).toEqual({ status: 200, route: 'blue', body: { version: 'v1', color: 'blue' } });
    expect((await get('http://127.0.0.1:4910/v1/version')).status).toBe(404);
    expect(await w.router.readAppConfig('ports-api')).toBe(configBefore);
    expect((await appContainers(w.docker, 'ports-api')).map((c) => `${c.name}:${c.state}`)).toEqual([`${containerName('ports-api', 'backend', 'blue')}:running`]);
  });

  it('a rollback during verify of a structure change, under load: the old routing comes back and no request on the old paths fails', async () => {
    await deployOk(w, apiSpec('/api'), TASK_QUEUE);
    const configBefore = await w.router.readAppConfig('ports-api');
    const live = (await w.router.readRoute('ports-api'))!.live;
    // The new spec serves the backend on "/" (new locations: a reload at the switch, another at the
    // rollback); /api/... reaches it there too, so users on the old paths must see no failure at all.
    const moved = parseDeploySpec({ ...apiSpec('/'), verify: { window: '5m', interval: '200ms' } });
    const traffic = startLoad({ urls: ['http://127.0.0.1:4910/api/version', 'http://127.0.0.1:4910/api/items'], ratePerSecond: 100, keepAlive: true, maxDurationMs: 120_000 });
    const handle = await startDeploy(w.client, moved, TASK_QUEUE);
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 50, message: 'the deploy to reach verify' }).toBe('verify');
    expect(await w.router.readAppConfig('ports-api')).not.toBe(configBefore);

    await new Promise((r) => setTimeout(r, 1_000)); // load on the new structure for a while
    await handle.executeUpdate(rollbackUpdate, { args: ['e2e: structure rollback'] });
    const outcome = await awaitOutcome(handle);
    const afterRollback = traffic.snapshot();
    await new Promise((r) => setTimeout(r, 1_000)); // load past the restore's reload, on the old structure
    const report = await traffic.stop();
    console.log(`[router-ports] rollback of a structure change under load: ${JSON.stringify(report)}`);

    expect(outcome.end).toBe('rolled-back');
    const livePort = await colorUpstream(w.router, 'ports-api', 'backend', live, apiSpec('/api').services.backend!.hostPorts![live]);
    // The old color answered the last second, alone.
    expect(report.ok - afterRollback.ok).toBeGreaterThan(50);
    expect((report.upstreams[livePort] ?? 0) - (afterRollback.upstreams[livePort] ?? 0)).toBe(report.ok - afterRollback.ok);
    // A structure change reloads nginx (the only switch that does): a client reusing an idle keep-alive
    // connection at the instant the old workers close it sees that connection reset (0-2 of ~450 seen,
    // README "Known limits"; an open problem). Nothing else may fail, and resets stay under 1 %.
    const { ECONNRESET = 0, ...otherFailures } = report.failures;
    expect(otherFailures).toEqual({});
    expect(report.failed).toBe(ECONNRESET);
    expect(ECONNRESET).toBeLessThanOrEqual(Math.ceil(report.sent * 0.01));
    expect(await w.router.readAppConfig('ports-api')).toBe(configBefore);
    expect(await w.router.readRoute('ports-api')).toEqual({ live, backup: null });
  });

  it("a spec that moves the live color's host port fails validation; the live config and app are untouched", async () => {
    await deployOk(w, apiSpec('/api'), TASK_QUEUE);
    const configBefore = await w.router.readAppConfig('ports-api');
    const live = (await w.router.readRoute('ports-api'))!.live;
    const base = apiSpec('/api');
    const backend = base.services.backend!;
    const outcome = await deploy({ ...base, services: { backend: { ...backend, hostPorts: { ...backend.hostPorts!, [live]: 4913 } } } });

    expect(outcome.end).toBe('validation-failed');
    expect(outcome.exitCode).toBe(EXIT.invalid);
    expect(outcome.message).toContain(`services.backend.hostPorts.${live}: ${live} is live on host port ${backend.hostPorts![live]}`);
    expect(await w.router.readAppConfig('ports-api')).toBe(configBefore);
    expect(JSON.parse((await get('http://127.0.0.1:4910/api/version')).body)).toMatchObject({ version: 'v1', color: live });
  });
});
