import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { deployWorkflowId } from '../../names';
import { imagesToPrune } from '../../releases';
import type { CliOutcome } from '../exit-codes';
import { readReleases } from './releases';

/** This host's Docker engine as `prune` uses it (worker/prune-host.ts, loaded when the command runs). */
export interface PruneHost {
  imagesInUse(): Promise<string[]>;
  imageExists(image: string): Promise<boolean>;
  /** Removes the image reference: false if it is gone or a container uses it (Docker refuses). */
  removeImage(image: string): Promise<boolean>;
}

export interface PruneOptions {
  /** List only (`--dry-run`): nothing is removed. */
  dryRun: boolean;
  /** The releases to retain; default the latest release's `retain.releases`. */
  retain?: number;
  json: boolean;
  out: (line: string) => void;
  host: () => Promise<PruneHost>;
}

/** Whether a deploy of the app runs now: its validate may have checked an image this would remove. */
async function deployRuns(client: Client, app: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(deployWorkflowId(app)).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * `greenlight prune APP [--dry-run]`: the images of the app's releases outside the newest `retain` that
 * this host has, by the rule the deploy's pruneReleaseImages step applies (src/releases.ts
 * imagesToPrune: never one a container on this host, any app's, or a retained release uses); removed
 * from this host's Docker engine unless `--dry-run`. A removal waits for no deploy: it is refused while
 * one of the app runs (exit 3).
 */
export async function prune(client: Client, app: string, opts: PruneOptions): Promise<CliOutcome> {
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
  if (!opts.dryRun && (await deployRuns(client, app))) {
    opts.out(`a deploy of ${app} is running: prune after it ends (greenlight status ${app}), or list with --dry-run`);
    return 'refused';
  }
  const host = await opts.host();
  const inUse = [...(await host.imagesInUse()), ...Object.values(latest.images).map(({ image }) => image)];
  const candidates = imagesToPrune(releases, retain, inUse);
  const present = await Promise.all(candidates.map((image) => host.imageExists(image)));
  const images = candidates.filter((_, i) => present[i]);
  if (opts.dryRun) {
    if (opts.json) opts.out(JSON.stringify({ app, retain, images }, null, 2));
    else if (images.length === 0) opts.out(nothingToRemove(app, retain));
    else for (const image of images) opts.out(`would remove ${image}`);
    return 'done';
  }
  const removed: string[] = [];
  const kept: string[] = [];
  // One at a time: Docker refuses (409) an image a container took up since the listing; it is kept.
  for (const image of images) (await host.removeImage(image) ? removed : kept).push(image);
  if (opts.json) opts.out(JSON.stringify({ app, retain, removed, kept }, null, 2));
  else if (images.length === 0) opts.out(nothingToRemove(app, retain));
  else {
    for (const image of removed) opts.out(`removed ${image}`);
    for (const image of kept) opts.out(`kept ${image}: a container uses it now, or it is gone`);
  }
  return 'done';
}

const nothingToRemove = (app: string, retain: number) => `nothing to remove: every image of ${app}'s releases outside the newest ${retain} is in use here, or gone`;
