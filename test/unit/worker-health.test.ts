/** A worker's health (activities/worker-health.ts) from Docker's view of its container, per health.type. */
import { describe, expect, it } from 'vitest';
import { probeWorker, type WorkerHost } from '../../host/worker-health';
import { parseDeploySpec } from '../../src/config/load';

const NOW = Date.parse('2026-12-02T12:00:30Z');
const spec = (health: Record<string, unknown>) => parseDeploySpec({ app: 'shop', services: { jobs: { image: 'jobs:v1', health } } });

/** One running container of jobs/green, as Docker describes it. */
function host(state: Record<string, unknown>, exitCode: number | null = 0, running = true): WorkerHost & { execs: string[][] } {
  const execs: string[][] = [];
  return {
    execs,
    appContainers: async () => [{ id: 'c1', name: 'shop_jobs_green', running, labels: {}, addresses: {} }],
    inspectOrNull: async () => ({ State: { Status: 'running', Running: true, Restarting: false, StartedAt: '2026-12-02T12:00:00Z', ...state } }) as never,
    exec: async (_id, cmd) => {
      execs.push(cmd);
      return exitCode;
    },
  };
}

describe('probeWorker', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>, string | null]>([
    ['running 30 s of the default 10 s', {}, {}, null],
    ['running 30 s of 60 s', { runningFor: '60s' }, {}, 'running 30.0 s without a restart of the 60 s needed (health.runningFor)'],
    ['restarting', {}, { Restarting: true, Status: 'restarting' }, 'the container is restarting'],
    ['docker: healthy', { type: 'docker' }, { Health: { Status: 'healthy' } }, null],
    ['docker: starting', { type: 'docker' }, { Health: { Status: 'starting' } }, 'Docker HEALTHCHECK reports starting'],
    ['docker: no HEALTHCHECK', { type: 'docker' }, {}, 'the image has no HEALTHCHECK (health.type docker): add one to the image, or use health.command or health.type running'],
  ])('%s', async (_what, health, state, error) => {
    const result = await probeWorker(host(state), spec(health), 'jobs', 'green', 2_000, NOW);
    expect([result.ok, result.error, result.url]).toEqual([error === null, error, 'docker://shop_jobs_green']);
  });

  it('command: runs health.command in the container; exit 0 is healthy, anything else or no end is not', async () => {
    const ok = host({}, 0);
    expect((await probeWorker(ok, spec({ command: ['node', '/app/check.js'] }), 'jobs', 'green', 2_000, NOW)).ok).toBe(true);
    expect(ok.execs).toEqual([['node', '/app/check.js']]);
    expect((await probeWorker(host({}, 1), spec({ command: ['false'] }), 'jobs', 'green', 2_000, NOW)).error).toBe('health.command (false) exited with 1');
    expect((await probeWorker(host({}, null), spec({ command: ['sleep', '9'] }), 'jobs', 'green', 2_000, NOW)).error).toBe('health.command did not end within 2000 ms (health.timeout)');
  });

  it('a stopped container is unhealthy whatever the type', async () => {
    expect((await probeWorker(host({}, 0, false), spec({ type: 'docker' }), 'jobs', 'green', 2_000, NOW)).error).toBe('the container is not running');
  });
});
