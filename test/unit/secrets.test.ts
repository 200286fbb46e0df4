/**
 * The worker's secret policy (src/secrets.ts): what a spec may ask for, and the redaction of the values
 * from what the activities return and throw (activities/support.ts `redacting`, the Docker activities).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { createDockerActivities, type DockerDeps } from '../../activities/docker';
import { redacting } from '../../activities/support';
import type { DockerHost } from '../../host/docker';
import type { NginxRouter } from '../../host/nginx';
import { parseDeploySpec, parseDeploySpecYaml } from '../../src/config/load';
import { GreenlightError } from '../../src/errors';
import { FAILURE_TYPES } from '../../src/names';
import { redactDeep, redactedTail, redactorFor, secretPolicyFromEnv, secretProblem, secretValues, TAIL_CHARS, TAIL_LINES, type SecretFiles, type SecretPolicy } from '../../src/secrets';
import { REPO } from '../../harness/paths';
import { webSpec } from '../../harness/specs';

const JWT = 'jwt-0123456789abcdef';
const DB = 'postgres://shop:p4ss"w0rd@db/shop';

const policy = (values: Record<string, string | undefined>): SecretPolicy => ({ allowed: new Map(Object.entries(values)) });

/** A secrets file held in memory, with its permission bits. */
function files(text: string, mode = 0o100600): SecretFiles {
  return { read: () => text, mode: () => mode };
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, but nothing was thrown');
}

describe('secretPolicyFromEnv (what the worker allows)', () => {
  it('allows the names of GREENLIGHT_SECRETS, with their values from the environment, and nothing else', () => {
    const { allowed } = secretPolicyFromEnv({ GREENLIGHT_SECRETS: 'JWT_SECRET, DB_PASSWORD', JWT_SECRET: JWT, OTHER: 'x' });
    expect([...allowed]).toEqual([
      ['JWT_SECRET', JWT],
      ['DB_PASSWORD', undefined],
    ]);
  });

  it('allows nothing without GREENLIGHT_SECRETS or a secrets file', () => {
    expect(secretPolicyFromEnv({ JWT_SECRET: JWT, TEMPORAL_API_KEY: 'key' }).allowed.size).toBe(0);
  });

  it('reads NAME=value lines of GREENLIGHT_SECRETS_FILE (comments, blank lines, "=" in values); the file wins over the environment', () => {
    const text = '# the shop\n\nJWT_SECRET=from-file\nDATABASE_URL=postgres://u:p@h/db?sslmode=require\r\n';
    const { allowed } = secretPolicyFromEnv({ GREENLIGHT_SECRETS: 'JWT_SECRET', JWT_SECRET: 'from-env', GREENLIGHT_SECRETS_FILE: '/etc/greenlight/secrets' }, files(text));
    expect(Object.fromEntries(allowed)).toEqual({ JWT_SECRET: 'from-file', DATABASE_URL: 'postgres://u:p@h/db?sslmode=require' });
  });

  it.each([
    { name: 'a Temporal credential in the list', env: { GREENLIGHT_SECRETS: 'JWT_SECRET,TEMPORAL_API_KEY' }, text: '', hint: /GREENLIGHT_SECRETS: TEMPORAL_API_KEY is one of the worker's own settings or credentials .*never passed to a container: remove it/ },
    { name: 'greenlight\'s own settings in the list', env: { GREENLIGHT_SECRETS: 'GREENLIGHT_SECRETS_FILE' }, text: '', hint: /GREENLIGHT_SECRETS_FILE is one of the worker's own/ },
    { name: 'a Docker or cloud credential (any case)', env: { GREENLIGHT_SECRETS: 'aws_secret_access_key' }, text: '', hint: /aws_secret_access_key is one of the worker's own/ },
    { name: 'a credential in the file', env: { GREENLIGHT_SECRETS_FILE: '/s' }, text: 'DOCKER_AUTH_CONFIG=x\n', hint: /GREENLIGHT_SECRETS_FILE \/s, line 1: DOCKER_AUTH_CONFIG is one of the worker's own/ },
    { name: 'a line without "="', env: { GREENLIGHT_SECRETS_FILE: '/s' }, text: 'JWT_SECRET\n', hint: /\/s, line 1: expected NAME=value/ },
    { name: 'a bad name in the list', env: { GREENLIGHT_SECRETS: 'DB-PASSWORD' }, text: '', hint: /"DB-PASSWORD" is not an environment variable name/ },
  ])('refuses to start with $name', ({ env, text, hint }) => {
    const err = thrown(() => secretPolicyFromEnv(env, files(text)));
    expect(err).toBeInstanceOf(GreenlightError);
    expect(err.message).toMatch(hint);
  });

  it.each([0o100644, 0o100604, 0o100666])('refuses a secrets file other users can read (mode %o), naming the chmod', (mode) => {
    const err = thrown(() => secretPolicyFromEnv({ GREENLIGHT_SECRETS_FILE: '/etc/greenlight/secrets' }, files('JWT_SECRET=x', mode)));
    expect(err.message).toBe(`GREENLIGHT_SECRETS_FILE: /etc/greenlight/secrets is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 /etc/greenlight/secrets`);
  });

  it('accepts a file its group may read (mode 640: root:greenlight)', () => {
    expect(secretPolicyFromEnv({ GREENLIGHT_SECRETS_FILE: '/s' }, files('JWT_SECRET=x', 0o100640)).allowed.get('JWT_SECRET')).toBe('x');
  });

  it('names a secrets file it cannot read', () => {
    const missing: SecretFiles = { read: () => '', mode: () => { throw new Error('ENOENT: no such file'); } };
    expect(thrown(() => secretPolicyFromEnv({ GREENLIGHT_SECRETS_FILE: '/nope' }, missing)).message).toBe('GREENLIGHT_SECRETS_FILE: cannot read /nope (ENOENT: no such file): fix the path');
  });
});

describe('secretProblem (what a spec may ask for)', () => {
  const allowed = policy({ JWT_SECRET: JWT, DB_PASSWORD: undefined });

  it.each([
    { name: 'not allowed', secret: 'STRIPE_KEY', problem: 'services.backend.secrets: STRIPE_KEY is not allowed on this worker: add it to GREENLIGHT_SECRETS on the worker (or to its GREENLIGHT_SECRETS_FILE)' },
    { name: 'allowed, not set', secret: 'DB_PASSWORD', problem: "services.backend.secrets: DB_PASSWORD is allowed but not set in the worker's environment: set it where the worker runs" },
    { name: 'a worker credential', secret: 'TEMPORAL_API_KEY', problem: expect.stringMatching(/^services\.backend\.secrets: TEMPORAL_API_KEY is one of the worker's own settings or credentials \(TEMPORAL_\*, GREENLIGHT_\*, DOCKER_\*, AWS_\*, GOOGLE_\*, AZURE_\*, SSH_\*\) and is never given to a container/) },
    { name: 'allowed and set', secret: 'JWT_SECRET', problem: null },
  ])('$name', ({ secret, problem }) => {
    expect(secretProblem(allowed, 'backend', secret)).toEqual(problem);
  });

  it('a worker credential is refused even if a policy were built holding it', () => {
    expect(secretProblem(policy({ TEMPORAL_API_KEY: 'key' }), 'web', 'TEMPORAL_API_KEY')).toMatch(/never given to a container/);
  });

  it('gives the allowed values and every problem at once', () => {
    expect(secretValues(allowed, 'backend', ['JWT_SECRET', 'STRIPE_KEY', 'DB_PASSWORD'])).toEqual({
      values: { JWT_SECRET: JWT },
      problems: [expect.stringContaining('STRIPE_KEY is not allowed'), expect.stringContaining('DB_PASSWORD is allowed but not set')],
    });
  });
});

describe('redactorFor (every secret value out of what leaves the worker)', () => {
  const redact = redactorFor(policy({ JWT_SECRET: JWT, DATABASE_URL: DB, PIN: 'abc', UNSET: undefined }));

  it('replaces every occurrence, naming the secret', () => {
    expect(redact(`JWT_SECRET=${JWT}\nagain: ${JWT}${JWT}`)).toBe('JWT_SECRET=[redacted:JWT_SECRET]\nagain: [redacted:JWT_SECRET][redacted:JWT_SECRET]');
  });

  it('finds a value inside JSON, where its quotes are escaped', () => {
    const printed = JSON.stringify({ env: { DATABASE_URL: DB, JWT_SECRET: JWT } });
    expect(printed).not.toContain(DB); // the quote became \"
    expect(redact(printed)).toBe('{"env":{"DATABASE_URL":"[redacted:DATABASE_URL]","JWT_SECRET":"[redacted:JWT_SECRET]"}}');
  });

  it('finds a URL-encoded value', () => {
    expect(redact(`url=${encodeURIComponent(DB)}`)).toBe('url=[redacted:DATABASE_URL]');
  });

  it('leaves values shorter than 4 characters, and text without secrets, alone', () => {
    expect(redact('abc and a PIN of abc')).toBe('abc and a PIN of abc');
  });

  it('hides a value that contains another one whole (longest first)', () => {
    const r = redactorFor(policy({ SHORT: 'token', LONG: 'token-and-more' }));
    expect(r('x token-and-more y token')).toBe('x [redacted:LONG] y [redacted:SHORT]');
  });

  it("hides each line of a multi-line value, also when a tail starts inside it", () => {
    const key = '-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----';
    const r = redactorFor(policy({ TLS_KEY: key }));
    expect(r(`key:\n${key}\n`)).toBe('key:\n[redacted:TLS_KEY]\n');
    // What `docker logs --tail 2` shows of it: the end of the value only.
    expect(r('hkiG9w0BAQEFAASC\n-----END KEY-----')).toBe('[redacted:TLS_KEY]\n[redacted:TLS_KEY]');
  });

  it('redacts every string of a JSON-like value, and leaves the rest as it is', () => {
    expect(redactDeep({ output: `x ${JWT}`, list: [JWT, 3, null], exitCode: 0 }, redact)).toEqual({ output: 'x [redacted:JWT_SECRET]', list: ['[redacted:JWT_SECRET]', 3, null], exitCode: 0 });
  });
});

describe('redactedTail (a bounded, redacted tail of raw output)', () => {
  const redact = redactorFor(policy({ JWT_SECRET: JWT }));

  it('keeps short output whole', () => {
    expect(redactedTail(`ok\nJWT_SECRET=${JWT}`, redact)).toBe('ok\nJWT_SECRET=[redacted:JWT_SECRET]');
  });

  it(`keeps the last ${TAIL_LINES} lines, saying how much was left out`, () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const tail = redactedTail(lines.join('\n'), redact);
    const kept = lines.slice(-TAIL_LINES).join('\n');
    expect(tail).toBe(`[${lines.join('\n').length - kept.length} earlier characters not kept]\n${kept}`);
  });

  it(`keeps at most ${TAIL_CHARS} characters of a long line`, () => {
    const tail = redactedTail(`start ${'x'.repeat(10_000)}`, redact);
    expect(tail.split('\n')[1]).toBe('x'.repeat(TAIL_CHARS));
    expect(tail.split('\n')[0]).toBe(`[${10_006 - TAIL_CHARS} earlier characters not kept]`);
  });

  it('redacts before it cuts: a value across the cut never shows in part', () => {
    // The value starts 5 characters before the last TAIL_CHARS: cut first, its last 15 would show.
    const output = `${'a'.repeat(100)}${JWT}${'b'.repeat(TAIL_CHARS - JWT.length + 5)}`;
    const tail = redactedTail(output, redact);
    expect(tail).not.toContain(JWT.slice(5));
    expect(tail.length).toBeLessThanOrEqual(TAIL_CHARS + 40);
  });
});

describe('redacting (the activities wrapper)', () => {
  const redact = redactorFor(policy({ JWT_SECRET: JWT }));

  it('redacts results, but not those of the activities that echo their input', async () => {
    const activities = redacting({ run: async () => ({ output: `JWT_SECRET=${JWT}` }), validateSpec: async () => ({ env: { COPY: JWT } }) }, redact, ['validateSpec']);
    expect(await activities.run()).toEqual({ output: 'JWT_SECRET=[redacted:JWT_SECRET]' });
    expect(await activities.validateSpec()).toEqual({ env: { COPY: JWT } });
  });

  it("redacts a failure's message, stack, details and cause, keeping its type", async () => {
    const cause = new Error(`docker said ${JWT}`);
    const failure = ApplicationFailure.create({ type: FAILURE_TYPES.migration, message: `migration printed ${JWT}`, nonRetryable: true, details: [{ output: JWT }], cause });
    const activities = redacting({ migrate: async () => Promise.reject(failure) }, redact);
    const err = (await activities.migrate().catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe(FAILURE_TYPES.migration);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe('migration printed [redacted:JWT_SECRET]');
    expect(JSON.stringify({ stack: err.stack, details: err.details, cause: err.cause?.message, causeStack: err.cause?.stack })).not.toContain(JWT);
    expect(err.details).toEqual([{ output: '[redacted:JWT_SECRET]' }]);
  });
});

describe('the Docker activities with secrets', () => {
  const spec = webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 }, secrets: ['JWT_SECRET'] }, { migrate: { service: 'web', run: ['env'] } });
  const env = Array.from({ length: 40 }, (_, i) => `VAR_${i}=${i}`).concat(`JWT_SECRET=${JWT}`).join('\n');

  /** A Docker host whose one-off containers print `output` and exit with `exitCode`; records what it was asked to run. */
  function fakeHost(output: string, exitCode: number | null) {
    const runs: Array<{ Env?: string[] }> = [];
    const host = { runOneOff: async (options: { Env?: string[] }) => (runs.push(options), { exitCode, output }) };
    return { host: host as unknown as DockerDeps['host'], runs };
  }

  function docker(output: string, exitCode: number | null, secrets = policy({ JWT_SECRET: JWT })) {
    const { host, runs } = fakeHost(output, exitCode);
    return { activities: createDockerActivities({ host, router: {} as DockerDeps['router'], secrets, redact: redactorFor(secrets), addresses: {} as DockerDeps['addresses'], capacityCheck: false }), runs };
  }

  it('the migration gets the secret, and returns a redacted tail of what it printed', async () => {
    const { activities, runs } = docker(env, 0);
    const result = await activities.runMigration(spec, 'd1');
    expect(runs[0]!.Env).toContain(`JWT_SECRET=${JWT}`);
    expect(result.output).not.toContain(JWT);
    expect(result.output).toContain('JWT_SECRET=[redacted:JWT_SECRET]');
    expect(result.output.split('\n')).toHaveLength(TAIL_LINES + 1); // the note, then the last lines
  });

  it("a failed migration's message carries the redacted tail only", async () => {
    const { activities } = docker(env, 3);
    const err = (await activities.runMigration(spec, 'd1').catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(FAILURE_TYPES.migration);
    expect(err.message).not.toContain(JWT);
    expect(err.message).toContain('JWT_SECRET=[redacted:JWT_SECRET]');
    expect(err.message).not.toContain('VAR_0=');
  });

  it('a validation command that prints the secret returns it redacted', async () => {
    const validated = webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 } }, { validate: { commands: [{ name: 'env', service: 'web', run: ['env'] }] } });
    const { activities } = docker(`JWT_SECRET=${JWT}`, 1);
    const err = (await activities.runValidationCommands(validated, 'd1').catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.message).toBe('validation command "env" (env) exited with 1:\nJWT_SECRET=[redacted:JWT_SECRET]');
    expect(JSON.stringify(err.details)).not.toContain(JWT);
  });

  it('a migration asking for a secret the worker does not allow runs nothing', async () => {
    const { activities, runs } = docker(env, 0, policy({}));
    const err = (await activities.runMigration(spec, 'd1').catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(FAILURE_TYPES.preflight);
    expect(err.message).toBe('services.web.secrets: JWT_SECRET is not allowed on this worker: add it to GREENLIGHT_SECRETS on the worker (or to its GREENLIGHT_SECRETS_FILE)');
    expect(runs).toHaveLength(0);
  });

  it('preflight (validate) refuses every secret the worker does not allow or has no value for, with the other problems, before anything runs', async () => {
    // Ports nothing here listens on (reserved for this test, below the ephemeral range): the router-port check probes the host.
    const asking = webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5989, green: 5990 }, secrets: ['JWT_SECRET', 'STRIPE_KEY', 'TEMPORAL_API_KEY'] }, { router: { port: 5991 } });
    const host = { ping: async () => undefined, imageExists: async () => false, inspectOrNull: async () => null, claimName: async () => null, networkOrNull: async () => ({ name: 'greenlight', driver: 'bridge', defaultBridge: false }) } as unknown as DockerDeps['host'];
    const router = { readAppConfig: async () => 'upstream {}', otherAppsPorts: async () => [] } as unknown as DockerDeps['router'];
    const secrets = policy({ JWT_SECRET: undefined });
    const activities = createDockerActivities({ host, router, secrets, redact: redactorFor(secrets), addresses: {} as DockerDeps['addresses'], capacityCheck: false });
    const err = (await activities.preflightDocker(asking, 'green').catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe(FAILURE_TYPES.preflight);
    expect(err.details?.[0]).toEqual([
      "services.web.secrets: JWT_SECRET is allowed but not set in the worker's environment: set it where the worker runs",
      'services.web.secrets: STRIPE_KEY is not allowed on this worker: add it to GREENLIGHT_SECRETS on the worker (or to its GREENLIGHT_SECRETS_FILE)',
      expect.stringMatching(/^services\.web\.secrets: TEMPORAL_API_KEY is one of the worker's own settings or credentials/),
      expect.stringMatching(/^services\.web\.image: image "shop-web:v2" does not exist/),
    ]);
  });
});

describe("the demo's worker allows what the example spec asks for", () => {
  it('scripts/worker.sh sets GREENLIGHT_SECRETS to exactly the secrets of examples/greenlight.yml', () => {
    const spec = parseDeploySpec(parseDeploySpecYaml(readFileSync(join(REPO, 'examples', 'greenlight.yml'), 'utf8'), 'examples/greenlight.yml'));
    const asked = Object.values(spec.services).flatMap((svc) => svc.secrets).sort();
    const line = readFileSync(join(REPO, 'scripts', 'worker.sh'), 'utf8').match(/^GREENLIGHT_SECRETS=(.*)$/m);
    expect(line, 'scripts/worker.sh sets GREENLIGHT_SECRETS').not.toBeNull();
    const allowed = secretPolicyFromEnv({ GREENLIGHT_SECRETS: line![1] });
    expect([...allowed.allowed.keys()].sort()).toEqual(asked);
  });
});

describe('createActivities reads the policy from the worker environment', () => {
  const docker = {} as ConstructorParameters<typeof DockerHost>[0];

  it('refuses to build the activities (the worker does not start) when GREENLIGHT_SECRETS names a worker credential', () => {
    const err = thrown(() => createActivities({ docker, router: {} as NginxRouter, env: { GREENLIGHT_SECRETS: 'JWT_SECRET,TEMPORAL_API_KEY', TEMPORAL_API_KEY: 'key' } }));
    expect(err).toBeInstanceOf(GreenlightError);
    expect(err.message).toMatch(/^GREENLIGHT_SECRETS: TEMPORAL_API_KEY is one of the worker's own/);
  });

  it('hides the allowed values in every activity result, but leaves the checked spec as it came', async () => {
    const router = { readRoute: async () => ({ live: 'blue', backup: null, note: `token ${JWT}` }), withUpstreams() { return this; } } as unknown as NginxRouter;
    const activities = createActivities({ docker, router, env: { GREENLIGHT_SECRETS: 'JWT_SECRET', JWT_SECRET: JWT } });
    expect(await activities.readRoute('shop')).toEqual({ live: 'blue', backup: null, note: 'token [redacted:JWT_SECRET]' });
    const spec = await activities.validateSpec(webSpec('shop', { image: 'shop-web:v2', port: 3000, hostPorts: { blue: 5001, green: 5002 }, env: { COPY: JWT } }));
    expect(spec.services.web!.env.COPY).toBe(JWT);
  });
});
