/**
 * The decisions of the health activities (activities/health.ts) on a fake clock and a scripted prober:
 * the health gate, verify's rollback rules, the rollback health check, and how a retried attempt resumes
 * from the heartbeat details of the previous one (MockActivityEnvironment's `heartbeatDetails`).
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createHealthActivities, type HealthDeps } from '../../activities/health';
import type { Clock } from '../../activities/support';
import type { Prober, ProbeResult } from '../../host/probe';
import type { DeploySpecInput } from '../../src/config/schema';
import { FAILURE_TYPES } from '../../src/names';
import { redactorFor, TAIL_CHARS } from '../../src/secrets';
import { webSpec, type ServiceInput } from '../../harness/specs';

const T0 = 1_700_000_000_000;

// Green's probe URLs for the one-service app below (host port 5002, router port 4001).
const HEALTH = 'http://127.0.0.1:5002/health';
const READY = 'http://127.0.0.1:5002/ready';
const PAGE = 'http://127.0.0.1:5002/page';
const ROUTER = 'http://127.0.0.1:4001/health/green/web';
// The same paths as users reach them, on the router's public port (its own /health is left out).
const ROUTED_READY = 'http://127.0.0.1:4001/ready';
const ROUTED_PAGE = 'http://127.0.0.1:4001/page';

/** App "shop", one service "web" with health endpoints /health and /ready and the verify path /page. */
function spec(overrides: Partial<DeploySpecInput> = {}, web: Partial<ServiceInput> = {}) {
  return webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 }, health: { endpoints: ['/health', '/ready'] }, verifyPaths: ['/page'], ...web }, overrides);
}

/** A time that moves only when the activity sleeps. */
function fakeClock(start = T0): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

/** What a probe sees: an HTTP status (null: no answer) and optionally its latency. */
type Answer = number | null | { status: number | null; latencyMs: number };

/** A prober answering by URL and by how often that URL was probed before (round 1, 2, ...). */
function scriptedProber(answer: (url: string, round: number) => Answer) {
  const rounds = new Map<string, number>();
  const probe: Prober = async (url) => {
    const round = (rounds.get(url) ?? 0) + 1;
    rounds.set(url, round);
    const given = answer(url, round);
    const { status, latencyMs } = typeof given === 'object' && given !== null ? given : { status: given, latencyMs: 10 };
    const ok = status !== null && status >= 200 && status < 300;
    const result: ProbeResult = { url, ok, status, latencyMs, error: status === null ? 'ECONNREFUSED' : ok ? null : `HTTP ${status}` };
    return result;
  };
  return { probe, roundsOf: (url: string) => rounds.get(url) ?? 0 };
}

/** Docker's view for the failure story: web-green running (under the older name) with two log lines. */
const host: HealthDeps['host'] = {
  appContainers: async (app, color) => (app === 'shop' && color === 'green' ? [{ id: 'c1', name: 'shop-web-green', running: true, labels: { 'greenlight.service': 'web' }, addresses: {} }] : []),
  inspectOrNull: async (id) => (id === 'c1' ? ({ State: { Status: 'running', ExitCode: 0 } } as Awaited<ReturnType<HealthDeps['host']['inspectOrNull']>>) : null),
  logTail: async () => 'listening on 3000\nGET /ready 503',
  exec: async () => 0,
};

function activities(answer: (url: string, round: number) => Answer, clock = fakeClock()) {
  const prober = scriptedProber(answer);
  return { ...createHealthActivities({ host, probe: prober.probe, clock }), clock, roundsOf: prober.roundsOf };
}

async function failureOf(run: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await run;
  } catch (err) {
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }
  throw new Error('expected an ApplicationFailure, but the activity succeeded');
}

/** A retried attempt: the activity runs with the previous attempt's last heartbeat; returns what it heartbeats. */
function retriedAttempt(heartbeatDetails: unknown) {
  // A copy, as the worker decodes one: the activity updates its progress in place.
  const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: structuredClone(heartbeatDetails) });
  const beats: unknown[] = [];
  env.on('heartbeat', (details: unknown) => beats.push(structuredClone(details)));
  return { env, beats };
}

describe('healthCheck (the gate before the switch)', () => {
  const gate = (health: DeploySpecInput['health']) => spec({ health: { interval: '500ms', deadline: '60s', ...health } });

  it('passes after health.successes good rounds in a row', async () => {
    const a = activities(() => 200);
    expect(await a.healthCheck(gate({ successes: 3 }), 'green')).toEqual({ color: 'green', probes: 6, durationMs: 1000 });
    expect(a.roundsOf(HEALTH)).toBe(3);
    expect(a.clock.sleeps).toEqual([500, 500]);
  });

  it.each([
    { name: 'a bad round resets the streak', bad: [3], rounds: 6 },
    { name: 'bad rounds at the start do not count', bad: [1, 2], rounds: 5 },
    { name: 'every bad round starts the streak again', bad: [2, 4, 6], rounds: 9 },
  ])('$name', async ({ bad, rounds }) => {
    const a = activities((url, round) => (url === READY && bad.includes(round) ? 503 : 200));
    const report = await a.healthCheck(gate({ successes: 3 }), 'green');
    expect(a.roundsOf(READY)).toBe(rounds);
    expect(report).toEqual({ color: 'green', probes: 2 * rounds, durationMs: 500 * (rounds - 1) });
  });

  it('fails at the deadline, naming the failing endpoint and what Docker says about the containers', async () => {
    const a = activities((url) => (url === READY ? 503 : 200));
    const failure = await failureOf(a.healthCheck(gate({ deadline: '2s' }), 'green'));
    expect(failure.type).toBe(FAILURE_TYPES.healthCheck);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      'green did not become healthy within 2000 ms (health.deadline): web: GET http://127.0.0.1:5002/ready -> HTTP 503\n' +
        'shop-web-green: running; last log lines:\n    listening on 3000\n    GET /ready 503',
    );
    expect(a.roundsOf(READY)).toBe(5); // at 0, 500, 1000, 1500 and 2000 ms
  });

  it("hides the worker's secret values in the container's log lines, and bounds them", async () => {
    const secret = 'jwt-0123456789abcdef';
    const leaky: HealthDeps['host'] = { ...host, logTail: async () => `JWT_SECRET=${secret}\n${'x'.repeat(5_000)}` };
    const redact = redactorFor({ allowed: new Map([['JWT_SECRET', secret]]) });
    const gateOf = createHealthActivities({ host: leaky, probe: scriptedProber((url) => (url === READY ? 503 : 200)).probe, clock: fakeClock(), redact });
    const failure = await failureOf(gateOf.healthCheck(gate({ deadline: '2s' }), 'green'));
    expect(failure.message).not.toContain(secret);
    expect(failure.message.length).toBeLessThan(TAIL_CHARS + 400);
    expect(failure.message).toContain('earlier characters not kept');
  });

  it('keeps a short log tail whole, with the secret redacted', async () => {
    const secret = 'jwt-0123456789abcdef';
    const leaky: HealthDeps['host'] = { ...host, logTail: async () => `booting with JWT_SECRET=${secret}\nGET /ready 503` };
    const redact = redactorFor({ allowed: new Map([['JWT_SECRET', secret]]) });
    const gateOf = createHealthActivities({ host: leaky, probe: scriptedProber((url) => (url === READY ? 503 : 200)).probe, clock: fakeClock(), redact });
    const failure = await failureOf(gateOf.healthCheck(gate({ deadline: '2s' }), 'green'));
    expect(failure.message).toContain('last log lines:\n    booting with JWT_SECRET=[redacted:JWT_SECRET]\n    GET /ready 503');
  });

  it('names the last failing round, and a container Docker does not know as missing', async () => {
    const a = activities((url, round) => (url.endsWith(':5001/health') && round === 1 ? null : url.endsWith(':5001/ready') && round > 1 ? 502 : 200));
    const failure = await failureOf(a.healthCheck(gate({ deadline: '1s', timeout: '1s' }), 'blue'));
    expect(failure.message).toBe('blue did not become healthy within 1000 ms (health.deadline): web: GET http://127.0.0.1:5001/ready -> HTTP 502\nshop_web_blue: missing');
  });

  it('a retried attempt keeps the first attempt\'s deadline and probe count (heartbeat details)', async () => {
    const a = activities(() => 503);
    const { env, beats } = retriedAttempt({ startedAt: T0 - 59_000, probes: 40 });
    const failure = await failureOf(env.run(a.healthCheck, gate({ deadline: '60s' }), 'green' as const));
    expect(failure.message).toMatch(/^green did not become healthy within 60000 ms/);
    // 59 s had passed: rounds at 59.0, 59.5 and 60.0 s, not 121 rounds of a fresh minute.
    expect(a.roundsOf(HEALTH)).toBe(3);
    expect(beats).toEqual([
      { startedAt: T0 - 59_000, probes: 42 },
      { startedAt: T0 - 59_000, probes: 44 },
      { startedAt: T0 - 59_000, probes: 46 },
    ]);
  });

  it('a first attempt starts the clock now and records it', async () => {
    const a = activities((_url, round) => (round < 3 ? 503 : 200));
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(structuredClone(details)));
    expect(await env.run(a.healthCheck, gate({ successes: 1 }), 'green' as const)).toEqual({ color: 'green', probes: 6, durationMs: 1000 });
    expect(beats).toEqual([
      { startedAt: T0, probes: 2 },
      { startedAt: T0, probes: 4 },
    ]);
  });
});

describe('verify (after the switch)', () => {
  const watch = (verify: DeploySpecInput['verify'], web?: Partial<ServiceInput>) => spec({ verify: { window: '1s', interval: '250ms', ...verify } }, web);
  /** Probes per round: /health, /ready, /page, the router's health route, and /ready and /page through the router. */
  const PER_ROUND = 6;

  it('ends the window with a report when no rule is broken', async () => {
    const a = activities((url) => ({ status: 200, latencyMs: url === ROUTER ? 90 : 30 }));
    expect(await a.verify(watch({}), 'green', 25)).toEqual({ color: 'green', samples: 5 * PER_ROUND, errors: 0, errorRate: 0, p50Ms: 30, baselineP50Ms: 25, durationMs: 1000 });
    expect(a.clock.sleeps).toEqual([250, 250, 250, 250]);
  });

  it('the last sleep stops at the end of the window', async () => {
    const a = activities(() => 200);
    await a.verify(watch({ window: '600ms' }), 'green', null);
    expect(a.clock.sleeps).toEqual([250, 250, 100]);
  });

  it.each([
    { name: 'a traffic probe answering 404 is not an error', url: PAGE, status: 404, errors: 0 },
    { name: 'a traffic probe answering 499 is not an error', url: PAGE, status: 499, errors: 0 },
    { name: 'a traffic probe answering 500 is an error', url: PAGE, status: 500, errors: 1 },
    { name: 'a traffic probe without an answer is an error', url: PAGE, status: null, errors: 1 },
    { name: 'a health probe answering 404 is an error', url: HEALTH, status: 404, errors: 1 },
    { name: 'a health probe answering 302 is an error', url: READY, status: 302, errors: 1 },
    { name: "the router's health route answering 404 is an error", url: ROUTER, status: 404, errors: 1 },
    { name: 'a health endpoint through the router answering 404 is an error', url: ROUTED_READY, status: 404, errors: 1 },
    { name: 'a verify path through the router answering 404 is an error (routed elsewhere)', url: ROUTED_PAGE, status: 404, errors: 1 },
    { name: 'a verify path through the router answering 401 is not an error', url: ROUTED_PAGE, status: 401, errors: 0 },
    { name: 'a verify path through the router answering 502 is an error', url: ROUTED_PAGE, status: 502, errors: 1 },
    { name: 'a health probe answering 204 is fine', url: HEALTH, status: 204, errors: 0 },
  ])('$name', async ({ url, status, errors }) => {
    const a = activities((probed) => (probed === url ? status : 200));
    const report = await a.verify(watch({ window: 0, maxErrorRate: 1, maxConsecutiveHealthFailures: 10 }), 'green', null);
    expect(report).toMatchObject({ samples: PER_ROUND, errors, errorRate: errors / PER_ROUND });
  });

  it.each([
    { name: 'not judged before minSamples', minSamples: 100, maxErrorRate: 0.1, rounds: null },
    { name: 'judged once minSamples is reached', minSamples: 18, maxErrorRate: 0.1, rounds: 3 },
    { name: 'judged from the first round when it reaches minSamples', minSamples: 6, maxErrorRate: 0.1, rounds: 1 },
    { name: 'an error rate at the threshold is allowed', minSamples: 6, maxErrorRate: 1 / 6, rounds: null },
  ])('error rate (one in six probes fails): $name', async ({ minSamples, maxErrorRate, rounds }) => {
    const a = activities((url) => (url === PAGE ? 503 : 200));
    const run = a.verify(watch({ minSamples, maxErrorRate }), 'green', null);
    if (rounds === null) {
      expect(await run).toMatchObject({ samples: 5 * PER_ROUND, errors: 5, errorRate: 1 / 6 });
      return;
    }
    const failure = await failureOf(run);
    expect(failure.type).toBe(FAILURE_TYPES.verify);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      `green error rate 16.7 % over ${rounds * PER_ROUND} probes exceeds ${(maxErrorRate * 100).toFixed(1)} % (verify.maxErrorRate): web: GET http://127.0.0.1:5002/page -> HTTP 503`,
    );
    expect(failure.details).toEqual([
      { color: 'green', samples: rounds * PER_ROUND, errors: rounds, errorRate: 1 / 6, p50Ms: 10, baselineP50Ms: null, durationMs: 250 * (rounds - 1) },
    ]);
    expect(a.roundsOf(PAGE)).toBe(rounds);
  });

  it.each([
    { name: 'over baseline + maxLatencyIncreaseMs fails', latencyMs: 100, baseline: 10, fails: true },
    { name: 'exactly baseline + maxLatencyIncreaseMs passes', latencyMs: 60, baseline: 10, fails: false },
    { name: 'no baseline: no latency rule', latencyMs: 5_000, baseline: null, fails: false },
  ])('median latency: $name', async ({ latencyMs, baseline, fails }) => {
    const a = activities(() => ({ status: 200, latencyMs }));
    const run = a.verify(watch({ minSamples: 8, maxLatencyIncreaseMs: 50 }), 'green', baseline);
    if (!fails) {
      expect(await run).toMatchObject({ p50Ms: latencyMs, baselineP50Ms: baseline, durationMs: 1000 });
      return;
    }
    const failure = await failureOf(run);
    expect(failure.type).toBe(FAILURE_TYPES.verify);
    expect(failure.message).toBe('green median latency 100 ms is 90 ms over the pre-switch baseline 10 ms (verify.maxLatencyIncreaseMs 50)');
    expect(a.roundsOf(HEALTH)).toBe(2); // minSamples 8 = two rounds
  });

  it('median latency counts successful direct probes only, as the baseline does', async () => {
    // The router's route is slow and /page fails slowly: neither is the container's own latency (with
    // them the median would be 800 ms).
    const a = activities((url) => (url === ROUTER ? { status: 200, latencyMs: 900 } : url === PAGE ? { status: 500, latencyMs: 800 } : { status: 200, latencyMs: 20 }));
    const report = await a.verify(watch({ maxErrorRate: 1, maxLatencyIncreaseMs: 50 }, { health: { endpoints: ['/health'] } }), 'green', 10);
    expect(report).toMatchObject({ p50Ms: 20, durationMs: 1000 });
  });

  it.each([
    { name: 'three failed health rounds in a row fail', failing: [1, 2, 3], url: HEALTH, failsAt: 3 },
    { name: 'a good round resets the count', failing: [1, 2, 4, 5, 6], url: HEALTH, failsAt: 6 },
    { name: "the router's health route counts", failing: [2, 3, 4], url: ROUTER, failsAt: 4 },
    { name: 'a health endpoint through the router counts', failing: [1, 2, 3], url: ROUTED_READY, failsAt: 3 },
    { name: 'failing traffic probes are no health failures', failing: [1, 2, 3, 4, 5], url: PAGE, failsAt: null },
  ])('consecutive health failures: $name', async ({ failing, url, failsAt }) => {
    const a = activities((probed, round) => (probed === url && failing.includes(round) ? 503 : 200));
    const run = a.verify(watch({ window: '2s', maxErrorRate: 1, maxConsecutiveHealthFailures: 3 }), 'green', null);
    if (failsAt === null) {
      expect(await run).toMatchObject({ samples: 9 * PER_ROUND, errors: 5 });
      return;
    }
    const failure = await failureOf(run);
    expect(failure.type).toBe(FAILURE_TYPES.verify);
    expect(failure.message).toBe(`green failed its health checks 3 rounds in a row (verify.maxConsecutiveHealthFailures): web: GET ${url} -> HTTP 503`);
    expect(a.roundsOf(url)).toBe(failsAt);
  });

  it("probes every health endpoint and verify path through the router's public port, but not nginx's own /health", async () => {
    const a = activities(() => 200);
    await a.verify(watch({ window: 0 }), 'green', null);
    expect([ROUTED_READY, ROUTED_PAGE, 'http://127.0.0.1:4001/health'].map(a.roundsOf)).toEqual([1, 1, 0]);
  });

  it('a route prefix the app does not serve (only visible through the router) fails verify', async () => {
    // "/app" is routed to web, but web serves "/page" and "/ready": through the router they hit nothing.
    const a = activities((url) => (url.startsWith('http://127.0.0.1:4001/') && !url.includes('/health/') ? 404 : 200));
    const failure = await failureOf(a.verify(watch({}, { route: '/app' }), 'green', null));
    expect(failure.type).toBe(FAILURE_TYPES.verify);
    expect(failure.message).toBe(
      'green failed its health checks 3 rounds in a row (verify.maxConsecutiveHealthFailures): web: GET http://127.0.0.1:4001/ready -> HTTP 404; web: GET http://127.0.0.1:4001/page -> HTTP 404',
    );
  });

  it('a failure names at most three failing probes', async () => {
    const a = activities(() => null);
    const failure = await failureOf(a.verify(watch({ maxConsecutiveHealthFailures: 1 }), 'green', null));
    expect(failure.message).toBe(
      'green failed its health checks 1 rounds in a row (verify.maxConsecutiveHealthFailures): ' +
        'web: GET http://127.0.0.1:5002/health -> ECONNREFUSED; web: GET http://127.0.0.1:5002/ready -> ECONNREFUSED; web: GET http://127.0.0.1:5002/page -> ECONNREFUSED',
    );
  });

  it('a retried attempt resumes its counters and the window from the heartbeat details', async () => {
    const a = activities(() => ({ status: 200, latencyMs: 40 }));
    const resumed = { startedAt: T0 - 800, samples: 30, errors: 3, latencies: [10, 10, 10], consecutiveHealthFailures: 2 };
    const { env, beats } = retriedAttempt(resumed);
    const report = await env.run(a.verify, watch({ minSamples: 1, maxErrorRate: 0.5 }), 'green' as const, 30);
    // 800 ms of the 1 s window were behind: a round now, one more after the 200 ms left.
    expect(a.clock.sleeps).toEqual([200]);
    expect(report).toEqual({ color: 'green', samples: 42, errors: 3, errorRate: 3 / 42, p50Ms: 40, baselineP50Ms: 30, durationMs: 1000 });
    expect(beats).toEqual([
      { ...resumed, samples: 36, latencies: [10, 10, 10, 40, 40, 40], consecutiveHealthFailures: 0 },
      { ...resumed, samples: 42, latencies: [10, 10, 10, 40, 40, 40, 40, 40, 40], consecutiveHealthFailures: 0 },
    ]);
  });

  it('a retried attempt resumes the count of failed health rounds', async () => {
    const a = activities((url) => (url === HEALTH ? 503 : 200));
    const { env } = retriedAttempt({ startedAt: T0 - 100, samples: 8, errors: 2, latencies: [], consecutiveHealthFailures: 2 });
    const failure = await failureOf(env.run(a.verify, watch({ maxErrorRate: 1 }), 'green' as const, null));
    expect(failure.message).toMatch(/^green failed its health checks 3 rounds in a row/);
    expect(a.roundsOf(HEALTH)).toBe(1);
  });
});

describe('measureBaseline (the live color before the switch)', () => {
  it('takes ten rounds of the direct probes and keeps the successful ones', async () => {
    let latency = 0;
    const a = activities((url) => (url === READY ? 503 : { status: 200, latencyMs: (latency += 1) }));
    expect(await a.measureBaseline(spec(), 'green')).toEqual({ color: 'green', samples: 20, p50Ms: 10, p95Ms: 19 });
    expect(a.roundsOf(READY)).toBe(10);
    expect(a.roundsOf(ROUTER)).toBe(0);
    expect(a.clock.sleeps).toEqual([]);
  });
});

describe('monitorRound (one round of the app monitor)', () => {
  it.each([
    { name: 'a probe is given health.timeout when the interval is longer', health: { timeout: '2s' }, monitor: { interval: '5s' }, limit: 2_000 },
    { name: 'and never more than monitor.interval: a hung color fails within the interval', health: { timeout: '2s' }, monitor: { interval: '1s' }, limit: 1_000 },
  ])('$name', async ({ health, monitor, limit }) => {
    const limits = new Set<number>();
    const probe: Prober = async (url, timeoutMs) => {
      limits.add(timeoutMs);
      return { url, ok: false, status: null, latencyMs: timeoutMs, error: `timeout of ${timeoutMs}ms exceeded` };
    };
    const round = await createHealthActivities({ host, probe, clock: fakeClock() }).monitorRound(spec({ health, monitor }), 'green');
    expect([...limits]).toEqual([limit]);
    expect(round.probes).toBe(6);
    expect(round.failures[0]).toBe(`web: GET ${HEALTH} -> timeout of ${limit}ms exceeded`);
  });
});

describe('checkColorHealth (before traffic goes back to a color)', () => {
  it.each([
    { name: 'healthy at once', bad: [], interval: '500ms', result: { healthy: true, detail: 'green healthy' }, sleeps: [] },
    { name: 'healthy on the second round', bad: [1], interval: '500ms', result: { healthy: true, detail: 'green healthy' }, sleeps: [500] },
    { name: 'healthy on the last round', bad: [1, 2], interval: '100ms', result: { healthy: true, detail: 'green healthy' }, sleeps: [100, 100] },
    {
      name: 'unhealthy after three rounds, waiting at most 500 ms between them',
      bad: [1, 2, 3],
      interval: '5s',
      result: { healthy: false, detail: 'web: GET http://127.0.0.1:5002/ready -> HTTP 503' },
      sleeps: [500, 500],
    },
  ])('$name', async ({ bad, interval, result, sleeps }) => {
    const a = activities((url, round) => (url === READY && bad.includes(round) ? 503 : 200));
    expect(await a.checkColorHealth(spec({ health: { interval } }), 'green')).toEqual(result);
    expect(a.clock.sleeps).toEqual(sleeps);
  });

  it('names every failing endpoint, including one that does not answer', async () => {
    const a = activities((url) => (url === HEALTH ? null : 500));
    expect(await a.checkColorHealth(spec(), 'green')).toEqual({
      healthy: false,
      detail: 'web: GET http://127.0.0.1:5002/health -> ECONNREFUSED; web: GET http://127.0.0.1:5002/ready -> HTTP 500',
    });
  });
});

describe('verify on real traffic (the router counters)', () => {
  const watch = (verify: DeploySpecInput['verify']) => spec({ verify: { window: '1s', interval: '250ms', ...verify } });
  /** Counters with green's requests growing by `perRead` at each reading (its first reading is the window's start), `fail` of them 5xx, all under 10 ms; blue's fixed baseline. */
  function counters(perRead: number, fail: number, blue = { requests: 500, buckets: [500, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, greenBucket = 0) {
    let reads = 0;
    return async () => {
      const n = perRead * reads++;
      const buckets = new Array<number>(11).fill(0);
      buckets[greenBucket] = n;
      return { web: { blue: { requests: blue.requests, errors5xx: 0, upstreamErrors: 0, sumMs: 0, buckets: blue.buckets }, green: { requests: n, errors5xx: Math.round((n * fail) / perRead), upstreamErrors: 0, sumMs: 0, buckets } } };
    };
  }
  const withTraffic = (traffic: HealthDeps['traffic']) => {
    const prober = scriptedProber(() => 200);
    return createHealthActivities({ host, probe: prober.probe, clock: fakeClock(), traffic });
  };

  it('reports the new color’s requests in the window beside the previous color’s baseline', async () => {
    const report = await withTraffic(counters(10, 0)).verify(watch({ minRequests: 20 }), 'green', null);
    expect(report.realTraffic).toEqual({ requests: 50, errors5xx: 0, upstreamErrors: 0, errorRate: 0, p50Ms: 5, p95Ms: 5, baselineRequests: 500, baselineP50Ms: 5, baselineP95Ms: 5 });
  });

  it('rolls back on the real error rate once minRequests is reached, naming real traffic', async () => {
    const failure = await failureOf(withTraffic(counters(10, 3)).verify(watch({ minRequests: 20 }), 'green', null));
    expect(failure.type).toBe(FAILURE_TYPES.verify);
    expect(failure.message).toBe('green real traffic: error rate 30.0 % (6 5xx or failed of 20 requests through the router) exceeds 1.0 % (verify.maxErrorRate)');
  });

  it('does not judge fewer than minRequests', async () => {
    const report = await withTraffic(counters(10, 3)).verify(watch({ minRequests: 100 }), 'green', null);
    expect(report.realTraffic).toMatchObject({ requests: 50, errors5xx: 15 });
  });

  it('rolls back when the median is over the previous color’s by more than maxLatencyIncreaseMs', async () => {
    // Green's requests all in the 250-500 ms bucket (index 6), blue's under 5 ms: at least 245 ms more.
    const failure = await failureOf(withTraffic(counters(10, 0, undefined, 6)).verify(watch({ minRequests: 20, maxLatencyIncreaseMs: 200 }), 'green', null));
    expect(failure.message).toBe("green real traffic: median latency over 250 ms (nginx's 250-500 ms bucket) is more than verify.maxLatencyIncreaseMs 200 over the previous color's ≤ 5 ms (20 requests vs 500)");
  });

  it('judges latency by what the buckets prove: 100-250 ms against under 10 ms is not 200 ms more', async () => {
    // The bounds alone (250 vs 10) would say 240 ms more; the new color's requests may be 101 ms, the old ones' 9 ms.
    const blue = { requests: 500, buckets: [0, 500, 0, 0, 0, 0, 0, 0, 0, 0, 0] };
    const report = await withTraffic(counters(10, 0, blue, 5)).verify(watch({ minRequests: 20, maxLatencyIncreaseMs: 200 }), 'green', null);
    expect(report.realTraffic).toMatchObject({ requests: 50, p50Ms: 250, baselineP50Ms: 10 });
  });

  it('does not let a few slow requests (cold starts) decide a p95 before 100 requests; from 100 on it counts', async () => {
    // Green: one request in 10 at 500-1000 ms, the rest under 5 ms; blue under 5 ms.
    const slowOneIn10 = (perRead: number) => {
      let reads = 0;
      return async () => {
        const n = perRead * reads++;
        const buckets = [n - n / 10, 0, 0, 0, 0, 0, 0, n / 10, 0, 0, 0];
        return { web: { blue: { requests: 500, errors5xx: 0, upstreamErrors: 0, sumMs: 0, buckets: [500, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, green: { requests: n, errors5xx: 0, upstreamErrors: 0, sumMs: 0, buckets } } };
      };
    };
    const few = await withTraffic(slowOneIn10(10)).verify(watch({ minRequests: 20 }), 'green', null);
    expect(few.realTraffic).toMatchObject({ requests: 50, p95Ms: 1000 });
    const failure = await failureOf(withTraffic(slowOneIn10(40)).verify(watch({ minRequests: 20 }), 'green', null));
    expect(failure.message).toBe("green real traffic: p95 latency over 500 ms (nginx's 500-1000 ms bucket) is more than verify.maxLatencyIncreaseMs 200 over the previous color's ≤ 5 ms (120 requests vs 500)");
  });

  it('judges probes alone when the router cannot be read', async () => {
    const report = await withTraffic(async () => {
      throw new Error('admin socket down');
    }).verify(watch({}), 'green', null);
    expect(report.realTraffic).toBeUndefined();
  });
});
