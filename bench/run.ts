/**
 * `npm run bench`: what greenlight exists for, measured side by side in one run on the real parts
 * (Temporal dev server, Docker engine, nginx). Prints the figures and writes bench/results/latest.json,
 * latest.md, latest.svg and latest.png. Load goes to 127.0.0.1 only, bounded in rate and time.
 *   npm run bench                          every scenario in order, then the report
 *   npm run bench -- rollback scaling      only these scenarios: printed and written to bench/results/scenarios/<name>.json; latest.* is left as it is
 *   npm run bench -- cli                   the CLI's start (tsx vs dist/): printed, and written to bench/results/cli.{json,md}
 *   npm run bench -- --plot-only           redraw the plot from bench/results/latest.json (no measurement)
 */
import { writeWorkflowBundle } from '../harness/bundle';
import { startTestWorker, type TestWorker } from '../harness/worker';
import { machine, plotOnly, writeCliReport, writeReport, writeScenario, type Results } from './report';
import { canary } from './scenarios/canary';
import { cliLatency } from './scenarios/cli';
import { crashRecovery } from './scenarios/crash-recovery';
import { drain } from './scenarios/drain';
import { fleet } from './scenarios/fleet';
import { https } from './scenarios/https';
import { monitor } from './scenarios/monitor';
import { naiveRedeploy } from './scenarios/naive-redeploy';
import { orchestrationOverhead } from './scenarios/orchestration-overhead';
import { phaseBreakdown } from './scenarios/phase-breakdown';
import { restarts } from './scenarios/restarts';
import { rollbackTimes } from './scenarios/rollback';
import { routerThroughput } from './scenarios/router-throughput';
import { scaling } from './scenarios/scaling';
import { singleton } from './scenarios/singleton';
import { switchGap } from './scenarios/switch-gap';
import { switchWrk } from './scenarios/switch-wrk';
import { router } from './shared';

/** Every scenario by its file name in bench/scenarios/, in the order a full run takes them. */
const SCENARIOS = {
  'switch-gap': switchGap,
  'switch-wrk': switchWrk,
  'naive-redeploy': naiveRedeploy,
  'phase-breakdown': phaseBreakdown,
  'orchestration-overhead': orchestrationOverhead,
  rollback: rollbackTimes,
  'crash-recovery': crashRecovery,
  scaling,
  fleet,
  drain,
  https,
  'router-throughput': routerThroughput,
  restarts,
  cli: cliLatency,
  singleton,
  canary,
  monitor,
} satisfies Record<string, (w: TestWorker) => Promise<unknown>>;

type ScenarioName = keyof typeof SCENARIOS;
type Figures = { [name in ScenarioName]: Awaited<ReturnType<(typeof SCENARIOS)[name]>> };

const isScenario = (name: string): name is ScenarioName => Object.hasOwn(SCENARIOS, name);

/** Runs `names` in order on one bench worker: the figures of each by name. */
async function runScenarios(w: TestWorker, names: ScenarioName[]): Promise<Partial<Figures>> {
  const figures: Partial<Record<ScenarioName, unknown>> = {};
  for (const name of names) figures[name] = await SCENARIOS[name](w);
  return figures as Partial<Figures>;
}

/** Bundles the workflows, makes sure nginx runs, and gives `measure` a worker on the "bench" queue. */
async function withBenchWorker<T>(measure: (w: TestWorker) => Promise<T>): Promise<T> {
  await writeWorkflowBundle();
  await router.ensureRunning();
  const w = await startTestWorker('bench');
  try {
    return await measure(w);
  } finally {
    await w.stop();
  }
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--plot-only')) return plotOnly();
  const unknown = args.filter((name) => !isScenario(name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: choose from ${Object.keys(SCENARIOS).join(', ')}`);
  const chosen = args.filter(isScenario);
  if (chosen.length > 0) {
    // A partial run would leave latest.* with figures of two different runs: each scenario's figures
    // go to bench/results/scenarios/<name>.json instead (with the date and machine), and are printed.
    const figures = await withBenchWorker((w) => runScenarios(w, chosen));
    for (const name of chosen) {
      console.log(`\n${name}:\n${JSON.stringify(figures[name], null, 2)}`);
      writeScenario(name, figures[name]);
    }
    // The CLI's figures stand alone (they share nothing with the deploy figures): kept as cli.json and cli.md.
    if (figures.cli) writeCliReport(figures.cli, machine());
    return;
  }
  const started = Date.now();
  const results = await withBenchWorker(async (w): Promise<Results> => {
    const f = (await runScenarios(w, Object.keys(SCENARIOS) as ScenarioName[])) as Figures;
    return {
      date: new Date().toISOString(),
      machine: machine(),
      runSeconds: (Date.now() - started) / 1000,
      switchGap: f['switch-gap'],
      switchWrk: f['switch-wrk'],
      naive: f['naive-redeploy'],
      phases: f['phase-breakdown'],
      overhead: f['orchestration-overhead'],
      rollback: f.rollback,
      crash: f['crash-recovery'],
      scaling: f.scaling,
      fleet: f.fleet,
      drain: f.drain,
      https: f.https,
      routerThroughput: f['router-throughput'],
      restarts: f.restarts,
      cli: f.cli,
      singleton: f.singleton,
      monitor: f.monitor,
    };
  });
  writeReport(results);
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
