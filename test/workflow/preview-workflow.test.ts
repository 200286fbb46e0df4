/**
 * The preview (`preview`) with stubbed activities on the local test server: it opens after the health
 * gate, its checks run before the promotion gate, it stays open during the gate and closes right before
 * the switch; a failing check, a rollback at the gate and a first deploy's failure all close it in
 * compensation (a first deploy's config goes with it); a spec without `preview` marks no patch and
 * calls nothing of it. The real parts, under load, are in test/e2e/preview.test.ts (which records the
 * replayed histories preview-success and preview-check-rollback).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { routeKey } from '../../host/builders/nginx';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { FAILURE_TYPES, PATCHES, type Color } from '../../src/names';
import type { Route } from '../../src/types';
import type { deployWorkflow } from '../../workflows/deploy';
import { promoteUpdate, rollbackUpdate, statusQuery } from '../../workflows/messages';
import { waitFor } from '../helpers/wait';
import { patchesOf, runDeploy, startLocalTestEnvironment, type CallDescriptions, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startLocalTestEnvironment();
});
afterAll(async () => {
  await env?.teardown();
});

const DESCRIBE: CallDescriptions = {
  openPreview: (_s: unknown, c: Color) => c,
  closePreview: (_s: unknown, forget?: boolean) => (forget ? 'forget' : 'keep'),
  runPreviewChecks: (s: { preview: { checks: Array<{ name: string }> } }) => s.preview.checks.map((c) => c.name).join(','),
  switchTraffic: (_s: unknown, r: Route) => routeKey(r),
  switchBack: (_s: unknown, r: Route) => routeKey(r),
  verify: (_s: unknown, c: Color) => c,
  retireColor: (_s: unknown, c: Color) => c,
  removeColor: (_s: unknown, c: Color) => c,
};

function deploy(live: Route | null, extra: Partial<DeploySpecInput>, overrides: Stubs = {}, during?: (handle: WorkflowHandle<typeof deployWorkflow>) => Promise<void>) {
  const app = `wf-pv-${randomUUID().slice(0, 8)}`;
  const spec = parseDeploySpec({ app, services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } } }, ...extra });
  return runDeploy(env, { spec }, { live, overrides, describe: DESCRIBE }, during);
}

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const VALIDATE = ['validateSpec', 'identifyHost', 'readRoute', 'readColorImages', 'preflightDocker', 'checkRouterConfig', 'endMonitor'];
const PREVIEW = { port: 4801, checks: [{ name: 'smoke', command: ['npm', 'run', 'smoke'] }] };

async function atTheGate(handle: WorkflowHandle<typeof deployWorkflow>): Promise<void> {
  await waitFor(
    'the promotion gate',
    async () => {
      const { phase } = await handle.query(statusQuery);
      if (phase !== 'promotion-gate') throw new Error(phase);
    },
    { timeout: 30_000, interval: 50 },
  );
}

describe('preview (workflow)', () => {
  it('opens after the health gate, runs its checks, stays open through the manual gate (status has it), closes right before the switch', async () => {
    let atGate: unknown = null;
    const { calls, status, history } = await deploy(BLUE_LIVE, { preview: PREVIEW, promotion: { manual: true } }, {}, async (handle) => {
      await atTheGate(handle);
      atGate = (await handle.query(statusQuery)).preview;
      await handle.executeUpdate(promoteUpdate, { args: [] });
    });
    expect(calls).toEqual([...VALIDATE, 'deployColor', 'healthCheck', 'openPreview:green', 'runPreviewChecks:smoke', 'closePreview:keep', 'measureBaseline', 'switchTraffic:green_blue', 'verify:green', 'switchTraffic:green', 'retireColor:blue', 'recordRelease']);
    expect(atGate).toEqual({ url: 'http://127.0.0.1:4801', color: 'green' });
    expect(status.outcome).toBe('succeeded');
    expect(status.preview).toBeNull();
    expect(status.phases.map((p) => p.phase)).toEqual(['validate', 'deploy-green', 'health-check', 'preview', 'promotion-gate', 'switch', 'verify', 'cleanup', 'done']);
    expect(patchesOf(history)).toContain(PATCHES.previewRoute);
  });

  it('a failing check rolls back like a failed health gate, naming the check: the preview closed, the new color removed, no switch', async () => {
    const failing: Stubs = { runPreviewChecks: async () => { throw ApplicationFailure.nonRetryable('preview check "smoke" (npm run smoke) exited with 1:\nFAIL', FAILURE_TYPES.previewCheck); } };
    const { calls, status, failure } = await deploy(BLUE_LIVE, { preview: PREVIEW }, failing);
    expect(calls).toEqual([...VALIDATE, 'deployColor', 'healthCheck', 'openPreview:green', 'runPreviewChecks:smoke', 'closePreview:keep', 'keepFailedLogs', 'removeColor:green']);
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure?.message).toContain('rolled back, blue stays live: preview check "smoke" (npm run smoke) exited with 1');
    expect(status.failureType).toBe(FAILURE_TYPES.previewCheck);
    expect(status.preview).toBeNull();
  });

  it('a rollback at the manual gate closes the preview (compensation), then removes the new color', async () => {
    const { calls, status } = await deploy(BLUE_LIVE, { preview: { port: 4801 }, promotion: { manual: true } }, {}, async (handle) => {
      await atTheGate(handle);
      await handle.executeUpdate(rollbackUpdate, { args: ['the preview looks wrong'] });
    });
    expect(calls).toEqual([...VALIDATE, 'deployColor', 'healthCheck', 'openPreview:green', 'closePreview:keep', 'keepFailedLogs', 'removeColor:green']);
    expect(status.outcome).toBe('rolled-back');
    expect(status.rollbackReason).toBe('the preview looks wrong');
  });

  it("a first deploy's failed check forgets the preview's config (nothing keeps its port); the app goes off the router only if it was switched", async () => {
    const failing: Stubs = { runPreviewChecks: async () => { throw ApplicationFailure.nonRetryable('preview check "smoke" exited with 2', FAILURE_TYPES.previewCheck); } };
    const { calls } = await deploy(null, { preview: PREVIEW }, failing);
    expect(calls).toEqual(['validateSpec', 'identifyHost', 'readRoute', 'preflightDocker', 'checkRouterConfig', 'endMonitor', 'deployColor', 'healthCheck', 'openPreview:blue', 'runPreviewChecks:smoke', 'closePreview:forget', 'keepFailedLogs', 'removeColor:blue']);
  });

  it('a failure after the switch does not close the preview again (it closed before the switch)', async () => {
    const failing: Stubs = { verify: async () => { throw ApplicationFailure.nonRetryable('green error rate 9 %', FAILURE_TYPES.verify); } };
    const { calls } = await deploy(BLUE_LIVE, { preview: { port: 4801 } }, failing);
    expect(calls.filter((c) => c.startsWith('closePreview'))).toEqual(['closePreview:keep']);
    expect(calls.indexOf('closePreview:keep')).toBeLessThan(calls.indexOf('switchTraffic:green_blue'));
    expect(calls.slice(-3)).toEqual(['switchBack:blue', 'keepFailedLogs', 'removeColor:green']);
  });

  it('a spec without `preview` asks no patch and calls nothing of the preview', async () => {
    const { calls, history } = await deploy(BLUE_LIVE, {});
    expect(calls.some((c) => /Preview/.test(c))).toBe(false);
    expect(patchesOf(history)).not.toContain(PATCHES.previewRoute);
  });
});
