/**
 * Maintenance mode on the real parts (Temporal dev server, Docker, the stack's nginx) through the real
 * CLI: on -> every public request answers 503 with Retry-After and the page (the message escaped), no
 * nginx reload; a second deploy runs and succeeds behind it (its probes pass with greenlight's header,
 * users still get 503); a router restart keeps it on; bad input changes nothing (exit 2); off -> the
 * app serves again. Ports 5930-5932; apps mnt-*. On an nginx of its own (a prefix under /tmp, started
 * and stopped here): the restart test restarts it, and the stack's nginx is shared with other checkouts.
 */
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec } from '../../src/config/schema';
import { maintenanceWorkflowId } from '../../src/names';
import { cli } from '../../harness/cli';
import { deployOk } from '../../harness/deploys';
import { recordHistory } from '../../harness/histories';
import { resetApp } from '../../harness/host';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { NginxRouter } from '../../host/nginx';

const TASK_QUEUE = 'e2e-maintenance';
const APP = 'mnt-shop';
// Ports 5930-5932: no other e2e file uses them.
const PORT = 5930;
const ITEMS = `http://127.0.0.1:${PORT}/api/items`;
const work = mkdtempSync(join(tmpdir(), 'greenlight-maintenance-'));
// nginx's workers (nobody) read the maintenance pages under the prefix: mkdtemp's 0700 would keep them out.
chmodSync(work, 0o755);
const router = new NginxRouter({ prefix: join(work, 'nginx'), workerProcesses: 1 });

function spec(image: string): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health: { endpoints: ['/api/health'] }, verifyPaths: ['/api/items'] },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '30s' }, verify: { window: '3s', interval: '200ms' }, cleanup: { previous: 'stop' } },
  );
}

/**
 * One GET on a fresh connection (no keep-alive): a restarted nginx's old workers close their idle
 * connections as they go, which a pooled client would see as a failed request.
 */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; retryAfter: string | null; contentType: string | null; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, contentType: res.headers['content-type'] ?? null, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

/** The state file the worker keeps (what a restarted nginx loads), or null. */
const stateFile = () => readFile(join(router.maintenanceDir, `${APP}.json`), 'utf8').catch(() => null);

let w: TestWorker;

beforeAll(async () => {
  w = await startTestWorker(TASK_QUEUE, { router });
  await resetApp(w.docker, router, APP);
  // A run that died with maintenance on left its state file: a fresh deploy would come up in maintenance.
  for (const file of [`${APP}.json`, `${APP}.html`]) await rm(join(router.maintenanceDir, file), { force: true });
  await deployOk(w, spec(exampleImages('v1').backend), TASK_QUEUE);
});

afterAll(async () => {
  if (w) {
    await cli(['maintenance', APP, 'off']);
    await resetApp(w.docker, router, APP);
  }
  await w?.stop();
  const pid = await router.pid();
  if (pid !== null && pid > 0) process.kill(pid, 'SIGQUIT');
  rmSync(work, { recursive: true, force: true });
});

describe('maintenance mode', () => {
  it('on: 503 with Retry-After and the page (message escaped), without an nginx reload; status shows it', async () => {
    expect((await get(ITEMS)).status).toBe(200);
    const pid = (await router.pid())!;
    // A reload starts new worker processes: the same workers before and after means none happened.
    const workers = () => readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    const workersBefore = await workers();
    const on = await cli(['maintenance', APP, 'on', '--message', 'Back at 14:00 <UTC> & "soon"', '--retry-after', '120']);
    expect(on.code, on.stdout + on.stderr).toBe(EXIT.ok);
    expect(on.stdout).toMatch(/^mnt-shop: maintenance on since \S+ \(503, Retry-After 120 s\), message: Back at 14:00 <UTC> & "soon"\n$/);
    for (const url of [ITEMS, `http://127.0.0.1:${PORT}/`, `http://127.0.0.1:${PORT}/anything?q=1`]) {
      const res = await get(url);
      expect(res).toMatchObject({ status: 503, retryAfter: '120', contentType: 'text/html; charset=utf-8' });
      expect(res.body).toContain('<p>Back at 14:00 &lt;UTC&gt; &amp; &quot;soon&quot;</p>');
      expect(res.body).not.toContain('<UTC>');
    }
    // nginx's own /health still answers (the router is up), and no reload happened.
    expect((await get(`http://127.0.0.1:${PORT}/health`)).status).toBe(200);
    expect(await workers()).toBe(workersBefore);
    const status = await cli(['status', APP]);
    expect(status.stdout).toMatch(/\n {2}maintenance: on since \S+ \(503, Retry-After 120 s\), message: Back at 14:00 <UTC> & "soon"\n/);
    await recordHistory(APP, (await w.client.workflow.getHandle(maintenanceWorkflowId(APP)).describe()).runId, 'maintenance-on', maintenanceWorkflowId(APP));
  });

  it("greenlight's probe header passes from 127.0.0.1 only: from the host's other address it is a 503 like any request", async () => {
    expect((await get(ITEMS, { 'X-Greenlight-Probe': '1' })).status).toBe(200);
    const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!other) return;
    expect(await get(`http://${other}:${PORT}/api/items`, { 'X-Greenlight-Probe': '1' })).toMatchObject({ status: 503, retryAfter: '120' });
  });

  it('a second deploy runs and succeeds behind it (verified through the router), while every public request gets 503', async () => {
    const statuses: Record<string, number> = {};
    let done = false;
    const polling = (async () => {
      while (!done) {
        const res = await get(ITEMS).catch((err: Error) => ({ status: err.message, retryAfter: null }));
        const key = `${res.status} retry-after ${res.retryAfter}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(exampleImages('v2').backend), TASK_QUEUE));
    done = true;
    await polling;
    console.log(`behind maintenance: deploy ${outcome.end}, public responses ${JSON.stringify(statuses)}`);
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(outcome.status!.verify!.errors).toBe(0);
    expect(Object.keys(statuses)).toEqual(['503 retry-after 120']);
    expect(await router.readRoute(APP)).toEqual({ live: 'green', backup: null });
    expect((await get(ITEMS)).status).toBe(503);
    // Behind the 503s the new color serves (what the deploy's routed probes saw).
    const behind = await get(`http://127.0.0.1:${PORT}/api/version`, { 'X-Greenlight-Probe': '1' });
    expect(behind.status).toBe(200);
    expect(JSON.parse(behind.body)).toMatchObject({ color: 'green' });
  });

  it('a router restart keeps it on (a new nginx loads the state file)', async () => {
    const { oldPid, newPid } = await router.restart();
    expect(newPid).not.toBe(oldPid);
    expect(await get(ITEMS)).toMatchObject({ status: 503, retryAfter: '120' });
    expect(await router.servedMaintenance(APP)).toBe('120');
  });

  it('bad input changes nothing: exit 2, the state file and the answer as they were', async () => {
    const before = await stateFile();
    const big = join(work, 'big.html');
    writeFileSync(big, 'x'.repeat(64 * 1024 + 1));
    for (const args of [
      ['maintenance', APP, 'on', '--retry-after', '0'],
      ['maintenance', APP, 'on', '--retry-after', 'soon'],
      ['maintenance', APP, 'on', '--message', 'x'.repeat(501)],
      ['maintenance', APP, 'on', '--page', big],
      ['maintenance', APP, 'off', '--message', 'x'],
      ['maintenance', APP, 'sideways'],
      ['maintenance', 'mnt-never-deployed', 'on'],
    ]) {
      const run = await cli(args);
      expect(run.code, `${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(EXIT.invalid);
    }
    expect(await stateFile()).toBe(before);
    expect(await get(ITEMS)).toMatchObject({ status: 503, retryAfter: '120' });
  });

  it('on again with a page of its own: served as it is, the first "since" kept', async () => {
    const since = JSON.parse((await stateFile())!).since as string;
    const page = join(work, 'page.html');
    writeFileSync(page, '<!doctype html><h1>Upgrading the database</h1>\n');
    const run = await cli(['maintenance', APP, 'on', '--page', page, '--retry-after', '300']);
    expect(run.code, run.stdout + run.stderr).toBe(EXIT.ok);
    expect(await get(ITEMS)).toEqual({ status: 503, retryAfter: '300', contentType: 'text/html; charset=utf-8', body: '<!doctype html><h1>Upgrading the database</h1>\n' });
    expect(JSON.parse((await stateFile())!)).toMatchObject({ since, retryAfter: 300, pageFile: 'page.html' });
  });

  it('off: the app serves again, the state file is gone, status shows no maintenance', async () => {
    const off = await cli(['maintenance', APP, 'off']);
    expect(off.code, off.stdout + off.stderr).toBe(EXIT.ok);
    expect(off.stdout).toBe('mnt-shop: maintenance off\n');
    expect(await get(ITEMS)).toMatchObject({ status: 200, retryAfter: null });
    expect(await stateFile()).toBeNull();
    expect((await cli(['status', APP])).stdout).not.toContain('maintenance');
  });
});
