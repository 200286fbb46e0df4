/**
 * Routing to container addresses: nginx sends each color's traffic to the container's own address on
 * the app network, not through the published host port (docker-proxy, a userland copy of every byte,
 * and down while dockerd restarts). Each app container is created with a fixed address, so it keeps it
 * across container and dockerd restarts, and a color's address stays the same from one deploy to the
 * next (it is reused from the router config): a steady deploy renders the same upstreams, no reload.
 * A network without a configured IPv4 subnet (Docker fixes addresses only there) is routed by host port.
 */
import type { DeploySpec } from '../src/config/schema';
import { webServices } from '../src/config/services';
import { COLORS, containerName, type Color } from '../src/names';
import { hostOf, inSubnet, pickAddress } from './builders/addresses';
import { configAddresses, parseColorAddresses, type UpstreamAddresses } from './builders/nginx';
import { DockerHost, type AppContainer, type NetworkAddressing } from './docker';
import type { NginxRouter } from './nginx';

export class ContainerAddresses {
  constructor(
    private readonly host: DockerHost,
    private readonly router: NginxRouter,
  ) {}

  /**
   * Where the router reaches each service's colors: a color's container at its fixed address and the
   * port it exposes (a container without one, created before addresses, at its host port: null); a
   * color with no container at the address the app's config reserves for it, else a new one, so the
   * deploy that creates it renders the same upstreams. {} when the network has no configured subnet.
   */
  async upstreams(spec: DeploySpec): Promise<UpstreamAddresses> {
    const network = await this.host.networkAddressing(spec.network);
    if (network === null) return {};
    const current = await this.router.readAppConfig(spec.app);
    const taken = new Set([...network.taken, ...(await this.reserved())]);
    const upstreams: UpstreamAddresses = {};
    // Workers have no upstream: nginx does not route to them.
    for (const service of Object.keys(webServices(spec)).sort()) {
      for (const color of COLORS) {
        (upstreams[service] ??= {})[color] = await this.upstreamOf(spec, service, color, network, current, taken);
      }
    }
    return upstreams;
  }

  private async upstreamOf(spec: DeploySpec, service: string, color: Color, network: NetworkAddressing, current: string | null, taken: Set<string>): Promise<string | null> {
    const containers = await this.host.appContainers(spec.app, color, service);
    const container = canonical(containers, containerName(spec.app, service, color));
    if (container) {
      const ip = container.addresses[spec.network];
      const info = ip ? await this.host.inspectOrNull(container.id) : null;
      const port = info ? DockerHost.exposedPort(info) : null;
      return ip && port !== null ? `${ip}:${port}` : null;
    }
    const reserved = current === null ? undefined : parseColorAddresses(current, spec.app, color)[service];
    if (reserved && inSubnet(network.subnet, hostOf(reserved)) && !network.taken.has(hostOf(reserved))) return `${hostOf(reserved)}:${spec.services[service]!.port}`;
    const ip = pickAddress(network.subnet, network.gateway, taken);
    if (ip === null) return null;
    taken.add(ip);
    return `${ip}:${spec.services[service]!.port}`;
  }

  /**
   * The fixed address (no port) a new container of `color` gets: the one its previous container of that
   * service and color had, else the one the app's config reserves for it, else a free one (none of
   * `avoid`, held by another container, or routed to by any app's config). Null: route by host port.
   */
  async forNewContainer(spec: DeploySpec, service: string, color: Color, avoid: readonly string[] = []): Promise<string | null> {
    const network = await this.host.networkAddressing(spec.network);
    if (network === null) return null;
    const own = await this.host.appContainers(spec.app, color, service);
    const ownIps = own.map((c) => c.addresses[spec.network]).filter((ip): ip is string => ip !== undefined);
    const previous = ownIps.find((ip) => !avoid.includes(ip) && inSubnet(network.subnet, ip));
    if (previous) return previous;
    const current = await this.router.readAppConfig(spec.app);
    const reserved = current === null ? undefined : parseColorAddresses(current, spec.app, color)[service];
    const free = (ip: string) => !avoid.includes(ip) && inSubnet(network.subnet, ip) && !network.taken.has(ip);
    if (reserved && free(hostOf(reserved))) return hostOf(reserved);
    const taken = new Set([...network.taken, ...(await this.reserved()), ...avoid]);
    return pickAddress(network.subnet, network.gateway, taken);
  }

  /** Every address an app's config on this router routes to. */
  private async reserved(): Promise<string[]> {
    return (await this.router.appConfigs()).flatMap((config) => configAddresses(config.text));
  }
}

/** The container of the greenlight name first, should an older-named one sit beside it. */
function canonical(containers: AppContainer[], name: string): AppContainer | undefined {
  return containers.find((c) => c.name === name) ?? containers[0];
}
