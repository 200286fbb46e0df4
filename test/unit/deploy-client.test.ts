/** awaitOutcome and startDeploy against fake handles: each way a deploy ends -> its end, code and message. */
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import { DeployInProgressError } from '../../src/errors';
import { FAILURE_TYPES, SEARCH_ATTRIBUTES } from '../../src/names';
import type { DeployStatus } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { deployStatus, FakeTemporal, workflowCancelled, workflowFailure, workflowTerminated, workflowTimedOut } from './fake-temporal';

function handle(result: () => Promise<DeployStatus>, queried: DeployStatus | null = null): WorkflowHandle<typeof deployWorkflow> {
  return {
    workflowId: 'deploy-shop',
    result,
    query: async () => {
      if (!queried) throw new Error('no worker');
      return queried;
    },
  } as unknown as WorkflowHandle<typeof deployWorkflow>;
}

describe('awaitOutcome', () => {
  it('success: exit 0, the live color, and a cleanup warning when there is one', async () => {
    const status = deployStatus({ liveColor: 'green' });
    expect(await awaitOutcome(handle(async () => status))).toEqual({ end: 'succeeded', exitCode: EXIT.ok, status, message: 'deploy of shop succeeded: green is live' });
    const warned = deployStatus({ liveColor: 'green', lastError: 'deploy succeeded but cleanup did not finish: x' });
    expect((await awaitOutcome(handle(async () => warned))).message).toBe('deploy of shop succeeded: green is live (warning: deploy succeeded but cleanup did not finish: x)');
    expect((await awaitOutcome(handle(async () => deployStatus({ liveColor: null })))).message).toBe('deploy of shop succeeded:');
  });

  const rolledBack = deployStatus({ outcome: 'rolled-back', liveColor: 'blue', rollbackReason: 'health gate failed' });
  const invalid = deployStatus({ outcome: 'validation-failed', failureType: FAILURE_TYPES.portInUse });
  const noDocker = deployStatus({ outcome: 'validation-failed', failureType: FAILURE_TYPES.infrastructure });
  const compensation = deployStatus({ outcome: 'compensation-failed', liveColor: 'green' });
  it.each([
    ['DeployRolledBack', FAILURE_TYPES.rolledBack, rolledBack, 'rolled-back', EXIT.rolledBack],
    ['DeployValidationFailed', FAILURE_TYPES.validationFailed, invalid, 'validation-failed', EXIT.invalid],
    ['DeployValidationFailed without details', FAILURE_TYPES.validationFailed, null, 'validation-failed', EXIT.invalid],
    ['DeployValidationFailed of InfrastructureUnavailable', FAILURE_TYPES.validationFailed, noDocker, 'infrastructure-unavailable', EXIT.infrastructure],
    ['CompensationFailed', FAILURE_TYPES.compensationFailed, compensation, 'compensation-failed', EXIT.compensationFailed],
  ] as const)('%s: the failure message and the status from its details, end and code by type', async (_, type, status, end, code) => {
    const outcome = await awaitOutcome(handle(() => Promise.reject(workflowFailure(type, `the ${type} message`, status))));
    expect(outcome).toEqual({ end, exitCode: code, status, message: `the ${type} message` });
  });

  const cancelledClean = deployStatus({ outcome: 'rolled-back', liveColor: 'blue', rollbackReason: 'the deploy was cancelled' });
  const cancelledStuck = deployStatus({ outcome: 'compensation-failed', lastError: 'compensation did not finish: blue unhealthy (after: the deploy was cancelled)' });
  const check = 'check `greenlight status shop` and the hosts before deploying again';
  it.each([
    ['cancelled, compensated (status from the query)', workflowCancelled(), cancelledClean, 'rolled-back', EXIT.rolledBack, 'deploy cancelled and rolled back: blue serves'],
    ['cancelled, compensation failed', workflowCancelled(), cancelledStuck, 'compensation-failed', EXIT.compensationFailed, 'deploy cancelled, but compensation did not finish: compensation did not finish: blue unhealthy (after: the deploy was cancelled)'],
    ['cancelled, no status to read', workflowCancelled(), null, 'cancelled-unknown', EXIT.outcomeUnknown, `deploy cancelled; whether its compensation finished is unknown (no status could be read): ${check}`],
    ['terminated', workflowTerminated(), deployStatus({ outcome: 'running', phase: 'switch' }), 'terminated', EXIT.outcomeUnknown, `deploy terminated (stuck, terminated by an operator): no compensation ran, ${check}`],
    ['timed out on the server', workflowTimedOut(), null, 'timed-out', EXIT.outcomeUnknown, `deploy timed out on the server (its execution timeout): no compensation ran, ${check}`],
    ['a failure of no known type', workflowFailure('SomethingElse', 'unexpected', deployStatus()), null, 'failed-otherwise', EXIT.unexpected, 'deploy ended: unexpected'],
  ] as const)('%s: its own end and code, the status from the query', async (_, failure, queried, end, code, message) => {
    expect(await awaitOutcome(handle(() => Promise.reject(failure), queried))).toEqual({ end, exitCode: code, status: queried, message });
  });

  it('an error that is not the workflow failing (e.g. the server unreachable) is thrown, not mapped', async () => {
    await expect(awaitOutcome(handle(() => Promise.reject(new Error('14 UNAVAILABLE'))))).rejects.toThrow('14 UNAVAILABLE');
  });
});

describe('startDeploy', () => {
  const spec = parseDeploySpec({ app: 'shop', services: { backend: { image: 'shop-backend:v2', port: 4000, hostPorts: { blue: 4100, green: 4102 }, route: '/api' }, frontend: { image: 'shop-frontend:v2', port: 3000, hostPorts: { blue: 4200, green: 4202 } } } });
  const fake = new FakeTemporal();
  fake.onStart = () => ({ runId: 'run-2', workflowStatus: 'RUNNING', result: async () => deployStatus(), status: null });
  afterEach(() => vi.restoreAllMocks());

  it('starts deploy-<app> on the task queue with the images in its summary and search attributes', async () => {
    const started = await startDeploy(fake.client, spec, 'host-a', { requestedBy: 'ci#42' });
    expect(started.firstExecutionRunId).toBe('run-2');
    const { workflowType, options } = fake.starts.at(-1)!;
    expect(workflowType).toBe('deployWorkflow');
    expect(options).toMatchObject({ workflowId: 'deploy-shop', taskQueue: 'host-a', staticSummary: 'Deploy shop: backend=shop-backend:v2, frontend=shop-frontend:v2' });
    expect(options.args).toEqual([{ spec, requestedBy: 'ci#42', searchAttributes: true, restore: undefined }]);
    expect(options.typedSearchAttributes).toContainEqual({ key: SEARCH_ATTRIBUTES.images, value: ['backend=shop-backend:v2', 'frontend=shop-frontend:v2'] });
  });

  it('a namespace without the search attributes: says so and starts without them', async () => {
    const note = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    fake.startErrors = [new Error('INVALID_ARGUMENT: search attribute GreenlightApp is not defined')];
    await startDeploy(fake.client, spec, 'host-a');
    expect(note).toHaveBeenCalledWith(expect.stringContaining("the namespace lacks greenlight's search attributes"));
    const last = fake.starts.at(-1)!.options;
    expect(last.args[0].searchAttributes).toBe(false);
    expect(last.typedSearchAttributes).toBeUndefined();
  });

  it('a running deploy of the app: DeployInProgressError; other start errors pass through', async () => {
    fake.startErrors = [new WorkflowExecutionAlreadyStartedError('already started', 'deploy-shop', 'deployWorkflow')];
    await expect(startDeploy(fake.client, spec, 'host-a')).rejects.toBeInstanceOf(DeployInProgressError);
    fake.startErrors = [ApplicationFailure.create({ message: 'permission denied' })];
    await expect(startDeploy(fake.client, spec, 'host-a')).rejects.toThrow('permission denied');
  });
});
