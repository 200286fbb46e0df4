/**
 * The deploy's side of the app monitor (workflows/monitor.ts): it ends a running monitor at the end of
 * validate, before it changes any host, so a bake rollback never races its switch; it starts the
 * monitor again, as it was, when it rolls back; and a successful deploy with `monitor:` starts a new one.
 * Every deploy asks the patch at validate (any app may have a monitor running), so histories from before
 * it replay without the step.
 */
import { ApplicationFailure, CancellationScope, ParentClosePolicy, ChildWorkflowCancellationType, patched, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { afterBake, initialMonitorStatus, type MonitorInput } from '../src/monitor';
import { FAILURE_TYPES, MONITOR_WORKFLOW, monitorWorkflowId, PATCHES, SEARCH_ATTRIBUTES } from '../src/names';
import { messageOf } from './failures';
import type { monitorWorkflow } from './monitor';
import type { Deploy, HostDeploy } from './phases';
import { dockerOps } from './profiles';
import { activities } from './steps';

/**
 * 1. validate, last step: the app's running monitor finishes its round (or bake rollback) and ends,
 * handing over its state (through the first host's worker: every worker has a Temporal client). Had it
 * rolled traffic back since this deploy read the live color, what the deploy validated is stale: it
 * starts the monitor again and ends as a validation failure, nothing changed, to be run again.
 */
export async function endMonitor(d: Deploy, hosts: readonly HostDeploy[], validatedSince: number): Promise<void> {
  if (!patched(PATCHES.appMonitor)) return;
  const { app } = d.spec;
  const ended = await d.gate.unlessRolledBack(() => activities(dockerOps(60_000), `end the monitor of ${app} (this deploy replaces it)`, hosts[0]).endMonitor(app, `replaced by deploy ${d.deployId}`));
  d.endedMonitor = ended;
  const rollback = ended?.status.rollback;
  if (rollback && Date.parse(rollback.at) >= validatedSince) {
    // It watches the color it restored again: this deploy changes nothing.
    await launch(d, ended!);
    throw ApplicationFailure.nonRetryable(
      `the monitor of ${app} rolled ${rollback.from} back to ${rollback.to} while this deploy validated (${rollback.reason}): what it read is stale; deploy again`,
      FAILURE_TYPES.preflight,
    );
  }
}

/** After a rollback: the monitor this deploy ended runs again, as it was. */
export async function resumeMonitor(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const ended = d.endedMonitor;
  if (!ended) return;
  // A bake ends with the deploy that began: it may have replaced the kept color, which is gone now.
  const replacedKept = ended.status.bake?.state === 'baking' && hosts.some((h) => h.deployed);
  await launch(d, replacedKept ? { ...ended, status: afterBake(ended.status, null) } : ended);
}

/** 10. a successful deploy with `monitor:` starts the app's monitor on the new color (with its bake). */
export async function startMonitor(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const { spec, tracker } = d;
  if (!spec.monitor || !patched(PATCHES.appMonitor)) return;
  const first = hosts[0]!;
  // A restore (`greenlight rollback`) watches without a bake: its previous color is the one it undid.
  const watched = d.input.restore ? { ...spec, monitor: { ...spec.monitor, bake: 0 } } : spec;
  const status = initialMonitorStatus(watched, d.deployId, first.targetColor, first.liveColor, Date.now());
  const monitorHosts = hosts.map(({ name, taskQueue, hostTimeoutMs, engine, spec: hostSpec, targetColor, liveColor }) => ({ name, taskQueue, hostTimeoutMs, engine, spec: hostSpec, color: targetColor, previousColor: liveColor }));
  await launch(d, { spec, hosts: monitorHosts, images: tracker.status.images, previousImages: tracker.status.previousImages, searchAttributes: Boolean(d.input.searchAttributes), status });
  tracker.status.monitor = { workflowId: monitorWorkflowId(spec.app), bakeUntil: status.bake?.until ?? null };
}

/** Starts `monitor-<app>` as an abandoned child on the deploy's task queue; a failure is a warning, never the deploy's outcome. */
async function launch(d: Deploy, input: MonitorInput): Promise<void> {
  const { app } = input.spec;
  try {
    await CancellationScope.nonCancellable(() =>
      startChild<typeof monitorWorkflow>(MONITOR_WORKFLOW, {
        workflowId: monitorWorkflowId(app),
        args: [input],
        taskQueue: workflowInfo().taskQueue,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        parentClosePolicy: ParentClosePolicy.ABANDON,
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        staticSummary: `Monitor of ${app}`,
        typedSearchAttributes: input.searchAttributes
          ? [
              { key: SEARCH_ATTRIBUTES.app, value: app },
              { key: SEARCH_ATTRIBUTES.health, value: input.status.health },
            ]
          : undefined,
      }),
    );
  } catch (err) {
    const why = err instanceof WorkflowExecutionAlreadyStartedError ? 'another monitor of the app runs (started by hand, or by a deploy that did not end it)' : messageOf(err);
    d.tracker.warn(`the monitor of ${app} was not started: ${why}`);
  }
}
