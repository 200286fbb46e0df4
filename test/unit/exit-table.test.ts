/**
 * Every documented exit code through the real CLI entry, as CI sees it: the codes that need no server
 * from the real binary (bin/greenlight, with TEMPORAL_ADDRESS at a closed port), the others from runCli
 * on the fake Temporal client. A code added to EXIT without a row here fails the coverage check.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli';
import { EXIT } from '../../src/cli/exit-codes';
import { FAILURE_TYPES } from '../../src/names';
import type { HostState } from '../../host/builders/plan';
import type { DeployStatus } from '../../src/types';
import { deployStatus, FakeTemporal, temporalUnavailable, updateRefused, workflowCancelled, workflowFailure, workflowTerminated, workflowTimedOut, type FakeRun } from './fake-temporal';

const BIN = resolve(__dirname, '..', '..', 'bin', 'greenlight');
const work = mkdtempSync(join(tmpdir(), 'greenlight-exit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const GOOD_SPEC = join(work, 'good.yml');
writeFileSync(GOOD_SPEC, 'app: shop\nservices:\n  backend:\n    image: shop-backend:v1\n    port: 4000\n    hostPorts: { blue: 4100, green: 4102 }\n');
// A window an hour long that opens in 6 hours (UTC): whenever the test runs, outside it.
const REFUSING_SPEC = join(work, 'refusing.yml');
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
writeFileSync(REFUSING_SPEC, `app: shop\nservices:\n  backend:\n    image: shop-backend:v1\n    port: 4000\n    hostPorts: { blue: 4100, green: 4102 }\nwindows:\n  allow: [{ hours: "${hhmm(Date.now() + 6 * 3_600_000)}-${hhmm(Date.now() + 7 * 3_600_000)}" }]\n  outside: refuse\n`);
const BAD_SPEC = join(work, 'bad.yml');
writeFileSync(BAD_SPEC, 'app: shop\nservices:\n  backend:\n    image: shop-backend:v1\n    port: 99999\n    hostPorts: { blue: 4100, green: 4102 }\n');

interface BinRow {
  what: string;
  args: string[];
  code: number;
  /** What stderr (or stdout, for help) must say. */
  says: RegExp;
}

// Nothing listens on port 1: a command that connects gets ECONNREFUSED at once.
const CLOSED = '127.0.0.1:1';
const binRows: BinRow[] = [
  { what: '--help', args: ['--help'], code: EXIT.ok, says: /Exit codes:\n {2}0 {2}success\n[^]* {2}7 {2}unexpected error/ },
  { what: 'a bad spec while Temporal is down', args: ['deploy', '-f', BAD_SPEC], code: EXIT.invalid, says: /invalid deploy spec:\n {2}- services\.backend\.port: / },
  { what: 'an unknown option', args: ['deploy', '--bogus'], code: EXIT.invalid, says: /unknown option '--bogus'/ },
  { what: 'an app that would widen the visibility query', args: ['status', 'x" OR WorkflowId!="'], code: EXIT.invalid, says: /is invalid for argument 'app'/ },
  { what: 'Temporal unreachable', args: ['status', 'shop'], code: EXIT.infrastructure, says: /^greenlight: cannot reach Temporal at 127\.0\.0\.1:1 /m },
];

async function runBin(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, TEMPORAL_ADDRESS: CLOSED }, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('exit codes through the real binary (no server)', () => {
  it.concurrent.each(binRows)('$what: exit $code', async ({ args, code, says }) => {
    const run = await runBin(args);
    expect(run.code, run.output).toBe(code);
    expect(run.output).toMatch(says);
  }, 60_000);
});

interface FakeRow {
  what: string;
  args: string[];
  code: number;
  /** The app's latest deploy before the command; null: none. */
  latest?: FakeRun | null;
  /** What a deploy started by the command does. */
  started?: Pick<FakeRun, 'result' | 'status'>;
  /** Temporal errors the command meets (workflow.start's, or any call's). */
  startError?: Error;
  broken?: Error;
  /** What `greenlight plan` reads on the host. */
  planHost?: HostState;
  /** `deploy --queue`: how the queue answers for the command's request. */
  queueAnswer?: FakeTemporal['queueAnswer'];
}

const reject = (error: Error) => () => Promise.reject(error);
const failing = (type: string, status: Partial<DeployStatus> = {}) => ({ result: reject(workflowFailure(type, `${type} message`, deployStatus(status))), status: null });
const deploying = (status: Partial<DeployStatus>, update?: FakeRun['update']): FakeRun => ({ runId: 'run-1', workflowStatus: 'RUNNING', result: () => new Promise(() => undefined), status: deployStatus(status), update });
const ended: FakeRun = { runId: 'run-1', workflowStatus: 'COMPLETED', result: async () => deployStatus(), status: deployStatus() };
const DEPLOY = ['deploy', '-f', GOOD_SPEC];
const PLAN = ['plan', '-f', GOOD_SPEC];
const hostState = (over: Partial<HostState> = {}): HostState => ({ liveColor: null, containers: [], liveConfig: null, renderedLive: null, renderedNext: 'config', missingImages: [], ...over });

const fakeRows: FakeRow[] = [
  { what: 'a missing argument', args: ['status'], code: EXIT.invalid },
  { what: 'an unknown command', args: ['deplyo'], code: EXIT.invalid },
  { what: 'a missing spec file', args: ['deploy', '-f', join(work, 'nope.yml')], code: EXIT.invalid },
  { what: 'deploy succeeds', args: DEPLOY, code: EXIT.ok, started: { result: async () => deployStatus(), status: null } },
  { what: 'deploy rolls back', args: DEPLOY, code: EXIT.rolledBack, started: failing(FAILURE_TYPES.rolledBack, { outcome: 'rolled-back' }) },
  { what: 'deploy cancelled, compensated', args: DEPLOY, code: EXIT.rolledBack, started: { result: reject(workflowCancelled()), status: deployStatus({ outcome: 'rolled-back' }) } },
  { what: 'deploy fails validation', args: DEPLOY, code: EXIT.invalid, started: failing(FAILURE_TYPES.validationFailed, { outcome: 'validation-failed' }) },
  { what: 'status of an unknown app', args: ['status', 'shop'], code: EXIT.invalid, latest: null },
  { what: 'history --json of an unknown app', args: ['history', 'shop', '--json'], code: EXIT.invalid },
  { what: 'promote of an unknown app', args: ['promote', 'shop'], code: EXIT.invalid, latest: null },
  { what: 'cancel of an unknown app', args: ['cancel', 'shop'], code: EXIT.invalid, latest: null },
  { what: 'rollback of an unknown app', args: ['rollback', 'shop'], code: EXIT.invalid, latest: null },
  { what: 'deploy while another runs', args: DEPLOY, code: EXIT.refused, startError: new WorkflowExecutionAlreadyStartedError('already started', 'deploy-shop', 'deployWorkflow') },
  { what: 'promote of a finished deploy', args: ['promote', 'shop'], code: EXIT.refused, latest: ended },
  { what: 'cancel of a finished deploy', args: ['cancel', 'shop'], code: EXIT.refused, latest: ended },
  { what: 'rollback refused by the validator', args: ['rollback', 'shop'], code: EXIT.refused, latest: deploying({ outcome: 'running', phase: 'cleanup' }, reject(updateRefused('too late'))) },
  { what: 'deploy finds Docker unreachable', args: DEPLOY, code: EXIT.infrastructure, started: failing(FAILURE_TYPES.validationFailed, { failureType: FAILURE_TYPES.infrastructure }) },
  { what: 'Temporal lost while following a deploy', args: DEPLOY, code: EXIT.infrastructure, started: { result: reject(temporalUnavailable()), status: null } },
  { what: 'deploy cannot compensate', args: DEPLOY, code: EXIT.compensationFailed, started: failing(FAILURE_TYPES.compensationFailed, { outcome: 'compensation-failed' }) },
  { what: 'deploy cancelled, compensation failed', args: DEPLOY, code: EXIT.compensationFailed, started: { result: reject(workflowCancelled()), status: deployStatus({ outcome: 'compensation-failed' }) } },
  { what: 'deploy terminated', args: DEPLOY, code: EXIT.outcomeUnknown, started: { result: reject(workflowTerminated()), status: null } },
  { what: 'deploy timed out on the server', args: DEPLOY, code: EXIT.outcomeUnknown, started: { result: reject(workflowTimedOut()), status: null } },
  { what: 'deploy cancelled, no status to read', args: DEPLOY, code: EXIT.outcomeUnknown, started: { result: reject(workflowCancelled()), status: null } },
  { what: 'deploy fails with a failure of no known type', args: DEPLOY, code: EXIT.unexpected, started: failing('SomethingElse') },
  { what: 'an unclassified error from Temporal', args: ['status', 'shop'], code: EXIT.unexpected, broken: new Error('13 INTERNAL: boom') },
  { what: 'plan of a first deploy', args: PLAN, code: EXIT.changes, planHost: hostState() },
  { what: 'plan finds a stray container', args: PLAN, code: EXIT.drift, planHost: hostState({ containers: [{ name: 'shop_old_blue', running: true, image: 'x:1', labels: { 'greenlight.role': 'app' } }] }) },
  { what: 'plan of a bad spec', args: ['plan', '-f', BAD_SPEC], code: EXIT.invalid },
  { what: 'deploy refused outside its window by the CLI (no workflow started)', args: ['deploy', '-f', REFUSING_SPEC], code: EXIT.outsideWindow, startError: new Error('the CLI must not start a deploy outside its window') },
  { what: 'deploy --override without --reason', args: ['deploy', '-f', REFUSING_SPEC, '--override'], code: EXIT.invalid, startError: new Error('a usage error starts nothing') },
  { what: 'deploy refused outside its window by the workflow', args: DEPLOY, code: EXIT.outsideWindow, started: failing(FAILURE_TYPES.validationFailed, { outcome: 'validation-failed', failureType: FAILURE_TYPES.outsideWindow }) },
  { what: 'deploy --queue superseded by a later request', args: [...DEPLOY, '--queue'], code: EXIT.superseded, queueAnswer: (r) => ({ requestId: r.requestId, result: 'superseded', by: { requestId: 'later', requestedBy: 'ci-2', requestedAt: '2026-12-03T12:00:00Z' } }) },
  { what: 'deploy --queue started by the queue, succeeds', args: [...DEPLOY, '--queue'], code: EXIT.ok, latest: { runId: 'run-q', workflowStatus: 'RUNNING', result: async () => deployStatus(), status: null }, queueAnswer: (r) => ({ requestId: r.requestId, result: 'started', deployId: 'deploy-shop', runId: 'run-q', startedAt: '2026-12-03T12:00:00Z' }) },
];

describe('exit codes through runCli on a fake Temporal', () => {
  it.each(fakeRows)('$what: exit $code', async (row) => {
    const fake = new FakeTemporal();
    fake.latest = row.latest ?? null;
    if (row.started) fake.onStart = () => ({ runId: 'run-2', workflowStatus: 'RUNNING', ...row.started! });
    if (row.queueAnswer) fake.queueAnswer = row.queueAnswer;
    if (row.startError) fake.startErrors = [row.startError];
    if (row.broken) {
      fake.client.workflow.getHandle = () => {
        throw row.broken;
      };
    }
    const lines: string[] = [];
    const planHost = row.planHost ? async () => row.planHost! : undefined;
    const code = await runCli(['node', 'greenlight', ...row.args], { connect: async () => fake.client, planHost, out: (l) => lines.push(l), err: (l) => lines.push(l), writeOut: () => undefined, writeErr: () => undefined });
    expect(code, lines.join('\n')).toBe(row.code);
  });
});

describe('the table', () => {
  it('has a row for every documented code', () => {
    const covered = new Set([...binRows, ...fakeRows].map((row) => row.code));
    expect([...covered].sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });
});
