/**
 * `greenlight plan` on a host: reads (never changes) what this host's Docker engine and greenlight's
 * nginx hold for an app, and renders the configs to compare, as the worker would render them (routed
 * to the containers' own addresses). Loaded by the CLI with import() inside the plan command only.
 */
import Docker from 'dockerode';
import type { DeploySpec } from '../src/config/schema';
import type { Route } from '../src/types';
import { ContainerAddresses } from '../host/addresses';
import { parseAppConfig } from '../host/builders/nginx';
import type { HostState } from '../host/builders/plan';
import { DockerHost } from '../host/docker';
import { routerFromEnv } from '../host/nginx';

/** This host's state of `next.app`: `live` is the live spec as this host runs it (null: none). */
export async function readHostState(next: DeploySpec, live: DeploySpec | null): Promise<HostState> {
  const host = new DockerHost(new Docker({ timeout: 10_000 }));
  const plain = routerFromEnv();
  const addresses = new ContainerAddresses(host, plain);
  const router = plain.withUpstreams((spec) => addresses.upstreams(spec));
  const [containers, liveConfig] = await Promise.all([host.labelledContainers(next.app), router.readAppConfig(next.app)]);
  const route: Route | null = liveConfig === null ? null : parseAppConfig(liveConfig).route;
  const images = [...new Set(Object.values(next.services).map((svc) => svc.image))].sort();
  const present = await Promise.all(images.map((image) => host.imageExists(image)));
  const renderedLive = live && route ? await router.renderConfig(live, route) : null;
  const renderedNext = await router.renderConfig(next, route ?? { live: 'blue', backup: null });
  return { liveColor: route?.live ?? null, containers, liveConfig, renderedLive, renderedNext, missingImages: images.filter((_, i) => !present[i]) };
}
