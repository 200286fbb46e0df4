/**
 * Deploy windows in the workflow, on Temporal's time-skipping test server (scripts/temporal-test-server.sh,
 * from Maven Central): a deploy outside its window waits hours on a durable timer the server skips, then
 * runs; a cancel or rollback while it waits ends it with nothing called on the host; a refusal and an
 * override. Real-time waits (seconds) and the CLI's exit 10 are proven end to end (test/e2e/windows.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { BUNDLE_PATH, REPO } from '../../harness/paths';
import { webSpec } from '../../harness/specs';
import type { DeploySpecInput } from '../../src/config/schema';
import { DEPLOY_WORKFLOW, deployWorkflowId, FAILURE_TYPES, PATCHES } from '../../src/names';
import type { DeployInput, DeployStatus } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';
import { patchesOf, runDeploy } from './stubs';

let env: TestWorkflowEnvironment;

const TEST_SERVER = resolve(REPO, 'scripts', 'temporal-test-server.sh');

beforeAll(async () => {
  // Resolved (downloaded once from Maven Central, cached in .tools/) before the SDK waits for its port.
  execFileSync('bash', [TEST_SERVER, '--fetch'], { stdio: 'inherit', timeout: 300_000 });
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
}, 360_000);

afterAll(async () => {
  await env?.teardown();
});

const HOUR = 3_600_000;
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

/** A window (UTC, every day) from `fromMs` ahead of the server's (skipped) time, on whole minutes, an hour long. */
async function windowAhead(fromMs: number): Promise<{ allow: Array<{ hours: string }>; opensAt: number }> {
  const opensAt = Math.ceil((Number(await env.currentTimeMs()) + fromMs) / 60_000) * 60_000;
  return { allow: [{ hours: `${hhmm(opensAt)}-${hhmm(opensAt + HOUR)}` }], opensAt };
}

const spec = (app: string, overrides: Partial<DeploySpecInput>) => webSpec(app, { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } }, { timeout: '10m', ...overrides });
const CALLS = { describe: {} };

/** Waits (on the real clock: the deploy's timer holds the skipped time) until the deploy reports the window phase. */
async function atTheWindow(handle: WorkflowHandle<typeof deployWorkflow>): Promise<DeployStatus> {
  for (let i = 0; i < 200; i++) {
    const status = await handle.query(statusQuery).catch(() => null);
    if (status?.phase === 'window') return status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the deploy never reached the window phase');
}

describe('deploy windows (time-skipping server)', () => {
  it('outside its window the deploy waits (hours, skipped) on a durable timer, then runs; its time limit counts from the opening', async () => {
    const { allow, opensAt } = await windowAhead(3 * HOUR);
    const input: DeployInput = { spec: spec('win-wf-wait', { windows: { allow } }) };
    let seen: DeployStatus | null = null;
    const run = await runDeploy(env, input, { live: null, ...CALLS }, async (handle) => {
      seen = await atTheWindow(handle);
    });
    const iso = new Date(opensAt).toISOString();
    expect(seen!.waitingFor).toBe(`the deploy window until ${iso}`);
    expect(seen!.window).toEqual({ startedInside: false, opensAt: iso, override: null });
    expect(run.failure).toBeNull();
    expect(run.status.outcome).toBe('succeeded');
    expect(run.calls.slice(0, 2)).toEqual(['validateSpec', 'identifyHost']);
    expect(run.calls).toContain('switchTraffic');
    // The wait is a phase of its own, before validate; validate starts once the window opened.
    expect(run.status.phases.map((p) => p.phase).slice(0, 2)).toEqual(['window', 'validate']);
    const validateAt = Date.parse(run.status.phases[1]!.startedAt);
    expect(validateAt).toBeGreaterThanOrEqual(opensAt);
    expect(validateAt).toBeLessThan(opensAt + 60_000);
    // The 10-minute time limit did not fire during the three hours' wait: it is scheduled after it.
    const timers = (run.history.events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds));
    expect(timers[0]).toBeGreaterThan(2 * 3600);
    expect(timers[1]).toBe(600);
    expect(patchesOf(run.history)).toContain(PATCHES.deployWindows);
  });

  it('a cancel while waiting ends the deploy with nothing called on the host', async () => {
    const input: DeployInput = { spec: spec('win-wf-cancel', { windows: { allow: (await windowAhead(5 * HOUR)).allow } }) };
    const run = await runDeploy(env, input, { live: null, ...CALLS }, async (handle) => {
      await atTheWindow(handle);
      await handle.cancel();
    });
    expect(run.failure).toBeInstanceOf(CancelledFailure);
    expect(run.calls).toEqual([]);
    expect((run.history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
  });

  it('a rollback while waiting ends it rolled back before anything was deployed, nothing called', async () => {
    const input: DeployInput = { spec: spec('win-wf-rollback', { windows: { allow: (await windowAhead(5 * HOUR)).allow } }) };
    const run = await runDeploy(env, input, { live: null, ...CALLS }, async (handle) => {
      await atTheWindow(handle);
      await handle.executeUpdate(rollbackUpdate, { args: ['not today'] });
    });
    expect(run.calls).toEqual([]);
    expect(run.failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(run.failure?.message).toBe('rolled back before anything was deployed: not today');
    expect(run.status.outcome).toBe('rolled-back');
  });

  it.each<[string, Partial<DeploySpecInput>, DeployInput['window'], string]>([
    ['windows.outside: refuse', { outside: 'refuse' } as Partial<DeploySpecInput>, undefined, 'windows.outside: refuse'],
    ['--outside-window refuse over windows.outside: wait', {}, { outside: 'refuse' }, '--outside-window refuse'],
  ])('%s: refused at once, nothing called, failure type OutsideDeployWindow', async (_what, windowsOver, window, said) => {
    const app = `win-wf-refuse-${window ? 'flag' : 'spec'}`;
    const { allow, opensAt } = await windowAhead(2 * HOUR);
    const run = await runDeploy(env, { spec: spec(app, { windows: { allow, ...windowsOver } }), ...(window && { window }) }, { live: null, ...CALLS });
    expect(run.calls).toEqual([]);
    expect(run.failure).toBeInstanceOf(ApplicationFailure);
    expect(run.failure?.type).toBe(FAILURE_TYPES.validationFailed);
    expect(run.status.failureType).toBe(FAILURE_TYPES.outsideWindow);
    expect(run.status.outcome).toBe('validation-failed');
    expect(run.status.lastError).toBe(`outside the deploy window: it opens at ${new Date(opensAt).toISOString()} (UTC time); ${said}: deploy then, or pass --override --reason "..."`);
    expect(run.status.phases.map((p) => p.phase)).toEqual(['done']);
  });

  it('--override deploys now, recording who and why; no wait', async () => {
    const override = { reason: 'hotfix INC-42', by: 'ci-job-7' };
    const run = await runDeploy(env, { spec: spec('win-wf-override', { windows: { allow: (await windowAhead(2 * HOUR)).allow, outside: 'refuse' } }), window: { override } }, { live: null, ...CALLS });
    expect(run.failure).toBeNull();
    expect(run.status.window).toEqual({ startedInside: false, opensAt: expect.any(String), override });
    expect(run.status.phases.map((p) => p.phase)[0]).toBe('validate');
    // The override is in the history: the deploy's input.
    const started = run.history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(JSON.parse(Buffer.from(started.data!).toString('utf8')).window).toEqual({ override });
  });

  it('inside the window the deploy goes on at once (and says so)', async () => {
    const run = await runDeploy(env, { spec: spec('win-wf-inside', { windows: { deny: [{ days: 'sun', hours: '00:00-00:01' }, { days: 'sun', hours: '00:02-00:03' }] } }) }, { live: null, ...CALLS });
    // A deny of two minutes a week: the test would have to start in them to see anything else.
    expect(run.status.window?.startedInside).toBe(true);
    expect(run.status.phases.map((p) => p.phase)[0]).toBe('validate');
  });

  it('a fleet deploy waits for its window before any host is asked anything, and a cancel ends it there', async () => {
    const hosts = [{ name: 'web-1' }, { name: 'web-2' }];
    const fleetSpec = spec('win-wf-fleet', { hosts, windows: { allow: (await windowAhead(4 * HOUR)).allow } });
    // No host workers at all: a host step would hang on its queue; the window comes first.
    const handle = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue: 'workflow-test-win-wf-fleet', workflowId: deployWorkflowId('win-wf-fleet'), args: [{ spec: fleetSpec }] });
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: 'workflow-test-win-wf-fleet', workflowBundle: { codePath: BUNDLE_PATH } });
    await worker.runUntil(async () => {
      const status = await atTheWindow(handle);
      expect(status.waitingFor).toMatch(/^the deploy window until /);
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    const history = await handle.fetchHistory();
    expect((history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes)).toEqual([]);
  });
});
