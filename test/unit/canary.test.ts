/**
 * Canary steps, the pure parts and the step activity over a fake router: the route key nginx's lookup
 * reads, the spec's checks (a clear error naming the field), and one step judged on each color's real
 * traffic over the step (rolled back on the new color's error rate or latency against the live one's,
 * unjudged under minRequests, resumed after a worker crash from its heartbeat).
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createCanaryActivities } from '../../activities/canary';
import type { Clock } from '../../activities/support';
import { canaryCookieName, canaryKey, parseCanaryKey, parseRouteKey, type TrafficCounters } from '../../host/builders/nginx';
import { parseDeploySpec } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { FAILURE_TYPES } from '../../src/names';
import type { CanaryRoute, CanaryStepReport } from '../../src/types';
import { webSpec } from '../../harness/specs';

const ROUTE: CanaryRoute = { stable: 'blue', canary: 'green', weight: 10, sticky: true };

describe('the canary route key', () => {
  it('is "<stable>|<canary>_<stable>|<weight>|<sticky>", read back as it was, and never taken for a plain route', () => {
    expect(canaryKey(ROUTE)).toBe('blue|green_blue|10|1');
    expect(canaryKey({ stable: 'green', canary: 'blue', weight: 50, sticky: false })).toBe('green|blue_green|50|0');
    expect(parseCanaryKey('blue|green_blue|10|1')).toEqual(ROUTE);
    expect(parseRouteKey('blue|green_blue|10|1')).toBeNull();
    for (const bad of ['blue', 'blue|blue_green|10|1', 'blue|green_blue|100|1', 'blue|green_blue|10|2', 'blue|green|10|1', 'blue|green_blue|10|1|x', 'red|green_red|10|1']) {
      expect(parseCanaryKey(bad), bad).toBeNull();
    }
  });

  it('names one cookie per app, a valid nginx variable suffix', () => {
    expect(canaryCookieName('my-shop')).toBe('gl_canary_my_shop');
  });
});

describe('strategy.canary in the spec', () => {
  const spec = (strategy: unknown, services?: unknown) =>
    parseDeploySpec({ app: 'shop', services: services ?? { web: { image: 'web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 } } }, strategy });
  const issues = (fn: () => unknown): string[] => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).issues;
    }
    throw new Error('expected a ConfigError');
  };

  it('takes steps with a weight and a pause (default 30 s), manual and sticky off by default; no strategy is blue/green', () => {
    expect(spec({ canary: { steps: [{ weight: 10 }, { weight: 50, pause: '1m', manual: true }] } }).strategy).toEqual({
      canary: { steps: [{ weight: 10, pause: 30_000, manual: false }, { weight: 50, pause: 60_000, manual: true }], sticky: false },
    });
    expect(spec(undefined).strategy).toBeUndefined();
  });

  it('refuses a weight out of 1-99, steps that do not grow, no steps, and a canary of an app with only workers, naming the field', () => {
    expect(issues(() => spec({ canary: { steps: [{ weight: 100 }] } }))).toEqual(['strategy.canary.steps.0.weight: must be a whole number from 1 to 99 (per cent of requests; 100 is the full switch that follows the last step)']);
    expect(issues(() => spec({ canary: { steps: [{ weight: 50 }, { weight: 20 }] } }))).toEqual(["strategy.canary.steps.1.weight: must be more than the step before's 50: each step sends a larger share to the new color"]);
    expect(issues(() => spec({ canary: { steps: [] } }))[0]).toMatch(/^strategy\.canary\.steps: needs at least one step/);
    expect(issues(() => spec({ canary: { steps: [{ weight: 10 }] } }, { worker: { image: 'worker:v2' } }))).toEqual([
      'strategy.canary: needs a service with a route: a canary splits requests through the router, and this app has only workers; leave `strategy.canary` out',
    ]);
  });
});

/** Counters growing per reading: the new color `canaryPerRead` requests (`failPerRead` of them 5xx) in `bucket`, the live color 9 times as many under 5 ms. */
function router(canaryPerRead: number, failPerRead = 0, bucket = 0, takenOver: string | null = null) {
  let reads = 0;
  const puts: string[] = [];
  const fake = {
    applyCanary: async (_spec: unknown, route: CanaryRoute) => {
      puts.push(`apply ${canaryKey(route)}`);
      return { reloaded: false, configChanged: true };
    },
    restoreCanary: async (_app: string, route: CanaryRoute) => {
      puts.push(`restore ${canaryKey(route)}`);
      return takenOver !== null && puts.length > 2 ? takenOver : canaryKey(route);
    },
    traffic: async (): Promise<TrafficCounters> => {
      const n = canaryPerRead * reads++;
      const green = new Array<number>(11).fill(0);
      green[bucket] = n;
      const blue = [9 * n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      return { web: { green: { requests: n, errors5xx: failPerRead * (n / canaryPerRead || 0), upstreamErrors: 0, sumMs: 0, buckets: green }, blue: { requests: 9 * n, errors5xx: 0, upstreamErrors: 0, sumMs: 0, buckets: blue } } };
    },
  };
  return { fake, puts };
}

function fakeClock(): Clock {
  let now = 1_000_000;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
}

const stepSpec = (minRequests = 10) => webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 } }, { verify: { minRequests } });

async function failureOf(run: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('canaryStep (one step, judged on real traffic)', () => {
  it('routes the step, puts its route back (where nginx has none) at each reading, and passes a healthy new color with its report', async () => {
    const { fake, puts } = router(5);
    const report = await createCanaryActivities({ router: fake, clock: fakeClock() }).canaryStep(stepSpec(), ROUTE, 1, 2_000);
    expect(report).toMatchObject({ step: 1, weight: 10, durationMs: 2_000, judged: true, realTraffic: { requests: 25, errors5xx: 0, baselineRequests: 225 } });
    expect(puts[0]).toBe('apply blue|green_blue|10|1');
    expect(puts.slice(1)).toEqual(new Array(4).fill('restore blue|green_blue|10|1'));
  });

  it('ends the step, writing nothing over it, when another route took over (a rollback switched back meanwhile)', async () => {
    const { fake, puts } = router(5, 0, 0, 'blue');
    const failure = await failureOf(createCanaryActivities({ router: fake, clock: fakeClock() }).canaryStep(stepSpec(), ROUTE, 1, 10_000));
    expect(failure.message).toBe('the route of shop changed during canary step 1: nginx now has "blue", not the step\'s blue|green_blue|10|1');
    expect(puts).toEqual(['apply blue|green_blue|10|1', 'restore blue|green_blue|10|1', 'restore blue|green_blue|10|1']);
  });

  it('fails the step on the new color’s error rate once it has minRequests, naming the step and the signal', async () => {
    const { fake } = router(5, 1);
    const failure = await failureOf(createCanaryActivities({ router: fake, clock: fakeClock() }).canaryStep(stepSpec(), ROUTE, 1, 10_000));
    expect(failure.type).toBe(FAILURE_TYPES.canary);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe('green canary at 10 % (step 1): real traffic: error rate 20.0 % (2 5xx or failed of 10 requests through the router) exceeds 1.0 % (verify.maxErrorRate)');
  });

  it('fails the step on latency against the live color over the same step', async () => {
    const { fake } = router(5, 0, 6);
    const failure = await failureOf(createCanaryActivities({ router: fake, clock: fakeClock() }).canaryStep(stepSpec(), ROUTE, 2, 10_000));
    expect(failure.message).toBe("green canary at 10 % (step 2): real traffic: median latency over 250 ms (nginx's 250-500 ms bucket) is more than verify.maxLatencyIncreaseMs 200 over blue's over the same step ≤ 5 ms (10 requests vs 90)");
  });

  it('passes unjudged when the new color had fewer than minRequests (verify judges after the switch)', async () => {
    const { fake } = router(1, 1);
    const report = await createCanaryActivities({ router: fake, clock: fakeClock() }).canaryStep(stepSpec(100), ROUTE, 1, 1_000);
    expect(report).toMatchObject({ judged: false, realTraffic: { requests: 3, errors5xx: 3 } });
  });

  it('a retried attempt (the worker died mid-step) resumes the step’s clock and counters from its heartbeat', async () => {
    const { fake } = router(5);
    const clock = fakeClock();
    const atStart = await fake.traffic(); // the first attempt's reading at the step's start: nothing yet
    const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { startedAt: clock.now() - 1_500, atStart } });
    const report = (await env.run(() => createCanaryActivities({ router: fake, clock }).canaryStep(stepSpec(), ROUTE, 1, 2_000))) as CanaryStepReport;
    // 1.5 s of the 2 s step had passed: one more reading at once, then one after the last 500 ms.
    expect(report.durationMs).toBe(2_000);
    expect(report.realTraffic.requests).toBe(10);
  });
});
