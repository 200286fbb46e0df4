/** `greenlight worker`: one worker per Docker host; runs until SIGINT/SIGTERM. */
import { NativeConnection } from '@temporalio/worker';
import { routerFromEnv } from '../host/nginx';
import { taskQueueFromEnv } from '../src/settings';
import { connectionSettings } from '../src/temporal';
import { createWorker, type CreateWorkerOptions } from './worker';

/** Runs a worker until SIGINT/SIGTERM; `overrides` lets a test harness add interceptors. */
export async function runWorker(overrides: Partial<CreateWorkerOptions> = {}): Promise<void> {
  const router = routerFromEnv();
  await router.ensureRunning();
  const { address, namespace, connectionOptions } = connectionSettings();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const taskQueue = taskQueueFromEnv();
    // A pre-built bundle (GREENLIGHT_WORKFLOW_BUNDLE) skips webpack: a replacement worker starts faster.
    const bundlePath = process.env.GREENLIGHT_WORKFLOW_BUNDLE;
    const worker = await createWorker({ connection, namespace, taskQueue, router, workflowBundle: bundlePath ? { codePath: bundlePath } : undefined, ...overrides });
    console.error(`greenlight worker: task queue "${taskQueue}" on ${address} (namespace ${namespace}), nginx prefix ${router.prefix}`);
    await worker.run();
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
