/**
 * Fleet: one app on 1, 2 and 4 simulated Docker hosts (scripts/fleet.sh: a dockerd, nginx and worker
 * process each, HAProxy in front), at 1000 requests/s through the load balancer. Per fleet size: deploy
 * duration, switch skew (first to last host), failed requests, rollback request -> every host back on the
 * old color, and the peak RSS of each host's worker.
 */
import { FLEET_LB_URL, fleetUp, resetFleetApp, spawnHostWorker, tagOnHost, type FleetHost } from '../../harness/fleet';
import { startLoad } from '../../harness/loadgen';
import { runScript, rssMiB, type WorkerProcess } from '../../harness/processes';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import type { Color } from '../../src/names';
import { rollbackUpdate, statusQuery } from '../../workflows/messages';
import type { TestWorker } from '../../harness/worker';
import { log, median, round, sleep, V1, V2 } from '../shared';
import { waitUntil } from '../wait';

const APP = 'bench-fleet';
const QUEUE = 'bench-fleet';
const DEPLOYS = 3;

export interface FleetFigures {
  hosts: number;
  deployMs: number[];
  medianDeployMs: number;
  skewMs: number[];
  medianSkewMs: number;
  maxSkewMs: number;
  sent: number;
  failed: number;
  rollbackMs: number[];
  medianRollbackMs: number;
  workerPeakRssMiB: number[];
}

function fleetSpec(hosts: FleetHost[], image: string, overrides: Partial<DeploySpecInput> = {}) {
  return parseDeploySpec({
    app: APP,
    router: { port: hosts[0]!.routerPort },
    services: { web: { image, port: 4000, hostPorts: { blue: 4931, green: 4932 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] } },
    // Host K: router 4910+K, host ports 49(2+K)1/49(2+K)2.
    hosts: hosts.map((host, i) => ({ name: host.name, router: { port: host.routerPort }, hostPorts: { web: { blue: 4931 + 10 * i, green: 4932 + 10 * i } } })),
    health: { interval: '200ms', successes: 2, deadline: '60s' },
    verify: { window: '2s', interval: '200ms' },
    cleanup: { previous: 'stop', drain: '200ms' },
    fleet: { hostTimeout: '30s' },
    ...overrides,
  });
}

async function liveEverywhere(hosts: FleetHost[], color: Color): Promise<boolean> {
  const routes = await Promise.all(hosts.map((h) => h.router.readRoute(APP)));
  return routes.every((r) => r?.live === color && r.backup === null);
}

async function measureFleet(w: TestWorker, size: number): Promise<FleetFigures> {
  const hosts = await fleetUp(size);
  for (const host of hosts) {
    await tagOnHost(host, V1, 'bench-fleet:a');
    await tagOnHost(host, V2, 'bench-fleet:b');
  }
  await resetFleetApp(hosts, APP);
  const workers: WorkerProcess[] = hosts.map((host) => spawnHostWorker(host, QUEUE));
  const peak = hosts.map(() => 0);
  const sampler = setInterval(() => workers.forEach((wp, i) => (peak[i] = Math.max(peak[i]!, rssMiB(wp.child.pid!)))), 250);
  const deploy = async (image: string, overrides: Partial<DeploySpecInput> = {}) => startDeploy(w.client, fleetSpec(hosts, image, overrides), QUEUE);
  try {
    const first = await awaitOutcome(await deploy('bench-fleet:a'));
    if (first.exitCode !== 0) throw new Error(`fleet bench warm-up deploy failed: ${first.message}`);
    await waitUntil('the load balancer', async () => (await fetch(`${FLEET_LB_URL}/api/items`).catch(() => null))?.status === 200, 20_000, 200);
    await sleep(1_500);
    const load = startLoad({ urls: [`${FLEET_LB_URL}/api/items`], ratePerSecond: 1000, keepAlive: true, maxDurationMs: 120_000 });
    const deployMs: number[] = [];
    const skewMs: number[] = [];
    for (let i = 0; i < DEPLOYS; i++) {
      const started = Date.now();
      const outcome = await awaitOutcome(await deploy(i % 2 === 0 ? 'bench-fleet:b' : 'bench-fleet:a'));
      if (outcome.exitCode !== 0) throw new Error(`fleet bench deploy failed: ${outcome.message}`);
      deployMs.push(Date.now() - started);
      if (typeof outcome.status?.switchSkewMs === 'number') skewMs.push(outcome.status.switchSkewMs);
    }
    const report = await load.stop();
    const rollbackMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = (await hosts[0]!.router.readRoute(APP))!.live;
      const handle = await deploy(i % 2 === 0 ? 'bench-fleet:b' : 'bench-fleet:a', { verify: { window: '5m', interval: '200ms' } });
      await waitUntil('verify', async () => (await handle.query(statusQuery)).phase === 'verify', 60_000, 20);
      const t0 = performance.now();
      await handle.executeUpdate(rollbackUpdate, { args: ['bench'] });
      await waitUntil('every host on the old color', () => liveEverywhere(hosts, before), 30_000, 2);
      rollbackMs.push(round(performance.now() - t0));
      await awaitOutcome(handle);
    }
    const figures: FleetFigures = {
      hosts: size,
      deployMs,
      medianDeployMs: median(deployMs),
      skewMs,
      medianSkewMs: median(skewMs),
      // One host has no skew (the workflow reports it only across hosts).
      maxSkewMs: skewMs.length ? Math.max(...skewMs) : 0,
      sent: report.sent,
      failed: report.failed,
      rollbackMs,
      medianRollbackMs: median(rollbackMs),
      workerPeakRssMiB: peak.map(round),
    };
    log(`fleet of ${size}: deploys ${deployMs.join(', ')} ms, skew ${skewMs.join(', ')} ms, ${report.failed} failed of ${report.sent}, rollback ${rollbackMs.join(', ')} ms, worker RSS ${figures.workerPeakRssMiB.join(', ')} MiB`);
    return figures;
  } finally {
    clearInterval(sampler);
    await Promise.all(workers.map((wp) => wp.kill('SIGTERM')));
    await resetFleetApp(hosts, APP);
  }
}

export async function fleet(w: TestWorker): Promise<FleetFigures[]> {
  const results: FleetFigures[] = [];
  try {
    for (const size of [1, 2, 4]) results.push(await measureFleet(w, size));
  } finally {
    await runScript('fleet.sh', 'down');
  }
  return results;
}
