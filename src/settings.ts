/** Host-level settings of a worker and the CLI (not part of a deploy spec), from the environment. */
import { resolve } from 'node:path';
import { DEFAULT_TASK_QUEUE } from './names';

/** greenlight's state folder on this host: nginx prefix, logs, the dev server's database. */
export function greenlightHome(): string {
  return resolve(process.env.GREENLIGHT_HOME ?? resolve(__dirname, '..', '.greenlight'));
}

export function taskQueueFromEnv(): string {
  return process.env.GREENLIGHT_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
}

/** The fleet host this machine's worker serves (GREENLIGHT_HOST, or `greenlight worker --host`); null: one host. */
export function hostFromEnv(): string | null {
  return process.env.GREENLIGHT_HOST || null;
}

/** A fleet host's own task queue where the spec sets hosts[].taskQueue (GREENLIGHT_HOST_TASK_QUEUE). */
export function hostTaskQueueFromEnv(): string | undefined {
  return process.env.GREENLIGHT_HOST_TASK_QUEUE || undefined;
}
