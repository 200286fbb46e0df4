import { describe, expect, it } from 'vitest';
import { parseDeploySpec, parseDeploySpecYaml, withImageOverrides } from '../../src/config/load';
import { deploySpecJsonSchema, type DeploySpec } from '../../src/config/schema';
import { ConfigError } from '../../src/errors';
import { shopSpec } from '../../harness/specs';

type Json = Record<string, unknown>;

/** A valid spec with two services; each bad-input case edits a fresh copy of it. */
const validSpec = (): Json => shopSpec();

const REMOVE = Symbol('remove');
type Edit = [path: string, value: unknown];

/** Returns a copy of `spec` with each dotted path set to its value (or deleted, for REMOVE). */
function edited(spec: Json, edits: Edit[]): Json {
  const copy = structuredClone(spec);
  for (const [dotted, value] of edits) {
    const keys = dotted.split('.');
    const last = keys.pop()!;
    let node = copy;
    for (const key of keys) {
      node[key] ??= {};
      node = node[key] as Json;
    }
    if (value === REMOVE) delete node[last];
    else node[last] = value;
  }
  return copy;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** The issues that start with `path: ` (the exact field path, then a colon and a space). */
function issuesAt(error: ConfigError, path: string): string[] {
  return error.issues.filter((issue) => issue.startsWith(`${path}: `));
}

interface BadCase {
  name: string;
  edits: Edit[];
  /** Exact field path the issue must start with. */
  path: string;
  /** A substring of the message that tells the user how to fix it. */
  hint: string;
}

const PORT_HINT = 'must be a port number between 1 and 65535';
const DURATION_HINT = 'must be a duration such as "500ms", "5s", "2m", "1h" or a whole number of milliseconds';
const NAME_HINT = 'must be 2-32 lowercase letters, digits or dashes, starting with a letter';
const UNKNOWN_KEY_HINT = 'unknown key: remove it or check its spelling';
const NETWORK_HINT = 'must name a user-defined bridge network, e.g. "greenlight" (docker network create greenlight)';
const MEMORY_HINT = 'must be an amount of memory such as "256m" or "1g"';
const CPUS_HINT = "must be a number of CPUs from 0.01 to 1024, such as 0.5 or 2 (Docker's --cpus)";
const DURATION_MAX_HINT = 'must be at most 24 days ("576h", 2073600000 ms): longer time limits overflow the timers that enforce them';
const reserved = (key: string) => `"${key}" is a reserved JavaScript property name (like constructor, toString, __proto__): pick another name`;
/** A third service that clashes with nothing in the base spec. */
const otherService = () => ({ image: 'x:1', port: 1, hostPorts: { blue: 6001, green: 6002 }, route: '/other' });

const badCases: BadCase[] = [
  { name: 'missing app', edits: [['app', REMOVE]], path: 'app', hint: 'is required' },
  { name: 'app with uppercase and punctuation', edits: [['app', 'Shop!']], path: 'app', hint: NAME_HINT },
  { name: 'app of one letter', edits: [['app', 's']], path: 'app', hint: NAME_HINT },
  { name: 'app ending in a dash', edits: [['app', 'shop-']], path: 'app', hint: NAME_HINT },
  { name: 'unknown top-level key', edits: [['colour', 'blue']], path: 'colour', hint: UNKNOWN_KEY_HINT },
  { name: 'unknown key in a service', edits: [['services.backend.healthz', {}]], path: 'services.backend.healthz', hint: UNKNOWN_KEY_HINT },
  { name: 'unknown key in health', edits: [['health.intervl', '1s']], path: 'health.intervl', hint: UNKNOWN_KEY_HINT },
  { name: 'unknown key in hostPorts', edits: [['services.backend.hostPorts.red', 5009]], path: 'services.backend.hostPorts.red', hint: UNKNOWN_KEY_HINT },
  { name: 'missing services', edits: [['services', REMOVE]], path: 'services', hint: 'is required' },
  { name: 'empty services', edits: [['services', {}]], path: 'services', hint: 'needs at least one service' },
  { name: 'missing image', edits: [['services.backend.image', REMOVE]], path: 'services.backend.image', hint: 'is required: the image to deploy, e.g. "shop-backend:v2" (override with --image SERVICE=IMAGE)' },
  { name: 'empty image', edits: [['services.backend.image', '']], path: 'services.backend.image', hint: 'must not be empty' },
  // Without a port the service would be a worker: its hostPorts and route say what is missing.
  { name: 'missing port', edits: [['services.backend.port', REMOVE]], path: 'services.backend.hostPorts', hint: 'needs `port`: a service without a port is a worker' },
  { name: 'port without hostPorts', edits: [['services.backend.hostPorts', REMOVE]], path: 'services.backend.hostPorts', hint: 'is required with `port`' },
  { name: 'overlap false on a routed service', edits: [['services.backend.overlap', false]], path: 'services.backend.overlap', hint: 'false is for workers only' },
  { name: 'worker health type on a routed service', edits: [['services.backend.health', { type: 'running' }]], path: 'services.backend.health.type', hint: 'running is for workers' },
  { name: 'stopTimeout not a duration', edits: [['services.backend.stopTimeout', 'soon']], path: 'services.backend.stopTimeout', hint: 'must be a duration' },
  { name: 'port above 65535', edits: [['services.backend.port', 70000]], path: 'services.backend.port', hint: PORT_HINT },
  { name: 'port 0', edits: [['services.backend.port', 0]], path: 'services.backend.port', hint: PORT_HINT },
  { name: 'host port out of range', edits: [['services.frontend.hostPorts.green', 65536]], path: 'services.frontend.hostPorts.green', hint: PORT_HINT },
  { name: 'router port out of range', edits: [['router.port', -1]], path: 'router.port', hint: PORT_HINT },
  { name: 'duration with a space and unknown unit', edits: [['health.interval', '5 sec']], path: 'health.interval', hint: DURATION_HINT },
  { name: 'duration with a unit "d"', edits: [['promotion.timeout', '1d']], path: 'promotion.timeout', hint: DURATION_HINT },
  { name: 'negative duration', edits: [['verify.window', -1]], path: 'verify.window', hint: DURATION_HINT },
  { name: 'fractional milliseconds', edits: [['cleanup.drain', 1.5]], path: 'cleanup.drain', hint: DURATION_HINT },
  {
    name: 'host port shared by two services',
    edits: [['services.frontend.hostPorts.blue', 5001]],
    path: 'services.frontend.hostPorts.blue',
    hint: 'port 5001 is already used by services.backend.hostPorts.blue: give every service and color its own host port',
  },
  {
    name: 'host port shared by both colors of one service',
    edits: [['services.backend.hostPorts.green', 5001]],
    path: 'services.backend.hostPorts.green',
    hint: 'port 5001 is already used by services.backend.hostPorts.blue',
  },
  {
    name: 'host port equal to the default router port',
    edits: [['services.backend.hostPorts.green', 4001]],
    path: 'services.backend.hostPorts.green',
    hint: "port 4001 is the router's public port (router.port): pick another host port",
  },
  {
    name: 'host port equal to a custom router port',
    edits: [['router.port', 8080], ['services.frontend.hostPorts.blue', 8080]],
    path: 'services.frontend.hostPorts.blue',
    hint: "port 8080 is the router's public port (router.port)",
  },
  {
    name: 'duplicate route',
    edits: [['services.frontend.route', '/api']],
    path: 'services.frontend.route',
    hint: 'route "/api" is already routed to service "backend": give each service its own path prefix',
  },
  {
    name: 'duplicate default route',
    edits: [['services.backend.route', REMOVE]],
    path: 'services.frontend.route',
    hint: 'route "/" is already routed to service "backend"',
  },
  { name: 'route not starting with "/"', edits: [['services.backend.route', 'api']], path: 'services.backend.route', hint: 'must be a URL path starting with "/"' },
  {
    name: 'validation command naming an unknown service',
    edits: [['validate.commands', [{ name: 'unit', service: 'web', run: ['npm', 'test'] }]]],
    path: 'validate.commands.0.service',
    hint: 'unknown service "web": use one of backend, frontend',
  },
  {
    name: 'migrate step naming an unknown service',
    edits: [['migrate', { service: 'db', run: ['node', 'migrate.js'] }]],
    path: 'migrate.service',
    hint: 'unknown service "db": use one of backend, frontend',
  },
  { name: 'migrate step with an empty run', edits: [['migrate', { service: 'backend', run: [] }]], path: 'migrate.run', hint: 'must not be empty: the command and its arguments' },
  {
    name: 'validation command with an empty run',
    edits: [['validate.commands', [{ name: 'unit', service: 'backend', run: [] }]]],
    path: 'validate.commands.0.run',
    hint: 'must not be empty: the command and its arguments, e.g. ["npm", "test"]',
  },
  {
    name: 'health.timeout > health.deadline',
    edits: [['health', { timeout: '2m', deadline: '1m' }]],
    path: 'health.timeout',
    hint: 'must not exceed health.deadline',
  },
  {
    name: 'default health.timeout (2s) > a short health.deadline',
    edits: [['health.deadline', '1s']],
    path: 'health.timeout',
    hint: 'must not exceed health.deadline',
  },
  { name: 'bad secret name', edits: [['services.backend.secrets', ['DB-PASSWORD']]], path: 'services.backend.secrets.0', hint: 'must be an environment variable name such as DB_PASSWORD' },
  { name: 'empty health endpoints', edits: [['services.backend.health.endpoints', []]], path: 'services.backend.health.endpoints', hint: 'needs at least one endpoint, e.g. ["/api/health"]' },
  // Wrong types: the schema's hint is kept (zod is asked to report the input, see load.ts).
  { name: 'non-integer port', edits: [['services.backend.port', 4000.5]], path: 'services.backend.port', hint: 'must be a whole port number between 1 and 65535' },
  { name: 'port given as a string', edits: [['services.backend.port', '4000']], path: 'services.backend.port', hint: PORT_HINT },
  { name: 'non-string env value', edits: [['services.backend.env', { PORT: 4000 }]], path: 'services.backend.env.PORT', hint: 'must be a string (quote numbers in YAML)' },
  { name: 'bad env var name', edits: [['services.backend.env', { 'BAD-NAME': 'x' }]], path: 'services.backend.env.BAD-NAME', hint: 'must be an environment variable name such as DATABASE_URL' },
  { name: 'app given as a number', edits: [['app', 42]], path: 'app', hint: 'must be a string: the app name' },
  { name: 'bad service name', edits: [['services.Backend', { image: 'x:1', port: 1, hostPorts: { blue: 6001, green: 6002 }, route: '/b' }]], path: 'services.Backend', hint: NAME_HINT },
  // Enums list what is allowed.
  { name: 'maxErrorRate > 1', edits: [['verify.maxErrorRate', 1.5]], path: 'verify.maxErrorRate', hint: 'must be a share between 0 and 1 (0.01 = 1 %)' },
  { name: 'negative maxErrorRate', edits: [['verify.maxErrorRate', -0.1]], path: 'verify.maxErrorRate', hint: 'must be a share between 0 and 1 (0.01 = 1 %)' },
  { name: 'bad cleanup.previous', edits: [['cleanup.previous', 'delete']], path: 'cleanup.previous', hint: 'expected one of "stop"|"remove"|"keep"' },
  // Networks: Docker's own modes bypass the loopback-only host ports or share another namespace.
  ...['host', 'none', 'bridge', 'default'].map((network) => ({
    name: `network "${network}"`,
    edits: [['network', network]] as Edit[],
    path: 'network',
    hint: `${NETWORK_HINT}: "${network}" is a Docker network mode`,
  })),
  { name: 'network "container:<name>"', edits: [['network', 'container:shop-db']], path: 'network', hint: NETWORK_HINT },
  { name: 'network with a slash', edits: [['network', 'a/b']], path: 'network', hint: NETWORK_HINT },
  { name: 'empty network', edits: [['network', '']], path: 'network', hint: NETWORK_HINT },
  { name: 'network given as a number', edits: [['network', 7]], path: 'network', hint: NETWORK_HINT },
  // Limits.
  { name: 'memory without a unit', edits: [['services.backend.limits', { memory: '512' }]], path: 'services.backend.limits.memory', hint: MEMORY_HINT },
  { name: 'memory below Docker\'s 6m', edits: [['services.backend.limits', { memory: '5m' }]], path: 'services.backend.limits.memory', hint: MEMORY_HINT },
  { name: 'memory above 1024g', edits: [['services.backend.limits', { memory: '2048g' }]], path: 'services.backend.limits.memory', hint: MEMORY_HINT },
  { name: 'pids of 0', edits: [['services.backend.limits', { pids: 0 }]], path: 'services.backend.limits.pids', hint: 'must be a whole number of processes from 16 to 65536' },
  { name: 'unknown key in limits', edits: [['services.backend.limits', { swap: '1g' }]], path: 'services.backend.limits.swap', hint: UNKNOWN_KEY_HINT },
  { name: 'cpu instead of cpus', edits: [['services.backend.limits', { cpu: 2 }]], path: 'services.backend.limits.cpu', hint: 'unknown key: the CPU limit is `cpus` (e.g. cpus: 0.5): rename it' },
  { name: 'resources instead of limits', edits: [['services.backend.resources', { memory: '1g' }]], path: 'services.backend.resources', hint: 'unknown key: resource limits are `limits: { memory, cpus, pids }` here: rename it to limits' },
  { name: 'cpus of 0', edits: [['services.backend.limits', { cpus: 0 }]], path: 'services.backend.limits.cpus', hint: CPUS_HINT },
  { name: 'cpus below 0.01', edits: [['services.backend.limits', { cpus: 0.005 }]], path: 'services.backend.limits.cpus', hint: CPUS_HINT },
  { name: 'cpus above 1024', edits: [['services.backend.limits', { cpus: 2048 }]], path: 'services.backend.limits.cpus', hint: CPUS_HINT },
  { name: 'cpus as a string', edits: [['services.backend.limits', { cpus: '0.5' }]], path: 'services.backend.limits.cpus', hint: CPUS_HINT },
  { name: 'noNewPrivileges as a string', edits: [['services.backend.noNewPrivileges', 'no']], path: 'services.backend.noNewPrivileges', hint: 'must be true or false' },
  // Durations: timers take at most 2^31-1 ms; 0 is refused where it cannot mean "none".
  { name: 'duration that overflows', edits: [['timeout', '9999999999999999999999h']], path: 'timeout', hint: DURATION_MAX_HINT },
  { name: 'duration of 25 days', edits: [['promotion.timeout', '600h']], path: 'promotion.timeout', hint: DURATION_MAX_HINT },
  { name: 'duration in ms above 24 days', edits: [['migrate', { service: 'backend', run: ['m'], timeout: 2 ** 31 }]], path: 'migrate.timeout', hint: DURATION_MAX_HINT },
  { name: 'unsafe integer duration', edits: [['health.deadline', 2 ** 60]], path: 'health.deadline', hint: DURATION_HINT },
  ...(['timeout', 'health.timeout', 'health.interval', 'health.deadline', 'verify.interval', 'promotion.timeout', 'fleet.hostTimeout'] as const).map((field) => ({
    name: `${field} of 0`,
    edits: [[field, field === 'health.deadline' ? '0s' : 0], ...(field.startsWith('fleet') ? [['hosts', [{ name: 'h1' }]]] : [])] as Edit[],
    path: field,
    hint: 'must be more than 0',
  })),
  { name: 'validation command timeout of 0', edits: [['validate.commands', [{ name: 'unit', service: 'backend', run: ['x'], timeout: '0ms' }]]], path: 'validate.commands.0.timeout', hint: 'must be more than 0' },
  { name: 'migrate timeout of 0', edits: [['migrate', { service: 'backend', run: ['x'], timeout: 0 }]], path: 'migrate.timeout', hint: 'must be more than 0' },
  // Prototype names: `in` would find them on every object, and __proto__ is dropped on the way.
  { name: 'service named constructor', edits: [['services.constructor', otherService()]], path: 'services.constructor', hint: reserved('constructor') },
  { name: 'env named toString', edits: [['services.backend.env', { toString: 'x' }]], path: 'services.backend.env.toString', hint: reserved('toString') },
  { name: 'env named __proto__', edits: [['services.backend.env', JSON.parse('{"__proto__": "x"}')]], path: 'services.backend.env.__proto__', hint: reserved('__proto__') },
  { name: 'secret named hasOwnProperty', edits: [['services.backend.secrets', ['hasOwnProperty']]], path: 'services.backend.secrets.0', hint: reserved('hasOwnProperty') },
  { name: 'host port override of service valueOf', edits: [['hosts', [{ name: 'h1', hostPorts: { valueOf: { blue: 7001, green: 7002 } } }]]], path: 'hosts.0.hostPorts.valueOf', hint: reserved('valueOf') },
  {
    name: 'validation command naming service toString',
    edits: [['validate.commands', [{ name: 'unit', service: 'toString', run: ['npm', 'test'] }]]],
    path: 'validate.commands.0.service',
    hint: 'unknown service "toString": use one of backend, frontend',
  },
  { name: 'migrate naming service constructor', edits: [['migrate', { service: 'constructor', run: ['m'] }]], path: 'migrate.service', hint: 'unknown service "constructor"' },
  // Routes and paths: each names one path, on a segment boundary.
  { name: 'route with a ".." segment', edits: [['services.backend.route', '/../etc']], path: 'services.backend.route', hint: 'must not have "." or ".." segments' },
  { name: 'route with a "." segment', edits: [['services.backend.route', '/api/./v1']], path: 'services.backend.route', hint: 'must not have "." or ".." segments' },
  { name: 'route with "//"', edits: [['services.backend.route', '/api//v1']], path: 'services.backend.route', hint: 'must not have an empty segment ("//")' },
  { name: 'route "//"', edits: [['services.backend.route', '//']], path: 'services.backend.route', hint: 'must not have an empty segment ("//")' },
  {
    name: 'route "/api/" beside "/api"',
    edits: [['services.frontend.route', '/api/']],
    path: 'services.frontend.route',
    hint: 'route "/api/" is already routed to service "backend" ("/api", the same prefix): give each service its own path prefix',
  },
  ...['/health', '/health/', '/health/blue/web', '/.greenlight', '/.greenlight/structure'].map((route) => ({
    name: `route "${route}" (the router's own)`,
    edits: [['services.backend.route', route]] as Edit[],
    path: 'services.backend.route',
    hint: `"${route}" is the router's own: nginx answers /health itself`,
  })),
  { name: 'health endpoint with ".."', edits: [['services.backend.health.endpoints', ['/api/../health']]], path: 'services.backend.health.endpoints.0', hint: 'must not have "." or ".." segments' },
  { name: 'verify path with "//"', edits: [['services.backend.verifyPaths', ['//items']]], path: 'services.backend.verifyPaths.0', hint: 'must not have an empty segment' },
];

describe('parseDeploySpec: bad input', () => {
  it('accepts the base spec the bad cases start from', () => {
    expect(() => parseDeploySpec(validSpec())).not.toThrow();
  });

  it.each(badCases)('$name -> $path', ({ edits, path, hint }) => {
    const error = configError(() => parseDeploySpec(edited(validSpec(), edits)));
    expect(error.name).toBe('ConfigError');
    expect(issuesAt(error, path)).toEqual([expect.stringContaining(hint)]);
    expect(error.message).toContain(`  - ${path}: `);
  });

  it('reports every independent error at once', () => {
    const spec = edited(validSpec(), [
      ['app', REMOVE],
      ['extra', true],
      ['services.backend.port', 70000],
    ]);
    const error = configError(() => parseDeploySpec(spec));
    expect(error.issues.length).toBeGreaterThanOrEqual(3);
    expect(error.issues).toEqual(
      expect.arrayContaining([
        'app: is required (must be a string: the app name)',
        'extra: unknown key: remove it or check its spelling',
        `services.backend.port: ${PORT_HINT}`,
      ]),
    );
  });

  it('names every unknown key of one object', () => {
    const error = configError(() => parseDeploySpec(edited(validSpec(), [['colour', 1], ['region', 'eu']])));
    expect(error.issues).toEqual(['colour: unknown key: remove it or check its spelling', 'region: unknown key: remove it or check its spelling']);
  });

  it.each([null, undefined, 'app: shop', [], 42])('rejects a spec that is not an object (%j)', (input) => {
    const error = configError(() => parseDeploySpec(input));
    expect(error.issues).toEqual([expect.stringMatching(/^\(spec\): /)]);
  });
});

describe('parseDeploySpec: defaults', () => {
  it('fills in every default', () => {
    const spec = parseDeploySpec({
      app: 'shop',
      services: { web: { image: 'web:1', port: 3000, hostPorts: { blue: 5001, green: 5002 } } },
    });
    const expected: DeploySpec = {
      app: 'shop',
      network: 'greenlight',
      router: { port: 4001 },
      services: {
        web: {
          image: 'web:1',
          port: 3000,
          hostPorts: { blue: 5001, green: 5002 },
          route: '/',
          env: {},
          secrets: [],
          health: { endpoints: ['/health'], type: 'http', runningFor: 10_000 },
          verifyPaths: [],
          readTimeout: 60_000,
          limits: { memory: 512 * 1024 ** 2, pids: 512 },
          noNewPrivileges: true,
          overlap: true,
          stopTimeout: 10_000,
        },
      },
      health: { interval: 500, timeout: 2000, successes: 3, deadline: 60_000 },
      verify: { window: 30_000, interval: 250, maxErrorRate: 0.01, maxLatencyIncreaseMs: 200, maxConsecutiveHealthFailures: 3, minSamples: 20, minRequests: 20 },
      validate: { commands: [] },
      promotion: { manual: false, timeout: 3_600_000 },
      cleanup: { previous: 'stop', drain: 30_000 },
      timeout: 3_600_000,
    };
    expect(spec).toEqual(expected);
  });

  it('defaults the timeout of a validation command to 10m', () => {
    const spec = parseDeploySpec(edited(validSpec(), [['validate.commands', [{ name: 'unit', service: 'backend', run: ['npm', 'test'] }]]]));
    expect(spec.validate.commands).toEqual([{ name: 'unit', service: 'backend', run: ['npm', 'test'], timeout: 600_000 }]);
  });

  it.each([
    ['2m', 120_000],
    ['500ms', 500],
    ['5s', 5000],
    ['1h', 3_600_000],
    ['0s', 0],
    [750, 750],
  ] as [string | number, number][])('parses the duration %j to %d ms', (input, ms) => {
    expect(parseDeploySpec(edited(validSpec(), [['verify.window', input]])).verify.window).toBe(ms);
  });

  it.each([
    ['verify.window', 0],
    ['cleanup.drain', 0],
    ['timeout', '576h'],
    ['promotion.timeout', 2_073_600_000],
  ] as [string, string | number][])('accepts %s = %j (0 means what it says; 24 days is the most)', (field, value) => {
    const spec = parseDeploySpec(edited(validSpec(), [[field, value]])) as unknown as Json;
    const [section, key] = field.split('.');
    const parsed = key ? (spec[section!] as Json)[key] : spec[section!];
    expect(parsed).toBe(typeof value === 'number' ? value : 2_073_600_000);
  });

  it.each([
    ['6m', 6 * 1024 ** 2],
    ['8192k', 8192 * 1024],
    ['1g', 1024 ** 3],
    [1024 ** 3, 1024 ** 3],
  ] as [string | number, number][])('parses the memory limit %j to %d bytes', (memory, bytes) => {
    const spec = parseDeploySpec(edited(validSpec(), [['services.backend.limits', { memory, pids: 64 }], ['services.backend.noNewPrivileges', false]]));
    expect(spec.services.backend!.limits).toEqual({ memory: bytes, pids: 64 });
    expect(spec.services.backend!.noNewPrivileges).toBe(false);
  });

  it.each([0.01, 0.5, 2, 1024])('accepts limits.cpus %j, and no CPU limit when it is left out', (cpus) => {
    expect(parseDeploySpec(edited(validSpec(), [['services.backend.limits', { cpus }]])).services.backend!.limits).toEqual({ memory: 512 * 1024 ** 2, pids: 512, cpus });
    expect(parseDeploySpec(validSpec()).services.backend!.limits).not.toHaveProperty('cpus');
  });

  it('keeps values that are given instead of the defaults', () => {
    const spec = parseDeploySpec(
      edited(validSpec(), [
        ['router.port', 8080],
        ['cleanup.previous', 'remove'],
        ['verify.maxErrorRate', 0],
        ['health.successes', 1],
      ]),
    );
    expect(spec.router.port).toBe(8080);
    expect(spec.cleanup.previous).toBe('remove');
    expect(spec.verify.maxErrorRate).toBe(0);
    expect(spec.health.successes).toBe(1);
  });

  it('is idempotent: a parsed spec parses to itself (the worker re-validates the workflow input)', () => {
    const once = parseDeploySpec(validSpec());
    expect(parseDeploySpec(structuredClone(once))).toEqual(once);
  });
});

describe('withImageOverrides', () => {
  it('returns the raw spec unchanged when there are no overrides', () => {
    const raw = validSpec();
    expect(withImageOverrides(raw, {})).toBe(raw);
  });

  it('replaces the image of the named service only, without mutating the input', () => {
    const raw = validSpec();
    const before = structuredClone(raw);
    const overridden = withImageOverrides(raw, { backend: 'shop-backend:v3' });
    expect(raw).toEqual(before);
    expect(overridden).toEqual(edited(before, [['services.backend.image', 'shop-backend:v3']]));
    const spec = parseDeploySpec(overridden);
    expect(spec.services.backend!.image).toBe('shop-backend:v3');
    expect(spec.services.frontend!.image).toBe('shop-frontend:v2');
  });

  it('supplies an image the spec leaves out', () => {
    const raw = edited(validSpec(), [['services.backend.image', REMOVE]]);
    expect(parseDeploySpec(withImageOverrides(raw, { backend: 'shop-backend:v9' })).services.backend!.image).toBe('shop-backend:v9');
  });

  it('rejects an unknown service with a ConfigError naming --image', () => {
    const error = configError(() => withImageOverrides(validSpec(), { web: 'web:2', backend: 'b:2' }));
    expect(error.issues).toEqual(['--image web=...: no service "web" in the spec: use one of backend, frontend']);
  });

  it.each(['constructor', 'toString'])('rejects --image %s=... (a prototype name is no service of the spec)', (name) => {
    const error = configError(() => withImageOverrides(validSpec(), { [name]: 'x:1' }));
    expect(error.issues).toEqual([`--image ${name}=...: no service "${name}" in the spec: use one of backend, frontend`]);
  });

  it('says "(none)" when the spec has no services', () => {
    const error = configError(() => withImageOverrides({ app: 'shop' }, { web: 'web:2' }));
    expect(error.issues).toEqual(['--image web=...: no service "web" in the spec: use one of (none)']);
  });
});

describe('parseDeploySpecYaml', () => {
  it('parses YAML to plain data', () => {
    expect(parseDeploySpecYaml('app: shop\nrouter: { port: 4001 }\n')).toEqual({ app: 'shop', router: { port: 4001 } });
  });

  it('reports a YAML syntax error with the source name', () => {
    const error = configError(() => parseDeploySpecYaml('app: [shop\nservices: {}\n', 'greenlight.yml'));
    expect(error.issues.length).toBeGreaterThanOrEqual(1);
    for (const issue of error.issues) expect(issue).toMatch(/^greenlight\.yml: YAML syntax error: /);
    expect(error.issues.every((issue) => !issue.includes('\n'))).toBe(true);
  });

  it('reports a YAML alias bomb as a ConfigError, not a ReferenceError', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [from, to] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e']]) levels.push(`${to}: &${to} [${Array(9).fill(`*${from}`).join(', ')}]`);
    const error = configError(() => parseDeploySpecYaml(`${levels.join('\n')}\n`, 'bomb.yml'));
    expect(error.issues).toEqual([expect.stringMatching(/^bomb\.yml: YAML cannot be read: Excessive alias count .*: write the values out instead of repeating aliases$/)]);
  });

  it('keeps a few aliases working', () => {
    expect(parseDeploySpecYaml('base: &env { A: "1" }\nother: *env\n')).toEqual({ base: { A: '1' }, other: { A: '1' } });
  });

  it('names a __proto__ key written in YAML (zod alone would drop it without a word)', () => {
    const yaml = 'app: shop\nservices:\n  __proto__: { image: x, port: 1, hostPorts: { blue: 6001, green: 6002 } }\n  web:\n    image: x\n    port: 1\n    hostPorts: { blue: 5001, green: 5002 }\n    env: { __proto__: x, A: b }\n';
    const error = configError(() => parseDeploySpec(parseDeploySpecYaml(yaml)));
    expect(error.issues).toEqual([
      'services.__proto__: "__proto__" is a reserved JavaScript property name (like constructor, toString, __proto__): pick another name',
      'services.web.env.__proto__: "__proto__" is a reserved JavaScript property name (like constructor, toString, __proto__): pick another name',
    ]);
  });

  it('rejects duplicate keys', () => {
    const error = configError(() => parseDeploySpecYaml('app: shop\napp: cart\n'));
    expect(error.issues).toEqual([expect.stringMatching(/^spec: YAML syntax error: Map keys must be unique/)]);
  });
});

describe('deploySpecJsonSchema', () => {
  it('describes the input format and rejects unknown top-level keys', () => {
    const schema = deploySpecJsonSchema() as {
      $schema: string;
      type: string;
      required: string[];
      additionalProperties: unknown;
      properties: Record<string, Record<string, unknown>>;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['app', 'services']);
    expect(schema.properties.app).toEqual({
      type: 'string',
      pattern: '^[a-z][a-z0-9-]{0,30}[a-z0-9]$',
      description: 'App name: the deploy lock, container names and nginx upstreams derive from it.',
    });
    expect(Object.keys(schema.properties).sort()).toEqual(
      ['app', 'cleanup', 'fleet', 'health', 'hooks', 'hosts', 'migrate', 'monitor', 'network', 'notify', 'preview', 'promotion', 'retain', 'router', 'services', 'strategy', 'timeout', 'validate', 'verify', 'windows'].sort(),
    );
    expect(schema.properties.router).toMatchObject({ type: 'object', additionalProperties: false, properties: { port: { default: 4001 } } });
  });
});

describe('parseDeploySpec: workers (services without a port)', () => {
  const withWorker = (worker: Json, extra: Edit[] = []): Json => edited(validSpec(), [['services.jobs', worker], ...extra]);

  it('a service without port, hostPorts and route is a worker: no route, no endpoints, running 10 s by default, overlapping, stopTimeout 10 s', () => {
    const spec = parseDeploySpec(withWorker({ image: 'shop-jobs:v2' }));
    const jobs = spec.services.jobs!;
    expect(jobs.port).toBeUndefined();
    expect(jobs.hostPorts).toBeUndefined();
    expect(jobs.route).toBeUndefined();
    expect(jobs.health).toEqual({ type: 'running', endpoints: [], runningFor: 10_000 });
    expect(jobs.overlap).toBe(true);
    expect(jobs.stopTimeout).toBe(10_000);
    // The worker validates the workflow's copy again: the parsed spec parses to itself.
    expect(parseDeploySpec(structuredClone(spec))).toEqual(spec);
  });

  it.each([
    [{ type: 'docker' }, { type: 'docker', endpoints: [], runningFor: 10_000 }],
    [{ command: ['node', '/app/check.js'] }, { type: 'command', command: ['node', '/app/check.js'], endpoints: [], runningFor: 10_000 }],
    [{ runningFor: '3s' }, { type: 'running', endpoints: [], runningFor: 3_000 }],
  ])('health %j parses to %j', (health, parsed) => {
    expect(parseDeploySpec(withWorker({ image: 'shop-jobs:v2', health })).services.jobs!.health).toEqual(parsed);
  });

  it('a singleton worker: overlap false with its stopTimeout', () => {
    const jobs = parseDeploySpec(withWorker({ image: 'shop-jobs:v2', overlap: false, stopTimeout: '30s' })).services.jobs!;
    expect([jobs.overlap, jobs.stopTimeout]).toEqual([false, 30_000]);
  });

  it.each<[string, Json, string, string]>([
    ['a route', { image: 'j:1', route: '/jobs' }, 'services.jobs.route', 'needs `port`'],
    ['host ports', { image: 'j:1', hostPorts: { blue: 5101, green: 5102 } }, 'services.jobs.hostPorts', 'needs `port`'],
    ['verify paths', { image: 'j:1', verifyPaths: ['/x'] }, 'services.jobs.verifyPaths', 'a worker has no HTTP paths'],
    ['health endpoints', { image: 'j:1', health: { endpoints: ['/health'] } }, 'services.jobs.health.endpoints', 'is for services with a port'],
    ['type command without a command', { image: 'j:1', health: { type: 'command' } }, 'services.jobs.health.command', 'is required with health.type command'],
    ['a command with another type', { image: 'j:1', health: { type: 'docker', command: ['true'] } }, 'services.jobs.health.command', 'goes with health.type command, not docker'],
    ['an unknown health type', { image: 'j:1', health: { type: 'tcp' } }, 'services.jobs.health.type', 'must be one of http, docker, command, running'],
  ])('a worker with %s is refused, naming the field and the fix', (_what, worker, path, hint) => {
    const error = configError(() => parseDeploySpec(withWorker(worker)));
    expect(issuesAt(error, path)).toEqual([expect.stringContaining(hint)]);
  });

  it('a fleet host cannot override a worker\'s host ports', () => {
    const error = configError(() => parseDeploySpec(withWorker({ image: 'j:1' }, [['hosts', [{ name: 'web-1', hostPorts: { jobs: { blue: 5101, green: 5102 } } }]]])));
    expect(issuesAt(error, 'hosts.0.hostPorts.jobs')).toEqual([expect.stringContaining('is a worker (no port)')]);
  });
});
