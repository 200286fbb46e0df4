import type { Client } from '@temporalio/client';
import { imagesToPrune } from '../../releases';
import type { CliOutcome } from '../exit-codes';
import { readReleases } from './releases';

export interface PruneOptions {
  /** The releases to retain; default the latest release's `retain.releases`. */
  retain?: number;
  json: boolean;
  out: (line: string) => void;
  /** This host's Docker engine, read only (worker/prune-host.ts, loaded when the command runs). */
  host: () => Promise<{ imagesInUse(): Promise<string[]>; imageExists(image: string): Promise<boolean> }>;
}

/**
 * `greenlight prune APP --dry-run`: the images `retain` would remove from this host after the next
 * deploy, by the rule the deploy's pruneReleaseImages step applies (src/releases.ts imagesToPrune).
 * Reads the releases from Temporal and the containers from this host's Docker engine; changes nothing.
 */
export async function pruneDryRun(client: Client, app: string, opts: PruneOptions): Promise<CliOutcome> {
  const releases = await readReleases(client, app);
  if (!releases || releases.length === 0) {
    opts.out(`no releases of ${app} on record: check the app name (greenlight releases ${app})`);
    return 'unknown-app';
  }
  const latest = releases.at(-1)!;
  const retain = opts.retain ?? latest.spec.retain?.releases;
  if (retain === undefined) {
    opts.out(`${app}'s latest release (${latest.id}) sets no retain.releases: pass --retain N, or set retain: { releases: N } in the spec`);
    return 'unknown-release';
  }
  const host = await opts.host();
  const inUse = [...(await host.imagesInUse()), ...Object.values(latest.images).map(({ image }) => image)];
  const candidates = imagesToPrune(releases, retain, inUse);
  const present = await Promise.all(candidates.map((image) => host.imageExists(image)));
  const images = candidates.filter((_, i) => present[i]);
  if (opts.json) opts.out(JSON.stringify({ app, retain, images }, null, 2));
  else if (images.length === 0) opts.out(`nothing to remove: every image of ${app}'s releases outside the newest ${retain} is in use here, or gone`);
  else for (const image of images) opts.out(`would remove ${image}`);
  return 'done';
}
