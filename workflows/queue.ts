/**
 * The deploy queue of one app (`greenlight deploy --queue`, workflow id `queue-<app>`): requests arrive
 * by signal (signalWithStart), the latest one waits, and once no deploy of the app runs it is started as
 * the deploy `deploy-<app>` would have been by the CLI, as a child left to run on its own (ABANDON). The
 * queue is Temporal state: a worker crash loses no request. Deterministic: SDK, names and pure modules.
 *
 * Waiting is a durable timer between attempts to start the deploy: the start itself is the lock test
 * (the id is taken while a deploy runs), so no deploy that ends or starts between a check and the start
 * can be missed or doubled, whoever started it.
 */
import { condition, continueAsNew, ParentClosePolicy, ChildWorkflowCancellationType, setHandler, sleep, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { DEPLOY_WORKFLOW } from '../src/names';
import { deployStartOptions, windowWaitMs } from '../src/deploy-start';
import { acceptRequest, beginStart, EMPTY_QUEUE, started, stillRunning, type QueueState } from '../src/queue';
import type { deployWorkflow } from './deploy';
import { enqueueSignal, queueQuery } from './queue-messages';

export interface QueueInput {
  app: string;
  /** Carried over continue-as-new; a new queue starts empty. */
  state?: QueueState;
}

/** How often a waiting request tries to start while another deploy runs. */
const RETRY_START_MS = 2_000;
/** An empty queue lingers this long (waiters read their outcome meanwhile), then ends. */
const IDLE_MS = 10 * 60_000;
/** Continue as new before the history grows long (each attempt adds some ten events). */
const MAX_HISTORY_EVENTS = 5_000;

export async function deployQueueWorkflow(input: QueueInput): Promise<QueueState> {
  let state: QueueState = input.state ?? EMPTY_QUEUE;
  setHandler(enqueueSignal, (request) => {
    state = acceptRequest(state, request);
  });
  setHandler(queueQuery, () => state);

  for (;;) {
    if (!state.waiting && !(await condition(() => state.waiting !== null, IDLE_MS))) return state;
    state = beginStart(state);
    const request = state.starting!;
    try {
      const deploy = await startChild<typeof deployWorkflow>(DEPLOY_WORKFLOW, {
        // A deploy with `windows` may wait for its window once started: its backstop timeout grows by that wait.
        ...deployStartOptions(request.input, windowWaitMs(request.input, Date.now())),
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
      });
      state = started(state, deploy.workflowId, deploy.firstExecutionRunId, new Date(Date.now()).toISOString());
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      state = stillRunning(state);
      await sleep(RETRY_START_MS);
    }
    if (workflowInfo().historyLength > MAX_HISTORY_EVENTS || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof deployQueueWorkflow>({ app: input.app, state });
    }
  }
}
