/**
 * `greenlight explain` through the real CLI binary on real deploys of the example images: one that
 * passes, one a flaky backend makes verify roll back, one an operator rolls back (the update), and an
 * unknown app. Host ports 5800-5809 only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpecInput } from '../../src/config/schema';
import type { Explanation } from '../../src/explain';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { resetApp } from '../../harness/host';
import { exampleImages, twoServices, withImages } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'explain-shop';
const QUEUE = 'e2e-explain';
const V1 = exampleImages('v1');
let w: TestWorker;

const spec = (verify: DeploySpecInput['verify'] = { window: '2s', interval: '100ms' }): DeploySpecInput => ({
  app: APP,
  router: { port: 5800 },
  services: twoServices({
    images: V1,
    hostPorts: { backend: { blue: 5801, green: 5802 }, frontend: { blue: 5803, green: 5804 } },
    backend: { health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] },
    frontend: { health: { endpoints: ['/health'] }, verifyPaths: ['/'] },
  }),
  health: { interval: '200ms', successes: 3, deadline: '20s' },
  verify,
  cleanup: { previous: 'stop', drain: '300ms' },
});

const explain = async (...args: string[]) => {
  const r = await cli(['explain', ...args], { GREENLIGHT_TASK_QUEUE: QUEUE });
  return { ...r, json: args.includes('--json') && r.stdout.trim() ? (JSON.parse(r.stdout) as Explanation) : null };
};

beforeAll(async () => {
  w = await startTestWorker(QUEUE);
  await resetApp(w.docker, w.router, APP);
}, 120_000);

afterAll(async () => {
  await resetApp(w.docker, w.router, APP).catch(() => undefined);
  await w?.stop();
});

describe('greenlight explain', () => {
  let succeededRun = '';

  it('a deploy that succeeded: says so, with its verify figures', async () => {
    const outcome = await deployOk({ client: w.client }, withImages(spec(), V1), QUEUE);
    expect(outcome.exitCode).toBe(EXIT.ok);
    const r = await explain(APP, '--json');
    expect(r.code).toBe(EXIT.ok);
    expect(r.json).toMatchObject({ verdict: 'succeeded', rule: null });
    expect(r.json!.verify!.samples).toBeGreaterThan(0);
    succeededRun = r.json!.runId;
    const text = await explain(APP);
    expect(text.stdout).toContain('succeeded, all verify rules held');
    expect(text.stdout).toMatch(/verify of \w+ over .*: error rate 0\.0 %/);
  }, 180_000);

  it('a flaky backend rolled back by verify: the rule, its threshold and the failing endpoint', async () => {
    const handle = await startDeploy(w.client, withImages(spec({ window: '20s', interval: '100ms' }), { backend: 'greenlight-example-backend:flaky' }), QUEUE);
    const outcome = await awaitOutcome(handle);
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    const r = await explain(APP, '--json');
    expect(r.code).toBe(EXIT.ok);
    expect(r.json).toMatchObject({ verdict: 'rolled-back', phase: 'verify' });
    expect(r.json!.rule).toMatch(/^verify\./);
    expect(r.json!.decision).toBe(outcome.status!.rollbackReason!.split('\n')[0]);
    const text = await explain(APP);
    expect(text.stdout).toContain('rolled back in verify');
    expect(text.stdout).toContain(`rule: ${r.json!.rule}`);
    console.log(`explain of the flaky rollback:\n${text.stdout}`);
  }, 180_000);

  it('an earlier run by its id', async () => {
    const r = await explain(APP, succeededRun, '--json');
    expect(r.code).toBe(EXIT.ok);
    expect(r.json).toMatchObject({ verdict: 'succeeded', runId: succeededRun });
  });

  it('an operator rollback: who, how and why', async () => {
    const handle = await startDeploy(w.client, withImages(spec({ window: '2m', interval: '200ms' }), { backend: 'greenlight-example-backend:v3' }), QUEUE);
    await expect.poll(async () => (await handle.query(statusQuery)).phase, { timeout: 60_000, interval: 200 }).toBe('verify');
    const running = await explain(APP);
    expect(running.stdout).toContain('still running, phase verify');
    await handle.executeUpdate(rollbackUpdate, { args: ['explain e2e: operator says no'] });
    expect((await awaitOutcome(handle)).exitCode).toBe(EXIT.rolledBack);
    const r = await explain(APP, '--json');
    expect(r.json).toMatchObject({ verdict: 'operator-rollback', decision: 'explain e2e: operator says no', operator: { via: 'update' } });
    expect(r.json!.operator!.identity).toBeTruthy();
    expect((await explain(APP)).stdout).toContain('(greenlight rollback at ');
  }, 180_000);

  it('an unknown app or run: exit 2 with a clear message', async () => {
    const app = await explain('explain-no-such-app');
    expect(app.code).toBe(EXIT.invalid);
    expect(app.stdout).toContain('no deploy of explain-no-such-app found');
    const run = await explain(APP, '00000000-0000-4000-8000-000000000000');
    expect(run.code).toBe(EXIT.invalid);
    expect(run.stdout).toContain('with run 00000000-0000-4000-8000-000000000000');
  });
});
