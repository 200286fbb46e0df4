/**
 * Health activities (axios): the health gate before the switch, the latency baseline, verify after the
 * switch, and the health check of the previous color before a rollback. All probe containers directly
 * on their loopback host ports, bypassing the router.
 */
import type { DockerHost } from '../host/docker';
import { percentile, type Prober, type ProbeResult } from '../host/probe';
import { fail, lastHeartbeat, recordProgress, sleep } from './support';
import { containerName, type Color } from '../src/names';
import type { DeploySpec } from '../src/config/schema';
import { FAILURE_TYPES } from '../src/errors';
import type { HealthReport, LatencyBaseline, VerifyReport } from '../src/types';

export interface HealthDeps {
  /** Container state and log tails for the story of a color that did not become healthy. */
  host: Pick<DockerHost, 'inspectOrNull' | 'logTail'>;
  probe: Prober;
}

interface Target {
  service: string;
  url: string;
  kind: 'health' | 'traffic';
  /** On the container itself (not through nginx): the probes latency is measured on. */
  direct: boolean;
}

function healthTargets(spec: DeploySpec, color: Color): Target[] {
  return Object.entries(spec.services).flatMap(([service, svc]) =>
    svc.health.endpoints.map((path) => ({ service, url: `http://127.0.0.1:${svc.hostPorts[color]}${path}`, kind: 'health' as const, direct: true })),
  );
}

function trafficTargets(spec: DeploySpec, color: Color): Target[] {
  return Object.entries(spec.services).flatMap(([service, svc]) => [
    ...svc.verifyPaths.map((path) => ({ service, url: `http://127.0.0.1:${svc.hostPorts[color]}${path}`, kind: 'traffic' as const, direct: true })),
    // The same color through nginx's per-color health route: proves the router reaches it.
    { service, url: `http://127.0.0.1:${spec.router.port}/health/${color}/${service}`, kind: 'health' as const, direct: false },
  ]);
}

function describe(result: ProbeResult): string {
  return `GET ${result.url} -> ${result.error ?? `HTTP ${result.status}`}`;
}

/** A traffic probe fails on a 5xx or no answer; a health probe on anything but 2xx. */
function failed(target: Target, result: ProbeResult): boolean {
  if (target.kind === 'health') return !result.ok;
  return result.status === null || result.status >= 500;
}

interface HealthProgress {
  startedAt: number;
  probes: number;
}

interface VerifyProgress {
  startedAt: number;
  samples: number;
  errors: number;
  latencies: number[];
  consecutiveHealthFailures: number;
}

export function createHealthActivities({ host, probe }: HealthDeps) {
  async function round(targets: Target[], timeoutMs: number) {
    return Promise.all(targets.map(async (target) => ({ target, result: await probe(target.url, timeoutMs) })));
  }

  async function containerStory(spec: DeploySpec, color: Color): Promise<string> {
    const parts: string[] = [];
    for (const service of Object.keys(spec.services)) {
      const name = containerName(spec.app, service, color);
      // Missing also when Docker cannot tell: the story is a hint in a failure message, never its cause.
      const info = await host.inspectOrNull(name).catch(() => null);
      if (!info) {
        parts.push(`${name}: missing`);
        continue;
      }
      const logs = await host.logTail(name, 5);
      parts.push(`${name}: ${info.State.Status}${info.State.ExitCode ? ` (exit ${info.State.ExitCode})` : ''}${logs ? `; last log lines:\n    ${logs.split('\n').join('\n    ')}` : ''}`);
    }
    return parts.join('\n');
  }

  return {
    /**
     * The health gate: every endpoint of every service of `color`, `health.successes` rounds in a row,
     * within `health.deadline` counted from the first attempt (a retried attempt resumes the clock).
     */
    async healthCheck(spec: DeploySpec, color: Color): Promise<HealthReport> {
      const resumed = lastHeartbeat<HealthProgress>();
      const progress: HealthProgress = resumed ?? { startedAt: Date.now(), probes: 0 };
      const targets = healthTargets(spec, color);
      let streak = 0;
      let lastFailure = 'no probe answered yet';
      for (;;) {
        const results = await round(targets, spec.health.timeout);
        progress.probes += results.length;
        const bad = results.filter(({ target, result }) => failed(target, result));
        if (bad.length === 0) {
          streak += 1;
          if (streak >= spec.health.successes) {
            return { color, probes: progress.probes, durationMs: Date.now() - progress.startedAt };
          }
        } else {
          streak = 0;
          lastFailure = bad.map(({ target, result }) => `${target.service}: ${describe(result)}`).join('; ');
        }
        recordProgress(progress);
        if (Date.now() - progress.startedAt >= spec.health.deadline) {
          throw fail(
            FAILURE_TYPES.healthCheck,
            `${color} did not become healthy within ${spec.health.deadline} ms (health.deadline): ${lastFailure}\n${await containerStory(spec, color)}`,
          );
        }
        await sleep(spec.health.interval);
      }
    },

    /** Latency of the live color before the switch: verify compares the new color against it. */
    async measureBaseline(spec: DeploySpec, color: Color): Promise<LatencyBaseline> {
      const targets = [...healthTargets(spec, color), ...trafficTargets(spec, color)].filter((t) => t.direct);
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        for (const { target, result } of await round(targets, spec.health.timeout)) {
          if (!failed(target, result)) latencies.push(result.latencyMs);
        }
      }
      return { color, samples: latencies.length, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95) };
    },

    /**
     * Watches `color` for `verify.window` after the switch. Throws VerificationFailed (non-retryable) on
     * consecutive health failures, an error rate over the threshold, or median latency over the baseline
     * plus the threshold. A retried attempt resumes its counters and clock.
     */
    async verify(spec: DeploySpec, color: Color, baselineP50Ms: number | null): Promise<VerifyReport> {
      const v = spec.verify;
      const progress: VerifyProgress = lastHeartbeat<VerifyProgress>() ?? { startedAt: Date.now(), samples: 0, errors: 0, latencies: [], consecutiveHealthFailures: 0 };
      const targets = [...healthTargets(spec, color), ...trafficTargets(spec, color)];
      const report = (): VerifyReport => ({
        color,
        samples: progress.samples,
        errors: progress.errors,
        errorRate: progress.samples ? progress.errors / progress.samples : 0,
        p50Ms: percentile(progress.latencies, 50),
        baselineP50Ms,
        durationMs: Date.now() - progress.startedAt,
      });
      let lastFailures = '';
      for (;;) {
        const results = await round(targets, spec.health.timeout);
        const bad = results.filter(({ target, result }) => failed(target, result));
        if (bad.length > 0) lastFailures = bad.map(({ target, result }) => `${target.service}: ${describe(result)}`).slice(0, 3).join('; ');
        progress.samples += results.length;
        progress.errors += bad.length;
        // Latency on the same footing as the baseline: successful direct probes only.
        for (const { target, result } of results) if (target.direct && !failed(target, result)) progress.latencies.push(result.latencyMs);
        if (progress.latencies.length > 2000) progress.latencies.splice(0, progress.latencies.length - 2000);
        const healthBad = bad.some(({ target }) => target.kind === 'health');
        progress.consecutiveHealthFailures = healthBad ? progress.consecutiveHealthFailures + 1 : 0;
        recordProgress(progress);

        const now = report();
        const why = lastFailures;
        if (progress.consecutiveHealthFailures >= v.maxConsecutiveHealthFailures) {
          throw fail(FAILURE_TYPES.verify, `${color} failed its health checks ${progress.consecutiveHealthFailures} rounds in a row (verify.maxConsecutiveHealthFailures): ${why}`, now);
        }
        if (now.samples >= v.minSamples && now.errorRate > v.maxErrorRate) {
          throw fail(FAILURE_TYPES.verify, `${color} error rate ${(now.errorRate * 100).toFixed(1)} % over ${now.samples} probes exceeds ${(v.maxErrorRate * 100).toFixed(1)} % (verify.maxErrorRate): ${why}`, now);
        }
        if (baselineP50Ms !== null && now.samples >= v.minSamples && now.p50Ms - baselineP50Ms > v.maxLatencyIncreaseMs) {
          throw fail(FAILURE_TYPES.verify, `${color} median latency ${now.p50Ms.toFixed(0)} ms is ${(now.p50Ms - baselineP50Ms).toFixed(0)} ms over the pre-switch baseline ${baselineP50Ms.toFixed(0)} ms (verify.maxLatencyIncreaseMs ${v.maxLatencyIncreaseMs})`, now);
        }
        if (now.durationMs >= v.window) return now;
        await sleep(Math.min(v.interval, Math.max(0, v.window - now.durationMs)));
      }
    },

    /** Before traffic goes back to `color`: is it healthy? A few rounds, so one slow answer is not fatal. */
    async checkColorHealth(spec: DeploySpec, color: Color): Promise<{ healthy: boolean; detail: string }> {
      const targets = healthTargets(spec, color);
      let detail = '';
      for (let attempt = 0; attempt < 3; attempt++) {
        const bad = (await round(targets, spec.health.timeout)).filter(({ target, result }) => failed(target, result));
        if (bad.length === 0) return { healthy: true, detail: `${color} healthy` };
        detail = bad.map(({ target, result }) => `${target.service}: ${describe(result)}`).join('; ');
        if (attempt < 2) await sleep(Math.min(spec.health.interval, 500));
      }
      return { healthy: false, detail };
    },
  };
}
