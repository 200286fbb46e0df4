/**
 * The Docker activities (activities/docker.ts) over the real DockerHost on an in-memory Docker engine:
 * an app finds its containers by labels (also those named by the older `<app>-<service>-<color>`
 * scheme), and never stops or removes a container whose labels are another app's (or none).
 */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { createDockerActivities } from '../../activities/docker';
import { DockerHost } from '../../host/docker';
import type { ContainerAddresses } from '../../host/addresses';
import type { NginxRouter } from '../../host/nginx';
import { parseDeploySpec } from '../../src/config/load';
import type { DeploySpecInput } from '../../src/config/schema';
import { FAILURE_TYPES } from '../../src/names';

interface FakeContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  running: boolean;
}

const statusError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

/** A Docker engine in memory: containers by id or name, label filters, and Docker's name conflict (409). */
function fakeEngine(initial: FakeContainer[] = []) {
  const containers = new Map(initial.map((c) => [c.id, { ...c }]));
  let created = 0;
  const find = (ref: string) => [...containers.values()].find((c) => c.id === ref || c.name === ref);
  const must = (ref: string) => find(ref) ?? Promise.reject(statusError(404, `No such container: ${ref}`));
  const handle = (ref: string) => ({
    inspect: async () => {
      const c = await must(ref);
      return { Id: c.id, Config: { Labels: c.labels }, State: { Running: c.running, Status: c.running ? 'running' : 'exited', ExitCode: 0 }, HostConfig: {} };
    },
    start: async () => {
      const c = await must(ref);
      if (c.running) throw statusError(304, 'container already started');
      c.running = true;
    },
    stop: async () => {
      const c = await must(ref);
      if (!c.running) throw statusError(304, 'container already stopped');
      c.running = false;
    },
    update: async () => must(ref),
    wait: async () => ({ StatusCode: 0 }),
    logs: async () => Buffer.alloc(0),
    remove: async () => containers.delete((await must(ref)).id),
  });
  const docker = {
    ping: async () => 'OK',
    getImage: () => ({ inspect: async () => ({}) }),
    // The app network, a user-defined bridge, exists on every host these tests model.
    getNetwork: (name: string) => ({ inspect: async () => ({ Name: name, Driver: 'bridge', Options: {} }) }),
    getContainer: handle,
    listContainers: async ({ filters }: { filters: { label: string[] } }) =>
      [...containers.values()]
        .filter((c) => filters.label.every((pair) => c.labels[pair.slice(0, pair.indexOf('='))] === pair.slice(pair.indexOf('=') + 1)))
        .map((c) => ({ Id: c.id, Names: [`/${c.name}`], State: c.running ? 'running' : 'exited', Labels: c.labels })),
    createContainer: async (options: Docker.ContainerCreateOptions) => {
      if (find(options.name!)) throw statusError(409, `Conflict. The container name "/${options.name}" is already in use`);
      const id = `new-${++created}`;
      containers.set(id, { id, name: options.name!, labels: options.Labels ?? {}, running: false });
      return { id, ...handle(id) };
    },
  };
  const router = { readRoute: async () => null, readAppConfig: async () => null, readPreviewConfig: async () => null, otherAppsPorts: async () => [], openConnections: async () => ({}), resetTraffic: async () => undefined } as unknown as NginxRouter;
  // A network without a configured subnet: containers get no fixed address (routed by host port).
  const addresses = { forNewContainer: async () => null } as unknown as ContainerAddresses;
  const activities = createDockerActivities({ host: new DockerHost(docker as unknown as Docker), router, secrets: { allowed: new Map() }, redact: (text) => text, addresses, capacityCheck: false });
  /** "name:running|exited" of every container, sorted. */
  const state = () => [...containers.values()].map((c) => `${c.name}:${c.running ? 'running' : 'exited'}`).sort();
  return { activities, state, idOf: (name: string) => find(name)?.id };
}

/** Labels greenlight gave an app container, under either name scheme. */
function appLabels(app: string, service: string, color: string, image: string, deployId: string): Record<string, string> {
  return {
    'greenlight.managed': 'true',
    'greenlight.app': app,
    'greenlight.service': service,
    'greenlight.color': color,
    'greenlight.deploy-id': deployId,
    'greenlight.image': image,
    'greenlight.role': 'app',
  };
}

// Router and host ports nothing listens on here (preflight probes them for real): 5985-5987, reserved for this
// file, below the kernel's ephemeral range (32768-60999), where any outgoing connection may hold a port for a while.
const spec = (app: string, service: string, image: string, overrides: Partial<DeploySpecInput> = {}) =>
  parseDeploySpec({ app, router: { port: 5985 }, services: { [service]: { image, port: 3000, hostPorts: { blue: 5986, green: 5987 }, route: '/' } }, ...overrides });

const failureOf = (promise: Promise<unknown>) => promise.then(() => null, (err: unknown) => err as { type?: string; message: string });

describe('docker activities: no app touches another app\'s containers', () => {
  it('app shop-api with service web and app shop with service api-web deploy side by side, both stay', async () => {
    const { activities, state } = fakeEngine();
    await activities.deployColor(spec('shop-api', 'web', 'web:v1'), 'blue', 'deploy-1');
    await activities.deployColor(spec('shop', 'api-web', 'api-web:v1'), 'blue', 'deploy-2');
    expect(state()).toEqual(['shop-api_web_blue:running', 'shop_api-web_blue:running']);
  });

  it("an older-named container of another app that the old scheme's name matches is left alone", async () => {
    // The old scheme named shop-api's web container shop-api-web-blue: shop's api-web would have removed it.
    const { activities, state } = fakeEngine([{ id: 'old-1', name: 'shop-api-web-blue', labels: appLabels('shop-api', 'web', 'blue', 'web:v1', 'deploy-0'), running: true }]);
    await activities.deployColor(spec('shop', 'api-web', 'api-web:v1'), 'blue', 'deploy-2');
    await activities.retireColor(spec('shop', 'api-web', 'api-web:v1'), 'blue', 'remove');
    expect(state()).toEqual(['shop-api-web-blue:running']);
  });

  it.each([
    { holder: 'a container without labels', labels: {} },
    { holder: "another app's container", labels: appLabels('other', 'web', 'green', 'x:1', 'deploy-0') },
  ])('a same-named $holder is never removed: deployColor fails (ContainerNameTaken), preflight lists it', async ({ labels }) => {
    const { activities, state } = fakeEngine([{ id: 'foreign', name: 'shop_web_green', labels, running: true }]);
    const web = spec('shop', 'web', 'web:v2');
    const failure = await failureOf(activities.deployColor(web, 'green', 'deploy-2'));
    expect(failure?.type).toBe(FAILURE_TYPES.containerNameTaken);
    expect(failure?.message).toMatch(/^services\.web: container name "shop_web_green" is taken by another container \(.*\), which greenlight never removes: rename or remove that container/);
    const preflight = await failureOf(activities.preflightDocker(web, 'green'));
    expect(preflight?.type).toBe(FAILURE_TYPES.preflight);
    expect(preflight?.message).toMatch(/^services\.web: container name "shop_web_green" is taken/);
    expect(state()).toEqual(['shop_web_green:running']);
  });

  it("a validation command named like a color never meets the service's container (both were shop-validate-blue)", async () => {
    const { activities, state } = fakeEngine();
    const shop = spec('shop', 'validate', 'web:v1', { validate: { commands: [{ name: 'blue', service: 'validate', run: ['true'] }] } });
    await activities.deployColor(shop, 'blue', 'deploy-1');
    await activities.preflightDocker(shop, 'green');
    expect(await activities.runValidationCommands(shop, 'deploy-2')).toEqual([{ name: 'blue', exitCode: 0, output: '' }]);
    expect(state()).toEqual(['shop_validate_blue:running']);
  });
});

describe('docker activities: preview checks', () => {
  it('refuse, at validate, a network without a configured gateway (where the checks reach the preview), naming preview.checks', async () => {
    const { activities, state } = fakeEngine();
    // Port 5977: of the preview tests' range (5970-5979), free on this host.
    const failure = await failureOf(activities.preflightDocker(spec('pv-shop', 'web', 'web:v1', { preview: { port: 5977, checks: [{ command: ['true'] }] } }), 'green'));
    expect(failure?.type).toBe(FAILURE_TYPES.preflight);
    expect(failure?.message).toBe('preview.checks: Docker network "greenlight" has no configured IPv4 gateway, where the check containers reach the preview: create it with --subnet and --gateway (scripts/docker.sh does), or leave preview.checks out');
    expect(state()).toEqual([]);
    // Without checks the preview needs no gateway.
    await activities.preflightDocker(spec('pv-shop', 'web', 'web:v1', { preview: { port: 5977 } }), 'green');
  });
});

describe('docker activities: upgrading from the older name scheme', () => {
  /** A host as today's version leaves it: shop's web live on blue, the previous version stopped on green. */
  const upgraded = () =>
    fakeEngine([
      { id: 'old-blue', name: 'shop-web-blue', labels: appLabels('shop', 'web', 'blue', 'web:v1', 'deploy-1'), running: true },
      { id: 'old-green', name: 'shop-web-green', labels: appLabels('shop', 'web', 'green', 'web:v0', 'deploy-0'), running: false },
    ]);

  it('a deploy replaces the old-named target container, stops the old-named live one, and reads its image', async () => {
    const { activities, state } = upgraded();
    expect(await activities.readColorImages(spec('shop', 'web', 'web:v2'), 'blue')).toEqual({ web: 'web:v1' });
    await activities.preflightDocker(spec('shop', 'web', 'web:v2'), 'green');
    await activities.deployColor(spec('shop', 'web', 'web:v2'), 'green', 'deploy-2');
    // No old-named green is left to hold green's host port.
    expect(state()).toEqual(['shop-web-blue:running', 'shop_web_green:running']);
    expect(await activities.retireColor(spec('shop', 'web', 'web:v2'), 'blue', 'stop')).toEqual(['shop-web-blue']);
    expect(state()).toEqual(['shop-web-blue:exited', 'shop_web_green:running']);
  });

  it('a restore starts the old-named previous container again (same container), and cleanup removes by labels', async () => {
    const { activities, state, idOf } = upgraded();
    await activities.deployColor(spec('shop', 'web', 'web:v2'), 'green', 'deploy-2');
    await activities.retireColor(spec('shop', 'web', 'web:v2'), 'blue', 'stop');
    await activities.deployColor(spec('shop', 'web', 'web:v1'), 'blue', 'deploy-3', true);
    expect(idOf('shop-web-blue')).toBe('old-blue');
    expect(state()).toEqual(['shop-web-blue:running', 'shop_web_green:running']);
    expect(await activities.removeColor(spec('shop', 'web', 'web:v2'), 'green')).toEqual(['shop_web_green']);
    expect(await activities.retireColor(spec('shop', 'web', 'web:v1'), 'blue', 'remove')).toEqual(['shop-web-blue']);
    expect(state()).toEqual([]);
  });
});
