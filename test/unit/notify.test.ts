import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNotifyActivities } from '../../activities/notify';
import { parseDeploySpec } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { buildNotificationBody, resolveUrl, temporalUiLink, urlSecretNames, type NotifyFacts } from '../../src/notify';

const LINK = 'http://127.0.0.1:8233/namespaces/default/workflows/deploy-shop/run-1/history';
const facts = (over: Partial<NotifyFacts>): NotifyFacts => ({
  app: 'shop',
  event: 'started',
  outcome: 'running',
  phase: 'validate',
  images: { web: 'shop:v2' },
  previousImages: { web: 'shop:v1' },
  reason: null,
  deployId: 'run-1',
  requestedBy: 'alice',
  ...over,
});

describe('temporalUiLink', () => {
  it('names the namespace, workflow and run, without a doubled slash', () => {
    expect(temporalUiLink('http://127.0.0.1:8233/', 'default', 'deploy-shop', 'run-1')).toBe(LINK);
  });
});

describe('buildNotificationBody', () => {
  it.each([
    [{}, '[greenlight] shop: deploy started: web=shop:v2 (live: web=shop:v1), by alice <LINK|details>'],
    [{ event: 'succeeded', outcome: 'succeeded', phase: 'done' }, '[greenlight] shop: deploy succeeded: web=shop:v2 is live <LINK|details>'],
    [{ event: 'rolled-back', outcome: 'rolled-back', phase: 'verify', reason: 'error rate 14 % > 1 % <x&y>' }, '[greenlight] shop: deploy rolled back in verify: error rate 14 % &gt; 1 % &lt;x&amp;y&gt;; web=shop:v1 stays live <LINK|details>'],
    [{ event: 'compensation-failed', outcome: 'compensation-failed', phase: 'switch', reason: 'nginx down' }, '[greenlight] shop: rollback did not finish (compensation failed) in switch: nginx down; run `greenlight status shop` <LINK|details>'],
  ] as Array<[Partial<NotifyFacts>, string]>)('%o', (over, text) => {
    const f = facts(over);
    expect(buildNotificationBody(f, LINK)).toEqual({ ...f, link: LINK, text: text.replace('LINK', LINK) });
  });
});

describe('webhook URLs with secret parts', () => {
  it('names each ${NAME} once and fills in values (URL-encoded), leaving unknown names as written', () => {
    const url = 'https://hooks.example.com/services/${SLACK_PATH}?token=${TOKEN}&again=${SLACK_PATH}';
    expect(urlSecretNames(url)).toEqual(['SLACK_PATH', 'TOKEN']);
    expect(resolveUrl(url, { SLACK_PATH: 'T1/B2/x y' })).toBe('https://hooks.example.com/services/T1%2FB2%2Fx%20y?token=${TOKEN}&again=T1%2FB2%2Fx%20y');
    expect(urlSecretNames('http://127.0.0.1:5960/hook')).toEqual([]);
  });
});

describe('notify in the spec', () => {
  const base = { app: 'shop', services: { web: { image: 'web:v1', port: 8080, hostPorts: { blue: 18080, green: 18081 } } } };
  const errorOf = (notify: unknown): string => {
    try {
      parseDeploySpec({ ...base, notify });
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    return 'no error';
  };

  it('defaults: every deploy and monitor event, 30 s per notification', () => {
    const spec = parseDeploySpec({ ...base, notify: { webhooks: [{ url: 'https://hooks.example.com/${HOOK_PATH}' }] } });
    expect(spec.notify).toEqual({ webhooks: [{ url: 'https://hooks.example.com/${HOOK_PATH}', events: ['started', 'succeeded', 'rolled-back', 'compensation-failed', 'monitor-alert', 'monitor-recovered'] }], timeout: 30_000 });
  });

  it.each([
    [{ webhooks: [] }, 'notify.webhooks: needs at least one webhook'],
    [{ webhooks: [{ url: 'ftp://example.com/x' }] }, 'notify.webhooks.0.url: must be an http(s) URL'],
    [{ webhooks: [{ url: 'not a url' }] }, 'notify.webhooks.0.url: must be an http(s) URL'],
    [{ webhooks: [{ url: 'https://example.com', events: ['deployed'] }] }, 'notify.webhooks.0.events.0: must be one of started, succeeded, rolled-back, compensation-failed'],
    [{ webhooks: [{ url: 'https://example.com', events: [] }] }, 'notify.webhooks.0.events: must not be empty'],
    [{ webhooks: [{ url: 'https://example.com', secret: 'x' }] }, 'notify.webhooks.0'],
  ])('%o is refused naming the field', (notify, message) => {
    expect(errorOf(notify)).toContain(message);
  });
});

describe('notifyWebhook (activity, against a local receiver)', () => {
  const received: Array<{ url: string; body: Record<string, unknown> }> = [];
  let answer = 204;
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (chunk) => (data += chunk));
      req.on('end', () => {
        received.push({ url: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const SECRET = 'T0/B1/very-secret-path';
  const activity = () => createNotifyActivities({ secrets: { allowed: new Map([['HOOK_PATH', SECRET]]) }, uiUrl: 'http://ui.example:8233' });
  const spec = (url: string) => parseDeploySpec({ app: 'shop', services: { web: { image: 'web:v1', port: 8080, hostPorts: { blue: 18080, green: 18081 } } }, notify: { webhooks: [{ url }] } });
  const run = (url: string) => new MockActivityEnvironment({ workflowExecution: { workflowId: 'deploy-shop', runId: 'run-1' } }).run(activity().notifyWebhook, spec(url), 0, facts({}));

  it('POSTs the body with its UI link to the URL with its secret filled in', async () => {
    received.length = 0;
    answer = 204;
    await expect(run(`http://127.0.0.1:${port}/hooks/\${HOOK_PATH}`)).resolves.toEqual({ status: 204 });
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe(`/hooks/${encodeURIComponent(SECRET)}`);
    expect(received[0]!.body).toMatchObject({ app: 'shop', event: 'started', link: 'http://ui.example:8233/namespaces/default/workflows/deploy-shop/run-1/history' });
  });

  it('a non-2xx answer or an unreachable receiver is an error naming the URL as written (never the secret)', async () => {
    answer = 500;
    const failed = await run(`http://127.0.0.1:${port}/hooks/\${HOOK_PATH}`).catch((err: Error) => err.message);
    expect(failed).toBe(`notify.webhooks[0].url (http://127.0.0.1:${port}/hooks/\${HOOK_PATH}) answered HTTP 500`);
    const down = await run('http://127.0.0.1:1/hooks/${HOOK_PATH}').catch((err: Error) => err.message);
    expect(down).toBe('notify.webhooks[0].url (http://127.0.0.1:1/hooks/${HOOK_PATH}) could not be reached: ECONNREFUSED');
  });

  it('a secret the worker does not allow is refused for good (not retried), naming the field and the fix', async () => {
    const err: ApplicationFailure = await run(`http://127.0.0.1:${port}/\${OTHER}`).then(() => { throw new Error('refused, not sent'); }, (e: unknown) => e as ApplicationFailure);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toBe('notify.webhooks[0].url: OTHER is not allowed on this worker: add it to GREENLIGHT_SECRETS on the worker (or to its GREENLIGHT_SECRETS_FILE)');
  });
});
