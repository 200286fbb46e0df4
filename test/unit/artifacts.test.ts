/**
 * The shipped artifacts outside the code: the self-hosted Temporal compose file, the provisioning scripts
 * of the dev server and of the self-hosted server (search attributes, the server release: the same cluster
 * as the compose file) and the example GitHub Actions workflow. Parsed and checked for the structure that matters; the deploy step's script is run
 * with a stand-in `npx` to prove that greenlight's exit code fails the job and lands in the summary.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EXIT } from '../../src/cli/exit-codes';
import { SEARCH_ATTRIBUTES } from '../../src/names';

const REPO = resolve(__dirname, '..', '..');
const COMPOSE_FILE = join(REPO, 'docker-compose.temporal.yml');
const ACTIONS_FILE = join(REPO, 'examples', 'github-actions', 'deploy.yml');
const TEMPORAL_SCRIPT = join(REPO, 'scripts', 'temporal.sh');
const SELFHOSTED_SCRIPT = join(REPO, 'scripts', 'temporal-selfhosted.sh');
const SELFHOSTED_TEST = join(REPO, 'test', 'e2e', 'selfhosted.test.ts');

/** The Temporal server release scripts/temporal-selfhosted.sh pins (its one `TEMPORAL_SERVER_VERSION=`). */
function selfHostedVersion(): string {
  const pins = [...readFileSync(SELFHOSTED_SCRIPT, 'utf8').matchAll(/^TEMPORAL_SERVER_VERSION=(\S+)$/gm)].map((m) => m[1]!);
  expect(pins, 'scripts/temporal-selfhosted.sh pins the server release exactly once').toHaveLength(1);
  return pins[0]!;
}

/**
 * greenlight's search attributes as `temporal operator search-attribute create` spells them, sorted by
 * name: the one source is SEARCH_ATTRIBUTES (src/names.ts); the shell script and the compose file,
 * which cannot import it, must register exactly these.
 */
const CLI_TYPE: Record<string, string> = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime' };
const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
const EXPECTED_SEARCH_ATTRIBUTES = Object.values(SEARCH_ATTRIBUTES)
  .map((key) => ({ name: key.name, type: CLI_TYPE[key.type] ?? `(no CLI name for ${key.type})` }))
  .sort(byName);

type Yaml = Record<string, unknown>;

function load(file: string): Yaml {
  return parse(readFileSync(file, 'utf8')) as Yaml;
}

/** Compose allows `environment` as a map or as a list of KEY=VALUE. */
function envOf(service: Yaml): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries((env ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

function dependsOn(service: Yaml): Record<string, { condition?: string }> {
  const deps = service.depends_on;
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d: string) => [d, {}]));
  return (deps ?? {}) as Record<string, { condition?: string }>;
}

/** The compose CLI on this machine: Debian's docker-compose (v1) or the docker compose plugin (v2). */
function composeCommand(): string[] | null {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  return null;
}
const compose = composeCommand();

describe('docker-compose.temporal.yml', () => {
  const file = load(COMPOSE_FILE);
  const services = file.services as Record<string, Yaml>;

  it('has exactly PostgreSQL, the schema job, the Temporal server, admin tools and the UI, every image pinned', () => {
    expect(Object.keys(services).sort()).toEqual(['postgresql', 'temporal', 'temporal-admin-tools', 'temporal-schema', 'temporal-ui']);
    for (const [name, svc] of Object.entries(services)) {
      expect(svc.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(svc.image, name).not.toMatch(/:latest$/);
    }
    expect(services.postgresql!.image).toBe('postgres:16');
    // The release scripts/temporal-selfhosted.sh builds and the e2e file proves; admin tools (schemas,
    // CLI) of that same release.
    expect(services.temporal!.image).toBe(`temporalio/server:${selfHostedVersion()}`);
    expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${selfHostedVersion()}`);
    expect(services['temporal-admin-tools']!.image).toBe(`temporalio/admin-tools:${selfHostedVersion()}`);
    expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:2\.\d+\.\d+$/);
  });

  it('PostgreSQL keeps its data in a declared volume and has a healthcheck the server waits for', () => {
    const pg = services.postgresql!;
    const volumes = (pg.volumes as string[]).map((v) => v.split(':'));
    expect(volumes).toContainEqual([expect.any(String), '/var/lib/postgresql/data']);
    const named = volumes.find(([, target]) => target === '/var/lib/postgresql/data')![0]!;
    expect(Object.keys(file.volumes as Yaml)).toContain(named);
    expect(JSON.stringify((pg.healthcheck as Yaml).test)).toContain('pg_isready');
    expect(envOf(pg)).toMatchObject({ POSTGRES_USER: 'temporal', POSTGRES_PASSWORD: 'temporal' });

    const schema = services['temporal-schema']!;
    expect(dependsOn(schema).postgresql).toEqual({ condition: 'service_healthy' });
    const schemaScript = [schema.entrypoint, schema.command].flat().filter(Boolean).join('\n');
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d /etc/temporal/schema/postgresql/v12/$$db/versioned']) expect(schemaScript).toContain(step);
    const temporal = services.temporal!;
    expect(dependsOn(temporal)['temporal-schema']).toEqual({ condition: 'service_completed_successfully' });
    expect(envOf(temporal)).toMatchObject({ DB: 'postgres12', DB_PORT: '5432', POSTGRES_SEEDS: 'postgresql', POSTGRES_USER: 'temporal', POSTGRES_PWD: 'temporal' });
  });

  it('publishes the frontend on 7233 (greenlight default TEMPORAL_ADDRESS) and the UI on 8080', () => {
    const ports = (name: string) => (services[name]!.ports as string[]).map(String);
    expect(ports('temporal')).toEqual([expect.stringMatching(/(^|:)7233:7233$/)]);
    expect(ports('temporal-ui')).toEqual([expect.stringMatching(/(^|:)8080:8080$/)]);
    expect(services.postgresql!.ports).toBeUndefined(); // the database stays on the compose network
    expect(envOf(services['temporal-ui']!).TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(dependsOn(services['temporal-ui']!)).toHaveProperty('temporal');
    expect(readFileSync(COMPOSE_FILE, 'utf8')).toContain('TEMPORAL_ADDRESS=127.0.0.1:7233');
  });

  it("admin tools create the namespace and register exactly greenlight's search attributes (src/names.ts), with their types, after waiting for the server", () => {
    const tools = services['temporal-admin-tools']!;
    expect(dependsOn(tools)).toHaveProperty('temporal');
    expect(envOf(tools).TEMPORAL_ADDRESS).toBe('temporal:7233');
    const script = [tools.entrypoint, tools.command].flat().filter(Boolean).join('\n');
    const created = [...script.matchAll(/temporal operator search-attribute create\b[^\n]*?--name (\S+) --type (\S+)/g)].map((m) => ({ name: m[1]!, type: m[2]! }));
    expect(created.sort(byName)).toEqual(EXPECTED_SEARCH_ATTRIBUTES);
    expect(script).toContain('temporal operator namespace create --namespace default');
    // It waits for the server (and the default namespace) before creating anything.
    expect(script.indexOf('until temporal operator')).toBeGreaterThan(-1);
    expect(script.indexOf('until temporal operator')).toBeLessThan(script.indexOf('search-attribute create'));
  });

  it.skipIf(compose === null)(`is valid for ${compose?.join(' ') ?? 'docker-compose'}: config -q exits 0`, () => {
    const [bin, ...args] = compose!;
    const result = spawnSync(bin!, [...args, '-f', COMPOSE_FILE, 'config', '-q'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status, result.stderr).toBe(0);
  });
});

describe.each([
  { script: 'scripts/temporal.sh', file: TEMPORAL_SCRIPT, server: 'the dev server' },
  { script: 'scripts/temporal-selfhosted.sh', file: SELFHOSTED_SCRIPT, server: 'the self-hosted server' },
])('$script', ({ file, server }) => {
  const script = readFileSync(file, 'utf8');

  it(`registers exactly greenlight's search attributes (src/names.ts) on ${server}, with their types`, () => {
    // One loop over NAME=Type pairs feeds the only `search-attribute create` of the script.
    expect(script.match(/search-attribute create/g)).toHaveLength(1);
    const loop = /^for sa in ([^;\n]+); do\n[^\n]*operator search-attribute create [^\n]*--name "\$\{sa%%=\*\}" --type "\$\{sa##\*=\}"\n\s*done$/m.exec(script);
    expect(loop, `the search-attribute loop of ${file} changed shape: update this test`).not.toBeNull();
    const registered = loop![1]!.trim().split(/\s+/).map((pair) => ({ name: pair.slice(0, pair.indexOf('=')), type: pair.slice(pair.indexOf('=') + 1) }));
    expect(registered.sort(byName)).toEqual(EXPECTED_SEARCH_ATTRIBUTES);
  });
});

describe('scripts/temporal-selfhosted.sh', () => {
  it('builds the release it pins, and the e2e file proves that same release', () => {
    const script = readFileSync(SELFHOSTED_SCRIPT, 'utf8');
    const version = selfHostedVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    // Every go install takes the version from the pin, none spells it again.
    expect(script.match(/go\.temporal\.io\/server\/cmd\/\S+@v\$TEMPORAL_SERVER_VERSION/g)).toHaveLength(2);
    expect(script.replace(/^TEMPORAL_SERVER_VERSION=.*$/m, '')).not.toContain(version);
    expect(readFileSync(SELFHOSTED_TEST, 'utf8')).toContain(`const SERVER_VERSION = '${version}';`);
  });
});

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  env?: Record<string, string>;
  'continue-on-error'?: unknown;
}
interface Job {
  if?: string;
  'runs-on': string | string[];
  'continue-on-error'?: unknown;
  steps: Step[];
}

describe('examples/github-actions/deploy.yml', () => {
  const text = readFileSync(ACTIONS_FILE, 'utf8');
  const workflow = load(ACTIONS_FILE);
  const jobs = workflow.jobs as Record<string, Job>;
  const allSteps = Object.values(jobs).flatMap((job) => job.steps);
  const deployStep = allSteps.find((s) => /\bgreenlight deploy\b/.test(s.run ?? ''));
  const work = mkdtempSync(join(tmpdir(), 'greenlight-actions-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('deploys on a push to main and rolls back on a manual dispatch with a required reason', () => {
    // `on` stays a string key: the yaml package parses YAML 1.2 (no `on: true` surprise).
    const on = workflow.on as Yaml;
    expect(Object.keys(on).sort()).toEqual(['push', 'workflow_dispatch']);
    expect(on.push).toEqual({ branches: ['main'] });
    expect((on.workflow_dispatch as { inputs: Record<string, Yaml> }).inputs.reason).toMatchObject({ required: true });
    expect(jobs.deploy!.if).toBe("github.event_name == 'push'");
    expect(jobs.rollback!.if).toBe("github.event_name == 'workflow_dispatch'");
    const rollback = jobs.rollback!.steps.find((s) => /\bgreenlight rollback shop --reason\b/.test(s.run ?? ''));
    expect(rollback?.env?.REASON).toBe('${{ inputs.reason }}');
  });

  it('runs on the self-hosted Docker host: checkout, docker build of the commit, then greenlight deploy with --image', () => {
    const job = jobs.deploy!;
    expect([job['runs-on']].flat()).toContain('self-hosted');
    const runs = job.steps.map((s) => s.uses ?? s.run ?? '');
    const checkout = runs.findIndex((r) => r.startsWith('actions/checkout@'));
    const build = runs.findIndex((r) => r.includes('docker build -t shop-backend:${{ github.sha }}'));
    const deploy = job.steps.indexOf(deployStep!);
    expect(checkout).toBeGreaterThanOrEqual(0);
    expect(build).toBeGreaterThan(checkout);
    expect(deploy).toBeGreaterThan(build);
    expect(deployStep!.run).toMatch(/npx greenlight deploy -f greenlight\.yml/);
    expect(deployStep!.run).toContain('--image backend=shop-backend:${{ github.sha }}');
    expect(deployStep!.run).toContain('--requested-by "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"');
    expect(deployStep!.run).toContain('--json');
  });

  it('takes the Temporal connection from secrets and variables', () => {
    const env = workflow.env as Record<string, string>;
    expect(env.TEMPORAL_ADDRESS).toMatch(/\$\{\{\s*vars\.TEMPORAL_ADDRESS\b/);
    expect(env.TEMPORAL_NAMESPACE).toMatch(/\$\{\{\s*vars\.TEMPORAL_NAMESPACE\b/);
    expect(env.TEMPORAL_API_KEY).toBe('${{ secrets.TEMPORAL_API_KEY }}');
  });

  it('never ignores a failure: no continue-on-error, no `|| true`, no user input inlined into a script', () => {
    for (const [name, job] of Object.entries(jobs)) {
      expect(job['continue-on-error'], name).toBeUndefined();
      for (const step of job.steps) {
        expect(step['continue-on-error'], `${name}: ${step.name}`).toBeUndefined();
        expect(step.run ?? '').not.toMatch(/\|\|\s*(true|:)\b/);
        expect(step.run ?? '').not.toMatch(/\$\{\{\s*(inputs\.|github\.event\.|github\.head_ref)/);
      }
    }
    expect(text).not.toMatch(/continue-on-error/);
  });

  it('documents every exit code of greenlight in its comments', () => {
    for (const code of Object.values(EXIT)) expect(text).toMatch(new RegExp(`^#\\s+${code}\\s+\\S`, 'm'));
  });

  /** Runs the deploy step's script as Actions would (bash -e -o pipefail) with `npx` replaced by a stand-in. */
  function runDeployStep(exitCode: number, json: string | null): { status: number | null; summary: string; npxArgs: string; stdout: string } {
    const values: Record<string, string> = {
      'github.sha': '0123abcd',
      'github.server_url': 'https://github.example',
      'github.repository': 'acme/shop',
      'github.run_id': '42',
    };
    const script = deployStep!.run!.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
      if (!(expr in values)) throw new Error(`the deploy step inlines an expression this test does not know: ${expr}`);
      return values[expr]!;
    });
    const dir = mkdtempSync(join(work, 'run-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'npx'), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "${dir}/npx-args"\n${json === null ? '' : `printf '%s\\n' '${json}'\n`}echo "greenlight: stand-in stderr" >&2\nexit ${exitCode}\n`);
    chmodSync(join(bin, 'npx'), 0o755);
    writeFileSync(join(dir, 'step.sh'), script);
    const summaryFile = join(dir, 'summary.md');
    writeFileSync(summaryFile, '');
    const result = spawnSync('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', join(dir, 'step.sh')], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, RUNNER_TEMP: dir, GITHUB_STEP_SUMMARY: summaryFile },
    });
    return { status: result.status, summary: readFileSync(summaryFile, 'utf8'), npxArgs: readFileSync(join(dir, 'npx-args'), 'utf8'), stdout: result.stdout };
  }

  it.each([
    [EXIT.ok, 'succeeded'],
    [EXIT.rolledBack, 'rolled back'],
    [EXIT.refused, 'refused'],
    [EXIT.compensationFailed, 'COMPENSATION FAILED'],
    [EXIT.outcomeUnknown, 'OUTCOME UNKNOWN'],
    [EXIT.unexpected, 'unexpected error'],
  ])('the deploy step exits %i like greenlight and writes the JSON outcome to the job summary (%s)', (code, meaning) => {
    const json = JSON.stringify({ exitCode: code, message: `stand-in ${code}`, status: { app: 'shop' } });
    const run = runDeployStep(code, json);
    expect(run.status).toBe(code);
    expect(run.summary).toContain(`### greenlight deploy: exit ${code} (${meaning}`);
    expect(run.summary).toContain('```json\n' + json + '\n');
    expect(run.stdout).toContain(json);
    expect(run.npxArgs.trim().split('\n')).toEqual([
      'greenlight', 'deploy', '-f', 'greenlight.yml',
      '--image', 'backend=shop-backend:0123abcd',
      '--requested-by', 'https://github.example/acme/shop/actions/runs/42',
      '--json',
    ]);
  });

  it('a failure before any JSON (exit 2, message on stderr) still fails the step and says so in the summary', () => {
    const run = runDeployStep(EXIT.invalid, null);
    expect(run.status).toBe(EXIT.invalid);
    expect(run.summary).toContain('### greenlight deploy: exit 2 (invalid spec or validation failed');
    expect(run.summary).toContain("No JSON outcome: see the step's log");
  });
});
