/**
 * One deploy, one machine, on a shared task queue (issue 11, item 7): two real workers poll one queue,
 * each over a different Docker engine (stub activities behind the real `heartbeating` wrapper). The
 * deploy's first step pins it to the engine that ran it; every later step carries that engine, and the
 * other machine's worker refuses it (retryably) until it lands on the deploy's machine.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { heartbeating } from '../../activities/support';
import { DEPLOY_WORKFLOW, deployWorkflowId, FAILURE_TYPES } from '../../src/names';
import type { EngineIdentity } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { promoteUpdate, statusQuery } from '../../workflows/messages';
import { BUNDLE_PATH, REPO } from '../../harness/paths';
import { webSpec } from '../../harness/specs';
import { healthyHost, startLocalTestEnvironment } from './stubs';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startLocalTestEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

const HOST_A: EngineIdentity = { id: 'AAAA:1111', name: 'host-a' };
const HOST_B: EngineIdentity = { id: 'BBBB:2222', name: 'host-b' };

/** The machine's worker: stub activities that record "name@host" when they run, behind the real wrapper. */
function machine(engine: EngineIdentity, ran: string[]) {
  const stubs = healthyHost(() => ({ live: 'blue', backup: null }));
  const recorded: Record<string, unknown> = {};
  for (const [name, stub] of Object.entries(stubs)) {
    recorded[name] = async (...args: unknown[]) => {
      ran.push(`${name}@${engine.name}`);
      return name === 'identifyHost' ? engine : (stub as (...a: unknown[]) => Promise<unknown>)(...args);
    };
  }
  const wrapped = heartbeating(recorded as unknown as Activities, null, async () => engine);
  let refused = 0;
  const counted: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(wrapped)) {
    counted[name] = (...args: never[]) =>
      (activity as (...a: never[]) => Promise<unknown>)(...args).catch((err: unknown) => {
        if (err instanceof ApplicationFailure && err.type === FAILURE_TYPES.wrongHost) refused++;
        throw err;
      });
  }
  return { activities: counted, refused: () => refused };
}

async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(fn).catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one host per deploy on a shared task queue', () => {
  it("runs every step on the first step's engine; the other machine's worker refuses what reaches it", async () => {
    const app = `wf-pin-${randomUUID().slice(0, 8)}`;
    const taskQueue = `workflow-test-${app}`;
    const ran: string[] = [];
    const onA = machine(HOST_A, ran);
    const onB = machine(HOST_B, ran);
    const workflows = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH } });
    // Each machine its own connection: one connection may not carry two activity workers of one queue.
    const connections = { a: await NativeConnection.connect({ address: env.address }), b: await NativeConnection.connect({ address: env.address }) };
    const activitiesOn = (m: typeof onA, machineName: 'a' | 'b') => Worker.create({ connection: connections[machineName], taskQueue, activities: m.activities });
    await workflows.runUntil(async () => {
      // Host A's worker alone takes the first step, and so the deploy; it waits at the promotion gate.
      let hostA = await activitiesOn(onA, 'a');
      let hostARunning = hostA.run();
      const spec = webSpec(app, { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } }, { promotion: { manual: true, timeout: '5m' } });
      const handle = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue, workflowId: deployWorkflowId(app), args: [{ spec }] });
      await waitFor(async () => (await handle.query(statusQuery)).phase === 'promotion-gate');
      hostA.shutdown();
      await hostARunning;
      // Host B's worker is now the only one polling: the switch's first step reaches it and is refused.
      const hostB = await activitiesOn(onB, 'b');
      await hostB.runUntil(async () => {
        await handle.executeUpdate(promoteUpdate, { args: [] });
        await waitFor(() => onB.refused() > 0);
        // Host A's worker is back; both poll the queue to the end of the deploy.
        hostA = await activitiesOn(onA, 'a');
        hostARunning = hostA.run();
        try {
          expect((await handle.result()).outcome).toBe('succeeded');
        } finally {
          hostA.shutdown();
          await hostARunning;
        }
      });
      const history = await handle.fetchHistory();
      if (process.env.GREENLIGHT_RECORD_HISTORIES === '1') writeFileSync(join(REPO, 'test', 'histories', 'one-host-pinned.json'), historyToJSON(history));
      // Every step ran on host A; host B refused at least once and ran nothing.
      expect(ran.filter((call) => !call.endsWith('@host-a'))).toEqual([]);
      expect(ran).toEqual(expect.arrayContaining(['identifyHost@host-a', 'measureBaseline@host-a', 'switchTraffic@host-a', 'verify@host-a', 'retireColor@host-a']));
      expect(onB.refused()).toBeGreaterThan(0);
      // The refusal is in the history, naming both hosts: the retry that landed on host A carries it.
      const refusals = (history.events ?? []).flatMap((e) => {
        const failure = e.activityTaskStartedEventAttributes?.lastFailure;
        return failure?.applicationFailureInfo?.type === FAILURE_TYPES.wrongHost ? [failure.message] : [];
      });
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals[0]).toContain('this deploy runs on host-a (Docker engine AAAA:1111); this worker is on host-b (Docker engine BBBB:2222)');
    }).finally(() => Promise.all([connections.a.close(), connections.b.close()]));
  });
});
