/** Stub activities for the workflow tests: a healthy host on which every step succeeds. */
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { History } from '@temporalio/common/lib/proto-utils';
import type { Activities } from '../../activities';
import { BUNDLE_PATH, TEMPORAL_BIN } from '../../harness/paths';
import { parseDeploySpec } from '../../src/config/load';
import { DEPLOY_WORKFLOW, deployWorkflowId, PINNED_ENGINE } from '../../src/names';
import { MAINTENANCE_OFF } from '../../src/maintenance';
import type { DeployInput, DeployStatus, HookStage, Route } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';

export type Stubs = Partial<{ [K in keyof Activities]: (...args: Parameters<Activities[K]>) => ReturnType<Activities[K]> }>;

/** Every activity of a healthy host whose router answers `route()`; tests override what they need. */
export function healthyHost(route: () => Route | null): Activities {
  return {
    identifyHost: async () => ({ id: 'ENGINE-A', name: 'host-a' }),
    validateSpec: async (s) => parseDeploySpec(s),
    readRoute: async () => route(),
    readColorImages: async () => ({ web: 'web:v1' }),
    preflightDocker: async () => undefined,
    checkRouterConfig: async () => undefined,
    runValidationCommands: async () => [],
    runMigration: async () => ({ exitCode: 0, output: 'applied 002' }),
    runHooks: async (_spec: unknown, stage: HookStage) => [{ stage, name: 'hook', exitCode: 0, output: 'ok' }],
    deployColor: async () => ({ web: 'container-id' }),
    healthCheck: async (_s, c) => ({ color: c, probes: 3, durationMs: 10 }),
    measureBaseline: async (_s, c) => ({ color: c, samples: 10, p50Ms: 2, p95Ms: 3 }),
    switchTraffic: async () => ({ reloaded: false, tookMs: 1 }),
    switchBack: async () => ({ reloaded: false, restored: true, tookMs: 1 }),
    prepareSwitch: async () => ({ reloaded: false, configChanged: false }),
    verify: async (_s, c) => ({ color: c, samples: 30, errors: 0, errorRate: 0, p50Ms: 2, baselineP50Ms: 2, durationMs: 10 }),
    retireColor: async () => [],
    removeColor: async () => [],
    checkColorHealth: async (_s, c) => ({ healthy: true, detail: `${c} healthy` }),
    removeRoute: async () => true,
    canaryStep: async (_s, route, step) => ({ step, weight: route.weight, durationMs: 10, judged: true, realTraffic: { requests: 50, errors5xx: 0, upstreamErrors: 0, errorRate: 0, p50Ms: 5, p95Ms: 10, baselineRequests: 450, baselineP50Ms: 5, baselineP95Ms: 10 } }),
    openPreview: async (s, color) => ({ url: `http://${s.preview!.address}:${s.preview!.port}`, color, reloaded: false }),
    closePreview: async () => undefined,
    runPreviewChecks: async (s) => (s.preview?.checks ?? []).map((check) => ({ name: check.name, exitCode: 0, output: 'ok' })),
    handOverSingletons: async (_s, from, to) => ({ from, to, services: [{ service: 'worker', stopMs: 5, stoppedAt: 1_000, startedAt: 1_010 }] }),
    checkMaintenance: async () => ({ state: MAINTENANCE_OFF, page: null }),
    setMaintenance: async (_h, change, since) => (change.on ? { on: true, since, message: change.message, retryAfter: change.retryAfter, pageFile: change.page?.file ?? null } : MAINTENANCE_OFF),
    restoreMaintenance: async (_h, before) => before.state,
    recordRelease: async () => ({ specHash: 'sha256:stub' }),
    notifyWebhook: async () => ({ status: 204 }),
    pruneReleaseImages: async () => ({ removed: [] }),
    endMonitor: async () => null,
    monitorRound: async () => ({ probes: 4, failures: [] }),
    readPlanState: async (next) => ({ liveColor: route()?.live ?? null, containers: [], liveConfig: null, renderedLive: null, renderedNext: `config of ${next.app}`, missingImages: [] }),
    keepFailedLogs: async (s, _color, deployId) => ({ host: s.hosts?.length === 1 ? s.hosts[0]!.name : null, dir: `/kept/${s.app}/${deployId}`, files: [{ service: 'web', file: 'web.log', lines: 3, truncated: false }] }),
  };
}

/** The local Temporal test server of one workflow test file (the CLI from .tools/), with quiet SDK logs. */
export async function startLocalTestEnvironment(): Promise<TestWorkflowEnvironment> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  return TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: TEMPORAL_BIN } } });
}

/** How a recorded call is written: "name:<what describe gives>" (colors, routes, the flags that matter), else "name". */
export type CallDescriptions = Partial<Record<keyof Activities, (...args: never[]) => string>>;

/** A healthy host (overridden by `overrides`) whose every call is pushed to `calls`, as `describe` writes it. */
export function recordingHost(calls: string[], live: Route | null, overrides: Stubs, describe: CallDescriptions): Activities {
  const defaults = healthyHost(() => live);
  const all: Record<string, unknown> = {};
  for (const name of Object.keys(defaults) as Array<keyof Activities>) {
    const impl = (overrides[name] ?? defaults[name]) as (...args: unknown[]) => Promise<unknown>;
    all[name] = async (...given: unknown[]) => {
      // The real worker takes the engine pin (the trailing argument of a one-host deploy's steps) off.
      const args = given.filter((arg) => !(typeof arg === 'object' && arg !== null && PINNED_ENGINE in arg));
      const detail = describe[name] as ((...a: unknown[]) => string) | undefined;
      calls.push(detail ? `${name}:${detail(...args)}` : name);
      return impl(...args);
    };
  }
  return all as unknown as Activities;
}

/** The patch ids a history marked, in order. */
export const patchesOf = (history: History): string[] =>
  (history.events ?? []).flatMap((e) => {
    const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
  });

/** What one deploy run by `runDeploy` did: the recorded calls, its status, its failure (null on success), its history. */
export interface DeployRun {
  calls: string[];
  status: DeployStatus;
  failure: ApplicationFailure | null;
  history: History;
}

/**
 * Runs one deploy of `input` to its end on a worker of its own (on a queue named after the app) over a
 * recording host (`live` routed, `overrides` applied, calls written by `describe`); `during` runs beside it.
 */
export async function runDeploy(
  env: TestWorkflowEnvironment,
  input: DeployInput,
  host: { live: Route | null; overrides?: Stubs; describe: CallDescriptions },
  during?: (handle: WorkflowHandle<typeof deployWorkflow>) => Promise<void>,
): Promise<DeployRun> {
  const taskQueue = `workflow-test-${input.spec.app}`;
  const calls: string[] = [];
  const activities = recordingHost(calls, host.live, host.overrides ?? {}, host.describe);
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: { codePath: BUNDLE_PATH }, activities });
  return worker.runUntil(async () => {
    const handle = await env.client.workflow.start<typeof deployWorkflow>(DEPLOY_WORKFLOW, { taskQueue, workflowId: deployWorkflowId(input.spec.app), args: [input] });
    await during?.(handle);
    let status: DeployStatus;
    let failure: ApplicationFailure | null = null;
    try {
      status = await handle.result();
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      failure = err.cause as ApplicationFailure;
      status = failure.details?.[0] as DeployStatus;
    }
    return { calls, status, failure, history: (await handle.fetchHistory()) as History };
  });
}
