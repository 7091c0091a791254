/** Hour slots in site local time for the `anomaly` baselines (contract §13), cheap enough to run per reading. */
import type { AnomalyBy } from '../schema.js';
import { localMinutes } from '../during.js';

const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const DAY_MINUTES = 1440;

/** The zone's UTC offset in minutes, per quarter hour (offsets change on quarter hours at the latest). */
const offsets = new Map<string, Map<number, number>>();

function offsetMinutes(ts: number, timeZone: string): number {
  let byQuarter = offsets.get(timeZone);
  if (!byQuarter) offsets.set(timeZone, (byQuarter = new Map()));
  const q = Math.floor(ts / QUARTER);
  let off = byQuarter.get(q);
  if (off === undefined) {
    const utc = ((Math.floor((q * QUARTER) / MINUTE) % DAY_MINUTES) + DAY_MINUTES) % DAY_MINUTES;
    off = (localMinutes(q * QUARTER, timeZone) - utc + 2 * DAY_MINUTES) % DAY_MINUTES;
    if (off > 840) off -= DAY_MINUTES;
    if (byQuarter.size > 20_000) byQuarter.clear();
    byQuarter.set(q, off);
  }
  return off;
}

/** The slot of `ts` and the period it falls in (local days since 1970-01-01, or local weeks from a Monday). */
export function localSlot(ts: number, timeZone: string, by: AnomalyBy): { slot: number; period: number } {
  const local = ts + offsetMinutes(ts, timeZone) * MINUTE;
  const day = Math.floor(local / 86_400_000);
  const hour = Math.floor((local - day * 86_400_000) / 3_600_000);
  if (by === 'hourOfDay') return { slot: hour, period: day };
  if (by === 'none') return { slot: 0, period: day };
  // 1970-01-01 was a Thursday: Monday is 0.
  const weekday = (((day + 3) % 7) + 7) % 7;
  return { slot: weekday * 24 + hour, period: Math.floor((day + 3) / 7) };
}
