/**
 * The spec's network on the host: DockerHost.networkOrNull reads it (exact name only), and the preflight
 * accepts only a user-defined bridge (activities/docker.ts networkProblem).
 */
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { networkProblem } from '../../activities/docker';
import { DockerHost, type NetworkInfo } from '../../host/docker';

/** A dockerode stand-in whose getNetwork(name).inspect() answers with `inspect(name)`. */
function hostWithNetworks(inspect: (name: string) => Promise<unknown>): { host: DockerHost; asked: string[] } {
  const asked: string[] = [];
  const docker = { getNetwork: (name: string) => ({ inspect: () => (asked.push(name), inspect(name)) }) };
  return { host: new DockerHost(docker as unknown as Docker), asked };
}

const notFound = () => Promise.reject(Object.assign(new Error('network x not found'), { statusCode: 404 }));

describe('DockerHost.networkOrNull', () => {
  it('reads the driver and whether it is the default bridge', async () => {
    const { host, asked } = hostWithNetworks(async (name) =>
      name === 'bridge'
        ? { Name: 'bridge', Driver: 'bridge', Options: { 'com.docker.network.bridge.default_bridge': 'true' } }
        : { Name: name, Driver: 'bridge', Options: {} },
    );
    expect(await host.networkOrNull('greenlight')).toEqual({ name: 'greenlight', driver: 'bridge', defaultBridge: false });
    expect(await host.networkOrNull('bridge')).toEqual({ name: 'bridge', driver: 'bridge', defaultBridge: true });
    expect(asked).toEqual(['greenlight', 'bridge']);
  });

  it('is null when there is none (404), and for a network Docker found by an id prefix', async () => {
    expect(await hostWithNetworks(notFound).host.networkOrNull('greenlight')).toBeNull();
    const byIdPrefix = hostWithNetworks(async () => ({ Name: 'greenlight', Driver: 'bridge', Id: 'abc123' }));
    expect(await byIdPrefix.host.networkOrNull('abc')).toBeNull();
  });

  it("passes Docker's other errors through", async () => {
    const { host } = hostWithNetworks(() => Promise.reject(Object.assign(new Error('engine down'), { statusCode: 500 })));
    await expect(host.networkOrNull('greenlight')).rejects.toThrow('engine down');
  });
});

describe('networkProblem (preflight)', () => {
  const network = (driver: string, defaultBridge = false): NetworkInfo => ({ name: 'n', driver, defaultBridge });

  it('accepts a user-defined bridge', () => {
    expect(networkProblem('greenlight', network('bridge'))).toBeNull();
  });

  it.each([
    ['a missing network', null, 'network: Docker network "greenlight" does not exist on this host: create it (docker network create greenlight; scripts/docker.sh makes "greenlight")'],
    ["Docker's default bridge", network('bridge', true), `network: Docker network "greenlight" is Docker's default bridge: containers join a user-defined bridge network only (docker network create --driver bridge NAME)`],
    ['a host-driver network', network('host'), 'network: Docker network "greenlight" is a network of driver "host": containers join a user-defined bridge network only (docker network create --driver bridge NAME)'],
    ['an overlay network', network('overlay'), 'network: Docker network "greenlight" is a network of driver "overlay": containers join a user-defined bridge network only (docker network create --driver bridge NAME)'],
  ])('refuses %s', (_what, info, message) => {
    expect(networkProblem('greenlight', info)).toBe(message);
  });
});
