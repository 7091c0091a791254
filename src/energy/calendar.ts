/**
 * Calendar intervals of a site's time zone (contract §13): local hours, days and months, cut with Intl so that a
 * DST change day has 23 or 25 hours and a skipped local midnight starts the day at the first instant that exists.
 * Boundaries are found by walking the range in 15-minute steps of UTC: every zone in use today is offset from UTC
 * by a whole number of quarter hours, so each local hour, day and month starts on one of those steps.
 */
import { wallClock } from '../shared/wall-clock.js';

export const INTERVALS = ['1h', '1d', '1M'] as const;
export type Interval = (typeof INTERVALS)[number];

export const QUARTER_MS = 900_000;
const HOUR_MS = 3_600_000;

/** A local calendar interval: [from, to) in epoch ms. */
export interface Span {
  from: number;
  to: number;
}

const SPAN_MS = 6 * HOUR_MS;

/**
 * A zone's offset, asked of Intl once per six hours of time walked: when the offset is the same at both ends of
 * the six hours, no DST change lies between (they are months apart), and the wall clock is plain arithmetic.
 */
class ZoneClock {
  private from = Number.NaN;
  private to = Number.NaN;
  private offset = 0;

  constructor(private readonly timeZone: string) {}

  /** Year, month (1-12), day and hour on the zone's wall clock at `ts`. */
  at(ts: number): { year: number; month: number; day: number; hour: number } {
    if (!(ts >= this.from && ts < this.to)) {
      const a = offsetMinutes(ts, this.timeZone);
      if (offsetMinutes(ts + SPAN_MS, this.timeZone) !== a) return wallClock(ts, this.timeZone);
      this.from = ts;
      this.to = ts + SPAN_MS;
      this.offset = a * 60_000;
    }
    const d = new Date(ts + this.offset);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
  }
}

const clocks = new Map<string, ZoneClock>();

function clockOf(timeZone: string): ZoneClock {
  let clock = clocks.get(timeZone);
  if (!clock) {
    clock = new ZoneClock(timeZone);
    clocks.set(timeZone, clock);
  }
  return clock;
}

/** What identifies a local hour, day or month at an instant: changes exactly at the interval's start. */
function label(ts: number, interval: Interval, timeZone: string): number {
  const c = clockOf(timeZone).at(ts);
  if (interval === '1M') return c.year * 100 + c.month;
  if (interval === '1d') return (c.year * 100 + c.month) * 100 + c.day;
  return ((c.year * 100 + c.month) * 100 + c.day) * 100 + c.hour;
}

/** The first instant of the local interval `ts` falls in. */
export function intervalStart(ts: number, interval: Interval, timeZone: string): number {
  const own = label(ts, interval, timeZone);
  let t = Math.floor(ts / QUARTER_MS) * QUARTER_MS;
  // A month holds at most 31 × 25 hours; walking back in days first keeps this cheap for 1M.
  const coarse = interval === '1h' ? QUARTER_MS : HOUR_MS;
  while (label(t - coarse, interval, timeZone) === own) t -= coarse;
  while (label(t - QUARTER_MS, interval, timeZone) === own) t -= QUARTER_MS;
  return t;
}

/**
 * The local intervals that cover [from, to): `from` and `to` are first rounded down to the start of their
 * intervals (`to` up, unless it is a start already). At least one interval.
 */
export function intervalsOf(from: number, to: number, interval: Interval, timeZone: string): Span[] {
  const start = intervalStart(from, interval, timeZone);
  const spans: Span[] = [];
  let current = start;
  let own = label(current, interval, timeZone);
  for (let t = current + QUARTER_MS; ; t += QUARTER_MS) {
    const l = label(t, interval, timeZone);
    if (l === own) continue;
    spans.push({ from: current, to: t });
    current = t;
    own = l;
    if (t >= to) break;
  }
  return spans;
}

/** The index of the span holding `ts` in sorted adjacent `spans`, or -1 outside them. */
export function spanIndex(spans: readonly Span[], ts: number): number {
  let lo = 0;
  let hi = spans.length - 1;
  if (hi < 0 || ts < spans[0].from || ts >= spans[hi].to) return -1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (spans[mid].from <= ts) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Minutes between `ts` and the UTC instant its wall clock reads as (east of UTC: positive). */
export function offsetMinutes(ts: number, timeZone: string): number {
  const c = wallClock(ts, timeZone);
  const asUtc = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  return Math.round((asUtc - Math.floor(ts / 1000) * 1000) / 60_000);
}

/**
 * The instant a clock in `timeZone` reads `minute` minutes after the local midnight that starts at `dayStart`
 * (wall time, so 05:00 is 05:00 on a DST day too). A wall time a DST change skips gives the instant after the gap.
 */
export function localMinuteAt(dayStart: number, minute: number, timeZone: string): number {
  const c = wallClock(dayStart, timeZone);
  const wall = Date.UTC(c.year, c.month - 1, c.day) + minute * 60_000;
  let guess = wall - offsetMinutes(dayStart, timeZone) * 60_000;
  guess = wall - offsetMinutes(guess, timeZone) * 60_000;
  return Math.max(guess, dayStart);
}

/** Whether the local hour starting at `ts` is a night hour (00:00–05:00, where base load is read). */
export function isNightHour(ts: number, timeZone: string): boolean {
  return clockOf(timeZone).at(ts).hour < NIGHT_END_HOUR;
}

/** Base load is read between local 00:00 and 05:00 (contract §13). */
export const NIGHT_END_HOUR = 5;
