/**
 * A stand-in for the Temporal client with only what the CLI's commands use (workflow.start, getHandle,
 * list; a handle's describe (with the task queue), query, result, executeUpdate, cancel, fetchHistory; connection.close), so
 * the unit tier drives the whole CLI without a server. One app's deploys: `latest` is what describe,
 * query, result and updates see; `onStart` says what a newly started deploy does.
 */
import { ServiceError, WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter, RetryState, TerminatedFailure, TimeoutFailure, TimeoutType, TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { MESSAGES } from '../../src/names';
import type { DeployInput, DeployStatus } from '../../src/types';
import type { QueueOutcome, QueueRequest } from '../../src/queue';
import type { MonitorView } from '../../src/monitor';

export type WorkflowStatusName = 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT';

export interface FakeRun {
  runId: string;
  workflowStatus: WorkflowStatusName;
  /** What result() does: resolve with the final status, or reject as the SDK does (WorkflowFailedError). */
  result: () => Promise<DeployStatus>;
  /** What the status query answers; null: the query fails (e.g. no worker). */
  status: DeployStatus | null;
  /** The task queue it was started on, as describe() reports it (default: greenlight). */
  taskQueue?: string;
  /** The deploy's input, for fetchHistory. */
  input?: DeployInput;
  /** Answers an update by name (rollback, promote); throw to refuse. */
  update?: (name: string, args: unknown[]) => Promise<unknown>;
  startTime?: Date;
  closeTime?: Date;
}

export interface FakeExecution {
  runId: string;
  status: WorkflowStatusName;
  startTime: Date;
  closeTime?: Date;
  searchAttributes?: SearchAttributePair[];
}

export interface StartCall {
  workflowType: string;
  options: {
    workflowId: string;
    taskQueue: string;
    args: [DeployInput];
    staticSummary?: string;
    typedSearchAttributes?: SearchAttributePair[];
  };
}

export class FakeTemporal {
  /** The app's latest deploy; null: none was ever started (describe: WorkflowNotFoundError). */
  latest: FakeRun | null = null;
  /** What a deploy started now does; it becomes `latest`. */
  onStart: (call: StartCall) => FakeRun = () => {
    throw new Error('this test did not expect a deploy to start');
  };
  /** What a maintenance change started now does; it becomes `maintenance`. */
  onMaintenanceStart: (call: StartCall) => NonNullable<FakeTemporal['maintenance']> = () => {
    throw new Error('this test did not expect a maintenance change to start');
  };
  /** Errors thrown by successive workflow.start calls before one succeeds. */
  startErrors: Error[] = [];
  /** What workflow.list returns (visibility), newest first. */
  executions: FakeExecution[] = [];
  /** The app's latest maintenance change (workflow maintenance-<app>); null: none (describe: WorkflowNotFoundError). */
  maintenance: { runId: string; workflowStatus: WorkflowStatusName; result: () => Promise<unknown> } | null = null;

  /** The app's running monitor (monitor-<app>) as its query answers; null: none runs (describe: WorkflowNotFoundError). */
  monitor: MonitorView | null = null;

  readonly starts: StartCall[] = [];
  readonly cancels: string[] = [];
  readonly updates: { name: string; args: unknown[] }[] = [];
  readonly listQueries: string[] = [];
  /** The handle calls in order (describe, query, update), for the commands whose order matters. */
  readonly calls: string[] = [];
  closed = 0;
  /** `deploy --queue`: the requests signalled to the queue, and how the queue answers for one. */
  readonly queued: QueueRequest[] = [];
  queueAnswer: (request: QueueRequest) => QueueOutcome | null = () => null;

  readonly client: Client;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const fake = this;
    // The maintenance workflow's handle: describe and result only (what status and maintenance read).
    const maintenanceHandle = (workflowId: string, runId?: string) => ({
      workflowId,
      runId,
      async describe() {
        if (!fake.maintenance) throw new WorkflowNotFoundError(`workflow not found for ID: ${workflowId}`, workflowId, runId);
        return { runId: fake.maintenance.runId, taskQueue: 'greenlight', status: { name: fake.maintenance.workflowStatus }, startTime: new Date('2026-11-28T10:00:00Z') };
      },
      async result() {
        if (!fake.maintenance) throw new WorkflowNotFoundError('not found', workflowId, runId);
        return fake.maintenance.result();
      },
    });
    // The monitor's handle: describe and its query (what status reads).
    const monitorHandle = (workflowId: string, runId?: string) => ({
      workflowId,
      runId,
      async describe() {
        if (!fake.monitor) throw new WorkflowNotFoundError(`workflow not found for ID: ${workflowId}`, workflowId, runId);
        return { runId: 'monitor-run', taskQueue: 'greenlight', status: { name: 'RUNNING' }, startTime: new Date('2026-11-28T10:00:00Z') };
      },
      async query(name: string) {
        if (name !== MESSAGES.monitor || !fake.monitor) throw new Error(`the fake monitor has no query ${name}`);
        return fake.monitor;
      },
    });
    const deployHandle = (workflowId: string, runId?: string) => ({
      workflowId,
      runId,
      async describe() {
        fake.calls.push('describe');
        const run = fake.latest;
        if (!run) throw new WorkflowNotFoundError(`workflow not found for ID: ${workflowId}`, workflowId, runId);
        return { runId: run.runId, taskQueue: run.taskQueue ?? 'greenlight', status: { name: run.workflowStatus }, startTime: run.startTime ?? new Date('2026-11-28T10:00:00Z'), closeTime: run.closeTime };
      },
      async query(definition: { name: string }) {
        fake.calls.push(`query ${definition.name}`);
        if (definition.name === MESSAGES.queue) {
          if (!fake.queued.length) throw new WorkflowNotFoundError('not found', workflowId, runId);
          return { waiting: null, starting: null, outcomes: fake.queued.flatMap((r) => fake.queueAnswer(r) ?? []) };
        }
        if (definition.name !== MESSAGES.status) throw new Error(`unexpected query ${definition.name}`);
        const run = fake.latest;
        if (!run) throw new WorkflowNotFoundError('not found', workflowId, runId);
        if (!run.status) throw new Error('no worker answered the query');
        return run.status;
      },
      async result() {
        if (!fake.latest) throw new WorkflowNotFoundError('not found', workflowId, runId);
        return fake.latest.result();
      },
      async executeUpdate(definition: { name: string }, options: { args: unknown[] }) {
        fake.updates.push({ name: definition.name, args: options.args });
        fake.calls.push(`update ${definition.name}`);
        const run = fake.latest;
        if (!run) throw new WorkflowNotFoundError(`workflow not found for ID: ${workflowId}`, workflowId, runId);
        // As the server answers an update to a closed run: NOT_FOUND, which the client turns into this.
        if (run.workflowStatus !== 'RUNNING') throw new WorkflowNotFoundError('workflow execution already completed', workflowId, runId);
        if (!run.update) throw new Error('this test did not expect an update');
        return run.update(definition.name, options.args);
      },
      async cancel() {
        fake.cancels.push(workflowId);
      },
      async fetchHistory() {
        const input = fake.latest?.input;
        if (!input) throw new Error('this test gave the deploy no input');
        return { events: [{ workflowExecutionStartedEventAttributes: { input: { payloads: [defaultPayloadConverter.toPayload(input)] } } }] };
      },
    });
    const workflow = {
      async start(workflowType: string, options: StartCall['options']) {
        const call = { workflowType, options };
        fake.starts.push(call);
        const error = fake.startErrors.shift();
        if (error) throw error;
        if (options.workflowId.startsWith('maintenance-')) {
          fake.maintenance = fake.onMaintenanceStart(call);
          return { ...maintenanceHandle(options.workflowId), firstExecutionRunId: fake.maintenance.runId };
        }
        const run = fake.onStart(call);
        fake.latest = run;
        return { ...deployHandle(options.workflowId), firstExecutionRunId: run.runId };
      },
      getHandle: (workflowId: string, runId?: string) =>
        workflowId.startsWith('maintenance-') ? maintenanceHandle(workflowId, runId) : workflowId.startsWith('monitor-') ? monitorHandle(workflowId, runId) : deployHandle(workflowId, runId),
      async signalWithStart(_workflowType: string, options: { workflowId: string; signalArgs: [QueueRequest] }) {
        fake.queued.push(options.signalArgs[0]);
        return deployHandle(options.workflowId);
      },
      list({ query }: { query: string }) {
        fake.listQueries.push(query);
        const completedOnly = query.includes("ExecutionStatus = 'Completed'");
        const executions = fake.executions.filter((e) => !completedOnly || e.status === 'COMPLETED');
        return (async function* () {
          for (const e of executions) {
            yield { runId: e.runId, status: { name: e.status }, startTime: e.startTime, closeTime: e.closeTime, typedSearchAttributes: new TypedSearchAttributes(e.searchAttributes ?? []) };
          }
        })();
      },
    };
    this.client = {
      workflow,
      options: { loadedDataConverter: loadDataConverter() },
      connection: {
        async close() {
          fake.closed++;
        },
      },
    } as unknown as Client;
  }
}

/** A deploy status as the workflow reports it; `overrides` set what a test is about. */
export function deployStatus(overrides: Partial<DeployStatus> = {}): DeployStatus {
  return {
    app: 'shop',
    deployId: 'run-1',
    requestedBy: null,
    restoreReason: null,
    phase: 'done',
    outcome: 'succeeded',
    liveColor: 'blue',
    targetColor: 'blue',
    images: { backend: 'shop-backend:v2' },
    previousImages: {},
    phases: [],
    waitingFor: null,
    rollbackReason: null,
    lastError: null,
    failureType: null,
    verify: null,
    ...overrides,
  };
}

/** How result() fails when the workflow ends with an ApplicationFailure of `type` carrying `status`. */
export function workflowFailure(type: string, message: string, status: DeployStatus | null): WorkflowFailedError {
  const cause = ApplicationFailure.create({ type, message, nonRetryable: true, details: status ? [status] : [] });
  return new WorkflowFailedError('Workflow execution failed', cause, RetryState.NON_RETRYABLE_FAILURE);
}

/** How result() fails when the workflow was cancelled. */
export function workflowCancelled(): WorkflowFailedError {
  return new WorkflowFailedError('Workflow execution cancelled', new CancelledFailure('the deploy was cancelled'), RetryState.NON_RETRYABLE_FAILURE);
}

/** How result() fails when the workflow was terminated (as the SDK builds it from the history's event). */
export function workflowTerminated(reason = 'stuck, terminated by an operator'): WorkflowFailedError {
  return new WorkflowFailedError(reason, new TerminatedFailure(reason), RetryState.NON_RETRYABLE_FAILURE);
}

/** How result() fails when the server's execution timeout ended the workflow. */
export function workflowTimedOut(): WorkflowFailedError {
  return new WorkflowFailedError('Workflow execution timed out', new TimeoutFailure('Workflow execution timed out', undefined, TimeoutType.START_TO_CLOSE), RetryState.TIMEOUT);
}

/** How executeUpdate fails when the update's validator refuses. */
export function updateRefused(reason: string): WorkflowUpdateFailedError {
  return new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: reason }));
}

/** How a Temporal call fails when the server goes away after connecting (the SDK wraps gRPC's error). */
export function temporalUnavailable(): ServiceError {
  const grpc = Object.assign(new Error('14 UNAVAILABLE: Connection dropped'), { code: 14, details: 'Connection dropped', metadata: {} });
  return new ServiceError('Failed to get Workflow execution history', { cause: grpc });
}
