/** `greenlight prune APP [--dry-run]` over a fake releases store and a fake Docker host: what it lists, removes and refuses. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { parseDeploySpec } from '../../src/config/load';
import { prune, type PruneHost } from '../../src/cli/commands/prune';
import { releaseDraft, type Release } from '../../src/releases';

const spec = parseDeploySpec({ app: 'lg-prune', services: { web: { image: 'web:v3', port: 8080, hostPorts: { blue: 5910, green: 5911 } } }, retain: { releases: 1 } });
const origin = { recordedAt: '2026-12-03T11:00:00.000Z', startedBy: null, requestedBy: null, deployWorkflowId: 'deploy-lg-prune', taskQueue: 'greenlight' };
const release = (n: number, image: string): Release => ({ ...releaseDraft({ ...spec, services: { web: { ...spec.services.web!, image } } }, { web: `sha256:${n}` }, 'sha256:h', { ...origin, deployRunId: `run-${n}` }), id: `r${n}` });
const RELEASES = [release(1, 'web:v1'), release(2, 'web:v2'), release(3, 'web:v3')];

/** The releases store and the deploy workflow as prune reads them. */
function client(releases: Release[] | null, deployStatus: string | null = 'COMPLETED'): Client {
  const notFound = (id: string) => new WorkflowNotFoundError('not found', id, undefined);
  return {
    workflow: {
      getHandle: (id: string) => ({
        async query() {
          if (!releases) throw notFound(id);
          return releases;
        },
        async describe() {
          if (!deployStatus) throw notFound(id);
          return { status: { name: deployStatus } };
        },
      }),
    },
  } as unknown as Client;
}

/** A Docker host with `images`; `inUse` by containers; `refused` images Docker will not remove (a container took them up). */
function fakeHost(images: string[], inUse: string[] = [], refused: string[] = []) {
  const present = new Set(images);
  const removed: string[] = [];
  const host: PruneHost = {
    imagesInUse: async () => inUse,
    imageExists: async (image) => present.has(image),
    removeImage: async (image) => {
      if (refused.includes(image) || !present.has(image)) return false;
      present.delete(image);
      removed.push(image);
      return true;
    },
  };
  return { host, removed, present };
}

async function run(c: Client, h: PruneHost, opts: { dryRun?: boolean; retain?: number; json?: boolean } = {}) {
  const lines: string[] = [];
  const outcome = await prune(c, 'lg-prune', { dryRun: opts.dryRun ?? false, retain: opts.retain, json: opts.json ?? false, out: (l) => lines.push(l), host: async () => h });
  return { outcome, lines };
}

describe('greenlight prune', () => {
  it('removes the images outside the retained releases that this host has, never one a container uses', async () => {
    const { host, removed, present } = fakeHost(['web:v1', 'web:v2', 'web:v3'], ['web:v2']);
    expect(await run(client(RELEASES), host)).toEqual({ outcome: 'done', lines: ['removed web:v1'] });
    expect(removed).toEqual(['web:v1']);
    expect([...present].sort()).toEqual(['web:v2', 'web:v3']);
  });

  it('--dry-run lists the same images and removes nothing', async () => {
    const { host, removed } = fakeHost(['web:v1', 'web:v2', 'web:v3']);
    expect(await run(client(RELEASES), host, { dryRun: true })).toEqual({ outcome: 'done', lines: ['would remove web:v1', 'would remove web:v2'] });
    expect(removed).toEqual([]);
  });

  it('--json: removed, and kept (Docker refused: a container took it up since the listing)', async () => {
    const { host } = fakeHost(['web:v1', 'web:v2', 'web:v3'], [], ['web:v2']);
    const { outcome, lines } = await run(client(RELEASES), host, { json: true, retain: 1 });
    expect(outcome).toBe('done');
    expect(JSON.parse(lines.join('\n'))).toEqual({ app: 'lg-prune', retain: 1, removed: ['web:v1'], kept: ['web:v2'] });
  });

  it('--retain overrides the latest release\'s retain.releases', async () => {
    const { host, removed } = fakeHost(['web:v1', 'web:v2', 'web:v3']);
    expect((await run(client(RELEASES), host, { retain: 2 })).lines).toEqual(['removed web:v1']);
    expect(removed).toEqual(['web:v1']);
  });

  it('nothing there to remove: says so, exit 0', async () => {
    const { host } = fakeHost(['web:v3']);
    expect(await run(client(RELEASES), host)).toEqual({ outcome: 'done', lines: ["nothing to remove: every image of lg-prune's releases outside the newest 1 is in use here, or gone"] });
  });

  it('refused while a deploy of the app runs (it may have checked an image there), unless --dry-run', async () => {
    const { host, removed } = fakeHost(['web:v1', 'web:v3']);
    expect(await run(client(RELEASES, 'RUNNING'), host)).toEqual({ outcome: 'refused', lines: ['a deploy of lg-prune is running: prune after it ends (greenlight status lg-prune), or list with --dry-run'] });
    expect(removed).toEqual([]);
    expect((await run(client(RELEASES, 'RUNNING'), host, { dryRun: true })).outcome).toBe('done');
  });

  it('an app with no releases: unknown-app (exit 2); a latest release without retain and no --retain: unknown-release (exit 2)', async () => {
    const { host, removed } = fakeHost(['web:v1']);
    expect(await run(client(null), host)).toEqual({ outcome: 'unknown-app', lines: ['no releases of lg-prune on record: check the app name (greenlight releases lg-prune)'] });
    const noRetain = RELEASES.map((r) => ({ ...r, spec: { ...r.spec, retain: undefined } }));
    expect(await run(client(noRetain), host)).toEqual({ outcome: 'unknown-release', lines: ["lg-prune's latest release (r3) sets no retain.releases: pass --retain N, or set retain: { releases: N } in the spec"] });
    expect(removed).toEqual([]);
  });
});
