/**
 * The singleton handover (`overlap: false`) with stubbed activities on the local test server: the new
 * color's singletons are created but held at deploy-green, left out of the health gate, and handed over
 * after the switch (old stopped, then new started); a rollback after the handover hands them back before
 * the new color is removed; a first deploy and a spec without singletons neither hold nor hand over (and
 * mark no patch. The replayed histories of the handover are recorded by test/e2e/workers.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { routeKey } from '../../host/builders/nginx';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { FAILURE_TYPES, PATCHES, type Color } from '../../src/names';
import type { Route } from '../../src/types';
import { patchesOf, runDeploy, startLocalTestEnvironment, type CallDescriptions, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startLocalTestEnvironment();
});
afterAll(async () => {
  await env?.teardown();
});

/** A web service and a worker; `overlap` of the worker as given. */
const spec = (app: string, overlap: boolean): DeploySpec =>
  parseDeploySpec({
    app,
    services: {
      web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } },
      worker: { image: 'worker:v2', overlap, stopTimeout: '20s' },
    },
  });

/** Every call as "name:args" (colors, routes, the flags that matter here). */
const DESCRIBE: CallDescriptions = {
  deployColor: (_s: unknown, c: Color, _id: string, _adopt: boolean, hold?: boolean) => `${c}${hold ? ' holding singletons' : ''}`,
  healthCheck: (_s: unknown, c: Color, services?: string[]) => `${c}${services ? ` [${services.join(',')}]` : ''}`,
  switchTraffic: (_s: unknown, r: Route) => routeKey(r),
  switchBack: (_s: unknown, r: Route) => routeKey(r),
  handOverSingletons: (_s: unknown, from: Color, to: Color, awaitHealthy?: boolean) => `${from}->${to}${awaitHealthy === false ? ' (no wait)' : ''}`,
  verify: (_s: unknown, c: Color) => c,
  retireColor: (_s: unknown, c: Color) => c,
  removeColor: (_s: unknown, c: Color) => c,
};

/** Runs one deploy to its end: the calls, the outcome and the history. */
function deploy(live: Route | null, overlap: boolean, overrides: Stubs = {}) {
  const app = `wf-single-${randomUUID().slice(0, 8)}`;
  return runDeploy(env, { spec: spec(app, overlap) }, { live, overrides, describe: DESCRIBE });
}

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const VALIDATE = ['validateSpec', 'identifyHost', 'readRoute', 'readColorImages', 'preflightDocker', 'checkRouterConfig', 'endMonitor'];
const UP_TO_SWITCH = [...VALIDATE, 'deployColor:green holding singletons', 'healthCheck:green [web]', 'measureBaseline', 'switchTraffic:green_blue'];

describe('singleton handover (overlap: false)', () => {
  it('holds the new singleton at deploy-green, gates only the others, hands over after the switch, then verifies and cleans up', async () => {
    const { calls, status, history } = await deploy(BLUE_LIVE, false);
    expect(calls).toEqual([...UP_TO_SWITCH, 'handOverSingletons:blue->green', 'verify:green', 'switchTraffic:green', 'retireColor:blue', 'recordRelease']);
    expect(status.outcome).toBe('succeeded');
    expect(status.handover).toEqual({ from: 'blue', to: 'green', services: [{ service: 'worker', stopMs: 5, stoppedAt: 1_000, startedAt: 1_010 }] });
    expect(patchesOf(history)).toContain(PATCHES.singletonHandover);
  });

  it('a rollback after the handover hands the singleton back (new one stopped, old one started) before the new color is removed', async () => {
    const { calls, status, failure } = await deploy(BLUE_LIVE, false, {
      verify: async () => {
        throw ApplicationFailure.nonRetryable('green error rate 50 % (stub)', FAILURE_TYPES.verify);
      },
    });
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(status.liveColor).toBe('blue');
    expect(calls).toEqual([...UP_TO_SWITCH, 'handOverSingletons:blue->green', 'verify:green', 'checkColorHealth', 'switchBack:blue', 'handOverSingletons:green->blue (no wait)', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a new singleton that fails at its handover is rolled back the same way', async () => {
    let handovers = 0;
    const { calls, failure } = await deploy(BLUE_LIVE, false, {
      handOverSingletons: async (_s, from, to) => {
        handovers += 1;
        if (handovers === 1) throw ApplicationFailure.nonRetryable('services.worker: the green singleton did not become healthy (stub)', FAILURE_TYPES.healthCheck);
        return { from, to, services: [] };
      },
    });
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure?.message).toContain('did not become healthy');
    expect(calls).toEqual([...UP_TO_SWITCH, 'handOverSingletons:blue->green', 'checkColorHealth', 'switchBack:blue', 'handOverSingletons:green->blue (no wait)', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a rollback before the handover has nothing to hand back: the held singleton is removed with its color', async () => {
    const { calls, failure } = await deploy(BLUE_LIVE, false, {
      switchTraffic: async () => {
        throw ApplicationFailure.nonRetryable('nginx -t failed (stub)', FAILURE_TYPES.routerConfig);
      },
    });
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(calls).toEqual([...UP_TO_SWITCH, 'checkColorHealth', 'switchBack:blue', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a first deploy starts the singleton with its color (nothing to hand over from) and marks no patch', async () => {
    const { calls, status, failure, history } = await deploy(null, false);
    expect([status.outcome, failure?.message]).toEqual(['succeeded', undefined]);
    expect(calls).not.toContain('handOverSingletons:blue->green');
    expect(calls).toContain('deployColor:blue');
    expect(calls).toContain('healthCheck:blue');
    expect(patchesOf(history)).not.toContain(PATCHES.singletonHandover);
  });

  it('workers with overlap (the default) run in both colors as every service does: no hold, no handover, no patch', async () => {
    const { calls, history } = await deploy(BLUE_LIVE, true);
    expect(calls).toEqual([...VALIDATE, 'deployColor:green', 'healthCheck:green', 'measureBaseline', 'switchTraffic:green_blue', 'verify:green', 'switchTraffic:green', 'retireColor:blue', 'recordRelease']);
    expect(patchesOf(history)).not.toContain(PATCHES.singletonHandover);
  });
});
