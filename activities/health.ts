/**
 * Health activities (axios): the health gate before the switch, the latency baseline, verify after the
 * switch, and the health check of the previous color before a rollback. They probe containers directly
 * on their loopback host ports; verify also probes through the router (the color's health route, and
 * every path on the app's public route).
 */
import { answeredByRouter, colorTraffic, routerOrigin, type TrafficCounters } from '../host/builders/nginx';
import { brokenRealTrafficRule, realTrafficReport } from '../host/builders/traffic-rules';
import type { DockerHost } from '../host/docker';
import { percentile, type Prober, type ProbeResult } from '../host/probe';
import type { DeploySpec } from '../src/config/schema';
import { isWorker, webServices } from '../src/config/services';
import { containerName, FAILURE_TYPES, LABELS, type Color } from '../src/names';
import { redactedTail, type Redactor } from '../src/secrets';
import type { HealthReport, LatencyBaseline, RealTrafficReport, VerifyReport } from '../src/types';
import { activityClock, fail, lastHeartbeat, recordProgress, type Clock } from './support';
import { probeWorker, workerProbeUrl, type WorkerHost } from '../host/worker-health';

export interface HealthDeps {
  /** Container state and log tails for the story of a color that did not become healthy. */
  host: Pick<DockerHost, 'appContainers' | 'inspectOrNull' | 'logTail'> & WorkerHost;
  probe: Prober;
  /** Hides the worker's secret values in the container log lines a failure message carries. */
  redact?: Redactor;
  /** The deadlines' and windows' time; the real clock and a cancellable sleep unless a test injects one. */
  clock?: Clock;
  /** The router's real-traffic counters of an app (NginxRouter.traffic); without, verify judges probes alone. */
  traffic?: (app: string) => Promise<TrafficCounters>;
}

type Deps = Required<Omit<HealthDeps, 'traffic'>> & Pick<HealthDeps, 'traffic'>;

interface Target {
  service: string;
  url: string;
  kind: 'health' | 'traffic';
  /** On the container itself (not through nginx): the probes latency is measured on. */
  direct: boolean;
  /** Through the app's public route on the router, as users reach it. */
  routed?: boolean;
  /** A worker's container, probed through Docker (activities/worker-health.ts), not over HTTP. */
  worker?: { color: Color };
}

interface Probed {
  target: Target;
  result: ProbeResult;
}

/** Resume point of the health gate: a retried attempt keeps the first attempt's deadline. */
interface HealthProgress {
  startedAt: number;
  probes: number;
}

/** Resume point of verify: a retried attempt keeps its counters and the window's start. */
interface VerifyProgress {
  startedAt: number;
  samples: number;
  errors: number;
  latencies: number[];
  consecutiveHealthFailures: number;
  /** The router's counters when the window began (null: nginx counted nothing readable). */
  trafficAtStart?: TrafficCounters | null;
}

export function createHealthActivities({ host, probe, redact = (text) => text, clock = activityClock, traffic }: HealthDeps) {
  const deps: Deps = { host, probe, redact, clock, traffic };
  return {
    healthCheck: (spec: DeploySpec, color: Color, services?: string[]) => healthCheck(deps, spec, color, services),
    measureBaseline: (spec: DeploySpec, color: Color) => measureBaseline(deps, spec, color),
    verify: (spec: DeploySpec, color: Color, baselineP50Ms: number | null) => verify(deps, spec, color, baselineP50Ms),
    checkColorHealth: (spec: DeploySpec, color: Color) => checkColorHealth(deps, spec, color),
    monitorRound: (spec: DeploySpec, color: Color, waitMs = 0) => monitorRound(deps, spec, color, waitMs),
  };
}

function healthTargets(spec: DeploySpec, color: Color): Target[] {
  return Object.entries(webServices(spec)).flatMap(([service, svc]) =>
    svc.health.endpoints.map((path) => ({ service, url: `http://127.0.0.1:${svc.hostPorts[color]}${path}`, kind: 'health' as const, direct: true })),
  );
}

/** Every worker of `color`, one Docker probe each; not direct: their probe time is no latency of the app. */
function workerTargets(spec: DeploySpec, color: Color): Target[] {
  return Object.keys(spec.services)
    .filter((service) => isWorker(spec.services[service]!))
    .map((service) => ({ service, url: workerProbeUrl(spec, service, color), kind: 'health' as const, direct: false, worker: { color } }));
}

function trafficTargets(spec: DeploySpec, color: Color): Target[] {
  return Object.entries(webServices(spec)).flatMap(([service, svc]) => [
    ...svc.verifyPaths.map((path) => ({ service, url: `http://127.0.0.1:${svc.hostPorts[color]}${path}`, kind: 'traffic' as const, direct: true })),
    // The same color through nginx's per-color health route: proves the router reaches it. The route
    // answers on loopback only, hence 127.0.0.1 (the worker runs on the router's host).
    // With router.tls it is https (the prober does not verify the loopback certificate: validate did).
    { service, url: `${routerOrigin(spec)}/health/${color}/${service}`, kind: 'health' as const, direct: false },
  ]);
}

/**
 * The service's paths as users reach them, through the router's public port (nginx passes the path on
 * unchanged): a route prefix that does not match what the app serves answers 404 there, or another
 * service answers. Paths nginx answers itself (its `/health`) prove nothing and are left out.
 */
function routedTargets(spec: DeploySpec): Target[] {
  return Object.entries(webServices(spec)).flatMap(([service, svc]) => [
    ...svc.health.endpoints.filter((path) => !answeredByRouter(spec, path)).map((path) => ({ service, path, kind: 'health' as const })),
    ...svc.verifyPaths.filter((path) => !answeredByRouter(spec, path)).map((path) => ({ service, path, kind: 'traffic' as const })),
  ]).map(({ service, path, kind }) => ({ service, url: `${routerOrigin(spec)}${path}`, kind, direct: false, routed: true }));
}

/** A traffic probe fails on a 5xx or no answer (routed, also on a 404: the router sends it nowhere); a health probe on anything but 2xx. */
function failed({ target, result }: Probed): boolean {
  if (target.kind === 'health') return !result.ok;
  return result.status === null || result.status >= 500 || (target.routed === true && result.status === 404);
}

function describeFailures(bad: Probed[]): string[] {
  return bad.map(({ target, result }) => `${target.service}: GET ${result.url} -> ${result.error ?? `HTTP ${result.status}`}`);
}

/** One probe of every target, all at once: HTTP, or a worker's container through Docker. */
async function round({ probe, host, clock }: Deps, spec: DeploySpec, targets: Target[], timeoutMs: number): Promise<Probed[]> {
  return Promise.all(
    targets.map(async (target) => ({
      target,
      result: target.worker ? await probeWorker(host, spec, target.service, target.worker.color, timeoutMs, clock.now()) : await probe(target.url, timeoutMs),
    })),
  );
}

/**
 * What Docker says about each container of the color (found by labels): state, exit code and last log
 * lines, redacted and bounded (a failure message is stored in workflow history; the app may log its secrets).
 */
async function containerStory({ host, redact }: Deps, spec: DeploySpec, color: Color): Promise<string> {
  // Nothing listed also when Docker cannot tell: the story is a hint in a failure message, never its cause.
  const containers = await host.appContainers(spec.app, color).catch(() => []);
  const parts: string[] = [];
  for (const service of Object.keys(spec.services)) {
    const found = containers.filter((c) => c.labels[LABELS.service] === service);
    if (found.length === 0) parts.push(`${containerName(spec.app, service, color)}: missing`);
    for (const { id, name } of found) {
      const info = await host.inspectOrNull(id).catch(() => null);
      const logs = redactedTail(await host.logTail(id, 5), redact, 5);
      const state = info ? `${info.State.Status}${info.State.ExitCode ? ` (exit ${info.State.ExitCode})` : ''}` : 'gone';
      parts.push(`${name}: ${state}${logs ? `; last log lines:\n    ${logs.split('\n').join('\n    ')}` : ''}`);
    }
  }
  return parts.join('\n');
}

/**
 * The health gate: every endpoint of every service of `color`, `health.successes` rounds in a row,
 * within `health.deadline` counted from the first attempt (a retried attempt resumes the clock).
 */
async function healthCheck(deps: Deps, spec: DeploySpec, color: Color, services?: string[]): Promise<HealthReport> {
  const { clock } = deps;
  const progress: HealthProgress = lastHeartbeat<HealthProgress>() ?? { startedAt: clock.now(), probes: 0 };
  // `services`: only those (singletons not started yet are left out until their handover).
  const targets = [...healthTargets(spec, color), ...workerTargets(spec, color)].filter((t) => !services || services.includes(t.service));
  if (targets.length === 0) return { color, probes: 0, durationMs: 0 };
  let streak = 0;
  let lastFailure = 'no probe answered yet';
  for (;;) {
    const results = await round(deps, spec, targets, spec.health.timeout);
    progress.probes += results.length;
    const bad = results.filter(failed);
    if (bad.length === 0) {
      streak += 1;
      if (streak >= spec.health.successes) {
        return { color, probes: progress.probes, durationMs: clock.now() - progress.startedAt };
      }
    } else {
      streak = 0;
      lastFailure = describeFailures(bad).join('; ');
    }
    recordProgress(progress);
    if (clock.now() - progress.startedAt >= spec.health.deadline) {
      throw fail(
        FAILURE_TYPES.healthCheck,
        `${color} did not become healthy within ${spec.health.deadline} ms (health.deadline): ${lastFailure}\n${await containerStory(deps, spec, color)}`,
      );
    }
    await clock.sleep(spec.health.interval);
  }
}

/** Latency of the live color before the switch: verify compares the new color against it. */
async function measureBaseline(deps: Deps, spec: DeploySpec, color: Color): Promise<LatencyBaseline> {
  const targets = [...healthTargets(spec, color), ...trafficTargets(spec, color)].filter((t) => t.direct);
  const latencies: number[] = [];
  for (let i = 0; targets.length > 0 && i < 10; i++) {
    for (const probed of await round(deps, spec, targets, spec.health.timeout)) {
      if (!failed(probed)) latencies.push(probed.result.latencyMs);
    }
  }
  return { color, samples: latencies.length, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95) };
}

/**
 * Watches `color` for `verify.window` after the switch. Throws VerificationFailed (non-retryable) on
 * consecutive health failures, an error rate over the threshold, or median latency over the baseline
 * plus the threshold. A retried attempt resumes its counters and clock.
 */
async function verify(deps: Deps, spec: DeploySpec, color: Color, baselineP50Ms: number | null): Promise<VerifyReport> {
  const { clock, traffic } = deps;
  const v = spec.verify;
  const readTraffic = async () => (traffic ? await traffic(spec.app).catch(() => null) : null);
  const progress: VerifyProgress = lastHeartbeat<VerifyProgress>() ?? { startedAt: clock.now(), samples: 0, errors: 0, latencies: [], consecutiveHealthFailures: 0, trafficAtStart: await readTraffic() };
  const targets = [...healthTargets(spec, color), ...workerTargets(spec, color), ...trafficTargets(spec, color), ...routedTargets(spec)];
  let lastFailures = '';
  for (;;) {
    const results = await round(deps, spec, targets, spec.health.timeout);
    const bad = results.filter(failed);
    if (bad.length > 0) lastFailures = describeFailures(bad).slice(0, 3).join('; ');
    countRound(progress, results, bad);
    recordProgress(progress);

    const now: VerifyReport = {
      color,
      samples: progress.samples,
      errors: progress.errors,
      errorRate: progress.samples ? progress.errors / progress.samples : 0,
      p50Ms: percentile(progress.latencies, 50),
      baselineP50Ms,
      durationMs: clock.now() - progress.startedAt,
      ...realTrafficOf(progress.trafficAtStart ?? null, await readTraffic(), color),
    };
    const broken = brokenVerifyRule(v, progress, now, lastFailures);
    if (broken !== null) throw fail(FAILURE_TYPES.verify, broken, now);
    if (now.durationMs >= v.window) return now;
    await clock.sleep(Math.min(v.interval, Math.max(0, v.window - now.durationMs)));
  }
}

/**
 * The new color's real traffic since the window began, and the previous color's since its deploy (the
 * baseline: what users saw before the switch). Nothing when either reading is missing.
 */
function realTrafficOf(atStart: TrafficCounters | null, now: TrafficCounters | null, color: Color): { realTraffic?: RealTrafficReport } {
  if (atStart === null || now === null) return {};
  const live = colorTraffic(now, color, atStart);
  const previous = colorTraffic(atStart, color === 'blue' ? 'green' : 'blue');
  return { realTraffic: realTrafficReport(live, previous) };
}

/** Adds one round of verify probes to its counters. */
function countRound(progress: VerifyProgress, results: Probed[], bad: Probed[]): void {
  progress.samples += results.length;
  progress.errors += bad.length;
  // Latency on the same footing as the baseline: successful direct probes only.
  for (const probed of results) if (probed.target.direct && !failed(probed)) progress.latencies.push(probed.result.latencyMs);
  if (progress.latencies.length > 2000) progress.latencies.splice(0, progress.latencies.length - 2000);
  const healthBad = bad.some(({ target }) => target.kind === 'health');
  progress.consecutiveHealthFailures = healthBad ? progress.consecutiveHealthFailures + 1 : 0;
}

/** The failure message of the first verify rule `now` breaks, or null while the color holds up. */
function brokenVerifyRule(v: DeploySpec['verify'], progress: VerifyProgress, now: VerifyReport, why: string): string | null {
  const { color, baselineP50Ms } = now;
  if (progress.consecutiveHealthFailures >= v.maxConsecutiveHealthFailures) {
    return `${color} failed its health checks ${progress.consecutiveHealthFailures} rounds in a row (verify.maxConsecutiveHealthFailures): ${why}`;
  }
  if (now.samples >= v.minSamples && now.errorRate > v.maxErrorRate) {
    return `${color} error rate ${(now.errorRate * 100).toFixed(1)} % over ${now.samples} probes exceeds ${(v.maxErrorRate * 100).toFixed(1)} % (verify.maxErrorRate): ${why}`;
  }
  if (baselineP50Ms !== null && now.samples >= v.minSamples && now.p50Ms - baselineP50Ms > v.maxLatencyIncreaseMs) {
    return `${color} median latency ${now.p50Ms.toFixed(0)} ms is ${(now.p50Ms - baselineP50Ms).toFixed(0)} ms over the pre-switch baseline ${baselineP50Ms.toFixed(0)} ms (verify.maxLatencyIncreaseMs ${v.maxLatencyIncreaseMs})`;
  }
  return brokenRealTrafficRule(v, now.realTraffic, `${color} real traffic`, "the previous color's");
}

/** Before traffic goes back to `color`: is it healthy? A few rounds, so one slow answer is not fatal. */
async function checkColorHealth(deps: Deps, spec: DeploySpec, color: Color): Promise<{ healthy: boolean; detail: string }> {
  const { clock } = deps;
  // A singleton of the previous color is stopped until the rollback hands it back: its web services decide.
  const targets = [...healthTargets(spec, color), ...workerTargets(spec, color).filter((t) => spec.services[t.service]!.overlap !== false)];
  let detail = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const bad = (await round(deps, spec, targets, spec.health.timeout)).filter(failed);
    if (bad.length === 0) return { healthy: true, detail: `${color} healthy` };
    detail = describeFailures(bad).join('; ');
    if (attempt < 2) await clock.sleep(Math.min(spec.health.interval, 500));
  }
  return { healthy: false, detail };
}

/**
 * One round of the app monitor (`monitor:`) on the live `color`: what verify probes (health endpoints
 * and verify paths on the containers, the color's route on the router, the public route, the workers),
 * once, after `waitMs` (a wait under a second, which a server timer would stretch to one). Never throws
 * on a failed probe: the failures (at most 3, as verify's message) are the answer. A probe's limit is
 * health.timeout, but never more than monitor.interval: rounds keep their cadence (a hung color fails
 * within the interval, so alertAfter failed rounds take alertAfter intervals, as the spec reads), and an
 * answer slower than the interval counts as a failure.
 */
async function monitorRound(deps: Deps, spec: DeploySpec, color: Color, waitMs: number): Promise<{ probes: number; failures: string[] }> {
  if (waitMs > 0) await deps.clock.sleep(waitMs);
  const targets = [...healthTargets(spec, color), ...workerTargets(spec, color), ...trafficTargets(spec, color), ...routedTargets(spec)];
  const results = await round(deps, spec, targets, Math.min(spec.health.timeout, spec.monitor?.interval ?? Infinity));
  return { probes: results.length, failures: describeFailures(results.filter(failed)).slice(0, 3) };
}
