import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { releasesQuery } from '../../../workflows/releases';
import { releasesWorkflowId } from '../../names';
import type { Release } from '../../releases';
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

/** One line per release, newest first: the latest (what serves, unless a deploy runs) marked `*`. */
export function releaseLines(releases: readonly Release[]): string[] {
  const latest = releases.at(-1)?.id;
  return [...releases].reverse().map((release) => {
    const images = Object.entries(release.images).map(([service, { image, imageId }]) => `${service}=${image}${imageId ? ` (${imageId.replace(/^sha256:/, '').slice(0, 12)})` : ''}`);
    const env = Object.entries(release.env).flatMap(([service, { keys, secrets }]) => [...keys.map((k) => `${service}.${k}`), ...secrets.map((k) => `${service}.${k} (secret)`)]);
    const who = [release.startedBy, release.requestedBy].filter(Boolean).join(', ') || 'unknown';
    return [
      `${release.id === latest ? '*' : ' '} ${release.id.padEnd(4)} ${release.recordedAt}  ${images.join(', ')}`,
      `       spec ${release.specHash.replace(/^sha256:/, '').slice(0, 12)}, env ${env.length > 0 ? env.join(' ') : '(none)'}`,
      `       by ${who}; ${release.deployWorkflowId} run ${release.deployRunId}`,
    ].join('\n');
  });
}

/** `greenlight releases APP`: every release on record, newest first (`--json`: the records, oldest first, without their specs). */
export async function releases(client: Client, app: string, json: boolean, out: (line: string) => void): Promise<CliOutcome> {
  const list = await readReleases(client, app);
  if (!list || list.length === 0) {
    out(`no releases of ${app} on record: check the app name; a release is recorded when a deploy succeeds (greenlight history ${app})`);
    return 'unknown-app';
  }
  if (json) {
    out(JSON.stringify(list.map(({ spec: _spec, ...release }) => release), null, 2));
    return 'done';
  }
  for (const line of releaseLines(list)) out(line);
  return 'done';
}
