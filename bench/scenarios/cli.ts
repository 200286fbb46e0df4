/**
 * The CLI as an operator meets it: `greenlight --help`, `greenlight status <app>`, and a rollback during
 * verify from the moment the command starts until nginx answers from the old color again. Each round
 * runs both ways bin/greenlight can start, side by side: the compiled JavaScript in dist/ (what a
 * provisioned checkout and an installed package run) and the TypeScript sources through tsx
 * (GREENLIGHT_FROM_SOURCE=1, what every start was before dist/ was built at provisioning).
 */
import { execFileSync, spawn } from 'node:child_process';
import { Agent, get } from 'node:http';
import { join } from 'node:path';
import { resetApp } from '../../harness/host';
import { REPO, TEMPORAL_ADDRESS } from '../../harness/paths';
import type { TestWorker } from '../../harness/worker';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { statusQuery } from '../../workflows/messages';
import { deployOnce, docker, log, median, oneServiceSpec, round, router, V2, withImage } from '../shared';
import { waitUntil } from '../wait';

const APP = 'bench-cli';
/** Router 5370, blue 5371, green 5372: the scenario's own ports (5370-5379). */
const ROUTER_PORT = 5370;
const ROUNDS = 5;
const MODES = ['tsx', 'dist'] as const;
type Mode = (typeof MODES)[number];

/** Runs bin/greenlight in `mode` (or bare node, for scale); resolves with its exit code and wall time once it exits. */
function greenlight(mode: Mode, args: string[], command = join(REPO, 'bin', 'greenlight')): { exited: Promise<{ code: number | null; ms: number }> } {
  const started = performance.now();
  const child = spawn(command, args, {
    env: { ...process.env, TEMPORAL_ADDRESS, GREENLIGHT_FROM_SOURCE: mode === 'tsx' ? '1' : '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      // A note that dist/ is stale would mean the "dist" figures measured tsx.
      if (mode === 'dist' && stderr.includes('greenlight: note:')) reject(new Error(`bin/greenlight did not run dist/: ${stderr.trim()}`));
      else resolve({ code, ms: round(performance.now() - started) });
    });
  });
  return { exited };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** The color nginx answers from on the app's public port, or null while it does not answer. */
function servingColor(): Promise<string | null> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port: ROUTER_PORT, path: '/api/version', agent, timeout: 1_000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(response.statusCode === 200 ? ((JSON.parse(body) as { color?: string }).color ?? null) : null));
    });
    request.on('error', () => resolve(null));
    request.on('timeout', () => request.destroy());
  });
}

interface Timing {
  runsMs: number[];
  medianMs: number;
  /** Fastest and slowest run. */
  spreadMs: [number, number];
}

const timing = (runsMs: number[]): Timing => ({ runsMs, medianMs: median(runsMs), spreadMs: [Math.min(...runsMs), Math.max(...runsMs)] });

export interface CliFigure {
  what: string;
  tsx: Timing;
  dist: Timing;
  /** tsx median / dist median. */
  ratio: number;
}

export interface CliFigures {
  rounds: number;
  figures: CliFigure[];
}

/**
 * One rollback during verify: from the command's start until nginx answers from the old color, and
 * until the command exited (the update accepted and the connection closed).
 */
async function rollbackToOldColor(w: TestWorker, mode: Mode, spec: ReturnType<typeof oneServiceSpec>): Promise<{ oldColorMs: number; exitMs: number }> {
  const oldColor = (await router.readRoute(APP))!.live;
  const handle = await startDeploy(w.client, withImage({ ...spec, verify: { ...spec.verify, window: 300_000 } }, V2), w.taskQueue);
  await waitUntil('verify', async () => (await handle.query(statusQuery)).phase === 'verify', 120_000, 20);
  await waitUntil('the new color serving', async () => (await servingColor()) !== oldColor, 30_000, 10);
  const started = performance.now();
  const command = greenlight(mode, ['rollback', APP, '--reason', 'bench']);
  // Every 10 ms, not tighter: the bench worker runs in this process, and a busier loop would slow the
  // very rollback it times.
  await waitUntil('the old color serving', async () => (await servingColor()) === oldColor, 60_000, 10);
  const ms = round(performance.now() - started);
  const { code, ms: exitMs } = await command.exited;
  if (code !== 0) throw new Error(`greenlight rollback (${mode}) exited ${code}`);
  const outcome = await awaitOutcome(handle);
  if (outcome.end !== 'rolled-back') throw new Error(`the deploy held in verify ended ${outcome.end}, not rolled back`);
  return { oldColorMs: ms, exitMs };
}

export async function cliLatency(w: TestWorker): Promise<CliFigures> {
  // The compiled side must be current (bin/greenlight checks, and the runs above reject a stale one).
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.cjs')], { stdio: 'inherit' });
  const spec = oneServiceSpec(APP, ROUTER_PORT, 5371, 5372);
  await resetApp(docker, router, APP);
  await deployOnce(w, spec);
  const runs: Record<string, Record<Mode, number[]>> = {};
  const record = (what: string, mode: Mode, ms: number) => ((runs[what] ??= { tsx: [], dist: [] })[mode].push(ms));
  for (let i = 0; i < ROUNDS; i++) {
    // Alternating which goes first, so neither side always runs on a warmer page cache.
    for (const mode of i % 2 ? [...MODES].reverse() : MODES) {
      // The floor: Node itself starting and exiting, which neither way can go below.
      record('node -e 0 (bare Node, for scale)', mode, (await greenlight(mode, ['-e', '0'], process.execPath).exited).ms);
      const help = await greenlight(mode, ['--help']).exited;
      if (help.code !== 0) throw new Error(`greenlight --help (${mode}) exited ${help.code}`);
      record('greenlight --help', mode, help.ms);
      const status = await greenlight(mode, ['status', APP]).exited;
      if (status.code !== 0) throw new Error(`greenlight status (${mode}) exited ${status.code}`);
      record(`greenlight status ${APP}`, mode, status.ms);
      const rollback = await rollbackToOldColor(w, mode, spec);
      record('rollback command started → old color serving', mode, rollback.oldColorMs);
      record('rollback command started → exited (update accepted)', mode, rollback.exitMs);
    }
  }
  await resetApp(docker, router, APP);
  agent.destroy();
  const figures = Object.entries(runs).map(([what, byMode]): CliFigure => {
    const [tsx, dist] = [timing(byMode.tsx), timing(byMode.dist)];
    return { what, tsx, dist, ratio: round(tsx.medianMs / dist.medianMs) };
  });
  for (const f of figures) log(`${f.what}: tsx ${f.tsx.medianMs} ms (${f.tsx.spreadMs.join('–')}), dist ${f.dist.medianMs} ms (${f.dist.spreadMs.join('–')}), ${f.ratio}x`);
  return { rounds: ROUNDS, figures };
}
