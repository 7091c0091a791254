/**
 * Report periods in the gateway's time zone (TZ). A day runs from local midnight to local midnight, so a
 * DST change day lasts 23 or 25 hours; local midnights are found with Intl, never by adding 24 hours.
 */
import { wallClock } from '../shared/wall-clock.js';
import { ValidationError } from '../errors.js';

export const PERIODS = ['day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

/** A period: its first local date and the instants it covers, [from, to) in epoch ms. */
export interface PeriodRange {
  period: Period;
  /** `YYYY-MM-DD`, the first local day. */
  start: string;
  from: number;
  to: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HOUR_MS = 3_600_000;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The local calendar date and hour of an instant in `timeZone`. */
function localParts(ts: number, timeZone: string): { date: string; hour: number } {
  const c = wallClock(ts, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return { date: `${String(c.year).padStart(4, '0')}-${two(c.month)}-${two(c.day)}`, hour: c.hour };
}

/** `YYYY-MM-DD` of the local day `ts` falls in. */
export function localDate(ts: number, timeZone: string): string {
  return localParts(ts, timeZone).date;
}

/** The local hour (0..23) `ts` falls in. */
export function localHour(ts: number, timeZone: string): number {
  return localParts(ts, timeZone).hour;
}

/**
 * The first instant of local date `date`: the smallest epoch ms whose local date is `date` or later.
 * Zone offsets lie within ±15 hours of UTC, so it is found by bisection around UTC midnight; this also
 * gives the right answer where a DST change skips midnight itself (the day then starts at 01:00).
 */
export function startOfLocalDay(date: string, timeZone: string): number {
  const utcMidnight = Date.parse(`${date}T00:00:00Z`);
  let lo = utcMidnight - 15 * HOUR_MS;
  let hi = utcMidnight + 15 * HOUR_MS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (localDate(mid, timeZone) >= date) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The first instant of local hour `hour` (0..23) of local date `date`: the smallest epoch ms whose local date and
 * hour are that or later, found by bisection as in startOfLocalDay (an hour a DST change skips starts with the next).
 */
export function startOfLocalHour(date: string, hour: number, timeZone: string): number {
  const hh = String(hour).padStart(2, '0');
  const target = `${date} ${hh}`;
  const utc = Date.parse(`${date}T${hh}:00:00Z`);
  let lo = utc - 15 * HOUR_MS;
  let hi = utc + 15 * HOUR_MS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const p = localParts(mid, timeZone);
    if (`${p.date} ${String(p.hour).padStart(2, '0')}` >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** The calendar date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`) + days * 24 * HOUR_MS;
  return new Date(ms).toISOString().slice(0, 10);
}

/** The first day of the month after `date`'s month. */
function nextMonth(date: string): string {
  const [y, m] = date.split('-').map(Number);
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
}

/** 0 for Sunday .. 6 for Saturday. */
function weekday(date: string): number {
  return new Date(`${date}T00:00:00Z`).getUTCDay();
}

/** True for a real calendar date written `YYYY-MM-DD` (no 2025-02-30). */
export function isDate(text: string): boolean {
  const m = DATE_RE.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

/**
 * The period of `period` starting on local date `start`. A week starts on a Monday and a month on the 1st;
 * anything else is a ValidationError naming `start`.
 */
export function periodRange(period: Period, start: string, timeZone: string): PeriodRange {
  if (!isDate(start)) throw new ValidationError('start', `${JSON.stringify(start)} is not a date (YYYY-MM-DD)`);
  let end: string;
  if (period === 'day') {
    end = addDays(start, 1);
  } else if (period === 'week') {
    if (weekday(start) !== 1) throw new ValidationError('start', `a week starts on a Monday; ${start} is a ${WEEKDAYS[weekday(start)]}`);
    end = addDays(start, 7);
  } else {
    if (!start.endsWith('-01')) throw new ValidationError('start', `a month starts on the 1st; ${start} is not`);
    end = nextMonth(start);
  }
  return { period, start, from: startOfLocalDay(start, timeZone), to: startOfLocalDay(end, timeZone) };
}

/** The first local date of the period of kind `period` that `now` falls in. */
export function currentPeriodStart(period: Period, now: number, timeZone: string): string {
  const today = localDate(now, timeZone);
  if (period === 'day') return today;
  if (period === 'week') return addDays(today, -((weekday(today) + 6) % 7));
  return `${today.slice(0, 8)}01`;
}

/** The first day of the local month before the one `now` falls in. */
export function previousMonthStart(now: number, timeZone: string): string {
  const thisMonth = currentPeriodStart('month', now, timeZone);
  return currentPeriodStart('month', startOfLocalDay(thisMonth, timeZone) - 1, timeZone);
}
