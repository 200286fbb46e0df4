/**
 * `notify:` on the real parts (Temporal dev server, Docker, the stack's nginx, a local webhook
 * receiver): a deploy's start and success reach the receiver with their facts, its UI link and a Slack
 * `text`, through a URL whose secret part the worker fills in (and which is in no history); a rollback is
 * told with its reason; a receiver that is down never fails or blocks the deploy beyond notify.timeout,
 * and is a warning in the status. GREENLIGHT_RECORD_HISTORIES=1 keeps both deploys' histories for the replay test.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy } from '../../src/cli/deploy-client';
import { EXIT } from '../../src/cli/exit-codes';
import type { DeploySpec, DeploySpecInput } from '../../src/config/schema';
import { deployOk } from '../../harness/deploys';
import { historyText, recordHistory } from '../../harness/histories';
import { resetApp } from '../../harness/host';
import { exampleImages, webSpec } from '../../harness/specs';
import { startTestWorker, type TestWorker } from '../../harness/worker';

const TASK_QUEUE = 'e2e-notify';
const APP = 'nt-shop';
// Ports 5960-5964 (notifications' range, 5960-5969): no other e2e file uses them.
const PORT = 5960;
const RECEIVER = 5963;
const DOWN = 5964; // nothing listens here
const SECRET = `nt-${randomBytes(12).toString('hex')}`;
const V1 = exampleImages('v1').backend;
const V2 = exampleImages('v2').backend;

function spec(image: string, notify?: DeploySpecInput['notify'], health: Record<string, unknown> = { endpoints: ['/api/health'] }): DeploySpec {
  return webSpec(
    APP,
    { image, port: 4000, hostPorts: { blue: PORT + 1, green: PORT + 2 }, route: '/', health, verifyPaths: [] },
    { router: { port: PORT }, health: { interval: '200ms', successes: 3, deadline: '5s' }, verify: { window: '2s', interval: '200ms', minRequests: 5 }, cleanup: { previous: 'stop', drain: '500ms' }, ...(notify ? { notify } : {}) },
  );
}

const received: Array<{ path: string; body: Record<string, unknown> }> = [];
let receiver: Server;
let w: TestWorker;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk) => (data += chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(RECEIVER, '127.0.0.1', resolve));
  w = await startTestWorker(TASK_QUEUE, { env: { ...process.env, GREENLIGHT_SECRETS: 'NT_HOOK_PATH', NT_HOOK_PATH: SECRET } });
  await resetApp(w.docker, w.router, APP);
  await deployOk(w, spec(V1), TASK_QUEUE);
});

afterAll(async () => {
  if (w) await resetApp(w.docker, w.router, APP);
  await w?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

describe('notifications on the real stack', () => {
  it('start and success reach the receiver through the secret URL, which is in no history', async () => {
    received.length = 0;
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(V2, { webhooks: [{ url: `http://127.0.0.1:${RECEIVER}/hooks/\${NT_HOOK_PATH}` }] }), TASK_QUEUE, { requestedBy: 'ci-job-7' }));
    expect(outcome.exitCode, outcome.message).toBe(EXIT.ok);
    expect(received.map((r) => [r.path, r.body.event])).toEqual([
      [`/hooks/${SECRET}`, 'started'],
      [`/hooks/${SECRET}`, 'succeeded'],
    ]);
    const success = received[1]!.body;
    expect(success).toMatchObject({ app: APP, outcome: 'succeeded', images: { web: V2 }, previousImages: { web: V1 }, requestedBy: 'ci-job-7', deployId: outcome.status!.deployId });
    expect(success.link).toBe(`http://127.0.0.1:8233/namespaces/default/workflows/deploy-${APP}/${outcome.status!.deployId}/history`);
    expect(success.text).toBe(`[greenlight] ${APP}: deploy succeeded: web=${V2} is live <${String(success.link)}|details>`);
    expect(outcome.status!.notifications).toEqual([
      { event: 'started', webhook: 0, delivered: true, error: null },
      { event: 'succeeded', webhook: 0, delivered: true, error: null },
    ]);
    expect((await historyText(APP)).includes(SECRET), 'the URL secret is nowhere in the history').toBe(false);
    await recordHistory(APP, outcome.status!.deployId, 'notify-success');
  });

  it('a rollback is told with its reason; a receiver that is down is a warning (given up after notify.timeout)', async () => {
    received.length = 0;
    const notify = { webhooks: [{ url: `http://127.0.0.1:${RECEIVER}/a` }, { url: `http://127.0.0.1:${DOWN}/down`, events: ['rolled-back' as const] }], timeout: '3s' };
    const started = Date.now();
    const outcome = await awaitOutcome(await startDeploy(w.client, spec(V1, notify, { endpoints: ['/api/health/missing'] }), TASK_QUEUE));
    const tookMs = Date.now() - started;
    expect(outcome.exitCode, outcome.message).toBe(EXIT.rolledBack);
    expect(received.map((r) => r.body.event)).toEqual(['started', 'rolled-back']);
    expect(received[1]!.body).toMatchObject({ outcome: 'rolled-back', phase: 'health-check' });
    expect(String(received[1]!.body.reason)).toContain('/api/health/missing');
    const down = outcome.status!.notifications!.find((n) => n.webhook === 1)!;
    expect(down).toMatchObject({ event: 'rolled-back', delivered: false });
    expect(down.error).toMatch(/ECONNREFUSED|timed out/i);
    console.log(`notify: rollback with a receiver down took ${tookMs} ms; the down webhook: ${down.error}`);
    await recordHistory(APP, outcome.status!.deployId, 'notify-rollback');
  });
});
