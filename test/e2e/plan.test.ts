/**
 * `greenlight plan` through the real binary against the real dev server, Docker engine and nginx: a
 * first deploy, no changes, a changed image and env key (its value never printed), drift (a stray
 * container with the app's labels, a hand-edited router config) and a bad spec. Every plan leaves the
 * host as it was: the app's containers and router config are compared before and after. Then
 * `greenlight deploy` of the changed spec records the plan's summary (names only) in the workflow's
 * details, as the Temporal UI shows them.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId, LABELS } from '../../src/names';
import type { Plan } from '../../host/builders/plan';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { appContainers, resetApp } from '../../harness/host';
import { exampleImages, twoServices, withImages, writeSpecFile } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

// A new app each run: a first deploy means no deploy of it in Temporal's history either.
const APP = `plan-${Date.now().toString(36)}`;
const QUEUE = 'e2e-plan';
const SECRET_VALUE = 'sup3r-s3cret-value-0451';
const docker = new Docker();
let w: TestWorker;
let dir: string;
const timings: Record<string, number> = {};

const planSpec = (backend: DeploySpecInput['services'][string] | object = {}): DeploySpecInput => ({
  app: APP,
  router: { port: 5810 },
  services: twoServices({
    images: exampleImages('v1'),
    hostPorts: { backend: { blue: 5811, green: 5812 }, frontend: { blue: 5813, green: 5814 } },
    backend: { health: { endpoints: ['/api/health'] }, env: { LOG_LEVEL: 'info' }, ...backend },
    frontend: { health: { endpoints: ['/health'] } },
  }),
  health: { interval: '200ms', successes: 2, deadline: '20s' },
  verify: { window: '1s', interval: '100ms' },
  cleanup: { previous: 'stop', drain: '200ms' },
});

/** What a plan must not change: the app's containers (name, state, image) and its router config. */
async function hostSnapshot() {
  return { containers: await appContainers(docker, APP), config: await w.router.readAppConfig(APP), route: await w.router.readRoute(APP).catch(() => null) };
}

/** Runs `greenlight plan` (JSON and text) and checks the host is unchanged by either. */
async function plan(name: string, spec: unknown) {
  const file = writeSpecFile(dir, name, spec);
  const before = await hostSnapshot();
  const started = Date.now();
  const json = await cli(['plan', '-f', file, '--json'], { GREENLIGHT_TASK_QUEUE: QUEUE });
  timings[name] = Date.now() - started;
  const text = await cli(['plan', '-f', file], { GREENLIGHT_TASK_QUEUE: QUEUE });
  expect(await hostSnapshot()).toEqual(before);
  expect(text.code, text.stderr).toBe(json.code);
  return { code: json.code, plan: json.code === EXIT.invalid ? null : (JSON.parse(json.stdout) as Plan), text: text.stdout, raw: json.stdout + json.stderr + text.stdout + text.stderr };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'greenlight-plan-'));
  w = await startTestWorker(QUEUE);
});

afterAll(async () => {
  await resetApp(docker, w.router, APP).catch(() => undefined);
  await w?.stop();
  console.log(`plan timings (ms, the real binary end to end): ${JSON.stringify(timings)}`);
});

describe('greenlight plan', () => {
  it('a bad spec: exit 2, nothing read', async () => {
    const p = await plan('bad', { ...planSpec(), router: { port: 99999 } });
    expect(p.code).toBe(EXIT.invalid);
    expect(p.raw).toMatch(/router\.port: /);
  });

  it('a first deploy: every service new, blue would start, nothing stops (exit 8)', async () => {
    const p = await plan('first', planSpec());
    expect(p.code, p.raw).toBe(EXIT.changes);
    const host = p.plan!.hosts[0]!;
    expect(p.plan).toMatchObject({ app: APP, firstDeploy: true, changed: true, drift: false });
    expect(host.services.map((s) => [s.service, s.change, s.image.to])).toEqual([['backend', 'added', exampleImages('v1').backend], ['frontend', 'added', exampleImages('v1').frontend]]);
    expect(host.services[0]!.env.added).toEqual(['LOG_LEVEL']);
    expect(host).toMatchObject({ liveColor: null, targetColor: 'blue', start: [`${APP}_backend_blue`, `${APP}_frontend_blue`], stop: [] });
    expect(host.route.length).toBeGreaterThan(0);
    expect(host.route.every((line) => line.startsWith('+ '))).toBe(true);
    expect(p.text).toContain(`${APP}: changes (first deploy)`);
  });

  it('no changes after the deploy of the same spec (exit 0)', async () => {
    await deployOk({ client: w.client }, withImages(planSpec(), {}), QUEUE);
    const p = await plan('same', planSpec());
    expect(p.code, p.raw).toBe(EXIT.ok);
    expect(p.plan!.hosts[0]).toMatchObject({ changed: false, liveColor: 'blue', targetColor: null, start: [], stop: [], route: [], drift: [] });
    expect(p.text).toContain(`${APP}: no changes`);
  });

  it('a new image and an env key: names only, the secret-looking value never printed (exit 8)', async () => {
    const p = await plan('changed', planSpec({ image: exampleImages('v2').backend, env: { LOG_LEVEL: 'debug', API_TOKEN: SECRET_VALUE }, secrets: [] }));
    expect(p.code, p.raw).toBe(EXIT.changes);
    const backend = p.plan!.hosts[0]!.services.find((s) => s.service === 'backend')!;
    expect(backend).toMatchObject({ change: 'changed', image: { from: exampleImages('v1').backend, to: exampleImages('v2').backend }, env: { added: ['API_TOKEN'], removed: [], changed: ['LOG_LEVEL'] } });
    expect(p.plan!.hosts[0]).toMatchObject({ liveColor: 'blue', targetColor: 'green', start: [`${APP}_backend_green`, `${APP}_frontend_green`], stop: [`${APP}_backend_blue`, `${APP}_frontend_blue`] });
    expect(p.text).toContain('env added: API_TOKEN');
    expect(p.raw).not.toContain(SECRET_VALUE);
    expect(p.raw).not.toContain('debug');
  });

  it('drift: a stray container labelled for the app (exit 9)', async () => {
    const stray = `${APP}_stray_blue`;
    await docker.createContainer({ name: stray, Image: exampleImages('v1').backend, Labels: { [LABELS.managed]: 'true', [LABELS.app]: APP, [LABELS.role]: 'app', [LABELS.color]: 'blue', [LABELS.service]: 'stray' } });
    try {
      const p = await plan('stray', planSpec());
      expect(p.code, p.raw).toBe(EXIT.drift);
      expect(p.plan!.hosts[0]!.drift).toEqual([`container ${stray} (stopped, ${exampleImages('v1').backend}) is labelled for ${APP} but no color accounts for it`]);
      expect(p.plan!.changed).toBe(false);
    } finally {
      await docker.getContainer(stray).remove({ force: true });
    }
  });

  it('drift: a hand-edited router config (exit 9), shown as a diff', async () => {
    const path = w.router.appConfPath(APP);
    const original = readFileSync(path, 'utf8');
    // A comment: nginx is not reloaded by anyone here, and would not mind it if it were.
    writeFileSync(path, original.replace('\n', '\n# edited by hand\n'));
    try {
      const p = await plan('edited', planSpec());
      expect(p.code, p.raw).toBe(EXIT.drift);
      const drift = p.plan!.hosts[0]!.drift;
      expect(drift[0]).toBe(`the router config of ${APP} differs from what greenlight rendered for blue:`);
      expect(drift).toContain('  + # edited by hand');
    } finally {
      writeFileSync(path, original);
    }
    expect((await plan('restored', planSpec())).code).toBe(EXIT.ok);
  });

  it("greenlight deploy records the plan's summary in the workflow's details: names only, never a value", async () => {
    const file = writeSpecFile(dir, 'deployed', planSpec({ image: exampleImages('v2').backend, env: { LOG_LEVEL: 'debug', API_TOKEN: SECRET_VALUE }, secrets: [] }));
    const liveRun = (await w.client.workflow.getHandle(deployWorkflowId(APP)).describe()).runId;
    const r = await cli(['deploy', '-f', file, '--task-queue', QUEUE]);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.ok);
    const description = await w.client.workflow.getHandle(deployWorkflowId(APP)).describe();
    const details = await description.staticDetails();
    expect(details?.split('\n\n').at(-1)).toBe([
      'Changes (names only, never values):',
      `- against the live spec of run ${liveRun} (the last completed deploy)`,
      `- backend: image ${exampleImages('v1').backend} -> ${exampleImages('v2').backend}`,
      '- backend: env added API_TOKEN; env changed LOG_LEVEL',
    ].join('\n'));
    expect(details).not.toContain(SECRET_VALUE);
    expect(details).not.toContain('debug');
  }, 120_000);
});
