/**
 * The payload codec end to end: a deploy with an env value and a secret on the real worker, Docker,
 * nginx and Temporal. Its history as anyone reads it who can read Temporal but has no key (a client
 * without the codec, and the Temporal CLI) holds neither value, and every payload greenlight wrote is
 * binary/encrypted; through `greenlight codec-server` as the Temporal CLI's codec endpoint the same
 * history shows the spec's env again (so the check above can see a value when it is there).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { awaitOutcome, startDeploy, type DeployOutcome } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { ENCRYPTED_ENCODING } from '../../src/codec';
import { containerName, deployWorkflowId } from '../../src/names';
import { resetApp } from '../../harness/host';
import { REPO, TEMPORAL_ADDRESS, TEMPORAL_BIN } from '../../harness/paths';
import { twoServiceSpec, withImages } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const run = promisify(execFile);
const APP = 'codec-shop';
const BASE = 4850;
const TASK_QUEUE = 'e2e-codec';
const SECRET_NAME = 'GL_CODEC_E2E_SECRET';
// Fresh each run: a value from an earlier run cannot make the "absent" checks pass or fail by accident.
const ENV_VALUE = `env-value-${randomBytes(6).toString('hex')}`;
const SECRET_VALUE = `secret-value-${randomBytes(6).toString('hex')}`;
const V1 = { backend: 'greenlight-example-backend:v1', frontend: 'greenlight-example-frontend:v1' };

interface FoundPayload {
  /** Where in the history event it sits, e.g. activityTaskScheduledEventAttributes.input.payloads.0 */
  path: string;
  encoding: string;
  text: string;
}

/** Every Payload in a raw history event (anything with metadata and a byte `data`), with its path. */
function payloadsIn(value: unknown, path: string, found: FoundPayload[]): FoundPayload[] {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && record.metadata && typeof record.metadata === 'object') {
    const encoding = (record.metadata as Record<string, Uint8Array>).encoding;
    const metadataText = Object.values(record.metadata as Record<string, Uint8Array>).map((v) => Buffer.from(v).toString('utf8')).join(' ');
    found.push({ path, encoding: encoding ? Buffer.from(encoding).toString() : '', text: `${metadataText} ${Buffer.from(record.data).toString('utf8')}` });
    return found;
  }
  for (const [key, child] of Object.entries(record)) payloadsIn(child, path ? `${path}.${key}` : key, found);
  return found;
}

/** The payloads' data in the Temporal CLI's JSON output (base64 there), as text. */
function payloadTexts(json: string): string[] {
  const texts: string[] = [];
  const walk = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.data === 'string' && record.metadata && typeof record.metadata === 'object') texts.push(Buffer.from(record.data, 'base64').toString('utf8'));
    else Object.values(record).forEach(walk);
  };
  walk(JSON.parse(json));
  return texts;
}

let w: TestWorker;
let outcome: DeployOutcome;
let runId: string;
let events: temporal.api.history.v1.IHistoryEvent[];
let codecServer: ChildProcess;
let codecEndpoint: string;

async function startCodecServer(): Promise<void> {
  codecServer = spawn(join(REPO, 'bin', 'greenlight'), ['codec-server', '--port', '0'], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: codecServer.stdout! });
  const [line] = (await Promise.race([once(lines, 'line'), once(codecServer, 'exit').then(() => [''])])) as string[];
  const url = /http:\/\/127\.0\.0\.1:\d+/.exec(line ?? '')?.[0];
  if (!url) throw new Error(`greenlight codec-server did not start: ${line}`);
  codecEndpoint = url;
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE, { env: { ...process.env, GREENLIGHT_SECRETS: SECRET_NAME, [SECRET_NAME]: SECRET_VALUE } });
  await resetApp(w.docker, w.router, APP);
  const spec = twoServiceSpec(APP, BASE);
  spec.services.frontend = { ...spec.services.frontend!, env: { CODEC_PROBE: ENV_VALUE }, secrets: [SECRET_NAME] };
  const handle = await startDeploy(w.client, withImages(spec, V1), TASK_QUEUE, { requestedBy: 'test/e2e/codec.test.ts' });
  runId = handle.firstExecutionRunId;
  outcome = await awaitOutcome(handle);
  // As someone who reads Temporal without the key: a client with the default data converter.
  const connection = await Connection.connect({ address: TEMPORAL_ADDRESS });
  try {
    events = (await new Client({ connection }).workflow.getHandle(deployWorkflowId(APP), runId).fetchHistory()).events ?? [];
  } finally {
    await connection.close();
  }
  await startCodecServer();
});

afterAll(async () => {
  if (codecServer && codecServer.exitCode === null) {
    codecServer.kill('SIGTERM');
    await once(codecServer, 'exit');
  }
  if (w) {
    await resetApp(w.docker, w.router, APP);
    await w.stop();
  }
});

describe('payloads in Temporal are encrypted', () => {
  it('the deploy with an env value and a secret succeeded, and its container got both', async () => {
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    const [container] = await w.docker.listContainers({ filters: { name: [containerName(APP, 'frontend', 'blue')] } });
    const env = (await w.docker.getContainer(container!.Id).inspect()).Config.Env;
    expect(env).toEqual(expect.arrayContaining([`CODEC_PROBE=${ENV_VALUE}`, `${SECRET_NAME}=${SECRET_VALUE}`]));
  });

  it('the raw history holds neither the env value nor the secret, and every payload greenlight wrote is encrypted', () => {
    const payloads = events.flatMap((event, index) => payloadsIn(event, `event ${index + 1}`, []));
    const encrypted = payloads.filter((p) => p.encoding === ENCRYPTED_ENCODING);
    // Search attributes and the SDK's own patch markers do not pass through codecs: plain, and no env in them.
    const plain = payloads.filter((p) => p.encoding !== ENCRYPTED_ENCODING);
    const plainKinds = new Map<string, number>();
    for (const p of plain) {
      const kind = p.path.replace(/^event \d+\.([A-Za-z]+EventAttributes\.)?/, '');
      plainKinds.set(kind, (plainKinds.get(kind) ?? 0) + 1);
    }
    const leaking = payloads.filter((p) => p.text.includes(ENV_VALUE)).length;
    console.log(`codec e2e: ${events.length} events, ${payloads.length} payloads, ${encrypted.length} encrypted, ${leaking} with the env value; plain: ${[...plainKinds].map(([k, n]) => `${k} x${n}`).join(', ') || 'none'}`);
    expect(encrypted.length).toBeGreaterThanOrEqual(13);
    for (const p of plain) expect(p.path).toMatch(/searchAttributes|markerRecordedEventAttributes\.details\.patch-data/);
    for (const p of payloads) {
      expect(p.text, p.path).not.toContain(ENV_VALUE);
      expect(p.text, p.path).not.toContain(SECRET_VALUE);
    }
    const everything = JSON.stringify(events, (_key, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
    expect(everything).not.toContain(ENV_VALUE);
    expect(everything).not.toContain(SECRET_VALUE);
  });

  it('the Temporal CLI without the codec shows binary/encrypted and no value; with greenlight codec-server it shows the env value (never the secret)', async () => {
    const show = async (extra: string[]) =>
      (await run(TEMPORAL_BIN, ['workflow', 'show', '--address', TEMPORAL_ADDRESS, '-w', deployWorkflowId(APP), '-r', runId, '--output', 'json', ...extra], { maxBuffer: 64 * 2 ** 20 })).stdout;
    const raw = await show([]);
    expect(raw).toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expect(payloadTexts(raw).join('\n')).not.toContain(ENV_VALUE);
    expect(raw).not.toContain(SECRET_VALUE);
    const decoded = await show(['--codec-endpoint', codecEndpoint]);
    expect(decoded).not.toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    expect(payloadTexts(decoded).join('\n')).toContain(`"CODEC_PROBE":"${ENV_VALUE}"`);
    expect(payloadTexts(decoded).join('\n')).not.toContain(SECRET_VALUE);
  });
});
