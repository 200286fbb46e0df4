/** Client-side helpers shared by the commands: start, find and describe deploy workflows. */
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure, type Payload } from '@temporalio/common';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { deployWorkflow } from '../../workflows/deploy';
import { statusQuery } from '../../workflows/messages';
import { DEPLOY_WORKFLOW, deployWorkflowId } from '../names';
import { deployStartOptions } from '../deploy-start';
import { DeployInProgressError } from '../errors';
import type { DeploySpec } from '../config/schema';
import type { DeployInput, DeployStatus, DrainProgress } from '../types';
import { cancelledEndOf, deployEndOf, exitCodeOf, type DeployEnd, type ExitCode } from './exit-codes';

export interface StartOptions {
  requestedBy?: string;
  restore?: DeployInput['restore'];
  window?: DeployInput['window'];
  /** How long the deploy may wait for its window: the server's execution timeout grows by it. */
  waitMs?: number;
  /** What the deploy changes against the live spec (names only): its details in the Temporal UI. */
  changes?: string[] | null;
}

export async function startDeploy(client: Client, spec: DeploySpec, taskQueue: string, options: StartOptions = {}): Promise<WorkflowHandleWithFirstExecutionRunId<typeof deployWorkflow>> {
  const start = (searchAttributes: boolean) =>
    client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, {
      taskQueue,
      // `window` only when asked: every other deploy's input (and history) stays as it was.
      ...deployStartOptions({ spec, requestedBy: options.requestedBy, startedBy: client.options.identity, searchAttributes, restore: options.restore, ...(options.window && { window: options.window }), ...(options.changes && { changes: options.changes }) }, options.waitMs),
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  try {
    try {
      return await start(true);
    } catch (err) {
      // A namespace without greenlight's search attributes: deploy all the same, without them.
      const detail = `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`;
      if (!/search attribute/i.test(detail)) throw err;
      console.error(`greenlight: note: the namespace lacks greenlight's search attributes (README: "Temporal UI"); deploying without them`);
      return await start(false);
    }
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new DeployInProgressError(spec.app);
    throw err;
  }
}

export interface DeployOutcome {
  end: DeployEnd;
  exitCode: ExitCode;
  status: DeployStatus | null;
  message: string;
}

function outcome(end: DeployEnd, status: DeployStatus | null, message: string): DeployOutcome {
  return { end, exitCode: exitCodeOf(end), status, message };
}

/** Waits for a deploy and tells how it ended (exit-codes.ts gives the code), with a one-paragraph message. */
export async function awaitOutcome(handle: WorkflowHandle<typeof deployWorkflow>): Promise<DeployOutcome> {
  try {
    const status = await handle.result();
    const live = status.liveColor ? ` ${status.liveColor} is live` : '';
    return outcome('succeeded', status, `deploy of ${status.app} succeeded:${live}${status.lastError ? ` (warning: ${status.lastError})` : ''}`);
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) {
      const status = (cause.details?.[0] as DeployStatus | undefined) ?? null;
      const end = deployEndOf(cause.type ?? undefined, status?.failureType);
      if (end !== 'failed-otherwise') return outcome(end, status, cause.message);
    }
    // Not one of the deploy's own ends: what the workflow last reported, if a worker answers.
    const status = await handle.query(statusQuery).catch(() => null);
    return unfinishedOutcome(err, status, handle.workflowId);
  }
}

/** A deploy that ended cancelled, terminated, timed out or with a failure of no known type. */
function unfinishedOutcome(err: WorkflowFailedError, status: DeployStatus | null, workflowId: string): DeployOutcome {
  const cause = err.cause;
  const check = `check \`greenlight status ${status?.app ?? workflowId.replace(/^deploy-/, '')}\` and the hosts before deploying again`;
  if (cause instanceof TerminatedFailure) return outcome('terminated', status, `deploy terminated (${err.message}): no compensation ran, ${check}`);
  if (cause instanceof TimeoutFailure) return outcome('timed-out', status, `deploy timed out on the server (its execution timeout): no compensation ran, ${check}`);
  if (cause instanceof CancelledFailure) {
    const end = cancelledEndOf(status?.outcome);
    if (end === 'rolled-back') return outcome(end, status, `deploy cancelled and rolled back: ${status?.liveColor ?? 'the previous color'} serves`);
    if (end === 'compensation-failed') return outcome(end, status, `deploy cancelled, but compensation did not finish: ${status?.lastError ?? 'see greenlight status'}`);
    return outcome(end, status, `deploy cancelled; whether its compensation finished is unknown (no status could be read): ${check}`);
  }
  return outcome('failed-otherwise', status, `deploy ended: ${cause?.message ?? err.message}`);
}

/** Kept for examples/demo.ts, which imports it from here; new code imports src/format. */
export { formatMs } from '../format';

export interface LastDeploy {
  handle: WorkflowHandle<typeof deployWorkflow>;
  runId: string;
  /** The task queue the deploy was started on (its worker's). */
  taskQueue: string;
  running: boolean;
  workflowStatus: string;
  startTime: Date;
  closeTime: Date | undefined;
  status: DeployStatus | null;
  /** Drains running now (a running deploy's cleanup or rollback): what each saw at its last heartbeat. */
  drains: DrainProgress[];
}

/** The latest deploy of `app` (running or not) and its status; null if the app never deployed. */
export async function lastDeploy(client: Client, app: string): Promise<LastDeploy | null> {
  const handle = client.workflow.getHandle<typeof deployWorkflow>(deployWorkflowId(app));
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  const running = description.status.name === 'RUNNING';
  const pinned = client.workflow.getHandle<typeof deployWorkflow>(handle.workflowId, description.runId);
  // A closed deploy carries its status in its result or failure details; a running one answers the query.
  const status = running ? await pinned.query(statusQuery).catch(() => null) : ((await awaitOutcome(pinned).catch(() => null))?.status ?? null);
  const drains = running ? await drainsOf(client, description.raw?.pendingActivities ?? []) : [];
  return { handle: pinned, runId: description.runId, taskQueue: description.taskQueue, running, workflowStatus: description.status.name, startTime: description.startTime, closeTime: description.closeTime, status, drains };
}

/** The drain progress the pending activities heartbeated (retireColor, removeColor), decoded with the client's codec. */
async function drainsOf(client: Client, pending: Array<{ heartbeatDetails?: { payloads?: Payload[] | null } | null }>): Promise<DrainProgress[]> {
  const drains: DrainProgress[] = [];
  for (const activity of pending) {
    const payloads = activity.heartbeatDetails?.payloads;
    if (!payloads?.length) continue;
    const details = await decodeFromPayloadsAtIndex<{ drain?: DrainProgress }>(client.options.loadedDataConverter, 0, payloads).catch(() => null);
    if (details?.drain) drains.push(details.drain);
  }
  return drains;
}

/** The input a deploy was started with (its validated spec), read from its history. */
export async function deployInputOf(client: Client, handle: WorkflowHandle): Promise<DeployInput> {
  const history = await handle.fetchHistory();
  const payloads = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  return decodeFromPayloadsAtIndex<DeployInput>(client.options.loadedDataConverter, 0, payloads);
}
