/**
 * A meter's figures cut into local days (to be kept, see day-cache.ts) and put back together over a request's
 * intervals. A day's figures are per local hour and quarter hour, so any interval made of whole days (a day, a
 * month) or of its hours is added up from them exactly.
 */
import { QUARTER_MS, spanIndex, type Span } from './calendar.js';
import { frameRange, type DeviceFigures, type Frame } from './compute.js';

/** The frame of hours i0..i1-1 of `frame`, one interval per hour, with its band time line. */
export function hourFrame(frame: Frame, i0: number, i1: number): Frame {
  const hours = frame.hours.slice(i0, i1);
  return { spans: hours, hours, nightHour: frame.nightHour.slice(i0, i1), timeline: frame.timeline, bands: frame.bands };
}

/** Figures worked out over an hour frame, cut into `days` (which it covers exactly). */
export function splitDays(frame: Frame, f: DeviceFigures, days: readonly Span[]): DeviceFigures[] {
  const { from } = frameRange(frame);
  return days.map((day) => {
    const h0 = spanIndex(frame.hours, day.from);
    const h1 = day.to >= frameRange(frame).to ? frame.hours.length : spanIndex(frame.hours, day.to);
    const q0 = (day.from - from) / QUARTER_MS;
    const q1 = (day.to - from) / QUARTER_MS;
    const consumption = f.consumption.slice(h0, h1);
    return {
      consumption,
      byBand: f.byBand.slice(h0 * frame.bands, h1 * frame.bands),
      // Power to 7 significant digits is plenty for kW and halves what a kept day weighs.
      quarters: Float32Array.from(f.quarters.subarray(q0, q1)),
      hours: Float32Array.from(f.hours.subarray(h0, h1)),
      read: consumption.some((c) => c > 0),
    };
  });
}

/** A meter's figures over `frame` from its figures per day of `days` (which cover the frame's range). */
export function assemble(frame: Frame, days: readonly Span[], perDay: ReadonlyArray<DeviceFigures | undefined>): DeviceFigures {
  const { from, to } = frameRange(frame);
  const nb = frame.bands;
  const hourly = frame.spans.length === frame.hours.length;
  const out: DeviceFigures = {
    consumption: new Float64Array(frame.spans.length),
    byBand: new Float64Array(frame.spans.length * nb),
    quarters: new Float64Array(Math.ceil((to - from) / QUARTER_MS)).fill(Number.NaN),
    hours: new Float64Array(frame.hours.length).fill(Number.NaN),
    read: false,
  };
  days.forEach((day, k) => {
    const d = perDay[k];
    if (!d) return;
    const h0 = spanIndex(frame.hours, day.from);
    const span = hourly ? -1 : spanIndex(frame.spans, day.from);
    for (let j = 0; j < d.consumption.length; j++) {
      const i = hourly ? h0 + j : span;
      out.consumption[i] += d.consumption[j];
      for (let b = 0; b < nb; b++) out.byBand[i * nb + b] += d.byBand[j * nb + b];
      out.hours[h0 + j] = d.hours[j];
    }
    out.quarters.set(d.quarters, (day.from - from) / QUARTER_MS);
    out.read ||= d.read;
  });
  return out;
}
