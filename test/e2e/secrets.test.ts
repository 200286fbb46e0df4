/**
 * Secrets on the real parts (Temporal dev server, Docker, nginx): a spec gets only the secrets the
 * worker allows, and a secret value the containers print (a migration that dumps its environment, an
 * app that logs its secret while failing its health gate) appears nowhere in the workflow's history.
 * The history is read raw, every payload decrypted with the payload keys and decoded to text: the
 * proof does not rely on the codec (encryption), only on the redaction.
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
import { appContainers, resetApp } from '../../harness/host';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'e2e-secrets';
const BASE = 4850;
const TASK_QUEUE = 'e2e-secrets';
const IMAGE = 'greenlight-e2e-secrets:leaky';
/** Letters and digits only: it reads the same at any depth of JSON nesting, so a leak cannot hide. */
const SECRET = `e2e-secret-${randomBytes(12).toString('hex')}`;
/** A plain env value the migration prints too: it must reach history, proving the search sees the output. */
const PLAIN = `plain-${randomBytes(6).toString('hex')}`;

let w: TestWorker;

/**
 * The example backend's image, whose app logs its secret and never listens: the health gate fails and
 * attaches its log lines. Built here (under the e2e lock), removed after.
 */
function buildLeakyImage(): void {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-e2e-secrets-'));
  const app = "console.log('booting with E2E_JWT_SECRET=' + process.env.E2E_JWT_SECRET); setInterval(() => {}, 60000)";
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
    expect(await appContainers(w.docker, APP)).toEqual([]);
  });
});
