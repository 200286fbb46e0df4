/**
 * Users' real traffic, counted by nginx and judged by verify, on the real parts (Temporal dev server,
 * Docker, the stack's nginx): the router counts every request per app, service and color (admin socket
 * and Prometheus text), and a new color whose API answers 500 to a share of user requests is rolled
 * back on that alone, although every synthetic probe passes (its health endpoints are fine and no
 * verifyPaths are probed) and users never saw a failure (nginx served those requests from the backup).
 * After one failure nginx sends the new color nothing for 2 s (max_fails=1 fail_timeout=2s), so it
 * gets few attempts of the 100 req/s: minRequests 10 lets them decide within the window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec } from '../../src/config/schema';
import { NginxRouter } from '../../host/nginx';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { freeLoopbackPort, samplesOf, scrape, valueOf } from '../../harness/metrics';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const TASK_QUEUE = 'e2e-real-traffic';
const APP = 'real-traffic';
// Ports 5710-5712: no other e2e file uses them.
const PORT = 5710;
const ITEMS = `http://127.0.0.1:${PORT}/api/items`;

function spec(image: string, env: Record<string, string> = {}): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: [], env },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '30s' }, verify: { window: '8s', interval: '200ms', minRequests: 10 }, cleanup: { previous: 'stop' } },
  );
}

let w: TestWorker;

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('real traffic through the router', () => {
  it('is counted per color: requests, 5xx, latency buckets, on the admin socket and as Prometheus text', async () => {
    await deployOk(w, spec(exampleImages('v1').backend), TASK_QUEUE);
    const before = (await w.router.traffic(APP)).web?.blue?.requests ?? 0;
    for (let i = 0; i < 40; i++) expect((await fetch(ITEMS)).status).toBe(200);
    const counted = (await w.router.traffic(APP)).web!.blue!;
    expect(counted.requests - before).toBe(40);
    expect(counted.errors5xx).toBe(0);
    expect(counted.buckets.reduce((a, b) => a + b, 0)).toBe(counted.requests);

    // The same counters as Prometheus text, from a router with an endpoint on a loopback port: a
    // scratch nginx (the stack's is shared with other tests and keeps its main config), routing the
    // same container by its host port on a port of its own.
    const address = `127.0.0.1:${await freeLoopbackPort()}`;
    const scratch = new NginxRouter({ prefix: `${w.router.prefix}-metrics-test`, metricsAddress: address });
    await scratch.ensureRunning();
    try {
      const scratchSpec = { ...spec(exampleImages('v1').backend), router: { port: PORT + 3 } };
      await scratch.applyRoute(scratchSpec, { live: 'blue', backup: null });
      for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${PORT + 3}/api/items`)).status).toBe(200);
      const samples = await scrape(`http://${address}/metrics`);
      const labels = { app: APP, service: 'web', color: 'blue' };
      expect(valueOf(samples, 'greenlight_router_requests_total', labels)).toBe(10);
      expect(valueOf(samples, 'greenlight_router_responses_5xx_total', labels)).toBe(0);
      expect(valueOf(samples, 'greenlight_router_request_duration_seconds_count', labels)).toBe(10);
      expect(valueOf(samples, 'greenlight_router_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(10);
      expect(samplesOf(samples, 'greenlight_router_request_duration_seconds_bucket', labels)).toHaveLength(11);
      await scratch.removeApp(APP);
    } finally {
      const pid = await scratch.pid();
      if (pid) process.kill(pid, 'SIGQUIT');
    }
  });

  it('a new color that fails 30 % of user requests is rolled back on real traffic alone; users saw 0 failures', async () => {
    const load = startLoad({ urls: [ITEMS], ratePerSecond: 100, keepAlive: true, maxDurationMs: 60_000 });
    const outcome = await awaitOutcome(await startDeploy(w.client, spec('greenlight-example-backend:flaky', { FLAKY_RATE: '0.3' }), TASK_QUEUE));
    const report = await load.stop();
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.message).toMatch(/green real traffic: error rate \d+\.\d % \(\d+ 5xx or failed of \d+ requests through the router\) exceeds 1\.0 % \(verify\.maxErrorRate\)/);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
    const green = (await w.router.traffic(APP)).web!.green!;
    expect(green.errors5xx).toBeGreaterThan(0);

    // `greenlight status` on this host shows the split as this host's router counted it.
    const shown = await cli(['status', APP, '--json'], { GREENLIGHT_HOME: w.router.prefix.replace(/\/nginx$/, '') });
    expect(shown.code, shown.stderr).toBe(0);
    const traffic = (JSON.parse(shown.stdout) as { traffic: Record<string, { requests: number; errors5xx: number; share: number }> }).traffic;
    expect(traffic.green!.errors5xx).toBe(green.errors5xx);
    expect(traffic.blue!.requests).toBeGreaterThan(traffic.green!.requests);
    expect(traffic.blue!.share + traffic.green!.share).toBeCloseTo(1, 5);
    const text = await cli(['status', APP], { GREENLIGHT_HOME: w.router.prefix.replace(/\/nginx$/, '') });
    expect(text.stdout).toMatch(/traffic on this host's router \(each color since its deploy\): blue \d+ requests \(\d+\.\d %, 0\.0 % 5xx\), green \d+ requests/);
  });
});
