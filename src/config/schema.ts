/**
 * The one deploy-spec schema: validation, defaults, descriptions and (through `deploySpecJsonSchema`)
 * a JSON Schema for editors. Every error names its path and says how to fix it; unknown keys are
 * rejected; all errors are reported at once.
 */
import { z } from 'zod';
import { hostTaskQueue } from '../names';

const NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;
const nameField = (what: string) =>
  z
    .string({ error: `must be a string: the ${what} name` })
    .regex(NAME, `must be 2-32 lowercase letters, digits or dashes, starting with a letter (e.g. "shop"): it names containers and nginx upstreams`);

const DURATION = /^(\d+)(ms|s|m|h)$/;
const DURATION_HINT = 'must be a duration such as "500ms", "5s", "2m", "1h" or a whole number of milliseconds';
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/** A duration as "500ms", "5s", "2m", "1h", or a number of milliseconds; parsed to milliseconds. */
const duration = (description: string, def: string) =>
  z
    .union([z.number().int(DURATION_HINT).nonnegative(DURATION_HINT), z.string().regex(DURATION, DURATION_HINT)], { error: DURATION_HINT })
    .default(def)
    .transform((value) => {
      if (typeof value === 'number') return value;
      const [, amount, unit] = DURATION.exec(value)!;
      return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
    })
    .describe(`${description} (default ${def})`);

const port = (description: string) =>
  z
    .number({ error: 'must be a port number between 1 and 65535' })
    .int('must be a whole port number between 1 and 65535')
    .min(1, 'must be a port number between 1 and 65535')
    .max(65535, 'must be a port number between 1 and 65535')
    .describe(description);

const path = z
  .string()
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, 'must be a URL path starting with "/" (letters, digits, "-", "_", ".", "~", "/")');

const WHOLE_1 = 'must be a whole number, 1 or more';
const WHOLE_1_100 = 'must be a whole number from 1 to 100';
const SHARE = 'must be a share between 0 and 1 (0.01 = 1 %)';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const hostPortsSchema = z
  .strictObject({
    blue: port('Host port (bound to 127.0.0.1) of the blue container.'),
    green: port('Host port (bound to 127.0.0.1) of the green container.'),
  })
  .describe('Host ports of the two colors; nginx and the health checks reach the containers there.');

const serviceSchema = z
  .strictObject({
    image: z
      .string({ error: 'is required: the image to deploy, e.g. "shop-backend:v2" (override with --image SERVICE=IMAGE)' })
      .min(1, 'must not be empty: the image to deploy, e.g. "shop-backend:v2"')
      .describe('Image to deploy for this service; it must exist in the local Docker engine.'),
    port: port('Port the app listens on inside the container.'),
    hostPorts: hostPortsSchema,
    route: path.default('/').describe('Path prefix nginx routes to this service on the public port (default "/").'),
    env: z
      .record(z.string().regex(ENV_NAME, 'must be an environment variable name such as DATABASE_URL (letters, digits, "_")'), z.string({ error: 'must be a string (quote numbers in YAML)' }))
      .default({})
      .describe('Environment of the container. Kept in workflow history: put secrets in `secrets`.'),
    secrets: z
      .array(z.string().regex(ENV_NAME, 'must be an environment variable name such as DB_PASSWORD'))
      .default([])
      .describe("Names of secrets the worker gives the container when it is created; their values never enter workflow history. The worker must allow each (GREENLIGHT_SECRETS, GREENLIGHT_SECRETS_FILE); its own credentials (TEMPORAL_*, GREENLIGHT_*, DOCKER_*, AWS_*, GOOGLE_*, AZURE_*, SSH_*) never."),
    health: z
      .strictObject({
        endpoints: z
          .array(path)
          .min(1, 'needs at least one endpoint, e.g. ["/api/health"]')
          .default(['/health'])
          .describe('Paths probed on the container directly; each must answer 2xx.'),
      })
      .prefault({})
      .describe('Health endpoints of this service.'),
    verifyPaths: z
      .array(path)
      .default([])
      .describe('Extra user-facing paths probed during verify to measure error rate and latency (GET, must answer < 500).'),
  })
  .describe('One service of the app: one container per color.');

const validationCommandSchema = z.strictObject({
  name: nameField('validation command'),
  service: z.string().describe('Service whose new image runs the command.'),
  run: z
    .array(z.string(), { error: 'must be a list of strings: the command and its arguments, e.g. ["npm", "test"]' })
    .min(1, 'must not be empty: the command and its arguments, e.g. ["npm", "test"]')
    .describe('Command and arguments, run in a one-off container of the new image with no network.'),
  timeout: duration('Time limit of the command', '10m'),
});

const hostSchema = z
  .strictObject({
    name: nameField('host').describe("Host name: its worker runs `greenlight worker --host <name>` and polls the host's own task queue."),
    taskQueue: z
      .string()
      .min(1, 'must not be empty: the task queue of this host\'s worker, or leave it out for the default greenlight-host-<name>')
      .optional()
      .describe("Task queue of this host's worker (default greenlight-host-<name>)."),
    router: z
      .strictObject({ port: port('Public port nginx serves the app on, on this host.') })
      .optional()
      .describe("This host's router port, if it differs from router.port."),
    hostPorts: z
      .record(z.string(), hostPortsSchema)
      .optional()
      .describe('Host ports per service on this host, where they differ from services.<name>.hostPorts.'),
  })
  .describe('One Docker host of the fleet: its worker, router port and host ports.');

export const deploySpecSchema = z
  .strictObject({
    app: nameField('app').describe('App name: the deploy lock, container names and nginx upstreams derive from it.'),
    network: z.string().min(1, 'must name a Docker network, e.g. "greenlight"').default('greenlight').describe('Docker network the containers join (shared with PostgreSQL/Redis).'),
    router: z
      .strictObject({
        port: port('Public port nginx serves the app on.').default(4001),
      })
      .prefault({})
      .describe('The nginx router of the app.'),
    services: z
      .record(nameField('service'), serviceSchema, {
        error: (issue) => (issue.code === 'invalid_type' ? 'must map service names to services, e.g. { backend: { image: ..., port: 4000, ... } }' : undefined),
      })
      .refine((services) => Object.keys(services).length > 0, 'needs at least one service')
      .describe('Services of the app, deployed and switched together.'),
    health: z
      .strictObject({
        interval: duration('Time between probes', '500ms'),
        timeout: duration('Time limit of one probe', '2s'),
        successes: z.number().int(WHOLE_1_100).min(1, WHOLE_1_100).max(100, WHOLE_1_100).default(3).describe('Consecutive successful rounds needed (default 3).'),
        deadline: duration('Time limit for the new color to become healthy', '60s'),
      })
      .prefault({})
      .describe('Health gate before the switch.'),
    verify: z
      .strictObject({
        window: duration('How long the new color is watched after the switch', '30s'),
        interval: duration('Time between probe rounds', '250ms'),
        maxErrorRate: z.number().min(0, SHARE).max(1, SHARE).default(0.01).describe('Rollback when the error rate exceeds this share (default 0.01 = 1 %).'),
        maxLatencyIncreaseMs: z.number().min(0, 'must be a number of milliseconds, 0 or more').default(200).describe('Rollback when median latency exceeds the pre-switch baseline by more than this (default 200).'),
        maxConsecutiveHealthFailures: z.number().int(WHOLE_1).min(1, WHOLE_1).default(3).describe('Rollback after this many failed health rounds in a row (default 3).'),
        minSamples: z.number().int(WHOLE_1).min(1, WHOLE_1).default(20).describe('Probes needed before the error rate is judged (default 20).'),
      })
      .prefault({})
      .describe('Verification after the switch, and its rollback thresholds.'),
    validate: z
      .strictObject({
        commands: z.array(validationCommandSchema).default([]).describe('Commands run before anything is deployed; any failure stops the deploy.'),
      })
      .prefault({})
      .describe('Validation before the deploy.'),
    migrate: z
      .strictObject({
        service: z.string().describe('Service whose new image runs the migration (with its env and secrets, on the app network).'),
        run: z
          .array(z.string(), { error: 'must be a list of strings: the command and its arguments, e.g. ["node", "migrate.js"]' })
          .min(1, 'must not be empty: the command and its arguments, e.g. ["node", "migrate.js"]'),
        timeout: duration('Time limit of the migration', '5m'),
      })
      .optional()
      .describe('A forward-compatible (expand-only) migration run before the new color starts; the live version must keep working on the migrated schema.'),
    promotion: z
      .strictObject({
        manual: z.boolean().default(false).describe('Wait for `greenlight promote` before the switch.'),
        timeout: duration('How long to wait for promote before rolling back', '1h'),
      })
      .prefault({})
      .describe('Optional manual promotion gate.'),
    cleanup: z
      .strictObject({
        previous: z.enum(['stop', 'remove', 'keep']).default('stop').describe('What happens to the previous color: stop (kept for a fast rollback), remove, or keep running.'),
        drain: duration('Time the previous color keeps serving in-flight requests after the switch', '2s'),
      })
      .prefault({})
      .describe('What happens to the previous color after a successful deploy.'),
    timeout: duration('Execution timeout of the whole deploy workflow; a hung deploy cannot hold the lock longer', '1h'),
    hosts: z
      .array(hostSchema)
      .min(1, 'needs at least one host, or leave `hosts` out to deploy to the worker on the default task queue')
      .optional()
      .describe('The Docker hosts of a fleet deploy: all of them switch, or none. Leave it out for one host on the default task queue.'),
    fleet: z
      .strictObject({
        hostTimeout: duration("How long a host's worker may take to pick up a step before the deploy fails and every host rolls back", '30s'),
      })
      .optional()
      .describe('Fleet settings (with `hosts`).'),
  })
  .superRefine((spec, ctx) => {
    checkHosts(spec, ctx);
    const hostPorts = new Map<number, string>();
    const routes = new Map<string, string>();
    for (const [name, service] of Object.entries(spec.services)) {
      for (const color of ['blue', 'green'] as const) {
        const hostPort = service.hostPorts[color];
        const where = `services.${name}.hostPorts.${color}`;
        const owner = hostPorts.get(hostPort);
        if (owner) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'hostPorts', color], message: `port ${hostPort} is already used by ${owner}: give every service and color its own host port` });
        } else if (hostPort === spec.router.port) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'hostPorts', color], message: `port ${hostPort} is the router's public port (router.port): pick another host port` });
        }
        hostPorts.set(hostPort, where);
      }
      const routeOwner = routes.get(service.route);
      if (routeOwner) {
        ctx.addIssue({ code: 'custom', path: ['services', name, 'route'], message: `route "${service.route}" is already routed to service "${routeOwner}": give each service its own path prefix` });
      }
      routes.set(service.route, name);
    }
    spec.validate.commands.forEach((command, index) => {
      if (!(command.service in spec.services)) {
        ctx.addIssue({
          code: 'custom',
          path: ['validate', 'commands', index, 'service'],
          message: `unknown service "${command.service}": use one of ${Object.keys(spec.services).join(', ')}`,
        });
      }
    });
    if (spec.migrate && !(spec.migrate.service in spec.services)) {
      ctx.addIssue({ code: 'custom', path: ['migrate', 'service'], message: `unknown service "${spec.migrate.service}": use one of ${Object.keys(spec.services).join(', ')}` });
    }
    if (spec.health.timeout > spec.health.deadline) {
      ctx.addIssue({ code: 'custom', path: ['health', 'timeout'], message: 'must not exceed health.deadline: a single probe cannot take longer than the whole gate' });
    }
  })
  .meta({ title: 'greenlight deploy spec', description: 'One app deployed blue/green behind nginx by greenlight (greenlight.yml).' });

type SpecBeforeChecks = {
  router: { port: number };
  services: Record<string, { hostPorts: { blue: number; green: number } }>;
  hosts?: Array<{ name: string; taskQueue?: string; router?: { port: number }; hostPorts?: Record<string, { blue: number; green: number }> }>;
  fleet?: unknown;
};

/** Hosts: unique names and queues, overrides of known services, every host's ports distinct. */
function checkHosts(spec: SpecBeforeChecks, ctx: z.RefinementCtx): void {
  if (!spec.hosts) {
    if (spec.fleet) ctx.addIssue({ code: 'custom', path: ['fleet'], message: 'needs `hosts`: fleet settings apply to a deploy across several hosts' });
    return;
  }
  const names = new Set<string>();
  const queues = new Map<string, string>();
  spec.hosts.forEach((host, index) => {
    if (names.has(host.name)) ctx.addIssue({ code: 'custom', path: ['hosts', index, 'name'], message: `host "${host.name}" is listed twice: give every host its own name` });
    names.add(host.name);
    const queue = host.taskQueue ?? hostTaskQueue(host.name);
    const owner = queues.get(queue);
    if (owner) ctx.addIssue({ code: 'custom', path: ['hosts', index, 'taskQueue'], message: `task queue "${queue}" is already host ${owner}'s: one worker (one queue) per host` });
    queues.set(queue, host.name);
    for (const service of Object.keys(host.hostPorts ?? {})) {
      if (!(service in spec.services)) {
        ctx.addIssue({ code: 'custom', path: ['hosts', index, 'hostPorts', service], message: `unknown service "${service}": use one of ${Object.keys(spec.services).join(', ')}` });
      }
    }
    // Only clashes an override brings in: the spec's own ports are checked once, below.
    const seen = new Map<number, { what: string; override: boolean; path: PropertyKey[] }>([
      [host.router?.port ?? spec.router.port, { what: 'the router port', override: host.router !== undefined, path: ['hosts', index, 'router', 'port'] }],
    ]);
    for (const [service, svc] of Object.entries(spec.services)) {
      for (const color of ['blue', 'green'] as const) {
        const override = host.hostPorts?.[service] !== undefined;
        const hostPort = host.hostPorts?.[service]?.[color] ?? svc.hostPorts[color];
        const clash = seen.get(hostPort);
        const path = ['hosts', index, 'hostPorts', service, color];
        if (clash && (override || clash.override)) {
          // Named where the override is: that is the line to change.
          const [where, other] = override ? [path, clash.what] : [clash.path, `${service}.${color}`];
          ctx.addIssue({ code: 'custom', path: where, message: `port ${hostPort} is already ${other} on host ${host.name}: give every service and color its own host port` });
        }
        seen.set(hostPort, { what: `${service}.${color}`, override, path });
      }
    }
  });
}

/** The spec as written by users (durations as strings, defaults optional). */
export type DeploySpecInput = z.input<typeof deploySpecSchema>;
/** The validated spec with defaults applied and durations in milliseconds. */
export type DeploySpec = z.output<typeof deploySpecSchema>;
export type ServiceSpec = DeploySpec['services'][string];

/** The JSON Schema of the spec as users write it (`greenlight schema`; examples/greenlight.schema.json). */
export function deploySpecJsonSchema(): unknown {
  return z.toJSONSchema(deploySpecSchema, { io: 'input', unrepresentable: 'any' });
}
