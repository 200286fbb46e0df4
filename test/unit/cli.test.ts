/**
 * The whole CLI (commander wiring, commands, exit codes) on a fake Temporal client: every command's
 * outcomes -> exit code and what it prints, bad arguments, and connection errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import { deploySpecJsonSchema } from '../../src/config/schema';
import { InfrastructureError } from '../../src/errors';
import { FAILURE_TYPES, MESSAGES, SEARCH_ATTRIBUTES } from '../../src/names';
import type { DeployStatus } from '../../src/types';
import type { DoctorRequest } from '../../worker/doctor';
import { deployStatus, FakeTemporal, updateRefused, workflowCancelled, workflowFailure, temporalUnavailable, workflowTerminated, workflowTimedOut, type FakeRun } from './fake-temporal';

const work = mkdtempSync(join(tmpdir(), 'greenlight-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const SPEC_FILE = join(work, 'greenlight.yml');
writeFileSync(SPEC_FILE, 'app: shop\nservices:\n  backend:\n    image: shop-backend:v1\n    port: 4000\n    hostPorts: { blue: 4100, green: 4102 }\n');
const spec = parseDeploySpec({ app: 'shop', services: { backend: { image: 'shop-backend:v2', port: 4000, hostPorts: { blue: 4100, green: 4102 } } } });

interface Run {
  code: number;
  out: string[];
  err: string[];
  /** commander's own output (help, usage errors). */
  commanderOut: string;
  commanderErr: string;
  connects: number;
}

let fake: FakeTemporal;
beforeEach(() => {
  fake = new FakeTemporal();
  vi.restoreAllMocks();
});

async function gl(args: string[], connect?: () => Promise<never>): Promise<Run> {
  const run: Run = { code: -1, out: [], err: [], commanderOut: '', commanderErr: '', connects: 0 };
  run.code = await runCli(['node', 'greenlight', ...args], {
    connect: async () => {
      run.connects++;
      if (connect) return connect();
      return fake.client;
    },
    out: (line) => run.out.push(line),
    err: (line) => run.err.push(line),
    writeOut: (text) => (run.commanderOut += text),
    writeErr: (text) => (run.commanderErr += text),
  });
  return run;
}

const finished = (status: DeployStatus, overrides: Partial<FakeRun> = {}): FakeRun => ({ runId: 'run-1', workflowStatus: 'COMPLETED', result: async () => status, status, closeTime: new Date('2026-11-28T10:05:00Z'), ...overrides });
const failedRun = (type: string, message: string, status: DeployStatus): FakeRun => ({ runId: 'run-1', workflowStatus: 'FAILED', result: () => Promise.reject(workflowFailure(type, message, status)), status });
const running = (status: DeployStatus, overrides: Partial<FakeRun> = {}): FakeRun => ({ runId: 'run-1', workflowStatus: 'RUNNING', result: () => new Promise(() => undefined), status, ...overrides });

describe('greenlight deploy', () => {
  const phases = [
    { phase: 'validate' as const, startedAt: '2026-11-28T10:00:00.000Z', durationMs: 400 },
    { phase: 'switch' as const, startedAt: '2026-11-28T10:00:01.000Z', durationMs: 150 },
    { phase: 'done' as const, startedAt: '2026-11-28T10:00:02.000Z', durationMs: 0 },
  ];
  // [how it ends, exit code, what result() does, the message, what the status query answers after a non-deploy end]
  const ends: [string, number, () => Promise<DeployStatus>, string, DeployStatus?][] = [
    ['succeeds', EXIT.ok, async () => deployStatus({ liveColor: 'green', phases }), 'deploy of shop succeeded: green is live'],
    ['rolls back', EXIT.rolledBack, () => Promise.reject(workflowFailure(FAILURE_TYPES.rolledBack, 'rolled back, blue stays live: health gate failed', deployStatus({ outcome: 'rolled-back', phases }))), 'rolled back, blue stays live: health gate failed'],
    ['fails validation', EXIT.invalid, () => Promise.reject(workflowFailure(FAILURE_TYPES.validationFailed, 'validation failed, nothing was changed: port 4102 is in use', deployStatus({ outcome: 'validation-failed', failureType: FAILURE_TYPES.portInUse, phases }))), 'validation failed, nothing was changed: port 4102 is in use'],
    ['finds Docker unreachable', EXIT.infrastructure, () => Promise.reject(workflowFailure(FAILURE_TYPES.validationFailed, 'validation failed, nothing was changed: Docker engine unreachable', deployStatus({ outcome: 'validation-failed', failureType: FAILURE_TYPES.infrastructure, phases }))), 'validation failed, nothing was changed: Docker engine unreachable'],
    ['cannot compensate', EXIT.compensationFailed, () => Promise.reject(workflowFailure(FAILURE_TYPES.compensationFailed, 'could not roll back: blue is unhealthy', deployStatus({ outcome: 'compensation-failed', phases }))), 'could not roll back: blue is unhealthy'],
    ['is cancelled (compensation ran)', EXIT.rolledBack, () => Promise.reject(workflowCancelled()), 'deploy cancelled and rolled back: blue serves', deployStatus({ outcome: 'rolled-back', liveColor: 'blue', phases })],
    ['is cancelled but cannot compensate', EXIT.compensationFailed, () => Promise.reject(workflowCancelled()), 'deploy cancelled, but compensation did not finish: blue is unhealthy', deployStatus({ outcome: 'compensation-failed', lastError: 'blue is unhealthy', phases })],
    ['is terminated', EXIT.outcomeUnknown, () => Promise.reject(workflowTerminated('stuck')), 'deploy terminated (stuck): no compensation ran, check `greenlight status shop` and the hosts before deploying again'],
    ['times out on the server', EXIT.outcomeUnknown, () => Promise.reject(workflowTimedOut()), 'deploy timed out on the server (its execution timeout): no compensation ran, check `greenlight status shop` and the hosts before deploying again'],
    ['fails with a failure of no known type', EXIT.unexpected, () => Promise.reject(workflowFailure('SomethingElse', 'a bug', null)), 'deploy ended: a bug'],
  ];

  it.each(ends)('the deploy %s: exit %i, phases as they ended, then the message', async (_, code, result, message, queried) => {
    fake.onStart = () => ({ runId: 'run-2', workflowStatus: 'RUNNING', result, status: queried ?? deployStatus({ phases }) });
    const run = await gl(['deploy', '-f', SPEC_FILE, '--image', 'backend=shop-backend:v2', '--task-queue', 'host-a', '--requested-by', 'ci#7']);
    expect(run.code).toBe(code);
    expect(run.out).toEqual(['deploying shop (workflow deploy-shop, run run-2):', '  validate        400 ms', '  switch          150 ms', message]);
    expect(run.err).toEqual([]);
    const { options } = fake.starts[0]!;
    expect(options).toMatchObject({ workflowId: 'deploy-shop', taskQueue: 'host-a' });
    expect(options.args[0]).toMatchObject({ requestedBy: 'ci#7', spec: { app: 'shop', services: { backend: { image: 'shop-backend:v2' } } } });
    expect(fake.closed).toBe(1);
  });

  it.each(ends)('--json, the deploy %s: exit %i and one JSON object carrying it', async (_, code, result, message, queried) => {
    fake.onStart = () => ({ runId: 'run-2', workflowStatus: 'RUNNING', result, status: queried ?? deployStatus({ phases }) });
    const run = await gl(['deploy', '-f', SPEC_FILE, '--json']);
    expect(run.code).toBe(code);
    expect(run.out).toHaveLength(1);
    expect(JSON.parse(run.out[0]!)).toMatchObject({ exitCode: code, message, status: { app: 'shop' } });
  });

  it('--no-wait: exit 0 once started, with the run (text and JSON)', async () => {
    fake.onStart = () => running(deployStatus(), { runId: 'run-2' });
    expect(await gl(['deploy', '-f', SPEC_FILE, '--no-wait'])).toMatchObject({ code: EXIT.ok, out: ['started deploy-shop (run run-2)'] });
    const json = await gl(['deploy', '-f', SPEC_FILE, '--no-wait', '--json']);
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.out[0]!)).toEqual({ app: 'shop', workflowId: 'deploy-shop', runId: 'run-2' });
  });

  it('another deploy of the app is running: exit 3, saying how to stop it', async () => {
    fake.startErrors = [new WorkflowExecutionAlreadyStartedError('already started', 'deploy-shop', 'deployWorkflow')];
    const run = await gl(['deploy', '-f', SPEC_FILE]);
    expect(run.code).toBe(EXIT.refused);
    expect(run.err).toEqual(['greenlight: a deploy of "shop" is already running (workflow deploy-shop); wait for it, or stop it with `greenlight rollback shop` / `greenlight cancel shop`']);
    expect(fake.closed).toBe(1);
  });

  it.each([
    ['a malformed --image', ['--image', 'foo'], '  - --image foo: expected SERVICE=IMAGE, e.g. --image backend=shop-backend:v2'],
    ['an --image of no service', ['--image', 'cart=cart:v1'], '  - --image cart=...: no service "cart" in the spec: use one of backend'],
    ['a missing spec file', ['-f', join(work, 'nope.yml')], `  - ${join(work, 'nope.yml')}: cannot read the spec file (ENOENT): pass an existing file with -f`],
  ])('%s: exit 2 with the fix, nothing started, nothing connected', async (_, args, issue) => {
    const run = await gl(['deploy', '-f', SPEC_FILE, ...args]);
    expect(run.code).toBe(EXIT.invalid);
    expect(run.err).toEqual([`greenlight: invalid deploy spec:\n${issue}`]);
    expect(fake.starts).toEqual([]);
    // The spec is loaded before connecting: a bad one is exit 2 whether or not Temporal is up.
    expect(run.connects).toBe(0);
  });
});

describe('greenlight rollback', () => {
  it('no deploy of the app: exit 2', async () => {
    const run = await gl(['rollback', 'shop']);
    expect(run).toMatchObject({ code: EXIT.invalid, out: ['no deploy of shop found: check the app name (greenlight history shop)'] });
  });

  it('during a deploy: the rollback update, exit 0 when accepted', async () => {
    fake.latest = running(deployStatus({ phase: 'verify', outcome: 'running' }), { update: async (_, [reason]) => ({ phase: 'verify', reason }) });
    const run = await gl(['rollback', 'shop', '--reason', 'checkout errors']);
    expect(run).toMatchObject({ code: EXIT.ok, out: ['rollback of shop accepted during verify: checkout errors'] });
    expect(fake.updates).toEqual([{ name: MESSAGES.rollback, args: ['checkout errors'] }]);
    // The update is the first call: no lookup delays the old color's return.
    expect(fake.calls).toEqual([`update ${MESSAGES.rollback}`]);
  });

  it('after a deploy: the update finds no running deploy (NOT_FOUND), then the last deploy is looked up', async () => {
    fake.latest = finished(deployStatus({ previousImages: {} }));
    expect((await gl(['rollback', 'shop'])).code).toBe(EXIT.refused);
    expect(fake.calls.slice(0, 2)).toEqual([`update ${MESSAGES.rollback}`, 'describe']);
  });

  it('during a deploy, refused by its validator: exit 3 with the reason', async () => {
    fake.latest = running(deployStatus({ phase: 'cleanup', outcome: 'running' }), { update: () => Promise.reject(updateRefused('too late to roll back this deploy: it is in cleanup')) });
    const run = await gl(['rollback', 'shop']);
    expect(run).toMatchObject({ code: EXIT.refused, out: ['rollback of shop refused: too late to roll back this deploy: it is in cleanup'] });
  });

  it.each([
    ['rolled back', failedRun(FAILURE_TYPES.rolledBack, 'rolled back', deployStatus({ outcome: 'rolled-back', previousImages: { backend: 'shop-backend:v1' } })), 'nothing to roll back for shop: the last deploy ended rolled-back (the previous version is still live)'],
    ['succeeded as a first deploy', finished(deployStatus({ previousImages: {} })), 'nothing to roll back for shop: the last deploy ended succeeded'],
    ['failed validation', failedRun(FAILURE_TYPES.validationFailed, 'validation failed', deployStatus({ outcome: 'validation-failed' })), 'nothing to roll back for shop: the last deploy ended validation-failed'],
  ])('after a deploy that %s: nothing to roll back, exit 3', async (_, last, line) => {
    fake.latest = last;
    const run = await gl(['rollback', 'shop']);
    expect(run).toMatchObject({ code: EXIT.refused, out: [line] });
    expect(fake.starts).toEqual([]);
  });

  describe('after a successful deploy: restores the previous images as a new deploy', () => {
    beforeEach(() => {
      fake.latest = finished(deployStatus({ images: { backend: 'shop-backend:v2' }, previousImages: { backend: 'shop-backend:v1' } }), { input: { spec } });
    });

    it.each([
      ['succeeds', EXIT.ok, async () => deployStatus({ liveColor: 'blue' }), 'deploy of shop succeeded: blue is live'],
      ['rolls back', EXIT.rolledBack, () => Promise.reject(workflowFailure(FAILURE_TYPES.rolledBack, 'rolled back, green stays live: v1 unhealthy', deployStatus({ outcome: 'rolled-back' }))), 'rolled back, green stays live: v1 unhealthy'],
    ] as const)('the restore %s: exit %i (on the --task-queue given)', async (_, code, result, message) => {
      fake.onStart = () => ({ runId: 'run-2', workflowStatus: 'RUNNING', result, status: null });
      const run = await gl(['rollback', 'shop', '--reason', 'v2 is slow', '--task-queue', 'host-a']);
      expect(run.code).toBe(code);
      expect(run.out).toEqual(['restoring the previous version of shop (backend=shop-backend:v1) through the health-gated switch:', message]);
      const { options } = fake.starts[0]!;
      expect(options.taskQueue).toBe('host-a');
      expect(options.args[0]).toMatchObject({ requestedBy: 'greenlight rollback: v2 is slow', restore: { reason: 'v2 is slow', fromRunId: 'run-1' }, spec: { services: { backend: { image: 'shop-backend:v1' } } } });
      expect(options.staticSummary).toBe('Restore shop: backend=shop-backend:v1');
    });

    it("without --task-queue: on the restored deploy's own task queue, not the caller's GREENLIGHT_TASK_QUEUE", async () => {
      vi.stubEnv('GREENLIGHT_TASK_QUEUE', 'the-callers-queue');
      fake.latest = { ...fake.latest!, taskQueue: 'host-b' };
      fake.onStart = () => running(deployStatus(), { runId: 'run-2' });
      const run = await gl(['rollback', 'shop', '--no-wait']);
      vi.unstubAllEnvs();
      expect(run.code).toBe(EXIT.ok);
      expect(fake.starts.map((start) => start.options.taskQueue)).toEqual(['host-b']);
    });

    it("a fleet deploy's restore: its queue and its hosts (with their own queues) again", async () => {
      const fleetSpec = parseDeploySpec({ ...spec, hosts: [{ name: 'web-1' }, { name: 'web-2', taskQueue: 'edge-2' }] });
      fake.latest = { ...fake.latest!, taskQueue: 'fleet-coordinator', input: { spec: fleetSpec } };
      fake.onStart = () => running(deployStatus(), { runId: 'run-2' });
      expect((await gl(['rollback', 'shop', '--no-wait'])).code).toBe(EXIT.ok);
      const { options } = fake.starts[0]!;
      expect(options.taskQueue).toBe('fleet-coordinator');
      expect(options.args[0].spec.hosts).toEqual(fleetSpec.hosts);
      expect(options.typedSearchAttributes).toContainEqual({ key: SEARCH_ATTRIBUTES.hosts, value: ['web-1', 'web-2'] });
    });

    it('--no-wait: exit 0 once the restore started', async () => {
      fake.onStart = () => running(deployStatus(), { runId: 'run-2' });
      const run = await gl(['rollback', 'shop', '--no-wait']);
      expect(run).toMatchObject({ code: EXIT.ok, out: ['restoring the previous version of shop (backend=shop-backend:v1): started deploy-shop'] });
    });
  });
});

describe('greenlight promote', () => {
  it('at the gate: exit 0', async () => {
    fake.latest = running(deployStatus({ phase: 'promotion-gate', outcome: 'running' }), { update: async () => ({ phase: 'promotion-gate' }) });
    expect(await gl(['promote', 'shop'])).toMatchObject({ code: EXIT.ok, out: ['shop promoted: switching traffic'] });
    expect(fake.updates).toEqual([{ name: MESSAGES.promote, args: [] }]);
  });

  it('no deploy of the app: exit 2 (unknown app, as for every command), no update sent', async () => {
    expect(await gl(['promote', 'shop'])).toMatchObject({ code: EXIT.invalid, out: ['no deploy of shop found: check the app name (greenlight history shop)'] });
    expect(fake.updates).toEqual([]);
  });

  it.each([
    // Told apart by the workflow's status, not by the update's error text: for an update, the SDK
    // throws WorkflowNotFoundError for an ended deploy as for a missing one.
    ['a finished deploy', finished(deployStatus(), { update: () => Promise.reject(new WorkflowNotFoundError('workflow execution already completed', 'deploy-shop', undefined)) }), 'no deploy of shop is running (the last one is completed): nothing to promote'],
    ['a deploy that ends as the promote is sent', running(deployStatus({ phase: 'promotion-gate' }), { update: () => Promise.reject(new WorkflowNotFoundError('workflow execution already completed', 'deploy-shop', undefined)) }), 'the deploy of shop ended before the promote reached it: nothing to promote'],
    ['a deploy not at the gate (validator)', running(deployStatus({ phase: 'verify' }), { update: () => Promise.reject(updateRefused('nothing to promote: the deploy is in verify')) }), 'promote of shop refused: nothing to promote: the deploy is in verify'],
  ])('%s: exit 3', async (_, latest, line) => {
    fake.latest = latest;
    expect(await gl(['promote', 'shop'])).toMatchObject({ code: EXIT.refused, out: [line] });
  });

  it('an update failing otherwise is not taken for a finished deploy: exit 7', async () => {
    fake.latest = running(deployStatus({ phase: 'promotion-gate' }), { update: () => Promise.reject(new Error('workflow execution already completed (but not a WorkflowNotFoundError)')) });
    expect(await gl(['promote', 'shop'])).toMatchObject({ code: EXIT.unexpected, err: ['greenlight: workflow execution already completed (but not a WorkflowNotFoundError)'] });
  });
});

describe('greenlight cancel', () => {
  it('a running deploy: cancel requested, exit 0', async () => {
    fake.latest = running(deployStatus({ outcome: 'running' }));
    const run = await gl(['cancel', 'shop']);
    expect(run).toMatchObject({ code: EXIT.ok, out: ['cancel of the deploy of shop requested: it compensates (traffic stays on or returns to the previous color), then ends cancelled'] });
    expect(fake.cancels).toEqual(['deploy-shop']);
  });

  it.each([
    ['a finished deploy', finished(deployStatus()), EXIT.refused, 'no deploy of shop is running (the last one is completed): nothing to cancel'],
    ['no deploy of the app', null, EXIT.invalid, 'no deploy of shop found: check the app name (greenlight history shop)'],
  ])('%s: exit %i, nothing cancelled', async (_, latest, code, line) => {
    fake.latest = latest;
    expect(await gl(['cancel', 'shop'])).toMatchObject({ code, out: [line] });
    expect(fake.cancels).toEqual([]);
  });
});

describe('greenlight status', () => {
  it('no deploy of the app: exit 2 (text and JSON)', async () => {
    expect(await gl(['status', 'shop'])).toMatchObject({ code: EXIT.invalid, out: ['no deploy of shop found: check the app name (greenlight history shop)'] });
    expect(await gl(['status', 'shop', '--json'])).toMatchObject({ code: EXIT.invalid });
  });

  it('a running deploy: exit 0, the live version (previous images) since the last success, and the phases', async () => {
    fake.latest = running(
      deployStatus({
        outcome: 'running',
        phase: 'verify',
        waitingFor: '3000 ms of healthy traffic on green',
        liveColor: 'blue',
        targetColor: 'green',
        images: { backend: 'shop-backend:v2' },
        previousImages: { backend: 'shop-backend:v1', frontend: 'shop-frontend:v1' },
        phases: [
          { phase: 'validate', startedAt: '2026-11-28T10:00:00.000Z', durationMs: 400 },
          { phase: 'verify', startedAt: '2026-11-28T10:00:01.000Z' },
        ],
      }),
      { startTime: new Date('2026-11-28T10:00:00Z') },
    );
    fake.executions = [{ runId: 'run-0', status: 'COMPLETED', startTime: new Date('2026-11-28T08:59:00Z'), closeTime: new Date('2026-11-28T09:00:00Z') }];
    const run = await gl(['status', 'shop']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toEqual([
      'shop: blue live (backend=shop-backend:v1, frontend=shop-frontend:v1) since 2026-11-28T09:00:00.000Z',
      'running deploy: running, phase verify (waiting for 3000 ms of healthy traffic on green), started 2026-11-28T10:00:00.000Z',
      '  validate        400 ms',
      '  verify          …',
    ]);
    expect(fake.listQueries).toEqual(["WorkflowId = 'deploy-shop' AND ExecutionStatus = 'Completed'"]);
    const json = await gl(['status', 'shop', '--json']);
    expect(json.code).toBe(EXIT.ok);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ app: 'shop', liveColor: 'blue', liveImages: { backend: 'shop-backend:v1' }, liveSince: '2026-11-28T09:00:00.000Z', deploy: { runId: 'run-1', running: true, phase: 'verify' } });
  });

  it('a finished successful deploy: its own images are live', async () => {
    fake.latest = finished(deployStatus({ liveColor: 'green', images: { backend: 'shop-backend:v2' }, previousImages: { backend: 'shop-backend:v1' } }));
    const run = await gl(['status', 'shop']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.out[0]).toBe('shop: green live (backend=shop-backend:v2)');
    expect(run.out[1]).toMatch(/^last deploy: succeeded, phase done, started /);
  });

  it('a monitor that rolled the last deploy back in its bake: the restored color is live, and the monitor says why (text and JSON)', async () => {
    fake.latest = finished(deployStatus({ liveColor: 'green', images: { backend: 'shop-backend:v2' }, previousImages: { backend: 'shop-backend:v1' } }));
    const runId = (await fake.client.workflow.getHandle('deploy-shop').describe()).runId;
    fake.monitor = {
      app: 'shop', deployId: runId, startedAt: '2026-11-28T10:00:00.000Z', color: 'blue', health: 'healthy', intervalMs: 1000, alertAfter: 3, rounds: 12, consecutiveFailures: 0,
      healthySince: '2026-11-28T10:00:09.000Z', lastFailure: { at: '2026-11-28T10:00:08.000Z', detail: 'backend: GET http://127.0.0.1:4101/api/health -> HTTP 503' }, alerting: false, alertedAt: '2026-11-28T10:00:08.000Z', alerts: 1,
      bake: { until: '2026-11-28T10:15:00.000Z', previousColor: 'blue', state: 'rolled-back' },
      rollback: { at: '2026-11-28T10:00:09.000Z', from: 'green', to: 'blue', reason: '3 failed rounds in a row during the bake' }, lastError: null, images: { backend: 'shop-backend:v1' },
    };
    const run = await gl(['status', 'shop']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.out.slice(0, 3)).toEqual([
      'shop: blue live (backend=shop-backend:v1)',
      '  monitor: healthy since 2026-11-28T10:00:09.000Z (blue live, 12 rounds every 1.0 s); last failure 2026-11-28T10:00:08.000Z: backend: GET http://127.0.0.1:4101/api/health -> HTTP 503',
      '  bake rollback at 2026-11-28T10:00:09.000Z: green -> blue: 3 failed rounds in a row during the bake',
    ]);
    expect(JSON.parse((await gl(['status', 'shop', '--json'])).out[0]!)).toMatchObject({ liveColor: 'blue', liveImages: { backend: 'shop-backend:v1' }, monitor: { health: 'healthy', rollback: { from: 'green', to: 'blue' } } });
  });

  it('a deploy that handed a singleton over: the stop and the start (text and JSON)', async () => {
    const handover = { from: 'blue' as const, to: 'green' as const, services: [{ service: 'jobs', stopMs: 322, stoppedAt: 1_000, startedAt: 1_377 }] };
    fake.latest = finished(deployStatus({ liveColor: 'green', images: { backend: 'shop-backend:v2' }, handover }));
    const run = await gl(['status', 'shop']);
    expect(run.out[1]).toBe('  singleton handover blue -> green: jobs stopped in 322 ms, the new one started 377 ms later');
    expect(JSON.parse((await gl(['status', 'shop', '--json'])).out[0]!)).toMatchObject({ handover });
  });
});

describe('greenlight history', () => {
  const executions = [
    {
      runId: 'run-2',
      status: 'FAILED' as const,
      startTime: new Date('2026-11-28T10:00:00Z'),
      closeTime: new Date('2026-11-28T10:00:04.300Z'),
      searchAttributes: [
        { key: SEARCH_ATTRIBUTES.outcome, value: 'rolled-back' },
        { key: SEARCH_ATTRIBUTES.images, value: ['backend=shop-backend:v3'] },
      ],
    },
    { runId: 'run-1', status: 'RUNNING' as const, startTime: new Date('2026-11-28T09:00:00Z') },
  ];

  it('exit 0 with one line per deploy, newest first; -n limits them', async () => {
    fake.executions = executions;
    const run = await gl(['history', 'shop']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toEqual([
      'started                  outcome              duration  images',
      '2026-11-28T10:00:00.000Z rolled-back          4.3 s     backend=shop-backend:v3',
      '2026-11-28T09:00:00.000Z running              running   ',
    ]);
    expect(fake.listQueries).toEqual(["WorkflowId = 'deploy-shop'"]);
    const one = await gl(['history', 'shop', '-n', '1', '--json']);
    expect(one.code).toBe(EXIT.ok);
    expect(JSON.parse(one.out[0]!)).toEqual([{ runId: 'run-2', workflowStatus: 'FAILED', outcome: 'rolled-back', startedAt: '2026-11-28T10:00:00.000Z', durationMs: 4300, images: ['backend=shop-backend:v3'] }]);
  });

  it('no deploy of the app: exit 2 in text and with --json (which prints [])', async () => {
    expect(await gl(['history', 'shop'])).toMatchObject({ code: EXIT.invalid, out: ['no deploy of shop found: check the app name'] });
    expect(await gl(['history', 'shop', '--json'])).toMatchObject({ code: EXIT.invalid, out: ['[]'] });
  });
});

describe('greenlight schema', () => {
  it('prints the JSON Schema of the deploy spec, exit 0, without connecting', async () => {
    const run = await gl(['schema']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.connects).toBe(0);
    expect(JSON.parse(run.out.join('\n'))).toEqual(deploySpecJsonSchema());
  });

  it('examples/greenlight.schema.json is what it prints', async () => {
    const file = resolve(__dirname, '..', '..', 'examples', 'greenlight.schema.json');
    const run = await gl(['schema']);
    expect(readFileSync(file, 'utf8'), 'examples/greenlight.schema.json is stale: run `npm run -s greenlight -- schema > examples/greenlight.schema.json`').toBe(`${run.out.join('\n')}\n`);
    expect(readFileSync(resolve(file, '..', 'greenlight.yml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/greenlight\.schema\.json$/m);
  });
});

describe('greenlight doctor', () => {
  /** Runs `greenlight doctor ...` on a stand-in for worker/doctor.ts that records what it was asked. */
  async function doctor(args: string[], ok: boolean, env: Record<string, string | undefined> = {}) {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const requests: DoctorRequest[] = [];
    const out: string[] = [];
    let connects = 0;
    const code = await runCli(['node', 'greenlight', 'doctor', ...args], {
      connect: async () => {
        connects++;
        return fake.client;
      },
      out: (line) => out.push(line),
      doctor: async (request, print) => {
        requests.push(request);
        print(ok ? 'ok docker: Docker Engine 20.10.24' : 'FAIL docker: no Docker engine; fix: start it');
        return { ok };
      },
    });
    vi.unstubAllEnvs();
    return { code, requests, out, connects };
  }

  it('every check passing: exit 0; a check failing: exit 4 (the checks print their own lines)', async () => {
    expect(await doctor([], true)).toMatchObject({ code: EXIT.ok, out: ['ok docker: Docker Engine 20.10.24'], connects: 0 });
    expect(await doctor([], false)).toMatchObject({ code: EXIT.infrastructure, out: ['FAIL docker: no Docker engine; fix: start it'] });
  });

  it.each<[string, string[], Record<string, string | undefined>, Partial<DoctorRequest>]>([
    ['defaults', [], { GREENLIGHT_HOST: undefined, GREENLIGHT_HOST_TASK_QUEUE: undefined, GREENLIGHT_TASK_QUEUE: undefined }, { host: null, hostTaskQueue: undefined, taskQueue: 'greenlight', preStart: false, json: false }],
    ['--host, --json', ['--host', 'web-1', '--json'], {}, { host: 'web-1', json: true }],
    ['the host from GREENLIGHT_HOST, as the worker reads it', [], { GREENLIGHT_HOST: 'web-2', GREENLIGHT_HOST_TASK_QUEUE: 'edge', GREENLIGHT_TASK_QUEUE: 'shared' }, { host: 'web-2', hostTaskQueue: 'edge', taskQueue: 'shared' }],
    ['--host over GREENLIGHT_HOST', ['--host', 'web-1'], { GREENLIGHT_HOST: 'web-2' }, { host: 'web-1' }],
    ['--pre-start (systemd ExecStartPre)', ['--pre-start'], {}, { preStart: true }],
  ])('%s', async (_, args, env, expected) => {
    const { requests } = await doctor(args, true, env);
    expect(requests).toEqual([expect.objectContaining(expected)]);
  });
});

describe('greenlight worker', () => {
  it('a bad GREENLIGHT_METRICS_ADDRESS: exit 2 naming the setting and the fix, nothing connected', async () => {
    const saved = process.env.GREENLIGHT_METRICS_ADDRESS;
    process.env.GREENLIGHT_METRICS_ADDRESS = '127.0.0.1:99999';
    try {
      const run = await gl(['worker']);
      expect(run).toMatchObject({ code: EXIT.invalid, connects: 0 });
      expect(run.err).toEqual(['greenlight: GREENLIGHT_METRICS_ADDRESS: port 99999 is out of range 1-65535; expected ip:port, e.g. 127.0.0.1:9464 (loopback: a local Prometheus or agent scrapes it) or 0.0.0.0:9464 (every interface)']);
    } finally {
      if (saved === undefined) delete process.env.GREENLIGHT_METRICS_ADDRESS;
      else process.env.GREENLIGHT_METRICS_ADDRESS = saved;
    }
  });
});

describe('errors around the commands', () => {
  it('Temporal unreachable (connect throws InfrastructureError): exit 4, one line; --verbose adds the stack', async () => {
    const unreachable = () => Promise.reject(new InfrastructureError('cannot reach Temporal at 127.0.0.1:1 (connect ECONNREFUSED): start it with scripts/temporal.sh, or set TEMPORAL_ADDRESS / a config profile'));
    for (const command of [['status', 'shop'], ['history', 'shop'], ['rollback', 'shop'], ['promote', 'shop'], ['cancel', 'shop'], ['deploy', '-f', SPEC_FILE]]) {
      const run = await gl(command, unreachable);
      expect(run.code, command.join(' ')).toBe(EXIT.infrastructure);
      expect(run.err).toEqual(['greenlight: cannot reach Temporal at 127.0.0.1:1 (connect ECONNREFUSED): start it with scripts/temporal.sh, or set TEMPORAL_ADDRESS / a config profile']);
    }
    const verbose = await gl(['status', 'shop', '--verbose'], unreachable);
    expect(verbose.code).toBe(EXIT.infrastructure);
    expect(verbose.err).toHaveLength(2);
    expect(verbose.err[1]).toMatch(/^InfrastructureError: cannot reach Temporal[^]*\n\s+at /);
  });

  it('an unexpected error from Temporal: exit 7 with its message; the connection is still closed', async () => {
    fake.latest = running(deployStatus());
    fake.client.workflow.getHandle = () => {
      throw new Error('13 INTERNAL: boom');
    };
    const run = await gl(['cancel', 'shop']);
    expect(run).toMatchObject({ code: EXIT.unexpected, err: ['greenlight: 13 INTERNAL: boom'] });
    expect(fake.closed).toBe(1);
  });

  it('Temporal lost after connecting (gRPC UNAVAILABLE while following a deploy): exit 4 saying the deploy goes on, not 7', async () => {
    fake.onStart = () => ({ runId: 'run-2', workflowStatus: 'RUNNING', result: () => Promise.reject(temporalUnavailable()), status: null });
    const run = await gl(['deploy', '-f', SPEC_FILE]);
    expect(run.code).toBe(EXIT.infrastructure);
    expect(run.err).toEqual(['greenlight: lost the connection to Temporal (Connection dropped): a deploy it already started goes on there; follow it with `greenlight status` once Temporal is reachable again']);
    expect(fake.closed).toBe(1);
  });

  it("a deploy's describe failing otherwise than not-found is not taken for an unknown app", async () => {
    fake.latest = running(deployStatus());
    const handle = fake.client.workflow.getHandle('deploy-shop');
    fake.client.workflow.getHandle = () => ({ ...handle, describe: () => Promise.reject(new Error('14 UNAVAILABLE')) }) as never;
    expect(await gl(['status', 'shop'])).toMatchObject({ code: EXIT.unexpected, err: ['greenlight: 14 UNAVAILABLE'] });
    // ...while not-found is.
    fake.client.workflow.getHandle = () => ({ ...handle, describe: () => Promise.reject(new WorkflowNotFoundError('not found', 'deploy-shop', undefined)) }) as never;
    expect(await gl(['status', 'shop'])).toMatchObject({ code: EXIT.invalid });
  });

  it.each([
    ['a missing argument', ['status'], /missing required argument 'app'/],
    ['an unknown option', ['deploy', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['deplyo'], /unknown command 'deplyo'/],
    ['no command at all', [], /Usage: greenlight/],
    ['an invalid app name', ['status', 'x" OR WorkflowId!="'], /value 'x" OR WorkflowId!="' is invalid for argument 'app'\. must be [^\n]*lowercase[^\n]*; pass the app: of its spec\n/],
    ['an invalid app name (history)', ['history', "x' OR WorkflowId!='"], /is invalid for argument 'app'/],
    ['an invalid app name (rollback)', ['rollback', 'Shop'], /is invalid for argument 'app'/],
    ['an invalid app name (promote)', ['promote', '../x'], /is invalid for argument 'app'/],
    ['an invalid app name (cancel)', ['cancel', ''], /is invalid for argument 'app'/],
    ['a -n that is not a count', ['history', 'shop', '-n', 'ten'], /option '-n, --limit <n>' argument 'ten' is invalid\. must be a whole number from 1 to 9999/],
    ['a worker metrics address that is a host name', ['worker', '--metrics-address', 'localhost:9464'], /option '--metrics-address <ip:port>' argument 'localhost:9464' is invalid\. "localhost" is not an IP address \(host names are not accepted\); expected ip:port, e\.g\. 127\.0\.0\.1:9464/],
  ])("%s: commander's usage error, exit 2, nothing connected", async (_, args, message) => {
    const run = await gl(args);
    expect(run.code).toBe(EXIT.invalid);
    expect(run.commanderErr).toMatch(message);
    expect(run.err).toEqual([]);
    expect(run.connects).toBe(0);
  });

  it('--help: exit 0, with the exit codes at the top level and an example per command', async () => {
    const top = await gl(['--help']);
    expect(top.code).toBe(EXIT.ok);
    expect(top.commanderOut).toContain('Exit codes:\n  0  success\n  1  the deploy failed after validation');
    for (const command of ['deploy', 'rollback', 'promote', 'cancel', 'status', 'history', 'schema', 'worker', 'doctor']) {
      const help = await gl([command, '--help']);
      expect(help.code, command).toBe(EXIT.ok);
      expect(help.commanderOut, command).toMatch(/Examples?:\n {2}greenlight /);
    }
  });
});
