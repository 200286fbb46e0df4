/**
 * Canary steps (`strategy.canary`) on the real parts (Temporal dev server, Docker, the stack's nginx),
 * under load: each step sends about its weight of user requests to the new color (nginx's weighted
 * choice per request), a new color failing at 10 % is rolled back in its step with 0 failed user
 * requests (nginx served the failed attempts from the live color), and a sticky canary keeps each
 * client on one color by cookie while a manual step waits for `greenlight promote`. A worker killed
 * during a step is in test/e2e/chaos.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec, DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId, FAILURE_TYPES, otherColor, type Color } from '../../src/names';
import type { CanaryStepReport } from '../../src/types';
import { statusQuery } from '../../workflows/messages';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { recordHistory } from '../../harness/histories';
import { resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { waitFor } from '../helpers/wait';

const TASK_QUEUE = 'e2e-canary';
const APP = 'canary';
// Ports 5720-5722: no other e2e file uses them.
const PORT = 5720;
const ITEMS = `http://127.0.0.1:${PORT}/api/items`;

function spec(image: string, strategy: DeploySpecInput['strategy'], env: Record<string, string> = {}): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: [], env },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '30s' }, verify: { window: '3s', interval: '200ms', minRequests: 5 }, cleanup: { previous: 'stop' }, promotion: { timeout: '2m' }, strategy },
  );
}

/** The new color's share of the requests nginx sent either color during a step. */
const shareOf = (step: CanaryStepReport) => step.realTraffic.requests / (step.realTraffic.requests + step.realTraffic.baselineRequests);

let w: TestWorker;

/** GREENLIGHT_RECORD_HISTORIES=1 keeps the last deploy's history as test/histories/<name>.json for the replay test. */
async function record(name: string): Promise<void> {
  await recordHistory(APP, (await w.client.workflow.getHandle(deployWorkflowId(APP)).describe()).runId, name);
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  await deployOk(w, spec(exampleImages('v1').backend, undefined), TASK_QUEUE);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('canary steps under load', () => {
  it('two steps: each sends about its weight of user requests to the new color, 0 failed, then the full switch', async () => {
    const load = startLoad({ urls: [ITEMS], ratePerSecond: 100, keepAlive: true, maxDurationMs: 90_000 });
    const steps = [
      { weight: 20, pause: '6s' },
      { weight: 60, pause: '3s' },
    ];
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(exampleImages('v2').backend, { canary: { steps } }), TASK_QUEUE));
    const report = await load.stop();
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    const [first, second] = outcome.status!.canary!.passed;
    console.log(`canary: step 1 ${(shareOf(first!) * 100).toFixed(1)} % of ${first!.realTraffic.requests + first!.realTraffic.baselineRequests} requests on green (weight 20), step 2 ${(shareOf(second!) * 100).toFixed(1)} % (weight 60); ${report.sent} requests, ${report.failed} failed`);
    expect(first!.judged).toBe(true);
    expect(shareOf(first!)).toBeGreaterThan(0.1);
    expect(shareOf(first!)).toBeLessThan(0.3);
    expect(shareOf(second!)).toBeGreaterThan(0.45);
    expect(shareOf(second!)).toBeLessThan(0.75);
    expect(outcome.status!.phases.map((p) => p.phase)).toEqual(['validate', 'deploy-green', 'health-check', 'canary', 'canary', 'switch', 'verify', 'cleanup', 'done']);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
    expect(await w.router.readCanary(APP)).toBeNull();
    await record('canary-success');
  });

  it('a new color failing at 10 % is rolled back in its step, before any switch; users saw 0 failures', async () => {
    const load = startLoad({ urls: [ITEMS], ratePerSecond: 100, keepAlive: true, maxDurationMs: 90_000 });
    const outcome = await awaitOutcome(await startDeploy(w.client, spec('greenlight-example-backend:flaky', { canary: { steps: [{ weight: 10, pause: '60s' }] } }, { FLAKY_RATE: '0.5' }), TASK_QUEUE));
    const report = await load.stop();
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.status?.failureType).toBe(FAILURE_TYPES.canary);
    expect(outcome.message).toMatch(/blue canary at 10 % \(step 1\): real traffic: error rate \d+\.\d % \(\d+ 5xx or failed of \d+ requests through the router\) exceeds 1\.0 % \(verify\.maxErrorRate\)/);
    expect(outcome.status!.phases.map((p) => p.phase)).not.toContain('switch');
    console.log(`failing canary: ${report.sent} requests, ${report.failed} failed; ${outcome.message}`);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
    expect(await w.router.readCanary(APP)).toBeNull();
    await record('canary-rollback');
  });

  it('sticky: a client keeps its color by cookie; a manual step waits for `greenlight promote`', async () => {
    const before = (await w.router.readRoute(APP))!.live;
    const handle = await startDeploy(w.client, spec(exampleImages('v1').backend, { canary: { steps: [{ weight: 50, pause: '1s', manual: true }], sticky: true } }), TASK_QUEUE);
    try {
      await stickyAndPromoted(handle, before);
    } finally {
      // Failed before promote: end the deploy with its compensation, so the next run finds no deploy running.
      if ((await handle.describe()).status.name === 'RUNNING') await handle.cancel();
      await awaitOutcome(handle).catch(() => undefined);
    }
  });

  it('a canary step puts its route back only where nginx has none: never over a route written since (a rollback)', async () => {
    const live = (await w.router.readRoute(APP))!.live;
    const canary = { stable: live, canary: otherColor(live), weight: 10, sticky: false };
    // The dict holds the live route alone, as after a rollback's switch back: left alone.
    expect(await w.router.restoreCanary(APP, canary)).toBe(live);
    expect(await w.router.readCanary(APP)).toBeNull();
    expect(await w.router.readRoute(APP)).toEqual({ live, backup: null });
  });
});

/** The sticky test's part at the gate: each client's route by its cookie's bucket, then promote. */
async function stickyAndPromoted(handle: Awaited<ReturnType<typeof startDeploy>>, before: Color): Promise<void> {
  await waitFor(
    'the gate after the canary step',
    async () => {
      const phase = (await handle.query(statusQuery)).phase;
      if (phase !== 'promotion-gate') throw new Error(`phase ${phase}`);
    },
    { timeout: 60_000, interval: 100 },
  );
  const live = before;
  const canaryRoute = `${otherColor(live)}_${live}`;
  // The route the lookup chose (X-Greenlight-Route): a canary request the new color failed is served by
  // the live one (its backup), so the answering color alone may differ; the choice may not.
  const ask = async (cookie?: string) => {
    const res = await fetch(ITEMS, { headers: cookie ? { cookie } : {} });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    return { route: res.headers.get('x-greenlight-route'), setCookie: res.headers.get('set-cookie') };
  };
  const fresh = await Promise.all(Array.from({ length: 40 }, () => ask()));
  // 40 new clients at 50 %: both routes (all on one would be 1 in 2^39).
  expect(new Set(fresh.map((f) => f.route))).toEqual(new Set([live, canaryRoute]));
  for (const client of fresh.slice(0, 8)) {
    const bucket = Number(/^gl_canary_canary=(\d{1,3}); Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/.exec(client.setCookie ?? '')?.[1]);
    expect(bucket, String(client.setCookie)).toBeGreaterThanOrEqual(1);
    expect(bucket).toBeLessThanOrEqual(100);
    // On the new color while its bucket is within the weight.
    expect(client.route).toBe(bucket <= 50 ? canaryRoute : live);
    const cookie = client.setCookie!.split(';')[0]!;
    const again = await Promise.all(Array.from({ length: 10 }, () => ask(cookie)));
    expect(again.map((a) => a.route)).toEqual(new Array(10).fill(client.route));
    expect(again.every((a) => a.setCookie === null)).toBe(true);
  }
  const shown = await cli(['status', APP]);
  expect(shown.stdout).toMatch(/ {2}canary: step 1 of 1 at 50 % \(sticky\); passed: step 1 at 50 %: \d+ of \d+ requests \(\d+\.\d %\), 0\.0 % 5xx/);
  const promoted = await cli(['promote', APP]);
  expect(promoted.code, promoted.stderr).toBe(0);
  const outcome = await awaitOutcome(handle);
  expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
  expect(await w.router.readRoute(APP)).toEqual({ live: otherColor(before), backup: null });
  // After the switch nobody is given a canary cookie any more.
  expect((await ask()).setCookie).toBeNull();
}
