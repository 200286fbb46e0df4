/**
 * Router throughput: what the router costs per request, side by side in one run. wrk -t2 -c50 -d5s,
 * rounds interleaved over the targets (so drift on this shared 2-core machine hits them alike), to one
 * container of the example backend (GET /api/version, keep-alive):
 *   direct           the container's own address on the app network (the limit)
 *   nginx → address  a minimal nginx: `set_by_lua` route lookup, keep-alive upstream, no access log
 *   nginx → port     the same minimal nginx to the container's published loopback port (docker-proxy)
 *   + access log, + headers, + open count: the minimal nginx with one of greenlight's directives added
 *   greenlight       greenlight's rendered router config
 * The minimal nginx runs in its own prefix with the router's modules and worker count. Then the latency
 * the router adds at 1,000 requests/s (the project's non-retrying client, p50/p99 direct vs router).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { percentile } from '../../host/probe';
import { containerName } from '../../src/names';
import { activities, docker, log, median, oneServiceSpec, round, router, sleep } from '../shared';
import { rateFigures, wrk, type RateFigures, type WrkRun } from '../wrk';

const run = promisify(execFile);
const ROUNDS = 5;
const ROUTER_PORT = 5400;
const HOST_PORTS = { blue: 5401, green: 5402 };
/** The minimal nginx's listeners, one per variant. */
const MINIMAL_BASE = 5410;
const PATH = '/api/version';

type Variant = 'address' | 'port' | 'access-log' | 'headers' | 'open-count';
const VARIANTS: Variant[] = ['address', 'port', 'access-log', 'headers', 'open-count'];

export interface RouterThroughputFigures {
  targets: Array<{ target: string } & RateFigures>;
  /** greenlight's median req/s over the minimal nginx's to the container address (the target: ≥ 0.85). */
  greenlightOverMinimal: number;
  /** Per round, greenlight's req/s over the minimal nginx's in the same round: the spread of the ratio. */
  ratioSpread: [number, number];
  /** At 1,000 requests/s with keep-alive: latency direct vs through the router, and what the router adds. */
  latencyAt1000: { directP50Ms: number; directP99Ms: number; routerP50Ms: number; routerP99Ms: number; addedP50Ms: number; addedP99Ms: number; failed: number };
}

/** A minimal nginx in front of the container: the baseline greenlight's router is compared with. */
function minimalConfig(prefix: string, address: string, hostPort: number): string {
  const server = (variant: Variant, i: number) => {
    const upstream = variant === 'port' ? 'by_port' : 'by_address';
    const extra: Record<Variant, string> = {
      address: '',
      port: '',
      'access-log': `        access_log ${prefix}/logs/access.log combined buffer=64k flush=1s;\n`,
      headers: `        add_header X-Greenlight-Route $r always;
        add_header X-Greenlight-Upstream $upstream_addr always;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
`,
      // As greenlight counts: +1 with the route lookup (here a second set_by_lua), the served color
      // checked when the headers arrive, -1 at the end, the color in a variable (no ngx.ctx).
      'open-count': `        set_by_lua_block $c { ngx.shared.r:incr("open/b/web/blue", 1, 0); return "blue" }
        header_filter_by_lua_block { local a = (ngx.var.upstream_addr or ""):match("([^, ]+)$"); if a == "0.0.0.0:1" then ngx.var.c = "green" end }
        log_by_lua_block { local c = ngx.var.c; if c ~= "" then ngx.shared.r:incr("open/b/web/" .. c, -1, 0) end }
`,
    };
    return `    server {
        listen ${MINIMAL_BASE + i};
        set_by_lua_block $r { return ngx.shared.r:get("b") or "blue" }
        location / {
${extra[variant]}            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://${upstream};
        }
    }
`;
  };
  return `load_module ${router.modulesDir}/ndk_http_module.so;
load_module ${router.modulesDir}/ngx_http_lua_module.so;
worker_processes 2;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path ${prefix}/tmp;
    proxy_temp_path ${prefix}/tmp;
    lua_shared_dict r 1m;
    upstream by_address { server ${address}; keepalive 64; }
    upstream by_port { server 127.0.0.1:${hostPort}; keepalive 64; }
${VARIANTS.map(server).join('')}}
`;
}

async function latencyAt(url: string): Promise<{ p50: number; p99: number; failed: number }> {
  const load = startLoad({ urls: [url], ratePerSecond: 1000, keepAlive: true, record: true, maxDurationMs: 20_000 });
  await sleep(5_000);
  const report = await load.stop();
  // The first second warms connections up on both paths alike; it is left out.
  const t0 = Math.min(...report.samples!.map((s) => s.sentAt));
  const latencies = report.samples!.filter((s) => s.ok && s.sentAt >= t0 + 1_000).map((s) => s.latencyMs);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), failed: report.failed };
}

export async function routerThroughput(): Promise<RouterThroughputFigures> {
  const spec = oneServiceSpec('bench-throughput', ROUTER_PORT, HOST_PORTS.blue, HOST_PORTS.green);
  const prefix = mkdtempSync(join(tmpdir(), 'greenlight-bench-minimal-'));
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'tmp'));
  await resetApp(docker, router, spec.app);
  try {
    await activities.deployColor(spec, 'blue', 'bench-throughput');
    await activities.healthCheck(spec, 'blue');
    await activities.switchTraffic(spec, { live: 'blue', backup: null });
    const info = await docker.getContainer(containerName(spec.app, 'web', 'blue')).inspect();
    const ip = info.NetworkSettings.Networks[spec.network]?.IPAddress;
    if (!ip) throw new Error(`the blue container has no address on ${spec.network}`);
    const address = `${ip}:${spec.services.web!.port}`;
    writeFileSync(join(prefix, 'nginx.conf'), minimalConfig(prefix, address, HOST_PORTS.blue));
    await run(router.nginxBin, ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf')]);
    const targets: Array<[string, string]> = [
      ['direct', `http://${address}${PATH}`],
      ...VARIANTS.map((variant, i): [string, string] => [variant === 'address' || variant === 'port' ? `nginx → ${variant}` : `nginx → address + ${variant}`, `http://127.0.0.1:${MINIMAL_BASE + i}${PATH}`]),
      ['greenlight', `http://127.0.0.1:${ROUTER_PORT}${PATH}`],
    ];
    const runs = new Map<string, WrkRun[]>(targets.map(([name]) => [name, []]));
    for (const [, url] of targets) await wrk(url, { args: ['-t2', '-c50', '-d1s'] }); // warm-up
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, url] of targets) {
        const result = await wrk(url);
        runs.get(name)!.push(result);
        log(`router throughput: round ${i + 1}, ${name}: ${result.requestsPerSecond} req/s, mean ${result.latencyMs} ms, ${result.errors} errors`);
      }
    }
    const minimal = runs.get('nginx → address')!;
    const greenlight = runs.get('greenlight')!;
    const ratios = greenlight.map((g, i) => g.requestsPerSecond / minimal[i]!.requestsPerSecond);
    const direct = await latencyAt(`http://${address}${PATH}`);
    const routed = await latencyAt(`http://127.0.0.1:${ROUTER_PORT}${PATH}`);
    const figures: RouterThroughputFigures = {
      targets: targets.map(([name]) => ({ target: name, ...rateFigures(runs.get(name)!, median) })),
      greenlightOverMinimal: round((100 * median(greenlight.map((r) => r.requestsPerSecond))) / median(minimal.map((r) => r.requestsPerSecond))) / 100,
      ratioSpread: [round(100 * Math.min(...ratios)) / 100, round(100 * Math.max(...ratios)) / 100],
      latencyAt1000: {
        directP50Ms: round(direct.p50),
        directP99Ms: round(direct.p99),
        routerP50Ms: round(routed.p50),
        routerP99Ms: round(routed.p99),
        addedP50Ms: round(routed.p50 - direct.p50),
        addedP99Ms: round(routed.p99 - direct.p99),
        failed: direct.failed + routed.failed,
      },
    };
    log(`router throughput: greenlight / minimal nginx = ${figures.greenlightOverMinimal} (rounds ${figures.ratioSpread.join('–')}); p99 added at 1,000/s ${figures.latencyAt1000.addedP99Ms} ms`);
    return figures;
  } finally {
    await run(router.nginxBin, ['-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-s', 'quit']).catch(() => undefined);
    await resetApp(docker, router, spec.app);
    rmSync(prefix, { recursive: true, force: true });
  }
}
