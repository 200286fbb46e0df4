/** One HTTP probe through axios: never throws, reports status, latency and error. */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { PROBE_HEADER } from './builders/nginx';

export interface ProbeResult {
  url: string;
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error: string | null;
}

export type Prober = (url: string, timeoutMs: number) => Promise<ProbeResult>;

/**
 * A prober on its own axios instance; no keep-alive, so every probe exercises a fresh connection (and,
 * on an HTTPS router port, a fresh handshake). It probes loopback only (host ports, the router's port)
 * and validate has checked the router's certificate and key, so https probes do not verify the chain
 * or the name: the certificate names the public host, not 127.0.0.1.
 */
const defaultClient = () =>
  axios.create({ httpAgent: new http.Agent({ keepAlive: false }), httpsAgent: new https.Agent({ keepAlive: false, rejectUnauthorized: false }) });

export function createProber(client: AxiosInstance = defaultClient()): Prober {
  return async (url, timeoutMs) => {
    const started = performance.now();
    try {
      const res = await client.get(url, {
        timeout: timeoutMs,
        validateStatus: () => true,
        responseType: 'text',
        transformResponse: (d: unknown) => d,
        maxRedirects: 0,
        // Through the router from 127.0.0.1, it passes maintenance mode: a deploy behind it is still verified.
        headers: { [PROBE_HEADER]: '1' },
      });
      const latencyMs = performance.now() - started;
      const ok = res.status >= 200 && res.status < 300;
      return { url, ok, status: res.status, latencyMs, error: ok ? null : `HTTP ${res.status}` };
    } catch (err) {
      const e = err as { code?: string; message: string };
      return { url, ok: false, status: null, latencyMs: performance.now() - started, error: e.code ?? e.message };
    }
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
