/**
 * Container names on the real Docker engine and nginx (issue 11, item 3): two apps whose names joined
 * by "-" were the same (app gln-shop-api with service web, app gln-shop with service api-web: both
 * gln-shop-api-web-blue) deploy side by side and both stay up; and a host upgraded from the older
 * `<app>-<service>-<color>` scheme keeps working: its old-named containers are found by their labels,
 * replaced, stopped, restored and removed by deploys of the new code. Activities are called directly.
 */
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { buildAppContainer } from '../../host/builders/container';
import { demuxLogs } from '../../host/docker';
import { appContainers, get, resetApp } from '../../harness/host';
import { exampleImages } from '../../harness/specs';
import { testRouter } from '../../harness/worker';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpec } from '../../src/config/schema';
import { containerName, type Color } from '../../src/names';

const docker = new Docker();
const router = testRouter();
const activities = createActivities({ docker, router });
const V1 = exampleImages('v1').frontend;
const V2 = exampleImages('v2').frontend;

/** One service of the example frontend (container port 3000, /health) with the router on `base`. */
function oneService(app: string, service: string, base: number, image = V1): DeploySpec {
  return parseDeploySpec({
    app,
    router: { port: base },
    services: { [service]: { image, port: 3000, hostPorts: { blue: base + 1, green: base + 2 }, route: '/', health: { endpoints: ['/health'] } } },
    health: { interval: '200ms', successes: 2, deadline: '20s' },
  });
}

/** A deploy's Docker and router steps for one color, as the workflow runs them: the color goes live. */
async function goLive(spec: DeploySpec, color: Color, deployId: string, adoptStopped = false): Promise<void> {
  await activities.preflightDocker(spec, color);
  await activities.deployColor(spec, color, deployId, adoptStopped);
  await activities.healthCheck(spec, color);
  await activities.switchTraffic(spec, { live: color, backup: null });
}

const idOf = async (name: string) => (await docker.getContainer(name).inspect()).Id;
const stateOf = async (app: string) => (await appContainers(docker, app)).map((c) => `${c.name}:${c.state}`);
/** The color whose container answered through the app's router (the example frontend says it). */
const colorServed = async (spec: DeploySpec) => /frontend <strong>\S+<\/strong> on <strong>(\w+)<\/strong>/.exec((await get(`http://127.0.0.1:${spec.router.port}/`)).body)?.[1];

/** What a throwaway container on the app network resolves `host` to (Docker's embedded DNS), or the error code. */
async function resolveOnNetwork(network: string, host: string): Promise<string> {
  const script = `require('dns').lookup(${JSON.stringify(host)}, (err, address) => console.log(err ? err.code : address))`;
  const probe = await docker.createContainer({ Image: V1, Cmd: ['node', '-e', script], HostConfig: { NetworkMode: network } });
  try {
    await probe.start();
    await probe.wait();
    const logs = (await probe.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return demuxLogs(Buffer.from(logs)).trim();
  } finally {
    await probe.remove({ force: true });
  }
}

const ipOf = async (name: string, network: string) => (await docker.getContainer(name).inspect()).NetworkSettings.Networks[network]!.IPAddress;

beforeAll(async () => {
  await router.ensureRunning();
});

describe('apps whose "-"-joined names were the same', () => {
  const shopApi = oneService('gln-shop-api', 'web', 4600);
  const shop = oneService('gln-shop', 'api-web', 4610);

  afterAll(async () => {
    for (const spec of [shopApi, shop]) await resetApp(docker, router, spec.app);
  });

  it('deploy side by side, and each stays up through the other\'s deploys', async () => {
    for (const spec of [shopApi, shop]) await resetApp(docker, router, spec.app);
    await goLive(shopApi, 'blue', 'names-1');
    const shopApiWeb = await idOf(containerName('gln-shop-api', 'web', 'blue'));
    await goLive(shop, 'blue', 'names-2');
    await goLive(shop, 'green', 'names-3');
    await activities.retireColor(shop, 'blue', 'remove');

    expect(await stateOf('gln-shop-api')).toEqual(['gln-shop-api_web_blue:running']);
    expect(await stateOf('gln-shop')).toEqual(['gln-shop_api-web_green:running']);
    expect(await idOf(containerName('gln-shop-api', 'web', 'blue'))).toBe(shopApiWeb);
    expect([await colorServed(shopApi), await colorServed(shop)]).toEqual(['blue', 'green']);
  });

  it('gives each app container its own DNS alias on the network, <service>-<color>.<app>', async () => {
    expect(await stateOf('gln-shop-api')).toEqual(['gln-shop-api_web_blue:running']); // as the test before left it
    const network = shopApi.network;
    expect(await resolveOnNetwork(network, 'web-blue.gln-shop-api')).toBe(await ipOf('gln-shop-api_web_blue', network));
    expect(await resolveOnNetwork(network, 'api-web-green.gln-shop')).toBe(await ipOf('gln-shop_api-web_green', network));
  });
});

describe('a host upgraded from the older name scheme', () => {
  const spec = oneService('gln-upgrade', 'web', 4620);
  /** What the previous version created: its create options, under its name and alias. */
  const oldScheme = (color: Color, deployId: string, image: string) => {
    const options = buildAppContainer({ spec: { ...spec, services: { web: { ...spec.services.web!, image } } }, service: 'web', color, deployId, secretEnv: {} });
    const oldName = `${spec.app}-web-${color}`;
    return { ...options, name: oldName, NetworkingConfig: { EndpointsConfig: { [spec.network]: { Aliases: [oldName] } } } };
  };

  afterAll(async () => {
    await resetApp(docker, router, spec.app);
  });

  it('finds its old-named containers by labels: replaces, stops, restores and removes them', async () => {
    await resetApp(docker, router, spec.app);
    // The previous version's host: v1 live on blue, an older v0 left stopped on green.
    await (await docker.createContainer(oldScheme('blue', 'old-1', V1))).start();
    await docker.createContainer(oldScheme('green', 'old-0', V1));
    await activities.switchTraffic(spec, { live: 'blue', backup: null });
    const oldBlue = await idOf('gln-upgrade-web-blue');
    expect(await activities.readColorImages(spec, 'blue')).toEqual({ web: V1 });

    // A deploy of v2 with the new code: the old green is replaced (no old name keeps green's port).
    await goLive(oneService('gln-upgrade', 'web', 4620, V2), 'green', 'new-2');
    expect(await activities.retireColor(spec, 'blue', 'stop')).toEqual(['gln-upgrade-web-blue']);
    expect(await stateOf(spec.app)).toEqual(['gln-upgrade-web-blue:exited', 'gln-upgrade_web_green:running']);

    // A rollback restores the previous version from its stopped, old-named container: the same one.
    await goLive(spec, 'blue', 'new-3', true);
    expect(await idOf('gln-upgrade-web-blue')).toBe(oldBlue);
    expect(await colorServed(spec)).toBe('blue');
    expect(await activities.removeColor(spec, 'green')).toEqual(['gln-upgrade_web_green']);

    // The next deploys retire the old-named container for good; the new names take over.
    await goLive(oneService('gln-upgrade', 'web', 4620, V2), 'green', 'new-4');
    expect(await activities.retireColor(spec, 'blue', 'remove')).toEqual(['gln-upgrade-web-blue']);
    await goLive(spec, 'blue', 'new-5');
    expect(await stateOf(spec.app)).toEqual(['gln-upgrade_web_blue:running', 'gln-upgrade_web_green:running']);
  });
});
