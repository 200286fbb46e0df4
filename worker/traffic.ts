/**
 * `greenlight status` on a host: the app's real traffic as this host's nginx counted it (admin socket),
 * or null where no greenlight nginx runs here (a CI runner, an operator's laptop). Loaded by the CLI with
 * import() inside the status command only.
 */
import { existsSync } from 'node:fs';
import { adminSocketPath } from '../host/builders/nginx';
import type { TrafficCounters } from '../host/builders/nginx';
import { routerFromEnv } from '../host/nginx';

export async function localTraffic(app: string): Promise<TrafficCounters | null> {
  const router = routerFromEnv();
  if (!existsSync(adminSocketPath(router.prefix))) return null;
  return router.traffic(app).catch(() => null);
}
