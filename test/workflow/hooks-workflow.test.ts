/**
 * `hooks:` with stubbed activities on the local test server: where each stage runs in the deploy's
 * story, what a failing one does (preDeploy/preSwitch roll back naming the hook, postDeploy/postRollback
 * warn), the facts each is given, and that a spec without hooks marks no patch.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { routeKey } from '../../host/builders/nginx';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec, DeploySpecInput } from '../../src/config/schema';
import { FAILURE_TYPES, PATCHES, type Color } from '../../src/names';
import type { HookFacts, HookReport, HookStage, Route } from '../../src/types';
import { patchesOf, runDeploy, startLocalTestEnvironment, type CallDescriptions, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startLocalTestEnvironment();
});
afterAll(async () => {
  await env?.teardown();
});

const hook = (name: string) => ({ name, service: 'web', run: ['sh', '-c', 'true'] });
const ALL_HOOKS: DeploySpecInput['hooks'] = { preDeploy: [hook('warm')], preSwitch: [hook('smoke')], postDeploy: [hook('notify')], postRollback: [hook('page')] };

const spec = (app: string, hooks: DeploySpecInput['hooks'] | null): DeploySpec =>
  parseDeploySpec({ app, services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } } }, ...(hooks ? { hooks } : {}) });

const DESCRIBE: CallDescriptions = {
  switchTraffic: (_s: unknown, r: Route) => routeKey(r),
  runHooks: (_s: unknown, stage: HookStage, facts: HookFacts) => `${stage} ${facts.color}<-${facts.previousColor} ${facts.outcome ?? '-'} ${JSON.stringify(facts.images)} ${JSON.stringify(facts.previousImages)}`,
  removeColor: (_s: unknown, c: Color) => c,
};

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const readImages = { readColorImages: async () => ({ web: 'web:v1' }) };

/** A runHooks stub whose `failing` stage fails as the real activity does (HookFailed, the reports in details). */
function failingHooks(failing: HookStage): Stubs {
  return {
    ...readImages,
    runHooks: async (_spec: DeploySpec, stage: HookStage): Promise<HookReport[]> => {
      const name = ALL_HOOKS![stage]![0]!.name;
      if (stage !== failing) return [{ stage, name, exitCode: 0, output: 'ok' }];
      const report: HookReport = { stage, name, exitCode: 3, output: 'smoke: /health returned 500' };
      throw ApplicationFailure.create({ type: FAILURE_TYPES.hook, message: `${stage} hook "${name}" (sh -c true) exited with 3:\nsmoke: /health returned 500`, nonRetryable: true, details: [[report]] });
    },
  };
}

function deploy(hooks: DeploySpecInput['hooks'] | null, overrides: Stubs = readImages) {
  return runDeploy(env, { spec: spec(`wf-hooks-${randomUUID().slice(0, 8)}`, hooks) }, { live: BLUE_LIVE, overrides, describe: DESCRIBE });
}

const FACTS = 'green<-blue';
const IMAGES = '{"web":"web:v2"} {"web":"web:v1"}';

describe('hooks', () => {
  it('runs preDeploy before deploy-green, preSwitch before the switch and postDeploy after cleanup, with the deploy facts', async () => {
    const { calls, status, failure, history } = await deploy(ALL_HOOKS);
    expect(failure).toBe(null);
    const order = calls.filter((c) => /^(runHooks|deployColor|healthCheck|measureBaseline|switchTraffic|verify|retireColor)/.test(c));
    expect(order).toEqual([
      `runHooks:preDeploy ${FACTS} - ${IMAGES}`,
      'deployColor',
      'healthCheck',
      `runHooks:preSwitch ${FACTS} - ${IMAGES}`,
      'measureBaseline',
      'switchTraffic:green_blue',
      'verify',
      'switchTraffic:green',
      'retireColor',
      `runHooks:postDeploy ${FACTS} succeeded ${IMAGES}`,
    ]);
    expect(status.outcome).toBe('succeeded');
    expect(status.lastError).toBe(null);
    expect(status.hooks?.map((h) => `${h.stage}.${h.name}:${h.exitCode}`)).toEqual(['preDeploy.hook:0', 'preSwitch.hook:0', 'postDeploy.hook:0']);
    expect(patchesOf(history)).toContain(PATCHES.deployHooks);
  });

  it('rolls back on a failing preSwitch hook, naming it; postRollback runs with the restored facts; nothing was switched', async () => {
    const { calls, status, failure } = await deploy(ALL_HOOKS, failingHooks('preSwitch'));
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure?.message).toContain('rolled back, blue stays live: preSwitch hook "smoke" (sh -c true) exited with 3');
    expect(calls.filter((c) => c.startsWith('switchTraffic'))).toEqual([]);
    expect(calls.slice(calls.indexOf(`runHooks:preSwitch ${FACTS} - ${IMAGES}`))).toEqual([`runHooks:preSwitch ${FACTS} - ${IMAGES}`, 'keepFailedLogs', 'removeColor:green', `runHooks:postRollback ${FACTS} rolled-back ${IMAGES}`]);
    expect(status.outcome).toBe('rolled-back');
    expect(status.rollbackReason).toContain('preSwitch hook "smoke"');
    expect(status.hooks).toEqual([
      { stage: 'preDeploy', name: 'warm', exitCode: 0, output: 'ok' },
      { stage: 'preSwitch', name: 'smoke', exitCode: 3, output: 'smoke: /health returned 500' },
      { stage: 'postRollback', name: 'page', exitCode: 0, output: 'ok' },
    ]);
  });

  it('rolls back on a failing preDeploy hook before anything is deployed', async () => {
    const { calls, failure } = await deploy(ALL_HOOKS, failingHooks('preDeploy'));
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(failure?.message).toContain('preDeploy hook "warm"');
    expect(calls).not.toContain('deployColor');
    expect(calls).not.toContain('removeColor:green');
  });

  it('keeps a deploy whose postDeploy hook fails succeeded, with a warning', async () => {
    const { status, failure } = await deploy(ALL_HOOKS, failingHooks('postDeploy'));
    expect(failure).toBe(null);
    expect(status.outcome).toBe('succeeded');
    expect(status.lastError).toBe('deploy succeeded but a postDeploy hook failed: postDeploy hook "notify" (sh -c true) exited with 3:\nsmoke: /health returned 500');
  });

  it('keeps a rollback whose postRollback hook fails rolled back, with a warning', async () => {
    const hooks = { preSwitch: [hook('smoke')], postRollback: [hook('page')] };
    const stubs: Stubs = {
      ...readImages,
      runHooks: async (_spec: DeploySpec, stage: HookStage) => {
        throw ApplicationFailure.create({ type: FAILURE_TYPES.hook, message: `${stage} hook failed`, nonRetryable: true });
      },
    };
    const { status, failure } = await deploy(hooks, stubs);
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(status.outcome).toBe('rolled-back');
    expect(status.lastError).toContain('rolled back but a postRollback hook failed: postRollback hook failed');
  });

  it('asks no patch and runs no hook without hooks (or with empty stages)', async () => {
    for (const hooks of [null, { preDeploy: [] }]) {
      const { calls, history } = await deploy(hooks);
      expect(calls.some((c) => c.startsWith('runHooks'))).toBe(false);
      expect(patchesOf(history)).not.toContain(PATCHES.deployHooks);
    }
  });
});
