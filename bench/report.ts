/** The bench's report: bench/results/latest.json, the markdown tables (latest.md), the plot (latest.svg) and its PNG. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { REPO } from '../harness/paths';
import type { CliFigures } from './scenarios/cli';
import type { crashRecovery } from './scenarios/crash-recovery';
import type { drain } from './scenarios/drain';
import type { singleton } from './scenarios/singleton';
import type { monitor } from './scenarios/monitor';
import type { FleetFigures } from './scenarios/fleet';
import type { HttpsFigures } from './scenarios/https';
import type { restarts } from './scenarios/restarts';
import type { RouterThroughputFigures } from './scenarios/router-throughput';
import type { naiveRedeploy } from './scenarios/naive-redeploy';
import type { orchestrationOverhead } from './scenarios/orchestration-overhead';
import type { phaseBreakdown } from './scenarios/phase-breakdown';
import type { rollbackTimes } from './scenarios/rollback';
import type { scaling } from './scenarios/scaling';
import type { SwitchGap } from './scenarios/switch-gap';
import type { SwitchUnderWrk } from './scenarios/switch-wrk';
import { round } from './shared';

const RESULTS_DIR = join(REPO, 'bench', 'results');

export function machine() {
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
    ...(r.switchWrk ? switchWrkTable(r.switchWrk) : []),
    ...(r.fleet ? fleetTable(r.fleet) : []),
    ...(r.drain ? drainLines(r.drain) : []),
    ...(r.monitor
      ? [
          '## App monitor: the live color breaks during the bake (alert after 3 failed rounds)',
          '',
          '| interval | break → alert (median; all) | break → route on the previous color (median; all) | alert → route |',
          '|---|---|---|---|',
          ...r.monitor.map((m) => `| ${m.intervalMs} ms | ${m.medianAlertMs} ms (${m.alertMs.join(', ')}) | ${m.medianRouteMs} ms (${m.routeMs.join(', ')}) | ${m.alertToRouteMs.join(', ')} ms |`),
          '',
        ]
      : []),
    ...(r.singleton
      ? [
          '',
          `Singleton handover (overlap: false, ${r.singleton.rounds} deploys): lock released to lock taken median ${r.singleton.gapMs.median} ms (${r.singleton.gapMs.min}-${r.singleton.gapMs.max}), container exit to start ${r.singleton.containerGapMs.median} ms, old worker's stop ${r.singleton.stopMs.median} ms; ${r.singleton.overlaps} overlaps, at most ${r.singleton.maxRunning} running.`,
        ]
      : []),
    ...(r.https ? httpsTable(r.https) : []),
    ...(r.routerThroughput ? throughputTable(r.routerThroughput) : []),
    ...(r.restarts ? restartsTable(r.restarts) : []),
    ...(r.cli ? cliTable(r.cli) : []),
  ].join('\n');
}

function cliTable(c: CliFigures): string[] {
  const cell = (t: CliFigures['figures'][number]['tsx']) => `${t.medianMs} ms (${t.spreadMs[0]}–${t.spreadMs[1]})`;
  return [
    `## CLI: bin/greenlight from the TypeScript sources (tsx) vs compiled (dist/), ${c.rounds} rounds interleaved`,
    '',
    '| what | tsx (median; min–max) | dist/ (median; min–max) | tsx / dist |',
    '|---|---|---|---|',
    ...c.figures.map((f) => `| ${f.what} | ${cell(f.tsx)} | ${cell(f.dist)} | ${f.ratio}x |`),
    '',
  ];
}

/** `npm run bench -- cli` alone: bench/results/cli.json and cli.md (latest.* keeps the last full run). */
export function writeCliReport(figures: CliFigures, onMachine: ReturnType<typeof machine>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const date = new Date().toISOString();
  writeFileSync(join(RESULTS_DIR, 'cli.json'), `${JSON.stringify({ date, machine: onMachine, cli: figures }, null, 2)}\n`);
  const m = onMachine;
  const text = [`# greenlight CLI benchmark — ${date}`, '', `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, kernel ${m.kernel}.`, '', ...cliTable(figures)].join('\n');
  writeFileSync(join(RESULTS_DIR, 'cli.md'), text);
  console.log(`\n${text}\nwritten: bench/results/cli.{json,md}`);
}

function drainLines(d: NonNullable<Results['drain']>): string[] {
  return [
    `## Drain by open connections (${d.sockets} WebSockets through the router, ${d.rounds} rounds)`,
    '',
    `- closing by themselves within 2 s of the cleanup (maximum 30 s): old color stopped ${d.closing.medianStopAfterLastCloseMs} ms after the last one closed (median; ${d.closing.spreadStopAfterLastCloseMs} ms), cleanup ${d.closing.medianCleanupMs} ms (median; ${d.closing.cleanupMs.join(', ')}), cut ${d.closing.cut}`,
    `- held open past a 3 s maximum: cleanup ${d.held.medianCleanupMs} ms (median; ${d.held.spreadCleanupMs} ms), closed by the app's SIGTERM handler (1001) ${d.held.closedByApp}, cut (1006) ${d.held.cut}`,
    '',
  ];
}

function httpsTable(figures: HttpsFigures[]): string[] {
  return [
    '## HTTPS vs plain HTTP through the router (wrk -t2 -c50 -d5s, GET /api/version, 3 rounds interleaved)',
    '',
    '| connections | scheme | requests/s (median; min–max) | mean latency (median) | errors |',
    '|---|---|---|---|---|',
    ...figures.map((f) => `| ${f.connections} | ${f.scheme} | ${f.medianRequestsPerSecond} (${f.spreadRequestsPerSecond[0]}–${f.spreadRequestsPerSecond[1]}) | ${f.medianLatencyMs} ms | ${f.errors} |`),
    '',
  ];
}

function throughputTable(t: RouterThroughputFigures): string[] {
  const l = t.latencyAt1000;
  return [
    `## Router throughput (wrk -t2 -c50 -d5s, keep-alive, GET /api/version on one container, ${t.targets[0]?.runs.length ?? 0} rounds interleaved)`,
    '',
    '| target | requests/s (median; min–max) | mean latency (median) | errors |',
    '|---|---|---|---|',
    ...t.targets.map((f) => `| ${f.target} | ${f.medianRequestsPerSecond} (${f.spreadRequestsPerSecond[0]}–${f.spreadRequestsPerSecond[1]}) | ${f.medianLatencyMs} ms | ${f.errors} |`),
    '',
    `greenlight / minimal nginx → address: ${t.greenlightOverMinimal} (per round ${t.ratioSpread[0]}–${t.ratioSpread[1]}; target ≥ 0.85). At 1,000 requests/s: p50 ${l.directP50Ms} → ${l.routerP50Ms} ms, p99 ${l.directP99Ms} → ${l.routerP99Ms} ms direct → through the router (added p99 ${l.addedP99Ms} ms; target < 1 ms), ${l.failed} failed.`,
    '',
  ];
}

function restartsTable(r: RestartsFigures): string[] {
  return [
    `## Host restarts under a serving app (200 requests/s, no keep-alive, non-retrying client; ${r.rebootMs.length} rounds each)`,
    '',
    '| part restarted | failed requests per round | down per round |',
    '|---|---|---|',
    ...r.parts.map((p) => `| ${p.part} | ${p.failed.map((n, i) => `${n} of ${p.sent[i]}`).join(', ')} | ${p.downMs.join(', ')} ms |`),
    '',
    `Reboot-like power cut (SIGKILL to the containers, dockerd, nginx and the worker; brought back by scripts/docker.sh, scripts/nginx.sh and the restart policy) → the live color serving again: ${r.rebootMs.join(', ')} ms (median ${r.medianRebootMs} ms).`,
    '',
  ];
}

function switchWrkTable(runs: SwitchUnderWrk[]): string[] {
  return [
    '## The switch under wrk (an independent client: -t2 -c50 flat out for 6 s, the switch 2 s in)',
    '',
    '| switch | keep-alive | requests | requests/s | socket errors + non-2xx |',
    '|---|---|---|---|---|',
    ...runs.map((w) => `| ${w.switches} | ${w.keepAlive ? 'yes' : 'no ("Connection: close")'} | ${w.requests ?? '—'} | ${w.requestsPerSecond} | ${w.errors} |`),
    '',
  ];
}

function fleetTable(fleet: FleetFigures[]): string[] {
  const oneHost = fleet.find((f) => f.hosts === 1)?.medianDeployMs;
  return [
    '## Fleet: one app on N simulated hosts (own dockerd, nginx and worker each), 1000 requests/s through HAProxy',
    '',
    '| hosts | deploy (median; all) | vs 1 host | switch skew (median / max) | failed requests | rollback request → every host on the old color (median; all) | worker peak RSS per host |',
    '|---|---|---|---|---|---|---|',
    ...fleet.map(
      (f) =>
        `| ${f.hosts} | ${f.medianDeployMs} ms (${f.deployMs.join(', ')}) | ${oneHost ? `${round(f.medianDeployMs / oneHost)}x` : '—'} | ${f.medianSkewMs} / ${f.maxSkewMs} ms | ${f.failed} of ${f.sent} | ${f.medianRollbackMs} ms (${f.rollbackMs.join(', ')}) | ${f.workerPeakRssMiB.join(', ')} MiB |`,
    ),
    '',
  ];
}

type RestartsFigures = Awaited<ReturnType<typeof restarts>>;

export interface Results {
  date: string;
  machine: ReturnType<typeof machine>;
  runSeconds: number;
  switchGap: SwitchGap[];
  /** Absent in results recorded before the switch under wrk. */
  switchWrk?: SwitchUnderWrk[];
  naive: Awaited<ReturnType<typeof naiveRedeploy>>;
  phases: Awaited<ReturnType<typeof phaseBreakdown>>;
  overhead: Awaited<ReturnType<typeof orchestrationOverhead>>;
  rollback: Awaited<ReturnType<typeof rollbackTimes>>;
  crash: Awaited<ReturnType<typeof crashRecovery>>;
  scaling: Awaited<ReturnType<typeof scaling>>;
  /** Absent in results recorded before fleets existed. */
  fleet?: FleetFigures[];
  /** Absent in results recorded before the drain by open connections. */
  drain?: Awaited<ReturnType<typeof drain>>;
  /** Absent in results recorded before router.tls existed. */
  https?: HttpsFigures[];
  /** Absent in results recorded before the router throughput scenario. */
  routerThroughput?: RouterThroughputFigures;
  /** Absent in results recorded before the restarts scenario. */
  restarts?: RestartsFigures;
  /** Absent in results recorded before the CLI scenario. */
  cli?: CliFigures;
  /** Absent in results recorded before singleton workers. */
  singleton?: Awaited<ReturnType<typeof singleton>>;
  /** Absent in results recorded before the app monitor. */
  monitor?: Awaited<ReturnType<typeof monitor>>;
}

/** Writes latest.json, latest.md, latest.svg and (with chromium) latest.png, and prints the tables. */
export function writeReport(results: Results): void {
  const dir = RESULTS_DIR;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'latest.md'), markdown(results));
  writeFileSync(join(dir, 'latest.svg'), svg(results));
  const pngWritten = png(join(dir, 'latest.svg'), join(dir, 'latest.png'));
  console.log(`\n${markdown(results)}\nwritten: bench/results/latest.{json,md,svg${pngWritten ? ',png' : ''}}`);
}

/** One scenario's figures of a partial run: bench/results/scenarios/<name>.json, with when and where. */
export function writeScenario(name: string, figures: unknown): void {
  const dir = join(RESULTS_DIR, 'scenarios');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ scenario: name, date: new Date().toISOString(), machine: machine(), figures }, null, 2)}\n`);
}

/** `--plot-only`: redraw the plot from the saved results (no measurement). */
export function plotOnly(): void {
  const dir = RESULTS_DIR;
  const results = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Results;
  writeFileSync(join(dir, 'latest.svg'), svg(results));
  png(join(dir, 'latest.svg'), join(dir, 'latest.png'));
}
