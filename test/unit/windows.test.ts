/** Deploy windows: the pure evaluator (src/config/windows.ts) by exact equality, and the schema's errors. */
import { describe, expect, it } from 'vitest';
import { shopSpec } from '../../harness/specs';
import { parseDeploySpec } from '../../src/config/load';
import { isAllowed, nextAllowed, parseDays, parseHours, type DeployWindows } from '../../src/config/windows';
import { ConfigError } from '../../src/errors';

const windows = (over: Partial<DeployWindows>): DeployWindows => ({ timeZone: 'UTC', allow: [], deny: [], outside: 'wait', ...over });
const at = (iso: string) => Date.parse(iso);
const next = (w: Partial<DeployWindows>, from: string): string | null => {
  const opens = nextAllowed(windows(w), at(from));
  return opens === null ? null : new Date(opens).toISOString();
};

const OFFICE = { days: 'mon-fri', hours: '09:00-17:00' };

describe('parseDays and parseHours', () => {
  it.each<[string, number[]]>([
    ['mon-fri', [1, 2, 3, 4, 5]],
    ['sat,sun', [0, 6]],
    ['fri-mon', [0, 1, 5, 6]],
    ['*', [0, 1, 2, 3, 4, 5, 6]],
    ['Tue', [2]],
    ['mon-wed, fri', [1, 2, 3, 5]],
  ])('days %j', (text, days) => {
    const parsed = parseDays(text);
    expect('value' in parsed && [...parsed.value].sort()).toEqual(days);
  });

  it.each(['weekdays', 'mon-', 'mon-fri-sun', '', 'monday'])('refuses days %j', (text) => {
    expect(parseDays(text)).toEqual({ error: expect.stringContaining(`"${text}" must be weekdays such as "mon-fri"`) });
  });

  it.each<[string, { start: number; end: number }]>([
    ['09:00-17:00', { start: 32_400, end: 61_200 }],
    ['22:00-06:00', { start: 79_200, end: 21_600 }],
    ['18:00-24:00', { start: 64_800, end: 86_400 }],
    ['18:00-00:00', { start: 64_800, end: 86_400 }],
    ['12:00:30-12:01:00', { start: 43_230, end: 43_260 }],
  ])('hours %j', (text, value) => {
    expect(parseHours(text)).toEqual({ value });
  });

  it.each(['9-17', '09:00', '25:00-26:00', '09:60-10:00', '24:00-06:00', '24:01-06:00', '09:00-10:00-11:00'])('refuses hours %j', (text) => {
    expect(parseHours(text)).toEqual({ error: expect.stringContaining(`"${text}" must be a time of day range`) });
  });

  it('refuses an empty range (start = end)', () => {
    expect(parseHours('10:00-10:00')).toEqual({ error: expect.stringContaining('is empty') });
  });
});

describe('nextAllowed', () => {
  it.each<[string, Partial<DeployWindows>, string, string | null]>([
    ['inside a window: now', { allow: [OFFICE] }, '2026-12-03T11:12:13.456Z', '2026-12-03T11:12:13.456Z'],
    ['before it opens: the same morning', { allow: [OFFICE] }, '2026-12-03T06:30:00.250Z', '2026-12-03T09:00:00.000Z'],
    ['its end is outside', { allow: [OFFICE] }, '2026-12-03T17:00:00Z', '2026-12-04T09:00:00.000Z'],
    ['Saturday: Monday morning', { allow: [OFFICE] }, '2026-12-05T10:00:00Z', '2026-12-07T09:00:00.000Z'],
    ['deny wins over allow', { allow: [OFFICE], deny: [{ days: 'fri', hours: '12:00-24:00' }] }, '2026-12-04T13:00:00Z', '2026-12-07T09:00:00.000Z'],
    ['deny only: after the freeze', { deny: [{ days: 'wed-thu' }] }, '2026-12-02T08:00:00Z', '2026-12-04T00:00:00.000Z'],
    ['wrap-around hours: from the evening of the day listed', { allow: [{ days: 'fri', hours: '22:00-06:00' }] }, '2026-12-04T21:59:59Z', '2026-12-04T22:00:00.000Z'],
    ['wrap-around hours: into the next morning', { allow: [{ days: 'fri', hours: '22:00-06:00' }] }, '2026-12-05T05:59:59Z', '2026-12-05T05:59:59.000Z'],
    ['wrap-around hours: not the morning of the day listed', { allow: [{ days: 'fri', hours: '22:00-06:00' }] }, '2026-12-04T03:00:00Z', '2026-12-04T22:00:00.000Z'],
    ['wrap-around days: fri-mon on a Tuesday', { allow: [{ days: 'fri-mon' }] }, '2026-12-01T12:00:00Z', '2026-12-04T00:00:00.000Z'],
    ['a wrapped deny inside a wrapped allow', { allow: [{ days: 'fri', hours: '22:00-06:00' }], deny: [{ hours: '23:00-01:00' }] }, '2026-12-04T23:30:00Z', '2026-12-05T01:00:00.000Z'],
    ['seconds in a range', { allow: [{ hours: '12:00:30-12:01:00' }] }, '2026-12-03T12:00:00Z', '2026-12-03T12:00:30.000Z'],
    ['a zone: 09:00 in New York is 14:00 UTC (EST)', { timeZone: 'America/New_York', allow: [OFFICE] }, '2026-12-03T13:00:00Z', '2026-12-03T14:00:00.000Z'],
    ['a zone: its own weekday (Friday evening in Tokyo is Saturday)', { timeZone: 'Asia/Tokyo', allow: [OFFICE] }, '2026-12-04T09:00:00Z', '2026-12-07T00:00:00.000Z'],
    ['DST forward: 03:30 CEST, past the skipped hour', { timeZone: 'Europe/Berlin', allow: [{ hours: '03:30-04:00' }] }, '2026-03-28T23:50:00Z', '2026-03-29T01:30:00.000Z'],
    ['DST forward: a start in the skipped hour opens at the change', { timeZone: 'Europe/Berlin', allow: [{ hours: '02:30-04:00' }] }, '2026-03-29T00:00:00Z', '2026-03-29T01:00:00.000Z'],
    ['DST back: 03:00 CET, after the repeated hour', { timeZone: 'Europe/Berlin', allow: [{ hours: '03:00-04:00' }] }, '2026-10-24T23:00:00Z', '2026-10-25T02:00:00.000Z'],
    ['DST back: the first 02:30 of the repeated hour', { timeZone: 'Europe/Berlin', allow: [{ hours: '02:30-04:00' }] }, '2026-10-24T23:00:00Z', '2026-10-25T00:30:00.000Z'],
    ['never: deny covers the week', { allow: [OFFICE], deny: [{ days: 'mon-fri' }] }, '2026-12-03T12:00:00Z', null],
  ])('%s', (_what, w, from, expected) => {
    expect(next(w, from)).toBe(expected);
  });

  it('is allowed exactly where nextAllowed answers now, over a week of minutes', () => {
    const w = windows({ timeZone: 'Europe/Berlin', allow: [OFFICE, { days: 'sat', hours: '22:00-02:00' }], deny: [{ days: 'wed', hours: '12:00-13:30' }] });
    const start = at('2026-10-21T00:00:00Z');
    for (let minute = 0; minute < 7 * 24 * 60; minute += 7) {
      const instant = start + minute * 60_000;
      const opens = nextAllowed(w, instant)!;
      expect(opens >= instant).toBe(true);
      expect(isAllowed(w, opens)).toBe(true);
      expect(opens === instant).toBe(isAllowed(w, instant));
      // Nothing allowed in between: one second before is outside (unless it is the start itself).
      if (opens > instant) expect(isAllowed(w, opens - 1000)).toBe(false);
    }
  });
});

describe('windows in the spec', () => {
  const spec = (windowsSpec: unknown) => ({ ...shopSpec(), windows: windowsSpec });
  const issues = (windowsSpec: unknown): string[] => {
    try {
      parseDeploySpec(spec(windowsSpec));
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).issues;
    }
    return [];
  };

  it('defaults: UTC, wait, no deny; the ranges as written', () => {
    expect(parseDeploySpec(spec({ allow: [OFFICE] })).windows).toEqual({ timeZone: 'UTC', allow: [OFFICE], deny: [], outside: 'wait' });
  });

  it('a parsed spec parses again to itself (the worker checks the workflow\'s copy)', () => {
    const parsed = parseDeploySpec(spec({ timeZone: 'Europe/Berlin', deny: [{ days: 'fri', hours: '15:00-24:00' }], outside: 'refuse' }));
    expect(parseDeploySpec(parsed)).toEqual(parsed);
  });

  it.each<[string, unknown, string[]]>([
    ['no ranges', {}, ['windows: needs `allow` or `deny` ranges, e.g. allow: [{ days: "mon-fri", hours: "09:00-17:00" }]; leave `windows` out to deploy at any time']],
    ['an unknown zone', { timeZone: 'Mars/Olympus', allow: [OFFICE] }, ['windows.timeZone: unknown time zone "Mars/Olympus": use an IANA name such as "Europe/Berlin", "America/New_York" or "UTC"']],
    ['bad days', { allow: [{ days: 'weekdays' }] }, [expect.stringMatching(/^windows\.allow\.0\.days: "weekdays" must be weekdays such as "mon-fri"/)]],
    ['bad hours', { deny: [{ hours: '9-17' }] }, [expect.stringMatching(/^windows\.deny\.0\.hours: "9-17" must be a time of day range such as "09:00-17:00"/)]],
    ['an empty range', { allow: [{ hours: '10:00-10:00' }] }, [expect.stringMatching(/^windows\.allow\.0\.hours: "10:00-10:00" is empty/)]],
    ['an unknown key', { allow: [{ day: 'mon' }] }, ['windows.allow.0.day: unknown key: remove it or check its spelling']],
    ['a bad outside', { allow: [OFFICE], outside: 'skip' }, ['windows.outside: must be wait or refuse']],
    ['ranges not a list', { allow: OFFICE }, ['windows.allow: must be a list of ranges such as [{ days: "mon-fri", hours: "09:00-17:00" }]']],
    ['windows that never open', { allow: [OFFICE], deny: [{ days: 'mon-fri' }] }, ['windows.deny: covers every allowed moment of the week: no deploy could ever start; narrow deny or widen allow']],
  ])('%s', (_what, windowsSpec, expected) => {
    expect(issues(windowsSpec)).toEqual(expected);
  });
});
