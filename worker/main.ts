/** `greenlight worker`: one worker per Docker host; runs until SIGINT/SIGTERM. */
import { NativeConnection } from '@temporalio/worker';
import { routerFromEnv } from '../host/nginx';
import { dataConverterFromEnv } from '../src/codec';
import { hostTaskQueue } from '../src/names';
import { hostFromEnv, hostTaskQueueFromEnv, metricsAddressFromEnv, metricsUrl, taskQueueFromEnv } from '../src/settings';
import { connectionSettings } from '../src/temporal';
import { serveMetrics } from './metrics';
import { createWorker, prebuiltWorkflowBundle, type CreateWorkerOptions } from './worker';

export interface WorkerPlacement {
  /** The fleet host this worker serves (`--host`, GREENLIGHT_HOST); none: the one-host worker. */
  host?: string | null;
  /** A fleet host's own task queue, where it differs from the default greenlight-host-<host>. */
  hostTaskQueue?: string;
  /**
   * Where to serve Prometheus metrics (`--metrics-address`, GREENLIGHT_METRICS_ADDRESS), already checked
   * (parseMetricsAddress); null: no endpoint. Default: the environment's.
   */
  metricsAddress?: string | null;
}

/**
 * Runs a worker until SIGINT/SIGTERM; `overrides` lets a test harness add interceptors. Without a host:
 * one worker runs the workflows and this host's activities on GREENLIGHT_TASK_QUEUE. With a host: its
 * activities on the host's own queue, and the deploy workflows on GREENLIGHT_TASK_QUEUE, which every
 * host's worker polls, so a deploy keeps moving when one host's worker is gone.
 */
export async function runWorker(overrides: Partial<CreateWorkerOptions> = {}, placement: WorkerPlacement = { host: hostFromEnv(), hostTaskQueue: hostTaskQueueFromEnv() }): Promise<void> {
  // First: without a usable payload key or with a bad metrics address the worker refuses before it touches nginx.
  const dataConverter = dataConverterFromEnv();
  const metricsAddress = placement.metricsAddress === undefined ? metricsAddressFromEnv() : placement.metricsAddress;
  if (metricsAddress) {
    // The SDK's runtime before any connection: it is made once, with the exporter or without.
    serveMetrics(metricsAddress);
    console.error(`greenlight worker: Prometheus metrics on ${metricsUrl(metricsAddress)}`);
  }
  const router = routerFromEnv();
  await router.ensureRunning();
  const { address, namespace, connectionOptions } = connectionSettings();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const taskQueue = taskQueueFromEnv();
    // A pre-built bundle (GREENLIGHT_WORKFLOW_BUNDLE, or the one an installed package ships) skips
    // webpack: the worker starts in a second, and a host needs no bundler at run time.
    const bundlePath = process.env.GREENLIGHT_WORKFLOW_BUNDLE || prebuiltWorkflowBundle();
    const common = { connection, namespace, router, dataConverter, workflowBundle: bundlePath ? { codePath: bundlePath } : undefined, ...overrides };
    if (!overrides.workflowBundle) console.error(bundlePath ? `greenlight worker: workflows from the prebuilt bundle ${bundlePath}` : 'greenlight worker: bundling the workflows from source (webpack)');
    const host = placement.host ?? null;
    if (!host) {
      const worker = await createWorker({ ...common, taskQueue });
      console.error(`greenlight worker: task queue "${taskQueue}" on ${address} (namespace ${namespace}), nginx prefix ${router.prefix}`);
      await worker.run();
      return;
    }
    const activityQueue = placement.hostTaskQueue ?? hostTaskQueue(host);
    const activities = await createWorker({ ...common, taskQueue: activityQueue, hostName: host, runs: 'activities' });
    const workflows = await createWorker({ ...common, taskQueue, runs: 'workflows' });
    console.error(`greenlight worker for host ${host}: its steps on task queue "${activityQueue}", deploy workflows on "${taskQueue}" (${address}, namespace ${namespace}), nginx prefix ${router.prefix}`);
    await Promise.all([activities.run(), workflows.run()]);
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  runWorker().catch((err) => {
    console.error(`greenlight worker: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
