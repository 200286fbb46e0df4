/** A real worker (real activities unless overridden) on a test-named task queue, against the dev server. */
import Docker from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { createWorker, type CreateWorkerOptions } from '../worker/worker';
import { NginxRouter } from '../host/nginx';
import { dataConverterFromEnv } from '../src/codec';
import { BUNDLE_PATH, GREENLIGHT_HOME, TEMPORAL_ADDRESS } from './paths';

let runtimeInstalled = false;

export interface TestWorker {
  worker: Worker;
  client: Client;
  router: NginxRouter;
  docker: Docker;
  taskQueue: string;
  stop(): Promise<void>;
}

export function testRouter(): NginxRouter {
  return new NginxRouter({ prefix: `${GREENLIGHT_HOME}/nginx` });
}

export async function startTestWorker(taskQueue: string, extra: Partial<CreateWorkerOptions> = {}): Promise<TestWorker> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  // A test's own nginx (extra.router, its own prefix and ports) instead of the stack's.
  const router = extra.router ?? testRouter();
  await router.ensureRunning();
  const docker = new Docker();
  // The worker's and the client's codec, as `greenlight worker` and the CLI make them (src/codec.ts).
  const dataConverter = dataConverterFromEnv();
  const nativeConnection = await NativeConnection.connect({ address: TEMPORAL_ADDRESS });
  const worker = await createWorker({ connection: nativeConnection, taskQueue, router, docker, workflowBundle: { codePath: BUNDLE_PATH }, dataConverter, ...extra });
  const running = worker.run();
  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  const client = new Client({ connection, dataConverter });
  return {
    worker,
    client,
    router,
    docker,
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
    },
  };
}
