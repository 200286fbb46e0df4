/**
 * HTTPS vs plain HTTP through the router: one app, one running color, the same router port rendered
 * alternately without and with router.tls (a self-signed EC P-256 certificate made here), loaded with
 * wrk (Debian's `wrk`, installed by scripts/up.sh) to 127.0.0.1 only: -t2 -c50 -d5s per round, rounds
 * interleaved (plain, https, plain, https, ...) so drift on this shared 2-core machine hits both alike.
 * Keep-alive (the TLS handshake amortised) and a new connection per request (a handshake per request).
 * wrk speaks HTTP/1.1 and does not verify the certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resetApp } from '../../harness/host';
import { makeCertificate } from '../../harness/tls';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { activities, docker, log, median, oneServiceSpec, round, router } from '../shared';

const run = promisify(execFile);

const ROUNDS = 3;
const PORT = 5122;
const WRK = ['-t2', '-c50', '-d5s'];

export interface WrkRun {
  requestsPerSecond: number;
  /** Mean latency, ms. */
  latencyMs: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx responses. */
  errors: number;
}

export interface HttpsFigures {
  connections: 'keep-alive' | 'new connection per request';
  scheme: 'http' | 'https';
  runs: WrkRun[];
  medianRequestsPerSecond: number;
  /** Lowest and highest requests/s of the rounds. */
  spreadRequestsPerSecond: [number, number];
  medianLatencyMs: number;
  errors: number;
}

/** wrk's summary: "Requests/sec:", the mean of "Latency", socket errors and "Non-2xx or 3xx responses". */
export function parseWrk(output: string): WrkRun {
  const requestsPerSecond = Number(/^Requests\/sec:\s+([\d.]+)/m.exec(output)?.[1] ?? NaN);
  const [, amount, unit] = /^\s+Latency\s+([\d.]+)(us|ms|s)\b/m.exec(output) ?? [];
  const latencyMs = Number(amount) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit ?? 'ms']!;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)?.slice(1).map(Number) ?? [];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  if (Number.isNaN(requestsPerSecond) || Number.isNaN(latencyMs)) throw new Error(`unexpected wrk output:\n${output}`);
  return { requestsPerSecond, latencyMs: round(latencyMs), errors: socket.reduce((a, b) => a + b, 0) + non2xx };
}

async function wrk(url: string, closeEach: boolean): Promise<WrkRun> {
  if (!/^https?:\/\/127\.0\.0\.1:/.test(url)) throw new Error(`refusing to load ${url}: 127.0.0.1 only`);
  const headers = closeEach ? ['-H', 'Connection: close'] : [];
  try {
    const { stdout } = await run('wrk', [...WRK, ...headers, url], { timeout: 30_000 });
    return parseWrk(stdout);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is not installed: apt-get install wrk (scripts/up.sh installs it)');
    throw err;
  }
}

function figures(connections: HttpsFigures['connections'], scheme: HttpsFigures['scheme'], runs: WrkRun[]): HttpsFigures {
  const rates = runs.map((r) => r.requestsPerSecond);
  return {
    connections,
    scheme,
    runs,
    medianRequestsPerSecond: round(median(rates)),
    spreadRequestsPerSecond: [round(Math.min(...rates)), round(Math.max(...rates))],
    medianLatencyMs: round(median(runs.map((r) => r.latencyMs))),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

export async function https(): Promise<HttpsFigures[]> {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-bench-https-'));
  const plain = oneServiceSpec('tls-bench', PORT, 5124, 5125);
  const tls: DeploySpec = parseDeploySpec({ ...plain, router: { port: PORT, tls: makeCertificate(dir, 'bench') } });
  const live = { live: 'blue', backup: null } as const;
  await resetApp(docker, router, plain.app);
  try {
    await activities.deployColor(plain, 'blue', 'bench-https');
    await activities.healthCheck(plain, 'blue');
    const results: HttpsFigures[] = [];
    for (const [connections, closeEach] of [['keep-alive', false], ['new connection per request', true]] as const) {
      const runs: Record<'http' | 'https', WrkRun[]> = { http: [], https: [] };
      for (let i = 0; i < ROUNDS; i++) {
        for (const [scheme, spec] of [['http', plain], ['https', tls]] as const) {
          // A change of scheme is a structure change: the switch reloads nginx, and returns once it serves it.
          await activities.switchTraffic(spec, live);
          const result = await wrk(`${scheme}://127.0.0.1:${PORT}/api/version`, closeEach);
          runs[scheme].push(result);
          log(`https: ${connections}, ${scheme}, round ${i + 1}: ${result.requestsPerSecond} req/s, mean ${result.latencyMs} ms, ${result.errors} errors`);
        }
      }
      results.push(figures(connections, 'http', runs.http), figures(connections, 'https', runs.https));
    }
    return results;
  } finally {
    await resetApp(docker, router, plain.app);
    rmSync(dir, { recursive: true, force: true });
  }
}
