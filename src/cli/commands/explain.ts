import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { deployWorkflow } from '../../../workflows/deploy';
import { awaitOutcome } from '../deploy-client';
import { explainDeploy, formatExplanation, type OperatorRequest } from '../../explain';
import { bakeRollbackOf } from '../monitor-client';
import type { CommandEnd } from '../exit-codes';
import { deployWorkflowId, MESSAGES } from '../../names';
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
