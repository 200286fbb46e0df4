/**
 * One deploy, one machine, on a shared task queue (issue 11, item 7), on real parts: two one-host
 * workers (no --host) poll one queue, each over its own Docker engine and nginx (the fleet simulation,
 * scripts/fleet.sh). The deploy ends with every container on one engine and the route on that host's
 * nginx only; the other machine's worker refused the steps that reached it. A worker runs the activities
 * of the workflow it drives (sticky workflow task, eager activity dispatch), so a deploy splits when its
 * driving worker changes mid-deploy: here the deploy's machine's worker is stopped at the promotion gate
 * and started again right after the promote, which the other machine's worker takes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import { FAILURE_TYPES } from '../../src/names';
import { promoteUpdate, statusQuery } from '../../workflows/messages';
import { waitFor } from '../helpers/wait';
import { dataConverterFromEnv } from '../../src/codec';
import { fleetState, fleetUp, resetFleetApp, type FleetHost } from '../../harness/fleet';
import { TEMPORAL_ADDRESS } from '../../harness/paths';
import { runScript, spawnWorker, type WorkerProcess } from '../../harness/processes';

const APP = 'pinned';
const QUEUE = 'e2e-one-host-pin';
let hosts: FleetHost[];
const workers: WorkerProcess[] = [];
let client: Client;

const workerOf = (host: FleetHost) => spawnWorker(QUEUE, undefined, `${QUEUE}-${host.name}`, { DOCKER_HOST: host.dockerHost, GREENLIGHT_HOME: host.home });

beforeAll(async () => {
  hosts = await fleetUp(2);
  await resetFleetApp(hosts, APP);
  client = new Client({ connection: await Connection.connect({ address: TEMPORAL_ADDRESS }), dataConverter: dataConverterFromEnv() });
  // Two machines' one-host workers on one queue: their own engine and nginx, no --host.
  for (const host of hosts) workers.push(workerOf(host));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill('SIGTERM')));
  if (hosts) await resetFleetApp(hosts, APP).catch(() => undefined);
  await client?.connection.close();
  await runScript('fleet.sh', 'down').catch(() => undefined);
});

describe('one host per deploy, two machines on one task queue', () => {
  it('keeps the whole deploy on one Docker engine; the other machine refuses its steps', async () => {
    const spec = parseDeploySpec({
      app: APP,
      router: { port: 4951 },
      services: { web: { image: 'greenlight-example-backend:v2', port: 4000, hostPorts: { blue: 4961, green: 4962 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] } },
      health: { interval: '200ms', successes: 3, deadline: '30s' },
      verify: { window: '2s', interval: '100ms' },
      cleanup: { previous: 'stop', drain: '200ms' },
      promotion: { manual: true, timeout: '5m' },
    });
    const handle = await startDeploy(client, spec, QUEUE);
    await waitFor('the promotion gate', async () => expect((await handle.query(statusQuery)).phase).toBe('promotion-gate'), { timeout: 60_000, interval: 200 });
    const at = (await fleetState(hosts, APP)).findIndex((host) => host.containers.length > 0);
    expect(at).toBeGreaterThanOrEqual(0);
    await workers[at]!.kill('SIGTERM');
    await handle.executeUpdate(promoteUpdate, { args: [] });
    workers[at] = workerOf(hosts[at]!);
    const outcome = await awaitOutcome(handle);
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);

    const state = await fleetState(hosts, APP);
    const serving = state.filter((host) => host.containers.length > 0);
    expect(serving.map((host) => host.host)).toHaveLength(1);
    const [pinned] = serving;
    expect(pinned!.host).toBe(hosts[at]!.name);
    expect(pinned!.route).toEqual({ live: 'blue', backup: null });
    expect(pinned!.containers.map((c) => c.name)).toEqual([`${APP}_web_blue`]);
    const other = state.find((host) => host !== pinned)!;
    expect(other.route).toBeNull();

    // The other machine's worker refused what reached it, naming both hosts; the retry ran on the deploy's.
    const refusals = ((await handle.fetchHistory()).events ?? []).flatMap((e) => {
      const failure = e.activityTaskStartedEventAttributes?.lastFailure;
      return failure?.applicationFailureInfo?.type === FAILURE_TYPES.wrongHost ? [failure.message ?? ''] : [];
    });
    console.log(`one-host-pin: deploy on ${pinned!.host}, ${refusals.length} step(s) started after a WrongHost refusal`);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]).toMatch(/^this deploy runs on .+ \(Docker engine .+\); this worker is on .+ \(Docker engine .+\): run one worker per Docker host/);
  });
});
