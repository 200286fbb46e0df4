/**
 * Singleton workers on the real parts (test/e2e/workers.test.ts, bench scenario `singleton`): an app of
 * the example backend and the example worker (examples/app/backend/worker.js, `overlap: false`), the
 * worker's own record of the periods it held its PostgreSQL advisory lock (table worker_holds, the
 * database's clock), and a watcher that lists the app's containers continuously. Together they check,
 * rather than assume, that two singletons never ran at once, and measure the handover gap.
 */
import { execFileSync } from 'node:child_process';
import type Docker from 'dockerode';
import { parseDeploySpec } from '../src/config/load';
import type { DeploySpec } from '../src/config/schema';
import { LABELS } from '../src/names';

/** PostgreSQL of the example infra (scripts/infra.sh), from the host and from the app network. */
const PG_PORT = Number(process.env.GL_PG_PORT ?? 5434);
const PG_FROM_CONTAINERS = `postgres://shop:shop@${process.env.GL_INFRA_GATEWAY ?? '172.30.0.1'}:${PG_PORT}/shop`;

export interface WorkerAppOptions {
  app: string;
  routerPort: number;
  /** Host ports of the web service's blue and green; without, the app is the worker alone. */
  webPorts?: { blue: number; green: number };
  /** The worker's image tag: v1, v2, crash. */
  worker: string;
  /** The advisory lock key: unique per app, so tests never share a lock. */
  lockKey: number;
  stopTimeout?: string;
}

/** The example backend on "/" (overlapping, as every web service; unless left out) and the example worker as a singleton. */
export function workerAppSpec(o: WorkerAppOptions): DeploySpec {
  return parseDeploySpec({
    app: o.app,
    router: { port: o.routerPort },
    services: {
      ...(o.webPorts ? { web: { image: 'greenlight-example-backend:v1', port: 4000, hostPorts: o.webPorts, route: '/', health: { endpoints: ['/api/health'] } } } : {}),
      jobs: {
        image: `greenlight-example-worker:${o.worker}`,
        env: { DATABASE_URL: PG_FROM_CONTAINERS, GL_LOCK_KEY: String(o.lockKey), GL_JOB_MS: '200' },
        overlap: false,
        stopTimeout: o.stopTimeout ?? '5s',
        health: { type: 'docker' },
      },
    },
    health: { interval: '200ms', successes: 2, deadline: '30s' },
    verify: { window: '3s', interval: '100ms' },
    cleanup: { previous: 'stop', drain: '500ms' },
  });
}

function psql(sql: string): string {
  return execFileSync('psql', ['-X', '-q', '-At', '-F', '|', '-h', '127.0.0.1', '-p', String(PG_PORT), '-U', 'shop', '-d', 'shop', '-c', sql], {
    env: { ...process.env, PGPASSWORD: 'shop' },
    encoding: 'utf8',
  });
}

export interface Hold {
  id: number;
  color: string;
  version: string;
  lockWasFree: boolean;
  /** ms since the epoch, PostgreSQL's clock_timestamp(). */
  acquiredAt: number;
  /** null: the worker did not release it itself (it crashed; PostgreSQL freed the lock with its session). */
  releasedAt: number | null;
}

/** Forgets the app's recorded holds (the table is the worker's; it may not exist yet). */
export function resetHolds(app: string): void {
  psql(`CREATE TABLE IF NOT EXISTS worker_holds (id bigserial PRIMARY KEY, app text NOT NULL, color text NOT NULL, version text NOT NULL, host text NOT NULL,
    lock_was_free boolean NOT NULL, acquired_at timestamptz NOT NULL, released_at timestamptz, jobs integer NOT NULL DEFAULT 0);
    DELETE FROM worker_holds WHERE app = '${app}'`);
}

/** The app's holds in the order they began. */
export function holdsOf(app: string): Hold[] {
  const out = psql(
    `SELECT id, color, version, lock_was_free, (extract(epoch FROM acquired_at) * 1000)::float8, (extract(epoch FROM released_at) * 1000)::float8 FROM worker_holds WHERE app = '${app}' ORDER BY acquired_at, id`,
  );
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, color, version, free, acquired, released] = line.split('|');
      return { id: Number(id), color: color!, version: version!, lockWasFree: free === 't', acquiredAt: Number(acquired), releasedAt: released ? Number(released) : null };
    });
}

/**
 * The gaps between one hold's release and the next one's start (ms), and every pair that overlapped: a
 * hold that began before the previous one's release. A hold not released by its worker (it crashed) has
 * no end to compare; its successor's `lockWasFree` says whether the lock was free.
 */
export function handoverGaps(holds: Hold[]): { gapsMs: number[]; overlaps: string[] } {
  const gapsMs: number[] = [];
  const overlaps: string[] = [];
  for (let i = 1; i < holds.length; i++) {
    const previous = holds[i - 1]!;
    const next = holds[i]!;
    if (!next.lockWasFree) overlaps.push(`hold ${next.id} (${next.color} ${next.version}) found the lock taken`);
    if (previous.releasedAt === null) continue;
    const gap = next.acquiredAt - previous.releasedAt;
    if (gap < 0) overlaps.push(`hold ${next.id} (${next.color}) began ${-gap} ms before hold ${previous.id} (${previous.color}) was released`);
    else gapsMs.push(gap);
  }
  return { gapsMs, overlaps };
}

/** What the container watcher saw: samples taken, the most containers of the service running at once, and when. */
export interface WatchReport {
  samples: number;
  maxRunning: number;
  /** Samples in which more than one ran, with their names. */
  together: string[][];
}

/**
 * Lists the service's containers every `everyMs` (Docker's own state, running or not) until stopped:
 * a singleton must never be seen running in two containers in one sample.
 */
export function watchRunning(docker: Docker, app: string, service: string, everyMs = 20): { stop(): Promise<WatchReport> } {
  const report: WatchReport = { samples: 0, maxRunning: 0, together: [] };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const running = await docker.listContainers({ filters: { label: [`${LABELS.app}=${app}`, `${LABELS.service}=${service}`], status: ['running', 'restarting'] } });
      report.samples += 1;
      report.maxRunning = Math.max(report.maxRunning, running.length);
      if (running.length > 1) report.together.push(running.map((c) => c.Names[0]!));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return report;
    },
  };
}
