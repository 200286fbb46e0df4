/**
 * Deploy windows (`windows` in the spec): when a deploy may start. Pure and deterministic, so the
 * workflow evaluates them itself (its clock is the workflow's), and the CLI ahead of starting one:
 * given an instant and the windows, the first instant from then on at which a deploy is allowed.
 *
 * A range is a set of weekdays (`days: "mon-fri"`, `"sat,sun"`, `"fri-mon"`, `"*"`) and a time of day
 * (`hours: "09:00-17:00"`, seconds optional, `24:00` ends a day; `"22:00-06:00"` wraps past midnight
 * and belongs to the day it starts on), read on the wall clock of `timeZone` (an IANA name, through
 * `Intl`, which the workflow sandbox has). A deploy is allowed when some `allow` range matches (or
 * `allow` is empty) and no `deny` range does: deny wins.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY_S = 86_400;
/** The pattern repeats weekly: a moment not found within 8 days (DST shifts included) never comes. */
const HORIZON_MS = 8 * DAY_S * 1000;

export interface WindowRange {
  days?: string;
  hours?: string;
}

export interface DeployWindows {
  timeZone: string;
  allow: WindowRange[];
  deny: WindowRange[];
  outside: 'wait' | 'refuse';
}

type Parsed<T> = { value: T } | { error: string };

export const DAYS_HINT = 'must be weekdays such as "mon-fri", "sat,sun", "fri-mon" or "*" (every day): sun mon tue wed thu fri sat, single or as ranges, comma-separated';
export const HOURS_HINT = 'must be a time of day range such as "09:00-17:00" (24-hour clock, seconds optional as "09:00:30", "24:00" for the end of the day; "22:00-06:00" wraps past midnight)';

/** `days` to the set of weekdays it names (0 = Sunday). */
export function parseDays(text: string): Parsed<ReadonlySet<number>> {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === '*') return { value: new Set([0, 1, 2, 3, 4, 5, 6]) };
  const days = new Set<number>();
  for (const part of trimmed.split(',')) {
    const [from, to, extra] = part.trim().split('-').map((day) => WEEKDAYS.indexOf(day.trim() as (typeof WEEKDAYS)[number]));
    if (from === undefined || from < 0 || (to !== undefined && to < 0) || extra !== undefined) return { error: `"${text}" ${DAYS_HINT}` };
    // "fri-mon" wraps over the weekend.
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day);
      if (to === undefined || day === to) break;
    }
  }
  return { value: days };
}

const TIME = /^([01]\d|2[0-4]):([0-5]\d)(?::([0-5]\d))?$/;

function secondsOfDay(text: string): number | null {
  const match = TIME.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3] ?? 0);
  return seconds > DAY_S ? null : seconds;
}

/** `hours` to its start and end in seconds of the day (end 86400 for "24:00"; end < start wraps). */
export function parseHours(text: string): Parsed<{ start: number; end: number }> {
  const [from, to, extra] = text.split('-');
  const start = from === undefined ? null : secondsOfDay(from);
  const end = to === undefined ? null : secondsOfDay(to);
  if (start === null || end === null || extra !== undefined || start === DAY_S) return { error: `"${text}" ${HOURS_HINT}` };
  if (start === end) return { error: `"${text}" is empty (it starts where it ends): write "00:00-24:00" for the whole day, or leave hours out` };
  return { value: { start, end: end === 0 ? DAY_S : end } };
}

interface Range {
  days: ReadonlySet<number>;
  start: number;
  end: number;
}

function rangeOf(range: WindowRange): Range {
  const days = parseDays(range.days ?? '*');
  const hours = parseHours(range.hours ?? '00:00-24:00');
  // The schema refuses both errors first; a spec that skipped it is a bug, not a user's mistake.
  if ('error' in days) throw new Error(days.error);
  if ('error' in hours) throw new Error(hours.error);
  return { days: days.value, ...hours.value };
}

/** The wall clock of a time zone at an instant. */
export interface WallClock {
  weekday: number;
  /** Seconds since the local midnight. */
  second: number;
  /** The local date and time as if it were UTC, in whole seconds: differences of it are wall-clock differences. */
  wall: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Whether `Intl` knows the time zone (an IANA name such as "Europe/Berlin", or "UTC"). */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    formatterOf(timeZone);
    return true;
  } catch {
    return false;
  }
}

export function wallClock(timeZone: string, at: number): WallClock {
  const parts: Record<string, string> = {};
  for (const part of formatterOf(timeZone).formatToParts(new Date(at))) parts[part.type] = part.value;
  const [hour, minute, second] = [Number(parts.hour), Number(parts.minute), Number(parts.second)];
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), hour, minute, second) / 1000;
  return { weekday: WEEKDAYS.indexOf(parts.weekday!.toLowerCase() as (typeof WEEKDAYS)[number]), second: hour * 3600 + minute * 60 + second, wall };
}

function matches(range: Range, clock: WallClock): boolean {
  const { weekday, second } = clock;
  if (range.start < range.end) return range.days.has(weekday) && second >= range.start && second < range.end;
  // Wrapping past midnight: the evening of a listed day, or the morning after one.
  return (range.days.has(weekday) && second >= range.start) || (range.days.has((weekday + 6) % 7) && second < range.end);
}

function allowedOn(allow: readonly Range[], deny: readonly Range[], clock: WallClock): boolean {
  return (allow.length === 0 || allow.some((range) => matches(range, clock))) && !deny.some((range) => matches(range, clock));
}

/** Whether a deploy may start at `at` (ms since the epoch). */
export function isAllowed(windows: DeployWindows, at: number): boolean {
  return allowedOn(windows.allow.map(rangeOf), windows.deny.map(rangeOf), wallClock(windows.timeZone, at));
}

/**
 * The first instant at or after `from` (ms since the epoch) at which a deploy may start: `from` itself
 * inside a window, null when no moment of the week is allowed. Walks from boundary to boundary of the
 * ranges (and midnights) on the zone's wall clock; a boundary a DST change skips opens at the change.
 */
export function nextAllowed(windows: DeployWindows, from: number): number | null {
  const allow = windows.allow.map(rangeOf);
  const deny = windows.deny.map(rangeOf);
  const boundaries = [...new Set([...allow, ...deny].flatMap((range) => [range.start, range.end % DAY_S]).concat(DAY_S))].sort((a, b) => a - b);
  const at = (instant: number) => wallClock(windows.timeZone, instant);
  let instant = from;
  while (instant - from <= HORIZON_MS) {
    const clock = at(instant);
    if (allowedOn(allow, deny, clock)) return instant;
    const step = boundaries.find((boundary) => boundary > clock.second)! - clock.second;
    const target = clock.wall + step;
    // The boundary on the wall clock: a DST change between here and there moves it by the change.
    const naive = instant - (instant % 1000) + step * 1000;
    let next = naive + (target - at(naive).wall) * 1000;
    if (next <= instant || at(next).wall !== target) {
      // The boundary falls into a DST gap (that wall-clock time does not exist): the first second after it.
      let [low, high] = [instant - (instant % 1000), naive];
      while (high - low > 1000) {
        const middle = low + Math.floor((high - low) / 2000) * 1000;
        if (at(middle).wall >= target) high = middle;
        else low = middle;
      }
      next = high;
    }
    instant = next;
  }
  return null;
}
