/**
 * greenlight on a self-hosted Temporal cluster (scripts/temporal-selfhosted.sh: temporal-server on its own
 * PostgreSQL, the cluster docker-compose.temporal.yml describes), not the dev server: a deploy under
 * load, an automatic and a manual rollback, the server SIGKILLed and restarted during verify, `status`
 * and `history` through PostgreSQL visibility, and one fleet deploy over two Docker engines
 * (scripts/fleet.sh, brought down after when this file brought it up). Workers
 * and the CLI run as their own processes pointed at it with TEMPORAL_ADDRESS, as an operator would.
 * Fails (never skips) when the server is not up: CI starts it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, type Connection } from '@temporalio/client';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { dataConverterFromEnv } from '../../src/codec';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { containerName, otherColor, SEARCH_ATTRIBUTES, type Color } from '../../src/names';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';
import { cli } from '../../harness/cli';
import { fleetState, fleetUp, resetFleetApp, spawnHostWorker, tagOnHost, type FleetHost } from '../../harness/fleet';
import { appContainers, get, resetApp } from '../../harness/host';
import { startLoad, type LoadReport } from '../../harness/loadgen';
import { GREENLIGHT_HOME } from '../../harness/paths';
import { runScript, spawnWorker, type WorkerProcess } from '../../harness/processes';
import { connectSelfHosted, crashRestartSelfHosted, SELFHOSTED_ADDRESS, type SelfHostedInfo } from '../../harness/selfhosted';
import { twoServiceSpec, withImages } from '../../harness/specs';
import { testRouter } from '../../harness/worker';
import { waitFor } from '../helpers/wait';

/** The release scripts/temporal-selfhosted.sh pins (test/unit/artifacts.test.ts ties the two). */
const SERVER_VERSION = '1.31.0';
const APP = 'selfhosted-shop';
const QUEUE = 'e2e-selfhosted';
const BASE = 4570;
const ROUTER = `http://127.0.0.1:${BASE}`;
// 1,000 req/s also passed once here, but on 2 shared cores the load generator in this process then
// slows the app enough (median 30 -> 265 ms) that verify's latency rule rightly rolls the deploy back.
const RATE = 200;
const base: DeploySpecInput = twoServiceSpec(APP, BASE, { verify: { window: '3s', interval: '100ms' }, cleanup: { previous: 'stop', drain: '300ms' } });
const router = testRouter();
const docker = new Docker();
const onSelfHosted = { TEMPORAL_ADDRESS: SELFHOSTED_ADDRESS };

let connection: Connection;
let client: Client;
let info: SelfHostedInfo;
let worker: WorkerProcess | undefined;
let version = 0;
/** When this run began: the server's PostgreSQL keeps earlier runs' deploys, and the visibility query below counts this run's. */
let runStartedAt: Date;
/** What the file measured, printed at the end. */
const measured: Record<string, unknown> = {};

function nextImages(): Record<string, string> {
  version += 1;
  const tag = version % 2 === 0 ? 'v2' : 'v1';
  return { backend: `greenlight-example-backend:${tag}`, frontend: `greenlight-example-frontend:${tag}` };
}

function traffic() {
  return startLoad({ urls: [`${ROUTER}/api/version`, `${ROUTER}/`], ratePerSecond: RATE, keepAlive: true, maxDurationMs: 180_000 });
}

function loadLine(report: LoadReport): string {
  return `${report.failed} failed of ${report.sent} at ${RATE} req/s`;
}

async function liveColor(): Promise<Color> {
  const route = await router.readRoute(APP);
  if (!route) throw new Error(`${APP} is not routed`);
  return route.live;
}

/** The host after a deploy: one color routed alone and healthy through nginx; the other stopped, or gone after a rollback. */
async function expectConsistent(live: Color, other: 'stopped' | 'absent'): Promise<void> {
  expect(await router.readRoute(APP)).toEqual({ live, backup: null });
  expect(JSON.parse((await get(`${ROUTER}/api/version`)).body).color).toBe(live);
  const dead = otherColor(live);
  const expected = [`${containerName(APP, 'backend', live)}:running`, `${containerName(APP, 'frontend', live)}:running`];
  if (other === 'stopped') expected.push(`${containerName(APP, 'backend', dead)}:exited`, `${containerName(APP, 'frontend', dead)}:exited`);
  expect((await appContainers(docker, APP)).map((c) => `${c.name}:${c.state}`).sort()).toEqual(expected.sort());
}

beforeAll(async () => {
  runStartedAt = new Date();
  ({ connection, info } = await connectSelfHosted());
  client = new Client({ connection, dataConverter: dataConverterFromEnv() }); // the workers' payload key (src/codec.ts)
  await resetApp(docker, router, APP);
  worker = spawnWorker(QUEUE, undefined, 'selfhosted', onSelfHosted);
  const first = await awaitOutcome(await startDeploy(client, withImages(base, nextImages()), QUEUE));
  expect(first.exitCode, first.message).toBe(EXIT.ok);
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await connection?.close();
  console.log(`\nself-hosted Temporal ${info?.serverVersion} (${info?.persistenceStore}): ${JSON.stringify(measured, null, 2)}\n`);
});

describe(`greenlight on self-hosted Temporal ${SERVER_VERSION} (PostgreSQL)`, () => {
  it(`is temporal-server ${SERVER_VERSION} on PostgreSQL persistence and visibility, with greenlight's search attributes`, async () => {
    expect(info).toEqual({ serverVersion: SERVER_VERSION, persistenceStore: 'postgres12', visibilityStore: 'postgres12' });
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
    for (const key of Object.values(SEARCH_ATTRIBUTES)) expect(Object.keys(customAttributes ?? {})).toContain(key.name);
  });

  it(`a deploy under ${RATE} req/s switches colors with 0 failed requests`, async () => {
    const before = await liveColor();
    const load = traffic();
    const outcome = await awaitOutcome(await startDeploy(client, withImages(base, nextImages()), QUEUE));
    const report = await load.stop();
    measured.deployUnderLoad = loadLine(report);
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(report.failures).toEqual({});
    expect(report.failed).toBe(0);
    await expectConsistent(otherColor(before), 'stopped');
  });

  it('an image that answers 5xx after the switch is rolled back automatically by verify, 0 failed', async () => {
    const before = await liveColor();
    const load = traffic();
    const outcome = await awaitOutcome(await startDeploy(client, withImages({ ...base, verify: { window: '20s', interval: '100ms' } }, { backend: 'greenlight-example-backend:flaky' }), QUEUE));
    const report = await load.stop();
    measured.automaticRollback = loadLine(report);
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    // Whichever signal crosses the threshold first decides: the probes, or users' real traffic through the router.
    expect(outcome.message).toMatch(/error rate [\d.]+ % (over \d+ probes|\(\d+ 5xx or failed of \d+ requests through the router[^)]*\)) exceeds/);
    expect(outcome.status?.outcome).toBe('rolled-back');
    expect(report.failed).toBe(0);
    await expectConsistent(before, 'absent');
  });

  it('a rollback sent during verify (Workflow Update) returns traffic to the previous color, 0 failed', async () => {
    const before = await liveColor();
    const load = traffic();
    const handle = await startDeploy(client, withImages({ ...base, verify: { window: '5m', interval: '200ms' } }, nextImages()), QUEUE);
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 100, message: 'verify' }).toBe('verify');
    const accepted = await handle.executeUpdate(rollbackUpdate, { args: ['e2e: rollback on the self-hosted server'] });
    const outcome = await awaitOutcome(handle);
    const report = await load.stop();
    measured.manualRollback = loadLine(report);
    expect(accepted).toEqual({ phase: 'verify', reason: 'e2e: rollback on the self-hosted server' });
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.status?.rollbackReason).toBe('e2e: rollback on the self-hosted server');
    expect(report.failed).toBe(0);
    await expectConsistent(before, 'absent');
  });

  it('the server SIGKILLed during verify and restarted 3 s later on the same PostgreSQL: the deploy completes, 0 failed', async () => {
    const before = await liveColor();
    const load = traffic();
    const handle = await startDeploy(client, withImages({ ...base, verify: { window: '15s', interval: '200ms' } }, nextImages()), QUEUE);
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 100, message: 'verify' }).toBe('verify');
    const { downForMs, startMs } = await crashRestartSelfHosted(3_000);
    const restartedAt = Date.now();
    const outcome = await waitFor('the deploy outcome after the restart', () => awaitOutcome(handle), { timeout: 120_000, interval: 500 });
    const report = await load.stop();
    measured.serverRestart = { downForMs, scriptStartMs: startMs, deployEndedAfterRestartMs: Date.now() - restartedAt, load: loadLine(report) };
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(report.failed).toBe(0);
    await expectConsistent(otherColor(before), 'stopped');
  });

  it('`greenlight status` and `history` read the deploys back through PostgreSQL visibility and search attributes', async () => {
    const status = await cli(['status', APP, '--json'], onSelfHosted);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({ app: APP, liveColor: await liveColor(), deploy: { outcome: 'succeeded', running: false } });
    // Newest first: the restart survivor, the manual and the automatic rollback, the deploy under load, the first deploy.
    const outcomes = async () => (JSON.parse((await cli(['history', APP, '-n', '5', '--json'], onSelfHosted)).stdout) as Array<{ outcome: string }>).map((e) => e.outcome);
    await expect.poll(outcomes, { timeout: 30_000, interval: 500 }).toEqual(['succeeded', 'rolled-back', 'rolled-back', 'succeeded', 'succeeded']);
    // A search-attribute filter runs in PostgreSQL visibility (what the Temporal UI's filters do): this run's two rollbacks.
    const rolledBack: string[] = [];
    const query = `${SEARCH_ATTRIBUTES.app.name} = '${APP}' AND ${SEARCH_ATTRIBUTES.outcome.name} = 'rolled-back' AND StartTime >= '${runStartedAt.toISOString()}'`;
    for await (const execution of client.workflow.list({ query })) rolledBack.push(execution.runId);
    expect(rolledBack).toHaveLength(2);
    const text = await cli(['history', APP], onSelfHosted);
    expect(text.stdout.split('\n')[0]).toMatch(/^started +outcome +duration +images$/);
  });
});

describe('a fleet deploy over two Docker engines on the self-hosted server', () => {
  const FLEET_APP = 'selfhosted-fleet';
  const FLEET_QUEUE = 'e2e-selfhosted-fleet';
  let hosts: FleetHost[] = [];
  const fleetWorkers: WorkerProcess[] = [];
  let broughtUp = false;
  // Router ports of their own: a host's standard router port (4910+K, behind the load balancer) may
  // still serve fleet.test.ts's app. The load goes to both routers directly, round robin.
  const ROUTER_PORTS = [4917, 4918] as const;
  const routerUrls = ROUTER_PORTS.map((port) => `http://127.0.0.1:${port}/api/items`);

  function fleetSpec(image: string) {
    return parseDeploySpec({
      app: FLEET_APP,
      router: { port: ROUTER_PORTS[0] },
      services: { web: { image, port: 4000, hostPorts: { blue: 4951, green: 4952 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] } },
      hosts: [{ name: 'web-1' }, { name: 'web-2', router: { port: ROUTER_PORTS[1] }, hostPorts: { web: { blue: 4961, green: 4962 } } }],
      health: { interval: '200ms', successes: 3, deadline: '15s' },
      verify: { window: '3s', interval: '100ms' },
      cleanup: { previous: 'stop', drain: '500ms' },
      fleet: { hostTimeout: '10s' },
    });
  }

  beforeAll(async () => {
    broughtUp = !existsSync(join(GREENLIGHT_HOME, 'fleet', 'hosts.json'));
    hosts = await fleetUp(2);
    for (const host of hosts) {
      await tagOnHost(host, 'greenlight-example-backend:v2', 'selfhosted-web:r1');
      await tagOnHost(host, 'greenlight-example-backend:v3', 'selfhosted-web:r2');
    }
    await resetFleetApp(hosts, FLEET_APP);
    for (const host of hosts) fleetWorkers.push(spawnHostWorker(host, FLEET_QUEUE, { env: onSelfHosted }));
    const first = await awaitOutcome(await startDeploy(client, fleetSpec('selfhosted-web:r1'), FLEET_QUEUE));
    expect(first.exitCode, first.message).toBe(EXIT.ok);
    await waitFor('both routers to answer 200', async () => {
      for (const url of routerUrls) expect((await fetch(url)).status).toBe(200);
    }, { timeout: 20_000, interval: 200 });
  });

  afterAll(async () => {
    await Promise.all(fleetWorkers.map((w) => w.kill('SIGTERM')));
    if (hosts.length > 0) await resetFleetApp(hosts, FLEET_APP).catch(() => undefined);
    if (broughtUp) await runScript('fleet.sh', 'down').catch(() => undefined);
  });

  it('switches both hosts, with 0 failed requests through their routers', async () => {
    const [state] = await fleetState(hosts, FLEET_APP);
    const before = state!.route!.live;
    const load = startLoad({ urls: routerUrls, ratePerSecond: 100, keepAlive: true, maxDurationMs: 120_000 });
    const outcome = await awaitOutcome(await startDeploy(client, fleetSpec('selfhosted-web:r2'), FLEET_QUEUE));
    const report = await load.stop();
    measured.fleetDeploy = `${report.failed} failed of ${report.sent} at 100 req/s over both routers`;
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(outcome.status?.hosts?.map((h) => [h.name, h.liveColor])).toEqual([['web-1', otherColor(before)], ['web-2', otherColor(before)]]);
    expect(report.failed).toBe(0);
    for (const s of await fleetState(hosts, FLEET_APP)) expect(s.route, s.host).toEqual({ live: otherColor(before), backup: null });
  });
});
