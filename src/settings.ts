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
