/**
 * Named timeout/retry profiles. Every activity heartbeats while it runs (activities/support.ts), so a
 * short heartbeat timeout notices a dead worker in seconds whatever the activity's length.
 */
import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

const HEARTBEAT = '5s';

/** Router reads, spec checks, baselines: short, retried a few times. */
export const quick: ActivityOptions = {
  startToCloseTimeout: '1m',
  heartbeatTimeout: HEARTBEAT,
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 5 },
};

/**
 * Steps that change the host (a switch, containers, a migration): when a rollback or cancellation
 * interrupts one, the workflow waits until it has really ended before compensating, so a late write
 * cannot land after the compensation's.
 */
const untilDone = { cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED } as const;

/** A switch of traffic: quick, but waited for when interrupted. */
export const routing: ActivityOptions = { ...quick, ...untilDone };

/** Container create/start/stop and validation commands. */
export function dockerOps(maxMs: number): ActivityOptions {
  return {
    ...untilDone,
    startToCloseTimeout: maxMs + 120_000,
    heartbeatTimeout: HEARTBEAT,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
  };
}

/** Health gate and verify: bounded by their own deadline/window; retries resume from heartbeat details. */
export function watching(maxMs: number): ActivityOptions {
  return {
    startToCloseTimeout: maxMs + 60_000,
    heartbeatTimeout: HEARTBEAT,
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 10 },
  };
}

/** Compensation: must get through (idempotent steps), so it retries for minutes. */
export const compensation: ActivityOptions = {
  startToCloseTimeout: '2m',
  heartbeatTimeout: HEARTBEAT,
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 40 },
};

/**
 * A notification: each attempt short, retried with backoff until `totalMs` (the spec's notify.timeout)
 * has passed since it was scheduled, then given up (a warning: it never fails the deploy).
 */
export function notifying(totalMs: number): ActivityOptions {
  return {
    scheduleToCloseTimeout: totalMs,
    startToCloseTimeout: '15s',
    heartbeatTimeout: HEARTBEAT,
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5s' },
  };
}
