/**
 * The maintenance workflow's decisions with stubbed activities, on a real local Temporal server: every
 * host is checked before any changes, every host changes or none (a failed change puts the others
 * back), and each step runs on its host's own queue. The real router is proven in test/e2e/maintenance.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../../activities';
import type { MaintenanceHost } from '../../activities/maintenance';
import { heartbeating } from '../../activities/support';
import { BUNDLE_PATH } from '../../harness/paths';
import { FAILURE_TYPES, hostTaskQueue, MAINTENANCE_WORKFLOW, maintenanceWorkflowId } from '../../src/names';
import { MAINTENANCE_OFF } from '../../src/maintenance';
import type { MaintenanceChange, MaintenanceInput, MaintenanceResult, MaintenanceState } from '../../src/types';
import type { maintenanceWorkflow } from '../../workflows/maintenance';
import { healthyHost, startLocalTestEnvironment, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await startLocalTestEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

const ON: MaintenanceChange = { on: true, message: 'Back at 14:00', retryAfter: 600, page: null };
const WAS_ON: MaintenanceState = { on: true, since: '2026-12-03T09:00:00.000Z', message: 'earlier', retryAfter: 60, pageFile: null };

/** One host's maintenance activities (through the real wrapper: it refuses another host's step), each call recorded as "host activity". */
function hostActivities(host: string | null, calls: string[], overrides: Stubs): Activities {
  const defaults = healthyHost(() => null);
  const recorded: Record<string, unknown> = {};
  for (const name of ['checkMaintenance', 'setMaintenance', 'restoreMaintenance'] as const) {
    const impl = (overrides[name] ?? defaults[name]) as (...args: unknown[]) => Promise<unknown>;
    recorded[name] = async (...args: unknown[]) => {
      const target = args[0] as MaintenanceHost;
      calls.push(`${host ?? 'one-host'} ${name}${name === 'restoreMaintenance' ? `:${(args[1] as { state: MaintenanceState }).state.on ? 'on' : 'off'}` : ''} ${target.app}`);
      return impl(...args);
    };
  }
  return heartbeating(recorded as Activities, host);
}

/** Runs the workflow over `hosts` (each a worker on its queue; null: one host on the workflow's queue); its result or failure. */
async function run(app: string, change: MaintenanceChange, hosts: Record<string, Stubs>, oneHost?: Stubs) {
  const calls: string[] = [];
  const taskQueue = `maintenance-test-${app}`;
  const names = Object.keys(hosts);
  const workers = await Promise.all([
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH }, activities: oneHost ? hostActivities(null, calls, oneHost) : {} }),
    ...names.map((name) => Worker.create({ connection: env.nativeConnection, taskQueue: hostTaskQueue(name), activities: hostActivities(name, calls, hosts[name]!) })),
  ]);
  const input: MaintenanceInput = { app, change, targets: oneHost ? [{ name: null }] : names.map((name) => ({ name, taskQueue: hostTaskQueue(name), hostTimeoutMs: 10_000 })) };
  const runAll = async <T>(fn: () => Promise<T>, rest: Worker[]): Promise<T> => (rest.length === 0 ? fn() : rest[0]!.runUntil(() => runAll(fn, rest.slice(1))));
  return runAll(async () => {
    const handle = await env.client.workflow.start<typeof maintenanceWorkflow>(MAINTENANCE_WORKFLOW, { taskQueue, workflowId: maintenanceWorkflowId(app), args: [input] });
    try {
      return { calls, result: (await handle.result()) as MaintenanceResult, failure: null };
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      return { calls, result: null, failure: err.cause as ApplicationFailure };
    }
  }, workers);
}

describe('maintenance workflow', () => {
  it('one host: checks, then turns it on at the workflow\'s instant', async () => {
    const { calls, result } = await run('mnt-wf-one', ON, {}, {});
    expect(calls).toEqual(['one-host checkMaintenance mnt-wf-one', 'one-host setMaintenance mnt-wf-one']);
    expect(result).toMatchObject({ app: 'mnt-wf-one', on: true, hosts: [{ host: null, state: { on: true, message: 'Back at 14:00', retryAfter: 600, pageFile: null } }] });
    expect(Date.parse(result!.hosts[0]!.state.since!)).toBeGreaterThan(0);
  });

  it('a fleet: every host checked before any changes, each on its own queue, one "since" for all', async () => {
    const { calls, result } = await run('mnt-wf-fleet', ON, { 'mnt-a': {}, 'mnt-b': {} });
    expect(calls.slice(0, 2).sort()).toEqual(['mnt-a checkMaintenance mnt-wf-fleet', 'mnt-b checkMaintenance mnt-wf-fleet']);
    expect(calls.slice(2).sort()).toEqual(['mnt-a setMaintenance mnt-wf-fleet', 'mnt-b setMaintenance mnt-wf-fleet']);
    expect(result!.hosts.map((h) => h.host)).toEqual(['mnt-a', 'mnt-b']);
    expect(result!.hosts[0]!.state.since).toBe(result!.hosts[1]!.state.since);
  });

  it('a host that cannot take it (PreflightError): nothing changes on any host, the failure names the host', async () => {
    const refuse: Stubs = { checkMaintenance: async () => { throw ApplicationFailure.create({ type: FAILURE_TYPES.preflight, nonRetryable: true, message: 'mnt-wf-refused is not routed by this host\'s router' }); } };
    const { calls, failure } = await run('mnt-wf-refused', ON, { 'mnt-a': {}, 'mnt-b': refuse });
    expect(failure?.type).toBe(FAILURE_TYPES.preflight);
    expect(failure?.message).toContain("mnt-b: mnt-wf-refused is not routed by this host's router");
    expect(failure?.message).toContain('nothing was changed');
    expect(calls.filter((c) => !c.includes('checkMaintenance'))).toEqual([]);
  });

  it('a change that fails on one host puts every host back as it was (InfrastructureUnavailable)', async () => {
    const wasOn: Stubs = { checkMaintenance: async () => ({ state: WAS_ON, page: '<p>earlier</p>' }) };
    const down: Stubs = { setMaintenance: async () => { throw ApplicationFailure.create({ type: FAILURE_TYPES.infrastructure, nonRetryable: true, message: 'nginx admin socket: ECONNREFUSED' }); } };
    const { calls, failure } = await run('mnt-wf-down', { on: false }, { 'mnt-a': wasOn, 'mnt-b': { ...wasOn, ...down } });
    expect(failure?.type).toBe(FAILURE_TYPES.infrastructure);
    expect(failure?.message).toContain('mnt-b: nginx admin socket: ECONNREFUSED');
    expect(failure?.message).toContain('every host was put back as it was');
    expect(calls.filter((c) => c.includes('restoreMaintenance')).sort()).toEqual(['mnt-a restoreMaintenance:on mnt-wf-down', 'mnt-b restoreMaintenance:on mnt-wf-down']);
  });

  it('off: the result says off on every host', async () => {
    const { result } = await run('mnt-wf-off', { on: false }, { 'mnt-a': {}, 'mnt-b': {} });
    expect(result).toEqual({ app: 'mnt-wf-off', on: false, hosts: [{ host: 'mnt-a', state: MAINTENANCE_OFF }, { host: 'mnt-b', state: MAINTENANCE_OFF }] });
  });
});
