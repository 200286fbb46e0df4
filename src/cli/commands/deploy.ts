import type { Client, WorkflowHandle } from '@temporalio/client';
import type { deployWorkflow } from '../../../workflows/deploy';
import { statusQuery } from '../../../workflows/messages';
import type { DeploySpec } from '../../config/schema';
import { nextAllowed } from '../../config/windows';
import { awaitOutcome, startDeploy } from '../deploy-client';
import { awaitQueueOutcome, enqueueDeploy } from '../queue-client';
import { changeSummary } from './plan';
import { deployWorkflowId, queueWorkflowId } from '../../names';
import { formatMs } from '../../format';
import { exitCodeOf, type CliOutcome, type DeployEnd } from '../exit-codes';
import type { DeployStatus, WindowRequest } from '../../types';

export interface DeployOptions {
  wait: boolean;
  json: boolean;
  taskQueue: string;
  requestedBy?: string;
  /** `--outside-window` and `--override --reason` (the reason), for a spec with `windows`. */
  window?: { outside?: 'wait' | 'refuse'; override?: string };
  /** Wait for a running deploy of the app instead of refusing (exit 3); the latest queued request wins. */
  queue?: boolean;
  out?: (line: string) => void;
}

export interface FollowOptions {
  json: boolean;
  out: (line: string) => void;
  /** Live line for the running phase (a terminal); plain finished-phase lines otherwise (CI, pipes). */
  live?: boolean;
}

/** Prints each phase when it ends, with its duration; in a terminal also the running one as it goes. */
function progressPrinter(out: (line: string) => void, live: boolean) {
  let printed = 0;
  let liveShown = false;
  const clearLive = () => {
    if (liveShown) process.stdout.write('\r\x1b[2K');
    liveShown = false;
  };
  return {
    update(status: DeployStatus) {
      for (; printed < status.phases.length; printed++) {
        const entry = status.phases[printed]!;
        if (entry.durationMs === undefined) {
          if (live) {
            clearLive();
            const elapsed = Date.now() - Date.parse(entry.startedAt);
            process.stdout.write(`  ${entry.phase.padEnd(15)} ${formatMs(elapsed)} …${status.waitingFor ? ` ${status.waitingFor}` : ''}`.slice(0, process.stdout.columns ?? 120));
            liveShown = true;
          }
          return;
        }
        clearLive();
        if (entry.phase !== 'done') out(`  ${entry.phase.padEnd(15)} ${formatMs(entry.durationMs)}`);
      }
    },
    end: clearLive,
  };
}

/** Follows a started deploy to its end: progress while it runs, then how it ended. */
export async function followDeploy(handle: WorkflowHandle<typeof deployWorkflow>, opts: FollowOptions): Promise<DeployEnd> {
  const printer = progressPrinter(opts.out, opts.live ?? false);
  let done = false;
  const ending = awaitOutcome(handle);
  const ended = ending.then(() => undefined, () => undefined);
  const poller = (async () => {
    while (!done) {
      const status = await handle.query(statusQuery).catch(() => null);
      if (status && !opts.json && !done) printer.update(status);
      // Every 300 ms, but no waiting on once the deploy has ended.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((r) => (timer = setTimeout(r, 300))), ended]);
      clearTimeout(timer);
    }
  })();
  try {
    const outcome = await ending;
    done = true;
    await poller;
    if (opts.json) {
      opts.out(JSON.stringify({ exitCode: outcome.exitCode, message: outcome.message, status: outcome.status }));
    } else {
      if (outcome.status) printer.update(outcome.status);
      printer.end();
      opts.out(outcome.message);
    }
    return outcome.end;
  } finally {
    done = true;
  }
}

/**
 * The deploy window as the CLI sees it on its own clock: a refusal it can tell before starting anything
 * (the workflow decides again on its clock, for a deploy started by other means), the request the
 * deploy carries, and how long it may wait (added to the server's execution timeout).
 */
function windowRequest(client: Client, spec: DeploySpec, opts: DeployOptions): { refusal: string | null; request: WindowRequest | undefined; waitMs: number } {
  const windows = spec.windows;
  if (!windows) return { refusal: null, request: undefined, waitMs: 0 };
  const { outside, override } = opts.window ?? {};
  if (override) return { refusal: null, request: { outside, override: { reason: override, by: opts.requestedBy ?? client.options.identity ?? 'unknown' } }, waitMs: 0 };
  const request = outside ? { outside } : undefined;
  const now = Date.now();
  const opens = nextAllowed(windows, now);
  if (opens === now) return { refusal: null, request, waitMs: 0 };
  const howTo = 'deploy then, or pass --override --reason "..."';
  if (opens === null) return { refusal: `the deploy windows never open (deny covers every allow range); fix windows in the spec, or pass --override --reason "..."`, request, waitMs: 0 };
  const at = `${new Date(opens).toISOString()} (${windows.timeZone} time)`;
  if ((outside ?? windows.outside) === 'refuse') return { refusal: `outside the deploy window: it opens at ${at}; ${outside ? '--outside-window refuse' : 'windows.outside: refuse'}: ${howTo}`, request, waitMs: 0 };
  return { refusal: null, request, waitMs: opens - now };
}

/** Starts a deploy of `spec` (loaded and validated before connecting: see cli.ts) and follows it unless --no-wait. */
export async function deploy(client: Client, spec: DeploySpec, opts: DeployOptions): Promise<CliOutcome> {
  const out = opts.out ?? ((line: string) => console.log(line));
  const window = windowRequest(client, spec, opts);
  if (window.refusal) {
    out(opts.json ? JSON.stringify({ app: spec.app, refused: window.refusal }) : `deploy of ${spec.app} refused, nothing was started: ${window.refusal}`);
    return 'outside-window';
  }
  // What changes against the live spec, for the deploy's details in the Temporal UI (names only).
  const changes = await changeSummary(client, spec);
  if (opts.queue) return queuedDeploy(client, spec, opts, out, window, changes);
  const handle = await startDeploy(client, spec, opts.taskQueue, { requestedBy: opts.requestedBy, window: window.request, waitMs: window.waitMs, changes });
  if (!opts.wait) {
    out(opts.json ? JSON.stringify({ app: spec.app, workflowId: handle.workflowId, runId: handle.firstExecutionRunId }) : `started ${handle.workflowId} (run ${handle.firstExecutionRunId})`);
    return 'done';
  }
  if (!opts.json) out(`deploying ${spec.app} (workflow ${handle.workflowId}, run ${handle.firstExecutionRunId}):`);
  return followDeploy(handle, { json: opts.json, out, live: Boolean(process.stdout.isTTY) && process.env.CI !== 'true' });
}

/**
 * `deploy --queue`: the request goes to the app's queue; once the queue started it, the deploy is
 * followed as `deploy` follows its own (same exit codes); a later request may supersede it first (exit 11).
 */
async function queuedDeploy(client: Client, spec: DeploySpec, opts: DeployOptions, out: (line: string) => void, window: { request: WindowRequest | undefined }, changes: string[] | null): Promise<CliOutcome> {
  const request = await enqueueDeploy(client, spec, opts.taskQueue, opts.requestedBy, window.request, changes);
  if (!opts.wait) {
    out(opts.json ? JSON.stringify({ app: spec.app, queue: queueWorkflowId(spec.app), requestId: request.requestId }) : `queued request ${request.requestId} in ${queueWorkflowId(spec.app)}`);
    return 'done';
  }
  if (!opts.json) out(`queued ${spec.app} as request ${request.requestId} (${queueWorkflowId(spec.app)}); it starts once no deploy of ${spec.app} runs`);
  const outcome = await awaitQueueOutcome(client, spec.app, request.requestId);
  if (outcome.result === 'superseded') {
    const by = outcome.by;
    const message = `request ${request.requestId} superseded by request ${by.requestId}${by.requestedBy ? ` (requested by ${by.requestedBy})` : ''} of ${by.requestedAt}, which deploys as ${deployWorkflowId(spec.app)}: nothing deployed for this one`;
    out(opts.json ? JSON.stringify({ exitCode: exitCodeOf('superseded'), message, supersededBy: by, deployId: deployWorkflowId(spec.app) }) : message);
    return 'superseded';
  }
  const handle = client.workflow.getHandle<typeof deployWorkflow>(outcome.deployId, outcome.runId);
  if (!opts.json) out(`deploying ${spec.app} (workflow ${outcome.deployId}, run ${outcome.runId}, started by the queue):`);
  return followDeploy(handle, { json: opts.json, out, live: Boolean(process.stdout.isTTY) && process.env.CI !== 'true' });
}
