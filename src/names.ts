/**
 * Every wiring string in one place: task queue, workflow type and ids, message names, container
 * names and labels. Pure constants and functions, safe to import from workflow code.
 */
import type { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'greenlight';

/**
 * The task queue of one host's worker in a fleet (`greenlight worker --host <name>`): the host's own
 * activities run there. The deploy workflows themselves stay on DEFAULT_TASK_QUEUE, which every worker
 * polls, so any host's worker can drive a deploy.
 */
export function hostTaskQueue(host: string): string {
  return `greenlight-host-${host}`;
}
export const DEPLOY_WORKFLOW = 'deployWorkflow';
/** The workflow that turns an app's maintenance mode on or off on every host of the app. */
export const MAINTENANCE_WORKFLOW = 'maintenanceWorkflow';
/** The per-app deploy queue of `greenlight deploy --queue` (workflows/queue.ts). */
export const QUEUE_WORKFLOW = 'deployQueueWorkflow';
/** `greenlight plan` of a fleet: reads every host's Docker engine and router through its worker (workflows/plan.ts). */
export const PLAN_READ_WORKFLOW = 'planReadWorkflow';

/**
 * `greenlight doctor` reads the Temporal server's clock from the start time of a throwaway execution
 * (then terminates it): no worker polls this queue, and nothing of greenlight lists this type.
 */
export const CLOCK_PROBE = {
  workflowType: 'greenlightDoctorClockProbe',
  taskQueue: 'greenlight-doctor-clock-probe',
  workflowIdPrefix: 'greenlight-doctor-clock-',
} as const;

export const MESSAGES = {
  rollback: 'rollback',
  promote: 'promote',
  status: 'status',
  /** Signal to an app's deploy queue: one `deploy --queue` request (src/queue.ts QueueRequest). */
  enqueue: 'enqueue',
  /** Query of an app's deploy queue: who waits, since when, and how the last requests ended. */
  queue: 'queue',
  /** The releases workflow: a successful deploy's record arrives by this signal. */
  recordRelease: 'record-release',
  /** The releases workflow: its list of releases, newest last. */
  releases: 'releases',
  /** Query of an app's monitor: its health, rounds, last failure and bake (src/monitor.ts MonitorStatus). */
  monitor: 'monitor',
  /** Signal to an app's monitor: end after the round under way (a deploy replaces it); it returns its state. */
  stopMonitor: 'stop-monitor',
} as const;

/** One running deploy per app: the workflow id is the lock. */
export function deployWorkflowId(app: string): string {
  return `deploy-${app}`;
}

/** One read of a fleet's hosts for `greenlight plan`: several may run at once (CI jobs), so each its own id. */
export function planReadWorkflowId(app: string, nonce: string): string {
  return `plan-${app}-${nonce}`;
}

/** One maintenance change per app at a time (its own id: a deploy may run behind maintenance). */
export function maintenanceWorkflowId(app: string): string {
  return `maintenance-${app}`;
}

/**
 * The app's deploy queue (`greenlight deploy --queue`): one per app, it holds the latest waiting request
 * and starts it as `deploy-<app>` once the running deploy has ended.
 */
export function queueWorkflowId(app: string): string {
  return `queue-${app}`;
}

/**
 * The per-app store of releases (`greenlight releases`): a workflow that runs for as long as the app
 * deploys, continuing as new, so its list outlives the deploys' history retention.
 */
export const RELEASES_WORKFLOW = 'releasesWorkflow';

export function releasesWorkflowId(app: string): string {
  return `releases-${app}`;
}

/**
 * The monitor of one app (`monitor:` in the spec): started by a successful deploy, it probes the live
 * color until the next deploy ends it (workflows/monitor.ts), continuing as new to keep its history small.
 */
export const MONITOR_WORKFLOW = 'monitorWorkflow';

export function monitorWorkflowId(app: string): string {
  return `monitor-${app}`;
}

export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];

export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/*
 * Container names. App, service and command names are [a-z0-9-] (src/config/schema.ts), so the
 * separators `_` and `.` never occur inside them: two different (app, service, color) never give one
 * name (`shop-api_web_blue`, `shop_api-web_blue`), and a one-off (marked by `.`) never takes an app
 * container's name. Until this scheme names were joined by `-` (`shop-web-blue`) and could collide;
 * containers of that scheme are still found, stopped and removed by their labels (DockerHost).
 */

/** An app container: `<app>_<service>_<color>`. */
export function containerName(app: string, service: string, color: Color): string {
  return `${app}_${service}_${color}`;
}

/**
 * The app container's DNS alias on the app network: `<service>-<color>.<app>` (`web-blue.shop-api`), a
 * valid host name (no `_`), unique as the name is (the app has no `.`, the color ends the first label).
 */
export function containerAlias(app: string, service: string, color: Color): string {
  return `${service}-${color}.${app}`;
}

/** A validation command's one-off container: `<app>.validate_<command>`. */
export function validationContainerName(app: string, command: string): string {
  return `${app}.validate_${command}`;
}

/** A preview check's one-off container: `<app>.preview_<check>`. */
export function previewCheckContainerName(app: string, check: string): string {
  return `${app}.preview_${check}`;
}

/** The migration's one-off container: `<app>.migrate`. */
export function migrationContainerName(app: string): string {
  return `${app}.migrate`;
}

/** A hook's one-off container: `<app>.<stage>_<hook>` (`shop.preswitch_smoke`). */
export function hookContainerName(app: string, stage: string, hook: string): string {
  return `${app}.${stage.toLowerCase()}_${hook}`;
}

export const LABELS = {
  managed: 'greenlight.managed',
  app: 'greenlight.app',
  service: 'greenlight.service',
  color: 'greenlight.color',
  deployId: 'greenlight.deploy-id',
  image: 'greenlight.image',
  role: 'greenlight.role',
} as const;

/** `type` of the non-retryable ApplicationFailures raised by activities and by the workflow itself. */
export const FAILURE_TYPES = {
  config: 'ConfigError',
  preflight: 'PreflightError',
  validationCommand: 'ValidationCommandFailed',
  migration: 'MigrationFailed',
  /** A `preview.checks` command failed against the preview URL: the deploy rolls back. */
  previewCheck: 'PreviewCheckFailed',
  /** A `hooks:` command exited non-zero or ran past its timeout. */
  hook: 'HookFailed',
  /** A `notify.webhooks[]` notification could not be sent (a warning: it never fails a deploy). */
  notification: 'NotificationFailed',
  portInUse: 'PortInUse',
  healthCheck: 'HealthCheckFailed',
  verify: 'VerificationFailed',
  /** A canary step's real traffic broke a verify rule (error rate, latency against the live color). */
  canary: 'CanaryAnalysisFailed',
  routerConfig: 'RouterConfigRejected',
  invariant: 'InvariantViolation',
  /** An activity meant for one host reached the worker of another (a mis-pointed worker). */
  wrongHost: 'WrongHost',
  /** A container greenlight needs the name of is not greenlight's container of that app (never removed). */
  containerNameTaken: 'ContainerNameTaken',
  /** Docker engine or nginx unreachable on the worker's host (retried, then reported). */
  infrastructure: 'InfrastructureUnavailable',
  /** A deploy started outside its windows (`windows.outside: refuse`, `--outside-window refuse`), or windows that never open. */
  outsideWindow: 'OutsideDeployWindow',
  /** Workflow outcomes other than success. */
  rolledBack: 'DeployRolledBack',
  validationFailed: 'DeployValidationFailed',
  compensationFailed: 'CompensationFailed',
} as const;

/**
 * What the SDK's defineSearchAttributeKey returns (`{ name, type }`), made here: this module is on the
 * CLI's start-up path (src/cli/exit-codes.ts imports it), and loading @temporalio/common for two
 * constants would cost every `greenlight --help` tens of milliseconds.
 */
function searchAttributeKey<T extends SearchAttributeType>(name: string, type: T): ReturnType<typeof defineSearchAttributeKey<T>> {
  return { name, type };
}

/**
 * Custom search attributes for the Temporal UI and `greenlight history`. Registered on the dev server by
 * scripts/temporal.sh; on another cluster: `temporal operator search-attribute create` (README). Deploys
 * run without them (and say so) where they are not registered.
 */
export const SEARCH_ATTRIBUTES = {
  app: searchAttributeKey('GreenlightApp', 'KEYWORD'),
  phase: searchAttributeKey('GreenlightPhase', 'KEYWORD'),
  outcome: searchAttributeKey('GreenlightOutcome', 'KEYWORD'),
  images: searchAttributeKey('GreenlightImages', 'KEYWORD_LIST'),
  /** The hosts of a fleet deploy (absent for a one-host deploy). */
  hosts: searchAttributeKey('GreenlightHosts', 'KEYWORD_LIST'),
  /** An app monitor's health (healthy | unhealthy | baking): the Temporal UI lists unhealthy apps by it. */
  health: searchAttributeKey('GreenlightHealth', 'KEYWORD'),
} as const;

/**
 * greenlight's own Prometheus metrics, which the deploy workflow emits through the SDK's metric meter onto
 * the worker's endpoint (GREENLIGHT_METRICS_ADDRESS). The exporter prefixes only the SDK's own metrics
 * (temporal_...) and adds no suffix to these, so the names are the full Prometheus names.
 */
export const METRICS = {
  /** Counter: deploys that ended, labels app and outcome (succeeded, rolled-back, validation-failed, compensation-failed). */
  deploys: 'greenlight_deploys_total',
  /** Counter: rollbacks begun, labels app and reason (ROLLBACK_TRIGGERS, or `<phase>-failed`). */
  rollbacks: 'greenlight_rollbacks_total',
  /** Histogram: how long each phase of a deploy took, in seconds, labels app and phase. */
  phaseDuration: 'greenlight_phase_duration_seconds',
} as const;

/**
 * Buckets of greenlight_phase_duration_seconds: from a quick validate (0.1 s) to a long promotion gate
 * (an hour). The SDK's default buckets end at 10 s, shorter than a health gate or a drain can be.
 */
export const PHASE_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] as const;

/**
 * Workflow patch ids (`patched()`): each marks a change of the deploy workflow's commands, so histories
 * of deploys started before it still replay (README, "Changing the workflow safely"). Never rename one;
 * remove one only when no running deploy and no kept history predates it.
 */
export const PATCHES = {
  /** The cleanup's drain moved from a workflow timer into the retireColor activity. */
  drainInRetire: 'drain-in-retire-activity',
  /** A rollback accepted in the workflow task in which a step's result arrived wins over that result (until cleanup). */
  rollbackWinsUntilCleanup: 'rollback-wins-until-cleanup',
  /** Compensation of a switch restores the config from before it (switchBack), not only the previous color. */
  restorePreviousRouting: 'restore-previous-routing',
  /** A one-host deploy records its Docker engine first; every later step carries it and runs only there. */
  oneHostPerDeploy: 'one-host-per-deploy',
  /** The `rollback` signal (besides the update): before it, a deploy had no handler and ignored such a signal. */
  rollbackSignal: 'rollback-signal',
  /** Singletons (`overlap: false`) of the new color start only after the switch, once the old color's have stopped; a rollback hands back. */
  singletonHandover: 'singleton-handover',
  /** `strategy.canary`: weighted steps before the full switch. Asked only of a spec with canary steps. */
  canarySteps: 'canary-steps',
  /** `preview`: the new color on the preview port from the health gate to the switch, and its checks. Asked only of a spec with `preview`. */
  previewRoute: 'preview-route',
  /** `windows`: a deploy outside them waits (or is refused) before validate, its time limit counting from then. Asked only of a spec with windows. */
  deployWindows: 'deploy-windows',
  /** A successful deploy records its release (images, spec hash, env key names) in the app's releases workflow after cleanup. */
  releases: 'record-releases',
  /** `retain.releases`: images of releases outside the retained ones are removed after the release is recorded. Asked only of a spec with `retain`. */
  retainReleases: 'retain-releases',
  /** `notify:` webhooks told of a deploy's start and end. Asked only of a spec with `notify`. */
  notifications: 'deploy-notifications',
  /** `hooks:` (preDeploy, preSwitch, postDeploy, postRollback). Asked only where the spec has hooks of that stage. */
  deployHooks: 'deploy-hooks',
  /**
   * The app's monitor (`monitor:`): every deploy ends a running monitor at the end of validate, before it
   * changes a host (a bake rollback never races it), and starts it again after a rollback; a successful
   * deploy with `monitor` starts a new one. Every deploy asks it (any app may have a monitor running).
   */
  appMonitor: 'app-monitor',
  /** `monitor.bake`: the deploy's cleanup keeps the previous color running; the monitor retires it when the bake ends. Asked only of a spec with a bake. */
  monitorBake: 'monitor-bake',
  /** A rollback keeps the new color's container logs on its host (`greenlight logs`) before it removes them. */
  keepFailedLogs: 'keep-failed-logs',
} as const;

/**
 * The key of the trailing argument a pinned deploy adds to each step (`{ [PINNED_ENGINE]: identity }`):
 * the worker's wrapper (activities/support.ts) takes it off and refuses the step on another engine.
 */
export const PINNED_ENGINE = 'greenlightPinnedEngine';
