/**
 * HTTPS vs plain HTTP through the router: one app, one running color, the same router port rendered
 * alternately without and with router.tls (a self-signed EC P-256 certificate made here), loaded with
 * wrk (Debian's `wrk`, installed by scripts/up.sh) to 127.0.0.1 only: -t2 -c50 -d5s per round, rounds
 * interleaved (plain, https, plain, https, ...) so drift on this shared 2-core machine hits both alike.
 * Keep-alive (the TLS handshake amortised) and a new connection per request (a handshake per request).
 * wrk speaks HTTP/1.1 and does not verify the certificate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetApp } from '../../harness/host';
import { makeCertificate } from '../../harness/tls';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { activities, docker, log, median, oneServiceSpec, router } from '../shared';
import { rateFigures, wrk, type RateFigures, type WrkRun } from '../wrk';

const ROUNDS = 3;
const PORT = 5122;

export interface HttpsFigures extends RateFigures {
  connections: 'keep-alive' | 'new connection per request';
  scheme: 'http' | 'https';
}

function figures(connections: HttpsFigures['connections'], scheme: HttpsFigures['scheme'], runs: WrkRun[]): HttpsFigures {
  return { connections, scheme, ...rateFigures(runs, median) };
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
          const result = await wrk(`${scheme}://127.0.0.1:${PORT}/api/version`, { closeEach });
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
