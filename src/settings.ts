/** Host-level settings of a worker (not part of a deploy spec), from the environment. */
import { resolve } from 'node:path';
import { NginxRouter } from './router/nginx';
import { DEFAULT_TASK_QUEUE } from './names';

export function greenlightHome(): string {
  return resolve(process.env.GREENLIGHT_HOME ?? process.env.GL_HOME ?? resolve(__dirname, '..', '.greenlight'));
}

export function taskQueueFromEnv(): string {
  return process.env.GREENLIGHT_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
}

export function routerFromEnv(): NginxRouter {
  return new NginxRouter({ prefix: resolve(greenlightHome(), 'nginx') });
}
