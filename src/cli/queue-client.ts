/** Client side of the deploy queue (`greenlight deploy --queue`): send a request, learn its end, read the queue. */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { enqueueSignal, queueQuery } from '../../workflows/queue-messages';
import type { deployQueueWorkflow } from '../../workflows/queue';
import { QUEUE_WORKFLOW, queueWorkflowId, SEARCH_ATTRIBUTES } from '../names';
import { outcomeOf, type QueueOutcome, type QueueRequest, type QueueState } from '../queue';
import type { DeploySpec } from '../config/schema';
import type { DeployInput } from '../types';

/** Sends one request to the app's queue (starting the queue if none runs); returns the request. */
export async function enqueueDeploy(client: Client, spec: DeploySpec, taskQueue: string, requestedBy?: string, window?: DeployInput['window'], changes?: string[] | null): Promise<QueueRequest> {
  const send = async (searchAttributes: boolean) => {
    // `window` only when asked, as startDeploy does: the deploy's input is what the CLI would have started.
    const input: DeployInput = { spec, requestedBy, searchAttributes, ...(window && { window }), ...(changes && { changes }) };
    const request: QueueRequest = { requestId: randomUUID(), requestedBy, requestedAt: new Date().toISOString(), input };
    await client.workflow.signalWithStart<typeof deployQueueWorkflow, [QueueRequest]>(QUEUE_WORKFLOW, {
      taskQueue,
      workflowId: queueWorkflowId(spec.app),
      args: [{ app: spec.app }],
      signal: enqueueSignal,
      signalArgs: [request],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      staticSummary: `Deploy queue of ${spec.app}`,
      typedSearchAttributes: searchAttributes ? [{ key: SEARCH_ATTRIBUTES.app, value: spec.app }] : undefined,
    });
    return request;
  };
  try {
    return await send(true);
  } catch (err) {
    // A namespace without greenlight's search attributes: queue (and deploy) without them, as startDeploy does.
    const detail = `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`;
    if (!/search attribute/i.test(detail)) throw err;
    return send(false);
  }
}

/** The app's queue as its workflow last reported it, or null when there is none (or no worker answers). */
export async function readQueue(client: Client, app: string): Promise<QueueState | null> {
  // Not found, or no worker to answer right now: the caller reads again (or shows no queue).
  return client.workflow.getHandle(queueWorkflowId(app)).query(queueQuery).catch(() => null);
}

/**
 * Waits until the queue has started or superseded the request. Polls the queue's query: while no worker
 * answers (one restarting) it keeps asking, the request is safe in the queue's history meanwhile.
 */
export async function awaitQueueOutcome(client: Client, app: string, requestId: string, onWait?: (state: QueueState) => void): Promise<QueueOutcome> {
  for (;;) {
    const state = await readQueue(client, app);
    const outcome = state && outcomeOf(state, requestId);
    if (outcome) return outcome;
    if (state) onWait?.(state);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
