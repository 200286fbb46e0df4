/**
 * Saga compensation: what a deploy that cannot go on undoes, in a non-cancellable scope (it also runs
 * when the deploy is cancelled), each step idempotent and retried, on every host the deploy touched
 * (each host to the end, whatever the others do).
 */
import { ApplicationFailure, CancellationScope, isCancellation, patched } from '@temporalio/workflow';
import { singletonServices } from '../src/config/services';
import { FAILURE_TYPES, PATCHES, type Color } from '../src/names';
import type { Phase, RollbackReason } from '../src/types';
import type { DeployTracker } from './tracker';
import { messageOf } from './failures';
import { eachHostToTheEnd } from './fleet';
import { RollbackRequested } from './gate';
import { countRollback } from './metrics';
import { colorsOf, postHooks, type Deploy, type HostDeploy } from './phases';
import { resumeMonitor } from './monitoring';
import { notifyEvent } from './notify';
import { compensation, quick } from './profiles';
import { activities } from './steps';

/** The rollback's reason as greenlight_rollbacks_total labels it: who asked, or the phase whose step failed. */
export function rollbackReasonOf(err: unknown, phase: Phase): RollbackReason {
  if (err instanceof RollbackRequested) return err.trigger;
  if (isCancellation(err)) return 'cancelled';
  return `${phase}-failed`;
}

/** Validation failed or was interrupted: nothing was touched, so nothing is undone. Always throws. */
export function endBeforeDeploying(tracker: DeployTracker, err: unknown): never {
  const { status } = tracker;
  if (err instanceof RollbackRequested || isCancellation(err)) countRollback(status.app, rollbackReasonOf(err, tracker.phase));
  if (err instanceof RollbackRequested) {
    status.rollbackReason = err.message;
    tracker.finish('rolled-back');
    throw ApplicationFailure.create({ type: FAILURE_TYPES.rolledBack, message: `rolled back before anything was deployed: ${err.message}`, nonRetryable: true, details: [status] });
  }
  if (isCancellation(err)) {
    status.rollbackReason = 'the deploy was cancelled';
    tracker.finish('rolled-back');
    throw err;
  }
  tracker.recordError(err);
  tracker.finish('validation-failed');
  throw ApplicationFailure.create({ type: FAILURE_TYPES.validationFailed, message: `validation failed, nothing was changed: ${status.lastError}`, nonRetryable: true, details: [status] });
}

/**
 * A step after validation failed, a rollback was requested, or the deploy was cancelled: compensate
 * every host, then end the deploy as rolled back (or compensation-failed, exit 5). Always throws.
 */
export async function rollBack(d: Deploy, hosts: readonly HostDeploy[], err: unknown): Promise<never> {
  const { tracker } = d;
  const { status } = tracker;
  const cancelled = isCancellation(err);
  const failedIn = tracker.phase;
  const reason = err instanceof RollbackRequested ? err.message : cancelled ? 'the deploy was cancelled' : messageOf(err);
  status.rollbackReason = reason;
  countRollback(status.app, rollbackReasonOf(err, tracker.phase));
  if (!(err instanceof RollbackRequested) && !cancelled) tracker.recordError(err, reason);
  try {
    await CancellationScope.nonCancellable(() => compensate(d, hosts));
  } catch (compensationError) {
    // Retries exhausted, a host gone, or an invariant refused: say so (exit 5), never report a clean rollback.
    status.outcome = 'compensation-failed';
    tracker.recordError(compensationError, `compensation did not finish: ${messageOf(compensationError)} (after: ${reason})`);
  }
  const failed = status.outcome === 'compensation-failed';
  // The monitor this deploy ended watches the restored color again; postRollback hooks only after a
  // rollback that restored the previous color (a failure is a warning).
  if (!failed) await resumeMonitor(d, hosts);
  if (!failed) await postHooks(d, hosts, 'postRollback');
  await d.started;
  await notifyEvent(d, hosts, failed ? 'compensation-failed' : 'rolled-back', status.lastError && failed ? status.lastError : reason, failedIn);
  tracker.finish(failed ? 'compensation-failed' : 'rolled-back');
  if (cancelled) throw err;
  if (failed) throw ApplicationFailure.create({ type: FAILURE_TYPES.compensationFailed, message: status.lastError ?? reason, nonRetryable: true, details: [status] });
  const live = colorsOf(hosts, (h) => h.liveColor);
  throw ApplicationFailure.create({ type: FAILURE_TYPES.rolledBack, message: `rolled back, ${live} stays live: ${reason}`, nonRetryable: true, details: [status] });
}

async function compensate(d: Deploy, hosts: readonly HostDeploy[]): Promise<void> {
  const anySwitched = hosts.some((h) => h.switched);
  const live = colorsOf(hosts, (h) => h.liveColor);
  const target = colorsOf(hosts, (h) => h.targetColor);
  d.tracker.enter('compensation', anySwitched ? `traffic back to ${live}, then removing ${target}` : `removing ${target}`);
  try {
    await eachHostToTheEnd(hosts, (host) => compensateHost(d, host));
  } finally {
    const fleet = hosts.filter((h) => h.status !== null);
    if (fleet.length > 0) {
      d.tracker.status.liveColor = fleet[0]!.status!.liveColor;
      const reports = fleet.flatMap((h) => (h.status!.lastError ? [h.status!.lastError] : []));
      if (reports.length > 0) d.tracker.status.lastError = reports.join('; ');
    }
  }
}

/**
 * On one host: traffic back to the previous color (if it is healthy: never route to an unhealthy
 * color), or off the router on a first deploy; then the new color's containers removed.
 */
async function compensateHost(d: Deploy, host: HostDeploy): Promise<void> {
  const { tracker } = d;
  const { status } = tracker;
  const { spec, liveColor, targetColor } = host;
  // A fleet host that stops answering is given twice the host timeout, then reported (exit 5).
  const profile = host.name && host.hostTimeoutMs ? { ...compensation, scheduleToStartTimeout: 2 * host.hostTimeoutMs } : compensation;
  const on = host.name ? ` on ${host.name}` : '';
  const step = (summary: string) => activities(profile, summary, host);
  /** The rollback could not restore this host as asked: the deploy ends compensation-failed, saying why. */
  const report = (message: string) => {
    status.outcome = 'compensation-failed';
    if (host.status) host.status.lastError = message;
    else status.lastError = message;
  };
  // The preview first: it serves the color about to be removed. A first deploy's goes with its config.
  if (host.previewOpened) {
    await step('close the preview').closePreview(spec, liveColor === null);
    status.preview = null;
  }
  if (host.switched) {
    if (liveColor) {
      const previous = await step(`is ${liveColor} healthy enough to take traffic back?`).checkColorHealth(spec, liveColor);
      if (!previous.healthy) {
        const current = await step(`is ${targetColor} healthy?`).checkColorHealth(spec, targetColor);
        if (current.healthy) {
          // Keep the healthier color live rather than route users to a broken one.
          await step(`keep ${targetColor}: ${liveColor} is unhealthy`).switchTraffic(spec, { live: targetColor, backup: null });
          if (host.status) host.status.liveColor = targetColor;
          else status.liveColor = targetColor;
          report(`could not roll back${on}: the previous color ${liveColor} is unhealthy (${previous.detail}); ${targetColor} stays live. Fix ${liveColor} or deploy again.`);
          return;
        }
        // Neither is healthy: the previous color is the last one known to work.
        report(`both colors are unhealthy${on} (${liveColor}: ${previous.detail}; ${targetColor}: ${current.detail}); traffic went back to ${liveColor}, the last color known to work`);
      }
      await switchBack(step, { ...host, liveColor });
    } else {
      await step(`take ${spec.app} off the router`).removeRoute(host.name ? spec : spec.app);
    }
  }
  if (host.handedOver && liveColor) {
    // The reverse of the handover: the new singletons stop (SIGTERM, their stopTimeout), then the old ones start.
    const longestMs = singletonServices(spec).reduce((sum, service) => sum + (spec.services[service]!.stopTimeout ?? 10_000), 0);
    await activities({ ...profile, startToCloseTimeout: longestMs + 120_000 }, `hand ${singletonServices(spec).join(', ')} back to ${liveColor} (stop ${targetColor}, then start ${liveColor})`, host).handOverSingletons(spec, targetColor, liveColor, false);
  }
  if (host.status) host.status.liveColor = liveColor;
  else status.liveColor = liveColor;
  if (host.deployed) {
    await keepFailedLogs(d, host);
    await step(`remove ${targetColor}`).removeColor(spec, targetColor);
  }
}

/**
 * The new color's container logs, kept on its host before its containers go (`greenlight logs`): the
 * text stays there, only paths and line counts come back into history. A failure is a warning, the
 * rollback goes on. Deploys from before this (no marker) replay without the step.
 */
async function keepFailedLogs(d: Deploy, host: HostDeploy): Promise<void> {
  if (!patched(PATCHES.keepFailedLogs)) return;
  const { status } = d.tracker;
  try {
    const report = await activities(quick, `keep the logs of ${host.targetColor}`, host).keepFailedLogs(host.spec, host.targetColor, d.deployId);
    status.keptLogs = [...(status.keptLogs ?? []), report];
  } catch (err) {
    d.tracker.warn(`the logs of ${host.targetColor}${host.name ? ` on ${host.name}` : ''} were not kept: ${messageOf(err)}`);
  }
}

/**
 * Traffic back to the live color on the router config that served it before the switch: a spec that
 * moved a route, added or removed a service or changed a port is undone with it. Deploys that started
 * before this switched back with the new spec's config (the previous color only) and replay that way.
 */
async function switchBack(step: (summary: string) => ReturnType<typeof activities>, host: HostDeploy & { liveColor: Color }): Promise<void> {
  const { spec, liveColor, targetColor } = host;
  const live = { live: liveColor, backup: null };
  if (host.canaried) {
    // Stopped in a canary step: the config on disk is this spec's for the live color (the split is in nginx's dict).
    await step(`traffic back to ${liveColor} alone (canary ended) on its previous routing`).switchBack(spec, live, live);
  } else if (patched(PATCHES.restorePreviousRouting)) {
    await step(`traffic back to ${liveColor} on its previous routing`).switchBack(spec, live, { live: targetColor, backup: liveColor });
  } else {
    await step(`traffic back to ${liveColor}`).switchTraffic(spec, live);
  }
}
