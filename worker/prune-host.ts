/**
 * `greenlight prune APP --dry-run` on a host: the images this host's containers use (any app, any
 * state), read from its Docker engine; never changes anything. Loaded by the CLI with import() inside
 * the prune command only.
 */
import Docker from 'dockerode';
import { DockerHost } from '../host/docker';

export interface PruneHost {
  imagesInUse(): Promise<string[]>;
  /** Whether this engine has the image (a dry run lists only images there are). */
  imageExists(image: string): Promise<boolean>;
}

export function pruneHostHere(): PruneHost {
  return new DockerHost(new Docker({ timeout: 10_000 }));
}
