import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { releasesQuery } from '../../../workflows/releases';
import { releasesWorkflowId } from '../../names';
import type { BakeRollback } from '../../explain';
import { imagesOf, sameImages, type Release } from '../../releases';
import { bakeRollbackOf } from '../monitor-client';
import type { CliOutcome } from '../exit-codes';

/** The app's releases, oldest first, from its releases workflow; null when it never recorded one. */
export async function readReleases(client: Client, app: string): Promise<Release[] | null> {
  try {
    return await client.workflow.getHandle(releasesWorkflowId(app)).query(releasesQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/**
 * One line per release, newest first, `*` on what serves (unless a deploy runs): the latest, or, when its
 * monitor rolled it back during the bake (`bake`), the newest earlier release with the images that serve
 * since; the rolled-back one is marked `x` with a line saying when.
 */
export function releaseLines(releases: readonly Release[], bake: BakeRollback | null = null): string[] {
  const latest = releases.at(-1)?.id;
  const serving = bake ? servingAfter(releases, bake) : latest;
  return [...releases].reverse().map((release) => {
    const images = Object.entries(release.images).map(([service, { image, imageId }]) => `${service}=${image}${imageId ? ` (${imageId.replace(/^sha256:/, '').slice(0, 12)})` : ''}`);
    const env = Object.entries(release.env).flatMap(([service, { keys, secrets }]) => [...keys.map((k) => `${service}.${k}`), ...secrets.map((k) => `${service}.${k} (secret)`)]);
    const who = [release.startedBy, release.requestedBy].filter(Boolean).join(', ') || 'unknown';
    const undone = bake && release.id === latest;
    return [
      `${release.id === serving ? '*' : undone ? 'x' : ' '} ${release.id.padEnd(4)} ${release.recordedAt}  ${images.join(', ')}`,
      `       spec ${release.specHash.replace(/^sha256:/, '').slice(0, 12)}, env ${env.length > 0 ? env.join(' ') : '(none)'}`,
      `       by ${who}; ${release.deployWorkflowId} run ${release.deployRunId}`,
      ...(undone ? [`       rolled back by its monitor during the bake at ${bake.at} (${bake.from} -> ${bake.to}): greenlight explain ${release.app}`] : []),
    ].join('\n');
  });
}

/** The newest release before the latest whose images are the ones serving after the bake rollback, if any. */
function servingAfter(releases: readonly Release[], bake: BakeRollback): string | null {
  const serving = bake.images;
  if (!serving) return null;
  return releases.slice(0, -1).reverse().find((release) => sameImages(imagesOf(release), serving))?.id ?? null;
}

/** The latest release's bake rollback by its monitor, when its spec had a bake; null otherwise (nothing listed). */
export async function latestBakeRollback(client: Client, releases: readonly Release[]): Promise<BakeRollback | null> {
  const latest = releases.at(-1);
  if (!latest || !(latest.spec.monitor && latest.spec.monitor.bake > 0)) return null;
  return bakeRollbackOf(client, latest.app, latest.deployRunId);
}

/** `greenlight releases APP`: every release on record, newest first (`--json`: the records, oldest first, without their specs; the latest with `rolledBackByMonitor` when its monitor rolled it back). */
export async function releases(client: Client, app: string, json: boolean, out: (line: string) => void): Promise<CliOutcome> {
  const list = await readReleases(client, app);
  if (!list || list.length === 0) {
    out(`no releases of ${app} on record: check the app name; a release is recorded when a deploy succeeds (greenlight history ${app})`);
    return 'unknown-app';
  }
  const bake = await latestBakeRollback(client, list);
  if (json) {
    const latest = list.at(-1)!.id;
    out(JSON.stringify(list.map(({ spec: _spec, ...release }) => (bake && release.id === latest ? { ...release, rolledBackByMonitor: { at: bake.at, from: bake.from, to: bake.to, reason: bake.reason } } : release)), null, 2));
    return 'done';
  }
  for (const line of releaseLines(list, bake)) out(line);
  return 'done';
}
