/**
 * Energy and water use from one device's readings (contract §13), with no I/O: consumption per local interval
 * from a cumulative register, its share per tariff band, and the device's power per quarter hour and per local
 * hour (what peak demand and base load are read from once devices are added up, see group.ts).
 *
 * - A step is the difference between two consecutive readings of the register; it belongs to the interval of the
 *   later reading, however long the gap before it, so nothing read is lost.
 * - A register that goes back (reset, meter replaced) starts a new segment: that step counts nothing, and the
 *   readings after it are differenced from the new value. Nothing negative is ever counted. Counting the new
 *   value itself (as if the new register had started at 0) would over-count every replacement by a meter that
 *   does not start at 0, which the readings cannot tell apart; what is lost instead is at most the use between
 *   the reset and the first reading after it.
 */
import type { BandSpan } from './bands.js';
import { splitByBand } from './bands.js';
import { QUARTER_MS, spanIndex, type Span } from './calendar.js';

/** A reading: epoch ms and value. */
export interface Reading {
  t: number;
  v: number;
}

/** The shape of one request: its intervals, its hours and quarters, and the tariff's bands over time. */
export interface Frame {
  /** The local intervals asked for, adjacent; [spans[0].from, spans.at(-1).to) is the whole range. */
  spans: Span[];
  /** The local hours of the range (for base load), adjacent. */
  hours: Span[];
  /** Whether each of `hours` is a night hour (local 00:00–05:00). */
  nightHour: boolean[];
  /** The band time line from the earliest previous reading looked for to the end of the range; absent: no tariff. */
  timeline?: BandSpan[];
  bands: number;
}

/** What one device used and drew, per interval of a frame. */
export interface DeviceFigures {
  /** Consumption per interval (register units). */
  consumption: Float64Array;
  /** Consumption per interval and band: index `interval × bands + band`. */
  byBand: Float64Array;
  /** Mean power (kW) per quarter hour of the range, NaN where no reading (single precision once kept). */
  quarters: Float64Array | Float32Array;
  /** Mean power (kW) per local hour of the range, NaN where no reading (single precision once kept). */
  hours: Float64Array | Float32Array;
  /** Whether any register reading fell in the range. */
  read: boolean;
}

/** Range start and end of a frame. */
export function frameRange(frame: Frame): Span {
  return { from: frame.spans[0].from, to: frame.spans[frame.spans.length - 1].to };
}

/**
 * Consumption per interval and band from register readings in time order. `previous` is the last reading before
 * the range, when there is one: the first step in the range is taken from it.
 */
export function registerUse(frame: Frame, readings: readonly Reading[], previous?: Reading): Pick<DeviceFigures, 'consumption' | 'byBand' | 'read'> {
  const consumption = new Float64Array(frame.spans.length);
  const byBand = new Float64Array(frame.spans.length * frame.bands);
  const band = new Float64Array(frame.bands);
  const { from, to } = frameRange(frame);
  let prev = previous;
  let cursor = 0;
  let read = false;
  for (const r of readings) {
    if (r.t >= to) break;
    if (r.t < from) {
      // A reading before the range only starts the first step.
      prev = r;
      continue;
    }
    read = true;
    if (prev && r.v >= prev.v && r.t > prev.t) {
      const amount = r.v - prev.v;
      const i = spanIndex(frame.spans, r.t);
      consumption[i] += amount;
      if (frame.timeline && amount > 0) {
        band.fill(0);
        cursor = splitByBand(frame.timeline, cursor, prev.t, r.t, amount, band);
        for (let b = 0; b < frame.bands; b++) byBand[i * frame.bands + b] += band[b];
      }
    }
    prev = r;
  }
  return { consumption, byBand, read };
}

/** Mean power per quarter hour (clock quarters) and per local hour of the range, NaN where there is no reading. */
export function powerMeans(frame: Frame, readings: readonly Reading[]): Pick<DeviceFigures, 'quarters' | 'hours'> {
  const { from, to } = frameRange(frame);
  const nq = Math.ceil((to - from) / QUARTER_MS);
  const qSum = new Float64Array(nq);
  const qCount = new Uint32Array(nq);
  const hSum = new Float64Array(frame.hours.length);
  const hCount = new Uint32Array(frame.hours.length);
  let h = 0;
  for (const r of readings) {
    if (r.t < from || r.t >= to) continue;
    const q = Math.floor((r.t - from) / QUARTER_MS);
    qSum[q] += r.v;
    qCount[q]++;
    while (h < frame.hours.length - 1 && frame.hours[h].to <= r.t) h++;
    while (h > 0 && frame.hours[h].from > r.t) h--;
    hSum[h] += r.v;
    hCount[h]++;
  }
  const quarters = new Float64Array(nq);
  for (let q = 0; q < nq; q++) quarters[q] = qCount[q] === 0 ? Number.NaN : qSum[q] / qCount[q];
  const hours = new Float64Array(frame.hours.length);
  for (let i = 0; i < hours.length; i++) hours[i] = hCount[i] === 0 ? Number.NaN : hSum[i] / hCount[i];
  return { quarters, hours };
}

/** A device's figures from its register and power readings (each in time order). */
export function deviceFigures(frame: Frame, register: readonly Reading[], power: readonly Reading[], previous?: Reading): DeviceFigures {
  return { ...registerUse(frame, register, previous), ...powerMeans(frame, power) };
}
