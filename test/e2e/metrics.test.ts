/**
 * The worker's Prometheus endpoint on the real parts: the real worker entry (as `greenlight worker`
 * runs it) with GREENLIGHT_METRICS_ADDRESS on a free loopback port, real deploys of the example app
 * (Docker, nginx, the Temporal dev server), then the endpoint scraped by a plain GET, by Debian's
 * Prometheus (when installed: scripts/test.sh installs it) and by `greenlight doctor`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { cli } from '../../harness/cli';
import { resetApp } from '../../harness/host';
import { freeLoopbackPort, samplesOf, scrape, valueOf, type Sample } from '../../harness/metrics';
import { TEMPORAL_ADDRESS } from '../../harness/paths';
import { spawnWorker, type WorkerProcess } from '../../harness/processes';
import { exampleImages, twoServiceSpec, withImages } from '../../harness/specs';
import { testRouter } from '../../harness/worker';
import { awaitOutcome, startDeploy, type DeployOutcome } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpecInput } from '../../src/config/schema';
import { dataConverterFromEnv } from '../../src/codec';
import { DEPLOY_WORKFLOW, METRICS } from '../../src/names';
import { waitFor } from '../helpers/wait';

const APP = 'e2e-metrics';
const BASE = 5640;
const TASK_QUEUE = 'e2e-metrics';
const base: DeploySpecInput = twoServiceSpec(APP, BASE);
const PROMETHEUS = '/usr/bin/prometheus';

let worker: WorkerProcess;
let connection: Connection;
let client: Client;
let address: string;
let url: string;
const docker = new Docker();
const router = testRouter();

async function deploy(images: Record<string, string>, overrides: Partial<DeploySpecInput> = {}): Promise<DeployOutcome> {
  return awaitOutcome(await startDeploy(client, withImages({ ...base, ...overrides }, images), TASK_QUEUE));
}

/** The scrape once `ready` holds of it (the workflow's metrics reach the exporter just after its task). */
async function scrapeUntil(what: string, ready: (samples: Sample[]) => boolean): Promise<Sample[]> {
  return waitFor(
    what,
    async () => {
      const samples = await scrape(url);
      if (!ready(samples)) throw new Error(`not yet: ${JSON.stringify(samplesOf(samples, METRICS.deploys, { app: APP }))}`);
      return samples;
    },
    { timeout: 15_000, interval: 200 },
  );
}

/** The app's series of `name` as label value -> value: `{ succeeded: 1, 'rolled-back': 1 }`. */
function byLabel(samples: Sample[], name: string, label: string): Record<string, number> {
  return Object.fromEntries(samplesOf(samples, name, { app: APP }).map((x) => [x.labels[label]!, x.value]));
}

beforeAll(async () => {
  await resetApp(docker, router, APP);
  address = `127.0.0.1:${await freeLoopbackPort()}`;
  url = `http://${address}/metrics`;
  worker = spawnWorker(TASK_QUEUE, undefined, 'metrics', { GREENLIGHT_METRICS_ADDRESS: address });
  // The endpoint is up once the runtime is installed, before the worker polls; its first poll follows within seconds.
  await waitFor(
    `the worker's metrics at ${url}`,
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited (${worker.child.exitCode}); see test-results/workers/metrics.log`);
      const samples = await scrape(url);
      if (valueOf(samples, 'temporal_worker_start', { task_queue: TASK_QUEUE }) < 1) throw new Error('no temporal_worker_start yet');
    },
    { timeout: 90_000, interval: 250 },
  );
  connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  client = new Client({ connection, dataConverter: dataConverterFromEnv() });
});

afterAll(async () => {
  await worker?.kill('SIGTERM');
  await connection?.close();
  await resetApp(docker, router, APP);
});

describe("the worker's Prometheus endpoint (GREENLIGHT_METRICS_ADDRESS)", () => {
  it("a deploy that succeeds: the SDK's workflow and activity metrics and greenlight's counters and phase timings", async () => {
    const outcome = await deploy(exampleImages('v1'));
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    // Both counts come in the workflow's last task: greenlight's from its sink, the SDK's once core has the completion.
    const completed = (s: Sample[]) => valueOf(s, 'temporal_workflow_completed', { task_queue: TASK_QUEUE, workflow_type: DEPLOY_WORKFLOW });
    const samples = await scrapeUntil('the succeeded deploy counted', (s) => valueOf(s, METRICS.deploys, { app: APP, outcome: 'succeeded' }) === 1 && completed(s) === 1);
    // greenlight's: one deploy, succeeded, nothing rolled back; each phase it ran timed once.
    expect(samplesOf(samples, METRICS.deploys, { app: APP }).map((s) => [s.labels.outcome, s.value])).toEqual([['succeeded', 1]]);
    expect(valueOf(samples, METRICS.rollbacks, { app: APP })).toBe(0);
    const timed = Object.fromEntries(samplesOf(samples, `${METRICS.phaseDuration}_count`, { app: APP }).map((s) => [s.labels.phase, s.value]));
    expect(timed).toEqual({ validate: 1, 'deploy-green': 1, 'health-check': 1, switch: 1, verify: 1, cleanup: 1 });
    // verify's window is 3 s (twoServiceSpec): its phase took at least that, and less than its deadline.
    const verifySeconds = valueOf(samples, `${METRICS.phaseDuration}_sum`, { app: APP, phase: 'verify' });
    expect(verifySeconds).toBeGreaterThanOrEqual(3);
    expect(verifySeconds).toBeLessThan(30);
    // The SDK's own: workflow task latency on this queue, each activity's execution latency, the completed workflow.
    expect(valueOf(samples, 'temporal_workflow_task_execution_latency_count', { task_queue: TASK_QUEUE, workflow_type: DEPLOY_WORKFLOW })).toBeGreaterThan(0);
    // (A first deploy has no previous color: nothing to retire.)
    for (const activity of ['validateSpec', 'readRoute', 'preflightDocker', 'deployColor', 'healthCheck', 'switchTraffic', 'verify']) {
      expect(valueOf(samples, 'temporal_activity_execution_latency_count', { task_queue: TASK_QUEUE, activity_type: activity }), activity).toBeGreaterThanOrEqual(1);
    }
    console.log(`metrics after one deploy: ${samples.length} series; phases (s): ${JSON.stringify(Object.fromEntries(samplesOf(samples, `${METRICS.phaseDuration}_sum`, { app: APP }).map((s) => [s.labels.phase, Number(s.value.toFixed(3))])))}`);
  });

  it('a deploy whose new backend never gets healthy rolls back: counted as rolled-back, reason health-check-failed', async () => {
    // Counted on top of what the endpoint holds (the deploy above, when it ran).
    const before = byLabel(await scrape(url), METRICS.deploys, 'outcome');
    const outcome = await deploy({ backend: 'greenlight-example-backend:unhealthy' }, { health: { interval: '200ms', successes: 3, deadline: '4s' } });
    expect(outcome.exitCode, outcome.message).toBe(EXIT.rolledBack);
    // The deploy workflow ends failed (DeployRolledBack), as the SDK counts it.
    const failed = (s: Sample[]) => valueOf(s, 'temporal_workflow_failed', { task_queue: TASK_QUEUE, workflow_type: DEPLOY_WORKFLOW });
    const samples = await scrapeUntil('the rolled-back deploy counted', (s) => valueOf(s, METRICS.deploys, { app: APP, outcome: 'rolled-back' }) === 1 && failed(s) === 1);
    expect(byLabel(samples, METRICS.deploys, 'outcome')).toEqual({ ...before, 'rolled-back': 1 });
    expect(samplesOf(samples, METRICS.rollbacks, { app: APP }).map((s) => [s.labels.reason, s.value])).toEqual([['health-check-failed', 1]]);
    expect(valueOf(samples, `${METRICS.phaseDuration}_count`, { app: APP, phase: 'compensation' })).toBe(1);
  });

  it.skipIf(!existsSync(PROMETHEUS))("Debian's Prometheus scrapes the endpoint; its query API returns greenlight's counters", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-prometheus-'));
    const listen = `127.0.0.1:${await freeLoopbackPort()}`;
    writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: greenlight-worker\n    static_configs:\n      - targets: ['${address}']\n`);
    const prometheus: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=${listen}`], { stdio: 'ignore' });
    const query = async (promql: string) => {
      const response = await fetch(`http://${listen}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5_000) });
      const body = (await response.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`query ${promql}: ${JSON.stringify(body)}`);
      return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    };
    try {
      // What the endpoint holds now (the deploys above; run alone, this test deploys once itself).
      if (valueOf(await scrape(url), METRICS.deploys, { app: APP }) === 0) expect((await deploy(exampleImages('v1'))).exitCode).toBe(EXIT.ok);
      const direct = await scrapeUntil('a deploy counted', (s) => valueOf(s, METRICS.deploys, { app: APP }) > 0);
      const deploys = await waitFor(
        'Prometheus to have scraped greenlight_deploys_total',
        async () => {
          const result = Object.fromEntries((await query(`sum by (outcome) (${METRICS.deploys}{app="${APP}"})`)).map((r) => [r.labels.outcome, r.value]));
          expect(result).toEqual(byLabel(direct, METRICS.deploys, 'outcome'));
          return result;
        },
        { timeout: 30_000, interval: 500 },
      );
      console.log(`Prometheus: deploys by outcome ${JSON.stringify(deploys)}`);
      const rollbacks = Object.fromEntries((await query(`${METRICS.rollbacks}{app="${APP}",job="greenlight-worker"}`)).map((r) => [r.labels.reason, r.value]));
      expect(rollbacks).toEqual(byLabel(direct, METRICS.rollbacks, 'reason'));
      expect((await query(`up{job="greenlight-worker"}`)).map((r) => [r.labels.instance, r.value])).toEqual([[address, 1]]);
      const verifyP = await query(`histogram_quantile(0.5, sum by (le) (${METRICS.phaseDuration}_bucket{app="${APP}",phase="verify"}))`);
      expect(verifyP[0]!.value).toBeGreaterThan(0);
    } finally {
      prometheus.kill('SIGTERM');
      await new Promise((resolve) => (prometheus.exitCode !== null ? resolve(undefined) : prometheus.once('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('greenlight doctor reports the endpoint the worker serves', async () => {
    const result = await cli(['doctor', '--json'], { GREENLIGHT_METRICS_ADDRESS: address, GREENLIGHT_TASK_QUEUE: TASK_QUEUE });
    const report = JSON.parse(result.stdout) as { checks: { what: string; ok: boolean; detail: string }[] };
    const metrics = report.checks.find((c) => c.what === 'metrics');
    expect(metrics).toMatchObject({ ok: true, detail: expect.stringMatching(new RegExp(`^http://${address.replace(/\./g, '\\.')}/metrics serves \\d+ series$`)) });
  });
});
