/**
 * Time inside a `during` window (contract §9: with `during`, only time inside the window counts toward a
 * `missing` duration). Exact across daylight-saving changes: the window is read in site local time, so a
 * night on a DST change day is an hour shorter or longer in real time, and a window may open early when the
 * clocks jump into it.
 */
import { inWindow, localMinutes, nextBoundary } from './during.js';
import type { Window } from './schema.js';

const MINUTE = 60_000;
const DAY_MINUTES = 1440;

/**
 * The zone's UTC offset at `ts`, in minutes modulo a day: enough to tell that it changed, since a change is
 * never a whole day (zone offsets are whole minutes, so local minutes start with UTC ones).
 */
function offsetTag(ts: number, timeZone: string): number {
  const utcMinutes = Math.floor(ts / MINUTE) % DAY_MINUTES;
  return (localMinutes(ts, timeZone) - utcMinutes + 2 * DAY_MINUTES) % DAY_MINUTES;
}

/** The first whole minute in (`from`, `to`] where the offset differs from the one at `from` (`to`'s differs). */
function offsetChange(from: number, to: number, timeZone: string): number {
  const tag = offsetTag(from, timeZone);
  let lo = Math.floor(from / MINUTE);
  let hi = Math.ceil(to / MINUTE);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetTag(mid * MINUTE, timeZone) === tag) lo = mid;
    else hi = mid;
  }
  return hi * MINUTE;
}

/**
 * The first instant after `ts` at which being inside `w` changes. nextBoundary assumes the offset at `ts`
 * holds; when it changes before the guess, the clocks jump at that instant, which may itself open or close
 * the window, or move the boundary: look again from there.
 */
export function nextWindowChange(w: Window, ts: number, timeZone: string): number {
  const inside = inWindow(w, ts, timeZone);
  let t = ts;
  // A day holds at most two boundaries and a DST change or two; more steps would mean a zone we cannot read.
  for (let step = 0; step < 8; step++) {
    let next = nextBoundary(w, t, timeZone);
    if (offsetTag(next, timeZone) !== offsetTag(t, timeZone)) next = offsetChange(t, next, timeZone);
    if (inWindow(w, next, timeZone) !== inside) return next;
    t = next;
  }
  return t;
}

/** Milliseconds of [`from`, `to`) inside `w` (all of it without a window). */
export function timeInside(w: Window | undefined, from: number, to: number, timeZone: string): number {
  if (!w) return Math.max(0, to - from);
  let sum = 0;
  for (let t = from; t < to; ) {
    const next = Math.min(nextWindowChange(w, t, timeZone), to);
    if (inWindow(w, t, timeZone)) sum += next - t;
    t = next;
  }
  return sum;
}

/** The instant at which [`from`, instant) holds `ms` of time inside `w` (`from + ms` without a window). */
export function afterTimeInside(w: Window | undefined, from: number, ms: number, timeZone: string): number {
  if (!w) return from + ms;
  let left = ms;
  for (let t = from; ; ) {
    const next = nextWindowChange(w, t, timeZone);
    if (inWindow(w, t, timeZone)) {
      if (next - t >= left) return t + left;
      left -= next - t;
    }
    t = next;
  }
}
