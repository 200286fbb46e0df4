/**
 * Notifications (`notify:`) with stubbed activities on the local test server: each webhook hears of the
 * start and the end it asked for, a webhook that fails (at once, or on every retry until notify.timeout)
 * never fails or blocks the deploy and is a warning in the status, a rollback is told with its reason and
 * the phase it failed in, and a spec without `notify` sends nothing and marks no patch.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parseDeploySpec } from '../../src/config/load';
import { FAILURE_TYPES, PATCHES } from '../../src/names';
import type { NotifyFacts } from '../../src/notify';
import type { Route } from '../../src/types';
import { waitFor } from '../helpers/wait';
import { patchesOf, runDeploy, startLocalTestEnvironment, type CallDescriptions, type Stubs } from './stubs';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await startLocalTestEnvironment();
});
afterAll(async () => {
  await env?.teardown();
});

const BLUE_LIVE: Route = { live: 'blue', backup: null };
const DESCRIBE: CallDescriptions = { notifyWebhook: (_s: unknown, index: number, facts: NotifyFacts) => `${facts.event}#${index}` };

function deploy(notify: unknown, overrides: Stubs = {}) {
  const app = `wf-notify-${randomUUID().slice(0, 8)}`;
  const spec = parseDeploySpec({
    app,
    services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } } },
    ...(notify ? { notify } : {}),
  });
  return runDeploy(env, { spec, requestedBy: 'ci-42' }, { live: BLUE_LIVE, overrides, describe: DESCRIBE });
}

const notified = (calls: string[]) => calls.filter((c) => c.startsWith('notifyWebhook:'));

describe('notifications (workflow)', () => {
  it('tells each webhook the events it asked for, with the deploy facts; the deploy does not wait for the start', async () => {
    const sent: NotifyFacts[] = [];
    let verified = false;
    const { calls, status, history } = await deploy(
      { webhooks: [{ url: 'http://127.0.0.1:5960/a' }, { url: 'http://127.0.0.1:5960/b', events: ['rolled-back'] }] },
      {
        // The start is answered only once the deploy has verified: a deploy that waited for it would never get there.
        notifyWebhook: async (_s, _i, facts) => {
          if (facts.event === 'started') await waitFor('the deploy to verify', () => expect(verified).toBe(true), { timeout: 20_000, interval: 20 });
          sent.push(facts);
          return { status: 204 };
        },
        verify: async (_s, c) => ((verified = true), { color: c, samples: 30, errors: 0, errorRate: 0, p50Ms: 2, baselineP50Ms: 2, durationMs: 10 }),
      },
    );
    expect(status.outcome).toBe('succeeded');
    expect(notified(calls)).toEqual(['notifyWebhook:started#0', 'notifyWebhook:succeeded#0']);
    expect(sent).toEqual([
      { app: status.app, event: 'started', outcome: 'running', phase: 'validate', images: { web: 'web:v2' }, previousImages: { web: 'web:v1' }, reason: null, deployId: status.deployId, requestedBy: 'ci-42' },
      { app: status.app, event: 'succeeded', outcome: 'succeeded', phase: 'done', images: { web: 'web:v2' }, previousImages: { web: 'web:v1' }, reason: null, deployId: status.deployId, requestedBy: 'ci-42' },
    ]);
    expect(status.notifications).toEqual([
      { event: 'started', webhook: 0, delivered: true, error: null },
      { event: 'succeeded', webhook: 0, delivered: true, error: null },
    ]);
    expect(patchesOf(history)).toContain(PATCHES.notifications);
  });

  it('a webhook refused at once, and one failing every retry until notify.timeout: the deploy succeeds, each is a warning', async () => {
    const { status } = await deploy(
      { webhooks: [{ url: 'http://127.0.0.1:5961/refused' }, { url: 'http://127.0.0.1:5961/down', events: ['succeeded'] }], timeout: '2s' },
      {
        notifyWebhook: async (_s, index) => {
          if (index === 0) throw ApplicationFailure.nonRetryable('notify.webhooks[0].url: SLACK is not allowed on this worker', FAILURE_TYPES.notification);
          throw new Error('notify.webhooks[1].url (http://127.0.0.1:5961/down) could not be reached: ECONNREFUSED');
        },
      },
    );
    expect(status.outcome).toBe('succeeded');
    expect(status.notifications?.map((n) => [n.event, n.webhook, n.delivered])).toEqual([
      ['started', 0, false],
      ['succeeded', 0, false],
      ['succeeded', 1, false],
    ]);
    expect(status.notifications?.[0]?.error).toContain('SLACK is not allowed on this worker');
    expect(status.notifications?.[2]?.error).toMatch(/timed out|ECONNREFUSED/i);
  }, 60_000);

  it('a rollback is told with its reason and the phase that failed', async () => {
    const sent: NotifyFacts[] = [];
    const { calls, status, failure } = await deploy(
      { webhooks: [{ url: 'http://127.0.0.1:5962/a' }] },
      {
        notifyWebhook: async (_s, _i, facts) => (sent.push(facts), { status: 200 }),
        healthCheck: async () => {
          throw ApplicationFailure.nonRetryable('web: /health answered 500 three times', 'HealthCheckFailed');
        },
      },
    );
    expect(failure?.type).toBe(FAILURE_TYPES.rolledBack);
    expect(status.outcome).toBe('rolled-back');
    expect(notified(calls)).toEqual(['notifyWebhook:started#0', 'notifyWebhook:rolled-back#0']);
    expect(sent[1]).toMatchObject({ event: 'rolled-back', outcome: 'rolled-back', phase: 'health-check' });
    expect(sent[1]!.reason).toContain('/health answered 500');
  });

  it('a spec without notify sends nothing and marks no patch', async () => {
    const { calls, status, history } = await deploy(null);
    expect(status.outcome).toBe('succeeded');
    expect(notified(calls)).toEqual([]);
    expect(status.notifications).toBeUndefined();
    expect(patchesOf(history)).not.toContain(PATCHES.notifications);
  });
});
