/**
 * The example app on its shared infrastructure (scripts/infra.sh: PostgreSQL and Redis on the docker
 * network's gateway), as two versions of it run side by side during a deploy: v2 migrates the schema,
 * v1 keeps working on it, and a login made on one color is honoured by the other.
 * Containers are started with dockerode directly (no workflow) and removed afterwards. A test that
 * builds on an earlier one's login, note or second backend makes it first when it is not there, so
 * each also runs alone.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demuxLogs } from '../../host/docker';
import { get } from '../../harness/host';
import { GREENLIGHT_HOME } from '../../harness/paths';
import { runScript } from '../../harness/processes';
import { waitFor } from '../helpers/wait';

const docker = new Docker();
const NETWORK = 'greenlight';
const V1 = 'greenlight-example-backend:v1';
const V2 = 'greenlight-example-backend:v2';
const JWT_SECRET = randomBytes(24).toString('base64url');
const A = { name: 'exdev-backend', image: V2, port: 4990, color: 'blue' };
const B = { name: 'exdev-backend-b', image: V1, port: 4991, color: 'green' };
const C = { name: 'exdev-backend-c', image: V2, port: 4992, color: 'blue' };
const MIGRATE = 'exdev-migrate';
const CONTAINERS = [A.name, B.name, C.name, MIGRATE];
const url = (c: { port: number }, path: string): string => `http://127.0.0.1:${c.port}${path}`;

let infra: Record<string, string>;

function readEnvFile(file: string): Record<string, string> {
  const entries = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const);
  return Object.fromEntries(entries);
}

const envList = (env: Record<string, string>): string[] => Object.entries(env).map(([k, v]) => `${k}=${v}`);

async function remove(name: string): Promise<void> {
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => undefined);
}

/** `node /app/migrate.js` in a one-off container of `image` on the app network: exit code and output. */
async function migrate(image: string): Promise<{ code: number; output: string }> {
  await remove(MIGRATE);
  const container = await docker.createContainer({
    name: MIGRATE,
    Image: image,
    Cmd: ['node', '/app/migrate.js'],
    Env: envList({ ...infra, APP_VERSION: image.split(':')[1]! }),
    HostConfig: { NetworkMode: NETWORK },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const output = demuxLogs((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
    return { code: StatusCode, output };
  } finally {
    await remove(MIGRATE);
  }
}

async function runBackend(c: { name: string; image: string; port: number; color: string }, env: Record<string, string> = {}): Promise<void> {
  await remove(c.name);
  const container = await docker.createContainer({
    name: c.name,
    Image: c.image,
    Env: envList({ ...infra, JWT_SECRET, GREENLIGHT_COLOR: c.color, ...env }),
    ExposedPorts: { '4000/tcp': {} },
    HostConfig: { NetworkMode: NETWORK, PortBindings: { '4000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(c.port) }] } },
  });
  await container.start();
  await waitFor(
    `${c.name} answering on :${c.port}`,
    async () => {
      const { status } = await get(url(c, '/api/health'));
      if (status !== 200) throw new Error(`GET /api/health -> HTTP ${status}`);
    },
    { timeout: 30_000, interval: 100 },
  );
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(method: string, target: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(target, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface Note {
  id: number;
  body: string;
  createdBy: string;
  tags?: string[];
}

async function notes(c: { port: number }): Promise<Note[]> {
  const answer = await call('GET', url(c, '/api/notes'));
  expect(answer.status).toBe(200);
  return answer.body.notes as Note[];
}

let firstMigration: { code: number; output: string };
/** demo's token while its session lives (from the login test, or from loggedIn()). */
let demoToken: string | undefined;
let notePosted = false;
const noteBody = `note from v2 ${randomBytes(4).toString('hex')}`;

/** demo logged in on A (v2, blue), as the login test leaves it; logs in when no test has (a test run alone, with -t). */
async function loggedIn(): Promise<string> {
  if (demoToken === undefined) {
    const login = await call('POST', url(A, '/api/login'), { body: { username: 'demo', password: 'demo' } });
    if (login.status !== 200) throw new Error(`login demo/demo on ${A.name}: HTTP ${login.status}`);
    demoToken = login.body.token as string;
  }
  return demoToken;
}

/** demo's note (tagged e2e) on A, as the notes test leaves it; posted when no test has. */
async function ensureNote(): Promise<void> {
  if (notePosted) return;
  const posted = await call('POST', url(A, '/api/notes'), { token: await loggedIn(), body: { body: noteBody, tags: ['e2e'] } });
  if (posted.status !== 201) throw new Error(`posting the note on ${A.name}: HTTP ${posted.status}`);
  notePosted = true;
}

/** `c` answering, as the test that starts it leaves it; started when it is not. */
async function ensureBackend(c: { name: string; image: string; port: number; color: string }): Promise<void> {
  const answering = await get(url(c, '/api/health')).then((r) => r.status === 200, () => false);
  if (!answering) await runBackend(c);
}

beforeAll(async () => {
  // Idempotent: starts greenlight's PostgreSQL and Redis only when they are not answering.
  await runScript('infra.sh');
  infra = readEnvFile(join(GREENLIGHT_HOME, 'infra.env'));
  await Promise.all(CONTAINERS.map(remove));
  // As greenlight does: the new version's migration first, then its containers.
  firstMigration = await migrate(V2);
  expect(firstMigration, firstMigration.output).toMatchObject({ code: 0 });
  await runBackend(A);
});

afterAll(async () => {
  await Promise.all(CONTAINERS.map(remove));
});

describe('the example app on shared PostgreSQL and Redis', () => {
  it('migrations are idempotent: a second run of v2 and a run of v1 (older image, newer schema) exit 0', async () => {
    expect(firstMigration.output).toMatch(/schema at 2 \(this image needs 2\)/);
    const again = await migrate(V2);
    expect(again.code).toBe(0);
    expect(again.output).toContain('001 (users and notes): already applied');
    expect(again.output).toContain('002 (note tags): already applied');
    expect(again.output).toContain('0 applied now');
    const older = await migrate(V1);
    expect(older.code).toBe(0);
    expect(older.output).toContain('schema at 2 (this image needs 1), 0 applied now');
  });

  it('health: database and Redis answer; detailed health reports both', async () => {
    const db = await call('GET', url(A, '/api/health/db'));
    expect(db).toMatchObject({ status: 200, body: { status: 'ok', db: 'ok', version: 'v2', color: 'blue' } });
    const redis = await call('GET', url(A, '/api/health/redis'));
    expect(redis).toMatchObject({ status: 200, body: { status: 'ok', redis: 'ok' } });
    const detailed = await call('GET', url(A, '/api/health/detailed'));
    expect(detailed.status).toBe(200);
    expect(detailed.body).toMatchObject({ status: 'ok', version: 'v2', color: 'blue', db: 'ok', redis: 'ok', schema: 'ok (needs 2, at 2)' });
    expect(typeof detailed.body.uptimeSeconds).toBe('number');
    expect(await call('GET', url(A, '/api/version'))).toEqual({ status: 200, body: { version: 'v2', color: 'blue' } });
  });

  it('login demo/demo gives a JWT backed by a Redis session; a wrong password is refused', async () => {
    expect((await call('POST', url(A, '/api/login'), { body: { username: 'demo', password: 'wrong' } })).status).toBe(401);
    expect((await call('POST', url(A, '/api/login'), { body: { username: 'nobody', password: 'demo' } })).status).toBe(401);
    const login = await call('POST', url(A, '/api/login'), { body: { username: 'demo', password: 'demo' } });
    expect(login.status).toBe(200);
    const token = login.body.token as string;
    const sessionId = login.body.sessionId as string;
    demoToken = token;
    expect(token.split('.')).toHaveLength(3);
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(payload).toMatchObject({ sub: 'demo', sid: sessionId });
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600);
  });

  it('/api/me needs a valid token whose session exists', async () => {
    const token = await loggedIn();
    const me = await call('GET', url(A, '/api/me'), { token });
    expect(me).toEqual({
      status: 200,
      body: { username: 'demo', sessionCreatedBy: { version: 'v2', color: 'blue' }, servedBy: { version: 'v2', color: 'blue' } },
    });
    expect((await call('GET', url(A, '/api/me'))).status).toBe(401);
    const [head, body] = token.split('.');
    expect((await call('GET', url(A, '/api/me'), { token: `${head}.${body}.${'A'.repeat(43)}` })).status).toBe(401);
  });

  it('a note posted (logged in) is listed; posting without a token is refused', async () => {
    const token = await loggedIn();
    expect((await call('POST', url(A, '/api/notes'), { body: { body: 'anonymous' } })).status).toBe(401);
    const posted = await call('POST', url(A, '/api/notes'), { token, body: { body: noteBody, tags: ['e2e'] } });
    expect(posted.status).toBe(201);
    expect(posted.body.note).toMatchObject({ body: noteBody, createdBy: 'demo', tags: ['e2e'] });
    expect((await notes(A)).find((n) => n.body === noteBody)).toMatchObject({ createdBy: 'demo', tags: ['e2e'] });
    notePosted = true;
  });

  it('v1 on the other color, same database, Redis and JWT_SECRET: accepts the token, sees the note and the session', async () => {
    const token = await loggedIn();
    await ensureNote();
    await runBackend(B);
    const me = await call('GET', url(B, '/api/me'), { token });
    expect(me).toEqual({
      status: 200,
      body: { username: 'demo', sessionCreatedBy: { version: 'v2', color: 'blue' }, servedBy: { version: 'v1', color: 'green' } },
    });
    // v1 ignores the tags column v2's migration added, and its own inserts get the column's default.
    const seen = (await notes(B)).find((n) => n.body === noteBody);
    expect(seen).toMatchObject({ createdBy: 'demo' });
    expect(seen).not.toHaveProperty('tags');
    const fromV1 = `note from v1 ${randomBytes(4).toString('hex')}`;
    expect((await call('POST', url(B, '/api/notes'), { token, body: { body: fromV1, tags: ['ignored by v1'] } })).status).toBe(201);
    expect((await notes(A)).find((n) => n.body === fromV1)).toMatchObject({ createdBy: 'demo', tags: [] });
  });

  it('logging out on one color ends the session on both', async () => {
    const token = await loggedIn();
    await ensureBackend(B);
    expect(await call('POST', url(B, '/api/logout'), { token })).toMatchObject({ status: 200 });
    demoToken = undefined; // the session is gone: a later test logs in again
    expect(await call('GET', url(A, '/api/me'), { token })).toMatchObject({ status: 401, body: { error: 'session expired or logged out' } });
    expect((await call('GET', url(B, '/api/me'), { token })).status).toBe(401);
  });

  it('detailed health is 503 when Redis is unreachable (the database still answers)', async () => {
    const closed = infra.REDIS_URL!.replace(/:\d+$/, ':6399');
    await runBackend(C, { REDIS_URL: closed });
    const detailed = await waitFor('detailed health 503', async () => {
      const answer = await call('GET', url(C, '/api/health/detailed'));
      if (answer.status !== 503) throw new Error(`GET /api/health/detailed -> HTTP ${answer.status}`);
      return answer;
    }, { timeout: 10_000, interval: 100 });
    expect(detailed.body).toMatchObject({ status: 'unhealthy', db: 'ok' });
    expect(String(detailed.body.redis)).toMatch(/^unavailable: /);
    expect((await call('GET', url(C, '/api/health/redis'))).status).toBe(503);
    expect((await call('GET', url(C, '/api/health/db'))).status).toBe(200);
    expect((await call('GET', url(C, '/api/health'))).status).toBe(200);
    // A login needs its session store: 503 (try again), not 401 (wrong password).
    expect((await call('POST', url(C, '/api/login'), { body: { username: 'demo', password: 'demo' } })).status).toBe(503);
  });
});
