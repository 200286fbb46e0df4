/**
 * `npm run demo`: the example app deployed four times on the local stack, under continuous load through
 * nginx, with a summary table. Expects the stack and a worker up (scripts/demo.sh does that).
 *   1. v1            first deploy (or an update to v1 on the other color)
 *   2. v2            a normal deploy under load
 *   3. broken v3     answers 5xx after the switch: verify rolls it back automatically
 *   4. v3            rolled back by an operator during verify (the `rollback` update)
 * --short (or CI=true) shortens the verify windows.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadDeploySpec } from '../src/config/load';
import { awaitOutcome, formatMs, startDeploy, type DeployOutcome } from '../src/cli/deploy-client';
import { EXIT } from '../src/cli/exit-codes';
import { startLoad, type LoadReport } from '../src/loadgen';
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

interface Row {
  deploy: string;
  outcome: string;
  live: string;
  durationMs: number;
  switchMs: number | undefined;
  load: LoadReport;
  reason: string;
  asExpected: boolean;
}

function table(rows: Row[]): string {
  const head = ['deploy', 'outcome', 'live after', 'duration', 'switch', 'requests', 'failed'];
  const body = rows.map((r) => [r.deploy, r.outcome, r.live, formatMs(r.durationMs), formatMs(r.switchMs), String(r.load.sent), String(r.load.failed)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const short = process.argv.includes('--short') || process.env.CI === 'true';
  const client = await connectClient();
  const rows: Row[] = [];
  try {
    for (const step of STEPS) {
      const spec = await loadDeploySpec(resolve(__dirname, 'greenlight.yml'), step.images);
      if (short) spec.verify.window = step.rollbackDuringVerify ? 60_000 : 3_000;
      const router = `http://127.0.0.1:${spec.router.port}`;
      console.log(`\n== deploy ${step.title}: ${Object.values(step.images).join(', ')}`);
      const load = startLoad({ urls: [`${router}/api/version`, `${router}/`], ratePerSecond: 100, keepAlive: true });
      const started = Date.now();
      const handle = await startDeploy(client, spec, taskQueueFromEnv(), { requestedBy: 'npm run demo' });
      if (step.rollbackDuringVerify) {
        while ((await handle.query(statusQuery)).phase !== 'verify') await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 1_000));
        console.log('   operator: greenlight rollback shop --reason "demo: rollback by signal"');
        await handle.executeUpdate(rollbackUpdate, { args: ['demo: rollback by signal'] });
      }
      const outcome: DeployOutcome = await awaitOutcome(handle);
      const report = await load.stop();
      const status = outcome.status;
      for (const p of status?.phases ?? []) if (p.phase !== 'done') console.log(`   ${p.phase.padEnd(15)} ${formatMs(p.durationMs)}`);
      console.log(`   ${outcome.message.split('\n')[0]}`);
      rows.push({
        deploy: step.title,
        outcome: status?.outcome ?? 'unknown',
        live: status?.liveColor ?? 'none',
        durationMs: Date.now() - started,
        switchMs: status?.phases.find((p) => p.phase === 'switch')?.durationMs,
        load: report,
        reason: outcome.message,
        asExpected: outcome.exitCode === step.expect && report.failed === 0,
      });
    }
  } finally {
    await client.connection.close();
  }
  console.log(`\n${table(rows)}\n`);
  console.log('Temporal UI: http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId%3D%22deploy-shop%22');
  console.log('The app: http://127.0.0.1:4001/   Stop everything: npm run demo:stop');
  const out = resolve(greenlightHome(), 'demo-summary.json');
  mkdirSync(greenlightHome(), { recursive: true });
  writeFileSync(out, JSON.stringify(rows, null, 2));
  if (!rows.every((r) => r.asExpected)) {
    console.error('demo: some deploy did not end as expected (see the table)');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`demo: ${(err as Error).message}`);
  process.exitCode = 1;
});
