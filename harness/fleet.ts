/**
 * A fleet of simulated Docker hosts on this machine (scripts/fleet.sh): each its own Docker engine,
 * greenlight nginx and worker process, behind a front load balancer, as separate machines would be.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { NginxRouter } from '../host/nginx';
import type { Route } from '../src/types';
import { appContainers, type ContainerState } from './host';
import { GREENLIGHT_HOME } from './paths';
import { runScript, spawnWorker, type WorkerProcess } from './processes';

export interface FleetHost {
  name: string;
  dockerHost: string;
  home: string;
  routerPort: number;
  docker: Docker;
  router: NginxRouter;
}

export const FLEET_LB_URL = `http://127.0.0.1:${process.env.GL_FLEET_LB_PORT ?? 4900}`;

/** Brings the fleet up (idempotent) and describes its hosts. */
export async function fleetUp(size: number): Promise<FleetHost[]> {
  await runScript('fleet.sh', 'up', String(size));
  const hosts = JSON.parse(readFileSync(join(GREENLIGHT_HOME, 'fleet', 'hosts.json'), 'utf8')) as Array<{ name: string; dockerHost: string; home: string; routerPort: number }>;
  return hosts.map((host) => ({
    ...host,
    docker: new Docker({ socketPath: host.dockerHost.replace(/^unix:\/\//, '') }),
    router: new NginxRouter({ prefix: join(host.home, 'nginx') }),
  }));
}

/**
 * The worker of one host: its own engine (DOCKER_HOST), nginx (GREENLIGHT_HOME) and name; the deploy
 * workflows on `workflowQueue`. `as` starts it under another host's name (a mis-pointed worker); `env`
 * adds to its environment (e.g. TEMPORAL_ADDRESS of another server).
 */
export function spawnHostWorker(host: FleetHost, workflowQueue: string, options: { chaosKill?: string; as?: string; hostTaskQueue?: string; env?: Record<string, string> } = {}): WorkerProcess {
  const name = options.as ?? host.name;
  return spawnWorker(workflowQueue, options.chaosKill, `${workflowQueue}-${host.name}${options.as ? `-as-${options.as}` : ''}`, {
    DOCKER_HOST: host.dockerHost,
    GREENLIGHT_HOME: host.home,
    GREENLIGHT_HOST: name,
    ...(options.hostTaskQueue ? { GREENLIGHT_HOST_TASK_QUEUE: options.hostTaskQueue } : {}),
    ...options.env,
  });
}

/** Tags `source` as `target` in one host's engine (the same tag can then mean another image on another host). */
export async function tagOnHost(host: FleetHost, source: string, target: string): Promise<void> {
  const [repo, tag] = target.split(':') as [string, string];
  await host.docker.getImage(source).tag({ repo, tag });
}

export interface HostState {
  host: string;
  route: Route | null;
  containers: ContainerState[];
}

/** What each host routes and runs for `app`. */
export async function fleetState(hosts: readonly FleetHost[], app: string): Promise<HostState[]> {
  return Promise.all(hosts.map(async (host) => ({ host: host.name, route: await host.router.readRoute(app), containers: await appContainers(host.docker, app) })));
}

/** Removes everything `app` left on every host. */
export async function resetFleetApp(hosts: readonly FleetHost[], app: string): Promise<void> {
  for (const host of hosts) {
    for (const c of await appContainers(host.docker, app)) await host.docker.getContainer(c.name).remove({ force: true }).catch(() => undefined);
    await host.router.removeApp(app);
  }
}
