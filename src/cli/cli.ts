/**
 * The `greenlight` CLI: wires the commands (one per file under commands/) into commander. It talks only
 * to Temporal (never to Docker or nginx), through an injectable `connect`; only `worker` and `doctor`,
 * which run on the Docker host, load worker/ code, when they run. Commands say what happened;
 * exit-codes.ts decides the code; main.ts exits with it.
 *
 * It starts light: this file loads commander, the exit codes and the environment settings only, so
 * `--help`, `--version` and usage errors answer before the Temporal client, zod, the YAML parser or any
 * command is loaded (the dependency-cruiser rule cli-starts-light keeps it so). Each command loads its
 * own modules when it runs, with import(): vitest and tsx resolve it to the TypeScript sources, and
 * scripts/build.cjs turns it into a require in dist/.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import { NAME, NAME_HINT } from '../config/name-rule';
import { ConfigError } from '../errors';
import { hostFromEnv, hostTaskQueueFromEnv, METRICS_ADDRESS_VARIABLE, metricsAddressFromEnv, packageVersion, parseMetricsAddress, SUGGESTED_METRICS_ADDRESS, taskQueueFromEnv } from '../settings';
import { EXIT, EXIT_MEANINGS, exitCodeOf, exitCodeOfError, type CliOutcome, type ExitCode } from './exit-codes';

function collectImage(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new ConfigError([`--image ${value}: expected SERVICE=IMAGE, e.g. --image backend=shop-backend:v2`]);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/**
 * The <app> argument, checked by the spec's own rule for `app:` (src/config/name-rule.ts: no zod at
 * start-up) before anything connects: it names the workflow and goes into visibility queries, so
 * nothing else may pass (commander prints the refusal as a usage error, exit 2).
 */
function appArgument(value: string): string {
  if (!NAME.test(value)) throw new InvalidArgumentError(`${NAME_HINT}; pass the app: of its spec`);
  return value;
}

/** `--metrics-address`, checked as GREENLIGHT_METRICS_ADDRESS is (a usage error, exit 2, names the flag). */
function metricsAddressArgument(value: string): string {
  try {
    return parseMetricsAddress(value, '--metrics-address');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--metrics-address: /, ''));
  }
}

/** `--to`: a release id as `greenlight releases` prints it (r1, r2, ...), or latest/previous. */
function releaseArgument(value: string): string {
  if (!/^(r[1-9]\d{0,8}|latest|previous)$/.test(value)) throw new InvalidArgumentError('must be a release id such as r3 (or previous, latest): `greenlight releases APP` lists them');
  return value;
}

function positiveInteger(value: string): number {
  if (!/^[1-9]\d{0,3}$/.test(value)) throw new InvalidArgumentError('must be a whole number from 1 to 9999, e.g. -n 5');
  return Number(value);
}

export interface CliDeps {
  /** Opens the Temporal client (default: from Temporal's environment configuration). Closed after each command. */
  connect?: () => Promise<Client>;
  /** A command's output lines (default: stdout). */
  out?: (line: string) => void;
  /** greenlight's error lines (default: stderr). */
  err?: (line: string) => void;
  /** commander's own output: help and usage errors (default: stdout and stderr). */
  writeOut?: (text: string) => void;
  writeErr?: (text: string) => void;
  /** Runs the checks of `greenlight doctor` (default: worker/doctor.ts, loaded when the command runs). */
  doctor?: DoctorRunner;
  /** Reads this host's state of an app for `greenlight plan` (default: worker/plan-host.ts, loaded when the command runs). */
  planHost?: PlanHostReader;
}

type PlanHostReader = typeof import('../../worker/plan-host').readHostState;

// The type through import(): an `import type` statement would count as a start-up import of worker/doctor.ts
// for dependency-cruiser's cli-loads-worker-lazily rule.
type DoctorRunner = (request: import('../../worker/doctor').DoctorRequest, out: (line: string) => void) => Promise<{ ok: boolean }>;

/**
 * worker/doctor.ts drives Docker and nginx: loaded on demand like worker/main.ts (see the `worker`
 * command), so no other command loads the host layer.
 */
const loadDoctor: DoctorRunner = async (request, out) => {
  const { runDoctor } = await import('../../worker/doctor');
  return runDoctor(request, out);
};

/**
 * The commander program. Each command's action hands its outcome's exit code to `setExit`; errors a
 * command throws (and commander's own ends, through exitOverride) reject parseAsync: see runCli.
 */
export function buildCli(setExit: (code: ExitCode) => void, deps: CliDeps = {}): Command {
  const out = deps.out ?? ((line: string) => console.log(line));
  const withClient = async (command: (client: Client) => Promise<CliOutcome>): Promise<void> => {
    const { connectClient, lostTemporal } = await import('../temporal');
    const client = await (deps.connect ?? (() => connectClient()))();
    try {
      setExit(exitCodeOf(await command(client)));
    } catch (err) {
      throw lostTemporal(err);
    } finally {
      await client.connection.close();
    }
  };
  const program = new Command('greenlight')
    .exitOverride()
    .configureOutput({ ...(deps.writeOut && { writeOut: deps.writeOut }), ...(deps.writeErr && { writeErr: deps.writeErr }) })
    .description('Zero-downtime blue/green deploys of Docker services behind nginx, as durable Temporal workflows.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces of errors')
    .showHelpAfterError()
    .addHelpText(
      'after',
      `
Exit codes:
${Object.entries(EXIT_MEANINGS).map(([code, meaning]) => `  ${code}  ${meaning}`).join('\n')}

Connection: TEMPORAL_ADDRESS (default 127.0.0.1:7233), TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
TEMPORAL_TLS_CLIENT_CERT_PATH/KEY_PATH, TEMPORAL_PROFILE (Temporal's config profiles).`,
    );

  program
    .command('deploy')
    .description('deploy an app: validate, start the new color, health-check, switch, verify, clean up')
    .option('-f, --file <path>', 'deploy spec (YAML)', 'greenlight.yml')
    .option('-i, --image <service=image>', 'image for a service (repeatable); overrides the spec', collectImage, {})
    .option('--no-wait', 'return once the deploy has started')
    .option('--json', 'print the result as JSON')
    .addOption(new Option('--task-queue <name>', 'task queue of the worker on the target host').default(taskQueueFromEnv()))
    .option('--requested-by <who>', 'who asked for the deploy (CI job URL, user); shown in status')
    .addOption(new Option('--outside-window <choice>', "outside the spec's deploy windows: wait until they open, or refuse (exit 10); default windows.outside").choices(['wait', 'refuse']))
    .option('--override', 'deploy now even outside the deploy windows (needs --reason; recorded with who asked)')
    .option('--reason <text>', 'why the deploy windows are overridden (with --override)')
    .option('--queue', 'if a deploy of the app runs, wait for it instead of refusing (exit 3); the latest queued request wins, superseded ones exit 11')
    .addHelpText(
      'after',
      '\nExamples:\n  greenlight deploy -f greenlight.yml --image backend=shop-backend:v2\n  greenlight deploy --no-wait --json\n  greenlight deploy --queue --requested-by "$CI_JOB_URL"   # CI on every merge\n  greenlight deploy --outside-window refuse          # CI: fail (exit 10) rather than wait for the window\n  greenlight deploy --override --reason "hotfix for INC-42"',
    )
    .action(async (opts, command: Command) => {
      // Usage first (exit 2, nothing loaded or connected): an override must say why.
      if (opts.override && !opts.reason?.trim()) command.error('error: --override needs --reason "<why>": the override of the deploy window is recorded with its reason');
      if (opts.reason !== undefined && !opts.override) command.error('error: --reason goes with --override (a rollback takes its own --reason)');
      // The spec first: a bad one is exit 2 whether or not Temporal is up.
      const { loadDeploySpec } = await import('../config/load');
      const spec = await loadDeploySpec(opts.file, opts.image);
      if ((opts.override || opts.outsideWindow) && !spec.windows) {
        command.error(`error: ${opts.override ? '--override' : '--outside-window'}: the spec of ${spec.app} has no \`windows\`, so a deploy may start at any time; leave the flag out`);
      }
      const window = { outside: opts.outsideWindow as 'wait' | 'refuse' | undefined, override: opts.override ? (opts.reason as string).trim() : undefined };
      const { deploy } = await import('./commands/deploy');
      await withClient((client) => deploy(client, spec, { wait: opts.wait, json: Boolean(opts.json), taskQueue: opts.taskQueue, requestedBy: opts.requestedBy, window, queue: Boolean(opts.queue), out }));
    });

  program
    .command('plan')
    .description('what a deploy of the spec would change (images, env and secret names, ports, settings, router config, containers) and drift on the host; changes nothing')
    .option('-f, --file <path>', 'deploy spec (YAML)', 'greenlight.yml')
    .option('-i, --image <service=image>', 'image for a service (repeatable); overrides the spec', collectImage, {})
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', '\nEnv and secrets are shown by name, never by value. Exit 0: no changes, 8: changes, 9: drift, 2: bad spec, 4: a fleet host could not be read.\nFor one host, run it on the Docker host (it reads the Docker engine and the router there); a fleet\'s hosts are read through their workers.\n\nExamples:\n  greenlight plan -f greenlight.yml --image backend=shop-backend:v2\n  greenlight plan --json | jq .hosts[0].services')
    .action(async (opts) => {
      const { loadDeploySpec } = await import('../config/load');
      const spec = await loadDeploySpec(opts.file, opts.image);
      const { planDeploy } = await import('./commands/plan');
      const readHost: PlanHostReader = deps.planHost ?? (async (next, live) => (await import('../../worker/plan-host')).readHostState(next, live));
      await withClient((client) => planDeploy(client, spec, { json: Boolean(opts.json), out, readHost }));
    });

  program
    .command('rollback')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description('during a deploy: roll it back now; after a deploy: bring the previous version back (health-gated switch)')
    .option('-r, --reason <text>', 'why (recorded in the deploy)', 'requested by operator')
    .option('--no-wait', 'return once a restore has started')
    .option('--json', 'print the result as JSON')
    .option('--task-queue <name>', "task queue of the worker for a restore (default: the restored deploy's own)")
    .option('--to <release>', 'deploy this release again (r3, or previous; `greenlight releases APP` lists them) through the whole pipeline', releaseArgument)
    .option('--fast', 'to the previous release, still kept as the previous color: start it again and switch after one healthy round (no full health gate, one verify round)')
    .addHelpText('after', '\nExamples:\n  greenlight rollback shop --reason "checkout errors"   # during a deploy: compensation now\n  greenlight rollback shop                              # after a deploy: previous images back\n  greenlight rollback shop --to r3                      # release r3 again, through the whole pipeline\n  greenlight rollback shop --fast                       # the kept previous color, in seconds')
    .action(async (app: string, opts) => {
      const { rollback } = await import('./commands/rollback');
      await withClient((client) => rollback(client, app, { reason: opts.reason, taskQueue: opts.taskQueue, to: opts.to, fast: Boolean(opts.fast), json: Boolean(opts.json), wait: opts.wait, out }));
    });

  program
    .command('prune')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description("on the Docker host: remove the images of the app's old releases that `retain` would remove (never one a container or a retained release uses)")
    .option('--dry-run', 'list what would be removed, change nothing')
    .option('--retain <n>', "releases to retain (default: the latest release's retain.releases)", positiveInteger)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nRun it on the Docker host: it removes from this host\'s Docker engine only (each host of a fleet prunes its own).\nRefused (exit 3) while a deploy of the app runs, unless --dry-run.\n\nExamples:\n  greenlight prune shop --dry-run\n  greenlight prune shop --retain 3 --json')
    .action(async (app: string, opts: { dryRun?: boolean; retain?: number; json?: boolean }) => {
      const { prune } = await import('./commands/prune');
      const host = async () => (await import('../../worker/prune-host')).pruneHostHere();
      await withClient((client) => prune(client, app, { dryRun: Boolean(opts.dryRun), retain: opts.retain, json: Boolean(opts.json), out, host }));
    });

  program
    .command('logs')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description("on the Docker host: the container logs (stdout and stderr) a rolled-back deploy's new color left there, kept before its containers were removed")
    .option('--deploy <id>', "the deploy's run id (greenlight status/history show it); default: the latest deploy whose logs are kept")
    .option('--json', 'print the record and each file\'s text as JSON')
    .addHelpText('after', '\nReads <GREENLIGHT_HOME>/logs/<app>/ on this host (no Temporal needed): run it where the worker runs, as its user.\nEach container keeps its last 2,000 lines (at most 1 MiB), secrets\' values redacted; the newest 10 deploys per app are kept.\n\nExamples:\n  greenlight logs shop\n  greenlight logs shop --deploy 0192f1c4-... --json')
    .action(async (app: string, opts: { deploy?: string; json?: boolean }) => {
      const { logs } = await import('./commands/logs');
      const reader = async () => (await import('../../worker/logs-host')).keptLogsReaderHere();
      setExit(exitCodeOf(await logs(app, { deployId: opts.deploy, json: Boolean(opts.json), out, logs: reader })));
    });

  program
    .command('releases')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description('the releases of an app (every successful deploy): images and their ids, spec hash, env names, who, when; newest first')
    .option('--json', 'print the records as JSON (without their specs)')
    .addHelpText('after', '\nExamples:\n  greenlight releases shop\n  greenlight releases shop --json | jq .[-1].images')
    .action(async (app: string, opts) => {
      const { releases } = await import('./commands/releases');
      await withClient((client) => releases(client, app, Boolean(opts.json), out));
    });

  program
    .command('promote')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description('release the manual promotion gate of the running deploy of an app')
    .addHelpText('after', '\nExample:\n  greenlight promote shop')
    .action(async (app: string) => {
      const { promote } = await import('./commands/promote');
      await withClient((client) => promote(client, app, out));
    });

  program
    .command('cancel')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description('cancel the running deploy of an app; compensation still runs (nothing is left half-done)')
    .addHelpText('after', '\nExample:\n  greenlight cancel shop')
    .action(async (app: string) => {
      const { cancel } = await import('./commands/cancel');
      await withClient((client) => cancel(client, app, out));
    });

  program
    .command('status')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description('live color and images (since when) and the running or last deploy with its phase')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  greenlight status shop\n  greenlight status shop --json | jq .liveColor')
    .action(async (app: string, opts) => {
      const { status } = await import('./commands/status');
      const traffic = async (name: string) => (await import('../../worker/traffic')).localTraffic(name);
      await withClient((client) => status(client, app, Boolean(opts.json), out, traffic));
    });

  program
    .command('maintenance')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .argument('<state>', 'on: nginx answers 503 with Retry-After and a page; off: the app serves again')
    .description('maintenance mode on every host of an app: 503 + Retry-After and a page, no nginx reload; deploys still run behind it')
    .option('-m, --message <text>', `the default page's message (one line, at most 500 characters)`)
    .option('--retry-after <seconds>', 'Retry-After, whole seconds from 1 to 86400', undefined)
    .option('--page <file>', 'your own HTML page instead of the default one (UTF-8, at most 64 KiB)')
    .option('-f, --file <path>', "the spec whose hosts to change (default: the hosts of the app's last deploy)")
    .addOption(new Option('--task-queue <name>', "task queue of the worker for a one-host app (default: the last deploy's)"))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  greenlight maintenance shop on --message "Back at 14:00 UTC" --retry-after 600\n  greenlight maintenance shop on --page maintenance.html\n  greenlight maintenance shop off')
    .action(async (app: string, state: string, opts: { message?: string; retryAfter?: string; page?: string; file?: string; taskQueue?: string; json?: boolean }) => {
      // Every argument first: bad input is exit 2 with nothing started, whether or not Temporal is up.
      const [{ parseMaintenanceArgs }, { maintenance, readPageArg }] = await Promise.all([import('../maintenance'), import('./commands/maintenance')]);
      const page = opts.page === undefined ? null : await readPageArg(opts.page);
      const change = parseMaintenanceArgs({ state, message: opts.message, retryAfter: opts.retryAfter, page });
      const spec = opts.file === undefined ? null : await (await import('../config/load')).loadDeploySpec(opts.file);
      await withClient((client) => maintenance(client, app, { change, spec, taskQueue: opts.taskQueue, fallbackTaskQueue: taskQueueFromEnv(), json: Boolean(opts.json), out }));
    });

  program
    .command('explain')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .argument('[run]', 'the run id of one deploy (greenlight history APP); default: the latest')
    .description('why a deploy rolled back (or passed): the rule, its threshold and the figures, from its recorded result')
    .option('--json', 'print the explanation as JSON')
    .addHelpText('after', '\nExamples:\n  greenlight explain shop\n  greenlight explain shop 0192f1c4-... --json')
    .action(async (app: string, run: string | undefined, opts) => {
      const { explain } = await import('./commands/explain');
      await withClient((client) => explain(client, app, run, Boolean(opts.json), out));
    });

  program
    .command('history')
    .argument('<app>', 'the app (its spec\'s app:)', appArgument)
    .description('the last deploys of an app with outcome and duration (Temporal visibility)')
    .option('-n, --limit <n>', 'how many', positiveInteger, 10)
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  greenlight history shop -n 5')
    .action(async (app: string, opts) => {
      const { history } = await import('./commands/history');
      await withClient((client) => history(client, app, opts.limit, Boolean(opts.json), out));
    });

  program
    .command('schema')
    .description('print the JSON Schema of the deploy spec, for editors (examples/greenlight.schema.json)')
    .addHelpText('after', '\nExample:\n  greenlight schema > greenlight.schema.json\n  (and atop greenlight.yml: # yaml-language-server: $schema=./greenlight.schema.json)')
    .action(async () => {
      const { deploySpecJsonSchema } = await import('../config/schema');
      out(JSON.stringify(deploySpecJsonSchema(), null, 2));
      setExit(exitCodeOf('done'));
    });

  program
    .command('doctor')
    .description("check this host for its worker: Docker, nginx and its Lua module, greenlight's nginx, Temporal and the namespace, the worker's pollers, the clock, GREENLIGHT_HOME")
    .option('--host <name>', 'the fleet host to check for (its task queue); default GREENLIGHT_HOST')
    .option('--json', 'print the checks as JSON')
    .option('--pre-start', "before the worker starts (systemd's ExecStartPre): leave out the worker's pollers and greenlight's nginx, which the worker brings up")
    .addHelpText(
      'after',
      '\nRun it as the worker runs (same user and environment). One line per check: `ok <what>: <detail>` or\n`FAIL <what>: <detail>; fix: <how>`; exit 0 when all pass, 4 when any fails.\n\nExamples:\n  greenlight doctor\n  greenlight doctor --host web-1 --json',
    )
    .action(async (opts: { host?: string; json?: boolean; preStart?: boolean }) => {
      const request = { host: opts.host ?? hostFromEnv(), hostTaskQueue: hostTaskQueueFromEnv(), taskQueue: taskQueueFromEnv(), preStart: Boolean(opts.preStart), json: Boolean(opts.json) };
      const report = await (deps.doctor ?? loadDoctor)(request, out);
      setExit(exitCodeOf(report.ok ? 'done' : 'checks-failed'));
    });

  program
    .command('codec-server')
    .description('serve the payload codec (POST /decode, /encode) so the Temporal UI shows decrypted payloads, until stopped')
    .option('--host <address>', 'address to listen on (whoever reaches it reads decoded payloads)', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on', (v) => Number.parseInt(v, 10), 8234)
    .option('--ui-origin <origin>', 'origin of the Temporal UI allowed to call it (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--token-file <path>', 'require Authorization: Bearer <the token in this file> (or set GREENLIGHT_CODEC_TOKEN)')
    .addHelpText('after', '\nUses the payload keys of GREENLIGHT_PAYLOAD_KEYS / GREENLIGHT_PAYLOAD_KEY_FILE / $GREENLIGHT_HOME/payload-keys, as the CLI and\nthe worker do. In the UI: settings (the slider icon) > Codec Server, or start the dev server with\n--ui-codec-endpoint http://127.0.0.1:8234.\n\nExamples:\n  greenlight codec-server\n  greenlight codec-server --port 8234 --ui-origin https://temporal.example.com --token-file /etc/greenlight/codec-token')
    .action(async (opts: { host: string; port: number; uiOrigin?: string[]; tokenFile?: string }) => {
      const uiOrigins = opts.uiOrigin ?? [`http://127.0.0.1:${process.env.GL_TEMPORAL_UI_PORT ?? 8233}`, `http://localhost:${process.env.GL_TEMPORAL_UI_PORT ?? 8233}`];
      const { codecServer } = await import('./commands/codec-server');
      setExit(exitCodeOf(await codecServer({ host: opts.host, port: opts.port, uiOrigins, tokenFile: opts.tokenFile, out })));
    });

  program
    .command('worker')
    .description('run a worker for this Docker host (deploy workflows and their activities)')
    .option('--host <name>', "the fleet host this worker serves (a spec's hosts[].name); default GREENLIGHT_HOST")
    .option('--host-task-queue <name>', "the host's own task queue, if the spec sets hosts[].taskQueue (default greenlight-host-<name>)")
    .option('--metrics-address <ip:port>', `serve Prometheus metrics on http://<ip:port>/metrics, e.g. ${SUGGESTED_METRICS_ADDRESS}; default ${METRICS_ADDRESS_VARIABLE}, else none`, metricsAddressArgument)
    .addHelpText('after', `\nEnvironment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE,\nGREENLIGHT_TASK_QUEUE (default greenlight), GREENLIGHT_HOME (nginx prefix and state, default .greenlight),\nGREENLIGHT_HOST (the fleet host), ${METRICS_ADDRESS_VARIABLE} (Prometheus endpoint, default off),\nDOCKER_HOST (the Docker engine, default the local socket)\n\nExamples:\n  greenlight worker                # one host\n  greenlight worker --host web-1   # on host web-1 of a fleet (spec: hosts: [{ name: web-1 }, ...])\n  greenlight worker --metrics-address ${SUGGESTED_METRICS_ADDRESS}   # scrape http://${SUGGESTED_METRICS_ADDRESS}/metrics`)
    .action(async (opts: { host?: string; hostTaskQueue?: string; metricsAddress?: string }) => {
      const metricsAddress = opts.metricsAddress ?? metricsAddressFromEnv();
      // Loaded on demand: the worker SDK (native) is heavy and other commands never need it.
      const { runWorker } = await import('../../worker/main');
      await runWorker({}, { host: opts.host ?? hostFromEnv(), hostTaskQueue: opts.hostTaskQueue ?? hostTaskQueueFromEnv(), metricsAddress });
      setExit(exitCodeOf('done'));
    });

  return program;
}

/** Runs `greenlight` on `argv` (node's: [node, script, ...args]) and returns the exit code; never throws. */
export async function runCli(argv: readonly string[], deps: CliDeps = {}): Promise<ExitCode> {
  const err = deps.err ?? ((line: string) => console.error(line));
  let code: ExitCode = EXIT.ok;
  const program = buildCli((c) => (code = c), deps);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // commander has printed its own errors and help already.
    if (!(error instanceof CommanderError)) {
      const verbose = program.opts().verbose || argv.includes('--verbose');
      err(`greenlight: ${(error as Error).message}`);
      if (verbose) err(String((error as Error).stack));
    }
    code = exitCodeOfError(error);
  }
  return code;
}
