/** Builds a greenlight worker: the deploy workflow plus activities with injected clients. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Docker from 'dockerode';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import { dataConverterFromEnv } from '../src/codec';
import type { NginxRouter } from '../host/nginx';

/**
 * The workflows' entry a worker without a prebuilt bundle bundles: TypeScript in a checkout (resolved
 * through tsx's hook), compiled JavaScript in dist/. Resolved on use: under vitest, which cannot
 * require.resolve a .ts file, the tests pass a bundle.
 */
export function workflowsEntry(): string {
  return require.resolve('../workflows');
}

/**
 * The workflow bundle beside the compiled worker: dist/workflow-bundle.js, written by `npm pack`
 * (worker/bundle.ts) and shipped in the package. From source it would be <repo>/workflow-bundle.js,
 * which nothing writes, so a checkout always bundles the workflows it has.
 */
export const PREBUILT_BUNDLE_PATH = resolve(__dirname, '..', 'workflow-bundle.js');

/** The prebuilt bundle when there is one: with it a worker starts without running webpack. */
export function prebuiltWorkflowBundle(): string | undefined {
  return existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined;
}

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue: string;
  router: NginxRouter;
  docker?: Docker;
  /** A pre-built bundle (tests bundle once, `npm pack` ships one); otherwise the workflows are bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  activityOverrides?: Partial<ReturnType<typeof createActivities>>;
  env?: ActivityDeps['env'];
  interceptors?: WorkerOptions['interceptors'];
  /** Payload encryption (src/codec.ts); default: the keys of this process's environment. */
  dataConverter?: WorkerOptions['dataConverter'];
  /** The fleet host this worker serves: its activities refuse steps meant for another host. */
  hostName?: string | null;
  /**
   * What this worker runs: both (one host, one task queue), or, for a fleet host, its activities on the
   * host's queue and, in a second worker, the deploy workflows on the shared queue.
   */
  runs?: 'all' | 'activities' | 'workflows';
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  const runs = options.runs ?? 'all';
  const activities =
    runs === 'workflows'
      ? undefined
      : {
          ...createActivities({ docker: options.docker ?? new Docker(), router: options.router, env: options.env, hostName: options.hostName }),
          ...options.activityOverrides,
        };
  const workflows = runs === 'activities' ? {} : options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsEntry() };
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue,
    activities,
    interceptors: options.interceptors,
    dataConverter: options.dataConverter ?? dataConverterFromEnv(),
    ...workflows,
    // A replacement worker picks a workflow up within seconds of the old one dying.
    stickyQueueScheduleToStartTimeout: '2s',
    // Heartbeats reach the server every second, not every 0.8 x the 5 s heartbeat timeout (the SDK's
    // default throttle): a slow RPC on a busy host then has 4 s of slack instead of 1 s before the
    // server believes a live activity dead.
    maxHeartbeatThrottleInterval: '1s',
    shutdownGraceTime: '5s',
  });
}
