/**
 * The checks of `greenlight doctor` (worker/doctor-checks.ts) on fakes of Docker, nginx, Temporal and the
 * file system: a healthy host's lines, then one failure at a time, each naming what failed and how to fix
 * it; a hung check fails on its own time while the others finish; the clock's skew bounds.
 */
import type { Client } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time';
import { beforeEach, describe, expect, it } from 'vitest';
import { adminSocketPath } from '../../host/builders/nginx';
import { capacityCheckFromEnv } from '../../host/capacity';
import { NginxNotInstalledError, RouterConfigRejectedError } from '../../host/nginx';
import { CLOCK_PROBE } from '../../src/names';
import { parsePayloadKeys, payloadKeysFromEnv } from '../../src/codec';
import { secretPolicyFromEnv } from '../../src/secrets';
import { metricsAddressFromEnv } from '../../src/settings';

const KEY = Buffer.alloc(32, 7).toString('base64');
import {
  doctorChecks,
  formatResult,
  judgeClockSkew,
  runCheck,
  runChecks,
  type DoctorClients,
  type DoctorOptions,
} from '../../worker/doctor-checks';

const NOW = Date.parse('2026-11-28T12:00:00Z');
/** The start of what a worker's endpoint serves (the SDK's and greenlight's metrics). */
const WORKER_METRICS = [
  '# HELP temporal_worker_start temporal_worker_start',
  '# TYPE temporal_worker_start counter',
  'temporal_worker_start{namespace="default",service_name="temporal-core",task_queue="greenlight"} 1',
  'greenlight_deploys_total{app="shop",namespace="default",outcome="succeeded",task_queue="greenlight",workflow_type="deployWorkflow"} 2',
  '',
].join('\n');
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;
const PREFIX = '/var/lib/greenlight/web-1/nginx';

function errno(code: string, message = `${code}: failed`): Error {
  return Object.assign(new Error(message), { code });
}

/** A gRPC error as the Temporal client raises it (what isGrpcServiceError recognises). */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

const never = () => new Promise<never>(() => undefined);

interface Poller {
  identity: string;
  lastPollMsAgo: number;
}

/** What the fake Temporal server answers; the tests change one field at a time. */
interface ServerState {
  serverVersion: string;
  namespace: () => Promise<{ namespaceInfo: { state: number } }>;
  pollers: Record<string, Poller[]>;
  /** The server's clock minus this host's, in ms. */
  serverAheadMs: number;
  startProbe?: () => Promise<void>;
}

function fakeTemporal(server: ServerState) {
  const calls = { describeTaskQueue: [] as unknown[], starts: [] as { type: string; options: Record<string, unknown> }[], terminated: [] as string[] };
  const client = {
    connection: { withDeadline: <R>(_deadline: number, call: () => Promise<R>) => call() },
    workflowService: {
      getSystemInfo: async () => ({ serverVersion: server.serverVersion }),
      describeNamespace: () => server.namespace(),
      describeTaskQueue: async (request: { taskQueue: { name: string }; taskQueueType: number }) => {
        calls.describeTaskQueue.push(request);
        const key = `${request.taskQueue.name}/${request.taskQueueType === 2 ? 'activities' : 'workflows'}`;
        return { pollers: (server.pollers[key] ?? []).map((p) => ({ identity: p.identity, lastAccessTime: msNumberToTs(NOW - p.lastPollMsAgo), ratePerSecond: 100_000 })) };
      },
    },
    workflow: {
      start: async (type: string, options: Record<string, unknown>) => {
        await server.startProbe?.();
        calls.starts.push({ type, options });
        const workflowId = options.workflowId as string;
        return {
          workflowId,
          describe: async () => ({ startTime: new Date(NOW + server.serverAheadMs) }),
          terminate: async () => void calls.terminated.push(workflowId),
        };
      },
    },
  };
  return { client: client as unknown as Client, calls };
}

function healthyServer(): ServerState {
  return {
    serverVersion: '1.29.1',
    namespace: async () => ({ namespaceInfo: { state: 1 } }),
    pollers: {
      'greenlight-host-web-1/activities': [{ identity: '4242@web-1', lastPollMsAgo: 3_000 }],
      'greenlight/workflows': [
        { identity: '4242@web-1', lastPollMsAgo: 1_000 },
        { identity: '777@web-2', lastPollMsAgo: 20_000 },
      ],
    },
    serverAheadMs: 0,
  };
}

interface World {
  clients: DoctorClients;
  server: ServerState;
  temporal: ReturnType<typeof fakeTemporal>;
}

/** A healthy fleet host web-1: every fake answers as on a working machine. */
function healthyWorld(): World {
  const server = healthyServer();
  const temporal = fakeTemporal(server);
  const clients: DoctorClients = {
    home: '/var/lib/greenlight/web-1',
    user: 'greenlight',
    probeWrite: async () => undefined,
    fileExists: async () => true,
    docker: { ping: async () => undefined, version: async () => ({ version: '20.10.24+dfsg1', apiVersion: '1.41' }), liveRestore: async () => true },
    dockerTarget: 'unix:///var/run/docker.sock',
    router: {
      prefix: PREFIX,
      mainConfPath: `${PREFIX}/nginx.conf`,
      appsDir: `${PREFIX}/apps`,
      nginxBin: 'nginx',
      modulesDir: '/usr/lib/nginx/modules',
      version: async () => 'nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11\nconfigure arguments: --with-compat',
      testRenderedConfig: async () => undefined,
      testMainConfig: async () => undefined,
      pid: async () => 31337,
      pingAdmin: async () => undefined,
    },
    temporal: { address: '127.0.0.1:7233', namespace: 'default', client: Promise.resolve(temporal.client) },
    now: () => NOW,
    secretPolicy: () => ({ allowed: new Map([['JWT_SECRET', 'a-long-enough-value'], ['DATABASE_URL', 'postgres://shop@db/shop']]) }),
    payloadKeys: () => parsePayloadKeys(`k2:${KEY},k1:${KEY}`, 'GREENLIGHT_PAYLOAD_KEYS'),
    metricsAddress: () => metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: '127.0.0.1:9464' }),
    get: async (url) => {
      if (url !== 'http://127.0.0.1:9464/metrics') throw Object.assign(new TypeError('fetch failed'), { cause: errno('ECONNREFUSED') });
      return { status: 200, body: WORKER_METRICS };
    },
    capacity: async () => ({ host: 'web-1', memoryAvailableBytes: 21.6 * GIB, cpus: 2, dockerRootDir: '/var/lib/docker', diskFreeBytes: 78.5 * GIB, writableLayerBytes: {} }),
    capacityCheck: () => capacityCheckFromEnv({}),
  };
  return { clients, server, temporal };
}

const FLEET_HOST: DoctorOptions = { host: 'web-1', taskQueue: 'greenlight', preStart: false };

async function doctorLines(world: World, options: DoctorOptions = FLEET_HOST): Promise<string[]> {
  return (await runChecks(doctorChecks(options, world.clients), 1_000)).map(formatResult);
}

let world: World;
beforeEach(() => {
  world = healthyWorld();
});

describe('greenlight doctor: a healthy host', () => {
  it("with GREENLIGHT_CAPACITY_CHECK=off: the capacity line still shows what the host has, and says validate does not check it", async () => {
    world.clients.capacity = async () => ({ host: 'web-1', memoryAvailableBytes: 100 * MIB, cpus: 2, dockerRootDir: '/var/lib/docker', diskFreeBytes: 10 * MIB, writableLayerBytes: {} });
    world.clients.capacityCheck = () => capacityCheckFromEnv({ GREENLIGHT_CAPACITY_CHECK: 'off' });
    expect(await doctorLines(world)).toContain("ok capacity: 100 MiB of memory available, 10 MiB free on Docker's data root /var/lib/docker, 2 CPUs (validate does not check them: GREENLIGHT_CAPACITY_CHECK=off)");
  });

  it('passes every check, one line each, saying what it saw', async () => {
    expect(await doctorLines(world)).toEqual([
      'ok GREENLIGHT_HOME: /var/lib/greenlight/web-1 is writable by greenlight',
      'ok docker: Docker Engine 20.10.24+dfsg1 (API 1.41) at unix:///var/run/docker.sock',
      'ok docker live-restore: on: containers keep running while dockerd restarts',
      'ok nginx: nginx/1.22.1 (nginx -V)',
      'ok nginx lua module: ndk_http_module.so and ngx_http_lua_module.so from /usr/lib/nginx/modules load (nginx -t of a rendered main config in a throwaway prefix)',
      `ok nginx config: ${PREFIX}/nginx.conf passes nginx -t`,
      `ok nginx running: pid 31337, admin socket ${adminSocketPath(PREFIX)} answers`,
      'ok temporal: 127.0.0.1:7233, server 1.29.1',
      'ok temporal namespace: default (registered)',
      'ok task queue greenlight-host-web-1 (activities): 1 worker polling (4242@web-1; last poll 3.0 s ago)',
      'ok task queue greenlight (workflows): 2 workers polling (4242@web-1, 777@web-2; last poll 1.0 s ago)',
      "ok clock: this host's clock is 0 ms ahead of the Temporal server's (±0 ms, from the start time of a probe workflow)",
      'ok secrets: specs may ask for JWT_SECRET, DATABASE_URL',
      'ok payload keys: encrypting with key "k2", decrypting also with "k1"',
      'ok metrics: http://127.0.0.1:9464/metrics serves 2 series',
      "ok capacity: 21.6 GiB of memory available, 78.5 GiB free on Docker's data root /var/lib/docker, 2 CPUs",
    ]);
  });

  it('metrics off (GREENLIGHT_METRICS_ADDRESS unset) is fine and says how to turn them on', async () => {
    world.clients.metricsAddress = () => metricsAddressFromEnv({});
    expect(await doctorLines(world)).toContain('ok metrics: off (GREENLIGHT_METRICS_ADDRESS unset); to serve Prometheus metrics set it, e.g. GREENLIGHT_METRICS_ADDRESS=127.0.0.1:9464');
  });

  it('metrics on every interface (0.0.0.0) are scraped on loopback', async () => {
    world.clients.metricsAddress = () => metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: '0.0.0.0:9464' });
    expect(await doctorLines(world)).toContain('ok metrics: http://127.0.0.1:9464/metrics serves 2 series');
  });

  it('asks Temporal about the right queues: the host queue for activities, the shared queue for workflows', async () => {
    await doctorLines(world);
    expect(world.temporal.calls.describeTaskQueue).toEqual([
      { namespace: 'default', taskQueue: { name: 'greenlight-host-web-1', kind: 1 }, taskQueueType: 2 },
      { namespace: 'default', taskQueue: { name: 'greenlight', kind: 1 }, taskQueueType: 1 },
    ]);
  });

  it('counts only the workers that polled lately: the server lists a stopped one for minutes', async () => {
    world.server.pollers['greenlight-host-web-1/activities'] = [
      { identity: '4242@web-1', lastPollMsAgo: 74_000 },
      { identity: '3999@web-1', lastPollMsAgo: 76_000 },
    ];
    expect(await doctorLines(world)).toContain('ok task queue greenlight-host-web-1 (activities): 1 worker polling (4242@web-1; last poll 74 s ago)');
  });

  it("honours a host's own task queue (hosts[].taskQueue)", async () => {
    world.server.pollers['edge-queue/activities'] = [{ identity: '1@web-1', lastPollMsAgo: 0 }];
    const lines = await doctorLines(world, { ...FLEET_HOST, hostTaskQueue: 'edge-queue' });
    expect(lines).toContain('ok task queue edge-queue (activities): 1 worker polling (1@web-1; last poll 0.0 s ago)');
  });

  it('without a host: both kinds of task on the one queue, GREENLIGHT_TASK_QUEUE', async () => {
    world.server.pollers['greenlight/activities'] = [{ identity: '4242@box', lastPollMsAgo: 2_000 }];
    const lines = await doctorLines(world, { host: null, taskQueue: 'greenlight', preStart: false });
    expect(lines.filter((line) => line.includes('task queue'))).toEqual([
      'ok task queue greenlight (activities): 1 worker polling (4242@box; last poll 2.0 s ago)',
      'ok task queue greenlight (workflows): 2 workers polling (4242@web-1, 777@web-2; last poll 1.0 s ago)',
    ]);
  });

  it('warns, and still passes, when dockerd would stop the containers at its restart (live-restore off)', async () => {
    world.clients.docker.liveRestore = async () => false;
    const results = await runChecks(doctorChecks(FLEET_HOST, world.clients), 1_000);
    const line = results.map(formatResult).find((l) => l.includes('live-restore'));
    expect(line).toMatch(/^warn docker live-restore: off: a dockerd restart stops every container, the live color too; fix: set "live-restore": true in \/etc\/docker\/daemon.json/);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it("before the worker starts (--pre-start): leaves out the worker's pollers and greenlight's nginx", async () => {
    world.clients.fileExists = async () => false;
    world.clients.router.pid = async () => null;
    world.server.pollers = {};
    const lines = await doctorLines(world, { ...FLEET_HOST, preStart: true });
    expect(lines.map((line) => line.slice(0, line.indexOf(':')))).toEqual([
      'ok GREENLIGHT_HOME',
      'ok docker',
      'ok docker live-restore',
      'ok nginx',
      'ok nginx lua module',
      'ok temporal',
      'ok temporal namespace',
      'ok clock',
      'ok secrets',
      'ok payload keys',
      'ok metrics',
      'ok capacity',
    ]);
    expect(lines.at(-2)).toBe('ok metrics: the worker will serve http://127.0.0.1:9464/metrics');
  });

  it('terminates the clock probe it started (no worker polls its queue)', async () => {
    await doctorLines(world);
    expect(world.temporal.calls.starts).toEqual([
      { type: CLOCK_PROBE.workflowType, options: expect.objectContaining({ taskQueue: CLOCK_PROBE.taskQueue, workflowId: expect.stringMatching(/^greenlight-doctor-clock-web-1-[0-9a-f]{8}$/) }) },
    ]);
    expect(world.temporal.calls.terminated).toEqual([world.temporal.calls.starts[0]!.options.workflowId]);
  });
});

interface FailureCase {
  name: string;
  /** Breaks one thing in the healthy world. */
  breakIt: (world: World) => void;
  /** The failing line: FAIL <what>: <detail>; fix: <how>. */
  what: string;
  detail: RegExp;
  fix: RegExp;
  options?: Partial<DoctorOptions>;
}

const notConnected = (w: World) => {
  w.clients.temporal = { ...w.clients.temporal, client: Promise.reject(new Error('14 UNAVAILABLE: Failed to connect before the deadline')) };
  void w.clients.temporal.client.catch(() => undefined);
};

const FAILURES: FailureCase[] = [
  {
    name: 'GREENLIGHT_HOME missing',
    breakIt: (w) => void (w.clients.probeWrite = () => Promise.reject(errno('ENOENT'))),
    what: 'GREENLIGHT_HOME',
    detail: /^\/var\/lib\/greenlight\/web-1 does not exist$/,
    fix: /mkdir -p \/var\/lib\/greenlight\/web-1 && chown greenlight/,
  },
  {
    name: 'GREENLIGHT_HOME not writable',
    breakIt: (w) => void (w.clients.probeWrite = () => Promise.reject(errno('EACCES'))),
    what: 'GREENLIGHT_HOME',
    detail: /is not writable by greenlight \(EACCES\)/,
    fix: /chown -R greenlight \/var\/lib\/greenlight\/web-1, or set GREENLIGHT_HOME/,
  },
  {
    name: 'Docker not running',
    breakIt: (w) => void (w.clients.docker.ping = () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock'))),
    what: 'docker',
    detail: /no Docker engine answers at unix:\/\/\/var\/run\/docker.sock \(connect ENOENT/,
    fix: /systemctl start docker.*DOCKER_HOST/,
  },
  {
    name: 'Docker socket not accessible (not in the docker group)',
    breakIt: (w) => void (w.clients.docker.ping = () => Promise.reject(new Error('connect EACCES /var/run/docker.sock'))),
    what: 'docker',
    detail: /permission denied on unix:\/\/\/var\/run\/docker.sock/,
    fix: /usermod -aG docker greenlight/,
  },
  {
    name: 'Docker answers ping but not version',
    breakIt: (w) => void (w.clients.docker.version = () => Promise.reject(new Error('(HTTP code 500) server error'))),
    what: 'docker',
    detail: /Docker engine at unix:\/\/\/var\/run\/docker.sock: \(HTTP code 500\)/,
    fix: /start the engine/,
  },
  {
    name: 'nginx not installed',
    breakIt: (w) => void (w.clients.router.version = () => Promise.reject(new NginxNotInstalledError('nginx'))),
    what: 'nginx',
    detail: /^no "nginx" on PATH$/,
    fix: /apt-get install nginx-light libnginx-mod-http-lua/,
  },
  {
    name: 'the Lua module missing',
    breakIt: (w) =>
      void (w.clients.router.testRenderedConfig = () =>
        Promise.reject(
          new RouterConfigRejectedError(
            'nginx -t rejected /tmp/greenlight-nginx-x/nginx.conf: nginx: [emerg] dlopen() "/usr/lib/nginx/modules/ngx_http_lua_module.so" failed (/usr/lib/nginx/modules/ngx_http_lua_module.so: cannot open shared object file: No such file or directory) in /tmp/greenlight-nginx-x/nginx.conf:3\nnginx: configuration file /tmp/greenlight-nginx-x/nginx.conf test failed',
          ),
        )),
    what: 'nginx lua module',
    detail: /^\[emerg\] dlopen\(\) "\/usr\/lib\/nginx\/modules\/ngx_http_lua_module.so" failed .* in \/tmp\/greenlight-nginx-x\/nginx.conf:3$/,
    fix: /apt-get install libnginx-mod-http-lua/,
  },
  {
    name: "greenlight's main config not written yet",
    breakIt: (w) => void (w.clients.fileExists = async () => false),
    what: 'nginx config',
    detail: /^no \/var\/lib\/greenlight\/web-1\/nginx\/nginx.conf yet$/,
    fix: /start `greenlight worker --host web-1` \(systemctl start greenlight-worker@web-1\): it writes the config/,
  },
  {
    name: "an app's config breaks nginx -t",
    breakIt: (w) =>
      void (w.clients.router.testMainConfig = () =>
        Promise.reject(new RouterConfigRejectedError(`nginx -t rejected ${PREFIX}/nginx.conf: nginx: [emerg] unknown directive "proxy_pas" in ${PREFIX}/apps/shop.conf:12\nnginx: configuration file ${PREFIX}/nginx.conf test failed`))),
    what: 'nginx config',
    detail: /^\[emerg\] unknown directive "proxy_pas" in .*\/apps\/shop.conf:12$/,
    fix: /fix or remove the app config nginx names \(in \/var\/lib\/greenlight\/web-1\/nginx\/apps\)/,
  },
  {
    name: "greenlight's nginx not running",
    breakIt: (w) => void (w.clients.router.pid = async () => null),
    what: 'nginx running',
    detail: /not running \(no live pid in \/var\/lib\/greenlight\/web-1\/nginx\/nginx.pid\)/,
    fix: /start `greenlight worker --host web-1`.*: it starts greenlight's nginx/,
  },
  {
    name: 'the admin socket does not answer',
    breakIt: (w) => void (w.clients.router.pingAdmin = () => Promise.reject(errno('ECONNREFUSED', `connect ECONNREFUSED ${adminSocketPath(PREFIX)}`))),
    what: 'nginx running',
    detail: /pid 31337, but its admin socket .*admin.sock does not answer \(connect ECONNREFUSED/,
    fix: /^restart `greenlight worker --host web-1` \(systemctl restart greenlight-worker@web-1\): it rewrites .*\/nginx.conf and reloads nginx; if the socket still does not answer, see .*\/logs\/error.log$/,
  },
  {
    name: 'the namespace does not exist',
    breakIt: (w) => void (w.server.namespace = () => Promise.reject(grpcError(5, 'Namespace default is not found.'))),
    what: 'temporal namespace',
    detail: /^default does not exist on 127.0.0.1:7233$/,
    fix: /temporal operator namespace create --namespace default.*TEMPORAL_NAMESPACE/,
  },
  {
    name: 'the namespace refuses this client',
    breakIt: (w) => void (w.server.namespace = () => Promise.reject(grpcError(7, 'Request unauthorized.'))),
    what: 'temporal namespace',
    detail: /access to default denied \(Request unauthorized.\)/,
    fix: /TEMPORAL_API_KEY/,
  },
  {
    name: "no worker on the host's queue",
    breakIt: (w) => void delete w.server.pollers['greenlight-host-web-1/activities'],
    what: 'task queue greenlight-host-web-1 (activities)',
    detail: /^no worker polls it$/,
    fix: /start `greenlight worker --host web-1` \(systemctl start greenlight-worker@web-1\) on this host/,
  },
  {
    name: "the host's worker gone a while ago",
    breakIt: (w) => void (w.server.pollers['greenlight-host-web-1/activities'] = [{ identity: '4242@web-1', lastPollMsAgo: 200_000 }]),
    what: 'task queue greenlight-host-web-1 (activities)',
    detail: /no worker polled it in the last 75 s \(last: 4242@web-1, 200 s ago\)/,
    fix: /start `greenlight worker --host web-1`/,
  },
  {
    name: 'no worker on the one queue (no host)',
    breakIt: (w) => void (w.server.pollers = {}),
    options: { host: null },
    what: 'task queue greenlight (activities)',
    detail: /^no worker polls it$/,
    fix: /start `greenlight worker` on this host/,
  },
  {
    name: "this host's clock 3 s behind",
    breakIt: (w) => void (w.server.serverAheadMs = 3_000),
    what: 'clock',
    detail: /this host's clock is 3000 ms behind the Temporal server's .*: more than 2.0 s/,
    fix: /timedatectl set-ntp true/,
  },
  {
    name: 'Temporal hanging on the clock probe',
    breakIt: (w) => void (w.server.startProbe = never),
    what: 'clock',
    detail: /^no answer within 1.0 s$/,
    fix: /sync the clock/,
  },
  {
    name: 'an allowed secret without a value',
    breakIt: (w) => void (w.clients.secretPolicy = () => ({ allowed: new Map([['JWT_SECRET', 'a-long-enough-value'], ['DB_PASSWORD', undefined]]) })),
    what: 'secrets',
    detail: /^allowed but not set: DB_PASSWORD$/,
    fix: /set them in \/etc\/greenlight\/web-1\.env for the systemd unit, or take them out of GREENLIGHT_SECRETS/,
  },
  {
    name: 'a secret too short to be redacted',
    breakIt: (w) => void (w.clients.secretPolicy = () => ({ allowed: new Map([['PIN', '123']]) })),
    what: 'secrets',
    detail: /^PIN: shorter than 4 characters, so not redacted from output$/,
    fix: /use longer values/,
  },
  {
    name: "a worker credential in GREENLIGHT_SECRETS (the worker would refuse to start)",
    breakIt: (w) => void (w.clients.secretPolicy = () => secretPolicyFromEnv({ GREENLIGHT_SECRETS: 'TEMPORAL_API_KEY' })),
    what: 'secrets',
    detail: /GREENLIGHT_SECRETS: TEMPORAL_API_KEY is one of the worker's own settings or credentials/,
    fix: /the worker refuses to start until it is fixed, in \/etc\/greenlight\/web-1\.env/,
  },
  {
    name: 'no payload key (the worker would refuse to start)',
    breakIt: (w) => void (w.clients.payloadKeys = () => payloadKeysFromEnv({ GREENLIGHT_HOME: '/nonexistent-greenlight-home' })),
    what: 'payload keys',
    detail: /GREENLIGHT_PAYLOAD_KEYS/,
    fix: /set GREENLIGHT_PAYLOAD_KEYS \(or GREENLIGHT_PAYLOAD_KEY_FILE\) in \/etc\/greenlight\/web-1\.env .*openssl rand -base64 32/,
  },
  {
    name: 'a payload key of the wrong length',
    breakIt: (w) => void (w.clients.payloadKeys = () => payloadKeysFromEnv({ GREENLIGHT_PAYLOAD_KEYS: `k1:${Buffer.alloc(16).toString('base64')}` })),
    what: 'payload keys',
    detail: /the key is 16 bytes, AES-256 needs 32/,
    fix: /set GREENLIGHT_PAYLOAD_KEYS/,
  },
  {
    name: 'a metrics address the worker refuses (a host name)',
    breakIt: (w) => void (w.clients.metricsAddress = () => metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: 'localhost:9464' })),
    what: 'metrics',
    detail: /^GREENLIGHT_METRICS_ADDRESS: "localhost" is not an IP address \(host names are not accepted\); expected ip:port, e\.g\. 127\.0\.0\.1:9464/,
    fix: /^fix GREENLIGHT_METRICS_ADDRESS in \/etc\/greenlight\/web-1\.env for the systemd unit \(the worker refuses to start until it is fixed\)$/,
  },
  {
    name: 'metrics on, but nothing serves them (the worker is not running)',
    breakIt: (w) => void (w.clients.metricsAddress = () => metricsAddressFromEnv({ GREENLIGHT_METRICS_ADDRESS: '127.0.0.1:9999' })),
    what: 'metrics',
    detail: /^no answer from http:\/\/127\.0\.0\.1:9999\/metrics \(ECONNREFUSED\)$/,
    fix: /start the worker \(`greenlight worker --host web-1` \(systemctl start greenlight-worker@web-1\)\) with GREENLIGHT_METRICS_ADDRESS=127\.0\.0\.1:9999/,
  },
  {
    name: 'something else answers on the metrics address',
    breakIt: (w) => void (w.clients.get = async () => ({ status: 404, body: 'not found\n' })),
    what: 'metrics',
    detail: /^http:\/\/127\.0\.0\.1:9464\/metrics answers 404 without the worker's temporal_ metrics: something else listens there$/,
    fix: /give the worker a free port in GREENLIGHT_METRICS_ADDRESS/,
  },
  {
    name: 'less memory available than the smallest deploy needs (validate would refuse every deploy)',
    breakIt: (w) => void (w.clients.capacity = async () => ({ host: 'web-1', memoryAvailableBytes: 700 * MIB, cpus: 2, dockerRootDir: '/var/lib/docker', diskFreeBytes: 78.5 * GIB, writableLayerBytes: {} })),
    what: 'capacity',
    detail: /^700 MiB of memory available, 78\.5 GiB free on Docker's data root \/var\/lib\/docker, 2 CPUs: less memory than a one-service deploy with the default limits needs \(768 MiB\), so validate refuses every deploy$/,
    fix: /^free memory on this host$/,
  },
  {
    name: 'less disk than the smallest deploy needs',
    breakIt: (w) => void (w.clients.capacity = async () => ({ host: 'web-1', memoryAvailableBytes: 21.6 * GIB, cpus: 2, dockerRootDir: '/var/lib/docker', diskFreeBytes: 1 * GIB, writableLayerBytes: {} })),
    what: 'capacity',
    detail: /: less disk than a one-service deploy needs \(1\.1 GiB\), so validate refuses every deploy$/,
    fix: /^free disk on this host \(docker system df shows what uses it; docker image prune removes dangling images\)$/,
  },
  {
    name: "Docker's data root not visible to the worker",
    breakIt: (w) => void (w.clients.capacity = async () => ({ host: 'web-1', memoryAvailableBytes: 21.6 * GIB, cpus: 2, dockerRootDir: '/var/lib/docker', diskFreeBytes: null, diskReadError: "ENOENT: no such file or directory, statfs '/var/lib/docker'", writableLayerBytes: {} })),
    what: 'capacity',
    detail: /^cannot read the free space of Docker's data root \/var\/lib\/docker \(ENOENT: no such file or directory, statfs '\/var\/lib\/docker'\)$/,
    fix: /^run the worker on the Docker host itself, or set GREENLIGHT_CAPACITY_CHECK=off in \/etc\/greenlight\/web-1\.env for the systemd unit$/,
  },
  {
    name: 'GREENLIGHT_CAPACITY_CHECK set to something else than off (the worker would refuse to start)',
    breakIt: (w) => void (w.clients.capacityCheck = () => capacityCheckFromEnv({ GREENLIGHT_CAPACITY_CHECK: 'false' })),
    what: 'capacity',
    detail: /^GREENLIGHT_CAPACITY_CHECK="false" is not a setting: use "off"/,
    fix: /the worker refuses to start until it is fixed, in \/etc\/greenlight\/web-1\.env/,
  },
];

describe('greenlight doctor: every failure names what failed and how to fix it', () => {
  it.each(FAILURES)('$name', async ({ breakIt, what, detail, fix, options }) => {
    breakIt(world);
    const lines = await doctorLines(world, { ...FLEET_HOST, ...options });
    const failed = lines.filter((line) => line.startsWith('FAIL'));
    expect(failed.length, lines.join('\n')).toBeGreaterThan(0);
    // Only the broken part fails (a queue with no worker may fail for both kinds of task).
    expect(failed.every((line) => line.startsWith(`FAIL ${what.split(' (')[0]}`)), lines.join('\n')).toBe(true);
    const line = failed.find((l) => l.startsWith(`FAIL ${what}: `))!;
    const match = /^FAIL (.+?): (.+); fix: (.+)$/.exec(line);
    expect(match, line).not.toBeNull();
    expect(match![1]).toBe(what);
    expect(match![2]).toMatch(detail);
    expect(match![3]).toMatch(fix);
  });

  it('Temporal unreachable: the temporal line says how to point at it; the checks that need it say so', async () => {
    notConnected(world);
    const lines = await doctorLines(world);
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([
      'FAIL temporal: cannot connect to 127.0.0.1:7233 (14 UNAVAILABLE: Failed to connect before the deadline); fix: start Temporal there (scripts/temporal.sh in a checkout), or set TEMPORAL_ADDRESS / TEMPORAL_PROFILE (with TEMPORAL_API_KEY or TEMPORAL_TLS_* for a cloud) in /etc/greenlight/web-1.env for the systemd unit',
      ...['temporal namespace', 'task queue greenlight-host-web-1 (activities)', 'task queue greenlight (workflows)', 'clock'].map(
        (what) => `FAIL ${what}: not checked: Temporal is unreachable (see the temporal line); fix: make Temporal reachable first (the temporal line says how)`,
      ),
    ]);
    // Docker, nginx and the home folder were still checked.
    expect(lines.filter((line) => line.startsWith('ok'))).toHaveLength(11);
  });

  it("Temporal's client configuration unreadable", async () => {
    world.clients.temporal = { address: null, namespace: 'default', client: Promise.reject(new Error('cannot read the Temporal client configuration (bad TOML)')) };
    void world.clients.temporal.client.catch(() => undefined);
    const [line] = (await doctorLines(world)).filter((l) => l.startsWith('FAIL temporal:'));
    expect(line).toBe('FAIL temporal: cannot read the Temporal client configuration (bad TOML); fix: fix TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE, or unset them and set TEMPORAL_ADDRESS');
  });

  it('a hung check fails on its own time; the others finish', async () => {
    world.clients.docker.ping = never;
    world.clients.router.pid = never;
    const started = Date.now();
    const lines = await doctorLines(world);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lines.filter((line) => line.startsWith('FAIL'))).toEqual([
      'FAIL docker: no answer within 1.0 s; fix: start the engine (systemctl start docker; scripts/docker.sh in a checkout), or point DOCKER_HOST at it',
      "FAIL nginx running: no answer within 1.0 s; fix: start `greenlight worker --host web-1` (systemctl start greenlight-worker@web-1): it starts greenlight's nginx (scripts/nginx.sh in a checkout)",
    ]);
  });

  it('an unforeseen error fails the check with its message on one line and the general fix', async () => {
    const result = await runCheck({ what: 'thing', fix: 'restart it', run: () => Promise.reject(new Error('first\n  second')) });
    expect(formatResult(result)).toBe('FAIL thing: first second; fix: restart it');
  });
});

describe('clock skew from a server timestamp', () => {
  it.each<[string, number, number, number, boolean, string]>([
    ['in sync', 1_050, 1_000, 1_100, true, '0 ms ahead of'],
    ['server 1.5 s ahead', 2_550, 1_000, 1_100, true, '1500 ms behind'],
    ['server 2.5 s ahead', 3_550, 1_000, 1_100, false, '2500 ms behind'],
    ['local 2.5 s ahead', -1_450, 1_000, 1_100, false, '2500 ms ahead of'],
    // 2.1 s off the midpoint, but a 400 ms round trip leaves at least 1.9 s: not proven over 2 s.
    ['a slow answer widens the margin', 3_300, 1_000, 1_400, true, '2100 ms behind'],
  ])('%s', (_, server, sentAt, answeredAt, pass, words) => {
    const verdict = judgeClockSkew(server, sentAt, answeredAt);
    expect(verdict.ok).toBe(pass);
    expect(verdict.detail).toContain(`this host's clock is ${words} the Temporal server's`);
  });
});
