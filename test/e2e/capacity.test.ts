/**
 * The capacity check of validate on the real parts (Temporal dev server, Docker, the stack's nginx, this
 * machine's memory and disk): a memory limit the host cannot fit and more CPUs than it has fail the
 * deploy at validate, naming the host, what is needed and what is free, before any container exists,
 * while the live color keeps serving; a CPU limit that fits becomes the containers' Docker limit; and
 * the worker's GREENLIGHT_CAPACITY_CHECK=off skips the check.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { containerName, FAILURE_TYPES } from '../../src/names';
import { deployOk } from '../../harness/deploys';
import { appContainers, get, resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'capacity';
const TASK_QUEUE = 'e2e-capacity';
// Ports 5460-5462: no other e2e file uses them.
const ROUTER_PORT = 5460;

/** The example backend alone on "/", with the given limits. */
function spec(tag: string, limits: Record<string, unknown> = {}): DeploySpec {
  return parseDeploySpec({
    app: APP,
    router: { port: ROUTER_PORT },
    services: {
      web: { image: `greenlight-example-backend:${tag}`, port: 4000, hostPorts: { blue: 5461, green: 5462 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'], limits },
    },
    health: { interval: '200ms', successes: 3, deadline: '20s' },
    verify: { window: '2s', interval: '100ms' },
    cleanup: { previous: 'stop', drain: '500ms' },
  });
}

const GIB = 1024 ** 3;
let w: TestWorker;
let engineName: string;
let cpus: number;

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  const info = (await w.docker.info()) as { Name: string; NCPU: number };
  engineName = info.Name;
  cpus = info.NCPU;
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('validate checks that the new color fits on the host', () => {
  it('a memory limit larger than the memory available, and more CPUs than the host has, fail at validate: nothing is created, the live color keeps serving', async () => {
    await deployOk(w, spec('v1'), TASK_QUEUE);
    const configBefore = await w.router.readAppConfig(APP);
    const containersBefore = await appContainers(w.docker, APP);
    expect(containersBefore.map((c) => [c.name, c.state])).toEqual([[containerName(APP, 'web', 'blue'), 'running']]);
    const traffic = startLoad({ urls: [`http://127.0.0.1:${ROUTER_PORT}/api/items`], ratePerSecond: 50, keepAlive: true, maxDurationMs: 60_000 });

    // 1000 GiB: more than this machine has (24 GiB); the schema allows up to 1024g.
    const outcome = await awaitOutcome(await startDeploy(w.client, spec('v2', { memory: '1000g', cpus: cpus + 1 }), TASK_QUEUE));
    // A refused deploy ends in well under a second: the live color is watched a second longer.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const report = await traffic.stop();
    console.log(`capacity: ${report.sent} requests, ${report.failed} failed; ${outcome.message}`);

    expect(outcome.end).toBe('validation-failed');
    expect(outcome.exitCode).toBe(EXIT.invalid);
    expect(outcome.status?.phases.map((p) => p.phase)).toEqual(['validate', 'done']);
    expect(outcome.message).toContain('validation failed, nothing was changed');
    expect(outcome.message).toMatch(
      new RegExp(
        `services\\.web\\.limits\\.memory: host ${engineName} has \\d+(\\.\\d)? GiB of memory available, the green color needs 1000\\.3 GiB ` +
          `\\(web 1000 GiB, plus 256 MiB kept for the host; the live color keeps running until cleanup\\): lower services\\.web\\.limits\\.memory, or free memory on ${engineName}`,
      ),
    );
    expect(outcome.message).toContain(
      `services.web.limits.cpus: ${cpus + 1} CPUs asked, but host ${engineName} has ${cpus} (Docker refuses more than the host has): lower services.web.limits.cpus to at most ${cpus}`,
    );
    // The memory it reports is this machine's MemAvailable, read during the deploy.
    const reported = Number(/has (\d+(?:\.\d)?) GiB of memory available/.exec(outcome.message)![1]) * GIB;
    const availableNow = Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
    expect(Math.abs(reported - availableNow)).toBeLessThan(2 * GIB);

    // Nothing was created (no green container, no one-off), nothing changed on the router.
    expect(await appContainers(w.docker, APP)).toEqual(containersBefore);
    expect(await w.router.readAppConfig(APP)).toBe(configBefore);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(report.sent).toBeGreaterThan(30);
    expect(JSON.parse((await get(`http://127.0.0.1:${ROUTER_PORT}/api/version`)).body)).toEqual({ version: 'v1', color: 'blue' });
  });

  it("a CPU limit that fits becomes the container's Docker limit (NanoCpus), beside its memory limit", async () => {
    await deployOk(w, spec('v2', { memory: '256m', cpus: 0.5 }), TASK_QUEUE);
    const green = await w.docker.getContainer(containerName(APP, 'web', 'green')).inspect();
    expect([green.HostConfig.NanoCpus, green.HostConfig.Memory, green.HostConfig.MemorySwap]).toEqual([500_000_000, 256 * 1024 ** 2, 256 * 1024 ** 2]);
    expect(JSON.parse((await get(`http://127.0.0.1:${ROUTER_PORT}/api/version`)).body)).toEqual({ version: 'v2', color: 'green' });
  });

  it("the worker's GREENLIGHT_CAPACITY_CHECK=off skips the check, and only it (the same preflight, real Docker and nginx)", async () => {
    const tooBig = spec('v1', { memory: '1000g' });
    const checking = createActivities({ docker: w.docker, router: w.router, env: {} });
    const failure = (await checking.preflightDocker(tooBig, 'blue').catch((err: unknown) => err)) as ApplicationFailure;
    expect(failure.type).toBe(FAILURE_TYPES.preflight);
    expect(failure.message).toMatch(/^services\.web\.limits\.memory: host .* has .* of memory available, the blue color needs 1000\.3 GiB/);

    const skipping = createActivities({ docker: w.docker, router: w.router, env: { GREENLIGHT_CAPACITY_CHECK: 'off' } });
    await expect(skipping.preflightDocker(tooBig, 'blue')).resolves.toBeUndefined();
    // The other checks still run: an image that does not exist is refused.
    const missing = (await skipping.preflightDocker(spec('no-such-tag', { memory: '1000g' }), 'blue').catch((err: unknown) => err)) as ApplicationFailure;
    expect(missing.message).toBe('services.web.image: image "greenlight-example-backend:no-such-tag" does not exist in the local Docker engine: build or load it first (docker build -t greenlight-example-backend:no-such-tag ...)');
  });
});
