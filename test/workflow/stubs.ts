/** Stub activities for the workflow tests: a healthy host on which every step succeeds. */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { TEMPORAL_BIN } from '../../harness/paths';
import { parseDeploySpec } from '../../src/config/load';
import type { Route } from '../../src/types';

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
    handOverSingletons: async (_s, from, to) => ({ from, to, services: [{ service: 'worker', stopMs: 5, stoppedAt: 1_000, startedAt: 1_010 }] }),
  };
}

/** The local Temporal test server of one workflow test file (the CLI from .tools/), with quiet SDK logs. */
export async function startLocalTestEnvironment(): Promise<TestWorkflowEnvironment> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  return TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: TEMPORAL_BIN } } });
}
