/**
 * `npm run bench`: what greenlight exists for, measured side by side in one run on the real parts
 * (Temporal dev server, Docker engine, nginx). Prints the figures and writes bench/results/latest.json,
 * latest.md and latest.svg. Load goes to 127.0.0.1 only, bounded in rate and time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { createActivities } from '../activities';
import { buildAppContainer } from '../host/builders/container';
import { awaitOutcome, startDeploy } from '../src/cli/deploy-client';
import type { DeploySpec } from '../src/config/schema';
import { containerName, type Color } from '../src/names';
import { percentile } from '../host/probe';
import { rollbackUpdate, statusQuery } from '../workflows/messages';
import { writeWorkflowBundle } from '../harness/bundle';
import { resetApp } from '../harness/host';
import { startLoad, type LoadSample } from '../harness/loadgen';
import { REPO } from '../harness/paths';
import { movedAgainAt, rssMiB, spawnWorker } from '../harness/processes';
import { twoServiceSpec, webSpec, withImages } from '../harness/specs';
import { waitUntil } from './wait';
import { startTestWorker, testRouter, type TestWorker } from '../harness/worker';

const docker = new Docker();
const router = testRouter();
const activities = createActivities({ docker, router });
const V1 = 'greenlight-example-backend:v1';
const V2 = 'greenlight-example-backend:v2';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (values: number[]) => percentile(values, 50);
const round = (n: number) => Math.round(n * 10) / 10;

/** The example backend alone on "/": the smallest app that exercises every step. */
function oneServiceSpec(app: string, routerPort: number, blue: number, green: number): DeploySpec {
  return webSpec(app, { image: V1, port: 4000, hostPorts: { blue, green }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] }, {
    router: { port: routerPort },
    health: { interval: '200ms', successes: 2, deadline: '90s' },
    verify: { window: '1s', interval: '200ms' },
    cleanup: { previous: 'stop', drain: '200ms' },
  });
}

/** The spec with a new image for its backend service ("web" in one-service specs). */
function withImage(spec: DeploySpec, image: string): DeploySpec {
  return withImages(spec, { ['web' in spec.services ? 'web' : 'backend']: image });
}

function log(line: string): void {
  console.log(`[bench] ${line}`);
}

// ---------------------------------------------------------------------------------------------------
// Switch gap: the switch itself, under fixed-rate load through nginx.

interface SwitchGap {
  ratePerSecond: number;
  keepAlive: boolean;
  sent: number;
  failed: number;
  p99MsAroundSwitch: number;
  maxMsAroundSwitch: number;
  switchToFirstNewResponseMs: number;
  switchActivityMs: number;
}

async function switchGap(): Promise<SwitchGap[]> {
  const spec = oneServiceSpec('bench-switch', 4700, 4710, 4712);
  await resetApp(docker, router, spec.app);
  await activities.deployColor(spec, 'blue', 'bench-blue');
  await activities.switchTraffic(spec, { live: 'blue', backup: null });
  await activities.deployColor(withImage(spec, V2), 'green', 'bench-green');
  await activities.healthCheck(spec, 'green');
  let live: Color = 'blue';
  const results: SwitchGap[] = [];
  for (const ratePerSecond of [200, 1000]) {
    for (const keepAlive of [true, false]) {
      const target: Color = live === 'blue' ? 'green' : 'blue';
      const targetPort = `127.0.0.1:${spec.services.web!.hostPorts[target]}`;
      const load = startLoad({ urls: [`http://127.0.0.1:4700/api/version`], ratePerSecond, keepAlive, record: true, maxDurationMs: 30_000 });
      await sleep(2_000);
      const t0 = Date.now();
      await activities.switchTraffic(spec, { live: target, backup: live });
      const switchActivityMs = Date.now() - t0;
      await sleep(2_000);
      const report = await load.stop();
      const around = report.samples!.filter((s) => Math.abs(s.sentAt - t0) <= 1_000).map((s) => s.latencyMs);
      const firstNew = report.samples!.filter((s: LoadSample) => s.ok && s.upstream.startsWith(targetPort) && s.sentAt >= t0).map((s) => s.sentAt + s.latencyMs - t0);
      results.push({
        ratePerSecond,
        keepAlive,
        sent: report.sent,
        failed: report.failed,
        p99MsAroundSwitch: round(percentile(around, 99)),
        maxMsAroundSwitch: round(Math.max(...around)),
        switchToFirstNewResponseMs: round(Math.min(...firstNew)),
        switchActivityMs,
      });
      log(`switch ${live} -> ${target} at ${ratePerSecond}/s keep-alive ${keepAlive}: ${report.failed} failed of ${report.sent}`);
      await activities.switchTraffic(spec, { live: target, backup: null });
      live = target;
    }
  }
  await resetApp(docker, router, spec.app);
  return results;
}

// ---------------------------------------------------------------------------------------------------
// Phase breakdown of real deploys, and the orchestration overhead against a plain script.

async function deployOnce(w: TestWorker, spec: DeploySpec) {
  const started = Date.now();
  const outcome = await awaitOutcome(await startDeploy(w.client, spec, w.taskQueue));
  if (outcome.exitCode !== 0) throw new Error(`bench deploy of ${spec.app} failed: ${outcome.message}`);
  const phases = Object.fromEntries(outcome.status!.phases.filter((p) => p.phase !== 'done').map((p) => [p.phase, p.durationMs ?? 0]));
  return { totalMs: Date.now() - started, phases };
}

async function phaseBreakdown(w: TestWorker) {
  const base = twoServiceSpec('bench-phases', 4730, { health: { interval: '200ms', successes: 3, deadline: '60s' } });
  await resetApp(docker, router, 'bench-phases');
  await deployOnce(w, withImages(base, {}));
  const zeroWindow = await deployOnce(w, withImages({ ...base, verify: { window: '0s' } }, { backend: V2 }));
  log(`deploy with a zero verify window: ${zeroWindow.totalMs} ms`);
  const defaultWindow = await deployOnce(w, withImages({ ...base, verify: {} }, { backend: V1 }));
  log(`deploy with the default verify window: ${defaultWindow.totalMs} ms`);
  await resetApp(docker, router, 'bench-phases');
  return { zeroWindow, defaultWindow };
}

/** The same steps as the workflow, called in sequence without Temporal. */
async function plainScript(spec: DeploySpec, live: Color, deployId: string): Promise<number> {
  const started = Date.now();
  const target: Color = live === 'blue' ? 'green' : 'blue';
  const valid = await activities.validateSpec(spec);
  await activities.readRoute(valid.app);
  await activities.readColorImages(valid, live);
  await activities.preflightDocker(valid, target);
  await activities.checkRouterConfig(valid, { live: target, backup: live });
  await activities.deployColor(valid, target, deployId);
  await activities.healthCheck(valid, target);
  const baseline = await activities.measureBaseline(valid, live);
  await activities.switchTraffic(valid, { live: target, backup: live });
  await activities.verify(valid, target, baseline.p50Ms);
  await activities.switchTraffic(valid, { live: target, backup: null });
  await activities.retireColor(valid, live, valid.cleanup.previous, valid.cleanup.drain);
  return Date.now() - started;
}

async function orchestrationOverhead(w: TestWorker) {
  const spec = withImages(twoServiceSpec('bench-overhead', 4760, { verify: { window: '2s', interval: '100ms' }, health: { interval: '200ms', successes: 3, deadline: '60s' } }), {});
  await resetApp(docker, router, spec.app);
  await deployOnce(w, spec);
  const workflowMs: number[] = [];
  const scriptMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    workflowMs.push((await deployOnce(w, withImage(spec, i % 2 ? V1 : V2))).totalMs);
    const live = (await router.readRoute(spec.app))!.live;
    scriptMs.push(await plainScript(withImage(spec, i % 2 ? V2 : V1), live, `script-${i}`));
  }
  await resetApp(docker, router, spec.app);
  const wf = median(workflowMs);
  const script = median(scriptMs);
  log(`workflow ${wf} ms vs plain script ${script} ms`);
  return { workflowMs, scriptMs, medianWorkflowMs: wf, medianScriptMs: script, overheadMs: wf - script, overheadPercent: round(((wf - script) / script) * 100) };
}

// ---------------------------------------------------------------------------------------------------
// The peer baseline: stop the old container, run the new one on the same port.

async function naiveRedeploy() {
  const spec = oneServiceSpec('bench-naive', 4790, 4791, 4792);
  await resetApp(docker, router, spec.app);
  await activities.deployColor(spec, 'blue', 'naive-1');
  await activities.switchTraffic(spec, { live: 'blue', backup: null });
  await activities.healthCheck(spec, 'blue');
  const load = startLoad({ urls: ['http://127.0.0.1:4790/api/version'], ratePerSecond: 200, keepAlive: true, record: true, maxDurationMs: 30_000 });
  await sleep(1_000);
  const name = containerName(spec.app, 'web', 'blue');
  const t0 = Date.now();
  await docker.getContainer(name).remove({ force: true });
  const fresh = await docker.createContainer(buildAppContainer({ spec: withImage(spec, V2), service: 'web', color: 'blue', deployId: 'naive-2', secretEnv: {} }));
  await fresh.start();
  const redeployMs = Date.now() - t0;
  await sleep(3_000);
  const report = await load.stop();
  const okTimes = report.samples!.filter((s) => s.ok).map((s) => s.sentAt).sort((a, b) => a - b);
  let longestGapMs = 0;
  for (let i = 1; i < okTimes.length; i++) longestGapMs = Math.max(longestGapMs, okTimes[i]! - okTimes[i - 1]!);
  await resetApp(docker, router, spec.app);
  log(`naive redeploy: ${report.failed} failed of ${report.sent}, longest gap ${longestGapMs} ms`);
  return { ratePerSecond: 200, sent: report.sent, failed: report.failed, failures: report.failures, downtimeMs: longestGapMs, redeployMs };
}

// ---------------------------------------------------------------------------------------------------
// Rollback: on request, and on automatic detection of a new color that starts failing.

async function routeIs(app: string, live: Color): Promise<boolean> {
  const route = await router.readRoute(app);
  return route?.live === live && route.backup === null;
}

async function rollbackTimes(w: TestWorker) {
  const base = twoServiceSpec('bench-rollback', 4800, { health: { interval: '200ms', successes: 2, deadline: '60s' } });
  await resetApp(docker, router, 'bench-rollback');
  await deployOnce(w, withImages(base, {}));
  const manualMs: number[] = [];
  const automaticMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const handle = await startDeploy(w.client, withImages({ ...base, verify: { window: '5m', interval: '200ms' } }, { backend: V2 }), w.taskQueue);
    await waitUntil('verify', async () => (await handle.query(statusQuery)).phase === 'verify', 60_000, 20);
    const t0 = performance.now();
    await handle.executeUpdate(rollbackUpdate, { args: ['bench'] });
    await waitUntil('old color', () => routeIs('bench-rollback', 'blue'), 30_000, 2);
    manualMs.push(round(performance.now() - t0));
    await awaitOutcome(handle);
  }
  for (let i = 0; i < 3; i++) {
    // 1-second probes; the new backend dies 2.5 s into verify.
    const handle = await startDeploy(w.client, withImages({ ...base, verify: { window: '60s', interval: '1s', minSamples: 5 } }, { backend: V2 }), w.taskQueue);
    await waitUntil('verify', async () => (await handle.query(statusQuery)).phase === 'verify', 60_000, 20);
    await sleep(2_500);
    const t0 = performance.now();
    await docker.getContainer(containerName('bench-rollback', 'backend', 'green')).kill();
    await waitUntil('old color', () => routeIs('bench-rollback', 'blue'), 60_000, 2);
    automaticMs.push(round(performance.now() - t0));
    await awaitOutcome(handle);
  }
  await resetApp(docker, router, 'bench-rollback');
  log(`rollback on request ${manualMs.join(', ')} ms; automatic ${automaticMs.join(', ')} ms`);
  return { manualMs, automaticMs, medianManualMs: median(manualMs), medianAutomaticMs: median(automaticMs) };
}

// ---------------------------------------------------------------------------------------------------
// Crash recovery: worker SIGKILL during verify, a new worker process takes over.

async function crashRecovery(w: TestWorker) {
  const spec = withImages(twoServiceSpec('bench-crash', 4830, { verify: { window: '4s', interval: '200ms' } }), {});
  await resetApp(docker, router, spec.app);
  await deployOnce(w, spec);
  const samples: Array<{ startToMovingMs: number; killToMovingMs: number }> = [];
  for (let i = 0; i < 2; i++) {
    const dying = spawnWorker('bench-crash', 'verify:during:1:1000', `bench-crash-${i}`);
    const handle = await startDeploy(w.client, withImage(spec, i % 2 ? V1 : V2), 'bench-crash');
    await dying.exited;
    const killedAt = Date.now();
    const replacement = spawnWorker('bench-crash', undefined, `bench-crash-${i}-new`);
    const moving = await waitUntil('the deploy to move again', () => movedAgainAt(handle, replacement.startedAt), 120_000, 50);
    await awaitOutcome(handle);
    await replacement.kill('SIGTERM');
    samples.push({ startToMovingMs: moving - replacement.startedAt, killToMovingMs: moving - killedAt });
  }
  await resetApp(docker, router, spec.app);
  log(`crash recovery: ${samples.map((s) => `${s.startToMovingMs} ms`).join(', ')}`);
  return samples;
}

// ---------------------------------------------------------------------------------------------------
// Scaling: N apps deployed at once by one worker process.

async function scaling(w: TestWorker) {
  const results: Array<{ apps: number; totalMs: number; perDeployMedianMs: number; failed: number; workerPeakRssMiB: number; eventsPerHistory: number }> = [];
  const maxApps = 50;
  const specs = Array.from({ length: maxApps }, (_, i) => oneServiceSpec(`bench-s${i}`, 5100 + i, 5200 + i, 5300 + i));
  // Its own worker process, so its memory is measured alone.
  const worker = spawnWorker('bench-scale', undefined, 'bench-scale');
  try {
    for (const n of [1, 5, 20, 50]) {
      for (const spec of specs.slice(0, n)) await resetApp(docker, router, spec.app);
      let peak = rssMiB(worker.child.pid!);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(worker.child.pid!))), 200);
      const started = Date.now();
      const handles = await Promise.all(specs.slice(0, n).map((spec) => startDeploy(w.client, spec, 'bench-scale')));
      const outcomes = await Promise.all(handles.map((h) => awaitOutcome(h)));
      const totalMs = Date.now() - started;
      clearInterval(sampler);
      const durations = await Promise.all(handles.map(async (h) => {
        const d = await h.describe();
        return (d.closeTime?.getTime() ?? Date.now()) - d.startTime.getTime();
      }));
      const events = await Promise.all(handles.slice(0, 5).map(async (h) => (await h.fetchHistory()).events?.length ?? 0));
      results.push({ apps: n, totalMs, perDeployMedianMs: median(durations), failed: outcomes.filter((o) => o.exitCode !== 0).length, workerPeakRssMiB: round(peak), eventsPerHistory: median(events) });
      log(`${n} apps at once: ${totalMs} ms, ${outcomes.filter((o) => o.exitCode !== 0).length} failed, worker peak ${round(peak)} MiB`);
    }
  } finally {
    for (const spec of specs) await resetApp(docker, router, spec.app);
    await worker.kill('SIGTERM');
  }
  return results;
}

// ---------------------------------------------------------------------------------------------------
// Report: JSON, markdown table, and an SVG plot.

function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: os.release(),
    nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim().replace('nginx version: ', ''),
  };
}

interface Bar {
  label: string;
  value: number;
}

/** One horizontal bar chart with its own scale, drawn from y. */
function panel(title: string, unit: string, bars: Bar[], y: number): { svg: string; height: number } {
  const max = Math.max(...bars.map((b) => b.value), 1);
  const rows = bars.map((b, i) => {
    const top = y + 30 + i * 26;
    const w = Math.max(2, (b.value / max) * 480);
    return `<text x="10" y="${top + 15}" font-size="13" font-family="sans-serif">${b.label}</text><rect x="300" y="${top + 2}" width="${w.toFixed(1)}" height="18" fill="#2e7d32"/><text x="${(306 + w).toFixed(1)}" y="${top + 15}" font-size="12" font-family="sans-serif">${b.value} ${unit}</text>`;
  });
  return { svg: `<text x="10" y="${y + 18}" font-size="14" font-family="sans-serif" font-weight="bold">${title}</text>${rows.join('')}`, height: 40 + bars.length * 26 };
}

function svg(r: Results): string {
  const panels = [
    {
      title: 'Switch and rollback (ms)',
      bars: [
        ...r.switchGap.map((s) => ({ label: `max latency ±1 s, ${s.ratePerSecond}/s ${s.keepAlive ? 'keep-alive' : 'no keep-alive'}`, value: s.maxMsAroundSwitch })),
        ...r.switchGap.map((s) => ({ label: `switch → new color, ${s.ratePerSecond}/s ${s.keepAlive ? 'ka' : 'no ka'}`, value: s.switchToFirstNewResponseMs })),
        { label: 'rollback request → old color', value: r.rollback.medianManualMs },
        { label: 'new color dies → old color', value: r.rollback.medianAutomaticMs },
      ],
    },
    { title: 'Scaling: N deploys at once on one worker, per deploy (ms)', bars: r.scaling.map((s) => ({ label: `${s.apps} app${s.apps > 1 ? 's' : ''} (peak RSS ${s.workerPeakRssMiB} MiB)`, value: s.perDeployMedianMs })) },
  ];
  let y = 50;
  const parts: string[] = [];
  for (const p of panels) {
    const drawn = panel(p.title, 'ms', p.bars, y);
    parts.push(drawn.svg);
    y += drawn.height + 10;
  }
  const failed = r.switchGap.reduce((a, s) => a + s.failed, 0);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="${y}"><rect width="100%" height="100%" fill="white"/><text x="10" y="22" font-size="16" font-family="sans-serif" font-weight="bold">greenlight bench ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.machine.cpus} cores</text><text x="10" y="42" font-size="13" font-family="sans-serif">failed requests across ${r.switchGap.length} switches: ${failed}; naive redeploy: ${r.naive.failed} of ${r.naive.sent}; orchestration overhead ${r.overhead.overheadPercent} %</text>${parts.join('')}</svg>\n`;
}

/** A PNG of the SVG through headless chromium when it is there (scripts/up.sh installs it). */
function png(svgPath: string, pngPath: string): boolean {
  const result = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${join(os.tmpdir(), `greenlight-bench-${process.pid}`)}`, `--screenshot=${pngPath}`, '--window-size=900,560', `file://${svgPath}`], { timeout: 60_000 });
  return result.status === 0;
}

function markdown(r: Results): string {
  const phases = (p: Record<string, number>) => Object.entries(p).map(([k, v]) => `${k} ${v} ms`).join(', ');
  return [
    `# greenlight benchmarks — ${r.date}`,
    '',
    `Machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.nginx}, kernel ${r.machine.kernel}. Run time ${Math.round(r.runSeconds)} s.`,
    '',
    '## Switch gap (load through nginx, non-retrying client, reload-free switch to the new color with the old as backup)',
    '',
    '| rate | keep-alive | requests | failed | p99 ±1 s of switch | max ±1 s | switch start → first new-color response | switch activity |',
    '|---|---|---|---|---|---|---|---|',
    ...r.switchGap.map((s) => `| ${s.ratePerSecond}/s | ${s.keepAlive ? 'yes' : 'no'} | ${s.sent} | ${s.failed} | ${s.p99MsAroundSwitch} ms | ${s.maxMsAroundSwitch} ms | ${s.switchToFirstNewResponseMs} ms | ${s.switchActivityMs} ms |`),
    '',
    '## Peer baseline: naive redeploy (`docker rm -f` old, `docker run` new, same port) at 200 requests/s',
    '',
    `${r.naive.failed} failed of ${r.naive.sent} (${Object.entries(r.naive.failures).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none'}); longest time without a successful response ${r.naive.downtimeMs} ms; the redeploy took ${r.naive.redeployMs} ms.`,
    '',
    '## Phase breakdown of a deploy (two services)',
    '',
    `- verify window 0: total ${r.phases.zeroWindow.totalMs} ms — ${phases(r.phases.zeroWindow.phases)}`,
    `- default verify window (30 s): total ${r.phases.defaultWindow.totalMs} ms — ${phases(r.phases.defaultWindow.phases)}`,
    '',
    '## Orchestration overhead (same steps, plain sequential script vs the workflow; median of 3)',
    '',
    `workflow ${r.overhead.medianWorkflowMs} ms, script ${r.overhead.medianScriptMs} ms: overhead ${r.overhead.overheadMs} ms = ${r.overhead.overheadPercent} % (runs: workflow ${r.overhead.workflowMs.join(', ')}; script ${r.overhead.scriptMs.join(', ')})`,
    '',
    '## Rollback',
    '',
    `- rollback request → traffic on the old color: ${r.rollback.manualMs.join(', ')} ms (median ${r.rollback.medianManualMs} ms)`,
    `- new color dies during verify (1 s probes) → traffic on the old color: ${r.rollback.automaticMs.join(', ')} ms (median ${r.rollback.medianAutomaticMs} ms)`,
    '',
    '## Crash recovery (worker SIGKILL during verify)',
    '',
    ...r.crash.map((c) => `- new worker start → deploy moving: ${c.startToMovingMs} ms (kill → moving ${c.killToMovingMs} ms)`),
    '',
    '## Scaling: N apps deployed at once by one worker (one service each)',
    '',
    '| apps | total | per deploy (median) | failed | worker peak RSS | events per history |',
    '|---|---|---|---|---|---|',
    ...r.scaling.map((s) => `| ${s.apps} | ${s.totalMs} ms | ${s.perDeployMedianMs} ms | ${s.failed} | ${s.workerPeakRssMiB} MiB | ${s.eventsPerHistory} |`),
    '',
  ].join('\n');
}

interface Results {
  date: string;
  machine: ReturnType<typeof machine>;
  runSeconds: number;
  switchGap: SwitchGap[];
  naive: Awaited<ReturnType<typeof naiveRedeploy>>;
  phases: Awaited<ReturnType<typeof phaseBreakdown>>;
  overhead: Awaited<ReturnType<typeof orchestrationOverhead>>;
  rollback: Awaited<ReturnType<typeof rollbackTimes>>;
  crash: Awaited<ReturnType<typeof crashRecovery>>;
  scaling: Awaited<ReturnType<typeof scaling>>;
}

async function main(): Promise<void> {
  const started = Date.now();
  await writeWorkflowBundle();
  await router.ensureRunning();
  const w = await startTestWorker('bench');
  let results: Results;
  try {
    const gap = await switchGap();
    const naive = await naiveRedeploy();
    const phases = await phaseBreakdown(w);
    const overhead = await orchestrationOverhead(w);
    const rollback = await rollbackTimes(w);
    const crash = await crashRecovery(w);
    const scale = await scaling(w);
    results = { date: new Date().toISOString(), machine: machine(), runSeconds: (Date.now() - started) / 1000, switchGap: gap, naive, phases, overhead, rollback, crash, scaling: scale };
  } finally {
    await w.stop();
  }
  const dir = join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), markdown(results));
  writeFileSync(join(dir, 'latest.svg'), svg(results));
  const pngWritten = png(join(dir, 'latest.svg'), join(dir, 'latest.png'));
  console.log(`\n${markdown(results)}\nwritten: bench/results/latest.{json,md,svg${pngWritten ? ',png' : ''}}`);
}

/** `--plot-only`: redraw the plot from the saved results (no measurement). */
function plotOnly(): void {
  const dir = join(REPO, 'bench', 'results');
  const results = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Results;
  writeFileSync(join(dir, 'latest.svg'), svg(results));
  png(join(dir, 'latest.svg'), join(dir, 'latest.png'));
}

if (process.argv.includes('--plot-only')) plotOnly();
else main().catch((err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});

