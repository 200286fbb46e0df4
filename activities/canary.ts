/**
 * Canary activities: one step of `strategy.canary` on one host. The step's route goes into nginx (the
 * weighted choice is the router's, per request), then the new color's real traffic over the step is
 * judged against the live color's over the same step, by verify's rules, until the step's pause ends.
 * A retried attempt (a worker that died mid-step) resumes the step's clock and counters.
 */
import type { NginxRouter } from '../host/nginx';
import { canaryKey, colorTraffic, type TrafficCounters } from '../host/builders/nginx';
import type { DeploySpec } from '../src/config/schema';
import { FAILURE_TYPES } from '../src/names';
import type { CanaryRoute, CanaryStepReport } from '../src/types';
import { brokenRealTrafficRule, realTrafficReport } from '../host/builders/traffic-rules';
import { activityClock, fail, lastHeartbeat, recordProgress, type Clock } from './support';

export interface CanaryDeps {
  router: Pick<NginxRouter, 'applyCanary' | 'restoreCanary' | 'traffic'>;
  clock?: Clock;
}

interface StepProgress {
  startedAt: number;
  atStart: TrafficCounters;
}

/** How often a step reads the counters (and puts its route back where a restarted nginx has none). */
const READ_EVERY_MS = 500;

/** The step's report from the counters at its start and now: each color over the same span. */
export function canaryStepReport(route: CanaryRoute, step: number, atStart: TrafficCounters, now: TrafficCounters, durationMs: number, minRequests: number): CanaryStepReport {
  const realTraffic = realTrafficReport(colorTraffic(now, route.canary, atStart), colorTraffic(now, route.stable, atStart));
  return { step, weight: route.weight, durationMs, realTraffic, judged: realTraffic.requests >= minRequests };
}

export function createCanaryActivities({ router, clock = activityClock }: CanaryDeps) {
  return {
    /**
     * Step `step` (1-based) at `route.weight` % for `pauseMs`: throws CanaryAnalysisFailed (non-retryable)
     * as soon as the new color's real traffic breaks a verify rule; returns the step's report otherwise.
     */
    async canaryStep(spec: DeploySpec, route: CanaryRoute, step: number, pauseMs: number): Promise<CanaryStepReport> {
      await router.applyCanary(spec, route);
      const progress: StepProgress = lastHeartbeat<StepProgress>() ?? { startedAt: clock.now(), atStart: await router.traffic(spec.app) };
      // A deploy validated before minRequests existed carries none: the schema's default.
      const minRequests = spec.verify.minRequests ?? 20;
      for (;;) {
        recordProgress(progress);
        const durationMs = clock.now() - progress.startedAt;
        const report = canaryStepReport(route, step, progress.atStart, await router.traffic(spec.app), durationMs, minRequests);
        const broken = brokenRealTrafficRule(spec.verify, report.realTraffic, `${route.canary} canary at ${route.weight} % (step ${step}): real traffic`, `${route.stable}'s over the same step`);
        if (broken !== null) throw fail(FAILURE_TYPES.canary, broken, report);
        if (durationMs >= pauseMs) return report;
        await clock.sleep(Math.min(READ_EVERY_MS, pauseMs - durationMs));
        const now = await router.restoreCanary(spec.app, route);
        // Another route took over (a rollback's switch back while this step was still reading): end here,
        // and never write over it.
        if (now !== canaryKey(route)) throw fail(FAILURE_TYPES.canary, `the route of ${spec.app} changed during canary step ${step}: nginx now has "${now}", not the step's ${canaryKey(route)}`);
      }
    },
  };
}
