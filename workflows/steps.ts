/**
 * How the workflow calls activities: with a named profile (workflows/profiles.ts), a one-line summary
 * the Temporal UI shows on the activity, and, in a fleet, on the host's own task queue. Only the
 * activities' *type* is imported.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { FAILURE_TYPES, PINNED_ENGINE } from '../src/names';
import { failureTypeOf } from './failures';
import type { EngineIdentity } from '../src/types';

/** Where activities run: the deploy's own task queue (name null), or one host of a fleet. */
export interface HostTarget {
  name: string | null;
  taskQueue?: string;
  /** How long a step may wait for this host's worker to pick it up (fleet only). */
  hostTimeoutMs?: number;
  /** The Docker engine a one-host deploy runs on (its first step's): every step carries it. */
  engine?: EngineIdentity;
}

/** The activities, scheduled with `options` (on `host`'s queue) and shown in the UI as `summary`. */
export function activities(options: ActivityOptions, summary: string, host?: HostTarget) {
  if (!host?.name) return pinnedTo(host?.engine, options, proxyActivities<Activities>({ ...options, summary }));
  return proxyActivities<Activities>({
    scheduleToStartTimeout: host.hostTimeoutMs,
    ...options,
    taskQueue: host.taskQueue,
    summary: `${host.name}: ${summary}`,
  });
}

/**
 * A pinned step is refused (retryably) by every worker on another engine, and Temporal gives each retry
 * to whichever worker polls: with two machines on one queue, 5 attempts all land on the wrong one 1 time
 * in 32. So a step refused to the end is scheduled again, until it had at least this many attempts
 * (1 in 2^20 with two machines); a deploy whose machine is gone for good fails after them, naming both.
 */
const PINNED_MIN_ATTEMPTS = 20;

/** Each step given the deploy's engine as one more, last, argument: the worker takes it off and checks it. */
function pinnedTo(engine: EngineIdentity | undefined, options: ActivityOptions, steps: Activities): Activities {
  if (!engine) return steps;
  const pin = { [PINNED_ENGINE]: engine };
  const rounds = Math.max(1, Math.ceil(PINNED_MIN_ATTEMPTS / (options.retry?.maximumAttempts || PINNED_MIN_ATTEMPTS)));
  return new Proxy(steps, {
    get: (target, name) => async (...args: unknown[]) => {
      const step = target[name as keyof Activities] as (...a: unknown[]) => Promise<unknown>;
      for (let round = 1; ; round++) {
        try {
          return await step(...args, pin);
        } catch (err) {
          if (round >= rounds || failureTypeOf(err) !== FAILURE_TYPES.wrongHost) throw err;
        }
      }
    },
  });
}
