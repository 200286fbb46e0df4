/** wrk (Debian's, installed by scripts/up.sh) as an independent load client: 127.0.0.1 (or a local container address) only, bounded in time. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { round } from './shared';

const run = promisify(execFile);

export interface WrkRun {
  requestsPerSecond: number;
  /** Mean latency, ms. */
  latencyMs: number;
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx responses. */
  errors: number;
  /** Requests completed. */
  requests?: number;
}

/** wrk's summary: "Requests/sec:", the mean of "Latency", socket errors and "Non-2xx or 3xx responses". */
export function parseWrk(output: string): WrkRun {
  const requestsPerSecond = Number(/^Requests\/sec:\s+([\d.]+)/m.exec(output)?.[1] ?? NaN);
  const [, amount, unit] = /^\s+Latency\s+([\d.]+)(us|ms|s)\b/m.exec(output) ?? [];
  const latencyMs = Number(amount) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[unit ?? 'ms']!;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)?.slice(1).map(Number) ?? [];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  const requests = Number(/^\s+(\d+) requests in /m.exec(output)?.[1] ?? NaN);
  if (Number.isNaN(requestsPerSecond) || Number.isNaN(latencyMs)) throw new Error(`unexpected wrk output:\n${output}`);
  return { requestsPerSecond, latencyMs: round(latencyMs), errors: socket.reduce((a, b) => a + b, 0) + non2xx, ...(Number.isNaN(requests) ? {} : { requests }) };
}

/** Local targets only: loopback, or the private addresses of this machine's own Docker networks. */
const LOCAL = /^https?:\/\/(127\.0\.0\.1|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+):\d+\//;

/** One wrk run (default -t2 -c50 -d5s); `closeEach` sends "Connection: close" (a new connection per request). */
export async function wrk(url: string, { closeEach = false, args = ['-t2', '-c50', '-d5s'] }: { closeEach?: boolean; args?: string[] } = {}): Promise<WrkRun> {
  if (!LOCAL.test(url)) throw new Error(`refusing to load ${url}: 127.0.0.1 or a local container address only`);
  const headers = closeEach ? ['-H', 'Connection: close'] : [];
  try {
    const { stdout } = await run('wrk', [...args, ...headers, url], { timeout: 60_000 });
    return parseWrk(stdout);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is not installed: apt-get install wrk (scripts/up.sh installs it)');
    throw err;
  }
}

export interface RateFigures {
  runs: WrkRun[];
  medianRequestsPerSecond: number;
  /** Lowest and highest requests/s of the rounds. */
  spreadRequestsPerSecond: [number, number];
  medianLatencyMs: number;
  errors: number;
}

export function rateFigures(runs: WrkRun[], median: (v: number[]) => number): RateFigures {
  const rates = runs.map((r) => r.requestsPerSecond);
  return {
    runs,
    medianRequestsPerSecond: round(median(rates)),
    spreadRequestsPerSecond: [round(Math.min(...rates)), round(Math.max(...rates))],
    medianLatencyMs: round(median(runs.map((r) => r.latencyMs))),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}
