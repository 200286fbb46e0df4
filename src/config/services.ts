/**
 * What kind each service of a spec is: routed (with a port) or a worker, overlapping or a singleton.
 * Pure and without zod, so the deploy workflow can import it too.
 */
import type { DeploySpec, ServiceSpec } from './schema';

/** A service with a port: routed by nginx, published on its host ports, probed over HTTP. */
export type WebService = ServiceSpec & { port: number; hostPorts: { blue: number; green: number }; route: string };

/** Whether a service is a worker: no port, so nothing routed, published or probed over HTTP. */
export function isWorker(svc: Pick<ServiceSpec, 'port'>): boolean {
  return svc.port === undefined;
}

/** The services nginx routes (those with a port), in the spec's order. */
export function webServices(spec: Pick<DeploySpec, 'services'>): Record<string, WebService> {
  return Object.fromEntries(Object.entries(spec.services).filter(([, svc]) => !isWorker(svc))) as Record<string, WebService>;
}

/** The spec as nginx sees it: only the services it routes (a worker has no upstream, route or health route). */
export type RoutedSpec = Omit<DeploySpec, 'services'> & { services: Record<string, WebService> };
export function routedSpec(spec: DeploySpec): RoutedSpec {
  return { ...spec, services: webServices(spec) };
}

/**
 * Whether a service is a singleton: its two colors never run at once (`overlap: false`). A spec validated
 * before `overlap` existed has none: every service overlapped then.
 */
export function isSingleton(svc: Pick<ServiceSpec, 'overlap'>): boolean {
  return svc.overlap === false;
}

/** The singleton services of the spec (`overlap: false`), sorted by name. */
export function singletonServices(spec: Pick<DeploySpec, 'services'>): string[] {
  return Object.keys(spec.services)
    .filter((name) => isSingleton(spec.services[name]!))
    .sort();
}
