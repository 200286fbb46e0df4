import type { Color } from './names';
import type { DeploySpec, HOOK_STAGES } from './config/schema';

export type { Color } from './names';
export type { DeploySpec, ServiceSpec } from './config/schema';

/**
 * What nginx sends an app's traffic to: the live color, and optionally the other color as nginx
 * `backup` (during verify, so a failed request to the new color is retried on the old one).
 */
export interface Route {
  live: Color;
  backup: Color | null;
}

/**
 * A canary step's route: `weight` per cent of requests go to `canary` (the new color, with the live one
 * as its backup), the rest to `stable` (the live color alone); `sticky` keeps a client on its color.
 */
export interface CanaryRoute {
  stable: Color;
  canary: Color;
  weight: number;
  sticky: boolean;
}

/** A Docker host as a deploy pins it: the engine's ID (`docker info`), and its name for messages. */
export interface EngineIdentity {
  id: string;
  name: string;
}

export interface DeployInput {
  /** A spec already validated and defaulted by the config schema. */
  spec: DeploySpec;
  /** Who or what started the deploy (CI job URL, user), shown in status. */
  requestedBy?: string;
  /** The identity of the client that started it (the CLI's `pid@host`): its release's `startedBy`. */
  startedBy?: string;
  /** Keep the search attributes current (false where the namespace lacks them). */
  searchAttributes?: boolean;
  /**
   * A rollback after a finished deploy: the previous version's stopped containers are started again
   * (not recreated) and go through the same health-gated switch.
   */
  restore?: { reason: string; fromRunId: string };
  /** The deploy window (with `windows` in the spec): this deploy's choice outside it, or an override. */
  window?: WindowRequest;
  /**
   * What this deploy changes against the live spec, as `greenlight deploy` found it at the start (the
   * plan's summary, host/builders/plan.ts): names only, never an env value. Shown in the Temporal UI's
   * details; absent when the CLI could not read it, or the deploy was started by other means.
   */
  changes?: string[];
}

/** What `greenlight deploy` asked of the deploy window: `--outside-window`, or `--override --reason`. */
export interface WindowRequest {
  /** Overrides `windows.outside` for this deploy. */
  outside?: 'wait' | 'refuse';
  /** Deploy now, whatever the windows say: who and why, recorded in the status and the history. */
  override?: WindowOverride;
}

export interface WindowOverride {
  reason: string;
  /** `--requested-by`, else the CLI's Temporal identity (pid@host). */
  by: string;
}

/** How the deploy window let this deploy start. */
export interface WindowStatus {
  /** The deploy was started inside the windows. */
  startedInside: boolean;
  /** Started outside them: when they open (ISO), which it waited for or was refused at; null inside, or when they never open. */
  opensAt: string | null;
  /** Started outside the windows by `--override`. */
  override: WindowOverride | null;
}

export const PHASES = [
  'window',
  'validate',
  'migrate',
  /** `hooks.preDeploy` / `hooks.preSwitch`: before the switch, so a failure (or a rollback request) rolls back. */
  'pre-hooks',
  'deploy-green',
  'health-check',
  'preview',
  'promotion-gate',
  'canary',
  'switch',
  'verify',
  'cleanup',
  'compensation',
  /** `hooks.postDeploy` / `hooks.postRollback`: after the deploy's outcome is settled; a failure is a warning. */
  'post-hooks',
  'done',
] as const;
export type Phase = (typeof PHASES)[number];

export type Outcome = 'running' | 'succeeded' | 'rolled-back' | 'validation-failed' | 'compensation-failed';

/** Who or what asked for a rollback, besides a failed step: the update (CLI), the signal (UI), a time limit, a cancellation. */
export const ROLLBACK_TRIGGERS = ['manual', 'signal', 'time-limit', 'promotion-timeout', 'cancelled'] as const;
export type RollbackTrigger = (typeof ROLLBACK_TRIGGERS)[number];
/**
 * Why a deploy rolled back, as greenlight_rollbacks_total labels it: a trigger, or the phase whose step
 * failed (`health-check-failed`, `verify-failed`, ...). A fixed set, never the free-text reason.
 */
export type RollbackReason = RollbackTrigger | `${Phase}-failed`;

export interface PhaseTiming {
  phase: Phase;
  startedAt: string;
  durationMs?: number;
}

export interface HealthReport {
  color: Color;
  probes: number;
  durationMs: number;
}

export interface LatencyBaseline {
  color: Color;
  samples: number;
  p50Ms: number;
  p95Ms: number;
}

export interface VerifyReport {
  color: Color;
  samples: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  baselineP50Ms: number | null;
  durationMs: number;
  /** What users sent the new color through the router during the window (absent where nginx counted nothing). */
  realTraffic?: RealTrafficReport;
}

/** The new color's real traffic in verify, against the previous color's since it was deployed. */
export interface RealTrafficReport {
  requests: number;
  errors5xx: number;
  upstreamErrors: number;
  errorRate: number;
  /** Latency quantiles as their bucket's upper bound (ms), null with no requests. */
  p50Ms: number | null;
  p95Ms: number | null;
  baselineRequests: number;
  baselineP50Ms: number | null;
  baselineP95Ms: number | null;
}

/** One canary step as it ended (the first host's in a fleet): the new color's real traffic against the live color's over the step. */
export interface CanaryStepReport {
  step: number;
  weight: number;
  durationMs: number;
  /** The new color's requests over the step; the baseline is the live color's over the same step. */
  realTraffic: RealTrafficReport;
  /** False when the new color had fewer than verify.minRequests: the step passed without a verdict (verify still judges after the switch). */
  judged: boolean;
}

/** A canary deploy's progress: the step it is on, and the steps that passed. */
export interface CanaryStatus {
  steps: number;
  /** 1-based; 0 before the first. */
  step: number;
  weight: number;
  sticky: boolean;
  passed: CanaryStepReport[];
}

/** One host of a fleet deploy, as `greenlight status` and the UI show it. */
export interface HostStatus {
  name: string;
  liveColor: Color | null;
  targetColor: Color | null;
  /** Images the live color ran on this host before the deploy. */
  previousImages: Record<string, string>;
  /** When this host's router took the new route (epoch ms, the host's clock). */
  switchedAt: number | null;
  /** What went wrong on this host (a cleanup warning, a failed step, a compensation that did not finish). */
  lastError: string | null;
}

export interface DeployStatus {
  app: string;
  deployId: string;
  requestedBy: string | null;
  /** Set when this deploy restores the previous version after a finished deploy. */
  restoreReason: string | null;
  phase: Phase;
  outcome: Outcome;
  liveColor: Color | null;
  targetColor: Color | null;
  images: Record<string, string>;
  previousImages: Record<string, string>;
  phases: PhaseTiming[];
  waitingFor: string | null;
  rollbackReason: string | null;
  lastError: string | null;
  /** `type` of the failure behind lastError (FAILURE_TYPES), when there is one. */
  failureType: string | null;
  verify: VerifyReport | null;
  /** A fleet deploy's hosts (absent for a one-host deploy). */
  hosts?: HostStatus[];
  /** A fleet deploy: time between the first and the last host taking the new route. */
  switchSkewMs?: number | null;
  /** The singleton handover of this deploy (the first host's in a fleet), once it ran. */
  handover?: HandoverReport | null;
  /** The hooks that ran (`hooks:`), in order: exit code (null: timed out) and a redacted tail of their output. */
  hooks?: HookReport[];
  /** The canary steps (`strategy.canary`) of this deploy, once the first began. */
  canary?: CanaryStatus | null;
  /** The preview (`preview`) while it is open: where it answers and which color it serves; null once closed. */
  preview?: PreviewStatus | null;
  /** Rollback signals that came too late or twice: a signal cannot be refused, so it is recorded here and ignored. */
  ignoredSignals?: string[];
  /** The deploy window (`windows` in the spec), once it was evaluated. */
  window?: WindowStatus | null;
  /** The app monitor this deploy started (`monitor:`), and until when its bake keeps the previous color. */
  monitor?: { workflowId: string; bakeUntil: string | null };
  /** The `notify:` notifications this deploy sent (or gave up on: a warning, never a failure). */
  notifications?: NotificationReport[];
  /** A rollback: where each host kept the new color's container logs (`greenlight logs`); paths and line counts only. */
  keptLogs?: KeptLogsReport[];
}

/** Where a rollback kept the new color's container logs on one host, and how much (the text stays on the host). */
export interface KeptLogsReport {
  /** The fleet host, null for a one-host deploy. */
  host: string | null;
  /** The deploy's folder on that host (`<GREENLIGHT_HOME>/logs/<app>/<deployId>`). */
  dir: string;
  files: Array<{ service: string; file: string; lines: number; truncated: boolean }>;
}

/** One webhook notification of a deploy event: delivered, or the (redacted) reason it was given up. */
export interface NotificationReport {
  event: string;
  /** Its index in `notify.webhooks`. */
  webhook: number;
  delivered: boolean;
  error: string | null;
}

/** An open preview: the URL on the worker's host (each host of a fleet alike) and the color it serves. */
export interface PreviewStatus {
  url: string;
  color: Color;
}

export type DeployResult = DeployStatus;

/** What a running drain saw, heartbeated by the activity that drains (`greenlight status` shows it). */
export interface DrainProgress {
  /** The fleet host it runs on; absent for one host. */
  host?: string;
  color: 'blue' | 'green';
  /** Requests, WebSockets and streams still open on the color, per service (null: nginx does not count). */
  open: Record<string, number> | null;
  waitedMs: number;
  maxMs: number;
}

/** The handover of a deploy's singletons (`overlap: false`) from one color to the other (handOverSingletons). */
export interface HandoverReport {
  from: 'blue' | 'green';
  to: 'blue' | 'green';
  /** Per singleton: how long the old container took to stop (SIGTERM to exit, at most its stopTimeout), and when it stopped and the new one started (ms since the epoch, the worker's clock). */
  services: Array<{ service: string; stopMs: number; stoppedAt: number; startedAt: number }>;
}

/* Maintenance mode (`greenlight maintenance APP on|off`; src/maintenance.ts checks the request, workflows/maintenance.ts carries it). */

/** What to put on every host: maintenance on (with its answer) or off. */
export type MaintenanceChange =
  | {
      on: true;
      message: string;
      retryAfter: number;
      /** The user's own page (`--page FILE`): its file name (for status) and its HTML, else the default page with the message. */
      page: { file: string; html: string } | null;
    }
  | { on: false };

/** One host's maintenance state, as its state file keeps it and `greenlight status` shows it. */
export interface MaintenanceState {
  on: boolean;
  /** When it went on (ISO, the workflow's clock: one instant for every host); null when off. */
  since: string | null;
  message: string | null;
  retryAfter: number | null;
  /** The user's page file name, or null for the default page. */
  pageFile: string | null;
}

/** Where the maintenance workflow runs each host's step: the app's own queue (one host) or each fleet host's. */
export interface MaintenanceTarget {
  /** The fleet host's name, or null for a one-host app. */
  name: string | null;
  taskQueue?: string;
  hostTimeoutMs?: number;
}

export interface MaintenanceInput {
  app: string;
  change: MaintenanceChange;
  targets: MaintenanceTarget[];
  requestedBy?: string;
}

export interface MaintenanceResult {
  app: string;
  on: boolean;
  hosts: Array<{ host: string | null; state: MaintenanceState }>;
}

/** A stage of a deploy at which `hooks:` run (HOOK_STAGES, src/config/schema.ts). */
export type HookStage = (typeof HOOK_STAGES)[number];

/** What a hook is told of its deploy (its GREENLIGHT_* environment, host/builders/container.ts). */
export interface HookFacts {
  /** The new color (the one the deploy brought up). */
  color: Color;
  previousColor: Color | null;
  images: Record<string, string>;
  previousImages: Record<string, string>;
  /** Post hooks only: how the deploy ended. */
  outcome: 'succeeded' | 'rolled-back' | null;
}

/** How one hook ran: its exit code (null: stopped at its timeout) and a redacted, bounded tail of its output. */
export interface HookReport {
  stage: HookStage;
  name: string;
  exitCode: number | null;
  output: string;
}
