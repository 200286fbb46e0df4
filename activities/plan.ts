/**
 * `greenlight plan`'s read of one host: what its Docker engine and greenlight's nginx hold for an app,
 * and the configs greenlight would render to compare with (routed to the containers' own addresses, as
 * the worker renders them). Reads only, never changes. The CLI calls it directly on its own host
 * (worker/plan-host.ts) and, for a fleet, through each host's worker (workflows/plan.ts).
 */
import type { DeploySpec } from '../src/config/schema';
import type { Route } from '../src/types';
import { parseAppConfig } from '../host/builders/nginx';
import type { HostState } from '../host/builders/plan';
import type { DockerHost } from '../host/docker';
import type { NginxRouter } from '../host/nginx';

export interface PlanDeps {
  host: DockerHost;
  /** The router that renders as the worker does (`withUpstreams` of the containers' addresses). */
  router: NginxRouter;
}

/** This host's state of `next.app`: `live` is the live spec as this host runs it (null: none). */
export async function readPlanState({ host, router }: PlanDeps, next: DeploySpec, live: DeploySpec | null): Promise<HostState> {
  const [containers, liveConfig] = await Promise.all([host.labelledContainers(next.app), router.readAppConfig(next.app)]);
  const route: Route | null = liveConfig === null ? null : parseAppConfig(liveConfig).route;
  const images = [...new Set(Object.values(next.services).map((svc) => svc.image))].sort();
  const present = await Promise.all(images.map((image) => host.imageExists(image)));
  const renderedLive = live && route ? await router.renderConfig(live, route) : null;
  const renderedNext = await router.renderConfig(next, route ?? { live: 'blue', backup: null });
  return { liveColor: route?.live ?? null, containers, liveConfig, renderedLive, renderedNext, missingImages: images.filter((_, i) => !present[i]) };
}

export function createPlanActivities(deps: PlanDeps) {
  return {
    /** Reads (never changes) this host's state of the app for `greenlight plan` of a fleet. */
    readPlanState: (next: DeploySpec, live: DeploySpec | null): Promise<HostState> => readPlanState(deps, next, live),
  };
}
