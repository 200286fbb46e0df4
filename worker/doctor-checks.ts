/**
 * The checks of `greenlight doctor`. Each takes the clients it needs as parameters (the unit tests pass
 * fakes), and ends as ok with what it saw, or as a failure saying what failed and how to fix it; none
 * throws, each is bounded in time, and all run even when one fails. worker/doctor.ts wires the real
 * clients and prints the lines.
 */
import { randomBytes } from 'node:crypto';
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { adminSocketPath } from '../host/builders/nginx';
import { CAPACITY_CHECK_VAR, formatBytes, ONE_DEFAULT_SERVICE, type HostCapacity } from '../host/capacity';
import type { DockerHost } from '../host/docker';
import { NginxNotInstalledError, RouterConfigRejectedError, type NginxRouter } from '../host/nginx';
import { CLOCK_PROBE, hostTaskQueue } from '../src/names';
import { KEY_FILE_VARIABLE, KEYS_VARIABLE, type PayloadKey } from '../src/codec';
import { MIN_REDACTED_LENGTH, SECRETS_FILE_VAR, SECRETS_LIST_VAR, type SecretPolicy } from '../src/secrets';
import { METRICS_ADDRESS_VARIABLE, metricsUrl, SUGGESTED_METRICS_ADDRESS } from '../src/settings';

/** Every check gets this long; one that has not answered by then fails with its fix. */
export const CHECK_TIMEOUT_MS = 5_000;
/** One Temporal RPC's deadline, inside a check's time. */
const RPC_DEADLINE_MS = 3_000;
/** More skew than this between this host's clock and the Temporal server's fails the clock check. */
export const MAX_CLOCK_SKEW_MS = 2_000;
/**
 * A live worker long-polls its queue without pause, and the server stamps a poller's last access when a
 * poll arrives: an idle worker's is at most about a minute old (55 s measured on the dev server, whose
 * long poll ends after a minute). The server keeps listing a stopped worker for minutes, with an ever
 * older stamp; one stopped less than this long ago still counts as polling.
 */
export const POLLER_FRESH_MS = 75_000;

/** temporal.api.enums.v1 values (@temporalio/proto is not a direct dependency). */
const TASK_QUEUE_KIND_NORMAL = 1;
const TASK_QUEUE_TYPE = { workflows: 1, activities: 2 } as const;
const NAMESPACE_STATE: Record<number, string> = { 1: 'registered', 2: 'deprecated', 3: 'deleted' };
/** gRPC status codes. */
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

/** A passing check may warn: it does not fail doctor (nor the worker's start), and says what to change. */
export type Verdict = { ok: true; detail: string; warning?: string } | { ok: false; detail: string; fix: string };

export interface Check {
  /** What is checked, as the line names it: "docker", "task queue greenlight (workflows)". */
  what: string;
  /** The fix when the check runs out of time or fails in a way it does not tell apart. */
  fix: string;
  run: () => Promise<Verdict>;
}

export interface CheckResult {
  what: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** What to change, for a check that passed with a warning. */
  warning?: string;
}

const ok = (detail: string): Verdict => ({ ok: true, detail });
const fail = (detail: string, fix: string): Verdict => ({ ok: false, detail, fix });

/** An error's message on one line. */
function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n').map((line) => line.trim()).filter(Boolean).join(' ') || (err as Error)?.name || 'unknown error';
}

function codeOf(err: unknown): string {
  return String((err as NodeJS.ErrnoException)?.code ?? '');
}

/** What nginx complained about, on one line: its [emerg] lines (else its first line), without the "test failed" trailer. */
function nginxComplaint(message: string): string {
  const lines = message.split('\n').map((line) => line.replace(/^nginx: /, '').trim()).filter((line) => line && !/test failed$/.test(line));
  const serious = lines.filter((line) => /\[(emerg|crit)\]/.test(line));
  return (serious.length > 0 ? serious : lines.slice(0, 1)).join('; ') || message.trim();
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** Runs one check within `timeoutMs`; never throws. */
export async function runCheck(check: Check, timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<Verdict>((resolve) => {
    timer = setTimeout(() => resolve(fail(`no answer within ${seconds(timeoutMs)}`, check.fix)), timeoutMs);
  });
  try {
    const verdict = await Promise.race([check.run().catch((err: unknown) => fail(messageOf(err), check.fix)), outOfTime]);
    return { what: check.what, ...verdict };
  } finally {
    clearTimeout(timer);
  }
}

/** All checks at once, each within `timeoutMs`: the results in the checks' order. */
export function runChecks(checks: Check[], timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult[]> {
  return Promise.all(checks.map((check) => runCheck(check, timeoutMs)));
}

/** `ok <what>: <detail>`, `warn <what>: <detail>; fix: <how>` or `FAIL <what>: <detail>; fix: <how>`. */
export function formatResult(result: CheckResult): string {
  if (result.ok) return result.warning ? `warn ${result.what}: ${result.detail}; fix: ${result.warning}` : `ok ${result.what}: ${result.detail}`;
  return `FAIL ${result.what}: ${result.detail}; fix: ${result.fix}`;
}

/** The command that starts this host's worker, and its systemd unit when it serves a fleet host. */
function workerCommand(host: string | null, verb: 'start' | 'restart' = 'start'): string {
  return host ? `\`greenlight worker --host ${host}\` (systemctl ${verb} greenlight-worker@${host})` : '`greenlight worker`';
}

export function homeWritable(home: string, user: string, probeWrite: (dir: string) => Promise<void>): Check {
  const chown = `chown -R ${user} ${home}, or set GREENLIGHT_HOME to a folder ${user} owns`;
  return {
    what: 'GREENLIGHT_HOME',
    fix: chown,
    run: async () => {
      try {
        await probeWrite(home);
        return ok(`${home} is writable by ${user}`);
      } catch (err) {
        if (codeOf(err) === 'ENOENT') return fail(`${home} does not exist`, `mkdir -p ${home} && chown ${user} ${home} (the systemd unit's StateDirectory= makes it), or set GREENLIGHT_HOME`);
        if (['EACCES', 'EPERM', 'EROFS'].includes(codeOf(err))) return fail(`${home} is not writable by ${user} (${codeOf(err)})`, chown);
        throw err;
      }
    },
  };
}

export function dockerReachable(docker: Pick<DockerHost, 'ping' | 'version'>, target: string, user: string): Check {
  const start = 'start the engine (systemctl start docker; scripts/docker.sh in a checkout), or point DOCKER_HOST at it';
  return {
    what: 'docker',
    fix: start,
    run: async () => {
      try {
        await docker.ping();
        const { version, apiVersion } = await docker.version();
        return ok(`Docker Engine ${version} (API ${apiVersion}) at ${target}`);
      } catch (err) {
        const message = messageOf(err);
        if (/EACCES|permission denied/i.test(message)) {
          return fail(`permission denied on ${target} (${message})`, `add ${user} to the docker group (usermod -aG docker ${user}; the systemd unit sets SupplementaryGroups=docker) and start a new session`);
        }
        if (/ENOENT|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT/.test(message)) return fail(`no Docker engine answers at ${target} (${message})`, start);
        return fail(`Docker engine at ${target}: ${message}`, start);
      }
    },
  };
}

/**
 * Docker's live-restore: without it a dockerd restart (an upgrade of Docker) stops every container, the
 * live color's too, and the app is down until they are back (1,150 of 8,000 requests failed in 5.3 s).
 * A warning, not a failure: the worker runs either way.
 */
export function dockerLiveRestore(docker: Pick<DockerHost, 'liveRestore'>): Check {
  const fix = 'set "live-restore": true in /etc/docker/daemon.json and reload dockerd (systemctl reload docker, or kill -HUP its pid): containers then keep running while dockerd restarts';
  return {
    what: 'docker live-restore',
    fix,
    run: async () => ((await docker.liveRestore()) ? ok('on: containers keep running while dockerd restarts') : { ok: true, detail: 'off: a dockerd restart stops every container, the live color too', warning: fix }),
  };
}

const INSTALL_NGINX = 'apt-get install nginx-light libnginx-mod-http-lua (scripts/nginx.sh in a checkout)';

export function nginxInstalled(router: Pick<NginxRouter, 'version' | 'nginxBin'>): Check {
  return {
    what: 'nginx',
    fix: INSTALL_NGINX,
    run: async () => {
      try {
        const version = /nginx version: (\S+)/.exec(await router.version())?.[1];
        return version ? ok(`${version} (${router.nginxBin} -V)`) : fail(`\`${router.nginxBin} -V\` printed no version`, INSTALL_NGINX);
      } catch (err) {
        if (err instanceof NginxNotInstalledError) return fail(`no "${err.nginxBin}" on PATH`, INSTALL_NGINX);
        throw err;
      }
    },
  };
}

export function nginxLuaModule(router: Pick<NginxRouter, 'testRenderedConfig' | 'modulesDir'>): Check {
  const install = `apt-get install libnginx-mod-http-lua (it puts ndk_http_module.so and ngx_http_lua_module.so in ${router.modulesDir})`;
  return {
    what: 'nginx lua module',
    fix: install,
    run: async () => {
      try {
        await router.testRenderedConfig();
        return ok(`ndk_http_module.so and ngx_http_lua_module.so from ${router.modulesDir} load (nginx -t of a rendered main config in a throwaway prefix)`);
      } catch (err) {
        if (err instanceof NginxNotInstalledError) return fail(`no "${err.nginxBin}" to load it with`, INSTALL_NGINX);
        if (err instanceof RouterConfigRejectedError) return fail(nginxComplaint(err.message.replace(/^nginx -t rejected \S+: /, '')), install);
        throw err;
      }
    },
  };
}

export function nginxMainConfig(router: Pick<NginxRouter, 'testMainConfig' | 'mainConfPath' | 'appsDir'>, fileExists: (path: string) => Promise<boolean>, host: string | null): Check {
  const fixApps = `fix or remove the app config nginx names (in ${router.appsDir}); the worker rewrites nginx.conf itself when it starts`;
  return {
    what: 'nginx config',
    fix: fixApps,
    run: async () => {
      if (!(await fileExists(router.mainConfPath))) {
        return fail(`no ${router.mainConfPath} yet`, `start ${workerCommand(host)}: it writes the config and starts nginx (scripts/nginx.sh in a checkout)`);
      }
      try {
        await router.testMainConfig();
        return ok(`${router.mainConfPath} passes nginx -t`);
      } catch (err) {
        if (err instanceof NginxNotInstalledError) return fail(`no "${err.nginxBin}" to test it with`, INSTALL_NGINX);
        if (err instanceof RouterConfigRejectedError) return fail(nginxComplaint(err.message.replace(/^nginx -t rejected \S+: /, '')), fixApps);
        throw err;
      }
    },
  };
}

export function nginxRunning(router: Pick<NginxRouter, 'pid' | 'pingAdmin' | 'prefix' | 'mainConfPath'>, host: string | null): Check {
  const socket = adminSocketPath(router.prefix);
  const start = `start ${workerCommand(host)}: it starts greenlight's nginx (scripts/nginx.sh in a checkout)`;
  return {
    what: 'nginx running',
    fix: start,
    run: async () => {
      const pid = await router.pid();
      if (pid === null) return fail(`greenlight's nginx is not running (no live pid in ${router.prefix}/nginx.pid)`, start);
      try {
        await router.pingAdmin();
        return ok(`pid ${pid}, admin socket ${socket} answers`);
      } catch (err) {
        // E.g. an nginx started by an older greenlight, its socket elsewhere: the worker's start rewrites
        // the main config and reloads nginx, without dropping a connection.
        return fail(
          `pid ${pid}, but its admin socket ${socket} does not answer (${messageOf(err)})`,
          `restart ${workerCommand(host, 'restart')}: it rewrites ${router.mainConfPath} and reloads nginx; if the socket still does not answer, see ${router.prefix}/logs/error.log`,
        );
      }
    },
  };
}

/** The Temporal connection the checks share, opened once with the settings the CLI and the worker use. */
export interface TemporalAccess {
  /** Where the connection settings point; null when they could not be read (`client` then rejects with why). */
  address: string | null;
  namespace: string;
  client: Promise<Client>;
}

/** The client, or a failure of a check that needs Temporal when the temporal check failed. */
async function clientOr(temporal: TemporalAccess): Promise<Client | Verdict> {
  try {
    return await temporal.client;
  } catch {
    return fail('not checked: Temporal is unreachable (see the temporal line)', 'make Temporal reachable first (the temporal line says how)');
  }
}

function rpc<R>(client: Client, call: () => Promise<R>): Promise<R> {
  return client.connection.withDeadline(Date.now() + RPC_DEADLINE_MS, call);
}

export function temporalReachable(temporal: TemporalAccess, host: string | null): Check {
  const where = host ? `/etc/greenlight/${host}.env for the systemd unit` : "the worker's environment";
  const point = `start Temporal there (scripts/temporal.sh in a checkout), or set TEMPORAL_ADDRESS / TEMPORAL_PROFILE (with TEMPORAL_API_KEY or TEMPORAL_TLS_* for a cloud) in ${where}`;
  return {
    what: 'temporal',
    fix: point,
    run: async () => {
      let client: Client;
      try {
        client = await temporal.client;
      } catch (err) {
        if (temporal.address === null) return fail(messageOf(err), 'fix TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE, or unset them and set TEMPORAL_ADDRESS');
        return fail(`cannot connect to ${temporal.address} (${messageOf(err)})`, point);
      }
      const { serverVersion } = await rpc(client, () => client.workflowService.getSystemInfo({}));
      return ok(`${temporal.address}, server ${serverVersion || '(version not reported)'}`);
    },
  };
}

export function temporalNamespace(temporal: TemporalAccess): Check {
  const { namespace } = temporal;
  const create = `create it (temporal operator namespace create --namespace ${namespace}) or set TEMPORAL_NAMESPACE to an existing one`;
  return {
    what: 'temporal namespace',
    fix: create,
    run: async () => {
      const client = await clientOr(temporal);
      if ('ok' in client) return client;
      try {
        const described = await rpc(client, () => client.workflowService.describeNamespace({ namespace }));
        const state = NAMESPACE_STATE[described.namespaceInfo?.state ?? 0] ?? 'in an unknown state';
        return state === 'registered' ? ok(`${namespace} (registered)`) : fail(`${namespace} is ${state}`, `use a registered namespace (TEMPORAL_NAMESPACE)`);
      } catch (err) {
        if (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND) return fail(`${namespace} does not exist on ${temporal.address}`, create);
        if (isGrpcServiceError(err) && (err.code === GRPC_PERMISSION_DENIED || err.code === GRPC_UNAUTHENTICATED)) {
          return fail(`access to ${namespace} denied (${err.details})`, "check TEMPORAL_API_KEY or the client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH) in the worker's environment");
        }
        throw err;
      }
    },
  };
}

/**
 * A live worker polls `taskQueue` for `kind` tasks. `describeTaskQueue` lists the pollers the server
 * saw lately, each with the time of its last poll.
 */
export function taskQueuePolled(temporal: TemporalAccess, taskQueue: string, kind: 'activities' | 'workflows', host: string | null, now: () => number): Check {
  const start = `start ${workerCommand(host)} on this host`;
  return {
    what: `task queue ${taskQueue} (${kind})`,
    fix: start,
    run: async () => {
      const client = await clientOr(temporal);
      if ('ok' in client) return client;
      const described = await rpc(client, () =>
        client.workflowService.describeTaskQueue({ namespace: temporal.namespace, taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL }, taskQueueType: TASK_QUEUE_TYPE[kind] }),
      );
      const pollers = (described.pollers ?? [])
        .map((poller) => ({ identity: poller.identity || '(no identity)', lastPoll: optionalTsToMs(poller.lastAccessTime) ?? 0 }))
        .sort((a, b) => b.lastPoll - a.lastPoll);
      const live = pollers.filter((poller) => now() - poller.lastPoll <= POLLER_FRESH_MS);
      if (live.length > 0) {
        return ok(`${live.length} worker${live.length === 1 ? '' : 's'} polling (${live.map((p) => p.identity).join(', ')}; last poll ${seconds(Math.max(0, now() - live[0]!.lastPoll))} ago)`);
      }
      if (pollers.length > 0) return fail(`no worker polled it in the last ${seconds(POLLER_FRESH_MS)} (last: ${pollers[0]!.identity}, ${seconds(now() - pollers[0]!.lastPoll)} ago)`, start);
      return fail('no worker polls it', start);
    },
  };
}

/**
 * How far this host's clock is off the server's, from the start time the server stamped on a request
 * sent at `sentAt` and answered at `answeredAt` (local clock): with agreeing clocks, the stamp lies
 * between the two, so the skew is at least the stamp's distance outside that interval.
 */
export function judgeClockSkew(serverMs: number, sentAt: number, answeredAt: number, maxSkewMs = MAX_CLOCK_SKEW_MS): Verdict {
  const localAhead = (sentAt + answeredAt) / 2 - serverMs;
  const margin = (answeredAt - sentAt) / 2;
  const atLeast = Math.max(0, Math.abs(localAhead) - margin);
  const way = localAhead >= 0 ? 'ahead of' : 'behind';
  const detail = `this host's clock is ${Math.round(Math.abs(localAhead))} ms ${way} the Temporal server's (±${Math.ceil(margin)} ms, from the start time of a probe workflow)`;
  if (atLeast <= maxSkewMs) return ok(detail);
  return fail(`${detail}: more than ${seconds(maxSkewMs)}`, 'sync the clock (timedatectl set-ntp true, or chrony / ntpd): timeouts are measured on the server, and steps on different hosts are timed against each other');
}

/** Starts a throwaway execution (no worker polls its queue), reads the start time the server stamped on it, and terminates it. */
export function clockInSync(temporal: TemporalAccess, host: string | null, now: () => number): Check {
  return {
    what: 'clock',
    fix: 'sync the clock (timedatectl set-ntp true, or chrony / ntpd)',
    run: async () => {
      const client = await clientOr(temporal);
      if ('ok' in client) return client;
      const workflowId = `${CLOCK_PROBE.workflowIdPrefix}${host ?? 'local'}-${randomBytes(4).toString('hex')}`;
      const sentAt = now();
      const handle = await client.workflow.start(CLOCK_PROBE.workflowType, {
        taskQueue: CLOCK_PROBE.taskQueue,
        workflowId,
        workflowExecutionTimeout: '1 minute',
        staticSummary: 'greenlight doctor: clock probe (terminated at once)',
      });
      const answeredAt = now();
      try {
        const { startTime } = await handle.describe();
        return judgeClockSkew(startTime.getTime(), sentAt, answeredAt);
      } finally {
        await handle.terminate('greenlight doctor: clock probe done').catch(() => undefined);
      }
    },
  };
}

/**
 * The secrets this worker allows specs to ask for (GREENLIGHT_SECRETS, GREENLIGHT_SECRETS_FILE): names
 * only, never values. Fails on what would make the worker refuse to start, on allowed names without a
 * value, and on values too short to be redacted from output.
 */
export function secretsAllowed(policy: () => SecretPolicy, host: string | null): Check {
  const where = host ? `/etc/greenlight/${host}.env for the systemd unit` : "the worker's environment";
  return {
    what: 'secrets',
    fix: `fix ${SECRETS_LIST_VAR} / ${SECRETS_FILE_VAR} in ${where}`,
    run: async () => {
      let allowed: SecretPolicy['allowed'];
      try {
        ({ allowed } = policy());
      } catch (err) {
        return fail(messageOf(err), `the worker refuses to start until it is fixed, in ${where}`);
      }
      const names = [...allowed.keys()];
      const unset = names.filter((name) => allowed.get(name) === undefined);
      if (unset.length > 0) return fail(`allowed but not set: ${unset.join(', ')}`, `set them in ${where}, or take them out of ${SECRETS_LIST_VAR}`);
      const short = names.filter((name) => allowed.get(name)!.length < MIN_REDACTED_LENGTH);
      if (short.length > 0) return fail(`${short.join(', ')}: shorter than ${MIN_REDACTED_LENGTH} characters, so not redacted from output`, `use longer values`);
      return ok(names.length > 0 ? `specs may ask for ${names.join(', ')}` : `none allowed (${SECRETS_LIST_VAR} and ${SECRETS_FILE_VAR} unset): a spec with secrets fails at validate`);
    },
  };
}

/**
 * The memory, disk and CPUs validate checks a deploy's new color against (host/capacity.ts), as this
 * host has them now. Fails when validate could not read them, when not even a one-service deploy with
 * the default limits fits, or when GREENLIGHT_CAPACITY_CHECK is set to something the worker refuses.
 */
export function capacityAvailable(measure: () => Promise<HostCapacity>, checkOn: () => boolean, host: string | null): Check {
  const where = host ? `/etc/greenlight/${host}.env for the systemd unit` : "the worker's environment";
  return {
    what: 'capacity',
    fix: 'run the worker on the Docker host itself',
    run: async () => {
      let on: boolean;
      try {
        on = checkOn();
      } catch (err) {
        return fail(messageOf(err), `the worker refuses to start until it is fixed, in ${where}`);
      }
      const capacity = await measure();
      const { memoryAvailableBytes: memory, diskFreeBytes: disk, dockerRootDir } = capacity;
      const skip = `or set ${CAPACITY_CHECK_VAR}=off in ${where}`;
      if (memory === null) return fail(`cannot read the memory available (${capacity.memoryReadError})`, `run the worker on the Docker host itself (Linux), ${skip}`);
      if (disk === null) return fail(`cannot read the free space of Docker's data root ${dockerRootDir} (${capacity.diskReadError})`, `run the worker on the Docker host itself, ${skip}`);
      const seen = `${formatBytes(memory)} of memory available, ${formatBytes(disk)} free on Docker's data root ${dockerRootDir}, ${capacity.cpus} CPUs`;
      if (!on) return ok(`${seen} (validate does not check them: ${CAPACITY_CHECK_VAR}=off)`);
      if (memory < ONE_DEFAULT_SERVICE.memoryBytes) return fail(`${seen}: less memory than a one-service deploy with the default limits needs (${formatBytes(ONE_DEFAULT_SERVICE.memoryBytes)}), so validate refuses every deploy`, 'free memory on this host');
      if (disk < ONE_DEFAULT_SERVICE.diskBytes) return fail(`${seen}: less disk than a one-service deploy needs (${formatBytes(ONE_DEFAULT_SERVICE.diskBytes)}), so validate refuses every deploy`, 'free disk on this host (docker system df shows what uses it; docker image prune removes dangling images)');
      return ok(seen);
    },
  };
}

/**
 * The payload keys the worker encrypts and decrypts with (GREENLIGHT_PAYLOAD_KEYS, the key file): key ids
 * only, never keys. Fails on what would make the worker (and the CLI on this machine) refuse to start.
 */
export function payloadKeys(keys: () => PayloadKey[], host: string | null): Check {
  const where = host ? `/etc/greenlight/${host}.env for the systemd unit` : "the worker's environment";
  const fix = `set ${KEYS_VARIABLE} (or ${KEY_FILE_VARIABLE}) in ${where} to the keys every CLI of this Temporal namespace uses (the worker refuses to start without them); a new key: echo "k1:$(openssl rand -base64 32)"`;
  return {
    what: 'payload keys',
    fix,
    run: async () => {
      let loaded: PayloadKey[];
      try {
        loaded = keys();
      } catch (err) {
        return fail(messageOf(err), fix);
      }
      const [encrypting, ...others] = loaded;
      return ok(`encrypting with key "${encrypting!.id}"${others.length > 0 ? `, decrypting also with ${others.map((key) => `"${key.id}"`).join(', ')}` : ''}`);
    },
  };
}

/** A GET's answer: what the metrics check reads. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/**
 * The worker's Prometheus endpoint (GREENLIGHT_METRICS_ADDRESS): off is fine; set, it must be an address the
 * worker accepts and, once the worker runs, answer with the SDK's metrics (temporal_...), so a scrape
 * target that Prometheus reports down is found here first.
 */
export function metricsEndpoint(address: () => string | null, get: (url: string) => Promise<HttpAnswer>, host: string | null, preStart: boolean): Check {
  const where = host ? `/etc/greenlight/${host}.env for the systemd unit` : "the worker's environment";
  return {
    what: 'metrics',
    fix: `start the worker with ${METRICS_ADDRESS_VARIABLE} set as here (${workerCommand(host)}), or unset it in ${where}`,
    run: async () => {
      let bindAddress: string | null;
      try {
        bindAddress = address();
      } catch (err) {
        return fail(messageOf(err), `fix ${METRICS_ADDRESS_VARIABLE} in ${where} (the worker refuses to start until it is fixed)`);
      }
      if (bindAddress === null) return ok(`off (${METRICS_ADDRESS_VARIABLE} unset); to serve Prometheus metrics set it, e.g. ${METRICS_ADDRESS_VARIABLE}=${SUGGESTED_METRICS_ADDRESS}`);
      const url = metricsUrl(bindAddress);
      if (preStart) return ok(`the worker will serve ${url}`);
      let answer: HttpAnswer;
      try {
        answer = await get(url);
      } catch (err) {
        return fail(`no answer from ${url} (${codeOf((err as { cause?: unknown }).cause ?? err) || messageOf(err)})`, `start the worker (${workerCommand(host)}) with ${METRICS_ADDRESS_VARIABLE}=${bindAddress}: it serves the endpoint`);
      }
      const series = answer.body.split('\n').filter((line) => line && !line.startsWith('#'));
      if (answer.status !== 200 || !series.some((line) => line.startsWith('temporal_'))) {
        return fail(`${url} answers ${answer.status} without the worker's temporal_ metrics: something else listens there`, `give the worker a free port in ${METRICS_ADDRESS_VARIABLE} (and the scrape config)`);
      }
      return ok(`${url} serves ${series.length} series`);
    },
  };
}

export interface DoctorOptions {
  /** The fleet host this machine serves (`--host`, GREENLIGHT_HOST); null: the one-host worker. */
  host: string | null;
  /** The host's own task queue where the spec sets hosts[].taskQueue (default greenlight-host-<host>). */
  hostTaskQueue?: string;
  /** The shared queue of the deploy workflows (GREENLIGHT_TASK_QUEUE). */
  taskQueue: string;
  /**
   * Before the worker starts (systemd's ExecStartPre): leaves out what the worker itself brings up, its
   * pollers and greenlight's nginx (config written and nginx started by the worker).
   */
  preStart: boolean;
}

export interface DoctorClients {
  /** GREENLIGHT_HOME and the user the worker runs as. */
  home: string;
  user: string;
  /** Writes and removes a file in the folder; rejects with the errno error if it cannot. */
  probeWrite: (dir: string) => Promise<void>;
  fileExists: (path: string) => Promise<boolean>;
  docker: Pick<DockerHost, 'ping' | 'version' | 'liveRestore'>;
  /** DOCKER_HOST, or the local socket. */
  dockerTarget: string;
  router: Pick<NginxRouter, 'prefix' | 'mainConfPath' | 'appsDir' | 'nginxBin' | 'modulesDir' | 'version' | 'testRenderedConfig' | 'testMainConfig' | 'pid' | 'pingAdmin'>;
  temporal: TemporalAccess;
  now: () => number;
  /** The worker's secret policy, read as the worker reads it (throws when the worker would refuse to start). */
  secretPolicy: () => SecretPolicy;
  /** The payload keys, read as the worker reads them (throws when the worker would refuse to start). */
  payloadKeys: () => PayloadKey[];
  /** The metrics address, read as the worker reads it (throws when the worker would refuse to start); null: off. */
  metricsAddress: () => string | null;
  /** An HTTP GET (the metrics endpoint's scrape). */
  get: (url: string) => Promise<HttpAnswer>;
  /** The host's memory, disk and CPUs as validate reads them (host/capacity.ts). */
  capacity: () => Promise<HostCapacity>;
  /** Whether validate checks them, as the worker reads GREENLIGHT_CAPACITY_CHECK (throws when the worker would refuse to start). */
  capacityCheck: () => boolean;
}

/** The checks for this host, in the order they are printed. */
export function doctorChecks(options: DoctorOptions, clients: DoctorClients): Check[] {
  const { host, preStart } = options;
  const activityQueue = host ? (options.hostTaskQueue ?? hostTaskQueue(host)) : options.taskQueue;
  const { router, temporal } = clients;
  return [
    homeWritable(clients.home, clients.user, clients.probeWrite),
    dockerReachable(clients.docker, clients.dockerTarget, clients.user),
    dockerLiveRestore(clients.docker),
    nginxInstalled(router),
    nginxLuaModule(router),
    ...(preStart ? [] : [nginxMainConfig(router, clients.fileExists, host), nginxRunning(router, host)]),
    temporalReachable(temporal, host),
    temporalNamespace(temporal),
    ...(preStart ? [] : [taskQueuePolled(temporal, activityQueue, 'activities', host, clients.now), taskQueuePolled(temporal, options.taskQueue, 'workflows', host, clients.now)]),
    clockInSync(temporal, host, clients.now),
    secretsAllowed(clients.secretPolicy, host),
    payloadKeys(clients.payloadKeys, host),
    metricsEndpoint(clients.metricsAddress, clients.get, host, preStart),
    capacityAvailable(clients.capacity, clients.capacityCheck, host),
  ];
}
