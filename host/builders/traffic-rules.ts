/**
 * Pure rules over users' real traffic (the router's counters): the report verify and canary steps judge,
 * and the first verify rule it breaks. Shared by verify (the new color against the previous color's
 * traffic since its deploy) and canary steps (against the live color's over the same step).
 */
import type { DeploySpec } from '../../src/config/schema';
import type { RealTrafficReport } from '../../src/types';
import { trafficBucketFloorMs, trafficQuantileMs, type ColorTraffic } from './nginx';

/** Real requests a p95 is judged on at least: 5 slow ones out of 100, never one cold start out of 20. */
const P95_MIN_REQUESTS = 100;

/** The real-traffic report of `live`'s counters against `baseline`'s (each already taken over its own span). */
export function realTrafficReport(live: ColorTraffic, baseline: ColorTraffic): RealTrafficReport {
  return {
    requests: live.requests,
    errors5xx: live.errors5xx,
    upstreamErrors: live.upstreamErrors,
    errorRate: live.requests ? live.errors5xx / live.requests : 0,
    p50Ms: trafficQuantileMs(live, 0.5),
    p95Ms: trafficQuantileMs(live, 0.95),
    baselineRequests: baseline.requests,
    baselineP50Ms: trafficQuantileMs(baseline, 0.5),
    baselineP95Ms: trafficQuantileMs(baseline, 0.95),
  };
}

/**
 * The same rules on users' real traffic, once the new color has had `verify.minRequests` of it: its
 * error rate, and its latency against `baselineName` (the previous color's since its deploy in verify;
 * the live color's over the same step in a canary). `what` starts the message.
 */
export function brokenRealTrafficRule(v: DeploySpec['verify'], real: RealTrafficReport | undefined, what: string, baselineName: string): string | null {
  // A deploy validated before minRequests existed carries none: the schema's default.
  const minRequests = v.minRequests ?? 20;
  if (!real || real.requests < minRequests) return null;
  if (real.errorRate > v.maxErrorRate) {
    return `${what}: error rate ${(real.errorRate * 100).toFixed(1)} % (${real.errors5xx} 5xx or failed of ${real.requests} requests through the router${real.upstreamErrors ? `, ${real.upstreamErrors} upstream errors` : ''}) exceeds ${(v.maxErrorRate * 100).toFixed(1)} % (verify.maxErrorRate)`;
  }
  if (real.baselineRequests < minRequests) return null;
  for (const [quantile, measured, baseline, needed] of [
    ['median', real.p50Ms, real.baselineP50Ms, minRequests],
    // One request in 20 is a p95: a cold start alone would decide. From 100 on, it takes 5 slow ones.
    ['p95', real.p95Ms, real.baselineP95Ms, Math.max(minRequests, P95_MIN_REQUESTS)],
  ] as const) {
    if (measured === null || baseline === null || real.requests < needed || real.baselineRequests < needed) continue;
    // What the buckets prove: the new color's quantile is at least its bucket's floor, the previous
    // color's at most its bucket's bound (bounds alone would turn 101 ms vs 9 ms into 250 vs 10).
    const floor = trafficBucketFloorMs(measured);
    if (floor - baseline > v.maxLatencyIncreaseMs) {
      return `${what}: ${quantile} latency over ${floor} ms (nginx's ${floor}-${measured} ms bucket) is more than verify.maxLatencyIncreaseMs ${v.maxLatencyIncreaseMs} over ${baselineName} ≤ ${baseline} ms (${real.requests} requests vs ${real.baselineRequests})`;
    }
  }
  return null;
}

