/**
 * A fleet deploy's hosts, resolved: each host's own spec (its router port and host ports applied) and its
 * task queue. Pure, no Node built-ins: the workflow resolves the hosts with it.
 */
import { hostTaskQueue } from '../names';
import type { DeploySpec } from './schema';

export type HostEntry = NonNullable<DeploySpec['hosts']>[number];

export interface FleetHost {
  name: string;
  taskQueue: string;
  /** The spec as this host runs it: its router port and host ports, and `hosts` naming only this host. */
  spec: DeploySpec;
}

/** The host a host spec was resolved for (what a worker checks before it runs an activity), if any. */
export function hostOfSpec(spec: Pick<DeploySpec, 'hosts'>): string | null {
  return spec.hosts?.length === 1 ? spec.hosts[0]!.name : null;
}

export function resolveHost(spec: DeploySpec, host: HostEntry): FleetHost {
  const services = Object.fromEntries(
    Object.entries(spec.services).map(([name, svc]) => [name, { ...svc, hostPorts: host.hostPorts?.[name] ?? svc.hostPorts }]),
  );
  return {
    name: host.name,
    taskQueue: host.taskQueue ?? hostTaskQueue(host.name),
    spec: { ...spec, router: host.router ?? spec.router, services, hosts: [host] },
  };
}

/** Every host of a fleet spec, in the spec's order; empty for a one-host spec. */
export function fleetHosts(spec: DeploySpec): FleetHost[] {
  return (spec.hosts ?? []).map((host) => resolveHost(spec, host));
}

/** The fleet's hosts with how long a step may wait for each host's worker (`fleet.hostTimeout`, ms); none for one host. */
export function fleetTargets(spec: DeploySpec): Array<FleetHost & { hostTimeoutMs: number }> {
  const hostTimeoutMs = spec.fleet?.hostTimeout ?? 30_000;
  return fleetHosts(spec).map((host) => ({ ...host, hostTimeoutMs }));
}
