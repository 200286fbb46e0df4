import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainDeploy, failingEndpointsOf, formatExplanation, ruleOf, type ExplainInput, type OperatorRequest } from '../../src/explain';
import type { DeployStatus } from '../../src/types';

interface RecordedEvent {
  eventType: string;
  eventTime: string;
  workflowExecutionFailedEventAttributes?: { failure: { message: string; applicationFailureInfo?: { details?: { payloads: Array<{ data: string }> } } } };
  workflowExecutionCompletedEventAttributes?: { result: { payloads: Array<{ data: string }> } };
  workflowExecutionUpdateAcceptedEventAttributes?: { acceptedRequest: { meta: { identity: string }; input: { name: string } } };
  workflowExecutionSignaledEventAttributes?: { signalName: string; identity: string };
}

const decode = (data: string) => JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as DeployStatus;

/** What the command reads from Temporal, taken from a recorded history (test/histories). */
function recorded(name: string): ExplainInput {
  const { events } = JSON.parse(readFileSync(join(__dirname, '../histories', `${name}.json`), 'utf8')) as { events: RecordedEvent[] };
  const last = events.at(-1)!;
  const failed = last.workflowExecutionFailedEventAttributes;
  const completed = last.workflowExecutionCompletedEventAttributes;
  const payload = failed?.failure.applicationFailureInfo?.details?.payloads[0] ?? completed?.result.payloads[0];
  let operator: OperatorRequest | null = null;
  for (const e of events) {
    const update = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest;
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (update?.input.name === 'rollback') operator ??= { via: 'update', identity: update.meta.identity, at: e.eventTime };
    if (signal?.signalName === 'rollback') operator ??= { via: 'signal', identity: signal.identity, at: e.eventTime };
  }
  return { app: 'e2e-shop', runId: 'r1', workflowStatus: failed ? 'FAILED' : 'COMPLETED', status: payload ? decode(payload.data) : null, failureMessage: failed?.failure.message ?? null, operator };
}

describe('explain: decoding a recorded rollback', () => {
  it('auto-rollback: the verify rule, its threshold and the failing endpoint', () => {
    const e = explainDeploy(recorded('auto-rollback'));
    expect(e).toMatchObject({ verdict: 'rolled-back', phase: 'verify', rule: 'verify.maxErrorRate', failingEndpoints: [{ service: 'backend', request: 'GET http://127.0.0.1:4110/api/items', result: 'HTTP 500' }] });
    expect(formatExplanation(e)).toEqual([
      'e2e-shop (run r1): rolled back in verify',
      '  decision: blue error rate 9.5 % over 21 probes exceeds 1.0 % (verify.maxErrorRate): backend: GET http://127.0.0.1:4110/api/items -> HTTP 500',
      '  rule: verify.maxErrorRate',
      '  failing: backend GET http://127.0.0.1:4110/api/items -> HTTP 500',
    ]);
  });

  it('health-failure: health.deadline, both endpoints, no container log lines', () => {
    const e = explainDeploy(recorded('health-failure'));
    expect(e.rule).toBe('health.deadline');
    expect(e.phase).toBe('health-check');
    expect(e.failingEndpoints.map((f) => `${f.request} ${f.result}`)).toEqual(['GET http://127.0.0.1:4110/api/health HTTP 503', 'GET http://127.0.0.1:4110/api/health/detailed HTTP 503']);
    expect(formatExplanation(e).join('\n')).not.toContain('last log lines');
  });

  it('success: says so, with the verify figures it passed with', () => {
    const lines = formatExplanation(explainDeploy(recorded('success')));
    expect(lines[0]).toBe('e2e-shop (run r1): succeeded, all verify rules held');
    expect(lines[1]).toBe('  verify of green over 3.0 s: error rate 0.0 % (0 of 203 probes), median latency 7 ms vs 8 ms baseline');
  });

  it('success, then a bake rollback by its monitor: the monitor\'s rule, reason and failing endpoints, when and which way', () => {
    const reason = '3 failed rounds in a row during the bake: web-2: web: GET http://127.0.0.1:4942/api/health -> timeout of 1000ms exceeded; web-2: web: GET http://127.0.0.1:4912/health/green/web -> HTTP 504';
    const e = explainDeploy({ ...recorded('success'), bakeRollback: { at: '2026-12-04T19:00:00.000Z', from: 'green', to: 'blue', reason } });
    expect(e).toMatchObject({ verdict: 'bake-rollback', phase: 'bake', rule: 'monitor.alertAfter', decision: reason, bakeRollback: { at: '2026-12-04T19:00:00.000Z', from: 'green', to: 'blue' } });
    expect(formatExplanation(e)).toEqual([
      'e2e-shop (run r1): succeeded, then rolled back by its monitor during the bake at 2026-12-04T19:00:00.000Z: green -> blue',
      `  decision: ${reason}`,
      '  rule: monitor.alertAfter',
      '  failing: web GET http://127.0.0.1:4942/api/health -> timeout of 1000ms exceeded',
      '  failing: web GET http://127.0.0.1:4912/health/green/web -> HTTP 504',
      '  verify of green over 3.0 s: error rate 0.0 % (0 of 203 probes), median latency 7 ms vs 8 ms baseline',
    ]);
    // Without one (none happened, or the deploy had no bake) it is the plain success.
    expect(explainDeploy({ ...recorded('success'), bakeRollback: null })).toMatchObject({ verdict: 'succeeded', rule: null, bakeRollback: null });
  });

  it.each([
    ['manual-rollback', 'update', 'greenlight rollback', 'e2e: operator rollback'],
    ['rollback-signal', 'signal', 'rollback signal', 'e2e: checkout errors'],
  ])('%s: the operator, how and why', (name, via, how, reason) => {
    const e = explainDeploy(recorded(name));
    expect(e.verdict).toBe('operator-rollback');
    expect(e.operator?.via).toBe(via);
    expect(e.rule).toBeNull();
    const lines = formatExplanation(e);
    expect(lines[0]).toContain(`by ${e.operator!.identity} (${how} at `);
    expect(lines[1]).toBe(`  reason: ${reason}`);
  });

  it('validation-failure: nothing was changed', () => {
    const e = explainDeploy(recorded('validation-failure'));
    expect(e.verdict).toBe('validation-failed');
    expect(formatExplanation(e)[0]).toBe('e2e-shop (run r1): validation failed, nothing was changed');
  });
});

describe('explain: cases no recorded history covers', () => {
  const base = explainDeploy(recorded('auto-rollback'));
  const status = recorded('auto-rollback').status!;

  it('compensation failed: the decision and what compensation hit', () => {
    const e = explainDeploy({ ...recorded('auto-rollback'), status: { ...status, outcome: 'compensation-failed', lastError: `compensation did not finish: switchBack: nginx -t rejected the config (after: ${base.decision})`, failureType: 'RouterConfigRejected' } });
    expect(formatExplanation(e).slice(0, 3)).toEqual([
      'e2e-shop (run r1): rolled back in verify, but compensation failed: an operator must look',
      `  decision: ${base.decision}`,
      '  compensation: switchBack: nginx -t rejected the config',
    ]);
  });

  it('still running: the phase and what it waits for', () => {
    const e = explainDeploy({ app: 'shop', runId: 'r2', workflowStatus: 'RUNNING', status: { ...status, outcome: 'running', phase: 'promotion-gate', waitingFor: 'greenlight promote shop', rollbackReason: null }, failureMessage: null, operator: null });
    expect(formatExplanation(e)).toEqual(['shop (run r2): still running, phase promotion-gate (waiting for greenlight promote shop)']);
  });

  it('a time limit (no update or signal in the history) is not called an operator rollback', () => {
    const e = explainDeploy({ ...recorded('auto-rollback'), status: { ...status, failureType: null, lastError: null, rollbackReason: 'the deploy took longer than its timeout (10 m)' } });
    expect(e.verdict).toBe('rolled-back');
    expect(formatExplanation(e)[1]).toBe('  decision: the deploy took longer than its timeout (10 m)');
  });

  it('an operator signal during the compensation of a failed verify does not take the decision over', () => {
    const e = explainDeploy({ ...recorded('auto-rollback'), operator: { via: 'signal', identity: 'temporal-cli:root@vm', at: null } });
    expect(e).toMatchObject({ verdict: 'rolled-back', rule: 'verify.maxErrorRate', operator: null });
  });

  it('real traffic figures, when verify recorded them', () => {
    const e = explainDeploy({ ...recorded('success'), status: { ...recorded('success').status!, verify: { color: 'blue', samples: 27, errors: 0, errorRate: 0, p50Ms: 5, baselineP50Ms: 6, durationMs: 5000, realTraffic: { requests: 120, errors5xx: 2, upstreamErrors: 1, errorRate: 2 / 120, p50Ms: 10, p95Ms: 50, baselineRequests: 900, baselineP50Ms: 10, baselineP95Ms: 25 } } } });
    expect(formatExplanation(e).at(-1)).toBe('  real traffic: 120 requests, 2 5xx (1.7 %), 1 upstream errors, p50 ≤ 10 ms p95 ≤ 50 ms vs previous color 900 requests p50 ≤ 10 ms p95 ≤ 25 ms');
  });

  it.each([
    ['blue error rate 14.8 % over 27 probes exceeds 1.0 % (verify.maxErrorRate): web: GET http://h/ -> HTTP 502', 'verify.maxErrorRate'],
    ['blue median latency 400 ms is 390 ms over the pre-switch baseline 10 ms (verify.maxLatencyIncreaseMs 100)', 'verify.maxLatencyIncreaseMs'],
    ['blue failed its health checks 3 rounds in a row (verify.maxConsecutiveHealthFailures): web: GET http://h/health -> timeout', 'verify.maxConsecutiveHealthFailures'],
    ["blue real traffic: p95 latency over 500 ms (nginx's 500-1000 ms bucket) is more than verify.maxLatencyIncreaseMs 100 over the previous color's ≤ 25 ms (200 requests vs 900)", 'verify.maxLatencyIncreaseMs'],
    ['e2e: operator rollback', null],
  ])('ruleOf(%s)', (message, rule) => {
    expect(ruleOf(message)).toBe(rule);
  });

  it('failingEndpointsOf reads every endpoint of a rule message', () => {
    expect(failingEndpointsOf('web: GET http://h/ -> HTTP 502; api: GET http://h/api -> timeout after 2000 ms')).toEqual([
      { service: 'web', request: 'GET http://h/', result: 'HTTP 502' },
      { service: 'api', request: 'GET http://h/api', result: 'timeout after 2000 ms' },
    ]);
  });
});
