/**
 * The deploy queue (workflows/queue.ts) on a real local Temporal server with stubbed activities, driven
 * through the CLI's own client code (src/cli/queue-client.ts): the latest request wins, a superseded one
 * learns by whom, and the winner starts as deploy-<app> only once the running deploy has ended.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { awaitQueueOutcome, enqueueDeploy, readQueue } from '../../src/cli/queue-client';
import { DEPLOY_WORKFLOW, deployWorkflowId, queueWorkflowId } from '../../src/names';
import type { Route } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { promoteUpdate, statusQuery } from '../../workflows/messages';
import { BUNDLE_PATH, REPO } from '../../harness/paths';
import { webSpec } from '../../harness/specs';
import { healthyHost, startLocalTestEnvironment } from './stubs';

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
const taskQueue = 'workflow-test-queue';
const BLUE_LIVE: Route = { live: 'blue', backup: null };

beforeAll(async () => {
  env = await startLocalTestEnvironment();
  worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH }, activities: healthyHost(() => BLUE_LIVE) });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

const spec = (app: string, image: string, manual = false) => webSpec(app, { image, port: 8080, hostPorts: { blue: 18080, green: 18081 } }, manual ? { promotion: { manual: true, timeout: '5m' } } : {});

async function waitFor(fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deploy queue', () => {
  it('waits for the running deploy; the latest request wins, the earlier learns which replaced it', async () => {
    const app = 'q-wf-latest';
    const first = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue, workflowId: deployWorkflowId(app), args: [{ spec: spec(app, 'web:v1', true) }] });
    await waitFor(async () => (await first.query(statusQuery)).phase === 'promotion-gate');

    const r1 = await enqueueDeploy(env.client, spec(app, 'web:v2'), taskQueue, 'ci-1');
    const r2 = await enqueueDeploy(env.client, spec(app, 'web:v3'), taskQueue, 'ci-2');
    expect(await awaitQueueOutcome(env.client, app, r1.requestId)).toEqual({ requestId: r1.requestId, requestedBy: 'ci-1', result: 'superseded', by: { requestId: r2.requestId, requestedBy: 'ci-2', requestedAt: r2.requestedAt } });
    // r2 waits while the first deploy holds the gate (each retry of its start refused by the id).
    await new Promise((r) => setTimeout(r, 3_000));
    const queue = await readQueue(env.client, app);
    expect(queue?.waiting?.requestId ?? queue?.starting?.requestId).toBe(r2.requestId);
    expect(queue?.outcomes.map((o) => o.result)).toEqual(['superseded']);

    await first.executeUpdate(promoteUpdate, { args: [] });
    await first.result();
    const won = await awaitQueueOutcome(env.client, app, r2.requestId);
    if (won.result !== 'started') throw new Error(`expected started, got ${JSON.stringify(won)}`);
    expect(won.deployId).toBe(deployWorkflowId(app));
    const deploy = env.client.workflow.getHandle<typeof deployWorkflow>(won.deployId, won.runId);
    const status = await deploy.result();
    expect(status.images).toEqual({ web: 'web:v3' });
    expect(status.requestedBy).toBe('ci-2');
    // A child the queue abandoned (ParentClosePolicy.ABANDON): it ends on its own, like any deploy.
    expect((await deploy.describe()).status.name).toBe('COMPLETED');
    // GREENLIGHT_RECORD_HISTORIES=1 keeps the queue's history (up to now: it lingers idle) for the replay test.
    if (process.env.GREENLIGHT_RECORD_HISTORIES === '1') {
      const history = await env.client.workflow.getHandle(queueWorkflowId(app)).fetchHistory();
      writeFileSync(join(REPO, 'test', 'histories', 'queue-latest-wins.json'), historyToJSON(history));
    }
  }, 90_000);

  it('starts at once when no deploy of the app runs', async () => {
    const app = 'q-wf-idle';
    const request = await enqueueDeploy(env.client, spec(app, 'web:v2'), taskQueue, 'ci-idle');
    const outcome = await awaitQueueOutcome(env.client, app, request.requestId);
    expect(outcome).toMatchObject({ requestId: request.requestId, result: 'started', deployId: deployWorkflowId(app) });
    const queue = await env.client.workflow.getHandle(queueWorkflowId(app)).describe();
    expect(queue.status.name).toBe('RUNNING');
  }, 60_000);
});
