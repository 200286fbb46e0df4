/**
 * Secrets on the real parts (Temporal dev server, Docker, nginx): a spec gets only the secrets the
 * worker allows, and a secret value the containers print (a migration that dumps its environment, an
 * app that logs its secret while failing its health gate) appears nowhere in the workflow's history.
 * The history is read raw, every payload decrypted with the payload keys and decoded to text: the
 * proof does not rely on the codec (encryption), only on the redaction. The failed color's whole
 * output is kept on the host (`greenlight logs`), redacted too, and none of it beyond the health
 * gate's last lines reaches history.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Payload } from '@temporalio/common';
import { isEncrypted, payloadCodecFromEnv } from '../../src/codec';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId } from '../../src/names';
import type { DeployStatus } from '../../src/types';
import { cli } from '../../harness/cli';
import { recordHistory } from '../../harness/histories';
import { appContainers, resetApp } from '../../harness/host';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'e2e-secrets';
const BASE = 4850;
const TASK_QUEUE = 'e2e-secrets';
const IMAGE = 'greenlight-e2e-secrets:leaky';
/** Letters and digits only: it reads the same at any depth of JSON nesting, so a leak cannot hide. */
const SECRET = `e2e-secret-${randomBytes(12).toString('hex')}`;
/** The app's first output line, 40 lines before the health gate's tail: kept on the host, never in history. */
const EARLY = `early-line-${randomBytes(6).toString('hex')}`;
/** A plain env value the migration prints too: it must reach history, proving the search sees the output. */
const PLAIN = `plain-${randomBytes(6).toString('hex')}`;

let w: TestWorker;

/**
 * The example backend's image, whose app logs its secret and never listens: the health gate fails and
 * attaches its log lines. Built here (under the e2e lock), removed after.
 */
function buildLeakyImage(): void {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-e2e-secrets-'));
  const app = `console.log('${EARLY}'); for (let i = 0; i < 40; i++) console.log('warming up ' + i); console.log('booting with E2E_JWT_SECRET=' + process.env.E2E_JWT_SECRET); setInterval(() => {}, 60000)`;
  writeFileSync(join(dir, 'Dockerfile'), `FROM greenlight-example-backend:v1\nCMD ${JSON.stringify(['node', '-e', app])}\n`);
  try {
    execFileSync('docker', ['build', '-q', '-t', IMAGE, dir], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spec(web: Partial<DeploySpecInput['services'][string]> = {}, overrides: Partial<DeploySpecInput> = {}): DeploySpecInput {
  return {
    app: APP,
    router: { port: BASE },
    services: { web: { image: IMAGE, port: 4000, hostPorts: { blue: BASE + 1, green: BASE + 2 }, route: '/', health: { endpoints: ['/api/health'] }, env: { E2E_PLAIN: PLAIN }, secrets: ['E2E_JWT_SECRET'], ...web } },
    health: { interval: '200ms', successes: 2, deadline: '3s', timeout: '500ms' },
    verify: { window: '1s', interval: '100ms' },
    ...overrides,
  };
}

/** The payload keys the worker encrypts with (GREENLIGHT_HOME's, as the harness's workers use). */
const codec = payloadCodecFromEnv();

/** The history with every encrypted payload (anywhere in it) replaced by its plain payload. */
async function decrypted<T>(node: T): Promise<T> {
  if (Array.isArray(node)) return (await Promise.all(node.map((item) => decrypted(item)))) as T;
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return node;
  const payload = node as unknown as Payload;
  if (payload.metadata && payload.data instanceof Uint8Array && isEncrypted(payload)) return (await codec.decode([payload]))[0] as T;
  const entries = await Promise.all(Object.entries(node).map(async ([key, value]) => [key, await decrypted(value)] as const));
  return Object.fromEntries(entries) as T;
}

/**
 * The run's whole history as text, every payload (inputs, results, failure details) decoded: the
 * client hands payloads over as base64 (bytes in other SDK paths), in which a leak would not show.
 */
async function rawHistory(): Promise<string> {
  const history = await decrypted(await w.client.workflow.getHandle(deployWorkflowId(APP)).fetchHistory());
  return JSON.stringify(history, function decode(this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
    if (key === 'data' && typeof raw === 'string' && 'metadata' in this) return Buffer.from(raw, 'base64').toString('utf8');
    return value;
  });
}

beforeAll(async () => {
  buildLeakyImage();
  // The worker's operator allows E2E_JWT_SECRET only; E2E_OTHER is in its environment, but not allowed.
  w = await startTestWorker(TASK_QUEUE, { env: { ...process.env, GREENLIGHT_SECRETS: 'E2E_JWT_SECRET', E2E_JWT_SECRET: SECRET, E2E_OTHER: 'not-for-specs' } });
  await resetApp(w.docker, w.router, APP);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
  execFileSync('docker', ['image', 'rm', '-f', IMAGE], { stdio: 'ignore' });
});

describe('secrets only the worker allows, and none in history', () => {
  it('a spec asking for secrets the worker does not allow fails at validate: exit 2, nothing changed', async () => {
    const asking = parseDeploySpec(spec({ secrets: ['E2E_JWT_SECRET', 'E2E_OTHER', 'TEMPORAL_ADDRESS'] }));
    const outcome = await awaitOutcome(await startDeploy(w.client, asking, TASK_QUEUE));
    expect(outcome.exitCode).toBe(EXIT.invalid);
    expect(outcome.message).toContain('services.web.secrets: E2E_OTHER is not allowed on this worker: add it to GREENLIGHT_SECRETS on the worker');
    expect(outcome.message).toContain("services.web.secrets: TEMPORAL_ADDRESS is one of the worker's own settings or credentials");
    expect(await appContainers(w.docker, APP)).toEqual([]);
    expect(await w.router.readAppConfig(APP)).toBeNull();
  });

  it('a migration printing its environment and an app logging its secret leave only [redacted:NAME] in history', async () => {
    const leaky = parseDeploySpec(spec({}, { migrate: { service: 'web', run: ['node', '-e', 'console.log(JSON.stringify(process.env)); console.log("again", process.env.E2E_JWT_SECRET)'] } }));
    const outcome = await awaitOutcome(await startDeploy(w.client, leaky, TASK_QUEUE));
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.message).toContain('did not become healthy');
    expect(outcome.message).toContain('booting with E2E_JWT_SECRET=[redacted:E2E_JWT_SECRET]');

    const history = await rawHistory();
    expect(history, 'the migration output reached history (the search sees it)').toMatch(new RegExp(`E2E_PLAIN\\\\*":\\\\*"${PLAIN}`));
    expect(history.includes(SECRET), 'the secret value is nowhere in the history').toBe(false);
    // Both leaks were there and were redacted: the migration's env dump (JSON), and the health gate's log tail.
    expect(history).toMatch(/E2E_JWT_SECRET\\*":\\*"\[redacted:E2E_JWT_SECRET\]/);
    expect(history).toContain('again [redacted:E2E_JWT_SECRET]');
    expect(history).toContain('booting with E2E_JWT_SECRET=[redacted:E2E_JWT_SECRET]');
    expect(history.includes(EARLY), 'output beyond the health gate\'s tail is not in history').toBe(false);
    expect(await appContainers(w.docker, APP)).toEqual([]);
    kept = { runId: (await w.client.workflow.getHandle(deployWorkflowId(APP)).describe()).runId, status: outcome.status! };
  });

  it('the failed color\'s whole output stays on the host, redacted: status names where, greenlight logs prints it', async () => {
    expect(kept, 'the rolled-back deploy above ran').toBeTruthy();
    const { runId, status } = kept!;
    // In history: where and how much, never the text.
    expect(status.keptLogs).toEqual([{ host: null, dir: expect.stringMatching(new RegExp(`/logs/${APP}/${runId}$`)), files: [{ service: 'web', file: 'web.log', lines: 42, truncated: false }] }]);
    const shown = await cli(['logs', APP]);
    expect(shown.code, shown.stderr).toBe(EXIT.ok);
    expect(shown.stdout).toContain(`logs of ${APP}'s failed blue color, deploy ${runId}`);
    expect(shown.stdout).toContain(`${EARLY}\nwarming up 0\n`);
    expect(shown.stdout).toContain('warming up 39\nbooting with E2E_JWT_SECRET=[redacted:E2E_JWT_SECRET]');
    expect(shown.stdout.includes(SECRET), 'the kept logs are redacted').toBe(false);
    const json = await cli(['logs', APP, '--deploy', runId, '--json']);
    expect(json.code).toBe(EXIT.ok);
    const record = JSON.parse(json.stdout) as { deployId: string; files: Array<{ service: string; lines: number; text: string }> };
    expect(record.deployId).toBe(runId);
    expect(record.files.map((f) => [f.service, f.lines, f.text.split('\n')[0]])).toEqual([['web', 42, EARLY]]);
    const status2 = await cli(['status', APP]);
    expect(status2.stdout).toContain(`logs of blue kept in ${status.keptLogs![0]!.dir} (1 file): greenlight logs ${APP} --deploy ${runId}`);
    const unknown = await cli(['logs', APP, '--deploy', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(EXIT.invalid);
    expect(unknown.stdout).toContain(`kept are ${runId} (`);
    // GREENLIGHT_RECORD_HISTORIES=1 keeps it as test/histories/kept-logs-rollback.json for the replay test.
    await recordHistory(APP, runId, 'kept-logs-rollback');
  });
});

let kept: { runId: string; status: DeployStatus } | null = null;
