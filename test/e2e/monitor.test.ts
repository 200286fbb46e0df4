/**
 * The app monitor (`monitor:`) on the real parts (Temporal dev server, Docker, the stack's nginx, a real
 * worker process, a local webhook receiver): after a deploy with a bake the previous color keeps
 * running; when the live color breaks (its container paused) the monitor raises an alert and rolls
 * traffic back to the previous color by itself, within the targets; GreenlightHealth lists the app;
 * without a bake an alert and a recovery reach the webhook; a worker SIGKILL loses no monitor; the next
 * deploy ends it. Ports 5900-5909 (this file's), apps mn-*.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { dataConverterFromEnv } from '../../src/codec';
import type { DeploySpec } from '../../src/config/schema';
import type { MonitorView } from '../../src/monitor';
import { containerName, deployWorkflowId, MESSAGES, monitorWorkflowId } from '../../src/names';
import { cli } from '../../harness/cli';
import { recordHistory } from '../../harness/histories';
import { appContainers, get, resetApp } from '../../harness/host';
import { TEMPORAL_ADDRESS } from '../../harness/paths';
import { spawnWorker, type WorkerProcess } from '../../harness/processes';
import { exampleImages, webSpec } from '../../harness/specs';
import { testRouter } from '../../harness/worker';

const QUEUE = 'e2e-monitor';
const APP = 'mn-shop';
const PORT = 5900;
const URL = `http://127.0.0.1:${PORT}/api/items`;
const V1 = exampleImages('v1').backend;
const V2 = exampleImages('v2').backend;
const docker = new Docker();
const router = testRouter();
let client: Client;
let worker: WorkerProcess;
let receiver: Server;
const received: Array<{ event: string; text: string; reason: string | null }> = [];

function spec(image: string, monitor?: Record<string, unknown>): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] },
    {
      router: { port: PORT },
      health: { interval: '200ms', timeout: '500ms', successes: 2, deadline: '30s' },
      verify: { window: '1s', interval: '200ms', minRequests: 1 },
      cleanup: { previous: 'stop', drain: '200ms' },
      notify: { webhooks: [{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }], timeout: '10s' },
      ...(monitor ? { monitor } : {}),
    },
  );
}

const monitorHandle = () => client.workflow.getHandle(monitorWorkflowId(APP));
const view = () => monitorHandle().query<MonitorView>(MESSAGES.monitor);

async function until<T>(what: string, read: () => Promise<T | null | undefined | false>, ms = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The color and version the public route answers with (the example app says both). */
async function answering(): Promise<{ color: string; version: string } | null> {
  const res = await get(URL);
  if (res.status !== 200) return null;
  const body = JSON.parse(res.body) as { color?: string; version?: string };
  return { color: body.color ?? '?', version: body.version ?? '?' };
}

async function deployed(s: DeploySpec): Promise<string> {
  const handle = await startDeploy(client, s, QUEUE);
  const outcome = await awaitOutcome(handle);
  expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
  return handle.firstExecutionRunId;
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { event: string; text: string; reason: string | null };
      received.push({ event: parsed.event, text: parsed.text, reason: parsed.reason });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }), dataConverter: dataConverterFromEnv() });
  await monitorHandle().terminate('a new test run').catch(() => undefined);
  await router.ensureRunning();
  await resetApp(docker, router, APP);
  worker = spawnWorker(QUEUE, undefined, 'monitor-first');
}, 120_000);

afterAll(async () => {
  await monitorHandle().terminate('test over').catch(() => undefined);
  await client?.workflow.getHandle(deployWorkflowId(APP)).terminate('test over').catch(() => undefined);
  for (const color of ['blue', 'green'] as const) await docker.getContainer(containerName(APP, 'web', color)).unpause().catch(() => undefined);
  await worker?.kill('SIGTERM');
  await resetApp(docker, router, APP).catch(() => undefined);
  await client?.connection.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('the app monitor on the real stack', () => {
  it('bake: blue kept running; green breaks, the monitor alerts and puts traffic back on blue by itself; GreenlightHealth and status say so', async () => {
    await deployed(spec(V1));
    const bakeRun = await deployed(spec(V2, { interval: '1s', alertAfter: 3, bake: '5m' }));
    // GREENLIGHT_RECORD_HISTORIES=1 keeps it as test/histories/monitor-bake.json for the replay test.
    await recordHistory(APP, bakeRun, 'monitor-bake');
    // The bake keeps v1 running (not routed) beside the live v2.
    expect((await appContainers(docker, APP)).map((c) => `${c.name} ${c.state} ${c.image}`)).toEqual([`${APP}_web_blue running ${V1}`, `${APP}_web_green running ${V2}`]);
    const baking = await until('the first round', async () => {
      const v = await view();
      return v.rounds >= 2 && v;
    });
    expect(baking).toMatchObject({ health: 'baking', color: 'green', alerting: false, bake: { previousColor: 'blue', state: 'baking' } });
    // The search attribute lists the app as baking (visibility is eventually consistent).
    await until('GreenlightHealth = baking', async () => {
      for await (const found of client.workflow.list({ query: `WorkflowId = '${monitorWorkflowId(APP)}' AND GreenlightHealth = 'baking'` })) return found;
      return null;
    });

    const brokeAt = Date.now();
    await docker.getContainer(containerName(APP, 'web', 'green')).pause();
    const back = await until('traffic back on blue', async () => ((await answering())?.color === 'blue' ? Date.now() : null), 60_000, 50);
    const rolled = await until('the rollback in the monitor', async () => {
      const v = await view();
      return v.rollback && v;
    });
    const alertMs = Date.parse(rolled.alertedAt!) - brokeAt;
    const switchedMs = Date.parse(rolled.rollback!.at) - brokeAt;
    console.log(`monitor (1 s interval, alert after 3): live color broke -> alert ${alertMs} ms, -> traffic switched back to the previous color ${switchedMs} ms (a client saw blue after ${back - brokeAt} ms)`);
    // Sanity bounds, not the speed target (npm run bench measures that): the alert after 3 rounds, the switch soon after.
    expect(alertMs).toBeLessThan(10_000);
    expect(switchedMs).toBeGreaterThanOrEqual(alertMs);
    expect(back - brokeAt).toBeLessThan(20_000);
    expect(rolled).toMatchObject({ color: 'blue', health: 'healthy', alerts: 1, bake: { state: 'rolled-back' }, rollback: { from: 'green', to: 'blue' }, images: { web: V1 } });
    expect(rolled.rollback!.reason).toContain('3 failed rounds in a row during the bake');
    expect(await router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
    expect((await answering())!.version).toBe('v1');
    // The broken color is stopped, not removed (its logs stay on the host).
    await until('green stopped', async () => (await appContainers(docker, APP, 'green'))[0]?.state === 'exited');

    const status = await cli(['status', APP], { GREENLIGHT_TASK_QUEUE: QUEUE, CI: 'true' });
    expect(status.code, status.stderr).toBe(EXIT.ok);
    expect(status.stdout).toContain(`${APP}: blue live (web=${V1})`);
    expect(status.stdout).toMatch(/bake rollback at .*: green -> blue: 3 failed rounds in a row during the bake/);
    // "Why did it roll back?": explain reads the deploy's result and its monitor's recorded state.
    const why = await cli(['explain', APP], { GREENLIGHT_TASK_QUEUE: QUEUE, CI: 'true' });
    expect(why.code, why.stderr).toBe(EXIT.ok);
    const lines = why.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${APP} (run ${bakeRun}): succeeded, then rolled back by its monitor during the bake at ${rolled.rollback!.at}: green -> blue`);
    expect(lines[1]).toBe(`  decision: ${rolled.rollback!.reason}`);
    expect(lines[2]).toBe('  rule: monitor.alertAfter');
    expect(lines.filter((l) => l.startsWith('  failing: web '))).not.toEqual([]);
    const whyJson = await cli(['explain', APP, '--json'], { GREENLIGHT_TASK_QUEUE: QUEUE, CI: 'true' });
    expect(JSON.parse(whyJson.stdout)).toMatchObject({ runId: bakeRun, verdict: 'bake-rollback', phase: 'bake', rule: 'monitor.alertAfter', bakeRollback: { from: 'green', to: 'blue' } });
    // The Temporal UI's current details of monitor-<app> say the same (the SDK's metadata query the UI reads).
    const metadata = await monitorHandle().query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain(`bake rollback at ${rolled.rollback!.at}: green -> blue: ${rolled.rollback!.reason}`);
    // The releases say the bake's release was rolled back, and which one serves; a plain or fast rollback
    // has nothing to do (the previous version is live already) and changes nothing.
    const env = { GREENLIGHT_TASK_QUEUE: QUEUE, CI: 'true' };
    const listed = await cli(['releases', APP], env);
    expect(listed.code, listed.stderr).toBe(EXIT.ok);
    const heads = listed.stdout.split('\n').filter((l) => /^[ *x] r\d+/.test(l));
    expect([heads[0]?.slice(0, 2), heads[0]?.includes(`web=${V2}`)]).toEqual(['x ', true]);
    expect([heads[1]?.slice(0, 2), heads[1]?.includes(`web=${V1}`)]).toEqual(['* ', true]);
    expect(listed.stdout).toContain(`rolled back by its monitor during the bake at ${rolled.rollback!.at} (green -> blue)`);
    const listedJson = JSON.parse((await cli(['releases', APP, '--json'], env)).stdout) as Array<{ deployRunId: string; rolledBackByMonitor?: { from: string; to: string } }>;
    expect(listedJson.at(-1)).toMatchObject({ deployRunId: bakeRun, rolledBackByMonitor: { from: 'green', to: 'blue' } });
    const containersBefore = await appContainers(docker, APP);
    const plain = await cli(['rollback', APP], env);
    expect(plain.code).toBe(EXIT.refused);
    expect(plain.stdout).toContain(`nothing to roll back for ${APP}: its monitor already rolled the last deploy back during the bake at ${rolled.rollback!.at} (green -> blue)`);
    const fast = await cli(['rollback', APP, '--fast'], env);
    expect(fast.code).toBe(EXIT.refused);
    expect(fast.stdout).toContain(`its monitor already rolled the last deploy back during the bake at ${rolled.rollback!.at} (green -> blue)`);
    expect(await appContainers(docker, APP)).toEqual(containersBefore);
    expect(await router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
    await until('the alert and the rollback at the webhook', async () => received.some((r) => r.event === 'rolled-back') && received.some((r) => r.event === 'monitor-alert'));
    expect(received.find((r) => r.event === 'monitor-alert')!.text).toContain(`monitor alert: web=${V2} is unhealthy`);
    expect(received.find((r) => r.event === 'rolled-back')!.reason).toContain('during the bake');
    await docker.getContainer(containerName(APP, 'web', 'green')).unpause().catch(() => undefined);
  });

  it('no bake: an alert and a recovery at the webhook, nothing switched; a worker SIGKILL loses no monitor; the next deploy ends it', async () => {
    // The app is on blue (v1) after the bake rollback: deploy v2 onto green with a monitor without bake.
    await deployed(spec(V2, { interval: '1s', alertAfter: 2 }));
    const first = await until('rounds', async () => {
      const v = await view();
      return v.rounds >= 1 && v;
    });
    expect(first).toMatchObject({ health: 'healthy', color: 'green', bake: null });
    // The worker is killed between rounds and another takes over: the monitor goes on from its history.
    await worker.kill('SIGKILL');
    worker = spawnWorker(QUEUE, undefined, 'monitor-replacement');
    const later = await until('rounds on the new worker', async () => {
      const v = await view();
      return v.rounds >= first.rounds + 2 && v;
    }, 90_000);
    expect(later.consecutiveFailures).toBe(0);

    received.length = 0;
    await docker.getContainer(containerName(APP, 'web', 'green')).pause();
    await until('the alert', async () => (await view()).alerting);
    await docker.getContainer(containerName(APP, 'web', 'green')).unpause();
    const recovered = await until('the recovery', async () => {
      const v = await view();
      return !v.alerting && v;
    });
    expect(recovered).toMatchObject({ health: 'healthy', alerts: 1, rollback: null, color: 'green' });
    expect(await router.readRoute(APP)).toEqual({ live: 'green', backup: null });
    await until('both at the webhook', async () => received.some((r) => r.event === 'monitor-recovered'));
    expect(received.map((r) => r.event)).toEqual(['monitor-alert', 'monitor-recovered']);

    // The next deploy ends the monitor before it changes anything, and starts none (no monitor in its spec).
    await deployed(spec(V1));
    expect((await monitorHandle().describe()).status.name).toBe('COMPLETED');
  });
});
