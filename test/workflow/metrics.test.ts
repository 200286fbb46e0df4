/**
 * greenlight's own metrics (workflows/metrics.ts) on a worker whose runtime serves Prometheus, as
 * `greenlight worker --metrics-address` makes it (worker/metrics.ts), with stubbed activities: each
 * outcome and each rollback reason counted once under its label, each phase timed, and nothing emitted
 * when a history is replayed.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { BUNDLE_PATH, TEMPORAL_BIN } from '../../harness/paths';
import { freeLoopbackPort, samplesOf, scrape, valueOf, type Sample } from '../../harness/metrics';
import { webSpec } from '../../harness/specs';
import type { DeploySpecInput } from '../../src/config/schema';
import { DEPLOY_WORKFLOW, deployWorkflowId, FAILURE_TYPES, METRICS } from '../../src/names';
import type { Route } from '../../src/types';
import { metricsRuntimeOptions } from '../../worker/metrics';
import type { deployWorkflow } from '../../workflows/deploy';
import { rollbackSignal, rollbackUpdate, statusQuery } from '../../workflows/messages';
import { healthyHost, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;
let url: string;

beforeAll(async () => {
  const address = `127.0.0.1:${await freeLoopbackPort()}`;
  Runtime.install({ ...metricsRuntimeOptions(address), logger: new DefaultLogger('ERROR') });
  url = `http://${address}/metrics`;
  env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: TEMPORAL_BIN } } });
});

afterAll(async () => {
  await env?.teardown();
});

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const failure = (type: string, message: string) => ApplicationFailure.nonRetryable(message, type);

async function hang(): Promise<never> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    await ctx.sleep(50);
  }
}

type Handle = Awaited<ReturnType<typeof env.client.workflow.start<typeof deployWorkflow>>>;

/** Runs one deploy of a fresh app on a worker with `stubs`; `drive` may message it; returns the app and the task queue. */
async function deploy(stubs: Stubs, specOverrides: Partial<DeploySpecInput> = {}, drive: (handle: Handle) => Promise<void> = async () => undefined, workerOptions: Partial<WorkerOptions> = {}) {
  const app = `metrics-${randomUUID().slice(0, 8)}`;
  const taskQueue = `workflow-test-${app}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: BUNDLE_PATH },
    activities: { ...healthyHost(() => BLUE_LIVE), ...stubs },
    ...workerOptions,
  });
  const spec = webSpec(app, { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } }, specOverrides);
  const handle = await worker.runUntil(async () => {
    const h = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue, workflowId: deployWorkflowId(app), args: [{ spec }] });
    await drive(h);
    await h.result().catch(() => undefined);
    return h;
  });
  return { app, taskQueue, handle };
}

async function waitForPhase(handle: Handle, phase: string): Promise<void> {
  await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 20_000, interval: 100 }).toBe(phase);
}

/** The scrape once the app's deploy is counted (the sink reaches the exporter just after the workflow task). */
async function scrapeAfter(app: string): Promise<Sample[]> {
  let samples: Sample[] = [];
  await expect.poll(async () => valueOf((samples = await scrape(url)), METRICS.deploys, { app }), { timeout: 10_000, interval: 100 }).toBeGreaterThan(0);
  return samples;
}

/** Every greenlight counter series of `app`, as `name{label=value}` -> value (the labels that vary only). */
function countersOf(samples: Sample[], app: string): Record<string, number> {
  return Object.fromEntries(
    [...samplesOf(samples, METRICS.deploys, { app }).map((s) => [`deploys{outcome=${s.labels.outcome}}`, s.value]), ...samplesOf(samples, METRICS.rollbacks, { app }).map((s) => [`rollbacks{reason=${s.labels.reason}}`, s.value])],
  );
}

/** The phases of `app` timed in the histogram, with how many times each. */
function phasesTimed(samples: Sample[], app: string): Record<string, number> {
  return Object.fromEntries(samplesOf(samples, `${METRICS.phaseDuration}_count`, { app }).map((s) => [s.labels.phase, s.value]));
}

describe("greenlight's metrics from the deploy workflow", () => {
  it('a deploy that succeeds: counted once as succeeded, every phase it ran timed once, with bounded labels', async () => {
    const { app, taskQueue } = await deploy({ verify: async (_s, c) => { await new Promise((r) => setTimeout(r, 300)); return { color: c, samples: 3, errors: 0, errorRate: 0, p50Ms: 2, baselineP50Ms: 2, durationMs: 300 }; } });
    const samples = await scrapeAfter(app);
    expect(countersOf(samples, app)).toEqual({ 'deploys{outcome=succeeded}': 1 });
    expect(phasesTimed(samples, app)).toEqual({ validate: 1, 'deploy-green': 1, 'health-check': 1, switch: 1, verify: 1, cleanup: 1 });
    // The SDK adds where it ran (camelCase, as its workflow meter names them); nothing else (no image, id or free text) is a label.
    expect(samplesOf(samples, METRICS.deploys, { app })[0]!.labels).toEqual({ app, outcome: 'succeeded', namespace: 'default', taskQueue, workflowType: DEPLOY_WORKFLOW });
    // verify took its 300 ms (workflow time: from entering verify to entering cleanup).
    const verifySeconds = valueOf(samples, `${METRICS.phaseDuration}_sum`, { app, phase: 'verify' });
    expect(verifySeconds).toBeGreaterThanOrEqual(0.3);
    expect(verifySeconds).toBeLessThan(10);
    expect(valueOf(samples, `${METRICS.phaseDuration}_bucket`, { app, phase: 'verify', le: '0.1' })).toBe(0);
    expect(valueOf(samples, `${METRICS.phaseDuration}_bucket`, { app, phase: 'verify', le: '3600' })).toBe(1);
  });

  it.each<[string, Stubs, Partial<DeploySpecInput>, ((h: Handle) => Promise<void>) | undefined, Record<string, number>]>([
    ['the health gate fails', { healthCheck: async () => { throw failure(FAILURE_TYPES.healthCheck, 'green did not become healthy'); } }, {}, undefined, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=health-check-failed}': 1 }],
    ['verify fails', { verify: async () => { throw failure(FAILURE_TYPES.verify, 'error rate 50%'); } }, {}, undefined, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=verify-failed}': 1 }],
    ['deploy-green fails', { deployColor: async () => { throw failure(FAILURE_TYPES.portInUse, 'host port 18081 is already in use'); } }, {}, undefined, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=deploy-green-failed}': 1 }],
    ['the rollback update (greenlight rollback) during verify', { verify: () => hang() }, {}, async (h) => { await waitForPhase(h, 'verify'); await h.executeUpdate(rollbackUpdate, { args: ['checkout errors'] }); }, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=manual}': 1 }],
    ['the rollback signal (the UI), twice: counted once', { verify: () => hang() }, {}, async (h) => { await waitForPhase(h, 'verify'); await h.signal(rollbackSignal, 'from the UI'); await h.signal(rollbackSignal, 'again'); }, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=signal}': 1 }],
    ['a cancellation during the health gate', { healthCheck: () => hang() }, {}, async (h) => { await waitForPhase(h, 'health-check'); await h.cancel(); }, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=cancelled}': 1 }],
    ['the promotion gate times out', {}, { promotion: { manual: true, timeout: '1s' } }, undefined, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=promotion-timeout}': 1 }],
    ["the deploy's own time limit", { healthCheck: () => hang() }, { timeout: '2s' }, undefined, { 'deploys{outcome=rolled-back}': 1, 'rollbacks{reason=time-limit}': 1 }],
    ['a validation command fails: no rollback, nothing was deployed', { runValidationCommands: async () => { throw failure(FAILURE_TYPES.validationCommand, 'lint exited 1'); } }, { validate: { commands: [{ name: 'lint', service: 'web', run: ['false'] }] } }, undefined, { 'deploys{outcome=validation-failed}': 1 }],
    [
      'compensation cannot finish',
      { verify: async () => { throw failure(FAILURE_TYPES.verify, 'green failing'); }, removeColor: async () => { throw failure(FAILURE_TYPES.invariant, 'refusing to remove green'); } },
      {},
      undefined,
      { 'deploys{outcome=compensation-failed}': 1, 'rollbacks{reason=verify-failed}': 1 },
    ],
  ])('%s: counted under its outcome and reason', async (_case, stubs, specOverrides, drive, counters) => {
    const { app } = await deploy(stubs, specOverrides, drive);
    const samples = await scrapeAfter(app);
    expect(countersOf(samples, app)).toEqual(counters);
    if (counters['deploys{outcome=rolled-back}'] || counters['deploys{outcome=compensation-failed}']) expect(phasesTimed(samples, app).compensation).toBe(1);
  });

  it('a worker that keeps no workflow in its cache (each task replays the history so far) still counts each deploy and phase once', async () => {
    const { app } = await deploy({}, {}, undefined, { maxCachedWorkflows: 0 });
    const samples = await scrapeAfter(app);
    expect(countersOf(samples, app)).toEqual({ 'deploys{outcome=succeeded}': 1 });
    expect(phasesTimed(samples, app)).toEqual({ validate: 1, 'deploy-green': 1, 'health-check': 1, switch: 1, verify: 1, cleanup: 1 });
  });

  it('a replayed history emits nothing: a deploy picked up again by another worker is not counted twice', async () => {
    const { app, handle } = await deploy({ verify: async () => { throw failure(FAILURE_TYPES.verify, 'error rate 50%'); } });
    const before = await scrapeAfter(app);
    await Worker.runReplayHistory({ workflowBundle: { codePath: BUNDLE_PATH } }, await handle.fetchHistory(), handle.workflowId);
    const after = await scrape(url);
    expect(countersOf(after, app)).toEqual(countersOf(before, app));
    expect(phasesTimed(after, app)).toEqual(phasesTimed(before, app));
  });
});
