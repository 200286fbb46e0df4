/**
 * What an operator sees in the Temporal UI, checked in a real browser (Debian's chromium driven by
 * playwright-core): a deploy that succeeded and one that rolled back, found by the GreenlightApp search
 * attribute, with the static summary and details, the current details, the activity summaries of every
 * step, the phases and the GreenlightOutcome. Payloads are encrypted (src/codec.ts): without a codec
 * endpoint the UI shows ciphertext (and no activity summary); with `greenlight codec-server`'s handler as
 * the UI's codec endpoint (set as --ui-codec-endpoint would, in the settings the UI loads) it shows the
 * decoded input, env value included, and everything below. Screenshots go to test-results/ui/.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitOutcome, startDeploy, type DeployOutcome } from '../../src/cli/deploy-client';
import { statusQuery } from '../../workflows/messages';
import { startCodecServer } from '../../src/cli/codec-server';
import { EXIT } from '../../src/cli/exit-codes';
import { payloadCodecFromEnv } from '../../src/codec';
import { deployWorkflowId } from '../../src/names';
import { startTestWorker, type TestWorker } from '../../harness/worker';
import { resetApp } from '../../harness/host';
import { twoServiceSpec, withImages } from '../../harness/specs';
import { REPO } from '../../harness/paths';
import { waitFor } from '../helpers/wait';

const APP = 'ui-shop';
/** Another app whose deploy must not show up under GreenlightApp="ui-shop" (fails validation: nothing touched). */
const OTHER_APP = 'ui-other';
const BASE = 4650;
const TASK_QUEUE = 'e2e-ui';
const UI = `http://127.0.0.1:${process.env.GL_TEMPORAL_UI_PORT ?? 8233}`;
const NAMESPACE = process.env.TEMPORAL_NAMESPACE ?? 'default';
const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(REPO, 'test-results', 'ui');
const REQUESTED_BY = 'test/e2e/ui.test.ts';
const QUERY = `GreenlightApp="${APP}"`;
/** In the successful deploy's spec (backend env): only the codec endpoint makes it readable in the UI. */
const ENV_VALUE = `ui-env-${randomBytes(6).toString('hex')}`;

const V1 = { backend: 'greenlight-example-backend:v1', frontend: 'greenlight-example-frontend:v1' };
const UNHEALTHY = { backend: 'greenlight-example-backend:unhealthy', frontend: V1.frontend };

interface Run {
  runId: string;
  outcome: DeployOutcome;
}

let w: TestWorker;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let succeeded: Run;
let rolledBack: Run;
let other: Run;
let codecServer: Server;
/** The codec endpoint the UI gets in its settings (as the dev server's --ui-codec-endpoint sets it); null: none. */
let codecEndpoint: string | null = null;
let codecUrl: string;

async function deploy(spec: Parameters<typeof startDeploy>[1]): Promise<Run> {
  const handle = await startDeploy(w.client, spec, TASK_QUEUE, { requestedBy: REQUESTED_BY });
  return { runId: handle.firstExecutionRunId, outcome: await awaitOutcome(handle) };
}

/** Waits (generously) until the locator's first match is visible. */
async function visible(locator: Locator, timeout = 60_000): Promise<Locator> {
  await locator.first().waitFor({ state: 'visible', timeout });
  return locator.first();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

function runUrl(runId: string, tab: string): string {
  return `${UI}/namespaces/${NAMESPACE}/workflows/${deployWorkflowId(APP)}/${runId}/${tab}`;
}

/** Tabs of a workflow's page; some carry a count ("Event History 67"). */
async function openTab(name: string): Promise<void> {
  await (await visible(page.getByRole('tab', { name: new RegExp(`^${name}\\b`) }))).click();
}

async function expectStatus(status: 'Completed' | 'Failed'): Promise<void> {
  const heading = await visible(page.getByTestId('workflow-id-heading'));
  expect(await heading.textContent()).toContain(deployWorkflowId(APP));
  const badge = await visible(page.getByTestId('execution-status'));
  expect((await badge.textContent())?.trim().toLowerCase()).toBe(status.toLowerCase());
}

/** User Metadata tab: the static summary/details and the current details are markdown rendered in iframes. */
async function expectUserMetadata(texts: { summary: string[]; details: string[]; current: string[] }): Promise<void> {
  await openTab('User Metadata');
  for (const [frame, expected] of [
    ['#user-metadata-summary', texts.summary],
    ['#user-metadata-details', texts.details],
    ['#user-metadata-current-details', texts.current],
  ] as const) {
    for (const text of expected) await visible(page.frameLocator(frame).getByText(text, { exact: false }));
  }
}

async function expectSearchAttributes(values: Record<string, string>): Promise<void> {
  await openTab('Search Attributes');
  for (const [key, value] of Object.entries(values)) await visible(page.getByText(`"${key}": "${value}"`));
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/up.sh installs Debian's chromium package`);
  mkdirSync(SHOTS, { recursive: true });
  w = await startTestWorker(TASK_QUEUE);
  await resetApp(w.docker, w.router, APP);
  await resetApp(w.docker, w.router, OTHER_APP);

  const spec = twoServiceSpec(APP, BASE);
  succeeded = await deploy(withImages({ ...spec, services: { ...spec.services, backend: { ...spec.services.backend!, env: { UI_CODEC_PROBE: ENV_VALUE } } } }, V1));
  rolledBack = await deploy(withImages({ ...spec, health: { interval: '200ms', successes: 3, deadline: '3s' } }, UNHEALTHY));
  other = await deploy(withImages(twoServiceSpec(OTHER_APP, BASE), { backend: 'greenlight-example-backend:ui-test-does-not-exist' }));

  // Visibility is eventually consistent: wait until both closed runs are listed under the query.
  await waitFor(
    'both ui-shop runs in visibility',
    async () => {
      const closed = new Set<string>();
      for await (const wf of w.client.workflow.list({ query: QUERY })) if (wf.status.name !== 'RUNNING') closed.add(wf.runId);
      if (!closed.has(succeeded.runId) || !closed.has(rolledBack.runId)) throw new Error(`closed runs listed under ${QUERY}: ${[...closed].join(', ') || 'none'}`);
    },
    { timeout: 60_000, interval: 50 },
  );

  userDataDir = mkdtempSync(join(tmpdir(), 'greenlight-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1600, height: 1000 },
    timezoneId: 'UTC',
  });
  // Only this machine: the UI also asks an internet news feed, which is answered with a network error at once.
  await context.route('**/*', (route) => (/^(https?|wss?):\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(route.request().url()) ? route.continue() : route.abort('internetdisconnected')));
  codecServer = await startCodecServer({ codec: payloadCodecFromEnv(), allowedOrigins: [UI] }, '127.0.0.1', 0);
  codecUrl = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;
  codecEndpoint = codecUrl;
  // Registered last, so it goes before the catch-all route above.
  await context.route('**/api/v1/settings*', async (route) => {
    const response = await route.fetch();
    const settings = (await response.json()) as { Codec: Record<string, unknown> };
    await route.fulfill({ response, json: { ...settings, Codec: { ...settings.Codec, Endpoint: codecEndpoint ?? '' } } });
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  page.setDefaultNavigationTimeout(60_000);
});

afterAll(async () => {
  await context?.close();
  if (codecServer) await new Promise((resolve) => codecServer.close(resolve));
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (w) {
    await resetApp(w.docker, w.router, APP);
    await resetApp(w.docker, w.router, OTHER_APP);
    await w.stop();
  }
});

describe('the Temporal UI shows greenlight deploys', () => {
  it('ran one successful and one rolled-back deploy of ui-shop, and a failed deploy of another app', () => {
    expect(succeeded.outcome.exitCode, succeeded.outcome.message).toBe(EXIT.ok);
    expect(succeeded.outcome.status?.liveColor).toBe('blue');
    expect(rolledBack.outcome.exitCode, rolledBack.outcome.message).toBe(EXIT.rolledBack);
    expect(rolledBack.outcome.message).toContain('green did not become healthy within 3000 ms');
    expect(other.outcome.exitCode, other.outcome.message).toBe(EXIT.invalid);
  });

  it(`the workflow list filtered by ${QUERY} shows the deploys of ui-shop and no other app's`, async () => {
    // What visibility itself answers for the same query (the UI lists the first page of it, newest first).
    const expected: Array<{ workflowId: string; runId: string }> = [];
    for await (const wf of w.client.workflow.list({ query: QUERY })) expected.push({ workflowId: wf.workflowId, runId: wf.runId });
    expect((await w.client.workflow.count(`GreenlightApp="${OTHER_APP}"`)).count).toBeGreaterThan(0);

    await page.goto(`${UI}/namespaces/${NAMESPACE}/workflows?query=${encodeURIComponent(QUERY)}`);
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    await visible(rows);
    await visible(page.getByText(new RegExp(`^GreenlightApp\\s*=\\s*"${APP}"$`))); // the filter chip
    const count = await visible(page.getByTestId('workflow-count'));
    expect((await count.textContent())?.trim()).toBe(String(expected.length));

    const listed = await rows.evaluateAll((trs) =>
      trs.map((tr) => {
        const href = [...tr.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? '').find((h) => /\/workflows\/[^/?]+\/[^/?]+/.test(h)) ?? '';
        const [, workflowId, runId] = /\/workflows\/([^/?]+)\/([^/?]+)/.exec(href) ?? [];
        return { workflowId: decodeURIComponent(workflowId ?? ''), runId: runId ?? '', status: tr.querySelector('[data-testid="execution-status"]')?.textContent?.trim() ?? '' };
      }),
    );
    await shot('01-workflow-list');

    expect(listed.length).toBe(Math.min(expected.length, 100));
    expect(listed.map(({ workflowId, runId }) => ({ workflowId, runId }))).toEqual(expected.slice(0, listed.length));
    expect(new Set(listed.map((r) => r.workflowId))).toEqual(new Set([deployWorkflowId(APP)]));
    // The two deploys of this test are the newest: first the rolled-back one, then the one that succeeded.
    expect(listed.slice(0, 2)).toEqual([
      { workflowId: deployWorkflowId(APP), runId: rolledBack.runId, status: 'Failed' },
      { workflowId: deployWorkflowId(APP), runId: succeeded.runId, status: 'Completed' },
    ]);
    expect(listed.map((r) => r.runId)).not.toContain(other.runId);
    expect(await page.getByText(deployWorkflowId(OTHER_APP)).count()).toBe(0);
  });

  it('without a codec endpoint the input is ciphertext and no summary shows; with greenlight\'s codec server the decoded input shows', async () => {
    const input = page.getByTestId('input-and-result').locator(':scope > div', { has: page.getByRole('heading', { name: 'Input', exact: true }) });
    codecEndpoint = null;
    await page.goto(runUrl(succeeded.runId, 'history'));
    await expectStatus('Completed');
    await expect.poll(async () => (await input.textContent()) ?? '', { timeout: 60_000 }).toMatch(/"[A-Za-z0-9+/=]{200,}"/);
    const cipher = (await input.textContent()) ?? '';
    expect(cipher).not.toContain('"spec"');
    expect(cipher).not.toContain(ENV_VALUE);
    await visible(page.getByText('validateSpec', { exact: true }));
    expect(await page.getByText('check the deploy spec').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(ENV_VALUE);
    await shot('00a-input-without-codec');

    codecEndpoint = codecUrl;
    await page.goto(runUrl(succeeded.runId, 'history'));
    await expectStatus('Completed');
    await visible(input.getByText(`"UI_CODEC_PROBE": "${ENV_VALUE}"`));
    await visible(input.getByText(`"app": "${APP}"`));
    await visible(page.getByText('check the deploy spec'));
    await shot('00b-input-with-codec');
  });

  it('the successful run: activity summaries on the timeline and every phase in the result', async () => {
    await page.goto(runUrl(succeeded.runId, 'timeline'));
    await expectStatus('Completed');
    const steps: Array<[string, string]> = [
      ['validateSpec', 'check the deploy spec'],
      ['readRoute', `read the live route of ${APP} from nginx`],
      ['preflightDocker', 'images exist, blue host ports free'],
      ['checkRouterConfig', 'nginx -t of the config the switch will write'],
      ['deployColor', `start blue: backend=${V1.backend}, frontend=${V1.frontend}`],
      ['healthCheck', 'health gate of blue'],
      ['switchTraffic', 'traffic to blue'],
      ['verify', 'verify blue for 3000 ms'],
      ['switchTraffic', 'blue only (backup dropped)'],
    ];
    for (const [activity, summary] of steps) await visible(page.getByText(`${activity} • ${summary}`, { exact: true }));
    // The page scrolls inside its own container (a full-page screenshot would not help): bring the whole chart on screen.
    await page.getByText('validateSpec • check the deploy spec', { exact: true }).evaluate((el) => el.scrollIntoView({ block: 'center' }));
    await shot('02-succeeded-timeline');

    // The result (the deploy status) lists each phase; maximized, the whole JSON is on screen.
    const result = page.getByTestId('input-and-result').locator(':scope > div', { has: page.getByRole('heading', { name: 'Result', exact: true }) });
    await (await visible(result.getByRole('button', { name: 'Maximize' }))).click();
    for (const phase of ['validate', 'deploy-green', 'health-check', 'switch', 'verify', 'cleanup', 'done']) {
      await visible(page.getByRole('textbox', { name: 'Result' }).getByText(`"phase": "${phase}"`));
    }
    await visible(page.getByRole('textbox', { name: 'Result' }).getByText('"outcome": "succeeded"'));
    await shot('03-succeeded-result-phases');
  });

  it('the successful run: static summary and details, current details and the GreenlightOutcome', async () => {
    await page.goto(runUrl(succeeded.runId, 'history'));
    await expectStatus('Completed');
    await expectUserMetadata({
      summary: [`Deploy ${APP}: backend=${V1.backend}, frontend=${V1.frontend}`],
      details: [`Blue/green deploy of ${APP} on router port ${BASE}.`, `Images: backend=${V1.backend}, frontend=${V1.frontend}`, `Requested by: ${REQUESTED_BY}`],
      // Current details come from the worker (a query), so they show while a worker runs.
      current: ['done', 'live: blue, target: blue, outcome: succeeded'],
    });
    await shot('04-succeeded-user-metadata');
    await expectSearchAttributes({ GreenlightApp: APP, GreenlightOutcome: 'succeeded', GreenlightPhase: 'done' });
    await visible(page.getByText(`"backend=${V1.backend}"`));
    await shot('05-succeeded-search-attributes');
  });

  it('the rolled-back run: why it rolled back, its compensation steps and GreenlightOutcome rolled-back', async () => {
    await page.goto(runUrl(rolledBack.runId, 'history'));
    await expectStatus('Failed');
    await expectUserMetadata({
      summary: [`Deploy ${APP}: backend=${UNHEALTHY.backend}, frontend=${UNHEALTHY.frontend}`],
      details: [`Images: backend=${UNHEALTHY.backend}, frontend=${UNHEALTHY.frontend}`],
      current: ['live: blue, target: green, outcome: rolled-back', 'rollback: green did not become healthy within 3000 ms'],
    });
    await shot('06-rolled-back-user-metadata');

    await openTab('Event History');
    await (await visible(page.getByTestId('compact'))).click();
    for (const summary of ['health gate of green', 'remove green']) await visible(page.getByText(summary, { exact: true }));
    await shot('07-rolled-back-history-compact');

    await expectSearchAttributes({ GreenlightApp: APP, GreenlightOutcome: 'rolled-back', GreenlightPhase: 'done' });
    await shot('08-rolled-back-search-attributes');
  });

  it('a running deploy rolled back from the UI\'s "Send a Signal" (name rollback, the reason as JSON input)', async () => {
    const handle = await startDeploy(w.client, withImages({ ...twoServiceSpec(APP, BASE), verify: { window: '5m', interval: '200ms' } }, V1), TASK_QUEUE, { requestedBy: REQUESTED_BY });
    await waitFor('the deploy to reach verify', async () => {
      const phase = (await handle.query(statusQuery)).phase;
      if (phase !== 'verify') throw new Error(`phase ${phase}`);
    }, { timeout: 60_000, interval: 100 });
    try {
      // A running workflow's page has its actions (the heading test id of a closed one is not there yet).
      // The dev server's UI (2.54) sometimes renders its own "500 Internal Error" page on the first load
      // of a running workflow (seen in 1 of 4 runs; "Try a refresh", it says): loaded again, up to 3 times.
      const actions = page.locator('button:visible', { hasText: 'More Actions' }).first();
      for (let load = 1; ; load++) {
        await page.goto(runUrl(handle.firstExecutionRunId, 'history'));
        const shown = await actions.waitFor({ state: 'visible', timeout: 20_000 }).then(() => true, () => false);
        if (shown) break;
        if (load === 3) throw new Error(`the running deploy's page showed no "More Actions" after ${load} loads`);
      }
      await actions.click();
      await (await visible(page.getByRole('menuitem', { name: 'Send a Signal' }))).click();
      const dialog = await visible(page.getByRole('dialog'));
      // The signal names the UI offers come from the workflow's own metadata: `rollback` is one.
      await dialog.locator('label[for="signal-select"] ~ button').first().click();
      const option = page.getByRole('option', { name: 'rollback', exact: true });
      await (await visible(option)).click();
      const data = await visible(dialog.locator('.cm-content'));
      await data.click();
      await page.keyboard.type('"rolled back from the Temporal UI"');
      await shot('09-send-a-signal');
      await (await visible(dialog.getByRole('button', { name: 'Submit' }))).click();
      const outcome = await awaitOutcome(handle);
      expect(outcome.exitCode).toBe(EXIT.rolledBack);
      expect(outcome.status?.rollbackReason).toBe('rolled back from the Temporal UI');
      await page.goto(runUrl(handle.firstExecutionRunId, 'history'));
      await expectStatus('Failed');
      await shot('10-rolled-back-by-signal');
    } catch (err) {
      await shot('09-send-a-signal-failed');
      throw err;
    } finally {
      // Not rolled back (the test failed before): end it with its compensation.
      if ((await handle.describe()).status.name === 'RUNNING') await handle.cancel();
      await awaitOutcome(handle).catch(() => undefined);
    }
  });
});

