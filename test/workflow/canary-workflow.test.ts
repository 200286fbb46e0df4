/**
 * Canary steps (`strategy.canary`) with stubbed activities on the local test server: each step runs on
 * every host before the full switch, a failing step switches back on the canary's own config (the live
 * color alone) and removes the new color, a manual step waits for `promote` (its own, one per step), and
 * a first deploy or a spec without canary steps runs blue/green and marks no patch. The replayed
 * histories of canary deploys are recorded by test/e2e/canary.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { canaryKey, routeKey } from '../../host/builders/nginx';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { FAILURE_TYPES, PATCHES, type Color } from '../../src/names';
import type { CanaryRoute, DeployInput, Route } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { promoteUpdate, rollbackUpdate, statusQuery } from '../../workflows/messages';
import { Context } from '@temporalio/activity';
import { waitFor } from '../helpers/wait';
import { patchesOf, runDeploy, startLocalTestEnvironment, type CallDescriptions, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startLocalTestEnvironment();
});
afterAll(async () => {
  await env?.teardown();
});

type Steps = Array<{ weight: number; pause?: string; manual?: boolean }>;

const spec = (app: string, steps: Steps | null): DeploySpec =>
  parseDeploySpec({
    app,
    services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } } },
    ...(steps ? { strategy: { canary: { steps, sticky: true } } } : {}),
  });

const DESCRIBE: CallDescriptions = {
  switchTraffic: (_s: unknown, r: Route) => routeKey(r),
  switchBack: (_s: unknown, r: Route, undone: Route) => `${routeKey(r)} undoing ${routeKey(undone)}`,
  canaryStep: (_s: unknown, r: CanaryRoute, step: number, pauseMs: number) => `${step} ${canaryKey(r)} ${pauseMs}ms`,
  verify: (_s: unknown, c: Color) => c,
  retireColor: (_s: unknown, c: Color) => c,
  removeColor: (_s: unknown, c: Color) => c,
};

/** Runs one deploy to its end (`during` runs beside it); the calls, the outcome and the history. */
function deploy(live: Route | null, steps: Steps | null, overrides: Stubs = {}, during?: (handle: WorkflowHandle<typeof deployWorkflow>) => Promise<void>, restore?: DeployInput['restore']) {
  const app = `wf-canary-${randomUUID().slice(0, 8)}`;
  return runDeploy(env, { spec: spec(app, steps), ...(restore ? { restore } : {}) }, { live, overrides, describe: DESCRIBE }, during);
}

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const UP_TO_CANARY = ['validateSpec', 'identifyHost', 'readRoute', 'readColorImages', 'preflightDocker', 'checkRouterConfig', 'endMonitor', 'deployColor', 'healthCheck'];
const STEPS: Steps = [
  { weight: 10, pause: '30s' },
  { weight: 50, pause: '1m' },
];

describe('canary steps (strategy.canary)', () => {
  it('runs each step before the full switch, then verifies and cleans up as blue/green does; the steps are in the status', async () => {
    const { calls, status, history } = await deploy(BLUE_LIVE, STEPS);
    expect(calls).toEqual([
      ...UP_TO_CANARY,
      'canaryStep:1 blue|green_blue|10|1 30000ms',
      'canaryStep:2 blue|green_blue|50|1 60000ms',
      'measureBaseline',
      'switchTraffic:green_blue',
      'verify:green',
      'switchTraffic:green',
      'retireColor:blue',
      'recordRelease',
    ]);
    expect(status.outcome).toBe('succeeded');
    expect(status.canary).toMatchObject({ steps: 2, step: 2, weight: 50, sticky: true });
    expect(status.canary!.passed.map((p) => [p.step, p.weight])).toEqual([
      [1, 10],
      [2, 50],
    ]);
    expect(status.phases.filter((p) => p.phase === 'canary')).toHaveLength(2);
    expect(patchesOf(history)).toContain(PATCHES.canarySteps);
  });

  it('a failing step rolls back from the canary: traffic back to the live color alone on its previous routing, the new color removed, no switch', async () => {
    const { calls, status, failure } = await deploy(BLUE_LIVE, STEPS, {
      canaryStep: async (_s, route, step) => {
        if (step === 2) throw ApplicationFailure.nonRetryable('green canary at 50 % (step 2): real traffic: error rate 12.0 % (stub)', FAILURE_TYPES.canary);
        return { step, weight: route.weight, durationMs: 1, judged: true, realTraffic: { requests: 30, errors5xx: 0, upstreamErrors: 0, errorRate: 0, p50Ms: 5, p95Ms: 5, baselineRequests: 270, baselineP50Ms: 5, baselineP95Ms: 5 } };
      },
    });
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure?.message).toBe('rolled back, blue stays live: green canary at 50 % (step 2): real traffic: error rate 12.0 % (stub)');
    expect(status.failureType).toBe(FAILURE_TYPES.canary);
    expect(status.liveColor).toBe('blue');
    expect(calls).toEqual([...UP_TO_CANARY, 'canaryStep:1 blue|green_blue|10|1 30000ms', 'canaryStep:2 blue|green_blue|50|1 60000ms', 'checkColorHealth', 'switchBack:blue undoing blue', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a manual step waits for promote after its pause, one promote per step', async () => {
    const manual: Steps = [
      { weight: 10, pause: '1s', manual: true },
      { weight: 50, pause: '1s', manual: true },
    ];
    const promoted: string[] = [];
    const { calls, status } = await deploy(BLUE_LIVE, manual, {}, async (handle) => {
      for (const step of [1, 2]) {
        await waitFor(`the gate after step ${step}`, async () => {
          const now = await handle.query(statusQuery);
          if (now.phase !== 'promotion-gate' || now.canary?.step !== step) throw new Error(`${now.phase} at step ${now.canary?.step}`);
        }, { timeout: 30_000, interval: 100 });
        promoted.push((await handle.executeUpdate(promoteUpdate, { args: [] })).phase);
      }
    });
    expect(promoted).toEqual(['promotion-gate', 'promotion-gate']);
    expect(status.outcome).toBe('succeeded');
    expect(calls.filter((c) => c.startsWith('canaryStep') || c.startsWith('switchTraffic'))).toEqual(['canaryStep:1 blue|green_blue|10|1 1000ms', 'canaryStep:2 blue|green_blue|50|1 1000ms', 'switchTraffic:green_blue', 'switchTraffic:green']);
  });

  it('a rollback request during a step abandons it at once and switches back to the live color alone', async () => {
    const { calls, failure } = await deploy(
      BLUE_LIVE,
      STEPS,
      {
        // A step that would read for its whole pause.
        canaryStep: async () => {
          const ctx = Context.current();
          for (;;) {
            ctx.heartbeat();
            await ctx.sleep(100);
          }
        },
      },
      async (handle) => {
        await waitFor(
          'the first step',
          async () => {
            if ((await handle.query(statusQuery)).phase !== 'canary') throw new Error('not in canary');
          },
          { timeout: 30_000, interval: 50 },
        );
        await handle.executeUpdate(rollbackUpdate, { args: ['operator: checkout errors'] });
      },
    );
    expect(failure?.message).toBe('rolled back, blue stays live: operator: checkout errors');
    expect(calls.slice(UP_TO_CANARY.length)).toEqual(['canaryStep:1 blue|green_blue|10|1 30000ms', 'checkColorHealth', 'switchBack:blue undoing blue', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a restore (`greenlight rollback` after a deploy) of a canary spec switches at once: no steps', async () => {
    const { calls, status } = await deploy(BLUE_LIVE, STEPS, {}, undefined, { reason: 'incident', fromRunId: 'run-1' });
    expect(status.outcome).toBe('succeeded');
    expect(calls.some((c) => c.startsWith('canaryStep'))).toBe(false);
  });

  it('a first deploy has no live color to compare with: it switches as blue/green, no canary step, no patch', async () => {
    const { calls, status, history } = await deploy(null, STEPS);
    expect(status.outcome).toBe('succeeded');
    expect(calls.some((c) => c.startsWith('canaryStep'))).toBe(false);
    expect(status.canary).toBeUndefined();
    expect(patchesOf(history)).not.toContain(PATCHES.canarySteps);
  });

  it('a spec without canary steps (blue/green, the default) marks no patch', async () => {
    const { calls, history } = await deploy(BLUE_LIVE, null);
    expect(calls.some((c) => c.startsWith('canaryStep'))).toBe(false);
    expect(patchesOf(history)).not.toContain(PATCHES.canarySteps);
  });
});
