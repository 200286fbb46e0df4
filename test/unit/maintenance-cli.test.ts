/**
 * `greenlight maintenance` and its line in `greenlight status` on a fake Temporal client: bad input is
 * exit 2 before anything connects, the hosts come from the last deploy (or -f), the workflow's ends map
 * to exit codes. The real change on nginx is test/e2e/maintenance.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import { FAILURE_TYPES, MAINTENANCE_WORKFLOW } from '../../src/names';
import type { MaintenanceInput, MaintenanceResult } from '../../src/types';
import { deployStatus, FakeTemporal, workflowFailure, type StartCall } from './fake-temporal';

const work = mkdtempSync(join(tmpdir(), 'greenlight-maintenance-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const PAGE = join(work, 'page.html');
writeFileSync(PAGE, '<h1>Back soon</h1>\n');
const FLEET_FILE = join(work, 'fleet.yml');
writeFileSync(FLEET_FILE, 'app: shop\nhosts:\n  - name: web-1\n  - name: web-2\n    taskQueue: q-web-2\nservices:\n  backend:\n    image: shop-backend:v1\n    port: 4000\n    hostPorts: { blue: 4100, green: 4102 }\n');
const oneHostSpec = parseDeploySpec({ app: 'shop', services: { backend: { image: 'shop-backend:v1', port: 4000, hostPorts: { blue: 4100, green: 4102 } } } });
const SINCE = '2026-12-03T11:40:00.000Z';

let fake: FakeTemporal;
let started: StartCall[];
beforeEach(() => {
  fake = new FakeTemporal();
  started = [];
});

async function gl(args: string[]) {
  const run = { code: -1 as number, out: [] as string[], err: [] as string[], connects: 0 };
  run.code = await runCli(['node', 'greenlight', ...args], {
    connect: async () => {
      run.connects++;
      return fake.client;
    },
    out: (line) => run.out.push(line),
    err: (line) => run.err.push(line),
    writeOut: () => undefined,
    writeErr: () => undefined,
  });
  return run;
}

/** The app deployed once on one host (task queue `taskQueue`): its spec is where maintenance goes. */
function deployed(taskQueue = 'greenlight'): void {
  fake.latest = { runId: 'run-1', workflowStatus: 'COMPLETED', result: async () => deployStatus(), status: deployStatus(), taskQueue, input: { spec: oneHostSpec } };
}

/** A maintenance change that ends as `end` does (its result, or a failure). */
function changeEnds(end: (input: MaintenanceInput) => Promise<MaintenanceResult>): void {
  fake.onMaintenanceStart = (call) => {
    started.push(call);
    const input = call.options.args[0] as unknown as MaintenanceInput;
    return { runId: 'm-1', workflowStatus: 'COMPLETED', result: () => end(input) };
  };
}

const applied = async (input: MaintenanceInput): Promise<MaintenanceResult> => ({
  app: input.app,
  on: input.change.on,
  hosts: input.targets.map((t) => ({ host: t.name, state: input.change.on ? { on: true, since: SINCE, message: input.change.message, retryAfter: input.change.retryAfter, pageFile: input.change.page?.file ?? null } : { on: false, since: null, message: null, retryAfter: null, pageFile: null } })),
});

describe('greenlight maintenance', () => {
  it.each([
    [['maintenance', 'shop', 'maybe'], '<on|off>: "maybe" is neither'],
    [['maintenance', 'shop', 'on', '--retry-after', '0'], '--retry-after: "0" is not a whole number of seconds from 1 to 86400: e.g. --retry-after 120'],
    [['maintenance', 'shop', 'on', '--message', 'x'.repeat(501)], '--message: 501 characters, at most 500'],
    [['maintenance', 'shop', 'off', '--message', 'hi'], '--message: only for "on"'],
    [['maintenance', 'shop', 'on', '--page', join(work, 'missing.html')], '--page: cannot read'],
    [['maintenance', 'shop', 'on', '-f', join(work, 'missing.yml')], 'cannot read the spec file'],
  ])('%j: exit 2, nothing started (no connection)', async (args, issue) => {
    const run = await gl(args);
    expect(run.code).toBe(EXIT.invalid);
    expect(run.connects).toBe(0);
    expect(run.err.join('\n')).toContain(issue);
  });

  it('an app never deployed and no -f: exit 2, nothing started', async () => {
    const run = await gl(['maintenance', 'shop', 'on']);
    expect(run).toMatchObject({ code: EXIT.invalid, out: ['no deploy of shop found: check the app name (greenlight history shop), or pass its spec with -f'] });
    expect(started).toEqual([]);
  });

  it('on: the workflow on the last deploy\'s queue, for its one host; exit 0 and what it did', async () => {
    deployed('e2e-queue');
    changeEnds(applied);
    const run = await gl(['maintenance', 'shop', 'on', '--message', 'Back at 14:00', '--retry-after', '600', '--page', PAGE]);
    expect(run.code).toBe(EXIT.ok);
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ workflowType: MAINTENANCE_WORKFLOW, options: { workflowId: 'maintenance-shop', taskQueue: 'e2e-queue' } });
    expect(started[0]!.options.args[0]).toEqual({ app: 'shop', change: { on: true, message: 'Back at 14:00', retryAfter: 600, page: { file: 'page.html', html: '<h1>Back soon</h1>\n' } }, targets: [{ name: null }] });
    expect(run.out).toEqual([`shop: maintenance on since ${SINCE} (503, Retry-After 600 s, page page.html), message: Back at 14:00`]);
  });

  it('-f a fleet spec: every host of it, each on its own queue', async () => {
    changeEnds(applied);
    const run = await gl(['maintenance', 'shop', 'off', '-f', FLEET_FILE]);
    expect(run.code).toBe(EXIT.ok);
    expect((started[0]!.options.args[0] as unknown as MaintenanceInput).targets).toEqual([
      { name: 'web-1', taskQueue: 'greenlight-host-web-1', hostTimeoutMs: 30_000 },
      { name: 'web-2', taskQueue: 'q-web-2', hostTimeoutMs: 30_000 },
    ]);
    expect(run.out).toEqual(['shop: maintenance off on web-1, web-2']);
  });

  it('-f the spec of another app: exit 2', async () => {
    const run = await gl(['maintenance', 'cart', 'on', '-f', FLEET_FILE]);
    expect(run.code).toBe(EXIT.invalid);
    expect(run.err.join('\n')).toContain('-f: the spec is of app "shop", not "cart"');
  });

  it.each([
    [FAILURE_TYPES.preflight, EXIT.invalid, "maintenance check failed: shop is not routed by this host's router; nothing was changed"],
    [FAILURE_TYPES.infrastructure, EXIT.infrastructure, 'maintenance change failed: web-2: nginx does not answer; every host was put back as it was'],
  ])('the workflow fails with %s: exit %i and its message', async (type, code, message) => {
    deployed();
    changeEnds(() => Promise.reject(workflowFailure(type, message, null)));
    const run = await gl(['maintenance', 'shop', 'on']);
    expect(run).toMatchObject({ code, out: [`maintenance of shop not changed: ${message}`] });
  });

  it('another change of the app is running: exit 3', async () => {
    deployed();
    fake.startErrors = [new WorkflowExecutionAlreadyStartedError('already started', 'maintenance-shop', 'maintenanceWorkflow')];
    const run = await gl(['maintenance', 'shop', 'on']);
    expect(run).toMatchObject({ code: EXIT.refused, out: ['another maintenance change of shop is running (workflow maintenance-shop): wait for it, then try again'] });
  });
});

describe('greenlight status with maintenance', () => {
  it('on: one line with since, Retry-After and the message; in JSON per host', async () => {
    deployed();
    const state = { on: true, since: SINCE, message: 'Back at 14:00', retryAfter: 600, pageFile: null };
    fake.maintenance = { runId: 'm-1', workflowStatus: 'COMPLETED', result: async () => ({ app: 'shop', on: true, hosts: [{ host: null, state }] }) };
    const run = await gl(['status', 'shop']);
    expect(run.code).toBe(EXIT.ok);
    expect(run.out).toContain(`  maintenance: on since ${SINCE} (503, Retry-After 600 s), message: Back at 14:00`);
    expect(JSON.parse((await gl(['status', 'shop', '--json'])).out[0]!)).toMatchObject({ maintenance: { on: true, hosts: [{ host: null, state }] } });
  });

  it('off, or never on: no line', async () => {
    deployed();
    expect((await gl(['status', 'shop'])).out.join('\n')).not.toContain('maintenance');
    fake.maintenance = { runId: 'm-2', workflowStatus: 'COMPLETED', result: async () => ({ app: 'shop', on: false, hosts: [{ host: null, state: { on: false, since: null, message: null, retryAfter: null, pageFile: null } }] }) };
    expect((await gl(['status', 'shop'])).out.join('\n')).not.toContain('maintenance');
  });
});
