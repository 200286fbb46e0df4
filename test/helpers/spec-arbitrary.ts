/**
 * Generated deploy specs for the property tests (fast-check): mostly spec-shaped, each field now and
 * then wrong (bad names, prototype names, zero and overflowing durations, ambiguous paths, Docker network
 * modes, unknown keys, wrong types), some as YAML text, a few plain junk. Seeded, so a run is
 * reproducible: GREENLIGHT_PROPERTY_SEED=<seed> replays another one.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';

export const PROPERTY_SEED = Number(process.env.GREENLIGHT_PROPERTY_SEED ?? 20261202);
export const PROPERTY_RUNS = 10_000;

/** A spec as the loader gets it: an object (YAML already parsed), or YAML text. */
export type GeneratedInput = { kind: 'object'; spec: unknown } | { kind: 'yaml'; text: string };

/** Mostly `valid`, one time in `odds` something from `invalid`. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>, odds = 60) =>
  fc.oneof({ weight: odds - 1, arbitrary: valid as fc.Arbitrary<T | U> }, { weight: 1, arbitrary: invalid as fc.Arbitrary<T | U> });

const junk = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2, noNullPrototype: true }),
);

const PROTOTYPE_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

// Pools and mapped integers rather than regex-driven strings: generation stays cheap at 10,000 runs.
const name = mostly(
  fc.oneof(fc.constantFrom('shop', 'web', 'api', 'backend', 'frontend', 'a1', 'x-y', 'z'.repeat(32)), fc.nat(999).map((n) => `svc-${n}`)),
  fc.constantFrom('', 'a', 'A1', 'shop-', 'x'.repeat(40), 'a b', 'Shop!', '9lives', ...PROTOTYPE_NAMES),
  40,
);

const durationValid = fc.oneof(
  fc.integer({ min: 1, max: 600_000 }),
  fc.tuple(fc.integer({ min: 1, max: 600 }), fc.constantFrom('ms', 's', 'm', 'h')).map(([amount, unit]) => `${amount}${unit}`),
);
const durationInvalid = fc.constantFrom(0, '0s', -1, 1.5, '1d', '5 sec', '', '9999999999999999999999h', 2 ** 31, '600h', 2 ** 60, Number.NaN, '1e3ms');
const duration = mostly(durationValid, fc.oneof(durationInvalid, junk));

const port = mostly(fc.integer({ min: 1, max: 65535 }), fc.oneof(fc.constantFrom(0, 65536, -1, 80.5, '80'), junk));

const segment = fc.oneof(fc.constantFrom('api', 'v1', 'a.b', 'x_y', '~u', 'health', 'Items', '-z', '...', '.well-known', '.greenlight'), fc.nat(99).map((n) => `p${n}`));
const pathValid = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 3 }), fc.boolean())
  .map(([segments, trailing]) => `/${segments.join('/')}${trailing && segments.length > 0 ? '/' : ''}`);
const pathInvalid = fc.constantFrom('api', '/../etc', '/api/../x', '/./a', '//', '/api//v1', '/a b', '/a;b', '/$x', '/{x}', '/a?b', '/é', '');
const path = mostly(pathValid, fc.oneof(pathInvalid, junk));

const envName = mostly(
  fc.oneof(fc.constantFrom('DATABASE_URL', 'NODE_ENV', '_X', 'a1', 'PORT'), fc.nat(99).map((n) => `VAR_${n}`)),
  fc.constantFrom('BAD-NAME', '1X', '', ...PROTOTYPE_NAMES),
  40,
);

const memory = mostly(
  fc.oneof(fc.tuple(fc.integer({ min: 6, max: 4096 }), fc.constant('m')).map(([n, u]) => `${n}${u}`), fc.constantFrom('1g', '8192k', 64 * 1024 ** 2)),
  fc.constantFrom('512', '5m', '2048g', '1.5g', '1t', 0, -1),
);

const hostPorts = mostly(fc.record({ blue: port, green: port }), fc.oneof(fc.record({ blue: port }), fc.record({ blue: port, green: port, red: port }), junk));

const service = fc.record(
  {
    image: mostly(fc.constantFrom('web:1', 'shop-backend:v2', 'registry.example.com/team/app:1.2.3'), fc.oneof(fc.constant(''), junk)),
    port,
    hostPorts,
    route: path,
    env: fc.dictionary(envName, mostly(fc.string({ maxLength: 12 }), junk), { maxKeys: 3, noNullPrototype: true }),
    secrets: fc.array(envName, { maxLength: 2 }),
    health: fc.record({ endpoints: mostly(fc.array(path, { minLength: 1, maxLength: 2 }), fc.constant([])) }, { requiredKeys: [] }),
    verifyPaths: fc.array(path, { maxLength: 2 }),
    limits: fc.record({ memory, pids: mostly(fc.integer({ min: 16, max: 65536 }), fc.constantFrom(0, 15, 65537, 1.5)) }, { requiredKeys: [] }),
    noNewPrivileges: mostly(fc.boolean(), junk),
  },
  // route is usually given: two services both on the default "/" are a (correct) rejection.
  { requiredKeys: ['image', 'port', 'hostPorts', 'route'] },
);

/** A worker (no port): its health from Docker, overlap or a singleton; now and then a field only a routed service may have. */
const worker = fc.record(
  {
    image: mostly(fc.constantFrom('jobs:1', 'shop-worker:v2'), fc.oneof(fc.constant(''), junk)),
    env: fc.dictionary(envName, mostly(fc.string({ maxLength: 12 }), junk), { maxKeys: 2, noNullPrototype: true }),
    health: mostly(
      fc.oneof(fc.constant({}), fc.constant({ type: 'docker' }), fc.record({ command: fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 2 }) }), fc.record({ runningFor: duration })),
      fc.oneof(fc.constant({ type: 'command' }), fc.constant({ type: 'http' }), fc.record({ endpoints: fc.array(path, { minLength: 1, maxLength: 1 }) }), fc.constant({ type: 'tcp' }), junk),
    ),
    overlap: mostly(fc.boolean(), junk),
    stopTimeout: fc.oneof(durationValid, fc.constant(0), durationInvalid),
    route: path,
    hostPorts,
  },
  { requiredKeys: ['image'] },
).map((w) => {
  // route and hostPorts make a worker invalid (they need a port): kept only when both were drawn.
  const { route, hostPorts: ports, ...rest } = w;
  return { ...rest, ...(route !== undefined && ports !== undefined ? { route, hostPorts: ports } : {}) };
});

const network = mostly(
  fc.constantFrom('greenlight', 'backplane', 'app_net.1'),
  fc.constantFrom('host', 'none', 'bridge', 'default', 'container:db', 'a/b', '', 'x'.repeat(70)),
  40,
);

/** A reference to the i-th service of the spec ("@i", resolved once the services are known) or a wrong name. */
const serviceRef = mostly(fc.nat(2).map((i) => `@${i}`), fc.constantFrom('nope', 'toString', 'constructor'));
const run = mostly(fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }), fc.oneof(fc.constant([]), junk));

/** Everything but the services, built once (fc.chain would build these arbitraries for every run). */
const specFields = fc.record(
  {
    app: name,
    network,
    router: fc.record({ port }, { requiredKeys: [] }),
    health: fc.record(
      {
        interval: duration,
        timeout: mostly(fc.integer({ min: 1, max: 2000 }), durationInvalid),
        successes: mostly(fc.integer({ min: 1, max: 100 }), fc.constantFrom(0, 101, 1.5)),
        deadline: mostly(fc.integer({ min: 2000, max: 120_000 }), durationInvalid),
      },
      { requiredKeys: [] },
    ),
    verify: fc.record(
      {
        window: mostly(fc.oneof(fc.constant(0), durationValid), durationInvalid),
        interval: duration,
        maxErrorRate: mostly(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(-0.1, 1.5, Number.NaN)),
        minSamples: mostly(fc.integer({ min: 1, max: 100 }), fc.constantFrom(0, -1)),
      },
      { requiredKeys: [] },
    ),
    validate: fc.record({ commands: fc.array(fc.record({ name, service: serviceRef, run, timeout: duration }, { requiredKeys: ['name', 'service', 'run'] }), { maxLength: 2 }) }),
    migrate: fc.record({ service: serviceRef, run, timeout: duration }, { requiredKeys: ['service', 'run'] }),
    promotion: fc.record({ manual: fc.boolean(), timeout: duration }, { requiredKeys: [] }),
    cleanup: fc.record(
      { previous: mostly(fc.constantFrom('stop', 'remove', 'keep'), fc.constantFrom('delete', '')), drain: mostly(fc.oneof(fc.constant(0), durationValid), durationInvalid) },
      { requiredKeys: [] },
    ),
    timeout: duration,
    hosts: fc.array(
      fc.record(
        { name, router: fc.record({ port }), hostPorts: fc.dictionary(serviceRef, hostPorts, { maxKeys: 1, noNullPrototype: true }) },
        { requiredKeys: ['name'] },
      ),
      { minLength: 1, maxLength: 2 },
    ),
    fleet: fc.record({ hostTimeout: duration }),
    // A misspelled or unknown key.
    colour: junk,
  },
  { requiredKeys: ['app'] },
);

type Fields = Record<string, unknown> & {
  validate?: { commands: Array<{ service: string }> };
  migrate?: { service: string };
  hosts?: Array<{ hostPorts?: Record<string, unknown> }>;
};

/** Replaces "@i" references by the i-th service name (modulo their number). */
function resolveRefs(fields: Fields, names: string[]): Fields {
  const resolve = (ref: string) => (/^@\d$/.test(ref) ? names[Number(ref.slice(1)) % names.length]! : ref);
  for (const command of fields.validate?.commands ?? []) command.service = resolve(command.service);
  if (fields.migrate) fields.migrate.service = resolve(fields.migrate.service);
  for (const host of fields.hosts ?? []) {
    if (host.hostPorts) host.hostPorts = Object.fromEntries(Object.entries(host.hostPorts).map(([ref, ports]) => [resolve(ref), ports]));
  }
  return fields;
}

const defaultServices = { web: { image: 'web:1', port: 3000, hostPorts: { blue: 5001, green: 5002 } } };
// hosts, fleet and the unknown key are kept one time in twenty: most specs should stay valid long enough to reach the checks after them.
const rare = new Set(['hosts', 'fleet', 'colour']);
const specObject = fc
  .tuple(
    mostly(fc.dictionary(name, fc.oneof({ weight: 4, arbitrary: service }, { weight: 1, arbitrary: worker }), { minKeys: 1, maxKeys: 3, noNullPrototype: true }), fc.oneof(fc.constant({}), junk)),
    specFields,
    mostly(fc.constant(false), fc.constant(true), 20),
  )
  .map(([services, fields, keepRare]) => {
    const names = typeof services === 'object' && services !== null && Object.keys(services).length > 0 ? Object.keys(services) : Object.keys(defaultServices);
    const kept = Object.entries(resolveRefs(structuredClone(fields) as Fields, names)).filter(([key]) => keepRare || !rare.has(key));
    return { ...Object.fromEntries(kept), services } as Record<string, unknown>;
  });

/** YAML whose aliases nest `depth` levels of `width` each: past yaml's alias count, a "billion laughs" bomb. */
const aliasNest = fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 9 })).map(([depth, width]) => {
  const lines = ['app: &l0 shop'];
  for (let level = 1; level <= depth; level++) lines.push(`l${level}: &l${level} [${Array<string>(width).fill(`*l${level - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
});

/** The generated inputs: ~75 % spec objects, ~15 % the same as YAML text, ~5 % nested YAML aliases, ~5 % anything at all. */
export const generatedInput: fc.Arbitrary<GeneratedInput> = fc.oneof(
  { weight: 15, arbitrary: specObject.map((spec): GeneratedInput => ({ kind: 'object', spec })) },
  { weight: 3, arbitrary: specObject.map((spec): GeneratedInput => ({ kind: 'yaml', text: stringify(spec) })) },
  { weight: 1, arbitrary: aliasNest.map((text): GeneratedInput => ({ kind: 'yaml', text })) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3, maxKeys: 4 }).map((spec): GeneratedInput => ({ kind: 'object', spec })) },
);
