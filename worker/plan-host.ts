/**
 * `greenlight plan` on a host: reads (never changes) what this host's Docker engine and greenlight's
 * nginx hold for an app (activities/plan.ts, as a worker would read it). Loaded by the CLI with
 * import() inside the plan command only.
 */
import Docker from 'dockerode';
import type { DeploySpec } from '../src/config/schema';
import { readPlanState } from '../activities/plan';
import { ContainerAddresses } from '../host/addresses';
import type { HostState } from '../host/builders/plan';
import { DockerHost } from '../host/docker';
import { routerFromEnv } from '../host/nginx';

/** This host's state of `next.app`: `live` is the live spec as this host runs it (null: none). */
export async function readHostState(next: DeploySpec, live: DeploySpec | null): Promise<HostState> {
  const host = new DockerHost(new Docker({ timeout: 10_000 }));
  const plain = routerFromEnv();
  const addresses = new ContainerAddresses(host, plain);
  return readPlanState({ host, router: plain.withUpstreams((spec) => addresses.upstreams(spec)) }, next, live);
}
