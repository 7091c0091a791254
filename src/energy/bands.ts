/**
 * The tariff's time-of-use bands laid on the time line of a range, and a consumption step shared among them.
 * A step (the difference between two readings) that spans a band edge is split by time: each band gets the
 * share of the step's duration that falls in it, as if the power had been steady between the two readings,
 * which is the best the two readings say.
 */
import { minuteOfDay, type Tariff } from '../sites/tariff.js';
import { intervalsOf, localMinuteAt, type Span } from './calendar.js';

const MINUTES_A_DAY = 1440;

/** A stretch of time priced by one band (`band` indexes `tariff.energy`). */
export interface BandSpan extends Span {
  band: number;
}

/** The index of the band holding `minute` (0..1439) of the local day. */
export function bandIndexAt(tariff: Tariff, minute: number): number {
  return tariff.energy.findIndex((b) => {
    const from = minuteOfDay(b.from) % MINUTES_A_DAY;
    const to = minuteOfDay(b.to);
    return from < to ? minute >= from && minute < to : minute >= from || minute < to % MINUTES_A_DAY;
  });
}

/** The bands over the local days that cover [from, to), in time order, adjacent. */
export function bandTimeline(from: number, to: number, tariff: Tariff, timeZone: string): BandSpan[] {
  const edges = new Set<number>([0]);
  for (const b of tariff.energy) {
    edges.add(minuteOfDay(b.from) % MINUTES_A_DAY);
    edges.add(minuteOfDay(b.to) % MINUTES_A_DAY);
  }
  const minutes = [...edges].sort((a, b) => a - b);
  const out: BandSpan[] = [];
  for (const day of intervalsOf(from, to, '1d', timeZone)) {
    for (let k = 0; k < minutes.length; k++) {
      const start = k === 0 ? day.from : localMinuteAt(day.from, minutes[k], timeZone);
      const end = k + 1 < minutes.length ? localMinuteAt(day.from, minutes[k + 1], timeZone) : day.to;
      if (end <= start) continue;
      const band = bandIndexAt(tariff, minutes[k]);
      const last = out[out.length - 1];
      if (last && last.band === band && last.to === start) last.to = end;
      else out.push({ from: start, to: end, band });
    }
  }
  return out;
}

/**
 * Adds `amount`, used between `from` and `to`, to `into[band]` by time share over `timeline` (from `cursor`, the
 * index to start looking at; the index reached is returned so a device's steps, in time order, walk it once).
 * Time outside the timeline goes to the band of its nearest end.
 */
export function splitByBand(timeline: readonly BandSpan[], cursor: number, from: number, to: number, amount: number, into: Float64Array): number {
  let i = Math.min(cursor, timeline.length - 1);
  while (i > 0 && timeline[i].from > from) i--;
  while (i < timeline.length - 1 && timeline[i].to <= from) i++;
  const duration = to - from;
  if (duration <= 0) {
    into[timeline[i].band] += amount;
    return i;
  }
  let placed = 0;
  let j = i;
  for (; j < timeline.length; j++) {
    const s = timeline[j];
    const a = j === 0 ? from : Math.max(from, s.from);
    const b = j === timeline.length - 1 ? to : Math.min(to, s.to);
    if (b > a) {
      const share = j === timeline.length - 1 ? amount - placed : (amount * (b - a)) / duration;
      into[s.band] += share;
      placed += share;
    }
    if (s.to >= to) break;
  }
  return Math.min(j, timeline.length - 1);
}
