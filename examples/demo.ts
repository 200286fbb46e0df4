/**
 * `npm run demo`: the example app deployed four times on the local stack, under continuous load through
 * nginx, with a summary table. Expects the stack and a worker up (scripts/demo.sh does that).
 *   1. v1            first deploy (or an update to v1 on the other color)
 *   2. v2            a normal deploy under load (runs migration 002, expand-only)
 *   3. broken v3     answers 5xx after the switch: verify rolls it back automatically
 *   4. v3            rolled back by an operator during verify (the `rollback` update)
 * Around them: a user logs in once (session in Redis, JWT) and writes a note (PostgreSQL); after every
 * deploy the session, the token and the note must still work, and PostgreSQL and Redis must not have
 * restarted. --short (or CI=true) shortens the verify windows.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDeploySpec } from '../src/config/load';
import { awaitOutcome, formatMs, startDeploy, type DeployOutcome } from '../src/cli/deploy-client';
import { EXIT } from '../src/cli/exit-codes';
import { startLoad, type LoadReport } from '../harness/loadgen';
import { greenlightHome, taskQueueFromEnv } from '../src/settings';
import { connectClient } from '../src/temporal';
import { rollbackUpdate, statusQuery } from '../workflows/messages';

interface Step {
  title: string;
  images: Record<string, string>;
  expect: number;
  rollbackDuringVerify?: boolean;
}

const STEPS: Step[] = [
  { title: 'v1', images: { backend: 'greenlight-example-backend:v1', frontend: 'greenlight-example-frontend:v1' }, expect: EXIT.ok },
  { title: 'v2 under load', images: { backend: 'greenlight-example-backend:v2', frontend: 'greenlight-example-frontend:v2' }, expect: EXIT.ok },
  { title: 'broken v3 (5xx after switch)', images: { backend: 'greenlight-example-backend:flaky', frontend: 'greenlight-example-frontend:v3' }, expect: EXIT.rolledBack },
  { title: 'v3, operator rollback', images: { backend: 'greenlight-example-backend:v3', frontend: 'greenlight-example-frontend:v3' }, expect: EXIT.rolledBack, rollbackDuringVerify: true },
];

export interface DemoRow {
  deploy: string;
  outcome: string;
  live: string;
  durationMs: number;
  switchMs: number | undefined;
  /** Null on a first deploy (nothing served before it). */
  load: LoadReport | null;
  sessionPreserved: boolean;
  servedBy: string;
  reason: string;
  asExpected: boolean;
}

const ROUTER = 'http://127.0.0.1:4001';

async function api<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${ROUTER}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) }, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json().catch(() => null)) as T };
}

/** Identity of the shared infrastructure's processes: a restart changes it. */
function infraIdentity(): { postgresStartedAt: string; redisRunId: string } {
  const postgresStartedAt = execFileSync('psql', ['-h', '127.0.0.1', '-p', '5434', '-U', 'shop', '-d', 'shop', '-Atc', 'SELECT pg_postmaster_start_time()'], { env: { ...process.env, PGPASSWORD: 'shop' } })
    .toString()
    .trim();
  const redisRunId = /run_id:(\w+)/.exec(execFileSync('redis-cli', ['-p', '6379', 'INFO', 'server']).toString())?.[1] ?? '?';
  return { postgresStartedAt, redisRunId };
}

function table(rows: DemoRow[]): string {
  const head = ['deploy', 'outcome', 'live after', 'duration', 'switch', 'requests', 'failed', 'session kept'];
  const body = rows.map((r) => [r.deploy, r.outcome, r.live, formatMs(r.durationMs), formatMs(r.switchMs), r.load ? String(r.load.sent) : '—', r.load ? String(r.load.failed) : '—', r.sessionPreserved ? `yes (${r.servedBy})` : 'NO']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const short = process.argv.includes('--short') || process.env.CI === 'true';
  const client = await connectClient();
  const rows: DemoRow[] = [];
  const infraBefore = infraIdentity();
  let token: string | null = null;
  const noteBody = `written before the deploys at ${new Date().toISOString()}`;
  try {
    for (const step of STEPS) {
      const spec = await loadDeploySpec(resolve(__dirname, 'greenlight.yml'), step.images);
      if (short) spec.verify.window = step.rollbackDuringVerify ? 60_000 : 3_000;
      console.log(`\n== deploy ${step.title}: ${Object.values(step.images).join(', ')}`);
      // Load only while something serves: on a first deploy there is nothing to keep up yet.
      const serving = (await api('/api/version').catch(() => ({ status: 0 }))).status === 200;
      const load = serving ? startLoad({ urls: [`${ROUTER}/api/version`, `${ROUTER}/`], ratePerSecond: 100, keepAlive: true }) : null;
      const started = Date.now();
      const handle = await startDeploy(client, spec, taskQueueFromEnv(), { requestedBy: 'npm run demo' });
      if (step.rollbackDuringVerify) {
        // Bounded: a deploy that ends before verify (e.g. a failed health check) has nothing to roll back.
        for (let waited = 0; waited < 120_000; waited += 100) {
          const phase = (await handle.query(statusQuery)).phase;
          if (phase === 'verify' || phase === 'compensation' || phase === 'done') break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await new Promise((r) => setTimeout(r, 1_000));
        console.log('   operator: greenlight rollback shop --reason "demo: rollback by signal"');
        await handle.executeUpdate(rollbackUpdate, { args: ['demo: rollback by signal'] }).catch((err: Error) => console.log(`   rollback refused: ${err.message}`));
      }
      let outcome: DeployOutcome;
      let report: LoadReport | null = null;
      try {
        outcome = await awaitOutcome(handle);
      } finally {
        if (load) report = await load.stop();
      }
      const status = outcome.status;
      for (const p of status?.phases ?? []) if (p.phase !== 'done') console.log(`   ${p.phase.padEnd(15)} ${formatMs(p.durationMs)}`);
      console.log(`   ${outcome.message.split('\n')[0]}`);

      if (token === null) {
        // A user logs in on the first live version and writes a row; every later deploy must keep both.
        const login = await api<{ token: string }>('/api/login', { method: 'POST', body: JSON.stringify({ username: 'demo', password: 'demo' }) });
        token = login.body?.token ?? null;
        await api('/api/notes', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ body: noteBody }) });
        console.log(`   user "demo" logged in on ${status?.liveColor} and wrote a note`);
      }
      const me = await api<{ username?: string; servedBy?: { version: string; color: string } }>('/api/me', { headers: { authorization: `Bearer ${token}` } });
      const notes = await api<{ notes?: Array<{ body: string }> }>('/api/notes');
      const sessionPreserved = me.status === 200 && me.body.username === 'demo' && Boolean(notes.body?.notes?.some((n) => n.body === noteBody));
      const servedBy = me.body?.servedBy ? `${me.body.servedBy.version} on ${me.body.servedBy.color}` : `HTTP ${me.status}`;
      console.log(`   session and note after the deploy: ${sessionPreserved ? 'kept' : 'LOST'} (served by ${servedBy})`);
      rows.push({
        deploy: step.title,
        outcome: status?.outcome ?? 'unknown',
        live: status?.liveColor ?? 'none',
        durationMs: Date.now() - started,
        switchMs: status?.phases.find((p) => p.phase === 'switch')?.durationMs,
        load: report,
        sessionPreserved,
        servedBy,
        reason: outcome.message,
        asExpected: outcome.exitCode === step.expect && (report?.failed ?? 0) === 0 && sessionPreserved,
      });
    }
  } finally {
    await client.connection.close();
  }
  const infraAfter = infraIdentity();
  const infraUntouched = JSON.stringify(infraBefore) === JSON.stringify(infraAfter);
  console.log(`\n${table(rows)}\n`);
  console.log(`PostgreSQL started at ${infraAfter.postgresStartedAt}, Redis run ${infraAfter.redisRunId}: ${infraUntouched ? 'unchanged by the deploys' : `CHANGED (before: ${JSON.stringify(infraBefore)})`}`);
  console.log('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows?query=GreenlightApp%3D%22shop%22');
  console.log('The app: http://127.0.0.1:4001/   Stop everything: npm run demo:stop');
  mkdirSync(greenlightHome(), { recursive: true });
  writeFileSync(resolve(greenlightHome(), 'demo-summary.json'), JSON.stringify({ rows, infraBefore, infraAfter, infraUntouched }, null, 2));
  if (!rows.every((r) => r.asExpected) || !infraUntouched) {
    console.error('demo: something did not end as expected (see above)');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`demo: ${(err as Error).message}`);
  process.exitCode = 1;
});
