/** The app monitor's spec keys and its pure state (src/monitor.ts): exact equality, no server. */
import { describe, expect, it } from 'vitest';
import { parseDeploySpec } from '../../src/config/load';
import { ConfigError } from '../../src/errors';
import { afterBake, afterBakeRollback, afterRound, baking, formatMonitor, initialMonitorStatus, previousColorSpec, type MonitorStatus } from '../../src/monitor';
import { buildNotificationBody, type NotifyFacts } from '../../src/notify';

const base = { app: 'shop', services: { web: { image: 'web:v2', port: 8080, hostPorts: { blue: 18080, green: 18081 } } } };
const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function errorOf(monitor: unknown): string {
  try {
    parseDeploySpec({ ...base, monitor });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'no error';
}

describe('monitor in the spec', () => {
  it('defaults: a round every 5 s, an alert after 3 failed rounds, no bake', () => {
    expect(parseDeploySpec({ ...base, monitor: {} }).monitor).toEqual({ interval: 5_000, alertAfter: 3, bake: 0 });
    expect(parseDeploySpec(base).monitor).toBeUndefined();
  });

  it('durations as strings or milliseconds', () => {
    expect(parseDeploySpec({ ...base, monitor: { interval: '1s', alertAfter: 2, bake: '15m' } }).monitor).toEqual({ interval: 1_000, alertAfter: 2, bake: 900_000 });
  });

  it.each([
    [{ interval: '500ms' }, 'monitor.interval: must be at least 1s'],
    [{ interval: 'often' }, 'monitor.interval'],
    [{ alertAfter: 0 }, 'monitor.alertAfter: must be a whole number from 1 to 100'],
    [{ alertAfter: 2.5 }, 'monitor.alertAfter: must be a whole number from 1 to 100'],
    [{ bake: -1 }, 'monitor.bake'],
    [{ every: '5s' }, 'monitor'],
  ])('refuses %j, naming the field', (monitor, message) => {
    expect(errorOf(monitor)).toContain(message);
  });
});

describe('the monitor state', () => {
  const spec = parseDeploySpec({ ...base, monitor: { interval: '1s', alertAfter: 3, bake: '1m' } });
  const start = initialMonitorStatus(spec, 'run-1', 'green', 'blue', T0);

  it('starts healthy, baking with the previous color kept until the bake ends', () => {
    expect(start).toEqual({
      app: 'shop',
      deployId: 'run-1',
      startedAt: iso(T0),
      color: 'green',
      health: 'baking',
      intervalMs: 1_000,
      alertAfter: 3,
      rounds: 0,
      consecutiveFailures: 0,
      healthySince: iso(T0),
      lastFailure: null,
      alerting: false,
      alertedAt: null,
      alerts: 0,
      bake: { until: iso(T0 + 60_000), previousColor: 'blue', state: 'baking' },
      rollback: null,
      lastError: null,
    });
    expect(baking(start, T0 + 59_999)).toBe(true);
    expect(baking(start, T0 + 60_000)).toBe(false);
  });

  it('no bake after a first deploy (nothing to go back to) or without monitor.bake', () => {
    expect(initialMonitorStatus(spec, 'run-1', 'blue', null, T0)).toMatchObject({ health: 'healthy', bake: null });
    const noBake = parseDeploySpec({ ...base, monitor: {} });
    expect(initialMonitorStatus(noBake, 'run-1', 'green', 'blue', T0)).toMatchObject({ health: 'healthy', bake: null, intervalMs: 5_000 });
  });

  /** Runs rounds (each a list of failures) one second apart from T0 + 1 s: the last status and every event. */
  function rounds(from: MonitorStatus, each: string[][]): { status: MonitorStatus; events: string[] } {
    let status = from;
    const events: string[] = [];
    each.forEach((failures, i) => {
      const next = afterRound(status, failures, T0 + (i + 1) * 1_000);
      status = next.status;
      events.push(...next.events.map((e) => `${i + 1}:${e}`));
    });
    return { status, events };
  }

  it('alerts on the alertAfter-th failed round in a row, once, and recovers on the first passing round', () => {
    const noBake = { ...start, bake: null, health: 'healthy' as const };
    const bad = ['web: GET http://127.0.0.1:18081/health -> HTTP 503'];
    const { status, events } = rounds(noBake, [bad, [], bad, bad, bad, bad, []]);
    expect(events).toEqual(['5:alert', '7:recovered']);
    expect(status).toEqual({ ...noBake, rounds: 7, consecutiveFailures: 0, healthySince: iso(T0 + 7_000), lastFailure: { at: iso(T0 + 6_000), detail: bad[0] }, alerting: false, alertedAt: iso(T0 + 5_000), alerts: 1, health: 'healthy' });
  });

  it('is unhealthy from the alert until the recovery', () => {
    const bad = ['web: GET http://127.0.0.1:18081/health -> timeout'];
    const { status } = rounds({ ...start, bake: null, health: 'healthy' }, [bad, bad, bad]);
    expect(status).toMatchObject({ health: 'unhealthy', alerting: true, consecutiveFailures: 3, healthySince: null, alerts: 1 });
    expect(formatMonitor(status, T0)).toEqual([`monitor: UNHEALTHY, 3 failed rounds in a row (alert after 3; 3 rounds every 1.0 s): ${bad[0]}`]);
  });

  it('during the bake the alert brings the rollback too, and every later failing round while it alerts (a refused rollback is tried again)', () => {
    const bad = ['a', 'b'];
    const { events } = rounds(start, [bad, bad, bad, bad]);
    expect(events).toEqual(['3:alert', '3:bake-rollback', '4:bake-rollback']);
  });

  it('after the bake an alert only alerts', () => {
    const late = afterRound(afterRound(afterRound(start, ['x'], T0 + 61_000).status, ['x'], T0 + 62_000).status, ['x'], T0 + 63_000);
    expect(late.events).toEqual(['alert']);
  });

  it('a bake rollback makes the previous color the live one, healthy again, the bake over', () => {
    const failing = rounds(start, [['x'], ['x'], ['x']]).status;
    expect(afterBakeRollback(failing, 'three failed rounds', T0 + 3_500)).toEqual({
      ...failing,
      color: 'blue',
      health: 'healthy',
      bake: { until: iso(T0 + 60_000), previousColor: 'blue', state: 'rolled-back' },
      rollback: { at: iso(T0 + 3_500), from: 'green', to: 'blue', reason: 'three failed rounds' },
      consecutiveFailures: 0,
      alerting: false,
      healthySince: iso(T0 + 3_500),
    });
  });

  it('the end of the bake: retired, healthy, and a warning kept when the retirement failed', () => {
    expect(afterBake(start, null)).toEqual({ ...start, health: 'healthy', bake: { ...start.bake!, state: 'retired' } });
    expect(afterBake(start, 'blue was not retired')).toMatchObject({ lastError: 'blue was not retired' });
  });

  it("status lines: health, the bake's time left", () => {
    expect(formatMonitor(start, T0 + 15_000)).toEqual(['monitor: healthy since 2026-12-03T10:00:00.000Z (green live, 0 rounds every 1.0 s)', 'bake: 45.0 s left, blue kept; an alert rolls back to it']);
  });
});

describe('previousColorSpec', () => {
  it('the spec with the previous images', () => {
    const spec = parseDeploySpec({ ...base, services: { ...base.services, api: { image: 'api:v2', port: 9090, route: '/api', hostPorts: { blue: 19090, green: 19091 } } } });
    const previous = previousColorSpec(spec, { web: 'web:v1', api: 'api:v1' })!;
    expect(Object.fromEntries(Object.entries(previous.services).map(([name, svc]) => [name, svc.image]))).toEqual({ web: 'web:v1', api: 'api:v1' });
    expect({ ...previous, services: null }).toEqual({ ...spec, services: null });
  });

  it('null when a service is new (the previous color does not run it)', () => {
    const spec = parseDeploySpec(base);
    expect(previousColorSpec(spec, {})).toBeNull();
  });
});

describe('monitor notifications', () => {
  const facts: NotifyFacts = { app: 'shop', event: 'monitor-alert', outcome: 'unhealthy', phase: 'monitor', images: { web: 'web:v2' }, previousImages: { web: 'web:v1' }, reason: 'web: GET /health -> HTTP 503', deployId: 'run-1', requestedBy: null };

  it('an alert and a recovery, with the Slack text', () => {
    expect(buildNotificationBody(facts, 'http://ui/x').text).toBe('[greenlight] shop: monitor alert: web=web:v2 is unhealthy: web: GET /health -&gt; HTTP 503 <http://ui/x|details>');
    expect(buildNotificationBody({ ...facts, event: 'monitor-recovered', outcome: 'healthy', reason: 'after 1 alert(s)' }, 'http://ui/x').text).toBe('[greenlight] shop: monitor: web=web:v2 is healthy again (after 1 alert(s)) <http://ui/x|details>');
  });
});
