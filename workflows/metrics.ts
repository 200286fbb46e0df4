/**
 * greenlight's own metrics (METRICS in src/names.ts), emitted through the SDK's workflow metric meter, so
 * they reach the worker's Prometheus endpoint beside the SDK's own. The meter sends nothing while a
 * workflow replays (it checks `isReplaying`), and emitting is no command: histories replay unchanged and
 * a deploy picked up by another worker is not counted twice. Labels are bounded: the app, and values
 * from fixed lists (outcome, phase, rollback reason); the SDK adds namespace, taskQueue and
 * workflowType (camelCase: its workflow meter's names, unlike its own metrics' task_queue).
 */
import { metricMeter } from '@temporalio/workflow';
import { METRICS } from '../src/names';
import type { Outcome, Phase, RollbackReason } from '../src/types';

/** A deploy of `app` ended with `outcome`. */
export function countDeploy(app: string, outcome: Outcome): void {
  metricMeter.createCounter(METRICS.deploys, undefined, 'greenlight deploys that ended, by outcome').add(1, { app, outcome });
}

/** A deploy of `app` began to roll back, for `reason`. */
export function countRollback(app: string, reason: RollbackReason): void {
  metricMeter.createCounter(METRICS.rollbacks, undefined, 'greenlight rollbacks begun, by reason (a trigger, or the phase whose step failed)').add(1, { app, reason });
}

/** `phase` of a deploy of `app` ended after `durationMs` (workflow time). */
export function recordPhaseDuration(app: string, phase: Phase, durationMs: number): void {
  metricMeter.createHistogram(METRICS.phaseDuration, 'float', 's', 'how long each phase of a greenlight deploy took').record(Math.max(0, durationMs) / 1000, { app, phase });
}
