/**
 * How the workflow calls activities: with a named profile (workflows/profiles.ts), a one-line summary
 * the Temporal UI shows on the activity, and, in a fleet, on the host's own task queue. Only the
 * activities' *type* is imported.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** Where activities run: the deploy's own task queue (name null), or one host of a fleet. */
export interface HostTarget {
  name: string | null;
  taskQueue?: string;
  /** How long a step may wait for this host's worker to pick it up (fleet only). */
  hostTimeoutMs?: number;
}

/** The activities, scheduled with `options` (on `host`'s queue) and shown in the UI as `summary`. */
export function activities(options: ActivityOptions, summary: string, host?: HostTarget) {
  if (!host?.name) return proxyActivities<Activities>({ ...options, summary });
  return proxyActivities<Activities>({
    scheduleToStartTimeout: host.hostTimeoutMs,
    ...options,
    taskQueue: host.taskQueue,
    summary: `${host.name}: ${summary}`,
  });
}
