/**
 * The per-app lock (the workflow id deploy-<app>) cannot be held forever: a hung deploy is rolled back
 * by its own time limit, the server's execution timeout is a backstop, and `greenlight cancel` stops a
 * deploy with its compensation. After each, a new deploy of the app starts at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { statusQuery } from '../../workflows/messages';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { DEPLOY_WORKFLOW, deployWorkflowId } from '../../src/names';
import { cli } from '../../harness/cli';
import { appContainers, resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'lock-shop';
const BASE = 4400;
const TASK_QUEUE = 'e2e-lock';
const base = twoServiceSpec(APP, BASE, { verify: { window: '1s', interval: '100ms' } });
const hung = { backend: 'greenlight-example-backend:hang' };
const hangingHealth = { health: { interval: '200ms', timeout: '500ms', successes: 3, deadline: '10m' } };
let w: TestWorker;

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  expect((await awaitOutcome(await startDeploy(w.client, withImages(base, {}), TASK_QUEUE))).exitCode).toBe(EXIT.ok);
});

afterAll(async () => {
  await w?.stop();
});

async function nextDeployStarts(): Promise<void> {
  const handle = await startDeploy(w.client, withImages(base, {}), TASK_QUEUE);
  expect((await awaitOutcome(handle)).exitCode).toBe(EXIT.ok);
}

describe('the per-app lock is bounded', () => {
  it("a hung deploy is rolled back by the deploy's own time limit, then the lock is free", async () => {
    const started = Date.now();
    const outcome = await awaitOutcome(await startDeploy(w.client, withImages({ ...base, ...hangingHealth, timeout: '5s' }, hung), TASK_QUEUE));
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.status?.rollbackReason).toBe('the deploy exceeded its time limit (timeout: 5000 ms)');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await appContainers(w.docker, APP)).filter((c) => c.state === 'running')).toHaveLength(2);
    await nextDeployStarts();
  });

  it("the server's execution timeout is a backstop: the lock ends with the timed-out execution", async () => {
    // A deploy no worker ever picks up (nothing touched), bounded by a 5 s execution timeout.
    const orphan = await w.client.workflow.start(DEPLOY_WORKFLOW, {
      taskQueue: 'e2e-lock-no-worker',
      workflowId: deployWorkflowId(APP),
      args: [{ spec: withImages(base, {}) }],
      workflowIdConflictPolicy: 'FAIL',
      workflowExecutionTimeout: '5s',
    });
    await expect(startDeploy(w.client, withImages(base, {}), TASK_QUEUE)).rejects.toThrow(`a deploy of "${APP}" is already running`);
    await expect.poll(async () => (await orphan.describe()).status.name, { timeout: 30_000, interval: 200, message: 'the execution timeout' }).toBe('TIMED_OUT');
    await nextDeployStarts();
  });

  it('`greenlight cancel` stops a hung deploy with its compensation: new containers removed, live color untouched', async () => {
    const live = (await w.router.readRoute(APP))!;
    const handle = await startDeploy(w.client, withImages({ ...base, ...hangingHealth }, hung), TASK_QUEUE);
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 50, message: 'the deploy to reach health-check' }).toBe('health-check');
    const result = await cli(['cancel', APP]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toContain(`cancel of the deploy of ${APP} requested`);
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const status = await handle.query(statusQuery);
    expect(status.outcome).toBe('rolled-back');
    expect(status.phases.map((p) => p.phase)).toEqual(['validate', 'deploy-green', 'health-check', 'compensation', 'done']);
    expect(await w.router.readRoute(APP)).toEqual(live);
    expect((await appContainers(w.docker, APP)).filter((c) => c.name.endsWith(live.live))).toHaveLength(2);
    expect((await appContainers(w.docker, APP)).filter((c) => c.image === hung.backend)).toEqual([]);
    // Cancelling again: nothing runs.
    expect((await cli(['cancel', APP])).code).toBe(EXIT.refused);
    await nextDeployStarts();
  });
});
