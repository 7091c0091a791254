/**
 * Each meter's figures per closed local day (consumption and band shares per hour, power per quarter and hour),
 * kept once worked out so that a month asked again is added up from memory instead of read again from InfluxDB:
 * 1,000 meters × 30 days of 15-minute readings are 2.9 M points, which InfluxDB 1.6 takes tens of seconds to hand
 * over. A day is kept only once it is over (an hour past its end); a reading that arrives for a kept day (a late
 * one, or one replayed from a spool) drops that day and every later one of its meter, since its step changes the
 * next reading's. A change of the site's time zone or tariff drops the site's days.
 */
import type { DeviceFigures } from './compute.js';

/** How long after its end a day is taken as over: readings held back a little by a device still count. */
export const CLOSED_AFTER_MS = 3_600_000;
/** Meter-days with readings kept at most (about 1.2 KB each with hourly band shares of two bands); the meters used longest ago go first. */
export const MAX_DAYS = 60_000;

/**
 * One shared, never changed, figure per day length and tariff for the days a meter read nothing (not installed
 * yet, or silent): they cost nothing to keep and do not count towards MAX_DAYS.
 */
const EMPTY = new Map<string, DeviceFigures>();

function isEmpty(f: DeviceFigures): boolean {
  return f.consumption.every((c) => c === 0) && f.byBand.every((c) => c === 0) && f.quarters.every(Number.isNaN) && f.hours.every(Number.isNaN);
}

function shared(f: DeviceFigures): DeviceFigures {
  const key = `${f.hours.length}/${f.byBand.length}/${f.quarters.length}`;
  let e = EMPTY.get(key);
  if (!e) {
    e = f;
    EMPTY.set(key, f);
  }
  return e;
}

const weight = (f: DeviceFigures | undefined): number => (f === undefined || EMPTY.get(`${f.hours.length}/${f.byBand.length}/${f.quarters.length}`) === f ? 0 : 1);

interface MeterDays {
  days: Map<number, DeviceFigures>;
  /** The end of the latest day kept: a reading before it concerns a kept day. */
  until: number;
}

/** Closed meter-days per site, kind and device. */
export class DayCache {
  private readonly meters = new Map<string, MeterDays>();
  private readonly contexts = new Map<string, string>();
  private size = 0;

  constructor(private readonly maxDays = MAX_DAYS) {}

  /** Drops a site's days when `context` (its time zone and tariff) is not the one they were worked out under. */
  checkContext(site: string, kind: string, context: string): void {
    const key = `${site}\u0000${kind}`;
    if (this.contexts.get(key) === context) return;
    this.contexts.set(key, context);
    for (const [meter, m] of this.meters) {
      if (meter.startsWith(`${key}\u0000`)) {
        for (const f of m.days.values()) this.size -= weight(f);
        this.meters.delete(meter);
      }
    }
  }

  get(site: string, kind: string, device: string, dayFrom: number): DeviceFigures | undefined {
    return this.meters.get(meterKey(site, kind, device))?.days.get(dayFrom);
  }

  /** Keeps a closed day's figures. */
  put(site: string, kind: string, device: string, dayFrom: number, dayTo: number, figures: DeviceFigures): void {
    const key = meterKey(site, kind, device);
    let m = this.meters.get(key);
    if (m) {
      // Re-inserted: the meter used last goes to the end of the eviction order.
      this.meters.delete(key);
    } else {
      m = { days: new Map(), until: 0 };
    }
    this.meters.set(key, m);
    const kept = isEmpty(figures) ? shared(figures) : figures;
    this.size += weight(kept) - weight(m.days.get(dayFrom));
    m.days.set(dayFrom, kept);
    m.until = Math.max(m.until, dayTo);
    while (this.size > this.maxDays) this.evictOldest();
  }

  /** A reading of `device` at `ts` arrived: a kept day it falls in, and every later one, no longer hold. */
  readingArrived(site: string, kind: string, device: string, ts: number): void {
    const m = this.meters.get(meterKey(site, kind, device));
    if (!m || ts >= m.until) return;
    let until = 0;
    for (const [from, f] of m.days) {
      if (from + f.hours.length * 3_600_000 > ts) {
        m.days.delete(from);
        this.size -= weight(f);
      } else {
        until = Math.max(until, from + f.hours.length * 3_600_000);
      }
    }
    m.until = until;
  }

  /** Meter-days with readings kept. */
  get count(): number {
    return this.size;
  }

  private evictOldest(): void {
    const first = this.meters.keys().next();
    if (first.done) return;
    for (const f of this.meters.get(first.value)?.days.values() ?? []) this.size -= weight(f);
    this.meters.delete(first.value);
  }
}

function meterKey(site: string, kind: string, device: string): string {
  return `${site}\u0000${kind}\u0000${device}`;
}
