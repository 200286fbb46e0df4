import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { deployWorkflow } from '../../../workflows/deploy';
import { awaitOutcome } from '../deploy-client';
import { explainDeploy, formatExplanation, type BakeRollback, type OperatorRequest } from '../../explain';
import type { CommandEnd } from '../exit-codes';
import type { MonitorInput, MonitorView } from '../../monitor';
import { deployWorkflowId, MESSAGES, monitorWorkflowId } from '../../names';
import { statusQuery } from '../../../workflows/messages';
import type { DeployStatus } from '../../types';

/**
 * Why the deploy `runId` (default: the latest) of `app` ended as it did, from its recorded result or
 * failure and its history (who sent a rollback). Nothing is probed; payloads are decoded by the client's
 * data converter (the codec), and only the workflow's own, already redacted, messages are printed.
 */
export async function explain(client: Client, app: string, runId: string | undefined, json: boolean, out: (line: string) => void = console.log): Promise<CommandEnd> {
  const handle = client.workflow.getHandle<typeof deployWorkflow>(deployWorkflowId(app), runId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      out(runId ? `no deploy of ${app} with run ${runId} found: check the run id (greenlight history ${app})` : `no deploy of ${app} found: check the app name (greenlight history ${app})`);
      return 'unknown-app';
    }
    throw err;
  }
  const pinned = client.workflow.getHandle<typeof deployWorkflow>(handle.workflowId, description.runId);
  const running = description.status.name === 'RUNNING';
  let status: DeployStatus | null;
  let failureMessage: string | null = null;
  if (running) {
    status = await pinned.query(statusQuery).catch(() => null);
  } else {
    const outcome = await awaitOutcome(pinned).catch(() => null);
    status = outcome?.status ?? null;
    if (outcome && outcome.end !== 'succeeded') failureMessage = outcome.message;
  }
  const bakeRollback = status?.outcome === 'succeeded' && status.monitor?.bakeUntil ? await bakeRollbackOf(client, app, description.runId) : null;
  const input = { app, runId: description.runId, workflowStatus: description.status.name, status, failureMessage, operator: await operatorRequestOf(pinned), bakeRollback };
  const explanation = explainDeploy(input);
  if (json) out(JSON.stringify(explanation));
  else for (const line of formatExplanation(explanation)) out(line);
  return 'done';
}

/** The first rollback update accepted or rollback signal received, from the history's event metadata (no payload is decoded). */
async function operatorRequestOf(handle: WorkflowHandle): Promise<OperatorRequest | null> {
  const history = await handle.fetchHistory();
  for (const event of history.events ?? []) {
    const seconds = event.eventTime?.seconds;
    const at = seconds === undefined || seconds === null ? null : new Date(Number(seconds) * 1000).toISOString();
    const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    if (update?.input?.name === MESSAGES.rollback) return { via: 'update', identity: update.meta?.identity ?? null, at };
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName === MESSAGES.rollback) return { via: 'signal', identity: signal.identity ?? null, at };
  }
  return null;
}

/** Runs of an app's monitor read when looking for the one of a deploy (one per deploy, and the running one). */
const MONITOR_RUNS_READ = 20;

/**
 * The bake rollback of the deploy `deployRunId`, as its monitor recorded it, or null: the newest run of
 * `monitor-<app>` that watched that deploy, read from its query while it runs, else from its result (its
 * state as the next deploy ended it). Runs that continued as new are left out: a newer run carries their
 * state on. The server lists running runs first, then the latest closed (a deploy that rolls back starts
 * the monitor it ended again, as it was: that newer run comes first).
 */
async function bakeRollbackOf(client: Client, app: string, deployRunId: string): Promise<BakeRollback | null> {
  const query = `WorkflowId = '${monitorWorkflowId(app)}' AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'Completed')`;
  let read = 0;
  for await (const run of client.workflow.list({ query })) {
    if (++read > MONITOR_RUNS_READ) break;
    const handle = client.workflow.getHandle(monitorWorkflowId(app), run.runId);
    const state = run.status.name === 'RUNNING' ? await handle.query<MonitorView>(MESSAGES.monitor).catch(() => null) : (((await handle.result().catch(() => null)) as MonitorInput | null)?.status ?? null);
    if (state?.deployId === deployRunId) return state.rollback;
  }
  return null;
}
