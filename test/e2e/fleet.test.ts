/**
 * Fleet deploys on real parts: two simulated Docker hosts on this machine (each its own dockerd, nginx
 * and worker process, scripts/fleet.sh), behind HAProxy as a cloud load balancer would be. Every scenario
 * runs under load through the load balancer with a client that never retries, and ends with a per-host
 * consistency check: every host routes the same color, alone.
 */
import { readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { containerName, LABELS, MESSAGES, monitorWorkflowId, otherColor, type Color } from '../../src/names';
import type { MonitorView } from '../../src/monitor';
import { rollback } from '../../src/cli/commands/rollback';
import { status } from '../../src/cli/commands/status';
import { maintenance } from '../../src/cli/commands/maintenance';
import { planDeploy } from '../../src/cli/commands/plan';
import type { Plan } from '../../host/builders/plan';
import type { deployWorkflow } from '../../workflows/deploy';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';
import { FLEET_LB_URL, fleetState, fleetUp, resetFleetApp, spawnHostWorker, tagOnHost, type FleetHost } from '../../harness/fleet';
import { startLoad } from '../../harness/loadgen';
import { TEMPORAL_ADDRESS } from '../../harness/paths';
import { runScript, type WorkerProcess } from '../../harness/processes';
import type { ServiceInput } from '../../harness/specs';
import { waitFor } from '../helpers/wait';
import { dataConverterFromEnv } from '../../src/codec';

const APP = 'fleet';
const QUEUE = 'e2e-fleet';
let hosts: FleetHost[];
const workers = new Map<string, WorkerProcess>();
let client: Client;
let release = 1;

/** The app on both hosts: web-1 on router 4911 (host ports 4931/4932), web-2 on 4912 (4941/4942). */
function fleetSpec(image: string, overrides: Partial<DeploySpecInput> = {}, web: Partial<ServiceInput> = {}) {
  return parseDeploySpec({
    app: APP,
    router: { port: hosts[0]!.routerPort },
    services: { web: { image, port: 4000, hostPorts: { blue: 4931, green: 4932 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'], ...web } },
    hosts: [{ name: 'web-1' }, { name: 'web-2', router: { port: hosts[1]!.routerPort }, hostPorts: { web: { blue: 4941, green: 4942 } } }],
    health: { interval: '200ms', successes: 3, deadline: '15s' },
    verify: { window: '3s', interval: '100ms' },
    cleanup: { previous: 'stop', drain: '500ms' },
    fleet: { hostTimeout: '5s' },
    ...overrides,
  });
}

/** A tag the hosts have not run yet, so every deploy really changes something. */
function nextGood(): string {
  release += 1;
  return `fleet-web:r${release}`;
}

function startWorker(host: FleetHost, options: Parameters<typeof spawnHostWorker>[2] = {}): WorkerProcess {
  const worker = spawnHostWorker(host, QUEUE, options);
  workers.set(host.name, worker);
  return worker;
}

async function deploy(image: string, overrides: Partial<DeploySpecInput> = {}, web: Partial<ServiceInput> = {}): Promise<WorkflowHandle<typeof deployWorkflow>> {
  return startDeploy(client, fleetSpec(image, overrides, web), QUEUE);
}

function lbTraffic() {
  return startLoad({ urls: [`${FLEET_LB_URL}/api/items`], ratePerSecond: 100, keepAlive: true, maxDurationMs: 120_000 });
}

/** The color the fleet serves; every host must agree. */
async function liveColor(): Promise<Color> {
  const states = await fleetState(hosts, APP);
  const colors = new Set(states.map((s) => s.route?.live));
  expect(colors.size, JSON.stringify(states)).toBe(1);
  return states[0]!.route!.live;
}

/** Every host routes `color` alone and runs it; the other color is stopped or gone everywhere. */
async function expectConsistent(color: Color): Promise<void> {
  for (const state of await fleetState(hosts, APP)) {
    expect(state.route, state.host).toEqual({ live: color, backup: null });
    expect(state.containers.find((c) => c.name === containerName(APP, 'web', color))?.state, state.host).toBe('running');
    expect(state.containers.find((c) => c.name === containerName(APP, 'web', otherColor(color)))?.state ?? 'absent', state.host).not.toBe('running');
  }
}

beforeAll(async () => {
  hosts = await fleetUp(2);
  // One tag, one image per host: the same spec can then be healthy on one host and broken on the other.
  for (const host of hosts) {
    for (let r = 2; r <= 12; r++) await tagOnHost(host, `greenlight-example-backend:${r % 2 ? 'v3' : 'v2'}`, `fleet-web:r${r}`);
  }
  await tagOnHost(hosts[0]!, 'greenlight-example-backend:v3', 'fleet-web:sick-on-2');
  await tagOnHost(hosts[1]!, 'greenlight-example-backend:unhealthy', 'fleet-web:sick-on-2');
  await tagOnHost(hosts[0]!, 'greenlight-example-backend:flaky', 'fleet-web:flaky-on-1');
  await tagOnHost(hosts[1]!, 'greenlight-example-backend:v3', 'fleet-web:flaky-on-1');
  await resetFleetApp(hosts, APP);
  client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }), dataConverter: dataConverterFromEnv() });
  for (const host of hosts) startWorker(host);
  const first = await awaitOutcome(await deploy(nextGood()));
  expect(first.exitCode, first.message).toBe(EXIT.ok);
  // The load balancer has both routers up before any scenario counts failures.
  await waitFor('the load balancer to answer 200 through both routers', async () => {
    for (let i = 0; i < 4; i++) expect((await fetch(`${FLEET_LB_URL}/api/items`)).status).toBe(200);
  }, { timeout: 20_000, interval: 200 });
  await new Promise((r) => setTimeout(r, 1_500));
});

afterAll(async () => {
  await Promise.all([...workers.values()].map((w) => w.kill('SIGTERM')));
  await client?.connection.close();
  await runScript('fleet.sh', 'down').catch(() => undefined);
});

describe('fleet deploys across two Docker hosts', () => {
  it('a fleet deploy switches every host, all or none, with 0 failed requests through the load balancer', async () => {
    const before = await liveColor();
    const traffic = lbTraffic();
    const outcome = await awaitOutcome(await deploy(nextGood()));
    const report = await traffic.stop();
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(outcome.status?.hosts?.map((h) => [h.name, h.liveColor])).toEqual([['web-1', otherColor(before)], ['web-2', otherColor(before)]]);
    expect(outcome.status?.switchSkewMs).toBeGreaterThanOrEqual(0);
    console.log(`fleet switch skew (first to last host): ${outcome.status?.switchSkewMs} ms; ${report.sent} requests, ${report.failed} failed`);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(report.sent).toBeGreaterThan(100);
    await expectConsistent(otherColor(before));
    // `greenlight status` shows every host.
    const lines: string[] = [];
    expect(await status(client, APP, true, (line) => lines.push(line))).toBe('done');
    const shown = JSON.parse(lines[0]!) as { hosts: Array<{ name: string; liveColor: string }>; switchSkewMs: number };
    expect(shown.hosts.map((h) => [h.name, h.liveColor])).toEqual([['web-1', otherColor(before)], ['web-2', otherColor(before)]]);
    expect(shown.switchSkewMs).toBe(outcome.status?.switchSkewMs);
  });

  it('`greenlight rollback` after a fleet deploy restores the previous version on every host', async () => {
    const before = await liveColor();
    const traffic = lbTraffic();
    const lines: string[] = [];
    const end = await rollback(client, APP, { reason: 'fleet e2e: restore', taskQueue: QUEUE, json: true, wait: true, out: (line) => lines.push(line) });
    const report = await traffic.stop();
    expect(end, lines.join('\n')).toBe('succeeded');
    expect(report.failed).toBe(0);
    await expectConsistent(otherColor(before));
  });

  it("host 2's new color is unhealthy: nothing switched anywhere, both hosts' new containers removed", async () => {
    const before = await liveColor();
    const traffic = lbTraffic();
    const outcome = await awaitOutcome(await deploy('fleet-web:sick-on-2', { health: { interval: '200ms', successes: 3, deadline: '4s' } }));
    const report = await traffic.stop();
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.message).toContain('did not become healthy within 4000 ms');
    expect(outcome.status?.phases.map((p) => p.phase)).not.toContain('switch');
    expect(report.failed).toBe(0);
    await expectConsistent(before);
    for (const state of await fleetState(hosts, APP)) expect(state.containers.map((c) => c.name), state.host).toEqual([containerName(APP, 'web', before)]);
    // Each host kept its own new containers' logs, in its own GREENLIGHT_HOME, before removing them
    // (the hosts roll back side by side: in the order they finished).
    const runId = outcome.status!.deployId;
    expect(outcome.status!.keptLogs?.map((k) => [k.host, k.dir, k.files.map((f) => f.file)]).sort()).toEqual(
      hosts.map((h) => [h.name, join(realpathSync(h.home), 'logs', APP, runId), ['web.log']]),
    );
    for (const h of hosts) expect(readFileSync(join(h.home, 'logs', APP, runId, 'deploy.json'), 'utf8'), h.name).toContain(`"color": "${otherColor(before)}"`);
  });

  it("host 2's nginx -t fails at the switch: no host takes the new route, every host back on the old color", async () => {
    const before = await liveColor();
    const rogue = join(hosts[1]!.router.appsDir, 'zz-rogue.conf');
    const traffic = lbTraffic();
    try {
      const handle = await deploy(nextGood(), { health: { interval: '200ms', successes: 25, deadline: '30s' } });
      await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 20 }).toBe('health-check');
      // Another tenant's broken config appears on web-2 only, between validate and the switch.
      writeFileSync(rogue, `upstream gl_${APP}_web__${otherColor(before)} { server 127.0.0.1:1; }\n`);
      const outcome = await awaitOutcome(handle);
      const report = await traffic.stop();
      expect(outcome.exitCode).toBe(EXIT.rolledBack);
      expect(outcome.message).toContain(`nginx -t rejected the config for app "${APP}"`);
      expect(report.failed, JSON.stringify(report.failures)).toBe(0);
      await expectConsistent(before);
    } finally {
      rmSync(rogue, { force: true });
      await traffic.stop();
    }
  });

  it('verify fails on host 1 only: both hosts are rolled back', async () => {
    const before = await liveColor();
    const traffic = lbTraffic();
    const outcome = await awaitOutcome(await deploy('fleet-web:flaky-on-1'));
    const report = await traffic.stop();
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.message).toMatch(/error rate .* exceeds/);
    expect(outcome.status?.phases.map((p) => p.phase)).toContain('verify');
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    await expectConsistent(before);
  });

  it('a rollback during verify brings every host back to the old color', async () => {
    const before = await liveColor();
    const traffic = lbTraffic();
    const handle = await deploy(nextGood(), { verify: { window: '20s', interval: '100ms' } });
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 20 }).toBe('verify');
    await handle.executeUpdate(rollbackUpdate, { args: ['fleet e2e: operator rollback'] });
    const outcome = await awaitOutcome(handle);
    const report = await traffic.stop();
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.status?.rollbackReason).toBe('fleet e2e: operator rollback');
    expect(report.failed).toBe(0);
    await expectConsistent(before);
  });

  it("host 2's worker SIGKILLed during verify and restarted: the deploy finishes on every host", async () => {
    const before = await liveColor();
    await workers.get('web-2')!.kill('SIGTERM');
    const doomed = startWorker(hosts[1]!, { chaosKill: 'verify:during:1:1000' });
    const traffic = lbTraffic();
    const handle = await deploy(nextGood());
    expect(await doomed.exited).toBe('SIGKILL');
    startWorker(hosts[1]!);
    const outcome = await awaitOutcome(handle);
    const report = await traffic.stop();
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(report.failed).toBe(0);
    await expectConsistent(otherColor(before));
  });

  it("host 2's worker gone for good mid-deploy: a bounded failure naming the host, host 1 rolled back", async () => {
    const before = await liveColor();
    await workers.get('web-2')!.kill('SIGTERM');
    const doomed = startWorker(hosts[1]!, { chaosKill: 'healthCheck:during:1:300' });
    const started = Date.now();
    const handle = await deploy(nextGood(), { health: { interval: '200ms', successes: 10, deadline: '30s' } });
    expect(await doomed.exited).toBe('SIGKILL');
    const outcome = await awaitOutcome(handle);
    const tookMs = Date.now() - started;
    console.log(`fleet: host gone for good -> ${outcome.status?.outcome} after ${tookMs} ms: ${outcome.message}`);
    expect(outcome.exitCode).toBe(EXIT.compensationFailed);
    expect(outcome.message).toContain('web-2');
    expect(tookMs).toBeLessThan(90_000);
    const [web1, web2] = await fleetState(hosts, APP);
    expect(web1!.route).toEqual({ live: before, backup: null });
    expect(web1!.containers.map((c) => c.name)).toEqual([containerName(APP, 'web', before)]);
    // web-2 never switched: it still serves the old color; its half-deployed new color waits for its worker.
    expect(web2!.route).toEqual({ live: before, backup: null });
    await hosts[1]!.docker.getContainer(containerName(APP, 'web', otherColor(before))).remove({ force: true }).catch(() => undefined);
    startWorker(hosts[1]!);
  });

  it('a worker started for the wrong host refuses the work: nothing changes', async () => {
    const before = await liveColor();
    await workers.get('web-1')!.kill('SIGTERM');
    // On web-1's machine and queue, but it says it is web-2.
    const wrong = startWorker(hosts[0]!, { as: 'web-2', hostTaskQueue: 'greenlight-host-web-1' });
    try {
      const outcome = await awaitOutcome(await deploy(nextGood()));
      expect(outcome.exitCode).toBe(EXIT.invalid);
      expect(outcome.message).toContain('a step for host web-1 reached the worker of host web-2');
      expect(outcome.status?.failureType).toBe('WrongHost');
      await expectConsistent(before);
    } finally {
      await wrong.kill('SIGTERM');
      startWorker(hosts[0]!);
    }
  });

  it('a memory limit host 2 cannot fit fails validate, naming web-2, what it needs and what it has: nothing changes on any host', async () => {
    const before = await liveColor();
    const stateBefore = await fleetState(hosts, APP);
    // web-1's operator turned the check off, so only web-2 can refuse: the message must name it.
    await workers.get('web-1')!.kill('SIGTERM');
    const unchecked = startWorker(hosts[0]!, { env: { GREENLIGHT_CAPACITY_CHECK: 'off' } });
    try {
      const traffic = lbTraffic();
      // 1000 GiB: more than this machine (every simulated host's) has; the schema allows up to 1024g.
      const outcome = await awaitOutcome(await deploy(nextGood(), {}, { limits: { memory: '1000g' } }));
      const report = await traffic.stop();
      console.log(`fleet capacity: ${outcome.message}`);
      expect(outcome.end).toBe('validation-failed');
      expect(outcome.exitCode).toBe(EXIT.invalid);
      expect(outcome.message).toMatch(
        /web-2: services\.web\.limits\.memory: host web-2 has \d+(\.\d)? GiB of memory available, the (blue|green) color needs 1000\.3 GiB \(web 1000 GiB, plus 256 MiB kept for the host; the live color keeps running until cleanup\): lower services\.web\.limits\.memory, or free memory on web-2/,
      );
      expect(outcome.message).not.toContain('web-1:');
      expect(report.failed, JSON.stringify(report.failures)).toBe(0);
      expect(await fleetState(hosts, APP)).toEqual(stateBefore);
      await expectConsistent(before);
    } finally {
      await unchecked.kill('SIGTERM');
      startWorker(hosts[0]!);
    }
  });

  it('plan reads every host through its worker: the spec diff per host (exit 8), a stray container on web-2 is drift naming web-2 (exit 9), web-2\'s worker gone is exit 4 naming it; nothing changes', async () => {
    const planned = async (image: string) => {
      const lines: string[] = [];
      // A fleet is read through its workers only: the one-host reader must not be used.
      const end = await planDeploy(client, fleetSpec(image), { json: true, out: (l) => lines.push(l), readHost: async () => { throw new Error('a fleet spec read on this machine'); } });
      return { end, plan: JSON.parse(lines[0]!) as Plan };
    };
    // On both hosts, never live (its deploy fails verify): a plan with it always has changes, and deploys no tag.
    const PLANNED = 'fleet-web:flaky-on-1';
    const stateBefore = await fleetState(hosts, APP);
    const live = await liveColor();
    const times: number[] = [];
    let changed!: Awaited<ReturnType<typeof planned>>;
    for (let i = 0; i < 3; i++) {
      const startedAt = Date.now();
      changed = await planned(PLANNED);
      times.push(Date.now() - startedAt);
    }
    console.log(`fleet plan of two hosts through their workers, 3 in a row: ${times.join(', ')} ms`);
    expect(changed.end).toBe('changes');
    expect(changed.plan.hosts.map((h) => [h.host, h.read, h.liveColor, h.targetColor, h.drift])).toEqual([['web-1', true, live, otherColor(live), []], ['web-2', true, live, otherColor(live), []]]);
    // Only the image changes: the router config (routed to the containers' addresses) stays as it is on both.
    expect(changed.plan.hosts.map((h) => [h.route, h.services.map((svc) => svc.change)])).toEqual([[[], ['changed']], [[], ['changed']]]);

    const liveImage = stateBefore[1]!.containers.find((c) => c.name === containerName(APP, 'web', live))!.image;
    const stray = `${APP}_stray_blue`;
    await hosts[1]!.docker.createContainer({ name: stray, Image: liveImage, Labels: { [LABELS.managed]: 'true', [LABELS.app]: APP, [LABELS.role]: 'app', [LABELS.color]: 'blue', [LABELS.service]: 'stray' } });
    try {
      const drifted = await planned(PLANNED);
      expect(drifted.end).toBe('drift');
      expect(drifted.plan.hosts.map((h) => h.drift)).toEqual([[], [`container ${stray} (stopped, ${liveImage}) is labelled for ${APP} but no color accounts for it`]]);
    } finally {
      await hosts[1]!.docker.getContainer(stray).remove({ force: true });
    }

    await workers.get('web-2')!.kill('SIGTERM');
    try {
      const started = Date.now();
      const unread = await planned(PLANNED);
      console.log(`fleet plan, web-2's worker gone: ${unread.end} after ${Date.now() - started} ms: ${unread.plan.hosts[1]!.unread}`);
      expect(unread.end).toBe('infrastructure-unavailable');
      expect(unread.plan.hosts.map((h) => [h.host, h.read])).toEqual([['web-1', true], ['web-2', false]]);
      expect(unread.plan.hosts[1]!.unread).toMatch(/web-2: no worker picked up its step within 5000 ms \(fleet\.hostTimeout\)/);
    } finally {
      // Polling again (the host queue and the workflow queue) before the next test needs it within fleet.hostTimeout.
      await startWorker(hosts[1]!).printed("state: 'RUNNING'", 2);
    }
    expect(await fleetState(hosts, APP)).toEqual(stateBefore);
  });

  it('maintenance on every host: 503 with Retry-After through the load balancer and on each router, a deploy succeeds behind it on both hosts, off serves again', async () => {
    const lines: string[] = [];
    const change = (on: boolean) => maintenance(client, APP, { change: on ? { on: true, message: 'Back soon', retryAfter: 90, page: null } : { on: false }, spec: null, fallbackTaskQueue: QUEUE, json: false, out: (l) => lines.push(l) });
    const answers = async (url: string) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    };
    const everywhere = () => Promise.all([answers(`${FLEET_LB_URL}/api/items`), ...hosts.map((h) => answers(`http://127.0.0.1:${h.routerPort}/api/items`))]);
    try {
      expect(await change(true)).toBe('done');
      expect(lines.at(-1)).toMatch(/^fleet: maintenance on since \S+ \(503, Retry-After 90 s\), message: Back soon on web-1, web-2$/);
      // The load balancer (twice: both routers) and each router answer 503 with Retry-After; their health check still passes.
      expect([...(await everywhere()), await answers(`${FLEET_LB_URL}/api/items`)]).toEqual(Array(4).fill({ status: 503, retryAfter: '90' }));
      for (const host of hosts) expect(await host.router.readMaintenance(APP), host.name).toMatchObject({ on: true, message: 'Back soon', retryAfter: 90 });
      // A deploy runs behind it on every host (its verify probes pass the router), and the public answer stays 503.
      const before = await liveColor();
      const outcome = await awaitOutcome(await deploy(nextGood()));
      expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
      await expectConsistent(otherColor(before));
      expect(await everywhere()).toEqual(Array(3).fill({ status: 503, retryAfter: '90' }));
    } finally {
      expect(await change(false)).toBe('done');
    }
    expect(lines.at(-1)).toBe('fleet: maintenance off on web-1, web-2');
    expect(await everywhere()).toEqual(Array(3).fill({ status: 200, retryAfter: null }));
    for (const host of hosts) expect((await host.router.readMaintenance(APP)).on, host.name).toBe(false);
  });

  it("maintenance with web-2's worker gone: refused within the host timeout, naming web-2, and no host is in maintenance", async () => {
    const lines: string[] = [];
    await workers.get('web-2')!.kill('SIGTERM');
    try {
      const started = Date.now();
      const end = await maintenance(client, APP, { change: { on: true, message: 'Back soon', retryAfter: 90, page: null }, spec: null, fallbackTaskQueue: QUEUE, json: false, out: (l) => lines.push(l) });
      const tookMs = Date.now() - started;
      console.log(`fleet maintenance, web-2's worker gone: ${end} after ${tookMs} ms: ${lines.at(-1)}`);
      expect(end).toBe('infrastructure-unavailable');
      expect(lines.at(-1)).toMatch(/^maintenance of fleet not changed: .*web-2/);
      expect(tookMs).toBeLessThan(60_000);
      for (const host of hosts) expect((await host.router.readMaintenance(APP)).on, host.name).toBe(false);
      expect((await fetch(`${FLEET_LB_URL}/api/items`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    } finally {
      // Polling again (the host queue and the workflow queue) before the next test needs it within fleet.hostTimeout.
      await startWorker(hosts[1]!).printed("state: 'RUNNING'", 2);
    }
  });

  it('monitor and bake across the fleet: the new color breaks on web-2 alone, and the monitor puts every host back on the previous color by itself', async () => {
    const before = await liveColor();
    const live = otherColor(before);
    const outcome = await awaitOutcome(await deploy(nextGood(), { monitor: { interval: '1s', alertAfter: 3, bake: '5m' } }));
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    const monitor = client.workflow.getHandle(monitorWorkflowId(APP));
    const view = () => monitor.query<MonitorView>(MESSAGES.monitor);
    try {
      // The bake keeps the previous color running on every host, beside the live one.
      for (const state of await fleetState(hosts, APP)) {
        expect(state.route, state.host).toEqual({ live, backup: null });
        expect(state.containers.find((c) => c.name === containerName(APP, 'web', before))?.state, state.host).toBe('running');
      }
      await waitFor('two rounds of the fleet monitor', async () => {
        const v = await view();
        expect(v.rounds).toBeGreaterThanOrEqual(2);
        expect(v).toMatchObject({ health: 'baking', color: live, bake: { previousColor: before, state: 'baking' } });
      }, { timeout: 20_000, interval: 200 });

      const brokeAt = Date.now();
      await hosts[1]!.docker.getContainer(containerName(APP, 'web', live)).pause();
      const rolled = await waitFor('the bake rollback', async () => {
        const v = await view();
        expect(v.rollback).not.toBeNull();
        return v;
      }, { timeout: 60_000, interval: 100 });
      console.log(`fleet monitor (1 s interval, alert after 3): web-2's ${live} broke -> alert ${Date.parse(rolled.alertedAt!) - brokeAt} ms, -> both hosts back on ${before} ${Date.parse(rolled.rollback!.at) - brokeAt} ms`);
      // Sanity bounds, not the speed target (npm run bench -- monitor measures one host): 3 rounds of 1 s, then the switch.
      expect(Date.parse(rolled.alertedAt!) - brokeAt).toBeLessThan(10_000);
      expect(rolled).toMatchObject({ color: before, alerts: 1, bake: { state: 'rolled-back' }, rollback: { from: live, to: before } });
      // Only web-2 failed its rounds; both hosts went back, together.
      expect(rolled.rollback!.reason).toMatch(/^3 failed rounds in a row during the bake: .*web-2: /);
      for (const state of await fleetState(hosts, APP)) expect(state.route, state.host).toEqual({ live: before, backup: null });
      await waitFor('the load balancer to answer through both routers on the previous color', async () => {
        for (let i = 0; i < 4; i++) expect((await fetch(`${FLEET_LB_URL}/api/items`, { signal: AbortSignal.timeout(2_000) })).status).toBe(200);
      }, { timeout: 20_000, interval: 200 });
      // The broken color is stopped on every host (kept for its logs), the paused one included.
      await waitFor('the broken color stopped on both hosts', async () => {
        for (const state of await fleetState(hosts, APP)) expect(state.containers.find((c) => c.name === containerName(APP, 'web', live))?.state ?? 'absent', state.host).not.toMatch(/running|paused/);
      }, { timeout: 30_000, interval: 200 });
      await expectConsistent(before);
    } finally {
      await hosts[1]!.docker.getContainer(containerName(APP, 'web', live)).unpause().catch(() => undefined);
      await monitor.terminate('test over').catch(() => undefined);
    }
  });
});
