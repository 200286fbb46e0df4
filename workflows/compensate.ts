/**
 * Saga compensation: what a deploy that cannot go on undoes, in a non-cancellable scope (it also runs
 * when the deploy is cancelled), each step idempotent and retried.
 */
import { ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import { FAILURE_TYPES } from '../src/names';
import type { DeployTracker } from './tracker';
import { activities } from './steps';
import { messageOf } from './failures';
import { RollbackRequested } from './gate';
import type { Deploy, HostDeploy } from './phases';
import { compensation } from './profiles';

/** Validation failed or was interrupted: nothing was touched, so nothing is undone. Always throws. */
export function endBeforeDeploying(tracker: DeployTracker, err: unknown): never {
  const { status } = tracker;
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
 * A step after validation failed, a rollback was requested, or the deploy was cancelled: compensate,
 * then end the deploy as rolled back (or compensation-failed, exit 5). Always throws.
 */
export async function rollBack(d: Deploy, host: HostDeploy, err: unknown): Promise<never> {
  const { tracker } = d;
  const { status } = tracker;
  const cancelled = isCancellation(err);
  const reason = err instanceof RollbackRequested ? err.message : cancelled ? 'the deploy was cancelled' : messageOf(err);
  status.rollbackReason = reason;
  if (!(err instanceof RollbackRequested) && !cancelled) tracker.recordError(err, reason);
  try {
    await CancellationScope.nonCancellable(() => compensate(d, host));
  } catch (compensationError) {
    // Retries exhausted or an invariant refused: say so (exit 5), never report a clean rollback.
    status.outcome = 'compensation-failed';
    tracker.recordError(compensationError, `compensation did not finish: ${messageOf(compensationError)} (after: ${reason})`);
  }
  const failed = status.outcome === 'compensation-failed';
  tracker.finish(failed ? 'compensation-failed' : 'rolled-back');
  if (cancelled) throw err;
  if (failed) throw ApplicationFailure.create({ type: FAILURE_TYPES.compensationFailed, message: status.lastError ?? reason, nonRetryable: true, details: [status] });
  throw ApplicationFailure.create({ type: FAILURE_TYPES.rolledBack, message: `rolled back, ${host.liveColor ?? 'nothing'} stays live: ${reason}`, nonRetryable: true, details: [status] });
}

/**
 * Traffic back to the previous color (if it is healthy: never route to an unhealthy color), or off the
 * router on a first deploy; then the new color's containers removed.
 */
async function compensate(d: Deploy, host: HostDeploy): Promise<void> {
  const { spec, tracker } = d;
  const { status } = tracker;
  const { liveColor, targetColor } = host;
  tracker.enter('compensation', host.switched ? `traffic back to ${liveColor ?? 'nothing'}, then removing ${targetColor}` : `removing ${targetColor}`);
  if (host.switched) {
    if (liveColor) {
      const previous = await activities(compensation, `is ${liveColor} healthy enough to take traffic back?`).checkColorHealth(spec, liveColor);
      if (!previous.healthy) {
        const current = await activities(compensation, `is ${targetColor} healthy?`).checkColorHealth(spec, targetColor);
        if (current.healthy) {
          // Keep the healthier color live rather than route users to a broken one.
          await activities(compensation, `keep ${targetColor}: ${liveColor} is unhealthy`).switchTraffic(spec, { live: targetColor, backup: null });
          status.liveColor = targetColor;
          status.outcome = 'compensation-failed';
          status.lastError = `could not roll back: the previous color ${liveColor} is unhealthy (${previous.detail}); ${targetColor} stays live. Fix ${liveColor} or deploy again.`;
          return;
        }
        // Neither is healthy: the previous color is the last one known to work.
        status.outcome = 'compensation-failed';
        status.lastError = `both colors are unhealthy (${liveColor}: ${previous.detail}; ${targetColor}: ${current.detail}); traffic went back to ${liveColor}, the last color known to work`;
      }
      await activities(compensation, `traffic back to ${liveColor}`).switchTraffic(spec, { live: liveColor, backup: null });
    } else {
      await activities(compensation, `take ${spec.app} off the router`).removeRoute(spec.app);
    }
  }
  status.liveColor = liveColor;
  if (host.deployed) await activities(compensation, `remove ${targetColor}`).removeColor(spec, targetColor);
}
