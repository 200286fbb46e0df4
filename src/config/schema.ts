/**
 * The one deploy-spec schema: validation, defaults, descriptions and (through `deploySpecJsonSchema`)
 * a JSON Schema for editors. Every error names its path and says how to fix it; unknown keys are
 * rejected; all errors are reported at once.
 */
import { z } from 'zod';
import { hostTaskQueue } from '../names';
import { NAME, NAME_HINT } from './name-rule';
import { DAYS_HINT, HOURS_HINT, isKnownTimeZone, nextAllowed, parseDays, parseHours } from './windows';

/**
 * Names JavaScript objects already carry (`constructor`, `toString`, `__proto__`, ...): as a key of
 * services, env or hostPorts, `name in services` finds one that is not there and `__proto__` is
 * dropped (or swaps the object's prototype) on the way through; so they are refused as keys.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));
export const reservedKeyMessage = (key: string) => `"${key}" is a reserved JavaScript property name (like constructor, toString, __proto__): pick another name`;
const notReserved = <T extends z.ZodType<string>>(key: T) =>
  key.refine((name) => !RESERVED_KEYS.has(name), { error: (issue) => reservedKeyMessage(String(issue.input)) });

const nameField = (what: string) =>
  z
    .string({ error: `must be a string: the ${what} name` })
    .regex(NAME, NAME_HINT);

const DURATION = /^(\d+)(ms|s|m|h)$/;
const DURATION_HINT = 'must be a duration such as "500ms", "5s", "2m", "1h" or a whole number of milliseconds';
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
/**
 * 24 days: Node's timers (the one-off containers' time limits, the probes') take at most 2^31-1 ms
 * (24.8 days) and fire at once beyond it, so a longer duration would end a step immediately.
 */
export const MAX_DURATION_MS = 24 * 24 * 3_600_000;
const DURATION_MAX_HINT = `must be at most 24 days ("576h", ${MAX_DURATION_MS} ms): longer time limits overflow the timers that enforce them`;
const DURATION_ZERO_HINT = 'must be more than 0: a zero time limit or interval cannot mean "none" here';

const durationMs = (value: number | string): number => {
  if (typeof value === 'number') return value;
  const [, amount, unit] = DURATION.exec(value)!;
  return Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
};

/**
 * A duration as "500ms", "5s", "2m", "1h", or a number of milliseconds; parsed to milliseconds, at most
 * MAX_DURATION_MS. 0 only where `zero` says what it means (no drain, a single verify round).
 */
const duration = (description: string, def: string, zero?: string) =>
  z
    .union([z.number().int(DURATION_HINT).nonnegative(DURATION_HINT), z.string().regex(DURATION, DURATION_HINT)], { error: DURATION_HINT })
    .default(def)
    .transform((value, ctx) => {
      const ms = durationMs(value);
      if (ms > MAX_DURATION_MS) ctx.addIssue({ code: 'custom', message: DURATION_MAX_HINT });
      else if (ms === 0 && !zero) ctx.addIssue({ code: 'custom', message: DURATION_ZERO_HINT });
      return ms;
    })
    .describe(`${description} (default ${def}${zero ? `; 0: ${zero}` : ''}; at most 24 days)`);

const port = (description: string) =>
  z
    .number({ error: 'must be a port number between 1 and 65535' })
    .int('must be a whole port number between 1 and 65535')
    .min(1, 'must be a port number between 1 and 65535')
    .max(65535, 'must be a port number between 1 and 65535')
    .describe(description);

const path = z
  .string()
  .regex(/^\/[A-Za-z0-9._~\-/]*$/, 'must be a URL path starting with "/" (letters, digits, "-", "_", ".", "~", "/")')
  // "/api/../etc" and "/api//x" name another path than they spell (nginx and clients normalise them).
  .refine((value) => !value.split('/').some((segment) => segment === '.' || segment === '..'), 'must not have "." or ".." segments: write the path they lead to')
  .refine((value) => !value.includes('//'), 'must not have an empty segment ("//"): write the path with single slashes');

/** Paths the router answers itself (host/builders/nginx.ts): a route there would be a duplicate location or shadowed. */
const ROUTER_OWN_PATHS = ['/health', '/.greenlight'];

const WHOLE_1 = 'must be a whole number, 1 or more';
const WHOLE_1_100 = 'must be a whole number from 1 to 100';
const SHARE = 'must be a share between 0 and 1 (0.01 = 1 %)';
const CANARY_WEIGHT = 'must be a whole number from 1 to 99 (per cent of requests; 100 is the full switch that follows the last step)';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Docker's own network modes are not networks an app may join: on `host` the app listens on every
 * interface past the loopback-only port bindings, `container:<name>` shares another container's
 * namespace, `none` has no network, and the default `bridge` has no names to resolve. The worker checks
 * at preflight that the network exists as a user-defined bridge.
 */
const NETWORK_MODES = new Set(['host', 'none', 'bridge', 'default']);
const NETWORK_HINT = 'must name a user-defined bridge network, e.g. "greenlight" (docker network create greenlight)';
const networkSchema = z
  .string({ error: NETWORK_HINT })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, `${NETWORK_HINT}: letters, digits, "_", ".", "-"`)
  .refine((name) => !NETWORK_MODES.has(name), {
    error: (issue) => `${NETWORK_HINT}: "${String(issue.input)}" is a Docker network mode, which would bypass the loopback-only host ports or share another namespace`,
  })
  .default('greenlight')
  .describe('User-defined bridge network the containers join (shared with PostgreSQL/Redis); not host, none, bridge or container:<name>.');

const MEMORY = /^(\d+)(k|m|g)$/;
const MEMORY_UNIT = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const;
/** Docker refuses less than 6 MiB; more than 1 TiB is a typo. */
const MEMORY_MIN = 6 * MEMORY_UNIT.m;
const MEMORY_MAX = 1024 * MEMORY_UNIT.g;
const MEMORY_HINT = 'must be an amount of memory such as "256m" or "1g" (k, m, g: KiB, MiB, GiB; a number is bytes), from 6m to 1024g';

/** Docker's --cpus (a CFS quota): Docker refuses less than 0.01; more than the host has is refused at validate. */
const CPUS_MAX = 1024;
const CPUS_HINT = `must be a number of CPUs from 0.01 to ${CPUS_MAX}, such as 0.5 or 2 (Docker's --cpus)`;

const memoryBytes = (value: number | string): number => {
  if (typeof value === 'number') return value;
  const [, amount, unit] = MEMORY.exec(value)!;
  return Number(amount) * MEMORY_UNIT[unit as keyof typeof MEMORY_UNIT];
};

const limitsSchema = z
  .strictObject({
    // A number is bytes: what a parsed spec holds (the worker validates the workflow's copy again).
    memory: z
      .union([z.number().int(MEMORY_HINT), z.string().regex(MEMORY, MEMORY_HINT)], { error: MEMORY_HINT })
      .default('512m')
      .transform((value, ctx) => {
        const bytes = memoryBytes(value);
        if (bytes < MEMORY_MIN || bytes > MEMORY_MAX) ctx.addIssue({ code: 'custom', message: MEMORY_HINT });
        return bytes;
      })
      .describe('Memory limit of each container of the service, and of its one-off containers (default "512m"); parsed to bytes.'),
    pids: z
      .number({ error: 'must be a whole number of processes from 16 to 65536' })
      .int('must be a whole number of processes from 16 to 65536')
      .min(16, 'must be a whole number of processes from 16 to 65536')
      .max(65536, 'must be a whole number of processes from 16 to 65536')
      .default(512)
      .describe('Most processes and threads a container may run (default 512): a fork bomb stops there.'),
    cpus: z
      .number({ error: CPUS_HINT })
      .min(0.01, CPUS_HINT)
      .max(CPUS_MAX, CPUS_HINT)
      .optional()
      .describe('CPUs each container of the service may use, e.g. 0.5 or 2 (Docker\'s --cpus; at most the host\'s CPU count, checked at validate). No limit when left out.'),
  })
  .prefault({})
  .describe('Resource limits of the service\'s containers, app and one-off (validation, migration). Validate checks on every host that the new color\'s memory limits fit in the memory available there.');

const hostPortsSchema = z
  .strictObject({
    blue: port('Host port (bound to 127.0.0.1) of the blue container.'),
    green: port('Host port (bound to 127.0.0.1) of the green container.'),
  })
  .describe('Host ports of the two colors; nginx and the health checks reach the containers there.');

const HEALTH_TYPES = ['http', 'docker', 'command', 'running'] as const;
/** How long a worker checked by `running` must run without a restart to count as healthy, unless `health.runningFor` says otherwise. */
export const DEFAULT_RUNNING_FOR = '10s';

const healthSchema = z
  .strictObject({
    endpoints: z
      .array(path)
      .optional()
      .describe('Services with a port: paths probed on the container directly; each must answer 2xx (default ["/health"]). Not for workers.'),
    type: z
      .enum(HEALTH_TYPES, { error: `must be one of ${HEALTH_TYPES.join(', ')}` })
      .optional()
      .describe(
        'How health is judged. http (services with a port; the default for them): the endpoints answer 2xx. For workers (no port): docker, the image\'s own HEALTHCHECK reports healthy; command, `health.command` exits 0 inside the container; running (the default for workers), the container has run `health.runningFor` without a restart.',
      ),
    command: z
      .array(z.string(), { error: 'must be a list of strings: the command and its arguments, e.g. ["node", "/app/check.js"]' })
      .min(1, 'must not be empty: the command and its arguments, e.g. ["node", "/app/check.js"]')
      .optional()
      .describe('Workers: a command run inside the container (docker exec) at each probe; exit 0 is healthy. Implies type command.'),
    runningFor: duration('Workers with type running: how long the container must have run without a restart to count as healthy', DEFAULT_RUNNING_FOR),
  })
  .prefault({})
  .describe('How the service\'s health is probed: HTTP endpoints for a service with a port; for a worker its Docker HEALTHCHECK, a command, or running without a restart.');

/** What `services.<name>.health` holds after parsing: the type decided, endpoints only for http. */
export type HealthType = (typeof HEALTH_TYPES)[number];

const serviceSchema = z
  .strictObject({
    image: z
      .string({ error: 'is required: the image to deploy, e.g. "shop-backend:v2" (override with --image SERVICE=IMAGE)' })
      .min(1, 'must not be empty: the image to deploy, e.g. "shop-backend:v2"')
      .describe('Image to deploy for this service; it must exist in the local Docker engine.'),
    port: port('Port the app listens on inside the container. Leave port, hostPorts and route out for a worker (a background process nginx does not route to).').optional(),
    hostPorts: hostPortsSchema.optional(),
    route: path
      .refine((route) => !ROUTER_OWN_PATHS.some((own) => route === own || route.startsWith(`${own}/`)), {
        error: (issue) => `"${String(issue.input)}" is the router's own: nginx answers /health itself, /health/<color>/<service> for the probes and /.greenlight/ for greenlight: pick another path prefix`,
      })
      .optional()
      .describe('Path prefix nginx routes to this service on the public port (default "/" for a service with a port; none for a worker); "/api" serves "/api" and "/api/...", not "/apiary".'),
    env: z
      .record(notReserved(z.string().regex(ENV_NAME, 'must be an environment variable name such as DATABASE_URL (letters, digits, "_")')), z.string({ error: 'must be a string (quote numbers in YAML)' }))
      .default({})
      .describe('Environment of the container. Kept in workflow history: put secrets in `secrets`.'),
    secrets: z
      .array(notReserved(z.string().regex(ENV_NAME, 'must be an environment variable name such as DB_PASSWORD')))
      .default([])
      .describe("Names of secrets the worker gives the container when it is created; their values never enter workflow history. The worker must allow each (GREENLIGHT_SECRETS, GREENLIGHT_SECRETS_FILE); its own credentials (TEMPORAL_*, GREENLIGHT_*, DOCKER_*, AWS_*, GOOGLE_*, AZURE_*, SSH_*) never."),
    health: healthSchema,
    verifyPaths: z
      .array(path)
      .default([])
      .describe('Extra user-facing paths probed during verify to measure error rate and latency (GET, must answer < 500). Not for workers.'),
    readTimeout: duration(
      "Longest the service may go without sending a byte on a request, a WebSocket or an event stream before the router closes it; raise it for quiet streams (e.g. \"1h\")",
      '60s',
    ),
    limits: limitsSchema,
    noNewPrivileges: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .describe("Containers of the service (and its one-off containers) run with no-new-privileges: setuid binaries cannot raise a process's privileges (default true)."),
    overlap: z
      .boolean({ error: 'must be true or false' })
      .default(true)
      .describe(
        'Whether both colors of the service may run at once during a deploy (default true). false: a singleton worker (a cron, a queue consumer holding a lock): at the switch the old color gets SIGTERM and `stopTimeout` to finish its job, then the new one starts; a rollback does the reverse. Workers only.',
      ),
    stopTimeout: duration('How long a stopped container of the service is given after SIGTERM to finish before Docker kills it', '10s', 'killed at once'),
  })
  .transform((svc, ctx) => {
    // A service is a worker when it has no port: nothing to route, publish or probe over HTTP.
    const worker = svc.port === undefined;
    if (worker) {
      if (svc.hostPorts) ctx.addIssue({ code: 'custom', path: ['hostPorts'], message: 'needs `port`: a service without a port is a worker, which nginx does not route to; add port, or remove hostPorts' });
      if (svc.route !== undefined) ctx.addIssue({ code: 'custom', path: ['route'], message: 'needs `port`: a service without a port is a worker, which nginx does not route to; add port and hostPorts, or remove route' });
      if (svc.verifyPaths.length > 0) ctx.addIssue({ code: 'custom', path: ['verifyPaths'], message: 'is for services with a port: a worker has no HTTP paths to probe; remove verifyPaths, or add port and hostPorts' });
      if (svc.health.endpoints?.length || svc.health.type === 'http') {
        ctx.addIssue({ code: 'custom', path: ['health', svc.health.endpoints?.length ? 'endpoints' : 'type'], message: 'is for services with a port: a worker is checked by health.type docker (its HEALTHCHECK), health.command, or running health.runningFor without a restart (the default)' });
      }
    } else {
      if (!svc.hostPorts) ctx.addIssue({ code: 'custom', path: ['hostPorts'], message: 'is required with `port`: the loopback host ports of the two colors, e.g. { blue: 4000, green: 4002 } (or remove port to make the service a worker)' });
      if (svc.health.type !== undefined && svc.health.type !== 'http') {
        ctx.addIssue({ code: 'custom', path: ['health', 'type'], message: `${svc.health.type} is for workers: a service with a port is probed over HTTP (health.endpoints); remove health.type, or remove port, hostPorts and route to make it a worker` });
      }
      if (svc.health.endpoints?.length === 0) ctx.addIssue({ code: 'custom', path: ['health', 'endpoints'], message: 'needs at least one endpoint, e.g. ["/api/health"]' });
      if (!svc.overlap) {
        // A routed singleton would leave its route with no server between the stop and the start.
        ctx.addIssue({ code: 'custom', path: ['overlap'], message: 'false is for workers only: a service with a port would have no server for its route between the old color\'s stop and the new one\'s start; keep overlap true (the default), or remove port, hostPorts and route to make it a worker' });
      }
    }
    const type: HealthType = svc.health.type ?? (svc.health.command ? 'command' : worker ? 'running' : 'http');
    if (type === 'command' && !svc.health.command) ctx.addIssue({ code: 'custom', path: ['health', 'command'], message: 'is required with health.type command: the command run in the container, e.g. ["node", "/app/check.js"]' });
    if (type !== 'command' && svc.health.command) ctx.addIssue({ code: 'custom', path: ['health', 'command'], message: `goes with health.type command, not ${type}: remove health.type or health.command` });
    const health = { ...svc.health, type, endpoints: worker ? [] : (svc.health.endpoints ?? ['/health']) };
    return { ...svc, route: worker ? undefined : (svc.route ?? '/'), health };
  })
  .describe('One service of the app: one container per color. With a port it is routed by nginx; without one it is a worker (a background process).');

const validationCommandSchema = z.strictObject({
  name: nameField('validation command'),
  service: z.string().describe('Service whose new image runs the command.'),
  run: z
    .array(z.string(), { error: 'must be a list of strings: the command and its arguments, e.g. ["npm", "test"]' })
    .min(1, 'must not be empty: the command and its arguments, e.g. ["npm", "test"]')
    .describe('Command and arguments, run in a one-off container of the new image with no network.'),
  timeout: duration('Time limit of the command', '10m'),
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

const previewCheckSchema = z.strictObject({
  name: nameField('preview check').optional().describe('Name of the check (its one-off container is <app>.preview_<name>); check-1, check-2, ... when left out.'),
  service: z.string().optional().describe("Service whose new image runs the check; the first service with a route when left out."),
  command: z
    .array(z.string(), { error: 'must be a list of strings: the command and its arguments, e.g. ["npm", "run", "smoke"]' })
    .min(1, 'must not be empty: the command and its arguments, e.g. ["npm", "run", "smoke"]')
    .describe('Command and arguments, run in a one-off container of the new image on the app network, with GREENLIGHT_PREVIEW_URL (the preview on the network\'s gateway); exit 0 passes.'),
  timeout: duration('Time limit of the check', '5m'),
});

const previewSchema = z
  .strictObject({
    port: port('Port the router serves the new color on, from the health gate until the switch (and during a manual promotion gate).'),
    address: z
      .string({ error: 'must be an IPv4 address of this host, e.g. "127.0.0.1"' })
      .regex(IPV4, 'must be an IPv4 address of this host, e.g. "127.0.0.1" (loopback, the default) or a private interface\'s address')
      .default('127.0.0.1')
      .describe('Address the preview port is bound to (default 127.0.0.1: this host only). With checks it is also bound on the app network\'s gateway, where the check containers reach it.'),
    checks: z
      .array(previewCheckSchema, { error: 'must be a list of checks, e.g. [{ command: ["npm", "run", "smoke"] }]' })
      .default([])
      .transform((checks) => checks.map((check, index) => ({ ...check, name: check.name ?? `check-${index + 1}` })))
      .describe('Commands run against the preview URL before the switch (a smoke or e2e suite); any failure rolls the deploy back.'),
  })
  .describe('A preview port: the new color, before it is live, on a port of its own while the public port keeps serving the live color.');
/** The deploy events a `notify.webhooks[]` entry can ask for (src/notify.ts builds their bodies). */
export const DEPLOY_NOTIFY_EVENTS = ['started', 'succeeded', 'rolled-back', 'compensation-failed', 'monitor-alert', 'monitor-recovered'] as const;

/** `${NAME}` in a webhook URL: a secret the worker fills in (never in history). */
export const URL_SECRET = /\$\{([A-Z_][A-Z0-9_]*)\}/g;

const webhookSchema = z.strictObject({
  url: z
    .string({ error: 'must be an http(s) URL, e.g. "https://hooks.slack.com/services/${SLACK_WEBHOOK_PATH}"' })
    .refine((url) => {
      try {
        return ['http:', 'https:'].includes(new URL(url.replace(URL_SECRET, 'x')).protocol);
      } catch {
        return false;
      }
    }, 'must be an http(s) URL, e.g. "https://hooks.slack.com/services/${SLACK_WEBHOOK_PATH}": put the secret part of the URL in ${NAME}, a secret the worker allows (GREENLIGHT_SECRETS)')
    .describe('Where the JSON body is POSTed. The secret part of a URL goes in ${NAME}: the worker fills it in from its allowed secrets (GREENLIGHT_SECRETS, GREENLIGHT_SECRETS_FILE); it never enters workflow history.'),
  events: z
    .array(z.enum(DEPLOY_NOTIFY_EVENTS, { error: `must be one of ${DEPLOY_NOTIFY_EVENTS.join(', ')}` }))
    .min(1, `must not be empty: leave events out for all of ${DEPLOY_NOTIFY_EVENTS.join(', ')}`)
    .default([...DEPLOY_NOTIFY_EVENTS])
    .describe('Which deploy events this webhook receives (default: all).'),
});

const notifySchema = z
  .strictObject({
    webhooks: z.array(webhookSchema).min(1, 'needs at least one webhook, or leave `notify` out').describe('Webhooks that get a JSON body (with a Slack-compatible `text`) on each event.'),
    timeout: duration('Longest one notification is retried for (with backoff) before it is given up as a warning; it never fails or blocks the deploy', '30s'),
  })
  .optional()
  .describe('Notifications: webhooks told when a deploy starts, succeeds, is rolled back, or its compensation fails, and when the monitor raises an alert or sees the app recover.');

/** The whole-second durations the monitor's timer keeps (a server timer under 1 s fires only after about 1 s). */
const MONITOR_INTERVAL_HINT = 'must be at least 1s (e.g. "5s"): the monitor waits on a server timer between rounds, and those fire no sooner than about 1 s';

const monitorSchema = z
  .strictObject({
    interval: duration('Time between two probe rounds of the live color', '5s').refine((ms) => ms >= 1000, MONITOR_INTERVAL_HINT),
    alertAfter: z
      .number({ error: 'must be a whole number from 1 to 100, e.g. alertAfter: 3' })
      .int('must be a whole number from 1 to 100, e.g. alertAfter: 3')
      .min(1, 'must be a whole number from 1 to 100, e.g. alertAfter: 3')
      .max(100, 'must be a whole number from 1 to 100, e.g. alertAfter: 3')
      .default(3)
      .describe('Failed rounds in a row that raise an alert (default 3); one passing round after it is the recovery.'),
    bake: duration(
      'How long after the deploy the previous color is kept running, and a live color that raises an alert is rolled back to it automatically; after it the previous color is retired per cleanup.previous',
      '0s',
      'no bake: the previous color is retired at the deploy\'s cleanup, an alert only alerts',
    ),
  })
  .optional()
  .describe("After a successful deploy, a monitor workflow (monitor-<app>) probes the live color's health endpoints and verify paths every interval until the next deploy, and alerts after alertAfter failed rounds in a row; within the bake it rolls back to the previous color.");

/** The stages of a deploy at which `hooks:` run, in the order the deploy reaches them. */
export const HOOK_STAGES = ['preDeploy', 'preSwitch', 'postDeploy', 'postRollback'] as const;

/** One `hooks.<stage>` command: the shape of a validation command, so users learn one thing. */
const hookSchema = z.strictObject({
  name: nameField('hook'),
  service: z.string().describe("Service whose image runs the hook: the new image (postRollback: the restored one), with the service's env and secrets, on the app network."),
  run: z
    .array(z.string(), { error: 'must be a list of strings: the command and its arguments, e.g. ["node", "warm-cache.js"]' })
    .min(1, 'must not be empty: the command and its arguments, e.g. ["node", "warm-cache.js"]')
    .describe('Command and arguments, run in a one-off container with the deploy\'s facts in GREENLIGHT_* variables.'),
  timeout: duration('Time limit of the hook (stopped and counted as failed past it)', '5m'),
});

const hookList = (when: string) => z.array(hookSchema).default([]).describe(when);

const hooksSchema = z
  .strictObject({
    preDeploy: hookList('Run before anything is deployed (after validate and migrate); a failure ends the deploy rolled back, nothing live changed.'),
    preSwitch: hookList('Run once the new color passed its gates, before the switch; a failure rolls back, the live color keeps serving.'),
    postDeploy: hookList('Run after a successful deploy\'s cleanup; a failure is a warning (status lastError), the deploy still succeeds.'),
    postRollback: hookList('Run after a rollback restored the previous color, in its (restored) image; a failure is a warning.'),
  })
  .optional()
  .describe('Commands run in one-off containers at fixed points of the deploy; once per deploy (a fleet\'s first host).');

/**
 * A file nginx reads at each reload, named in its config: absolute (nginx would resolve a relative one
 * against its prefix, not the spec's folder), and without `$` (ssl_certificate takes variables: nginx
 * would then load the file at every handshake) or a line break.
 */
const tlsFile = (what: string, description: string) =>
  z
    .string({ error: `must be the absolute path of the ${what} (PEM), e.g. "/etc/letsencrypt/live/shop.example.com/${what === 'certificate' ? 'fullchain' : 'privkey'}.pem"` })
    .regex(/^\//, `must be an absolute path (starting with "/") of the ${what}: nginx would resolve a relative path against its own prefix`)
    .regex(/^[^$\n\r]*$/, `must not contain "$" or a line break: nginx would read "$" as a variable (use a symlink without it)`)
    .describe(description);

const tlsSchema = z
  .strictObject({
    certificate: tlsFile(
      'certificate',
      'Absolute path of the PEM certificate nginx serves: the server certificate first, then its intermediates (certbot: fullchain.pem). Read by the worker at validate and by nginx at each reload; renewed in place, it is served from the next deploy on.',
    ),
    key: tlsFile('key', "Absolute path of the unencrypted PEM private key of the certificate (certbot: privkey.pem), readable by the worker's user (nginx's master runs as it)."),
    redirectPort: port('A plain-HTTP port answering every request with 308 to https://<host>:<router port><path>; leave out for none.').optional(),
  })
  .describe('HTTPS on the router port (HTTP/2, TLS 1.2 and 1.3): greenlight does not obtain certificates, it serves the files named here.');

const routerTls = tlsSchema.optional();

const hostSchema = z
  .strictObject({
    name: nameField('host').describe("Host name: its worker runs `greenlight worker --host <name>` and polls the host's own task queue."),
    taskQueue: z
      .string()
      .min(1, 'must not be empty: the task queue of this host\'s worker, or leave it out for the default greenlight-host-<name>')
      .optional()
      .describe("Task queue of this host's worker (default greenlight-host-<name>)."),
    router: z
      .strictObject({ port: port('Public port nginx serves the app on, on this host.'), tls: routerTls })
      .optional()
      .describe("This host's router, if it differs from `router`: it replaces it whole (port and tls)."),
    hostPorts: z
      .record(notReserved(z.string()), hostPortsSchema)
      .optional()
      .describe('Host ports per service on this host, where they differ from services.<name>.hostPorts.'),
  })
  .describe('One Docker host of the fleet: its worker, router port and host ports.');

const windowRangeSchema = z
  .strictObject({
    days: z
      .string({ error: DAYS_HINT })
      .superRefine((days, ctx) => {
        const parsed = parseDays(days);
        if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      })
      .optional()
      .describe('Weekdays of the range: "mon-fri", "sat,sun", "fri-mon" (wraps), "*" (every day, the default).'),
    hours: z
      .string({ error: HOURS_HINT })
      .superRefine((hours, ctx) => {
        const parsed = parseHours(hours);
        if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error });
      })
      .optional()
      .describe('Time of day of the range on the zone\'s clock: "09:00-17:00" (seconds optional, "24:00" ends the day; "22:00-06:00" wraps past midnight and belongs to the day it starts on). The whole day when left out.'),
  }, { error: 'must be a range such as { days: "mon-fri", hours: "09:00-17:00" }' })
  .describe('A weekly range of time: weekdays and a time of day.');

const WINDOW_RANGES = 'must be a list of ranges such as [{ days: "mon-fri", hours: "09:00-17:00" }]';
/** A Monday (UTC): the windows repeat weekly, so 8 days from any instant tell whether they ever open. */
const A_MONDAY = Date.UTC(2026, 0, 5);

const windowsSchema = z
  .strictObject({
    timeZone: z
      .string({ error: 'must be an IANA time zone name such as "Europe/Berlin" or "UTC"' })
      .refine(isKnownTimeZone, { error: (issue) => `unknown time zone "${String(issue.input)}": use an IANA name such as "Europe/Berlin", "America/New_York" or "UTC"` })
      .default('UTC')
      .describe('Time zone whose wall clock the ranges are read on, an IANA name (default "UTC"); daylight saving time is followed.'),
    allow: z.array(windowRangeSchema, { error: WINDOW_RANGES }).default([]).describe('When a deploy may start: any of these ranges (every moment when empty, for deny-only windows).'),
    deny: z.array(windowRangeSchema, { error: WINDOW_RANGES }).default([]).describe('When a deploy may not start, even inside an allow range (deny wins): freezes, peak hours.'),
    outside: z
      .enum(['wait', 'refuse'], { error: 'must be wait or refuse' })
      .default('wait')
      .describe('A deploy started outside the windows: wait (a durable timer, the default) until they open, or refuse it (exit 10). `greenlight deploy --outside-window` chooses per deploy; `--override --reason` deploys now.'),
  })
  .superRefine((windows, ctx) => {
    if (windows.allow.length === 0 && windows.deny.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs `allow` or `deny` ranges, e.g. allow: [{ days: "mon-fri", hours: "09:00-17:00" }]; leave `windows` out to deploy at any time' });
      return;
    }
    const ranges = [...windows.allow, ...windows.deny];
    // Bad ranges are reported on their own paths; the whole week is judged only of good ones.
    if (!isKnownTimeZone(windows.timeZone) || ranges.some((r) => (r.days !== undefined && 'error' in parseDays(r.days)) || (r.hours !== undefined && 'error' in parseHours(r.hours)))) return;
    if (nextAllowed(windows, A_MONDAY) === null) {
      ctx.addIssue({ code: 'custom', path: ['deny'], message: 'covers every allowed moment of the week: no deploy could ever start; narrow deny or widen allow' });
    }
  })
  .optional()
  .describe('Deploy windows: when a deploy may start (weekly ranges on a time zone\'s clock). Outside them a deploy waits on a durable timer, or is refused.');

export const deploySpecSchema = z
  .strictObject({
    app: nameField('app').describe('App name: the deploy lock, container names and nginx upstreams derive from it.'),
    network: networkSchema,
    router: z
      .strictObject({
        port: port('Public port nginx serves the app on (HTTPS with `tls`).').default(4001),
        tls: routerTls,
      })
      .prefault({})
      .describe('The nginx router of the app.'),
    services: z
      .record(notReserved(nameField('service')), serviceSchema, {
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
        window: duration('How long the new color is watched after the switch', '30s', 'one probe round'),
        interval: duration('Time between probe rounds', '250ms'),
        maxErrorRate: z.number().min(0, SHARE).max(1, SHARE).default(0.01).describe('Rollback when the error rate exceeds this share (default 0.01 = 1 %).'),
        maxLatencyIncreaseMs: z.number().min(0, 'must be a number of milliseconds, 0 or more').default(200).describe('Rollback when median latency exceeds the pre-switch baseline by more than this (default 200).'),
        maxConsecutiveHealthFailures: z.number().int(WHOLE_1).min(1, WHOLE_1).default(3).describe('Rollback after this many failed health rounds in a row (default 3).'),
        minSamples: z.number().int(WHOLE_1).min(1, WHOLE_1).default(20).describe('Probes needed before the error rate is judged (default 20).'),
        minRequests: z
          .number()
          .int(WHOLE_1)
          .min(1, WHOLE_1)
          .default(20)
          .describe("Real requests (users' traffic through the router, each attempt nginx made on the new color) it must have had before they are judged: error rate, and median latency (p95 from 100 requests on) against the previous color's (default 20)."),
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
    hooks: hooksSchema,
    notify: notifySchema,
    monitor: monitorSchema,
    promotion: z
      .strictObject({
        manual: z.boolean().default(false).describe('Wait for `greenlight promote` before the switch.'),
        timeout: duration('How long to wait for promote before rolling back', '1h'),
      })
      .prefault({})
      .describe('Optional manual promotion gate.'),
    windows: windowsSchema,
    strategy: z
      .strictObject({
        canary: z
          .strictObject({
            steps: z
              .array(
                z.strictObject({
                  weight: z
                    .number()
                    .int(CANARY_WEIGHT)
                    .min(1, CANARY_WEIGHT)
                    .max(99, CANARY_WEIGHT)
                    .describe('Share of requests (per cent) sent to the new color during this step; the rest stays on the live color.'),
                  pause: duration("How long this step lasts: the new color's and the live color's real traffic are judged over it", '30s'),
                  manual: z.boolean().default(false).describe('After the pause, wait for `greenlight promote` (or a rollback; promotion.timeout rolls back) before the next step.'),
                }),
                { error: 'must be a list of steps, e.g. [{ weight: 10, pause: 30s }, { weight: 50, pause: 1m }]' },
              )
              .min(1, 'needs at least one step, e.g. [{ weight: 10, pause: 30s }]; leave `canary` out for blue/green')
              .describe('The canary steps, in order; after the last one the new color takes all the traffic and verify runs as in blue/green.'),
            sticky: z.boolean().default(false).describe('Keep each client on one color across requests and steps (a cookie, gl_canary_<app>): a client on the new color stays on it as the weight grows.'),
          })
          .optional()
          .describe('Canary steps before the full switch: a share of requests goes to the new color, judged on its real traffic at each step. Blue/green (no canary) is the default.'),
      })
      .optional()
      .describe('How traffic moves to the new color: blue/green (the default) or canary steps.'),
    preview: previewSchema.optional(),
    cleanup: z
      .strictObject({
        previous: z.enum(['stop', 'remove', 'keep']).default('stop').describe('What happens to the previous color: stop (kept for a fast rollback), remove, or keep running.'),
        drain: duration(
          'Longest the previous color is given after the switch to finish its open requests, WebSockets and streams; it is stopped as soon as none is open (the router counts them), then gets SIGTERM and 10 s to close what is left',
          '30s',
          'stop at once',
        ),
      })
      .prefault({})
      .describe('What happens to the previous color after a successful deploy.'),
    retain: z
      .strictObject({
        releases: z
          .number({ error: 'must be a whole number from 1 to 50, e.g. retain: { releases: 5 }' })
          .int('must be a whole number from 1 to 50, e.g. retain: { releases: 5 }')
          .min(1, 'must be at least 1: the release that serves is always retained (leave retain out to remove no images)')
          .max(50, 'must be at most 50: the releases store keeps the newest 50 (older ones are not known to prune)')
          .describe('How many of the newest releases keep their images on the hosts.'),
      })
      .optional()
      .describe("After a successful deploy, remove from every host the images of releases older than the newest `releases` (never an image a container or a retained release uses). Without it no image is removed."),
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
    if (spec.router.tls?.redirectPort === spec.router.port) {
      ctx.addIssue({ code: 'custom', path: ['router', 'tls', 'redirectPort'], message: `port ${spec.router.port} is router.port itself: the redirect needs its own plain-HTTP port (e.g. 80 with router.port 443)` });
    }
    const hostPorts = new Map<number, string>();
    const routes = new Map<string, { service: string; route: string }>();
    for (const [name, service] of Object.entries(spec.services)) {
      // A worker publishes no port and has no route; its own fields were checked with it.
      if (!service.hostPorts || service.route === undefined) continue;
      for (const color of ['blue', 'green'] as const) {
        const hostPort = service.hostPorts[color];
        const where = `services.${name}.hostPorts.${color}`;
        const owner = hostPorts.get(hostPort);
        if (owner) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'hostPorts', color], message: `port ${hostPort} is already used by ${owner}: give every service and color its own host port` });
        } else if (hostPort === spec.router.port) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'hostPorts', color], message: `port ${hostPort} is the router's public port (router.port): pick another host port` });
        } else if (hostPort === spec.router.tls?.redirectPort) {
          ctx.addIssue({ code: 'custom', path: ['services', name, 'hostPorts', color], message: `port ${hostPort} is the router's redirect port (router.tls.redirectPort): pick another host port` });
        }
        hostPorts.set(hostPort, where);
      }
      // "/api" and "/api/" are one prefix to nginx (it serves "/api/..." for both): one service each.
      const prefix = service.route.length > 1 ? service.route.replace(/\/$/, '') : service.route;
      const routeOwner = routes.get(prefix);
      if (routeOwner) {
        const same = routeOwner.route === service.route ? '' : ` ("${routeOwner.route}", the same prefix)`;
        ctx.addIssue({ code: 'custom', path: ['services', name, 'route'], message: `route "${service.route}" is already routed to service "${routeOwner.service}"${same}: give each service its own path prefix` });
      }
      routes.set(prefix, { service: name, route: service.route });
    }
    spec.validate.commands.forEach((command, index) => {
      if (!Object.hasOwn(spec.services, command.service)) {
        ctx.addIssue({
          code: 'custom',
          path: ['validate', 'commands', index, 'service'],
          message: `unknown service "${command.service}": use one of ${Object.keys(spec.services).join(', ')}`,
        });
      }
    });
    if (spec.preview) checkPreview(spec as DeploySpecBeforePreview, ctx);
    for (const stage of HOOK_STAGES) {
      const seen = new Set<string>();
      (spec.hooks?.[stage] ?? []).forEach((hook, index) => {
        if (!Object.hasOwn(spec.services, hook.service)) {
          ctx.addIssue({ code: 'custom', path: ['hooks', stage, index, 'service'], message: `unknown service "${hook.service}": use one of ${Object.keys(spec.services).join(', ')}` });
        }
        if (seen.has(hook.name)) ctx.addIssue({ code: 'custom', path: ['hooks', stage, index, 'name'], message: `"${hook.name}" is used twice in hooks.${stage}: give each hook its own name` });
        seen.add(hook.name);
      });
    }
    if (spec.migrate && !Object.hasOwn(spec.services, spec.migrate.service)) {
      ctx.addIssue({ code: 'custom', path: ['migrate', 'service'], message: `unknown service "${spec.migrate.service}": use one of ${Object.keys(spec.services).join(', ')}` });
    }
    const canary = spec.strategy?.canary;
    if (canary) {
      if (!Object.values(spec.services).some((service) => service.route !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['strategy', 'canary'], message: 'needs a service with a route: a canary splits requests through the router, and this app has only workers; leave `strategy.canary` out' });
      }
      canary.steps.forEach((step, index) => {
        const before = canary.steps[index - 1];
        if (before && step.weight <= before.weight) {
          ctx.addIssue({ code: 'custom', path: ['strategy', 'canary', 'steps', index, 'weight'], message: `must be more than the step before's ${before.weight}: each step sends a larger share to the new color` });
        }
      });
    }
    if (spec.health.timeout > spec.health.deadline) {
      ctx.addIssue({ code: 'custom', path: ['health', 'timeout'], message: 'must not exceed health.deadline: a single probe cannot take longer than the whole gate' });
    }
  })
  .meta({ title: 'greenlight deploy spec', description: 'One app deployed blue/green behind nginx by greenlight (greenlight.yml).' });

type DeploySpecBeforePreview = SpecBeforeChecks & {
  services: Record<string, { hostPorts?: { blue: number; green: number }; route?: string }>;
  preview: { port: number; checks: Array<{ name: string; service?: string }> };
};

/** The preview port is its own (not the router's, a redirect's or a host port), each check's service known and routed. */
function checkPreview(spec: DeploySpecBeforePreview, ctx: z.RefinementCtx): void {
  const { port: previewPort, checks } = spec.preview;
  const routers = [spec.router, ...(spec.hosts ?? []).flatMap((host) => (host.router ? [host.router] : []))];
  const clash =
    routers.some((router) => router.port === previewPort) ? 'the router\'s public port (router.port)'
    : routers.some((router) => router.tls?.redirectPort === previewPort) ? "the router's redirect port (router.tls.redirectPort)"
    : Object.entries(spec.services).find(([, svc]) => svc.hostPorts?.blue === previewPort || svc.hostPorts?.green === previewPort)?.[0];
  if (clash) {
    const what = clash.startsWith('the router') ? clash : `a host port of service "${clash}"`;
    ctx.addIssue({ code: 'custom', path: ['preview', 'port'], message: `port ${previewPort} is ${what}: the preview needs a port of its own (e.g. 4801)` });
  }
  const routed = Object.keys(spec.services).filter((name) => spec.services[name]!.route !== undefined);
  if (routed.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['preview'], message: 'needs a service with a route: the preview serves the new color through the router, and this app has only workers; leave `preview` out' });
  }
  const names = new Set<string>();
  checks.forEach((check, index) => {
    if (names.has(check.name)) ctx.addIssue({ code: 'custom', path: ['preview', 'checks', index, 'name'], message: `check "${check.name}" is listed twice: give every check its own name` });
    names.add(check.name);
    if (check.service !== undefined && !Object.hasOwn(spec.services, check.service)) {
      ctx.addIssue({ code: 'custom', path: ['preview', 'checks', index, 'service'], message: `unknown service "${check.service}": use one of ${Object.keys(spec.services).join(', ')}` });
    }
  });
}

type RouterBeforeChecks = { port: number; tls?: { redirectPort?: number } };
type SpecBeforeChecks = {
  router: RouterBeforeChecks;
  services: Record<string, { hostPorts?: { blue: number; green: number } }>;
  hosts?: Array<{ name: string; taskQueue?: string; router?: RouterBeforeChecks; hostPorts?: Record<string, { blue: number; green: number }> }>;
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
      if (!Object.hasOwn(spec.services, service)) {
        ctx.addIssue({ code: 'custom', path: ['hosts', index, 'hostPorts', service], message: `unknown service "${service}": use one of ${Object.keys(spec.services).join(', ')}` });
      } else if (!spec.services[service]!.hostPorts) {
        ctx.addIssue({ code: 'custom', path: ['hosts', index, 'hostPorts', service], message: `service "${service}" is a worker (no port): it has no host ports to override; remove this entry` });
      }
    }
    // A host's router replaces `router` whole (src/config/hosts.ts): without its own tls, this host
    // would serve plain HTTP where every other host serves HTTPS.
    if (host.router && spec.router.tls && !host.router.tls) {
      ctx.addIssue({
        code: 'custom',
        path: ['hosts', index, 'router', 'tls'],
        message: `is missing while router.tls is set: host ${host.name}'s router replaces \`router\` whole (port and tls), so it would serve plain HTTP; repeat the tls settings here (its own certificate paths on that host)`,
      });
    }
    // Only clashes an override brings in: the spec's own ports are checked once, below.
    const router = host.router ?? spec.router;
    const seen = new Map<number, { what: string; override: boolean; path: PropertyKey[] }>([
      [router.port, { what: 'the router port', override: host.router !== undefined, path: ['hosts', index, 'router', 'port'] }],
    ]);
    const redirectPort = router.tls?.redirectPort;
    if (redirectPort !== undefined) {
      if (host.router && redirectPort === router.port) {
        ctx.addIssue({ code: 'custom', path: ['hosts', index, 'router', 'tls', 'redirectPort'], message: `port ${redirectPort} is this host's router port itself: the redirect needs its own plain-HTTP port` });
      }
      seen.set(redirectPort, { what: 'the redirect port', override: host.router !== undefined, path: ['hosts', index, 'router', 'tls', 'redirectPort'] });
    }
    for (const [service, svc] of Object.entries(spec.services)) {
      if (!svc.hostPorts) continue;
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

/** The limits a service gets when its spec names none. */
export const DEFAULT_LIMITS: ServiceSpec['limits'] = limitsSchema.parse({});

/** The JSON Schema of the spec as users write it (`greenlight schema`; examples/greenlight.schema.json). */
export function deploySpecJsonSchema(): unknown {
  return z.toJSONSchema(deploySpecSchema, { io: 'input', unrepresentable: 'any' });
}
