/**
 * Executes what the nginx builders render: `nginx -t` on a candidate, atomic rename, graceful reload
 * only when the structure of an app changed, and the reload-free route switch through the admin socket.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import https from 'node:https';
import { promisify } from 'node:util';
import axios from 'axios';
import {
  adminSocketPath,
  canaryKey,
  MAINTENANCE_DIR,
  parseCanaryKey,
  parseAppConfig,
  parseAppPorts,
  parseOpenCounts,
  parseTraffic,
  type TrafficCounters,
  parseRouteKey,
  privateDir,
  renderAppConfig,
  renderMainConfig,
  routeKey,
  structureHash,
  type AppPorts,
  type UpstreamAddresses,
  parsePreviewPort,
  renderPreviewConfig,
} from './builders/nginx';
import type { DeploySpec } from '../src/config/schema';
import { MAINTENANCE_OFF } from '../src/maintenance';
import type { MaintenanceState } from '../src/types';
import { parseMaintenanceFile, renderMaintenanceFile } from './builders/maintenance';
import { InfrastructureError } from '../src/errors';
import type { CanaryRoute, Route } from '../src/types';
import type { Color } from '../src/names';
import { greenlightHome, routerMetricsAddressFromEnv } from '../src/settings';
import { portIsFree } from './listen';
import { tlsFingerprint } from './tls';

const run = promisify(execFile);

/**
 * A bare command name as its absolute path on PATH (unchanged when not found: running it then reports
 * ENOENT). nginx re-executes its own argv[0] on a binary upgrade (USR2), and "nginx" alone is no path
 * execve can take.
 */
function onPath(command: string): string {
  if (command.includes('/')) return command;
  const found = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, command)).find((path) => existsSync(path));
  return found ?? command;
}

/** First line of a kept previous config: the hash of the config that replaced it. */
const REPLACED_BY = '# greenlight:replaced-by';
const textHash = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The structure probe on an HTTPS router port: loopback, and the certificate was checked at validate
 * (tlsProblems), so the probe asks nginx for its hash without verifying the chain or the name (a
 * certificate names the public host, never 127.0.0.1).
 */
const loopbackTlsAgent = new https.Agent({ keepAlive: false, rejectUnauthorized: false });

/** The `[warn]` lines of nginx's output, without their time and pid (so two runs compare equal), each once. */
export function nginxWarnings(output: string): string[] {
  const warnings = output.split('\n').flatMap((line) => /\[warn\] \d+#\d+: (.*)$/.exec(line)?.[1]?.trim() ?? []);
  return [...new Set(warnings)];
}

/** nginx refused a rendered config (`nginx -t`); nothing was swapped. */
export class RouterConfigRejectedError extends Error {
  override name = 'RouterConfigRejectedError';
}

/** The app's router cannot take maintenance mode here (not routed, or a config without the lookup); nothing was changed. */
export class MaintenanceRefusedError extends Error {
  override name = 'MaintenanceRefusedError';
}

/** There is no nginx binary to run. */
export class NginxNotInstalledError extends InfrastructureError {
  constructor(readonly nginxBin: string) {
    super(`nginx is not installed (no "${nginxBin}" on PATH): run scripts/nginx.sh or apt-get install nginx-light libnginx-mod-http-lua`);
  }
}

export interface NginxRouterOptions {
  prefix: string;
  nginxBin?: string;
  modulesDir?: string;
  workerProcesses?: number;
  /** Where nginx reaches each app's containers (ContainerAddresses); without, at their host ports. */
  upstreams?: (spec: DeploySpec) => Promise<UpstreamAddresses>;
  /** ip:port of nginx's own Prometheus endpoint of the real-traffic counters; unset: none. */
  metricsAddress?: string | null;
}

/** An app's router port as the structure probe reaches it. */
export interface ServedPort {
  port: number;
  tls: boolean;
}

/** The port a spec's router serves the app on, and whether it speaks TLS there. */
const servedPortOf = (spec: Pick<DeploySpec, 'router'>): ServedPort => ({ port: spec.router.port, tls: spec.router.tls !== undefined });

export interface ApplyRouteResult {
  route: Route;
  reloaded: boolean;
  configChanged: boolean;
}

/** The file name ending of an app's preview config: `<app>.preview.conf`. */
const PREVIEW_SUFFIX = '.preview.conf';

export class NginxRouter {
  readonly prefix: string;
  readonly nginxBin: string;
  /** Where the NDK and Lua modules the main config loads are. */
  readonly modulesDir: string;
  private readonly workerProcesses: number;
  private readonly upstreams: (spec: DeploySpec) => Promise<UpstreamAddresses>;

  constructor(private readonly options: NginxRouterOptions) {
    this.prefix = options.prefix;
    this.nginxBin = onPath(options.nginxBin ?? 'nginx');
    this.modulesDir = options.modulesDir ?? '/usr/lib/nginx/modules';
    this.workerProcesses = options.workerProcesses ?? 2;
    this.upstreams = options.upstreams ?? (async () => ({}));
  }

  /** The same router (prefix, nginx), rendering apps with their upstreams at these addresses. */
  withUpstreams(upstreams: (spec: DeploySpec) => Promise<UpstreamAddresses>): NginxRouter {
    return new NginxRouter({ ...this.options, upstreams });
  }

  get appsDir(): string {
    return join(this.prefix, 'apps');
  }

  get mainConfPath(): string {
    return join(this.prefix, 'nginx.conf');
  }

  appConfPath(app: string): string {
    return join(this.appsDir, `${app}.conf`);
  }

  /**
   * The app's config as it was before the last switch replaced it (nginx includes `*.conf` only, so it
   * is never served from here): what a rollback of that switch restores, structure and all.
   */
  previousConfPath(app: string): string {
    return `${this.appConfPath(app)}.previous`;
  }

  private mainConfig(appsDir: string): string {
    return renderMainConfig({ prefix: this.prefix, modulesDir: this.modulesDir, appsDir, workerProcesses: this.workerProcesses, metricsAddress: this.options.metricsAddress ?? null });
  }

  private async nginx(args: string[]): Promise<{ stdout: string; stderr: string }> {
    try {
      return await run(this.nginxBin, ['-p', `${this.prefix}/`, ...args], { timeout: 20_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') throw new NginxNotInstalledError(this.nginxBin);
      throw Object.assign(new Error(e.stderr?.trim() || e.message), { stderr: e.stderr ?? '' });
    }
  }

  async pid(): Promise<number | null> {
    try {
      const pid = Number((await readFile(join(this.prefix, 'nginx.pid'), 'utf8')).trim());
      // An empty pid file reads as 0, and kill(0, 0) signals this process group: no nginx named.
      if (!Number.isInteger(pid) || pid <= 0) return null;
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  /** `nginx -V`: the version and how it was built (nginx prints both on stderr). */
  async version(): Promise<string> {
    const { stdout, stderr } = await this.nginx(['-V']);
    return `${stderr}${stdout}`.trim();
  }

  /**
   * The prefix's folders. `private/` (the admin socket), `apps/` and `check/` (the router configs) are
   * the worker's user's alone, also where an earlier version made them world-readable: nginx's master
   * runs as that user (root here), reads the configs and opens the socket; its workers (nobody) only
   * accept on what the master opened. The prefix itself, `logs/` and `tmp/` stay as they are: the
   * workers write request bodies and buffered responses under `tmp/`.
   */
  private async preparePrefix(): Promise<void> {
    for (const dir of ['logs', 'tmp']) await mkdir(join(this.prefix, dir), { recursive: true });
    for (const dir of [privateDir(this.prefix), this.appsDir, join(this.prefix, 'check')]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700);
    }
    // App configs an earlier version wrote 0644 (new ones are written 0600).
    for (const file of await readdir(this.appsDir)) if (file.endsWith('.conf')) await chmod(join(this.appsDir, file), 0o600);
  }

  /** Creates the prefix's folders and writes the rendered main config; true if the file changed. */
  async writeMainConfig(): Promise<boolean> {
    await this.preparePrefix();
    const wanted = this.mainConfig(this.appsDir);
    const current = await readFile(this.mainConfPath, 'utf8').catch(() => null);
    if (current !== wanted) await this.writeAtomically(this.mainConfPath, wanted);
    return current !== wanted;
  }

  /** `nginx -t` of the main config as it is on disk, with every app's config it includes. */
  async testMainConfig(): Promise<void> {
    try {
      await this.nginx(['-t', '-q', '-c', this.mainConfPath]);
    } catch (err) {
      if (err instanceof InfrastructureError) throw err;
      throw new RouterConfigRejectedError(`nginx -t rejected ${this.mainConfPath}: ${(err as Error).message}`);
    }
  }

  /**
   * `nginx -t` of a freshly rendered main config in a throwaway prefix: proves that this nginx loads the
   * modules greenlight needs (NDK, Lua) and takes the Lua directives, without touching this router.
   */
  async testRenderedConfig(): Promise<void> {
    const scratch = await mkdtemp(join(tmpdir(), 'greenlight-nginx-'));
    try {
      const router = new NginxRouter({ prefix: scratch, nginxBin: this.nginxBin, modulesDir: this.modulesDir, workerProcesses: this.workerProcesses });
      await router.writeMainConfig();
      await router.testMainConfig();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Writes the main config and starts nginx if it is not running (reloads it if the main config changed). */
  async ensureRunning(): Promise<void> {
    const changed = await this.writeMainConfig();
    const pid = await this.pid();
    if (pid === null) {
      await rm(adminSocketPath(this.prefix), { force: true });
      await this.nginx(['-c', this.mainConfPath]);
      await this.waitForAdmin();
    } else if (changed) {
      // E.g. an upgrade that moved the admin socket: the reloaded master listens at the new path.
      await this.reload();
      await this.waitForAdmin();
    }
  }

  /** The app's real-traffic counters per service and color, as nginx counted them (admin socket). */
  async traffic(app: string): Promise<TrafficCounters> {
    return parseTraffic(await this.admin('GET', `/traffic/${app}`));
  }

  /** Zeroes the app's real-traffic counters of `color` (a new color starts counting from nothing). */
  async resetTraffic(app: string, color: Color): Promise<void> {
    await this.admin('DELETE', `/traffic/${app}/${color}`);
  }

  /**
   * `nginx -s reload`: new workers on the config on disk, the old ones finish their requests. Returns
   * once every worker that accepted before the reload has stopped accepting (closed its listeners:
   * titled "worker process is shutting down") or exited, at most 10 s. The master starts the new workers
   * before it tells the old ones to quit, so until then a new connection can still be accepted by an old
   * worker and get the old config: its certificate after a renewal (seen in CI), its routes, its ports.
   * Reloads of one prefix run one after another (two apps switching at once): a reload's snapshot of
   * the workers is taken once the previous reload has ended, so another reload's retiring them cannot
   * end this one's wait before its own config is served. The signal is sent asynchronously: a config
   * the master cannot load (a port nginx -t does not check) keeps the old workers; when no new worker
   * has appeared within 3 s the wait ends, and the callers' own waits report it.
   */
  async reload(): Promise<void> {
    const previous = reloads.get(this.prefix) ?? Promise.resolve();
    const run = previous.then(() => this.reloadNow());
    const settled = run.catch(() => undefined);
    reloads.set(this.prefix, settled);
    try {
      await run;
    } finally {
      if (reloads.get(this.prefix) === settled) reloads.delete(this.prefix);
    }
  }

  private async reloadNow(): Promise<void> {
    const master = await this.pid();
    const before = master === null ? [] : await acceptingWorkers(master);
    await this.nginx(['-c', this.mainConfPath, '-s', 'reload']);
    const started = Date.now();
    let accepting = before;
    while (accepting.length > 0 && Date.now() < started + 10_000) {
      await new Promise((r) => setTimeout(r, 10));
      accepting = (await Promise.all(accepting.map(async (pid) => ((await isAcceptingWorker(pid)) ? [pid] : [])))).flat();
      if (accepting.length > 0 && Date.now() > started + 3_000 && master !== null && (await acceptingWorkers(master)).every((pid) => before.includes(pid))) return;
    }
  }

  /**
   * Restarts nginx without closing a port: nginx's binary upgrade. USR2 makes the master start a new one
   * from the binary on disk (a new package's too), which inherits the listening sockets; once the new
   * master's workers answer the admin socket, QUIT lets the old workers finish their requests and go. A
   * stop and start would refuse connections in between. The new master's shared dict starts empty, so
   * every app's route comes from its config's default route, which each switch writes (readRoute is
   * what it serves). A new master that does not come up (a config nginx -t refuses is caught first)
   * leaves the old one serving, and this throws.
   */
  async restart(): Promise<{ oldPid: number | null; newPid: number }> {
    await this.writeMainConfig();
    await this.testMainConfig();
    const oldPid = await this.pid();
    if (oldPid === null) {
      await this.ensureRunning();
      return { oldPid, newPid: (await this.pid())! };
    }
    process.kill(oldPid, 'SIGUSR2');
    const deadline = Date.now() + 10_000;
    let newPid = await this.pid();
    while (newPid === oldPid || newPid === null) {
      if (Date.now() > deadline) throw new InfrastructureError(`nginx (pid ${oldPid}) started no new master within 10 s of USR2 (see ${this.prefix}/logs/error.log: a master started by an earlier greenlight as a bare "nginx" cannot re-execute itself; stop and start it once); the old one still serves`);
      await new Promise((r) => setTimeout(r, 50));
      newPid = await this.pid();
    }
    await this.waitForWorkersOf(newPid, deadline);
    process.kill(oldPid, 'SIGQUIT');
    return { oldPid, newPid };
  }

  /** Until the master `pid` has a worker process (the one that accepts), or the deadline. */
  private async waitForWorkersOf(pid: number, deadline: number): Promise<void> {
    for (;;) {
      const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      if (children.trim() !== '') return;
      if (Date.now() > deadline) throw new InfrastructureError(`the new nginx master (pid ${pid}) started no worker within 10 s (see ${this.prefix}/logs/error.log)`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** One request to the admin socket, no retry: throws the socket's own error when it does not answer. */
  async pingAdmin(): Promise<void> {
    await this.adminRequest('GET', '/routes/ping');
  }

  private async waitForAdmin(): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await this.admin('GET', '/routes/ping');
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new InfrastructureError(`nginx admin socket not answering: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private async admin(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: string): Promise<string> {
    // Right after a reload, a connection can land on an old worker that is closing its listeners:
    // such errors are retried briefly (every admin call is idempotent).
    const transient = new Set(['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ENOENT']);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.adminRequest(method, path, body);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (attempt < 6 && transient.has(code)) {
          await new Promise((r) => setTimeout(r, 50 * attempt));
          continue;
        }
        throw new InfrastructureError(`nginx admin socket ${adminSocketPath(this.prefix)}: ${(err as Error).message}; is greenlight's nginx running? (scripts/nginx.sh)`);
      }
    }
  }

  private async adminRequest(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: string): Promise<string> {
    const res = await axios.request<string>({
      method,
      url: `http://localhost${path}`,
      socketPath: adminSocketPath(this.prefix),
      data: body,
      timeout: 5_000,
      responseType: 'text',
      transformResponse: (d: string) => d,
    });
    return String(res.data).trim();
  }

  /** `nginx -t` of the whole router with `candidate` in place of the app's config. */
  async check(app: string, candidate: string, file = `${app}.conf`): Promise<void> {
    const dir = join(this.prefix, 'check', `${app}-${randomBytes(4).toString('hex')}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // nginx -t binds the admin socket when no nginx holds it (then removes it): its folder must exist.
    await mkdir(privateDir(this.prefix), { recursive: true, mode: 0o700 });
    try {
      for (const other of await readdir(this.appsDir)) {
        if (other.endsWith('.conf') && other !== file) await copyFile(join(this.appsDir, other), join(dir, other));
      }
      await writeFile(join(dir, file), candidate, { mode: 0o600 });
      const warnings = await this.testIn(dir, app);
      if (warnings.length === 0) return;
      // Only warnings the candidate brings in: one the live configs already have is not this deploy's doing.
      const current = await readFile(join(this.appsDir, file), 'utf8').catch(() => null);
      if (current === null) await rm(join(dir, file));
      else await writeFile(join(dir, file), current, { mode: 0o600 });
      const before = new Set(await this.testIn(dir, app));
      const added = warnings.filter((warning) => !before.has(warning));
      if (added.length > 0) {
        throw new RouterConfigRejectedError(
          `nginx -t warns about the config for app "${app}": ${added.join('; ')}. nginx would not serve it as written ` +
            '("conflicting server name" on a port: another app already listens there, so one of the two gets both apps\' traffic): ' +
            'fix what the warning names (for a port, choose another router.port); nothing was changed',
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** `nginx -t` of the apps in `dir`: throws on an error, returns the warnings (without time and pid). */
  private async testIn(dir: string, app: string): Promise<string[]> {
    const mainConf = join(dir, 'nginx.conf.main');
    await writeFile(mainConf, this.mainConfig(dir), { mode: 0o600 });
    try {
      // Not `-q`: it hides the warnings too.
      const { stdout, stderr } = await this.nginx(['-t', '-c', mainConf]);
      return nginxWarnings(`${stderr}\n${stdout}`);
    } catch (err) {
      if (err instanceof InfrastructureError) throw err;
      throw new RouterConfigRejectedError(`nginx -t rejected the config for app "${app}": ${(err as Error).message}`);
    }
  }

  /** Every app's config on this router, by app name. */
  async appConfigs(): Promise<Array<{ app: string; text: string }>> {
    // `<app>.preview.conf` is an app's preview (app names have no `.`), not an app.
    const files = (await readdir(this.appsDir).catch(() => [] as string[])).filter((file) => file.endsWith('.conf') && !file.slice(0, -'.conf'.length).includes('.'));
    const apps = [];
    for (const file of files.sort()) {
      const text = await readFile(join(this.appsDir, file), 'utf8').catch(() => null);
      if (text !== null) apps.push({ app: file.slice(0, -'.conf'.length), text });
    }
    return apps;
  }

  /** The ports every other app's config holds on this router (its router port and host ports). */
  async otherAppsPorts(app: string): Promise<Array<{ app: string; previewPort: number | null } & AppPorts>> {
    const previews = new Map<string, number | null>();
    for (const file of await readdir(this.appsDir).catch(() => [] as string[])) {
      const other = file.endsWith(PREVIEW_SUFFIX) ? file.slice(0, -PREVIEW_SUFFIX.length) : null;
      if (other === null || other === app) continue;
      const text = await readFile(join(this.appsDir, file), 'utf8').catch(() => null);
      if (text !== null) previews.set(other, parsePreviewPort(text));
    }
    const apps = (await this.appConfigs()).filter((config) => config.app !== app).map((config) => ({ app: config.app, ...parseAppPorts(config.text), previewPort: previews.get(config.app) ?? null }));
    // An app whose first deploy is at its preview has a preview config and no app config yet.
    for (const [other, previewPort] of previews) {
      if (!apps.some((a) => a.app === other)) apps.push({ app: other, routerPort: null, tls: false, redirectPort: null, hostPorts: [], previewPort });
    }
    return apps;
  }

  /** The app's preview config (`preview`): beside its config, included by nginx like an app's. */
  previewConfPath(app: string): string {
    return join(this.appsDir, `${app}${PREVIEW_SUFFIX}`);
  }

  /** The unix socket of the app's preview control (in the private folder, like the admin socket). */
  previewSocketPath(app: string): string {
    return join(privateDir(this.prefix), `preview-${app}.sock`);
  }

  async readPreviewConfig(app: string): Promise<string | null> {
    return readFile(this.previewConfPath(app), 'utf8').catch(() => null);
  }

  /** The preview config `spec` would have on this router, listening on `listen` (addresses). */
  async renderPreview(spec: DeploySpec, listen: string[]): Promise<string> {
    return renderPreviewConfig(spec, { listen, controlSocket: this.previewSocketPath(spec.app), addresses: await this.upstreams(spec) });
  }

  /**
   * Opens the app's preview on `color`: its config in place (after `nginx -t`; one reload when it is new
   * or changed, none for a deploy that renders the same text), then the color in the routes dict through
   * the preview's control socket. Idempotent.
   */
  async openPreview(spec: DeploySpec, color: Color, listen: string[]): Promise<{ reloaded: boolean }> {
    const text = await this.renderPreview(spec, listen);
    const current = await this.readPreviewConfig(spec.app);
    const reloaded = current !== text;
    if (reloaded) {
      await this.check(spec.app, text, `${spec.app}${PREVIEW_SUFFIX}`);
      await this.writeAtomically(this.previewConfPath(spec.app), text);
      if ((await this.pid()) === null) throw new InfrastructureError('nginx is not running: start it with scripts/nginx.sh');
      await this.reload();
    }
    await this.previewControl(spec.app, 'PUT', color);
    return { reloaded };
  }

  /** The color the app's preview serves now, or null (closed, or no preview config). */
  async readPreview(app: string): Promise<Color | null> {
    if ((await this.readPreviewConfig(app)) === null) return null;
    const color = await this.previewControl(app, 'GET');
    return color === 'blue' || color === 'green' ? color : null;
  }

  /**
   * Closes the app's preview (its port answers 503 "no preview open"); `forget` (the rollback of a first
   * deploy: the app is not routed, so nothing keeps its port) also removes its config. Idempotent, also
   * without a preview config.
   */
  async closePreview(app: string, forget = false): Promise<void> {
    const running = (await this.pid()) !== null;
    if ((await this.readPreviewConfig(app)) !== null && running) await this.previewControl(app, 'DELETE');
    if (!forget) return;
    await rm(this.previewConfPath(app), { force: true });
    // Every step on every call: a retry after a failed reload still completes the removal.
    if (running) await this.reload();
  }

  /** One request to the preview's control socket, retried while a reload brings it up. */
  private async previewControl(app: string, method: 'GET' | 'PUT' | 'DELETE', body?: string): Promise<string> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const res = await axios.request<string>({ method, url: 'http://localhost/preview', socketPath: this.previewSocketPath(app), data: body, timeout: 5_000, responseType: 'text', transformResponse: (d: string) => d });
        return String(res.data).trim();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (Date.now() < deadline && ['EPIPE', 'ECONNRESET', 'ECONNREFUSED', 'ENOENT'].includes(code)) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        throw new InfrastructureError(`nginx preview socket ${this.previewSocketPath(app)}: ${(err as Error).message}; is greenlight's nginx running? (scripts/nginx.sh)`);
      }
    }
  }

  private async writeAtomically(path: string, text: string, mode = 0o600): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    // Only nginx's master (the worker's user) reads greenlight's configs.
    await writeFile(tmp, text, { mode });
    await rename(tmp, path);
  }

  /** The fingerprint of the spec's certificate and key contents (null without router.tls): part of its rendered config. */
  async tlsFingerprint(spec: DeploySpec): Promise<string | null> {
    if (!spec.router.tls) return null;
    try {
      return await tlsFingerprint(spec.router.tls);
    } catch (err) {
      throw new InfrastructureError(`the router's certificate or key of ${spec.app} cannot be read (${(err as Error).message}); validate checked them, so they changed since: restore them`);
    }
  }

  /**
   * The app's config for `route`, as the switch writes it: the only way to render one with router.tls,
   * since the fingerprint of the files is read here (every caller renders the same text).
   */
  async renderConfig(spec: DeploySpec, route: Route): Promise<string> {
    return renderAppConfig(spec, route, await this.tlsFingerprint(spec), await this.upstreams(spec));
  }

  async readAppConfig(app: string): Promise<string | null> {
    return readFile(this.appConfPath(app), 'utf8').catch(() => null);
  }

  /** The route nginx serves now: the admin dict, or the config's default when the dict is empty. Null: app not routed. */
  async readRoute(app: string): Promise<Route | null> {
    const text = await this.readAppConfig(app);
    if (text === null) return null;
    const live = parseRouteKey(await this.admin('GET', `/routes/${app}`));
    return live ?? parseAppConfig(text).route;
  }

  /**
   * Points the app at `route`. Renders, checks and atomically swaps the config (so a restarted nginx
   * comes up on the same route), reloads only if upstreams/locations changed, then flips the route in
   * the shared dict: the switch itself is one in-memory write. Idempotent.
   */
  async applyRoute(spec: DeploySpec, route: Route, beforeWrite?: () => Promise<void>): Promise<ApplyRouteResult> {
    const { reloaded, configChanged } = await this.prepareRoute(spec, route);
    // A fleet waits here for the instant every host flips at.
    if (beforeWrite) await beforeWrite();
    await this.putRoute(spec.app, route);
    return { route, reloaded, configChanged };
  }

  /**
   * A canary step: this spec's config in place with the stable (live) color as its route (what a
   * restarted nginx, whose dict is empty, serves: all traffic on the color known to work), the config it
   * replaces kept for switchBack, then the canary route in the dict: `weight` % of requests on the new
   * color. Idempotent: every step, and each reading of a step's traffic, puts it again.
   */
  async applyCanary(spec: DeploySpec, canary: CanaryRoute): Promise<{ reloaded: boolean; configChanged: boolean }> {
    const text = await this.renderConfig(spec, { live: canary.stable, backup: null });
    const current = await this.readAppConfig(spec.app);
    if (current !== null && current !== text) await this.keepPrevious(spec.app, current, text);
    const result = await this.serveConfig(spec.app, text, current);
    await this.putCanary(spec.app, canary);
    return result;
  }

  /** The canary route in the dict (a step's start). */
  async putCanary(app: string, canary: CanaryRoute): Promise<void> {
    const key = canaryKey(canary);
    const now = await this.admin('PUT', `/routes/${app}`, key);
    if (now !== key) throw new InfrastructureError(`nginx admin did not take canary route ${key} for ${app} (answered "${now}")`);
  }

  /**
   * The canary route put back only where the dict has none (a restarted nginx starts empty, on the
   * config's stable color), atomically: a route someone else wrote since (compensation's switch back, at
   * a rollback that did not wait for the step) is left alone. Returns the dict's route key now.
   */
  async restoreCanary(app: string, canary: CanaryRoute): Promise<string> {
    return this.admin('PUT', `/routes/${app}?unset=1`, canaryKey(canary));
  }

  /** The canary step the app is on now, or null (blue/green routing, or not routed). */
  async readCanary(app: string): Promise<CanaryRoute | null> {
    return parseCanaryKey(await this.admin('GET', `/routes/${app}`));
  }

  /** The switch itself: the app's route in nginx's shared dict. */
  private async putRoute(app: string, route: Route): Promise<void> {
    const key = routeKey(route);
    const now = await this.admin('PUT', `/routes/${app}`, key);
    if (now !== key) throw new InfrastructureError(`nginx admin did not take route ${key} for ${app} (answered "${now}")`);
  }

  /**
   * Everything of applyRoute but the switch itself: the config for `route` checked and swapped in, nginx
   * reloaded if the structure changed. Traffic still follows the dict, so applyRoute afterwards is one
   * in-memory write (a fleet prepares every host, then switches them together). A switch (a route with
   * a backup) first keeps the config it replaces, for switchBack. Idempotent.
   */
  async prepareRoute(spec: DeploySpec, route: Route): Promise<{ reloaded: boolean; configChanged: boolean }> {
    const text = await this.renderConfig(spec, route);
    const current = await this.readAppConfig(spec.app);
    if (current !== null && current !== text && route.backup) await this.keepPrevious(spec.app, current, text);
    return this.serveConfig(spec.app, text, current);
  }

  /**
   * Puts `text` in place as the app's config (after `nginx -t`; the live config is untouched if it
   * fails) and reloads nginx until it serves that text's structure on that text's port. A new structure
   * in the file always reloads; otherwise what nginx serves decides: a retry after a failed reload (or
   * a crash between the write and the reload) finds the file right but nginx still on the old structure.
   * (Not what nginx serves alone: right after a reload, workers still shutting down answer on the ports
   * they had, so going back to a structure at once found it "served" and skipped the reload, measured.)
   */
  private async serveConfig(app: string, text: string, current: string | null): Promise<{ reloaded: boolean; configChanged: boolean }> {
    const configChanged = current !== text;
    if (configChanged) {
      await this.check(app, text);
      await this.writeAtomically(this.appConfPath(app), text);
    }
    const wanted = parseAppConfig(text).structure;
    const ports = parseAppPorts(text);
    const port = ports.routerPort;
    if (wanted === null || port === null) throw new InfrastructureError(`the config of ${app} has no structure hash or port: it was not rendered by greenlight`);
    const served = { port, tls: ports.tls };
    const structureChanged = configChanged && (current === null || parseAppConfig(current).structure !== wanted);
    const reloaded = structureChanged || (await this.servedStructure(served)) !== wanted;
    if (reloaded) {
      if ((await this.pid()) === null) throw new InfrastructureError('nginx is not running: start it with scripts/nginx.sh');
      await this.reload();
      await this.waitForStructure(app, served, wanted);
      // A port the app leaves stays open until the old workers have closed it; the next deploy may want it.
      await this.waitForPortsLeft(current, text);
    }
    return { reloaded, configChanged };
  }

  /** Keeps `current` as the previous config, marked with the hash of the config that replaces it. */
  private async keepPrevious(app: string, current: string, replacement: string): Promise<void> {
    // `current` replaced the kept config in this deploy (a canary step before the switch): the kept one
    // is still the config from before the deploy, now replaced by `replacement`.
    const kept = await readFile(this.previousConfPath(app), 'utf8').catch(() => null);
    const [header, ...lines] = kept?.split('\n') ?? [];
    if (header === `${REPLACED_BY} ${textHash(current)}`) {
      await this.writeAtomically(this.previousConfPath(app), `${REPLACED_BY} ${textHash(replacement)}\n${lines.join('\n')}`);
      return;
    }
    await this.writeAtomically(this.previousConfPath(app), `${REPLACED_BY} ${textHash(replacement)}\n${current}`);
  }

  /**
   * The config kept before the switch to `undone`, if it is the one to go back to: the current config is
   * exactly what that switch of this spec wrote, and the kept one served `live`. Anything else (a switch
   * that never wrote, a config kept by an earlier deploy) is null: a kept config is never guessed at.
   */
  async previousConfig(spec: DeploySpec, undone: Route, live: Route['live']): Promise<string | null> {
    const switched = await this.renderConfig(spec, undone);
    if ((await this.readAppConfig(spec.app)) !== switched) return null;
    const kept = await readFile(this.previousConfPath(spec.app), 'utf8').catch(() => null);
    const [header, ...lines] = kept?.split('\n') ?? [];
    if (header !== `${REPLACED_BY} ${textHash(switched)}`) return null;
    const text = lines.join('\n');
    return parseAppConfig(text).route?.live === live ? text : null;
  }

  /**
   * Undoes the switch to `undone`: traffic back to `route`, on the config that served it before that
   * switch (its locations, ports and upstreams, not only its color), then the kept copy is dropped.
   * Without a kept config of that switch: the current config if the switch never replaced it (its
   * structure is not this spec's), else this spec's config for `route` (what a rollback always did).
   * Idempotent: a retry finds the restored config current and serves it again.
   */
  async switchBack(spec: DeploySpec, route: Route, undone: Route): Promise<ApplyRouteResult & { restored: boolean }> {
    const current = await this.readAppConfig(spec.app);
    const previous = await this.previousConfig(spec, undone, route.live);
    const fingerprint = await this.tlsFingerprint(spec);
    const upstreams = await this.upstreams(spec);
    const untouched = current !== null && parseAppConfig(current).structure !== structureHash(spec, fingerprint, upstreams) && parseAppConfig(current).route?.live === route.live;
    const text = previous ?? (untouched ? current : renderAppConfig(spec, route, fingerprint, upstreams));
    const { reloaded, configChanged } = await this.serveConfig(spec.app, text, current);
    await this.putRoute(spec.app, route);
    if (previous !== null) await rm(this.previousConfPath(spec.app), { force: true });
    return { route, reloaded, configChanged, restored: previous !== null };
  }

  /** One GET (or POST) of a path nginx answers itself on an app's port (https with tls): its status and trimmed body. */
  private async getOwnPath({ port, tls }: ServedPort, path: string, timeoutMs: number, method: 'GET' | 'POST' = 'GET'): Promise<{ status: number; body: string }> {
    const res = await axios.request<string>({
      method,
      url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
      httpsAgent: loopbackTlsAgent,
      timeout: timeoutMs,
      responseType: 'text',
      headers: { Connection: 'close' },
      validateStatus: () => true,
    });
    return { status: res.status, body: String(res.data).trim() };
  }

  /** One GET of the structure hash nginx serves on an app's port: the hash (or null) and what was seen. */
  private async probeStructure(served: ServedPort, timeoutMs: number): Promise<{ hash: string | null; seen: string }> {
    try {
      const { status, body } = await this.getOwnPath(served, '/.greenlight/structure', timeoutMs);
      return { hash: status === 200 ? body : null, seen: `${status} ${body}` };
    } catch (err) {
      return { hash: null, seen: (err as Error).message };
    }
  }

  /**
   * Requests, WebSockets and streams open per service and color of the app, as nginx counts them (on
   * the app's port, loopback only), or null when its served config does not count (rendered by an
   * earlier greenlight, or not served at all).
   */
  async openConnections(spec: DeploySpec): Promise<Record<string, Record<Color, number>> | null> {
    try {
      const { status, body } = await this.getOwnPath(servedPortOf(spec), '/.greenlight/open', 2_000);
      return status === 200 ? parseOpenCounts(body) : null;
    } catch {
      return null;
    }
  }

  /** The structure hash nginx serves for the app on its port (the spec's, or a port), or null if it serves none. */
  async servedStructure(target: DeploySpec | ServedPort): Promise<string | null> {
    return (await this.probeStructure('router' in target ? servedPortOf(target) : target, 2_000)).hash;
  }

  /** After a reload, waits until new nginx workers serve the new structure on the app's port. */
  private async waitForStructure(app: string, served: ServedPort, hash: string): Promise<void> {
    const { port } = served;
    const deadline = Date.now() + 15_000;
    let last = '';
    while (Date.now() < deadline) {
      const probe = await this.probeStructure(served, 1_000);
      if (probe.hash === hash) return;
      last = probe.seen;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new InfrastructureError(`nginx did not serve the new config of ${app} on port ${port} within 15s (last: ${last}); see ${this.prefix}/logs/error.log`);
  }

  /** Where each app's maintenance state file and page are (world-readable: nginx's workers read them). */
  get maintenanceDir(): string {
    return join(this.prefix, MAINTENANCE_DIR);
  }

  /** The app's maintenance state as its file keeps it (what nginx loads after a restart); off without one. */
  async readMaintenance(app: string): Promise<MaintenanceState> {
    const text = await readFile(join(this.maintenanceDir, `${app}.json`), 'utf8').catch(() => null);
    return (text === null ? null : parseMaintenanceFile(text)) ?? MAINTENANCE_OFF;
  }

  /** The app's maintenance page as nginx serves it, or null (off). */
  async readMaintenancePage(app: string): Promise<string | null> {
    return readFile(join(this.maintenanceDir, `${app}.html`), 'utf8').catch(() => null);
  }

  /**
   * Why maintenance mode cannot be set for the app on this router, or null: it must be routed here by a
   * config that has the maintenance lookup (rendered by this greenlight), and nginx must serve that
   * config (the sync location answers). Changes nothing.
   */
  async maintenanceProblem(app: string): Promise<string | null> {
    const text = await this.readAppConfig(app);
    if (text === null) return `${app} is not routed by this host's router (no ${this.appConfPath(app)}): deploy it first, or check the app name`;
    if (!text.includes('location = /.greenlight/maintenance {')) return `the router config of ${app} was rendered by a greenlight without maintenance mode: deploy ${app} once with this version (it renders the maintenance lookup), then turn maintenance on`;
    const { routerPort, tls } = parseAppPorts(text);
    if (routerPort === null) return `the router config of ${app} has no port: it was not rendered by greenlight`;
    try {
      const { status, body } = await this.getOwnPath({ port: routerPort, tls }, '/.greenlight/maintenance', 2_000);
      if (status !== 200 || !/^\d*$/.test(body)) throw new InfrastructureError(`nginx answers /.greenlight/maintenance on port ${routerPort} with ${status} ${body.slice(0, 80)}: it does not serve the config on disk (see ${this.prefix}/logs/error.log)`);
    } catch (err) {
      if (err instanceof InfrastructureError) throw err;
      throw new InfrastructureError(`nginx does not answer on port ${routerPort} of ${app} (${(err as Error).message}): is greenlight's nginx running? (scripts/nginx.sh)`);
    }
    return null;
  }

  /**
   * Puts the app in maintenance (`state.on`, with `page` as its HTML) or takes it out, without a reload:
   * the page and state file first (so a restarted nginx loads the new state), then nginx is told to load
   * the file into its dict (the app port's loopback-only sync location, which can only read the file:
   * whoever reaches it cannot change the state). Off removes the state file before the sync, the page
   * after it. Idempotent. Returns the state nginx now serves.
   */
  async setMaintenance(app: string, state: MaintenanceState, page: string | null): Promise<MaintenanceState> {
    const problem = await this.maintenanceProblem(app);
    if (problem !== null) throw new MaintenanceRefusedError(problem);
    const dir = this.maintenanceDir;
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755);
    const stateFile = join(dir, `${app}.json`);
    const pageFile = join(dir, `${app}.html`);
    if (state.on) {
      await this.writeAtomically(pageFile, page ?? '', 0o644);
      await this.writeAtomically(stateFile, renderMaintenanceFile(app, state), 0o644);
    } else {
      await rm(stateFile, { force: true });
    }
    const { routerPort, tls } = parseAppPorts((await this.readAppConfig(app))!);
    const wanted = state.on ? String(state.retryAfter) : '';
    const { status, body } = await this.getOwnPath({ port: routerPort!, tls }, '/.greenlight/maintenance', 5_000, 'POST');
    if (status !== 200 || body !== wanted) throw new InfrastructureError(`nginx did not load the maintenance state of ${app} (wanted "${wanted}", answered ${status} "${body.slice(0, 80)}")`);
    if (!state.on) await rm(pageFile, { force: true });
    return state.on ? state : MAINTENANCE_OFF;
  }

  /** What nginx's dict holds for the app's maintenance now: the Retry-After seconds, or "" (off, or not loaded yet), or null (nginx does not answer for it). */
  async servedMaintenance(app: string): Promise<string | null> {
    const text = await this.readAppConfig(app);
    const { routerPort, tls } = text === null ? { routerPort: null, tls: false } : parseAppPorts(text);
    if (routerPort === null) return null;
    const { status, body } = await this.getOwnPath({ port: routerPort, tls }, '/.greenlight/maintenance', 2_000).catch(() => ({ status: 0, body: '' }));
    return status === 200 ? body : null;
  }

  /** Removes an app from the router (compensation of a first deploy). Idempotent. */
  async removeApp(app: string): Promise<boolean> {
    const text = await this.readAppConfig(app);
    // Every step runs on every call, so a retry after a failed reload still completes the removal.
    await rm(this.appConfPath(app), { force: true });
    await rm(this.previousConfPath(app), { force: true });
    // The preview's config goes with it (its port and control socket close at the reload).
    await rm(this.previewConfPath(app), { force: true });
    if ((await this.pid()) !== null) {
      await this.reload();
      await this.admin('DELETE', `/routes/${app}`);
      // The reload is asynchronous: until nginx's old workers have closed the app's listener, the next
      // deploy of the app (a CI retry right after a rolled-back first deploy) finds its router port held
      // by "another program" (seen once in CI). So the removal ends when the port is free, or after 10 s.
      await this.waitForPortsLeft(text, null);
    }
    return text !== null;
  }

  /** Waits (10 s at most) until the ports of config `before` that config `after` no longer has are free: router and redirect port. */
  private async waitForPortsLeft(before: string | null, after: string | null): Promise<void> {
    if (before === null) return;
    const ports = (text: string) => {
      const { routerPort, redirectPort } = parseAppPorts(text);
      return [routerPort, redirectPort].filter((port): port is number => port !== null);
    };
    const kept = new Set(after === null ? [] : ports(after));
    for (const port of ports(before)) if (!kept.has(port)) await this.waitForPortFree(port, 10_000);
  }

  /** Polls until nothing listens on `port` (any interface) or `timeoutMs` passed; never throws. */
  private async waitForPortFree(port: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await portIsFree(port, '0.0.0.0')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  }
}

/** The reload under way per nginx prefix (every NginxRouter of one prefix drives the same nginx). */
const reloads = new Map<string, Promise<void>>();

/** The pids of the master's worker processes that accept connections (not those shutting down after a reload). */
async function acceptingWorkers(master: number): Promise<number[]> {
  const children = await readFile(`/proc/${master}/task/${master}/children`, 'utf8').catch(() => '');
  const pids = children.split(/\s+/).filter(Boolean).map(Number);
  return (await Promise.all(pids.map(async (pid) => ((await isAcceptingWorker(pid)) ? [pid] : [])))).flat();
}

/**
 * Whether `pid` is a child of nginx's master that may accept: a worker not "… is shutting down", or one
 * just forked that still has the master's title. Not the cache manager or loader, not an exited one.
 */
async function isAcceptingWorker(pid: number): Promise<boolean> {
  const title = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ');
  return /nginx: (worker|master) process/.test(title) && !title.includes('shutting down');
}

/** greenlight's nginx on this host: its prefix is `<GREENLIGHT_HOME>/nginx`. */
export function routerFromEnv(): NginxRouter {
  return new NginxRouter({ prefix: join(greenlightHome(), 'nginx'), metricsAddress: routerMetricsAddressFromEnv() });
}
