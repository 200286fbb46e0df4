/**
 * The app monitor (`monitor:`): what it knows between rounds and how one round changes it. Pure, no
 * Node built-ins, safe in workflow code and tested by exact equality (test/unit/monitor.test.ts);
 * workflows/monitor.ts runs the rounds, the bake rollback and the retirement of the previous color.
 */
import type { DeploySpec } from './config/schema';
import { formatMs } from './format';
import type { Color } from './names';
import type { EngineIdentity } from './types';

/** The GreenlightHealth search attribute's values: an alert is raised (unhealthy), or the bake runs. */
export type MonitorHealth = 'healthy' | 'unhealthy' | 'baking';

/** One host the monitor probes: where its steps run (as the deploy's), its spec, and its colors. */
export interface MonitorHost {
  name: string | null;
  taskQueue?: string;
  hostTimeoutMs?: number;
  engine?: EngineIdentity;
  spec: DeploySpec;
  /** The color the deploy made live on this host. */
  color: Color;
  /** The color it replaced (kept during the bake), or null after a first deploy. */
  previousColor: Color | null;
}

/** The bake (`monitor.bake`): until when the previous color is kept, and how it ended. */
export interface BakeStatus {
  until: string;
  previousColor: Color;
  /** baking: kept and ready; retired: after the bake, per cleanup.previous; rolled-back: traffic went back to it. */
  state: 'baking' | 'retired' | 'rolled-back';
}

/** The monitor's state: its `monitor` query, what `greenlight status` prints, and what continue-as-new carries. */
export interface MonitorStatus {
  app: string;
  /** The run id of the deploy that started this monitor. */
  deployId: string;
  startedAt: string;
  /** The live color (the first host's). */
  color: Color;
  health: MonitorHealth;
  intervalMs: number;
  alertAfter: number;
  rounds: number;
  consecutiveFailures: number;
  /** Since when every round passed (null while rounds fail). */
  healthySince: string | null;
  lastFailure: { at: string; detail: string } | null;
  /** An alert is raised and no round has passed since. */
  alerting: boolean;
  /** When the latest alert was raised. */
  alertedAt: string | null;
  alerts: number;
  bake: BakeStatus | null;
  /** The bake's automatic rollback, when it happened. */
  rollback: { at: string; from: Color; to: Color; reason: string } | null;
  /** A step that did not work out (a retirement, a rollback the previous color refused): a warning. */
  lastError: string | null;
}

export interface MonitorInput {
  spec: DeploySpec;
  hosts: MonitorHost[];
  /** The images the live color runs. */
  images: Record<string, string>;
  /** The images the previous color runs (the deploy's previousImages): the bake rollback's spec. */
  previousImages: Record<string, string>;
  searchAttributes: boolean;
  status: MonitorStatus;
  /** Rounds per run before it continues as new (default workflows/monitor.ts ROUNDS_PER_RUN). */
  roundsPerRun?: number;
}

/** What the monitor's query answers: its status and the images the live color runs. */
export type MonitorView = MonitorStatus & { images: Record<string, string> };

/** What one round brings about, in the order the monitor acts on them. */
export type MonitorEvent = 'alert' | 'recovered' | 'bake-rollback';

/** The first status of a monitor a deploy starts at `now`. */
export function initialMonitorStatus(spec: DeploySpec, deployId: string, color: Color, previousColor: Color | null, now: number): MonitorStatus {
  const monitor = spec.monitor!;
  const bake: BakeStatus | null = monitor.bake > 0 && previousColor ? { until: new Date(now + monitor.bake).toISOString(), previousColor, state: 'baking' } : null;
  return {
    app: spec.app,
    deployId,
    startedAt: new Date(now).toISOString(),
    color,
    health: bake ? 'baking' : 'healthy',
    intervalMs: monitor.interval,
    alertAfter: monitor.alertAfter,
    rounds: 0,
    consecutiveFailures: 0,
    healthySince: new Date(now).toISOString(),
    lastFailure: null,
    alerting: false,
    alertedAt: null,
    alerts: 0,
    bake,
    rollback: null,
    lastError: null,
  };
}

function healthOf(status: MonitorStatus): MonitorHealth {
  if (status.alerting) return 'unhealthy';
  return status.bake?.state === 'baking' ? 'baking' : 'healthy';
}

/** Is the bake under way at `now` (the previous color kept, a rollback to it possible)? */
export function baking(status: MonitorStatus, now: number): boolean {
  return status.bake?.state === 'baking' && now < Date.parse(status.bake.until);
}

/**
 * The status after one round at `now` (failures: what failed, empty when every probe passed), and what
 * it brings about: the alert on the `alertAfter`-th failed round in a row, the recovery on the first
 * passing round after an alert, and during the bake, with the alert, the rollback to the previous color.
 */
export function afterRound(status: MonitorStatus, failures: readonly string[], now: number): { status: MonitorStatus; events: MonitorEvent[] } {
  const at = new Date(now).toISOString();
  const events: MonitorEvent[] = [];
  const next: MonitorStatus = { ...status, rounds: status.rounds + 1 };
  if (failures.length === 0) {
    next.consecutiveFailures = 0;
    next.healthySince ??= at;
    if (status.alerting) {
      next.alerting = false;
      next.healthySince = at;
      events.push('recovered');
    }
  } else {
    next.consecutiveFailures = status.consecutiveFailures + 1;
    next.healthySince = null;
    next.lastFailure = { at, detail: failures.join('; ') };
    if (next.consecutiveFailures >= status.alertAfter && !status.alerting) {
      next.alerting = true;
      next.alertedAt = at;
      next.alerts = status.alerts + 1;
      events.push('alert');
    }
    if (next.alerting && baking(status, now)) events.push('bake-rollback');
  }
  next.health = healthOf(next);
  return { status: next, events };
}

/** The status once the bake's rollback put traffic back on the previous color: that color is live and watched. */
export function afterBakeRollback(status: MonitorStatus, reason: string, now: number): MonitorStatus {
  const bake = status.bake!;
  const at = new Date(now).toISOString();
  const next: MonitorStatus = {
    ...status,
    color: bake.previousColor,
    bake: { ...bake, state: 'rolled-back' },
    rollback: { at, from: status.color, to: bake.previousColor, reason },
    consecutiveFailures: 0,
    alerting: false,
    healthySince: at,
  };
  return { ...next, health: healthOf(next) };
}

/** The status once the bake ended (the previous color retired per cleanup.previous). */
export function afterBake(status: MonitorStatus, warning: string | null): MonitorStatus {
  const next: MonitorStatus = { ...status, bake: status.bake && { ...status.bake, state: 'retired' }, lastError: warning ?? status.lastError };
  return { ...next, health: healthOf(next) };
}

/**
 * The spec the previous color runs: the deploy's spec with the previous images, or null when a service
 * has none (it is new in this deploy: the previous color cannot serve the whole app).
 */
export function previousColorSpec(spec: DeploySpec, previousImages: Record<string, string>): DeploySpec | null {
  const services: DeploySpec['services'] = {};
  for (const [name, service] of Object.entries(spec.services)) {
    const image = previousImages[name];
    if (!image) return null;
    services[name] = { ...service, image };
  }
  return { ...spec, services };
}

/** The monitor's lines in `greenlight status`. */
export function formatMonitor(s: MonitorStatus, now: number): string[] {
  const every = `${s.rounds} rounds every ${formatMs(s.intervalMs)}`;
  const lines = [
    s.alerting
      ? `monitor: UNHEALTHY, ${s.consecutiveFailures} failed rounds in a row (alert after ${s.alertAfter}; ${every}): ${s.lastFailure?.detail ?? ''}`
      : `monitor: healthy${s.healthySince ? ` since ${s.healthySince}` : ', failing'} (${s.color} live, ${every})${s.lastFailure ? `; last failure ${s.lastFailure.at}: ${s.lastFailure.detail}` : ''}`,
  ];
  if (s.bake?.state === 'baking') lines.push(`bake: ${formatMs(Math.max(0, Date.parse(s.bake.until) - now))} left, ${s.bake.previousColor} kept; an alert rolls back to it`);
  if (s.rollback) lines.push(`bake rollback at ${s.rollback.at}: ${s.rollback.from} -> ${s.rollback.to}: ${s.rollback.reason}`);
  if (s.lastError) lines.push(`monitor warning: ${s.lastError}`);
  return lines;
}
