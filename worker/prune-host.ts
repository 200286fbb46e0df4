/**
 * `greenlight prune APP` on a host: the images this host's containers use (any app, any state), read
 * from its Docker engine, and the removal of an image (not with --dry-run). Loaded by the CLI with
 * import() inside the prune command only.
 */
import Docker from 'dockerode';
import { DockerHost } from '../host/docker';
import type { PruneHost } from '../src/cli/commands/prune';

export function pruneHostHere(): PruneHost {
  return new DockerHost(new Docker({ timeout: 10_000 }));
}
