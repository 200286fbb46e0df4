/**
 * `hooks:` on the real parts (Temporal dev server, Docker, the stack's nginx): a failing preSwitch hook
 * rolls back under load with 0 failed user requests and the live version still served, its secret
 * redacted everywhere in history; a hook past its timeout is stopped and counts as failed; a postDeploy
 * hook sees the deploy's facts in its environment.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec, DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId } from '../../src/names';
import { deployOk } from '../../harness/deploys';
import { historyText, recordHistory } from '../../harness/histories';
import { appContainers, get, resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const TASK_QUEUE = 'e2e-hooks';
const APP = 'hk-shop';
// Ports 5950-5952 (hooks' range, 5950-5959): no other e2e file uses them.
const PORT = 5950;
const ITEMS = `http://127.0.0.1:${PORT}/api/items`;
const SECRET = `hk-secret-${randomBytes(12).toString('hex')}`;
const V1 = exampleImages('v1').backend;
const V2 = exampleImages('v2').backend;

/** A hook of the web service running `script` with node (the example image has no shell). */
const hook = (name: string, script: string, timeout?: string) => ({ name, service: 'web', run: ['node', '-e', script], ...(timeout ? { timeout } : {}) });

function spec(image: string, hooks?: DeploySpecInput['hooks']): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: [], secrets: ['HK_SECRET'] },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '30s' }, verify: { window: '2s', interval: '200ms', minRequests: 5 }, cleanup: { previous: 'stop', drain: '500ms' }, ...(hooks ? { hooks } : {}) },
  );
}

let w: TestWorker;

/** GREENLIGHT_RECORD_HISTORIES=1 keeps the last deploy's history as test/histories/<name>.json for the replay test. */
async function record(name: string): Promise<void> {
  await recordHistory(APP, (await w.client.workflow.getHandle(deployWorkflowId(APP)).describe()).runId, name);
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE, { env: { ...process.env, GREENLIGHT_SECRETS: 'HK_SECRET', HK_SECRET: SECRET } });
  await resetApp(w.docker, w.router, APP);
  await deployOk(w, spec(V1), TASK_QUEUE);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('hooks on the real stack', () => {
  it('a failing preSwitch hook rolls back under load: 0 failed requests, v1 still served, the hook named, its secret redacted', async () => {
    const load = startLoad({ urls: [ITEMS], ratePerSecond: 50, keepAlive: true, maxDurationMs: 90_000 });
    const failing = hook('smoke', 'console.log("smoke with token " + process.env.HK_SECRET + " on " + process.env.GREENLIGHT_COLOR); process.exit(3)');
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(V2, { preSwitch: [failing] }), TASK_QUEUE));
    const report = await load.stop();
    expect(outcome.exitCode, outcome.message).toBe(EXIT.rolledBack);
    console.log(`hooks: preSwitch rollback under load: ${report.sent} requests, ${report.failed} failed`);
    expect(report.sent).toBeGreaterThan(20);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(outcome.message).toContain('preSwitch hook "smoke" (node -e');
    expect(outcome.message).toContain('exited with 3');
    expect(outcome.message).toContain('smoke with token [redacted:HK_SECRET] on green');
    expect(outcome.status!.hooks).toEqual([{ stage: 'preSwitch', name: 'smoke', exitCode: 3, output: 'smoke with token [redacted:HK_SECRET] on green' }]);
    expect(outcome.status!.phases.map((p) => p.phase)).toEqual(['validate', 'deploy-green', 'health-check', 'pre-hooks', 'compensation', 'done']);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
    expect((await get(ITEMS)).status).toBe(200);
    expect((await appContainers(w.docker, APP)).map((c) => `${c.name} ${c.image}`)).toEqual([`${APP}_web_blue ${V1}`]);
    const history = await historyText(APP);
    expect(history).toContain('smoke with token [redacted:HK_SECRET]');
    expect(history.includes(SECRET), 'the secret value is nowhere in the history').toBe(false);
    await record('hooks-preswitch-rollback');
  });

  it('a preDeploy hook past its timeout is stopped, counts as failed, and nothing was deployed', async () => {
    const slow = hook('slow', 'setTimeout(() => {}, 120000)', '2s');
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(V2, { preDeploy: [slow] }), TASK_QUEUE));
    expect(outcome.exitCode, outcome.message).toBe(EXIT.rolledBack);
    expect(outcome.message).toContain('preDeploy hook "slow" timed out after 2000 ms (hooks.preDeploy[0].timeout) and was stopped');
    expect(outcome.status!.hooks).toEqual([{ stage: 'preDeploy', name: 'slow', exitCode: null, output: '' }]);
    // Its one-off container is gone, and the new color never started.
    expect((await w.docker.listContainers({ all: true, filters: { name: [`${APP}.predeploy_slow`] } })).length).toBe(0);
    expect((await appContainers(w.docker, APP)).map((c) => c.name)).toEqual([`${APP}_web_blue`]);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
  });

  it('a postDeploy hook sees the deploy facts in its environment; the deploy succeeds', async () => {
    const facts = hook('facts', 'for (const [k, v] of Object.entries(process.env).sort()) if (k.startsWith("GREENLIGHT_") && k !== "GREENLIGHT_DEPLOY_ID") console.log(k + "=" + v)');
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(V2, { postDeploy: [facts] }), TASK_QUEUE));
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(outcome.status!.lastError).toBe(null);
    const [ran] = outcome.status!.hooks!;
    expect(ran!.exitCode).toBe(0);
    expect(ran!.output.split('\n')).toEqual([
      `GREENLIGHT_APP=${APP}`,
      'GREENLIGHT_COLOR=green',
      'GREENLIGHT_HOOK=postDeploy.facts',
      `GREENLIGHT_IMAGES=web=${V2}`,
      'GREENLIGHT_OUTCOME=succeeded',
      'GREENLIGHT_PREVIOUS_COLOR=blue',
      `GREENLIGHT_PREVIOUS_IMAGES=web=${V1}`,
      'GREENLIGHT_SERVICE=web',
    ]);
    expect(outcome.status!.phases.map((p) => p.phase).slice(-3)).toEqual(['cleanup', 'post-hooks', 'done']);
    expect(await w.router.readRoute(APP)).toEqual({ live: 'green', backup: null });
    await record('hooks-post-deploy');
  });
});
