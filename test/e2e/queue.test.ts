/**
 * `greenlight deploy --queue` through the real binary on the real stack (dev server, Docker, nginx, a
 * worker process): a deploy held at its manual promotion gate runs, two queued deploys wait behind it,
 * the first is superseded by the second (exit 11, naming it), the worker is SIGKILLed while the second
 * waits and a new one takes over, and once the held deploy is promoted the second deploys (exit 0).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes';
import { readQueue } from '../../src/cli/queue-client';
import type { DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId, queueWorkflowId } from '../../src/names';
import { dataConverterFromEnv } from '../../src/codec';
import { statusQuery } from '../../workflows/messages';
import type { deployWorkflow } from '../../workflows/deploy';
import { cli } from '../../harness/cli';
import { resetApp } from '../../harness/host';
import { TEMPORAL_ADDRESS } from '../../harness/paths';
import { spawnWorker, type WorkerProcess } from '../../harness/processes';
import { exampleImages, twoServices, writeSpecFile } from '../../harness/specs';
import { testRouter } from '../../harness/worker';

const APP = `q-${Date.now().toString(36)}`;
const QUEUE = 'e2e-queue';
const docker = new Docker();
const router = testRouter();
let client: Client;
let dir: string;
let worker: WorkerProcess;

const spec = (tag: string, extra: Partial<DeploySpecInput> = {}): DeploySpecInput => ({
  app: APP,
  router: { port: 5940 },
  services: twoServices({
    images: exampleImages(tag),
    hostPorts: { backend: { blue: 5941, green: 5942 }, frontend: { blue: 5943, green: 5944 } },
    backend: { health: { endpoints: ['/api/health'] } },
    frontend: { health: { endpoints: ['/health'] } },
  }),
  health: { interval: '200ms', successes: 2, deadline: '30s' },
  verify: { window: '1s', interval: '100ms' },
  cleanup: { previous: 'stop', drain: '200ms' },
  ...extra,
});
const env = { GREENLIGHT_TASK_QUEUE: QUEUE, CI: 'true' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'greenlight-queue-'));
  client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }), dataConverter: dataConverterFromEnv() });
  await router.ensureRunning();
  worker = spawnWorker(QUEUE, undefined, 'queue-first');
});

afterAll(async () => {
  await client?.workflow.getHandle(queueWorkflowId(APP)).terminate('test over').catch(() => undefined);
  await client?.workflow.getHandle(deployWorkflowId(APP)).terminate('test over').catch(() => undefined);
  await worker?.kill('SIGTERM');
  await resetApp(docker, router, APP).catch(() => undefined);
  await client?.connection.close();
});

describe('greenlight deploy --queue', () => {
  it('waits behind a running deploy; the latest request wins, the superseded one exits 11 naming it; a worker kill loses nothing', async () => {
    const held = await cli(['deploy', '--no-wait', '-f', writeSpecFile(dir, 'held', spec('v1', { promotion: { manual: true, timeout: '5m' } }))], env);
    expect(held.code, held.stderr).toBe(EXIT.ok);
    const heldDeploy = client.workflow.getHandle<typeof deployWorkflow>(deployWorkflowId(APP));
    await expect.poll(async () => (await heldDeploy.query(statusQuery).catch(() => null))?.phase, { timeout: 90_000, interval: 200 }).toBe('promotion-gate');

    // Without --queue: refused as before.
    const refused = await cli(['deploy', '-f', writeSpecFile(dir, 'refused', spec('v2'))], env);
    expect(refused.code).toBe(EXIT.refused);

    const first = cli(['deploy', '--queue', '--requested-by', 'ci-job-1', '-f', writeSpecFile(dir, 'first', spec('v1'))], env);
    await expect.poll(async () => (await readQueue(client, APP))?.waiting?.requestedBy ?? (await readQueue(client, APP))?.starting?.requestedBy, { timeout: 30_000, interval: 200 }).toBe('ci-job-1');
    const second = cli(['deploy', '--queue', '--requested-by', 'ci-job-2', '-f', writeSpecFile(dir, 'second', spec('v2'))], env);

    const superseded = await first;
    expect(superseded.code, superseded.stdout + superseded.stderr).toBe(EXIT.superseded);
    expect(superseded.stdout).toMatch(new RegExp(`superseded by request [0-9a-f-]{36} \\(requested by ci-job-2\\).*deploys as deploy-${APP}`));

    // status shows who waits and since when.
    const status = await cli(['status', APP], env);
    expect(status.stdout).toMatch(/queued: request [0-9a-f-]{36} by ci-job-2 \(backend=greenlight-example-backend:v2, frontend=greenlight-example-frontend:v2\) waiting since \d{4}-/);

    // The worker dies while the second request waits; a new one picks the queue up from its history.
    await worker.kill('SIGKILL');
    worker = spawnWorker(QUEUE, undefined, 'queue-replacement');

    const promoted = await cli(['promote', APP], env);
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(EXIT.ok);
    const deployed = await second;
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(EXIT.ok);
    expect(deployed.stdout).toMatch(/started by the queue/);
    const last = await client.workflow.getHandle<typeof deployWorkflow>(deployWorkflowId(APP)).result();
    expect(last.images).toEqual(exampleImages('v2'));
    expect(last.requestedBy).toBe('ci-job-2');
    expect((await readQueue(client, APP))?.outcomes.map((o) => [o.requestedBy, o.result])).toEqual([['ci-job-1', 'superseded'], ['ci-job-2', 'started']]);
  }, 240_000);
});
