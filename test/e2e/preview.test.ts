/**
 * The preview (`preview`) on the real parts (Temporal dev server, Docker, the stack's nginx), under load
 * on the public port: during a manual promotion gate the preview port answers the new version (v2) and
 * the public port the live one (v1), `greenlight status` prints the preview, a preview check in a
 * one-off container reaches it (GREENLIGHT_PREVIEW_URL on the app network's gateway), and after the
 * switch the preview is closed (503 "no preview open"); a failing preview check rolls back with 0 failed
 * public requests; a preview port another program holds is refused at validate (exit 2), nothing changed.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec, DeploySpecInput } from '../../src/config/schema';
import { deployWorkflowId, FAILURE_TYPES, otherColor } from '../../src/names';
import { statusQuery } from '../../workflows/messages';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { recordHistory } from '../../harness/histories';
import { get, resetApp } from '../../harness/host';
import { startLoad } from '../../harness/loadgen';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { waitFor } from '../helpers/wait';

const TASK_QUEUE = 'e2e-preview';
const APP = 'pv-web';
// Ports 5970-5979 are this file's: router 5970, host ports 5971/5972, preview 5975, a busy port 5976.
const PORT = 5970;
const PREVIEW_PORT = 5975;
const BUSY_PORT = 5976;
const PUBLIC_ITEMS = `http://127.0.0.1:${PORT}/api/items`;
const PREVIEW_ITEMS = `http://127.0.0.1:${PREVIEW_PORT}/api/items`;

/** A check that asks the preview for /api/items from inside the container and wants `version`. */
const fetchCheck = (name: string, version: string) => ({
  name,
  command: ['node', '-e', `fetch(process.env.GREENLIGHT_PREVIEW_URL + '/api/items').then((r) => r.json()).then((b) => { console.log('preview answered', b.version, b.color); process.exit(b.version === '${version}' ? 0 : 3); }, (e) => { console.log(String(e)); process.exit(2); })`],
  timeout: '30s',
});

function spec(image: string, overrides: Partial<DeploySpecInput> = {}): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: [] },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '30s' }, verify: { window: '2s', interval: '200ms', minRequests: 5 }, cleanup: { previous: 'stop', drain: '500ms' }, ...overrides },
  );
}

let w: TestWorker;

async function record(name: string): Promise<void> {
  await recordHistory(APP, (await w.client.workflow.getHandle(deployWorkflowId(APP)).describe()).runId, name);
}

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  // v1 with the preview the tests use: its first opening writes the preview's config (one reload, before
  // any load, like an app's first deploy); every later deploy with it renders the same file, no reload.
  await deployOk(w, spec(exampleImages('v1').backend, { preview: { port: PREVIEW_PORT, checks: [fetchCheck('smoke', 'v1')] } }), TASK_QUEUE);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
});

describe('preview route under load', () => {
  it('during a manual gate the preview port answers v2 and the public port v1; a check reaches the preview; 0 failed; closed after the switch', async () => {
    const live = (await w.router.readRoute(APP))!.live;
    const target = otherColor(live);
    const load = startLoad({ urls: [PUBLIC_ITEMS], ratePerSecond: 100, keepAlive: true, maxDurationMs: 120_000 });
    const handle = await startDeploy(
      w.client,
      spec(exampleImages('v2').backend, { promotion: { manual: true, timeout: '2m' }, preview: { port: PREVIEW_PORT, checks: [fetchCheck('smoke', 'v2')] } }),
      TASK_QUEUE,
    );
    try {
      await waitFor(
        'the promotion gate',
        async () => {
          const phase = (await handle.query(statusQuery)).phase;
          if (phase !== 'promotion-gate') throw new Error(`phase ${phase}`);
        },
        { timeout: 90_000, interval: 100 },
      );
      const preview = await get(PREVIEW_ITEMS);
      const publicPort = await get(PUBLIC_ITEMS);
      expect(preview.status).toBe(200);
      expect(JSON.parse(preview.body)).toMatchObject({ version: 'v2', color: target });
      expect(preview.headers['x-greenlight-preview']).toBe(target);
      expect(JSON.parse(publicPort.body)).toMatchObject({ version: 'v1', color: live });
      const shown = await cli(['status', APP]);
      expect(shown.stdout).toContain(`preview: http://127.0.0.1:${PREVIEW_PORT} (${target})`);
      expect((await cli(['promote', APP])).code).toBe(EXIT.ok);
    } finally {
      if ((await handle.describe()).status.name === 'RUNNING' && (await handle.query(statusQuery)).phase === 'promotion-gate') await handle.cancel();
    }
    const outcome = await awaitOutcome(handle);
    const report = await load.stop();
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    console.log(`preview under load: ${report.sent} public requests, ${report.failed} failed, versions ${JSON.stringify(report.versions)}`);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(outcome.status!.phases.map((p) => p.phase)).toEqual(['validate', 'deploy-green', 'health-check', 'preview', 'promotion-gate', 'switch', 'verify', 'cleanup', 'done']);
    expect(outcome.status!.preview).toBeNull();
    expect(await w.router.readRoute(APP)).toEqual({ live: target, backup: null });
    // Closed at the switch: the port stays nginx's (the next deploy needs no reload), and says so.
    const closed = await get(PREVIEW_ITEMS);
    expect(closed.status).toBe(503);
    expect(closed.body).toBe('no preview open\n');
    expect(await w.router.readPreview(APP)).toBeNull();
    expect((await cli(['status', APP])).stdout).not.toContain('preview:');
    await record('preview-success');
  });

  it('a failing preview check rolls back before the switch, naming the check; 0 failed public requests', async () => {
    const live = (await w.router.readRoute(APP))!.live;
    const load = startLoad({ urls: [PUBLIC_ITEMS], ratePerSecond: 100, keepAlive: true, maxDurationMs: 120_000 });
    // The check wants a version the preview does not serve: it exits 3.
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(exampleImages('v1').backend, { preview: { port: PREVIEW_PORT, checks: [fetchCheck('wants-v9', 'v9')] } }), TASK_QUEUE));
    const report = await load.stop();
    expect(outcome.exitCode).toBe(EXIT.rolledBack);
    expect(outcome.status?.failureType).toBe(FAILURE_TYPES.previewCheck);
    expect(outcome.message).toContain('preview check "wants-v9"');
    expect(outcome.message).toContain('exited with 3');
    expect(outcome.message).toContain('preview answered v1');
    expect(outcome.status!.phases.map((p) => p.phase)).not.toContain('switch');
    console.log(`failing preview check: ${report.sent} public requests, ${report.failed} failed; ${outcome.message.split('\n')[0]}`);
    expect(report.failed, JSON.stringify(report.failures)).toBe(0);
    expect(await w.router.readRoute(APP)).toEqual({ live, backup: null });
    expect((await get(PREVIEW_ITEMS)).status).toBe(503);
    expect(await w.router.readPreview(APP)).toBeNull();
    await record('preview-check-rollback');
  });

  it("a first deploy is previewed too; its failing check removes the preview's config with the rollback (its port free again)", async () => {
    const first = 'pv-first';
    // Ports: router 5973, host ports 5978/5979, preview 5974.
    const firstSpec = (checks: ReturnType<typeof fetchCheck>[]) =>
      webSpec(
        first,
        { image: exampleImages('v2').backend, port: 4000, hostPorts: { blue: 5978, green: 5979 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: [] },
        { router: { port: 5973 }, health: { interval: '200ms', successes: 3, deadline: '30s' }, cleanup: { previous: 'stop', drain: '500ms' }, preview: { port: 5974, checks } },
      );
    await resetApp(w.docker, w.router, first);
    try {
      const outcome = await awaitOutcome(await startDeploy(w.client, firstSpec([fetchCheck('wants-v9', 'v9')]), TASK_QUEUE));
      expect(outcome.exitCode).toBe(EXIT.rolledBack);
      expect(outcome.message).toContain('preview answered v2 blue');
      expect(await w.router.readPreviewConfig(first)).toBeNull();
      expect(await w.router.readRoute(first)).toBeNull();
      await expect(get('http://127.0.0.1:5974/api/items')).rejects.toThrow();
    } finally {
      await resetApp(w.docker, w.router, first);
    }
  });

  it('a preview port another program holds is refused at validate (exit 2, naming preview.port); nothing changed', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(BUSY_PORT, '127.0.0.1', resolve));
    try {
      const before = await w.router.readPreviewConfig(APP);
      const live = await w.router.readRoute(APP);
      const outcome = await awaitOutcome(await startDeploy(w.client, spec(exampleImages('v2').backend, { preview: { port: BUSY_PORT } }), TASK_QUEUE));
      expect(outcome.exitCode).toBe(EXIT.invalid);
      expect(outcome.message).toContain(`preview.port: port ${BUSY_PORT} is already in use on 127.0.0.1 by another program`);
      expect(await w.router.readPreviewConfig(APP)).toBe(before);
      expect(await w.router.readRoute(APP)).toEqual(live);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});
