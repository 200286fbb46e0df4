/**
 * The README's first command, in its shortened mode: `scripts/demo.sh --short` on the real stack. Its
 * summary must show every deploy ending as intended with zero failed requests, the user's session
 * and note kept across colors, and PostgreSQL and Redis never restarted.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import type { DemoRow } from '../../examples/demo';
import { GREENLIGHT_HOME, REPO } from '../../harness/paths';

const run = promisify(execFile);

afterAll(() => {
  // The demo leaves its worker running for the user; the test stops it.
  try {
    process.kill(Number(readFileSync(join(GREENLIGHT_HOME, 'worker.pid'), 'utf8')), 'SIGTERM');
  } catch {
    // not running
  }
});

it('npm run demo (short): every deploy as intended, zero failed requests, sessions and data kept, infra untouched', async () => {
  const { stdout } = await run('bash', [join(REPO, 'scripts', 'demo.sh'), '--short'], { env: { ...process.env, CI: 'true', GREENLIGHT_HOME }, timeout: 280_000, maxBuffer: 16 << 20 });
  console.log(stdout.slice(stdout.indexOf('| deploy')));
  const summary = JSON.parse(readFileSync(join(GREENLIGHT_HOME, 'demo-summary.json'), 'utf8')) as { rows: DemoRow[]; infraUntouched: boolean };
  expect(summary.rows.map((r) => [r.deploy, r.outcome])).toEqual([
    ['v1', 'succeeded'],
    ['v2 under load', 'succeeded'],
    ['broken v3 (5xx after switch)', 'rolled-back'],
    ['v3, operator rollback', 'rolled-back'],
  ]);
  for (const row of summary.rows) {
    expect(row.sessionPreserved, row.deploy).toBe(true);
    if (row.load) expect(row.load.failed, row.deploy).toBe(0);
  }
  expect(summary.rows.slice(1).every((r) => r.load !== null && r.load.sent > 0)).toBe(true);
  expect(summary.rows[1]!.servedBy).toBe('v2 on green');
  expect(summary.infraUntouched).toBe(true);
  expect(stdout).toContain('unchanged by the deploys');
});
