/**
 * The fleet decisions of the deploy workflow with stubbed activities, on a real local Temporal server:
 * two hosts, each a worker on its own task queue, the workflow on a third. All hosts switch or none;
 * a failure on any host rolls every host back. The real parts are proven in test/e2e/fleet.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { heartbeating } from '../../activities/support';
import { routeKey } from '../../host/builders/nginx';
import { fleetHosts, hostOfSpec } from '../../src/config/hosts';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { DEPLOY_WORKFLOW, deployWorkflowId, FAILURE_TYPES, hostTaskQueue, MESSAGES, monitorWorkflowId, PLAN_READ_WORKFLOW, type Color } from '../../src/names';
import type { planReadWorkflow } from '../../workflows/plan';
import type { MonitorView } from '../../src/monitor';
import type { DeployStatus, Route } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { healthyHost, type Stubs, startLocalTestEnvironment } from './stubs';
import { BUNDLE_PATH } from '../../harness/paths';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startLocalTestEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

/** A host's stub activities, recording "activity:detail" per call; live on blue. */
function hostActivities(host: string, calls: string[], overrides: Stubs, workerHost = host): Activities {
  let route: Route = { live: 'blue', backup: null };
  const defaults: Activities = {
    ...healthyHost(() => route),
    switchTraffic: async (_s, r) => {
      route = r;
      return { reloaded: false, tookMs: 1, at: Date.now() };
    },
  };
  const detail = (name: string, args: unknown[]): string => {
    const spec = args[0] as DeploySpec;
    if (typeof spec === 'object' && spec && hostOfSpec(spec) !== host && name !== 'validateSpec') throw new Error(`${name} for ${hostOfSpec(spec)} ran on ${host}`);
    if (name === 'switchTraffic') return `:${routeKey(args[1] as Route)}`;
    if (name === 'switchBack') return `:${routeKey(args[1] as Route)} undoing ${routeKey(args[2] as Route)}`;
    if (['deployColor', 'healthCheck', 'verify', 'removeColor', 'preflightDocker', 'openPreview', 'monitorRound'].includes(name)) return `:${args[1] as Color}`;
    if (name === 'handOverSingletons') return `:${args[1] as Color}->${args[2] as Color}`;
    return '';
  };
  const recorded: Record<string, unknown> = {};
  for (const name of Object.keys(defaults) as Array<keyof Activities>) {
    const impl = (overrides[name] ?? defaults[name]) as (...args: unknown[]) => Promise<unknown>;
    recorded[name] = async (...args: unknown[]) => {
      calls.push(`${name}${detail(name, args)}`);
      return impl(...args);
    };
  }
  // The real wrapper: it refuses a step meant for another host.
  return heartbeating(recorded as unknown as Activities, workerHost);
}

interface Fleet {
  app: string;
  calls: Record<'h1' | 'h2', string[]>;
  /** The deploy started, `fn` run with its result while the workers poll (a monitor needs them after the deploy). */
  running<T>(fn: (result: Promise<DeployStatus>) => Promise<T>): Promise<T>;
  result(): Promise<DeployStatus>;
  failure(): Promise<{ type: string | undefined; message: string; status: DeployStatus }>;
}

/** Two hosts, `h1-<id>` and `h2-<id>`, each with its own worker; the workflow on a third queue. */
async function fleet(overrides: { h1?: Stubs; h2?: Stubs }, options: { h2RunsAs?: string; singleton?: boolean; preview?: boolean; monitor?: Record<string, unknown> } = {}): Promise<Fleet> {
  const id = randomUUID().slice(0, 6);
  const names = { h1: `h1-${id}`, h2: `h2-${id}` };
  const app = `fl-${id}`;
  const calls = { h1: [] as string[], h2: [] as string[] };
  const queue = `fleet-wf-${id}`;
  const spec = parseDeploySpec({
    app,
    services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } }, ...(options.singleton ? { jobs: { image: 'jobs:v2', overlap: false } } : {}) },
    hosts: [{ name: names.h1 }, { name: names.h2, hostPorts: { web: { blue: 18090, green: 18091 } } }],
    fleet: { hostTimeout: '5s' },
    ...(options.preview ? { preview: { port: 4801, checks: [{ name: 'smoke', command: ['npm', 'run', 'smoke'] }] } } : {}),
    ...(options.monitor ? { monitor: options.monitor, verify: { window: 0 }, cleanup: { drain: 0 } } : {}),
  });
  const workers = [
    await Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowBundle: { codePath: BUNDLE_PATH } }),
    await Worker.create({ connection: env.nativeConnection, taskQueue: hostTaskQueue(names.h1), activities: hostActivities(names.h1, calls.h1, overrides.h1 ?? {}) }),
    await Worker.create({ connection: env.nativeConnection, taskQueue: hostTaskQueue(names.h2), activities: hostActivities(names.h2, calls.h2, overrides.h2 ?? {}, options.h2RunsAs ?? names.h2) }),
  ];
  const run = async <T>(fn: (handle: { result(): Promise<DeployStatus> }) => Promise<T>): Promise<T> => {
    const running = workers.map((w) => w.run());
    try {
      const handle = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue: queue, workflowId: deployWorkflowId(app), args: [{ spec }] });
      return await fn(handle);
    } finally {
      workers.forEach((w) => w.shutdown());
      await Promise.all(running);
    }
  };
  return {
    app,
    calls,
    running: (fn) => run((h) => fn(h.result())),
    result: () => run((h) => h.result()),
    failure: () =>
      run(async (h) => {
        const err = await h.result().then(
          () => new Error('expected the deploy to fail'),
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(WorkflowFailedError);
        const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
        return { type: cause.type ?? undefined, message: cause.message, status: cause.details?.[0] as DeployStatus };
      }),
  };
}

const VALIDATE = ['readRoute', 'readColorImages', 'preflightDocker:green', 'checkRouterConfig'];
/** The first host's part: validate ends the app's monitor there, once every host has validated. */
const H1_UP_TO_SWITCH = ['validateSpec', ...VALIDATE, 'endMonitor', 'deployColor:green', 'healthCheck:green', 'measureBaseline', 'prepareSwitch', 'switchTraffic:green_blue'];
const UP_TO_SWITCH = [...VALIDATE, 'deployColor:green', 'healthCheck:green', 'measureBaseline', 'prepareSwitch', 'switchTraffic:green_blue'];

describe('fleet deploy workflow (stubbed activities, two hosts)', () => {
  it('success: every step on every host, each on its own queue, all hosts switched, skew measured', async () => {
    const f = await fleet({});
    const status = await f.result();
    expect(f.calls.h1).toEqual([...H1_UP_TO_SWITCH, 'verify:green', 'switchTraffic:green', 'retireColor', 'recordRelease']);
    expect(f.calls.h2).toEqual([...UP_TO_SWITCH, 'verify:green', 'switchTraffic:green', 'retireColor']);
    expect(status.outcome).toBe('succeeded');
    expect(status.lastError).toBeNull();
    expect(status.hosts?.map((h) => [h.liveColor, typeof h.switchedAt])).toEqual([
      ['green', 'number'],
      ['green', 'number'],
    ]);
    expect(status.switchSkewMs).toBeGreaterThanOrEqual(0);
  });

  it('preview: opened on every host after the health gate, its checks once on the first host, closed on every host before the switch; a failing check closes it on every host', async () => {
    const preview = ['deployColor:green', 'healthCheck:green', 'openPreview:green'];
    const ok = await fleet({}, { preview: true });
    expect((await ok.result()).outcome).toBe('succeeded');
    expect(ok.calls.h1).toEqual(['validateSpec', ...VALIDATE, 'endMonitor', ...preview, 'runPreviewChecks', 'closePreview', 'measureBaseline', 'prepareSwitch', 'switchTraffic:green_blue', 'verify:green', 'switchTraffic:green', 'retireColor', 'recordRelease']);
    expect(ok.calls.h2).toEqual([...VALIDATE, ...preview, 'closePreview', 'measureBaseline', 'prepareSwitch', 'switchTraffic:green_blue', 'verify:green', 'switchTraffic:green', 'retireColor']);
    const failing = await fleet({ h1: { runPreviewChecks: async () => { throw ApplicationFailure.nonRetryable('preview check "smoke" exited with 1', FAILURE_TYPES.previewCheck); } } }, { preview: true });
    const { message } = await failing.failure();
    expect(message).toContain('preview check "smoke" exited with 1');
    expect(failing.calls.h1.slice(-4)).toEqual(['runPreviewChecks', 'closePreview', 'keepFailedLogs', 'removeColor:green']);
    expect(failing.calls.h2.slice(-4)).toEqual(['openPreview:green', 'closePreview', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a singleton worker is handed over on every host after the fleet switch (one per host), and handed back on every host by a rollback', async () => {
    const handover = ['prepareSwitch', 'switchTraffic:green_blue', 'handOverSingletons:blue->green'];
    const ok = await fleet({}, { singleton: true });
    const status = await ok.result();
    expect(status.outcome).toBe('succeeded');
    expect(ok.calls.h1.slice(-7)).toEqual([...handover, 'verify:green', 'switchTraffic:green', 'retireColor', 'recordRelease']);
    expect(ok.calls.h2.slice(-6)).toEqual([...handover, 'verify:green', 'switchTraffic:green', 'retireColor']);

    const failing = await fleet({ h1: { verify: async () => { throw ApplicationFailure.nonRetryable('green error rate 9 %', FAILURE_TYPES.verify); } } }, { singleton: true });
    const failure = await failing.failure();
    expect(failure.type).toBe(FAILURE_TYPES.rolledBack);
    for (const calls of [failing.calls.h1, failing.calls.h2]) {
      expect(calls).toEqual(expect.arrayContaining(handover));
      expect(calls.slice(-4)).toEqual(['switchBack:blue undoing green_blue', 'handOverSingletons:green->blue', 'keepFailedLogs', 'removeColor:green']);
    }
  });

  it("host 2's health gate fails: no host switches, both hosts' new color removed", async () => {
    const f = await fleet({ h2: { healthCheck: async () => { throw ApplicationFailure.nonRetryable('green did not become healthy', FAILURE_TYPES.healthCheck); } } });
    const failure = await f.failure();
    expect(failure.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure.message).toContain(': green did not become healthy');
    expect(failure.message).toMatch(/h2-\w+: green did not become healthy/);
    expect([...f.calls.h1, ...f.calls.h2].filter((c) => c.startsWith('switchTraffic'))).toEqual([]);
    expect(f.calls.h1.at(-1)).toBe('removeColor:green');
    expect(f.calls.h2.at(-1)).toBe('removeColor:green');
  });

  it("host 2's switch fails after host 1 switched: host 1 is switched back, both new colors removed", async () => {
    const f = await fleet({
      h2: {
        switchTraffic: async (_s, r) => {
          if (r.backup) {
            await new Promise((res) => setTimeout(res, 300)); // host 1 has switched by now
            throw ApplicationFailure.nonRetryable('nginx -t rejected the config', FAILURE_TYPES.routerConfig);
          }
          return { reloaded: false, tookMs: 1, at: Date.now() };
        },
      },
    });
    const failure = await f.failure();
    expect(failure.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure.message).toMatch(/h2-\w+: nginx -t rejected the config/);
    expect(f.calls.h1).toEqual([...H1_UP_TO_SWITCH, 'checkColorHealth', 'switchBack:blue undoing green_blue', 'keepFailedLogs', 'removeColor:green']);
    expect(f.calls.h2).toEqual([...UP_TO_SWITCH, 'checkColorHealth', 'switchBack:blue undoing green_blue', 'keepFailedLogs', 'removeColor:green']);
    expect(failure.status.hosts?.map((h) => h.liveColor)).toEqual(['blue', 'blue']);
  });

  it("host 2's nginx -t fails while preparing the switch: no host takes the new route, both are rolled back", async () => {
    const f = await fleet({ h2: { prepareSwitch: async () => { throw ApplicationFailure.nonRetryable('nginx -t rejected the config', FAILURE_TYPES.routerConfig); } } });
    const failure = await f.failure();
    expect(failure.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure.message).toMatch(/h2-\w+: nginx -t rejected the config/);
    expect([...f.calls.h1, ...f.calls.h2]).not.toContain('switchTraffic:green_blue');
    expect(f.calls.h1.slice(-4)).toEqual(['checkColorHealth', 'switchBack:blue undoing green_blue', 'keepFailedLogs', 'removeColor:green']);
    expect(f.calls.h2.slice(-4)).toEqual(['checkColorHealth', 'switchBack:blue undoing green_blue', 'keepFailedLogs', 'removeColor:green']);
  });

  it('verify fails on host 1 only: host 2 is rolled back too', async () => {
    const f = await fleet({ h1: { verify: async () => { throw ApplicationFailure.nonRetryable('green error rate 50 %', FAILURE_TYPES.verify); } } });
    const failure = await f.failure();
    expect(failure.type).toBe(FAILURE_TYPES.rolledBack);
    expect(f.calls.h2.slice(-4)).toEqual(['checkColorHealth', 'switchBack:blue undoing green_blue', 'keepFailedLogs', 'removeColor:green']);
    expect(f.calls.h1.slice(-4)).toEqual(['checkColorHealth', 'switchBack:blue undoing green_blue', 'keepFailedLogs', 'removeColor:green']);
  });

  it("a worker that says it is another host refuses that host's steps: validation fails, nothing changed", async () => {
    const f = await fleet({}, { h2RunsAs: 'web-9' });
    const failure = await f.failure();
    expect(failure.type).toBe(FAILURE_TYPES.validationFailed);
    expect(failure.status.failureType).toBe(FAILURE_TYPES.wrongHost);
    expect(failure.message).toMatch(/a step for host h2-\w+ reached the worker of host web-9/);
    expect(f.calls.h1.filter((c) => c.startsWith('deployColor'))).toEqual([]);
  });

  it('monitor and bake across the fleet: every round probes the live color on every host; a failure on host 2 alone rolls every host back to blue together, and the rounds go on on blue', async () => {
    let broken = false;
    const failingOnH2 = async (_s: DeploySpec, color: Color) => ({ probes: 4, failures: broken && color === 'green' ? ['web: GET http://127.0.0.1:18091/health -> HTTP 503'] : [] });
    const f = await fleet({ h2: { monitorRound: failingOnH2 } }, { monitor: { interval: '1s', alertAfter: 2, bake: '1m' } });
    const monitor = env.client.workflow.getHandle(monitorWorkflowId(f.app));
    const view = () => monitor.query<MonitorView>(MESSAGES.monitor);
    const until = async (done: (v: MonitorView) => boolean): Promise<MonitorView> => {
      for (const deadline = Date.now() + 20_000; ; await new Promise((r) => setTimeout(r, 200))) {
        const v = await view().catch(() => null);
        if (v && done(v)) return v;
        if (Date.now() > deadline) throw new Error(`the fleet monitor did not get there: ${JSON.stringify(v)}`);
      }
    };
    await f.running(async (result) => {
      try {
        expect((await result).outcome).toBe('succeeded');
        // The bake keeps blue on both hosts: the cleanup drops the backup and retires nothing.
        for (const calls of [f.calls.h1, f.calls.h2]) expect(calls.filter((c) => c.startsWith('retireColor'))).toEqual([]);
        const baking = await until((v) => v.rounds >= 2);
        expect(baking).toMatchObject({ health: 'baking', color: 'green', bake: { previousColor: 'blue', state: 'baking' } });
        for (const calls of [f.calls.h1, f.calls.h2]) expect(calls.filter((c) => c.startsWith('monitorRound')).length).toBeGreaterThanOrEqual(2);

        const before = { h1: f.calls.h1.length, h2: f.calls.h2.length };
        broken = true;
        const rolled = await until((v) => v.rollback !== null);
        expect(rolled).toMatchObject({ color: 'blue', alerts: 1, bake: { state: 'rolled-back' }, rollback: { from: 'green', to: 'blue' } });
        expect(rolled.rollback!.reason).toMatch(/^2 failed rounds in a row during the bake: h2-\w+: web: GET http:\/\/127\.0\.0\.1:18091\/health -> HTTP 503$/);
        // Both hosts: blue checked, traffic back to it, green stopped; host 1 passed every round and still went back.
        for (const host of ['h1', 'h2'] as const) {
          expect(f.calls[host].slice(before[host]).filter((c) => !c.startsWith('monitorRound'))).toEqual(['checkColorHealth', 'switchTraffic:blue', 'retireColor']);
        }
        await until((v) => v.rounds > rolled.rounds);
        for (const calls of [f.calls.h1, f.calls.h2]) expect(calls.filter((c) => c.startsWith('monitorRound')).at(-1)).toBe('monitorRound:blue');
      } finally {
        await monitor.terminate('test over').catch(() => undefined);
      }
    });
  });

  it('plan reads each host on its own queue, read-only; a host that fails its read is reported with its reason, the other still read', async () => {
    const id = randomUUID().slice(0, 6);
    const names = { h1: `h1-${id}`, h2: `h2-${id}` };
    const calls = { h1: [] as string[], h2: [] as string[] };
    const spec = parseDeploySpec({ app: `plan-${id}`, services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } } }, hosts: [{ name: names.h1 }, { name: names.h2 }], fleet: { hostTimeout: '5s' } });
    const queue = `plan-wf-${id}`;
    const failing = { readPlanState: async () => { throw ApplicationFailure.nonRetryable('cannot connect to the Docker daemon'); } };
    const workers = [
      await Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowBundle: { codePath: BUNDLE_PATH } }),
      await Worker.create({ connection: env.nativeConnection, taskQueue: hostTaskQueue(names.h1), activities: hostActivities(names.h1, calls.h1, {}) }),
      await Worker.create({ connection: env.nativeConnection, taskQueue: hostTaskQueue(names.h2), activities: hostActivities(names.h2, calls.h2, failing) }),
    ];
    const running = workers.map((w) => w.run());
    try {
      const hosts = fleetHosts(spec).map((h) => ({ target: { name: h.name, taskQueue: h.taskQueue, hostTimeoutMs: 5_000 }, next: h.spec, live: null }));
      const reads = await env.client.workflow.execute<typeof planReadWorkflow>(PLAN_READ_WORKFLOW, { taskQueue: queue, workflowId: `plan-${id}`, args: [{ app: spec.app, hosts }] });
      expect(reads.map((r) => [r.host, r.state?.liveColor ?? null, r.error])).toEqual([
        [names.h1, 'blue', null],
        [names.h2, null, `${names.h2}: cannot connect to the Docker daemon`],
      ]);
      // One read per host, nothing else (the stub refuses a step meant for another host).
      expect([calls.h1, calls.h2]).toEqual([['readPlanState'], ['readPlanState']]);
    } finally {
      workers.forEach((w) => w.shutdown());
      await Promise.all(running);
    }
  });
});
