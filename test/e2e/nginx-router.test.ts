/**
 * greenlight's nginx on the real binary, each test in a throwaway prefix of its own (with its own nginx
 * when one must run), so every test runs alone and the stack's nginx is never touched.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { adminSocketPath, renderAppConfig, renderMainConfig, structureHash } from '../../host/builders/nginx';
import { NginxRouter, RouterConfigRejectedError } from '../../host/nginx';
import { portIsFree } from '../../host/listen';
import { get } from '../../harness/host';
import { webSpec } from '../../harness/specs';
import { parseDeploySpec } from '../../src/config/load';

const run = promisify(execFile);

const BASE = 4750;
const APP = 'nginx-e2e';
const spec = webSpec(APP, { image: 'web:v1', port: 8080, hostPorts: { blue: BASE + 1, green: BASE + 2 }, route: '/' }, { router: { port: BASE } });

const prefixes: string[] = [];
const started: NginxRouter[] = [];

/** A fresh prefix under the system temp folder; its name may carry a space. */
async function scratchPrefix(name: string): Promise<string> {
  const prefix = await mkdtemp(join(tmpdir(), name));
  prefixes.push(prefix);
  return prefix;
}

afterEach(async () => {
  for (const router of started.splice(0)) await stop(router);
  for (const prefix of prefixes.splice(0)) await rm(prefix, { recursive: true, force: true });
});

/** Graceful stop of a test's own nginx (SIGQUIT to its master), waiting for the master to exit. */
async function stop(router: NginxRouter): Promise<void> {
  const pid = await router.pid();
  if (pid === null) return;
  process.kill(pid, 'SIGQUIT');
  for (let i = 0; i < 100 && (await router.pid()) !== null; i++) await new Promise((r) => setTimeout(r, 50));
}

/** Runs a line of Node as user nobody (another local user) and returns what it printed. */
async function asNobody(script: string, arg: string): Promise<string> {
  const { stdout } = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script, arg], { cwd: '/' });
  return stdout.trim();
}
const connectAsNobody = (socket: string) =>
  asNobody(`const s = require('net').connect(process.argv[1]); s.on('connect', () => { console.log('connected'); s.destroy(); }); s.on('error', (e) => console.log(e.code));`, socket);
const readAsNobody = (file: string) => asNobody(`require('fs').readFile(process.argv[1], (e) => console.log(e ? e.code : 'read'));`, file);
const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

/** The users nginx's worker processes run as (the master's children). */
async function workerUsers(router: NginxRouter): Promise<string[]> {
  const { stdout } = await run('ps', ['-o', 'user=', '--ppid', String(await router.pid())]);
  return [...new Set(stdout.split('\n').map((line) => line.trim()).filter(Boolean))];
}

describe('a prefix with a space in its path', () => {
  it('nginx -t accepts the rendered main config and an app config under it', async () => {
    const prefix = await scratchPrefix('greenlight nginx-');
    for (const dir of ['apps', 'logs', 'tmp']) await mkdir(join(prefix, dir), { recursive: true });
    const router = new NginxRouter({ prefix });
    // check() renders the main config for a check folder under the prefix and runs `nginx -t -c` on it.
    await expect(router.check(APP, renderAppConfig(spec, { live: 'blue', backup: null }))).resolves.toBeUndefined();
  });
});

describe('who can reach the admin socket and the router configs', () => {
  it('another local user can neither connect to the admin socket nor read the configs; the worker still switches', async () => {
    const prefix = await scratchPrefix('greenlight-access-');
    // mkdtemp makes it 0700; opened like <GREENLIGHT_HOME>/nginx, only greenlight's own modes decide.
    await chmod(prefix, 0o755);
    const router = new NginxRouter({ prefix, workerProcesses: 1 });
    started.push(router);
    await router.ensureRunning();
    await router.applyRoute(spec, { live: 'blue', backup: null });

    expect(await connectAsNobody(adminSocketPath(prefix))).toBe('EACCES');
    expect(await readAsNobody(router.appConfPath(APP))).toBe('EACCES');
    expect(await readAsNobody(router.mainConfPath)).toBe('EACCES');
    expect({ private: await modeOf(join(prefix, 'private')), apps: await modeOf(router.appsDir), check: await modeOf(join(prefix, 'check')) }).toEqual({ private: '700', apps: '700', check: '700' });
    expect({ main: await modeOf(router.mainConfPath), app: await modeOf(router.appConfPath(APP)) }).toEqual({ main: '600', app: '600' });
    // nginx's workers run as nobody as well: they accept on the socket the master (root) opened, and
    // write request bodies under tmp/, which therefore stays reachable.
    expect(await workerUsers(router)).toEqual(['nobody']);
    expect(await modeOf(prefix)).toBe('755');

    // The worker's user (root here) still switches: one write through the socket, read back.
    await router.applyRoute(spec, { live: 'green', backup: 'blue' });
    expect(await router.readRoute(APP)).toEqual({ live: 'green', backup: 'blue' });
    expect((await get(`http://127.0.0.1:${BASE}/health`)).status).toBe(200);
    // A body over nginx's buffer goes to tmp/client_body first (a worker's write), then to the upstream:
    // nothing listens there, so 502; a 500 would mean the worker could not reach tmp/.
    const big = await fetch(`http://127.0.0.1:${BASE}/`, { method: 'POST', body: 'x'.repeat(256 * 1024), signal: AbortSignal.timeout(5_000) });
    expect(big.status).toBe(502);
  });

  it('an nginx started by an earlier version (socket at <prefix>/admin.sock) is reloaded once: the socket moves, the master stays', async () => {
    const prefix = await scratchPrefix('greenlight-upgrade-');
    await chmod(prefix, 0o755);
    const router = new NginxRouter({ prefix, workerProcesses: 1 });
    started.push(router);
    // What the previous version left: world-readable folders and configs, the socket at the prefix's top.
    for (const dir of ['apps', 'logs', 'tmp', 'check']) await mkdir(join(prefix, dir), { recursive: true, mode: 0o755 });
    await writeFile(join(router.appsDir, 'older.conf'), '# an app config of the earlier version\n', { mode: 0o644 });
    const oldSocket = join(prefix, 'admin.sock');
    const oldMain = renderMainConfig({ prefix, modulesDir: '/usr/lib/nginx/modules', appsDir: router.appsDir, workerProcesses: 1 }).replace(adminSocketPath(prefix), oldSocket);
    await writeFile(router.mainConfPath, oldMain, { mode: 0o644 });
    await run('nginx', ['-p', `${prefix}/`, '-c', router.mainConfPath]);
    const masterBefore = await router.pid();
    expect(await connectAsNobody(oldSocket)).toBe('connected');

    await router.ensureRunning();

    expect(await router.pid()).toBe(masterBefore);
    expect(await readFile(router.mainConfPath, 'utf8')).not.toContain(oldSocket);
    await router.applyRoute(spec, { live: 'blue', backup: null });
    expect(await router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
    expect(await connectAsNobody(adminSocketPath(prefix))).toBe('EACCES');
    // The reloaded master closed the old listener and removed its file.
    expect(await stat(oldSocket).then(() => 'there', () => 'gone')).toBe('gone');
    expect(await modeOf(router.appsDir)).toBe('700');
    expect(await modeOf(join(router.appsDir, 'older.conf'))).toBe('600');
  });
});

/** The master's worker processes and their titles ("nginx: worker process", "… is shutting down"). */
async function workerTitles(router: NginxRouter): Promise<Map<number, string>> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(await router.pid())]);
  const rows = stdout.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => line.split(/\s+(.*)/s) as [string, string]);
  return new Map(rows.filter(([, title]) => title.includes('worker process')).map(([pid, title]) => [Number(pid), title]));
}

/** greenlight's nginx, running in a scratch prefix of its own (stopped after the test). */
async function runningRouter(name: string, workerProcesses: number): Promise<NginxRouter> {
  const router = new NginxRouter({ prefix: await scratchPrefix(name), workerProcesses });
  started.push(router);
  await router.ensureRunning();
  return router;
}

/** The pids of the master's workers that still accept (not shutting down). */
async function acceptingWorkers(router: NginxRouter): Promise<number[]> {
  return [...(await workerTitles(router)).entries()].filter(([, title]) => !title.includes('shutting down')).map(([pid]) => pid);
}

describe('a reload', () => {
  it('returns once every worker from before it has stopped accepting: no new connection gets the old config (its certificate after a renewal)', async () => {
    const router = await runningRouter('greenlight-reload-', 2);
    await router.applyRoute(spec, { live: 'blue', backup: null });
    for (let round = 0; round < 5; round++) {
      const before = await acceptingWorkers(router);
      expect(before).toHaveLength(2);
      await router.reload();
      // `nginx -s reload` only signals the master: without the wait the old workers still accept here.
      const after = await workerTitles(router);
      for (const pid of before) expect(after.get(pid) ?? 'exited', `worker ${pid} after the reload`).toMatch(/shutting down|exited/);
      // The new generation is up (a worker just forked may still carry the master's title for a moment).
      await expect.poll(async () => (await acceptingWorkers(router)).length, { timeout: 2_000 }).toBe(2);
    }
    expect((await get(`http://127.0.0.1:${BASE}/health`)).status).toBe(200);
  });

  it('two reloads at once (two apps switching) run one after the other: each returns with the workers from before it retired', async () => {
    const router = await runningRouter('greenlight-reloads-', 2);
    const first = await acceptingWorkers(router);
    // Another NginxRouter of the same prefix (as withUpstreams makes): the reloads still queue.
    const twin = router.withUpstreams(async () => ({}));
    const order: string[] = [];
    await Promise.all([router.reload().then(() => order.push('first')), twin.reload().then(() => order.push('second'))]);
    expect(order).toEqual(['first', 'second']);
    const after = await workerTitles(router);
    for (const pid of first) expect(after.get(pid) ?? 'exited').toMatch(/shutting down|exited/);
    await expect.poll(async () => (await acceptingWorkers(router)).length, { timeout: 2_000 }).toBe(2);
  });
});

describe('the per-color health routes', () => {
  it('answer on loopback only: from another address nginx refuses them (403)', async () => {
    const router = await runningRouter('greenlight-health-', 1);
    await router.applyRoute(spec, { live: 'blue', backup: null });
    // Another address of this machine: a request to it comes from it, as one from the network would.
    const other = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect(other, 'this test needs a non-loopback IPv4 address on the machine').toBeDefined();

    const statusOf = async (host: string, path: string) => (await get(`http://${host}:${BASE}${path}`)).status;
    for (const color of ['blue', 'green']) {
      expect(await statusOf(other!, `/health/${color}/web`)).toBe(403);
      // From loopback, nginx proxies to the color (nothing listens on its host port here: 502).
      expect(await statusOf('127.0.0.1', `/health/${color}/web`)).toBe(502);
    }
    expect(await statusOf(other!, '/health')).toBe(200);
  });

  it('/.greenlight/structure too: loopback only, while the worker still reads it there', async () => {
    const router = await runningRouter('greenlight-structure-', 1);
    await router.applyRoute(spec, { live: 'blue', backup: null });
    const other = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    expect((await get(`http://${other}:${BASE}/.greenlight/structure`)).status).toBe(403);
    expect(await router.servedStructure(spec)).toBe(structureHash(spec));
  });
});

describe('nginx warnings are errors', () => {
  it('a second app on the same port: nginx -t only warns, the switch refuses it and the live configs stay as they were', async () => {
    const router = await runningRouter('greenlight-warn-', 1);
    await router.applyRoute(spec, { live: 'blue', backup: null });
    const firstConfig = await router.readAppConfig(APP);
    // Other host ports, the same router port: nginx would serve both from the first app's server.
    const other = webSpec('nginx-e2e-other', { image: 'web:v1', port: 8080, hostPorts: { blue: BASE + 3, green: BASE + 4 }, route: '/' }, { router: { port: BASE } });

    const refused = router.applyRoute(other, { live: 'blue', backup: null });

    await expect(refused).rejects.toBeInstanceOf(RouterConfigRejectedError);
    await expect(refused).rejects.toThrow(`nginx -t warns about the config for app "nginx-e2e-other": conflicting server name "" on 0.0.0.0:${BASE}, ignored.`);
    expect(await router.readAppConfig('nginx-e2e-other')).toBeNull();
    expect(await router.readAppConfig(APP)).toBe(firstConfig);
    expect(await router.readRoute(APP)).toEqual({ live: 'blue', backup: null });
    // A warning the live configs already have is not the candidate's: the first app still switches.
    await writeFile(join(router.appsDir, 'nginx-e2e-other.conf'), renderAppConfig(other, { live: 'blue', backup: null }), { mode: 0o600 });
    await expect(router.applyRoute(spec, { live: 'green', backup: null })).resolves.toMatchObject({ route: { live: 'green', backup: null } });
  });
});

describe('routes on a path-segment boundary', () => {
  it('"/api" serves /api and /api/..., while /apiary goes to the service on "/"', async () => {
    const twoRoutes = parseDeploySpec({
      app: APP,
      router: { port: BASE },
      services: {
        api: { image: 'api:v1', port: 8080, hostPorts: { blue: BASE + 3, green: BASE + 4 }, route: '/api' },
        web: { image: 'web:v1', port: 8080, hostPorts: { blue: BASE + 1, green: BASE + 2 }, route: '/' },
      },
    });
    // Stand-ins for the blue containers on their host ports: each answers with its name and the path.
    const servers = ['api', 'web'].map((name) => http.createServer((req, res) => res.end(`${name} ${req.url}`)));
    await Promise.all(servers.map((server, i) => new Promise<void>((resolve) => server.listen(i === 0 ? BASE + 3 : BASE + 1, '127.0.0.1', resolve))));
    try {
      const prefix = await scratchPrefix('greenlight-routes-');
      const router = new NginxRouter({ prefix, workerProcesses: 1 });
      started.push(router);
      await router.ensureRunning();
      await router.applyRoute(twoRoutes, { live: 'blue', backup: null });
      const bodyOf = async (path: string) => (await get(`http://127.0.0.1:${BASE}${path}`)).body;
      expect(await bodyOf('/api')).toBe('api /api');
      expect(await bodyOf('/api?page=2')).toBe('api /api?page=2');
      expect(await bodyOf('/api/items')).toBe('api /api/items');
      expect(await bodyOf('/apiary')).toBe('web /apiary');
      expect(await bodyOf('/apix/items')).toBe('web /apix/items');
      expect(await bodyOf('/')).toBe('web /');
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });
});

describe('connection headers and the open count', () => {
  it('plain requests reuse the upstream keep-alive (no Connection header reaches the app); an upgrade request gets Upgrade and "Connection: upgrade"; each is counted while open', async () => {
    const seen: Array<{ connection?: string; upgrade?: string }> = [];
    let connections = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = http.createServer((req, res) => {
      seen.push({ connection: req.headers.connection, upgrade: req.headers.upgrade });
      if (req.url === '/slow') void held.then(() => res.end('slow done'));
      else res.end('ok');
    });
    server.on('connection', () => connections++);
    server.on('upgrade', (req, socket) => {
      seen.push({ connection: req.headers.connection, upgrade: req.headers.upgrade });
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(BASE + 1, '127.0.0.1', resolve));
    try {
      const router = new NginxRouter({ prefix: await scratchPrefix('greenlight-headers-'), workerProcesses: 1 });
      started.push(router);
      await router.ensureRunning();
      await router.applyRoute(spec, { live: 'blue', backup: null });
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      for (let i = 0; i < 50; i++) {
        await new Promise<void>((resolve, reject) =>
          http.get({ host: '127.0.0.1', port: BASE, path: '/items', agent }, (res) => res.resume().on('end', resolve)).on('error', reject),
        );
      }
      agent.destroy();
      expect(seen).toHaveLength(50);
      expect(seen.every((h) => h.connection === undefined && h.upgrade === undefined)).toBe(true);
      expect(connections).toBeLessThanOrEqual(2);

      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: BASE, path: '/ws', headers: { Connection: 'Upgrade', Upgrade: 'websocket' }, agent: false });
        req.on('response', (res) => res.resume().on('end', resolve));
        req.on('error', () => resolve());
      });
      expect(seen.at(-1)).toEqual({ connection: 'upgrade', upgrade: 'websocket' });

      // A request held open by the app is counted on blue until it ends.
      const slow = get(`http://127.0.0.1:${BASE}/slow`);
      await expect.poll(async () => (await router.openConnections(spec))?.web, { timeout: 5_000, interval: 20 }).toEqual({ blue: 1, green: 0 });
      release();
      expect((await slow).body).toBe('slow done');
      await expect.poll(async () => (await router.openConnections(spec))?.web, { timeout: 5_000, interval: 20 }).toEqual({ blue: 0, green: 0 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('switching back restores the routing from before the switch', () => {
  // The spec before (/api on BASE) and a new one that moved the route to /v1 and the router to BASE + 6.
  const before = webSpec(APP, { image: 'web:v1', port: 8080, hostPorts: { blue: BASE + 1, green: BASE + 2 }, route: '/api' }, { router: { port: BASE } });
  const moved = webSpec(APP, { image: 'web:v2', port: 8080, hostPorts: { blue: BASE + 1, green: BASE + 2 }, route: '/v1' }, { router: { port: BASE + 6 } });
  const switched = { live: 'green', backup: 'blue' } as const;
  const blue = { live: 'blue', backup: null } as const;

  /** Stand-ins for the two colors' containers: each answers with its color and the path. */
  async function colors<T>(fn: (router: NginxRouter) => Promise<T>): Promise<T> {
    const servers = (['blue', 'green'] as const).map((color) => http.createServer((req, res) => res.end(`${color} ${req.url}`)));
    await Promise.all(servers.map((server, i) => new Promise<void>((resolve) => server.listen(BASE + 1 + i, '127.0.0.1', resolve))));
    try {
      const router = new NginxRouter({ prefix: await scratchPrefix('greenlight-switch-back-'), workerProcesses: 1 });
      started.push(router);
      await router.ensureRunning();
      await router.applyRoute(before, blue);
      return await fn(router);
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }
  /** "status body" of a GET on a new connection ("0 <error>" when none opens): a kept-alive one could reach an old nginx worker. */
  const answer = (port: number, path: string) =>
    new Promise<string>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      });
      req.on('error', (err) => resolve(`0 ${err.message}`));
    });

  it('a switch keeps the config it replaces (0600); switching back serves it again, route, port and all, then drops it', async () => {
    await colors(async (router) => {
      const beforeConfig = await router.readAppConfig(APP);
      await router.applyRoute(moved, switched);
      expect(await answer(BASE + 6, '/v1/items')).toBe('200 green /v1/items');
      expect(await modeOf(router.previousConfPath(APP))).toBe('600');

      const back = await router.switchBack(moved, blue, switched);

      expect(back).toMatchObject({ restored: true, reloaded: true });
      expect(await router.readAppConfig(APP)).toBe(beforeConfig);
      expect(await router.readRoute(APP)).toEqual(blue);
      expect(await answer(BASE, '/api/items')).toBe('200 blue /api/items');
      // The port the switch had moved to is free when switchBack returns (the old workers closed it), so
      // a deploy that wants it next finds it free, not "in use by another program".
      expect(await portIsFree(BASE + 6, '0.0.0.0')).toBe(true);
      await expect(stat(router.previousConfPath(APP))).rejects.toThrow('ENOENT');
      // A retry (the activity retried after a lost result) changes nothing.
      await expect(router.switchBack(moved, blue, switched)).resolves.toMatchObject({ restored: false, reloaded: false, configChanged: false });
      expect(await answer(BASE, '/api/items')).toBe('200 blue /api/items');
    });
  });

  it('removing an app (compensation of a first deploy) returns once its router port is free: a retry finds it free', async () => {
    await colors(async (router) => {
      for (let round = 0; round < 5; round++) {
        if (round > 0) await router.applyRoute(before, blue);
        expect(await answer(BASE, '/api/items')).toBe('200 blue /api/items');
        await expect(router.removeApp(APP)).resolves.toBe(true);
        expect(await portIsFree(BASE, '0.0.0.0')).toBe(true);
      }
      await expect(router.removeApp(APP)).resolves.toBe(false);
    });
  });

  it('a config kept by an earlier switch is never restored for a switch that did not write (old color, its config as it is)', async () => {
    await colors(async (router) => {
      // The earlier deploy: switched to green on /v1 and finished (green alone); its kept config stays.
      await router.applyRoute(moved, switched);
      await router.applyRoute(moved, { live: 'green', backup: null });
      const greenConfig = await router.readAppConfig(APP);
      // The next deploy (green -> blue) is rolled back before its switch wrote anything.
      const back = await router.switchBack(moved, { live: 'green', backup: null }, { live: 'blue', backup: 'green' });
      expect(back.restored).toBe(false);
      expect(await router.readAppConfig(APP)).toBe(greenConfig);
      expect(await answer(BASE + 6, '/v1/items')).toBe('200 green /v1/items');
      await expect.poll(() => answer(BASE, '/api/items'), { timeout: 5_000, interval: 50 }).toMatch(/^0 /);
    });
  });

  it('a kept config that nginx -t rejects: nothing is swapped, the switched config keeps serving', async () => {
    await colors(async (router) => {
      await router.applyRoute(moved, switched);
      const switchedConfig = await router.readAppConfig(APP);
      const kept = await readFile(router.previousConfPath(APP), 'utf8');
      await writeFile(router.previousConfPath(APP), kept.replace('proxy_http_version 1.1;', 'proxy_http_version 1.1 broken;'), { mode: 0o600 });

      await expect(router.switchBack(moved, blue, switched)).rejects.toBeInstanceOf(RouterConfigRejectedError);
      expect(await router.readAppConfig(APP)).toBe(switchedConfig);
      expect(await router.readRoute(APP)).toEqual(switched);
      expect(await answer(BASE + 6, '/v1/items')).toBe('200 green /v1/items');
    });
  });
});
