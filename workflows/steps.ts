/**
 * How the workflow calls activities: with a named profile (workflows/profiles.ts) and a one-line summary
 * the Temporal UI shows on the activity. Only the activities' *type* is imported.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';

/** The activities, scheduled with `options` and shown in the UI as `summary`. */
export function activities(options: ActivityOptions, summary: string) {
  return proxyActivities<Activities>({ ...options, summary });
}
