/**
 * The app monitor (workflows/monitor.ts, workflows/monitoring.ts) on a real local Temporal server with
 * stubbed host steps: a deploy with `monitor:` starts it, its bake keeps the previous color and rolls
 * back to it on an alert, the next deploy ends it (and starts it again when it rolls back), an alert
 * and a recovery reach the webhooks, and it continues as new carrying its state. The real parts (probes,
 * Docker, nginx) are in test/e2e/monitor.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createMonitorActivities } from '../../activities/monitor';
import { BUNDLE_PATH } from '../../harness/paths';
import { parseDeploySpec } from '../../src/config/load';
import { initialMonitorStatus, type MonitorInput, type MonitorView } from '../../src/monitor';
import { DEPLOY_WORKFLOW, deployWorkflowId, FAILURE_TYPES, MESSAGES, MONITOR_WORKFLOW, monitorWorkflowId, PATCHES } from '../../src/names';
import type { NotifyFacts } from '../../src/notify';
import type { DeployInput, DeployStatus } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import type { monitorWorkflow } from '../../workflows/monitor';
import { patchesOf, recordingHost, startLocalTestEnvironment, type CallDescriptions, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startLocalTestEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

const specOf = (app: string, image: string, monitor: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) =>
  parseDeploySpec({
    app,
    services: { web: { image, port: 8080, hostPorts: { blue: 18080, green: 18081 } } },
    verify: { window: 0 },
    cleanup: { drain: 0 },
    notify: { webhooks: [{ url: 'http://127.0.0.1:1/hook' }], timeout: '5s' },
    ...(monitor ? { monitor } : {}),
    ...extra,
  });

const describeCalls: CallDescriptions = {
  switchTraffic: (_s: unknown, route: { live: string; backup: string | null }) => `${route.live}${route.backup ? `+${route.backup}` : ''}`,
  retireColor: (_s: unknown, color: string, policy: string) => `${color}:${policy}`,
  checkColorHealth: (_s: unknown, color: string) => color,
  monitorRound: (_s: unknown, color: string) => color,
  endMonitor: (app: string) => app,
};

/** A worker on the app's queue over a recording host whose live route is blue, with the real endMonitor; `body` runs while it polls. */
async function withWorker<T>(app: string, overrides: Stubs, body: (h: { calls: string[]; notified: string[]; taskQueue: string }) => Promise<T>): Promise<T> {
  const taskQueue = `monitor-test-${app}`;
  const calls: string[] = [];
  const notified: string[] = [];
  const activities = recordingHost(calls, { live: 'blue', backup: null }, {
    endMonitor: createMonitorActivities().endMonitor,
    notifyWebhook: async (_s, _i, facts: NotifyFacts) => {
      notified.push(facts.event);
      return { status: 204 };
    },
    ...overrides,
  }, describeCalls);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH }, activities });
  return worker.runUntil(body({ calls, notified, taskQueue }));
}

async function deploy(taskQueue: string, input: DeployInput): Promise<{ status: DeployStatus; runId: string; patches: string[] }> {
  const handle = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue, workflowId: deployWorkflowId(input.spec.app), args: [input] });
  let status: DeployStatus;
  try {
    status = await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    status = (err.cause as { details?: unknown[] }).details?.[0] as DeployStatus;
  }
  return { status, runId: handle.firstExecutionRunId, patches: patchesOf(await handle.fetchHistory()) };
}

const monitorView = (app: string) => env.client.workflow.getHandle(monitorWorkflowId(app)).query<MonitorView>(MESSAGES.monitor);

/** Polls the monitor's view until `done` holds (the monitor runs one round a second). */
async function until(app: string, done: (view: MonitorView) => boolean, ms = 20_000): Promise<MonitorView> {
  const deadline = Date.now() + ms;
  for (;;) {
    const view = await monitorView(app).catch(() => null);
    if (view && done(view)) return view;
    if (Date.now() > deadline) throw new Error(`the monitor of ${app} did not get there within ${ms} ms: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const withoutRounds = (calls: string[]) => calls.filter((c) => !c.startsWith('monitorRound'));

describe('monitor and bake', () => {
  it('the bake keeps blue running; an alert rolls traffic back to it and stops green; the next deploy ends the monitor and starts its own', async () => {
    const app = `mon-bake-${randomUUID().slice(0, 6)}`;
    let broken = false;
    await withWorker(app, { monitorRound: async (_s, color) => ({ probes: 4, failures: broken && color === 'green' ? ['web: GET http://127.0.0.1:18081/health -> HTTP 503'] : [] }) }, async ({ calls, notified, taskQueue }) => {
      const first = await deploy(taskQueue, { spec: specOf(app, 'web:v2', { interval: '1s', alertAfter: 2, bake: '1m' }) });
      expect(first.status.outcome).toBe('succeeded');
      expect(first.patches).toEqual(expect.arrayContaining([PATCHES.appMonitor, PATCHES.monitorBake]));
      expect(first.status.monitor).toEqual({ workflowId: monitorWorkflowId(app), bakeUntil: expect.any(String) });
      // The cleanup dropped the backup and kept blue running (no retireColor); the monitor was ended (none ran) first.
      expect(withoutRounds(calls).filter((c) => /^(endMonitor|switchTraffic|retireColor)/.test(c))).toEqual([`endMonitor:${app}`, 'switchTraffic:green+blue', 'switchTraffic:green']);
      const baking = await until(app, (v) => v.rounds >= 1);
      expect(baking).toMatchObject({ health: 'baking', color: 'green', deployId: first.runId, bake: { previousColor: 'blue', state: 'baking' } });

      const before = calls.length;
      broken = true;
      const rolled = await until(app, (v) => v.rollback !== null);
      expect(rolled).toMatchObject({ color: 'blue', health: 'healthy', alerts: 1, bake: { state: 'rolled-back' }, rollback: { from: 'green', to: 'blue' }, images: { web: 'web:v1' } });
      expect(rolled.rollback!.reason).toMatch(/^2 failed rounds in a row during the bake: web: GET http:\/\/127\.0\.0\.1:18081\/health -> HTTP 503$/);
      // blue checked, traffic back to it, green stopped (kept for its logs); the rounds go on, on blue.
      // The alert's notification goes beside the rollback, never before it: both webhooks calls and the three steps, in order.
      const after = withoutRounds(calls.slice(before));
      expect(after.filter((c) => c !== 'notifyWebhook')).toEqual(['checkColorHealth:blue', 'switchTraffic:blue', 'retireColor:green:stop']);
      // The Temporal UI's current details say the same (the SDK's metadata query).
      const metadata = await env.client.workflow.getHandle(monitorWorkflowId(app)).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain(`bake rollback at ${rolled.rollback!.at}: green -> blue: ${rolled.rollback!.reason}`);
      await until(app, () => notified.length === 4);
      expect(notified).toEqual(['started', 'succeeded', 'monitor-alert', 'rolled-back']);
      await until(app, (v) => v.rounds > rolled.rounds);
      expect(calls.slice(before).filter((c) => c.startsWith('monitorRound')).at(-1)).toBe('monitorRound:blue');

      // The next deploy (no monitor in its spec) ends it before it changes anything: the monitor returns its state.
      const second = await deploy(taskQueue, { spec: specOf(app, 'web:v3', undefined) });
      expect(second.status.outcome).toBe('succeeded');
      const ended = (await env.client.workflow.getHandle(monitorWorkflowId(app)).result()) as MonitorInput;
      expect(ended.status).toMatchObject({ color: 'blue', deployId: first.runId, rollback: { to: 'blue' } });
      expect((await env.client.workflow.getHandle(monitorWorkflowId(app)).describe()).status.name).toBe('COMPLETED');
      expect(second.status.monitor).toBeUndefined();
    });
  });

  it('a deploy that rolls back starts the monitor it ended again, as it was', async () => {
    const app = `mon-resume-${randomUUID().slice(0, 6)}`;
    let verifyFails = false;
    const overrides: Stubs = {
      verify: async (_s, color) => {
        if (verifyFails) throw ApplicationFailure.nonRetryable(`${color} answered 503 in verify`, FAILURE_TYPES.verify);
        return { color, samples: 30, errors: 0, errorRate: 0, p50Ms: 2, baselineP50Ms: 2, durationMs: 10 };
      },
    };
    await withWorker(app, overrides, async ({ taskQueue, notified }) => {
      const first = await deploy(taskQueue, { spec: specOf(app, 'web:v2', { interval: '1s' }) });
      expect(first.status.outcome).toBe('succeeded');
      const running = await until(app, (v) => v.rounds >= 2);
      expect(running).toMatchObject({ deployId: first.runId, health: 'healthy', bake: null });
      verifyFails = true;
      const failed = await deploy(taskQueue, { spec: specOf(app, 'web:v3', { interval: '1s' }) });
      expect(failed.status.outcome).toBe('rolled-back');
      // The same monitor (the first deploy's), its rounds counted on.
      const resumed = await until(app, (v) => v.rounds > running.rounds);
      expect(resumed).toMatchObject({ deployId: first.runId, color: 'green' });
      expect(notified).toEqual(['started', 'succeeded', 'started', 'rolled-back']);
      await env.client.workflow.getHandle(monitorWorkflowId(app)).terminate('test over');
    });
  });

  it('without a bake: an alert after alertAfter failed rounds and a recovery, both to the webhooks; nothing is switched', async () => {
    const app = `mon-alert-${randomUUID().slice(0, 6)}`;
    let failing = false;
    await withWorker(app, { monitorRound: async () => ({ probes: 4, failures: failing ? ['web: GET http://127.0.0.1:18081/api -> timeout of 2000ms exceeded'] : [] }) }, async ({ calls, notified, taskQueue }) => {
      const first = await deploy(taskQueue, { spec: specOf(app, 'web:v2', { interval: '1s', alertAfter: 3 }) });
      expect(first.status.outcome).toBe('succeeded');
      // Without a bake the cleanup retires blue as always.
      expect(calls).toContain('retireColor:blue:stop');
      await until(app, (v) => v.rounds >= 1);
      failing = true;
      const alerting = await until(app, (v) => v.alerting);
      expect(alerting).toMatchObject({ health: 'unhealthy', alerts: 1, rollback: null });
      // Raised on the third failed round (a later query may see a fourth).
      expect(alerting.consecutiveFailures).toBeGreaterThanOrEqual(3);
      expect(Date.parse(alerting.alertedAt!)).toBeLessThanOrEqual(Date.parse(alerting.lastFailure!.at));
      const before = calls.length;
      failing = false;
      const recovered = await until(app, (v) => !v.alerting);
      expect(recovered).toMatchObject({ health: 'healthy', consecutiveFailures: 0, alerts: 1 });
      expect(withoutRounds(calls.slice(before))).toEqual(['notifyWebhook']);
      expect(notified).toEqual(['started', 'succeeded', 'monitor-alert', 'monitor-recovered']);
      await env.client.workflow.getHandle(monitorWorkflowId(app)).terminate('test over');
    });
  });

  it('a restore (greenlight rollback) with a bake in its spec retires the color it undid and watches without a bake', async () => {
    const app = `mon-restore-${randomUUID().slice(0, 6)}`;
    await withWorker(app, {}, async ({ calls, taskQueue }) => {
      const run = await deploy(taskQueue, { spec: specOf(app, 'web:v1', { interval: '1s', bake: '1m' }), restore: { reason: 'v2 broke', fromRunId: 'run-v2' } });
      expect(run.status.outcome).toBe('succeeded');
      expect(calls).toContain('retireColor:blue:stop');
      expect(run.status.monitor).toEqual({ workflowId: monitorWorkflowId(app), bakeUntil: null });
      expect(await until(app, (v) => v.rounds >= 1)).toMatchObject({ health: 'healthy', bake: null });
      await env.client.workflow.getHandle(monitorWorkflowId(app)).terminate('test over');
    });
  });

  it('continues as new every roundsPerRun rounds, carrying its counters', async () => {
    const app = `mon-can-${randomUUID().slice(0, 6)}`;
    await withWorker(app, { monitorRound: async () => ({ probes: 1, failures: ['web: down'] }) }, async ({ taskQueue }) => {
      const spec = specOf(app, 'web:v2', { interval: '1s', alertAfter: 100 });
      const status = initialMonitorStatus(spec, 'run-x', 'green', 'blue', Date.now());
      const input: MonitorInput = { spec, hosts: [{ name: null, spec, color: 'green', previousColor: 'blue' }], images: { web: 'web:v2' }, previousImages: { web: 'web:v1' }, searchAttributes: false, status, roundsPerRun: 2 };
      const handle = await env.client.workflow.start<typeof monitorWorkflow>(MONITOR_WORKFLOW, { taskQueue, workflowId: monitorWorkflowId(app), args: [input] });
      const view = await until(app, (v) => v.rounds >= 5);
      expect(view.consecutiveFailures).toBe(view.rounds);
      expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
      await handle.terminate('test over');
    });
  });
});
