/**
 * Continuous load through nginx with a client that never retries: every failure is counted. Sends at a
 * fixed rate for a bounded time, to 127.0.0.1 only, and stops by itself.
 */
import http from 'node:http';
import https from 'node:https';

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  /** Failures by kind: HTTP status or error code. */
  failures: Record<string, number>;
  /** Responses by X-Greenlight-Upstream (which host port, i.e. which color, answered). */
  upstreams: Record<string, number>;
  /** Responses by body "version" field when JSON. */
  versions: Record<string, number>;
  durationMs: number;
  ratePerSecond: number;
  maxLatencyMs: number;
  /** Every response, when `record` is on (benchmarks): when it was sent, how long it took, who served it. */
  samples?: LoadSample[];
}

export interface LoadSample {
  /** Epoch milliseconds when the request was sent. */
  sentAt: number;
  latencyMs: number;
  ok: boolean;
  upstream: string;
  failure?: string;
}

export interface LoadOptions {
  urls: string[];
  ratePerSecond: number;
  keepAlive?: boolean;
  /** Hard stop even if stop() is never called. */
  maxDurationMs?: number;
  timeoutMs?: number;
  record?: boolean;
  /** POST (an empty body) instead of GET: nginx never retries a non-idempotent request on another upstream. */
  method?: 'GET' | 'POST';
  /**
   * PEM certificates an https target may present (a test's self-signed ones): verified against these,
   * names included (the tests' certificates name 127.0.0.1), instead of the system's CAs.
   */
  trustedCertificates?: string[];
}

export interface Load {
  stop(): Promise<LoadReport>;
  snapshot(): LoadReport;
}

/**
 * Load is only ever sent to this machine: loopback, or a container on one of the app networks the
 * scripts create on its own engines (172.30.0.0/16: scripts/docker.sh, scripts/fleet.sh).
 */
function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^172\.30\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing to send load to ${host}: only loopback targets (127.0.0.0/8, localhost, ::1) and this machine's app networks (172.30.0.0/16)`);
  }
}

export function startLoad({ urls, ratePerSecond, keepAlive = true, maxDurationMs = 180_000, timeoutMs = 5_000, record = false, method = 'GET', trustedCertificates }: LoadOptions): Load {
  urls.forEach(assertLoopback);
  const agent = new http.Agent({ keepAlive, maxSockets: 64 });
  const tlsAgent = new https.Agent({ keepAlive, maxSockets: 64, ...(trustedCertificates ? { ca: trustedCertificates } : {}) });
  const started = performance.now();
  const report: LoadReport = { sent: 0, ok: 0, failed: 0, failures: {}, upstreams: {}, versions: {}, durationMs: 0, ratePerSecond: 0, maxLatencyMs: 0 };
  const samples: LoadSample[] = [];
  const inflight = new Set<Promise<void>>();
  let stopped = false;

  const fire = (url: string) => {
    report.sent += 1;
    const t0 = performance.now();
    const sentAt = Date.now();
    const p = new Promise<void>((resolve) => {
      // One outcome per request: a time-out mid-response fires both the request's and the response's error.
      let settled = false;
      const fail = (kind: string, upstream = 'none') => {
        if (settled) return;
        settled = true;
        report.failed += 1;
        report.failures[kind] = (report.failures[kind] ?? 0) + 1;
        if (record) samples.push({ sentAt, latencyMs: performance.now() - t0, ok: false, upstream, failure: kind });
        resolve();
      };
      const secure = url.startsWith('https:');
      const req = (secure ? https : http).request(url, { method, agent: secure ? tlsAgent : agent, timeout: timeoutMs, ...(method === 'POST' ? { headers: { 'content-length': 0 } } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
        res.on('end', () => {
          if (settled) return;
          report.maxLatencyMs = Math.max(report.maxLatencyMs, performance.now() - t0);
          const upstream = String(res.headers['x-greenlight-upstream'] ?? 'none');
          report.upstreams[upstream] = (report.upstreams[upstream] ?? 0) + 1;
          if ((res.statusCode ?? 0) >= 500 || res.statusCode === undefined) return fail(`HTTP ${res.statusCode}`, upstream);
          settled = true;
          report.ok += 1;
          if (record) samples.push({ sentAt, latencyMs: performance.now() - t0, ok: true, upstream });
          try {
            const version = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: string }).version;
            if (version) report.versions[version] = (report.versions[version] ?? 0) + 1;
          } catch {
            // not JSON (the frontend page)
          }
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
      req.end();
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  // Fixed-rate schedule: catch up on ticks missed by timer jitter, so the average rate holds.
  const intervalMs = 10;
  let index = 0;
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    if (elapsed > maxDurationMs) {
      stopped = true;
      clearInterval(timer);
      return;
    }
    const due = Math.floor((elapsed / 1000) * ratePerSecond);
    while (report.sent < due && !stopped) fire(urls[index++ % urls.length]!);
  }, intervalMs);

  const finalize = (): LoadReport => {
    report.durationMs = performance.now() - started;
    report.ratePerSecond = report.sent / (report.durationMs / 1000);
    return { ...report, failures: { ...report.failures }, upstreams: { ...report.upstreams }, versions: { ...report.versions }, ...(record ? { samples: [...samples] } : {}) };
  };

  return {
    snapshot: finalize,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...inflight]);
      agent.destroy();
      tlsAgent.destroy();
      return finalize();
    },
  };
}
