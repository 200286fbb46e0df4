/**
 * Crashes and faults mid-deploy, on the real parts: the worker SIGKILLed at every phase (a new worker
 * process finishes the deploy or its rollback), the Temporal server restarted during verify, and
 * Docker/nginx/health faults. Continuous load through nginx counts failed requests throughout, and
 * every scenario ends with a consistency check of the host. Prints and saves a fault matrix.
 */
import { createServer, type Server } from 'node:net';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { promoteUpdate, statusQuery } from '../../workflows/messages';
import type { deployWorkflow } from '../../workflows/deploy';
import { awaitOutcome, startDeploy, type DeployOutcome } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { containerName, otherColor, type Color } from '../../src/names';
import type { DeploySpecInput } from '../../src/config/schema';
import type { DeployStatus } from '../../src/types';
import { startLoad } from '../../harness/loadgen';
import { appContainers, get, resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import { REPO } from '../../harness/paths';
import { movedAgainAt, restartTemporal, spawnWorker, type WorkerProcess } from '../../harness/processes';
import { startTestWorker, testRouter, type TestWorker } from '../../harness/worker';
import { waitFor } from '../helpers/wait';

const APP = 'chaos-shop';
const BASE = 4200;
const ROUTER = `http://127.0.0.1:${BASE}`;
const base: DeploySpecInput = twoServiceSpec(APP, BASE, {
  verify: { window: '3s', interval: '100ms' },
  cleanup: { previous: 'stop', drain: '300ms' },
});
const router = testRouter();
const docker = new Docker();

interface MatrixRow {
  scenario: string;
  outcome: string;
  failedRequests: number | null;
  requests: number | null;
  /** From the replacement worker's start to the deploy's next completed task. */
  recoveryMs: number | null;
  /** From the kill to the deploy's next completed task (includes the heartbeat timeout). */
  killToMovingMs: number | null;
}
const matrix: MatrixRow[] = [];

let client: Client;
let harness: TestWorker | undefined;
let version = 0;

/** Alternates v1/v2 so every successful deploy changes the images. */
function nextImages(): Record<string, string> {
  version += 1;
  const v = version % 2 === 0 ? 'v2' : 'v1';
  return { backend: `greenlight-example-backend:${v}`, frontend: `greenlight-example-frontend:${v}` };
}

function startTraffic() {
  return startLoad({ urls: [`${ROUTER}/api/version`, `${ROUTER}/`], ratePerSecond: 100, keepAlive: true, maxDurationMs: 240_000 });
}

/** The host after a deploy: exactly one color routed (no backup), healthy through nginx, no stray containers. */
async function expectConsistent(live: Color, other: 'stopped' | 'absent'): Promise<void> {
  expect(await router.readRoute(APP)).toEqual({ live, backup: null });
  const api = await get(`${ROUTER}/api/version`);
  expect(api.status).toBe(200);
  expect(JSON.parse(api.body).color).toBe(live);
  for (const service of ['backend', 'frontend']) expect((await get(`${ROUTER}/health/${live}/${service}`)).status).toBe(200);
  const dead = otherColor(live);
  const containers = (await appContainers(docker, APP)).map((c) => `${c.name}:${c.state}`);
  const expected = [`${containerName(APP, 'backend', live)}:running`, `${containerName(APP, 'frontend', live)}:running`];
  if (other === 'stopped') expected.push(`${containerName(APP, 'backend', dead)}:exited`, `${containerName(APP, 'frontend', dead)}:exited`);
  expect(containers.sort()).toEqual(expected.sort());
}

async function liveColor(): Promise<Color> {
  const route = await router.readRoute(APP);
  if (!route) throw new Error('app not routed');
  return route.live;
}

interface CrashCase {
  phase: string;
  /** GREENLIGHT_CHAOS_KILL for the first worker; omitted: the test kills it when `killInPhase` is reached. */
  kill?: string;
  killInPhase?: string;
  overrides?: Partial<DeploySpecInput>;
  images?: Record<string, string>;
  expectRolledBack?: boolean;
  afterRestart?: (handle: WorkflowHandle<typeof deployWorkflow>) => Promise<void>;
  /** More to check in the outcome's status. */
  expectStatus?: (status: DeployStatus) => void;
}

const SLOW_VALIDATION = { commands: [{ name: 'slow-check', service: 'backend', run: ['node', '-e', 'setTimeout(() => {}, 3000)'] }] };

const crashCases: CrashCase[] = [
  { phase: 'validate', kill: 'runValidationCommands:during:1:1000', overrides: { validate: SLOW_VALIDATION } },
  { phase: 'deploy-green', kill: 'deployColor:after' },
  { phase: 'health-check', kill: 'healthCheck:during:1:600', overrides: { health: { interval: '200ms', successes: 10, deadline: '30s' } } },
  {
    phase: 'promotion gate',
    killInPhase: 'promotion-gate',
    overrides: { promotion: { manual: true, timeout: '5m' } },
    afterRestart: async (handle) => {
      await expect.poll(() => handle.executeUpdate(promoteUpdate, { args: [] }), { timeout: 60_000, interval: 200, message: 'promote to be accepted by the new worker' }).toBeDefined();
    },
  },
  // A canary step's route is in nginx; the new worker's attempt resumes the step's clock and counters.
  {
    phase: 'canary step',
    kill: 'canaryStep:during:1:1500',
    overrides: { strategy: { canary: { steps: [{ weight: 30, pause: '5s' }] } } },
    expectStatus: (status) => {
      // One step, as long as its pause (not restarted by the retry), with the new color's share of requests.
      expect(status.canary?.passed).toHaveLength(1);
      const step = status.canary!.passed[0]!;
      expect(step.durationMs).toBeGreaterThanOrEqual(5_000);
      expect(step.durationMs).toBeLessThan(15_000);
      expect(step.realTraffic.requests).toBeGreaterThan(0);
    },
  },
  { phase: 'switch (after nginx switched, before Temporal heard)', kill: 'switchTraffic:after' },
  { phase: 'verify', kill: 'verify:during:1:1000' },
  { phase: 'cleanup', kill: 'retireColor:before' },
  { phase: 'compensation (after switching back)', kill: 'switchBack:after', images: { backend: 'greenlight-example-backend:flaky' }, expectRolledBack: true },
];

beforeAll(async () => {
  for (const stale of [APP]) await resetApp(docker, router, stale);
  // The harness worker serves only the faults below; crash scenarios use worker processes of their own.
  harness = await startTestWorker('e2e-faults-harness');
  client = harness.client;
  const first = spawnWorker('e2e-chaos', undefined, 'chaos-first');
  const outcome = await awaitOutcome(await startDeploy(client, withImages(base, nextImages()), 'e2e-chaos'));
  await first.kill('SIGTERM');
  expect(outcome.exitCode).toBe(EXIT.ok);
});

afterAll(async () => {
  await harness?.stop();
  const lines = [
    '| scenario | outcome | failed requests | recovery (new worker start -> moving) | kill -> moving |',
    '|---|---|---|---|---|',
    ...matrix.map((r) => `| ${r.scenario} | ${r.outcome} | ${r.failedRequests === null ? '—' : `${r.failedRequests} of ${r.requests}`} | ${r.recoveryMs === null ? '—' : `${(r.recoveryMs / 1000).toFixed(1)} s`} | ${r.killToMovingMs === null ? '—' : `${(r.killToMovingMs / 1000).toFixed(1)} s`} |`),
  ];
  mkdirSync(join(REPO, 'test-results'), { recursive: true });
  writeFileSync(join(REPO, 'test-results', 'fault-matrix.json'), JSON.stringify(matrix, null, 2));
  writeFileSync(join(REPO, 'test-results', 'fault-matrix.md'), `${lines.join('\n')}\n`);
  console.log(`\nFault matrix\n${lines.join('\n')}\n`);
});

describe('worker SIGKILL at each phase: a new worker finishes the deploy or its rollback', () => {
  it.each(crashCases)('SIGKILL during $phase', async (c) => {
    const before = await liveColor();
    const traffic = startTraffic();
    const w1: WorkerProcess = spawnWorker('e2e-chaos', c.kill, `chaos-${c.phase.split(' ')[0]}`);
    const handle = await startDeploy(client, withImages({ ...base, ...c.overrides }, c.images ?? nextImages()), 'e2e-chaos');
    if (c.killInPhase) {
      await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 50, message: `phase ${c.killInPhase}` }).toBe(c.killInPhase);
      await w1.kill('SIGKILL');
    }
    const signal = await Promise.race([w1.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 90_000))]);
    expect(signal).toBe('SIGKILL');
    const killedAt = Date.now();

    const w2 = spawnWorker('e2e-chaos', undefined, `chaos-${c.phase.split(' ')[0]}-replacement`);
    try {
      const movingSoon = waitFor(
        'the deploy to move again',
        async () => {
          const at = await movedAgainAt(handle, w2.startedAt);
          if (at === undefined) throw new Error('no task completed and no activity started since the new worker started');
          return at;
        },
        { timeout: 120_000, interval: 50 },
      );
      await c.afterRestart?.(handle); // at the gate nothing moves until promote
      const moving = await movingSoon;
      const outcome: DeployOutcome = await awaitOutcome(handle);
      const report = await traffic.stop();
      matrix.push({
        scenario: `worker SIGKILL during ${c.phase}`,
        outcome: outcome.status?.outcome ?? String(outcome.exitCode),
        failedRequests: report.failed,
        requests: report.sent,
        recoveryMs: moving - w2.startedAt,
        killToMovingMs: moving - killedAt,
      });

      if (c.expectRolledBack) {
        expect(outcome.exitCode).toBe(EXIT.rolledBack);
        await expectConsistent(before, 'absent');
      } else {
        expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
        await expectConsistent(otherColor(before), 'stopped');
      }
      if (c.expectStatus) c.expectStatus(outcome.status!);
      expect(report.failures).toEqual({});
      expect(report.failed).toBe(0);
    } finally {
      await traffic.stop();
      await w2.kill('SIGTERM');
    }
  });

  it('the Temporal server restarted (same database) in the middle of verify: the deploy completes', async () => {
    const before = await liveColor();
    const traffic = startTraffic();
    const worker = spawnWorker('e2e-chaos', undefined, 'chaos-temporal-restart');
    try {
      const handle = await startDeploy(client, withImages({ ...base, verify: { window: '12s', interval: '200ms' } }, nextImages()), 'e2e-chaos');
      await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 50, message: 'verify' }).toBe('verify');
      const { downForMs } = await restartTemporal();
      const restartedAt = Date.now();
      const outcome = await waitFor('the deploy outcome after the restart', () => awaitOutcome(handle), { timeout: 120_000, interval: 500 });
      const report = await traffic.stop();
      matrix.push({ scenario: 'Temporal server restart during verify', outcome: outcome.status?.outcome ?? '?', failedRequests: report.failed, requests: report.sent, recoveryMs: null, killToMovingMs: null });
      console.log(`Temporal was down ${downForMs} ms; deploy finished ${Date.now() - restartedAt} ms after the restart`);
      expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
      expect(report.failed).toBe(0);
      await expectConsistent(otherColor(before), 'stopped');
    } finally {
      await traffic.stop();
      await worker.kill('SIGTERM');
    }
  });
});

describe('activity faults', () => {
  const FAULT_QUEUE = 'e2e-faults';
  let createCalls = 0;
  let failNextCreate = 0;
  let faults: TestWorker;

  beforeAll(async () => {
    // Docker with an injected API failure: the first createContainer call(s) answer 500.
    const flaky = new Proxy(new Docker(), {
      get(target, prop, receiver) {
        if (prop === 'createContainer') {
          return async (options: Docker.ContainerCreateOptions) => {
            createCalls += 1;
            if (failNextCreate > 0) {
              failNextCreate -= 1;
              throw Object.assign(new Error('(HTTP code 500) server error - injected fault'), { statusCode: 500 });
            }
            return target.createContainer(options);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    faults = await startTestWorker(FAULT_QUEUE, { docker: flaky });
  });

  afterAll(async () => {
    await faults?.stop();
  });

  async function deployWithFaults(images: Record<string, string>, overrides: Partial<DeploySpecInput> = {}) {
    return startDeploy(client, withImages({ ...base, ...overrides }, images), FAULT_QUEUE);
  }

  it('a Docker API error on create is retried, then the deploy succeeds', async () => {
    const before = await liveColor();
    const traffic = startTraffic();
    createCalls = 0;
    failNextCreate = 1;
    const outcome = await awaitOutcome(await deployWithFaults(nextImages()));
    const report = await traffic.stop();
    matrix.push({ scenario: 'Docker API 500 on container create', outcome: outcome.status?.outcome ?? '?', failedRequests: report.failed, requests: report.sent, recoveryMs: null, killToMovingMs: null });
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(createCalls).toBe(3); // 1 failed + 2 services
    expect(report.failed).toBe(0);
    await expectConsistent(otherColor(before), 'stopped');
  });

  it('the host port of the new color is already taken: a clear non-retryable error, live color untouched', async () => {
    const before = await liveColor();
    const target = otherColor(before);
    const port = BASE + (target === 'blue' ? 10 : 12);
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    const containersBefore = await appContainers(docker, APP);
    try {
      const outcome = await awaitOutcome(await deployWithFaults(nextImages()));
      matrix.push({ scenario: 'host port already taken', outcome: outcome.status?.outcome ?? '?', failedRequests: null, requests: null, recoveryMs: null, killToMovingMs: null });
      expect(outcome.exitCode).toBe(EXIT.invalid);
      expect(outcome.message).toContain(`services.backend.hostPorts.${target}: host port ${port} is already in use by another process: free it or choose another port`);
      expect(await appContainers(docker, APP)).toEqual(containersBefore);
      expect(await router.readRoute(APP)).toEqual({ live: before, backup: null });
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it('nginx -t rejects the config at the switch: switch refused, compensation, live color untouched', async () => {
    const before = await liveColor();
    const target = otherColor(before);
    const rogue = join(router.appsDir, 'zz-rogue.conf');
    const traffic = startTraffic();
    try {
      // A 5 s health gate: the window in which the rogue file must appear before the switch.
      const handle = await deployWithFaults(nextImages(), { health: { interval: '200ms', successes: 25, deadline: '30s' } });
      await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 20, message: 'health-check' }).toBe('health-check');
      // Another tenant's broken config appears between validate and switch: a duplicate upstream.
      writeFileSync(rogue, `upstream gl_${APP}_backend__${target} { server 127.0.0.1:1; }\n`);
      const outcome = await awaitOutcome(handle);
      const report = await traffic.stop();
      matrix.push({ scenario: 'nginx -t rejects the config at switch', outcome: outcome.status?.outcome ?? '?', failedRequests: report.failed, requests: report.sent, recoveryMs: null, killToMovingMs: null });
      expect(outcome.exitCode).toBe(EXIT.rolledBack);
      expect(outcome.message).toContain(`nginx -t rejected the config for app "${APP}"`);
      expect(outcome.message).toContain('duplicate upstream');
      expect(report.failed).toBe(0);
      await expectConsistent(before, 'absent');
    } finally {
      rmSync(rogue, { force: true });
      await traffic.stop();
    }
  });

  it('a health endpoint that hangs: probes time out, the deploy rolls back, never stuck', async () => {
    const before = await liveColor();
    const traffic = startTraffic();
    const started = Date.now();
    const outcome = await awaitOutcome(await deployWithFaults({ backend: 'greenlight-example-backend:hang' }, { health: { interval: '200ms', timeout: '500ms', successes: 3, deadline: '5s' } }));
    const report = await traffic.stop();
    matrix.push({ scenario: 'health endpoint hangs', outcome: outcome.status?.outcome ?? '?', failedRequests: report.failed, requests: report.sent, recoveryMs: null, killToMovingMs: null });
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.message).toMatch(/did not become healthy within 5000 ms \(health\.deadline\): backend: GET http:\/\/127\.0\.0\.1:\d+\/api\/health -> ECONNABORTED/);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(report.failed).toBe(0);
    await expectConsistent(before, 'absent');
  });

  it('the old color is unhealthy when a rollback needs it: the workflow says so and keeps the healthier color live', async () => {
    const before = await liveColor();
    const target = otherColor(before);
    const handle = await deployWithFaults({ backend: 'greenlight-example-backend:flaky' }, { health: { interval: '200ms', successes: 8, deadline: '30s' } });
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 20, message: 'health-check' }).toBe('health-check');
    // The live backend dies while the new color is being checked.
    await docker.getContainer(containerName(APP, 'backend', before)).stop({ t: 0 });
    const outcome = await awaitOutcome(handle);
    matrix.push({ scenario: 'old color unhealthy when rollback needs it', outcome: outcome.status?.outcome ?? '?', failedRequests: null, requests: null, recoveryMs: null, killToMovingMs: null });
    expect(outcome.exitCode).toBe(EXIT.compensationFailed);
    expect(outcome.message).toContain(`could not roll back: the previous color ${before} is unhealthy`);
    expect(outcome.message).toContain(`${target} stays live`);
    expect(await router.readRoute(APP)).toEqual({ live: target, backup: null });
    expect((await get(`${ROUTER}/health/${target}/backend`)).status).toBe(200);
  });
});
