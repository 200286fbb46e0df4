/**
 * Releases end to end, on the real dev server, Docker and nginx, through the real CLI binary: three
 * deploys leave three releases (images with the host's image ids, spec hash, env names, who, the run);
 * `rollback --to r1` deploys r1 again through the whole pipeline with no failed request; `--to` an
 * unknown release is exit 2 and changes nothing; `--fast` brings the kept previous color back with one
 * healthy round, and refuses a release that is not the previous color's (exit 3).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { WorkflowNotFoundError } from '@temporalio/client';
import { lastDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpecInput } from '../../src/config/schema';
import { releasesWorkflowId } from '../../src/names';
import type { Release } from '../../src/releases';
import { cli } from '../../harness/cli';
import { recordHistory } from '../../harness/histories';
import { deployOk, isLive } from '../../harness/deploys';
import { get, resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { exampleImages, twoServices, twoServiceSpec, withImages } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const APP = 'rel-shop';
const ROUTER_PORT = 5980;
const ROUTER = `http://127.0.0.1:${ROUTER_PORT}`;
const QUEUE = 'e2e-releases';
const docker = new Docker();
let w: TestWorker;

/** The example app on ports 5980-5984, with a plain env value the releases must never show. */
const spec = (tag: string): DeploySpecInput => {
  const base = twoServiceSpec(APP, ROUTER_PORT, { verify: { window: '2s', interval: '100ms' } });
  const services = twoServices({
    images: exampleImages(tag),
    hostPorts: { backend: { blue: 5981, green: 5982 }, frontend: { blue: 5983, green: 5984 } },
    backend: { ...base.services.backend, env: { FEATURE_FLAGS: 'value-never-listed' } },
    frontend: base.services.frontend,
  });
  return { ...base, services };
};

const gl = (...args: string[]) => cli(args, { GREENLIGHT_TASK_QUEUE: QUEUE });

async function releasesJson(): Promise<Release[]> {
  const listed = await gl('releases', APP, '--json');
  expect(listed.code, listed.stdout + listed.stderr).toBe(EXIT.ok);
  return JSON.parse(listed.stdout) as Release[];
}

async function endStore(): Promise<void> {
  await w.client.workflow
    .getHandle(releasesWorkflowId(APP))
    .terminate('releases e2e: a fresh store')
    .catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
}

const servedVersion = async () => (JSON.parse((await get(`${ROUTER}/api/version`)).body) as { version: string }).version;

beforeAll(async () => {
  w = await startTestWorker(QUEUE);
  await resetApp(docker, w.router, APP);
  await endStore();
});

afterAll(async () => {
  await resetApp(docker, w.router, APP).catch(() => undefined);
  for (const tag of ['t1', 't2', 't3']) for (const image of [`rel-shop-backend:${tag}`, `rel-shop-frontend:${tag}`]) await docker.getImage(image).remove().catch(() => undefined);
  await endStore().catch(() => undefined);
  await w?.stop();
});

describe('releases', () => {
  it('three deploys, three releases: images with their ids, spec hash, env names only, who and which run', async () => {
    const runs: string[] = [];
    for (const tag of ['v1', 'v2', 'v3']) {
      await deployOk(w, withImages(spec(tag), exampleImages(tag)), QUEUE);
      runs.push((await lastDeploy(w.client, APP))!.runId);
    }
    const releases = await releasesJson();
    expect(releases.map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    expect(releases.map((r) => r.deployRunId)).toEqual(runs);
    for (const [index, tag] of ['v1', 'v2', 'v3'].entries()) {
      const release = releases[index]!;
      const images = exampleImages(tag);
      expect(release.images).toEqual({
        backend: { image: images.backend, imageId: (await docker.getImage(images.backend).inspect()).Id },
        frontend: { image: images.frontend, imageId: (await docker.getImage(images.frontend).inspect()).Id },
      });
      expect(release.env).toEqual({ backend: { keys: ['FEATURE_FLAGS'], secrets: [] }, frontend: { keys: [], secrets: [] } });
      expect(release.specHash).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(release.startedBy).toBe(w.client.options.identity);
      expect(release.deployWorkflowId).toBe(`deploy-${APP}`);
      expect(release.taskQueue).toBe(QUEUE);
    }
    expect(new Set(releases.map((r) => r.specHash)).size).toBe(3);
    const table = await gl('releases', APP);
    expect(table.code).toBe(EXIT.ok);
    expect(table.stdout).toMatch(/^\* r3 .*backend=greenlight-example-backend:v3/m);
    expect(table.stdout).toContain('env backend.FEATURE_FLAGS');
    for (const out of [table.stdout, JSON.stringify(releases)]) expect(out).not.toContain('value-never-listed');
  });

  it('an unknown app or release: exit 2, naming it, nothing started', async () => {
    const before = (await lastDeploy(w.client, APP))!.runId;
    const unknown = await gl('rollback', APP, '--to', 'r9');
    expect(unknown.code).toBe(EXIT.invalid);
    expect(unknown.stdout).toMatch(/--to r9: rel-shop has no release r9 \(on record: r1, r2, r3\)/);
    const malformed = await gl('rollback', APP, '--to', 'v1');
    expect(malformed.code).toBe(EXIT.invalid);
    expect(malformed.stderr).toMatch(/--to <release>.*must be a release id such as r3/);
    const noApp = await gl('releases', 'rel-nothing');
    expect(noApp.code).toBe(EXIT.invalid);
    expect(noApp.stdout).toMatch(/no releases of rel-nothing on record/);
    expect((await lastDeploy(w.client, APP))!.runId).toBe(before);
    expect(await servedVersion()).toBe('v3');
  });

  it('rollback --to r1 deploys r1 again through the whole pipeline, with no failed request, as a new release r4', async () => {
    const load = startLoad({ urls: [`${ROUTER}/api/version`, `${ROUTER}/`], ratePerSecond: 50, keepAlive: true });
    const rolled = await gl('rollback', APP, '--to', 'r1', '--reason', 'v3 broke checkout');
    const report = await load.stop();
    expect(rolled.code, rolled.stdout + rolled.stderr).toBe(EXIT.ok);
    expect(rolled.stdout).toMatch(/rolling rel-shop back to r1 .*through the whole pipeline/);
    expect(report.failed).toBe(0);
    expect(report.versions.v3).toBeGreaterThan(0);
    expect(report.versions.v1).toBeGreaterThan(0);
    expect(await servedVersion()).toBe('v1');
    const last = (await lastDeploy(w.client, APP))!;
    // The whole pipeline: a fresh deploy (not a restore), every phase.
    expect(last.status!.restoreReason).toBeNull();
    expect(last.status!.phases.map((p) => p.phase)).toEqual(['validate', 'deploy-green', 'health-check', 'switch', 'verify', 'cleanup', 'done']);
    const releases = await releasesJson();
    expect(releases.map((r) => r.id)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(releases[3]!.images).toEqual(releases[0]!.images);
    expect(releases[3]!.specHash).toBe(releases[0]!.specHash);
    expect(releases[3]!.requestedBy).toBe('greenlight rollback --to r1: v3 broke checkout');
  });

  it('rollback --fast: refused for a release that is not the previous color; to the previous one, its kept containers back after one healthy round', async () => {
    const notPrevious = await gl('rollback', APP, '--to', 'r2', '--fast');
    expect(notPrevious.code).toBe(EXIT.refused);
    expect(notPrevious.stdout).toMatch(/refused: r2 is not the release of the previous color \(r3 is\)/);
    expect(await servedVersion()).toBe('v1');

    const load = startLoad({ urls: [`${ROUTER}/api/version`, `${ROUTER}/`], ratePerSecond: 50, keepAlive: true });
    const started = Date.now();
    const fast = await gl('rollback', APP, '--fast', '--reason', 'incident');
    const tookMs = Date.now() - started;
    const report = await load.stop();
    expect(fast.code, fast.stdout + fast.stderr).toBe(EXIT.ok);
    expect(fast.stdout).toMatch(/rolling rel-shop back to r3 .*fast/);
    expect(report.failed).toBe(0);
    expect(await servedVersion()).toBe('v3');
    const status = (await lastDeploy(w.client, APP))!.status!;
    expect(status.restoreReason).toBe('incident');
    expect(await isLive(w, APP, { color: status.liveColor!, images: exampleImages('v3') })).toBe(true);
    console.log(`releases e2e: rollback --fast took ${tookMs} ms end to end (CLI included)`);
  });

  it('retain: { releases: 1 }: the images of older releases leave the host, never one a container or the retained release uses', async () => {
    // The app's own images (the example's plus a label: an id of their own), so no other test's image is
    // ever a candidate; and a fresh store, so the releases are these three only.
    const tagged = (tag: string) => ({ backend: `rel-shop-backend:${tag}`, frontend: `rel-shop-frontend:${tag}` });
    for (const tag of ['t1', 't2', 't3']) {
      for (const [service, image] of Object.entries(tagged(tag))) {
        execFileSync('docker', ['build', '-q', '-t', image, '-'], { input: `FROM ${exampleImages('v3')[service as 'backend' | 'frontend']}\nLABEL greenlight.test=${image}\n` });
      }
    }
    await endStore();
    const exists = async (image: string) => docker.getImage(image).inspect().then(() => true, () => false);
    await deployOk(w, withImages(spec('v3'), tagged('t1')), QUEUE);
    await deployOk(w, withImages(spec('v3'), tagged('t2')), QUEUE);
    // t3 with retain 1: t1 (no container, not retained) goes; t2 stays, its stopped containers use it.
    await deployOk(w, withImages({ ...spec('v3'), retain: { releases: 1 } }, tagged('t3')), QUEUE);
    await recordHistory(APP, (await lastDeploy(w.client, APP))!.runId, 'release-retain');
    expect(await exists('rel-shop-backend:t1')).toBe(false);
    expect(await exists('rel-shop-frontend:t1')).toBe(false);
    for (const image of [...Object.values(tagged('t2')), ...Object.values(tagged('t3'))]) expect(await exists(image), image).toBe(true);
    expect(await exists('greenlight-example-backend:v1')).toBe(true);
    expect((await lastDeploy(w.client, APP))!.status!.lastError).toBeNull();
    expect(await servedVersion()).toBe('v3');
    const releases = await releasesJson();
    expect(releases.map((r) => r.images.backend!.image)).toEqual(['rel-shop-backend:t1', 'rel-shop-backend:t2', 'rel-shop-backend:t3']);
    // prune --dry-run: nothing left to remove; with t1 built again, t1's images (r1 is outside retain 1).
    const none = await gl('prune', APP, '--dry-run');
    expect(none.code, none.stdout + none.stderr).toBe(EXIT.ok);
    expect(none.stdout).toMatch(/nothing to remove/);
    for (const [service, image] of Object.entries(tagged('t1'))) {
      execFileSync('docker', ['build', '-q', '-t', image, '-'], { input: `FROM ${exampleImages('v3')[service as 'backend' | 'frontend']}\nLABEL greenlight.test=${image}\n` });
    }
    const listed = await gl('prune', APP, '--dry-run', '--json');
    expect(listed.code).toBe(EXIT.ok);
    expect(JSON.parse(listed.stdout)).toEqual({ app: APP, retain: 1, images: ['rel-shop-backend:t1', 'rel-shop-frontend:t1'] });
    expect(await exists('rel-shop-backend:t1')).toBe(true);
    // Without --dry-run: the listed images leave the host, the others stay.
    const removed = await gl('prune', APP, '--json');
    expect(removed.code, removed.stdout + removed.stderr).toBe(EXIT.ok);
    expect(JSON.parse(removed.stdout)).toEqual({ app: APP, retain: 1, removed: ['rel-shop-backend:t1', 'rel-shop-frontend:t1'], kept: [] });
    expect(await exists('rel-shop-backend:t1')).toBe(false);
    for (const image of [...Object.values(tagged('t2')), ...Object.values(tagged('t3'))]) expect(await exists(image), image).toBe(true);
  });
});
