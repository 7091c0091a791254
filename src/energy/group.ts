/**
 * Devices added up into a site, building, zone or one device, and the rows of the energy API made from the sum.
 * Peak demand is the highest quarter-hour power of the group: per clock quarter hour, the sum over its devices of
 * each device's mean `powerKw` in that quarter (the demand the group drew together, as a utility's demand meter
 * reads it). Base load is the lowest hourly power of the group between local 00:00 and 05:00: per local hour the
 * sum of its devices' hourly means, counting only hours in which as many devices reported as in the night's best
 * hour (a meter that missed an hour would otherwise make that hour look low); for a month, the lowest of its nights.
 */
import type { Tariff } from '../sites/tariff.js';
import { QUARTER_MS, spanIndex } from './calendar.js';
import { frameRange, type DeviceFigures, type Frame } from './compute.js';

/** One band's share of an interval's cost. */
export interface CostBand {
  from: string;
  to: string;
  price: number;
  consumption: number;
  cost: number;
}

/** The figures of one group and interval, before names are put on. */
export interface Figures {
  from: string;
  to: string;
  consumption: number;
  peakDemandKw?: number;
  baseLoadKw?: number;
  cost?: number;
  costBands?: CostBand[];
}

/** `value` rounded half up to `digits` decimals (a half stored a hair low still rounds up). */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f * (1 + Number.EPSILON)) / f;
}

/** The running sum of a group's devices over a frame. */
export class GroupSum {
  readonly consumption: Float64Array;
  readonly byBand: Float64Array;
  /** Summed quarter-hour power; NaN until a device has a reading in the quarter. */
  readonly quarters: Float64Array;
  readonly hours: Float64Array;
  /** How many devices had a reading in each hour. */
  readonly hourDevices: Uint32Array;

  constructor(private readonly frame: Frame) {
    const { from, to } = frameRange(frame);
    this.consumption = new Float64Array(frame.spans.length);
    this.byBand = new Float64Array(frame.spans.length * frame.bands);
    this.quarters = new Float64Array(Math.ceil((to - from) / QUARTER_MS)).fill(Number.NaN);
    this.hours = new Float64Array(frame.hours.length).fill(Number.NaN);
    this.hourDevices = new Uint32Array(frame.hours.length);
  }

  /** Adds one device. */
  add(d: DeviceFigures): void {
    for (let i = 0; i < d.consumption.length; i++) this.consumption[i] += d.consumption[i];
    for (let i = 0; i < d.byBand.length; i++) this.byBand[i] += d.byBand[i];
    for (let q = 0; q < d.quarters.length; q++) {
      const v = d.quarters[q];
      if (!Number.isNaN(v)) this.quarters[q] = Number.isNaN(this.quarters[q]) ? v : this.quarters[q] + v;
    }
    for (let h = 0; h < d.hours.length; h++) {
      const v = d.hours[h];
      if (Number.isNaN(v)) continue;
      this.hours[h] = Number.isNaN(this.hours[h]) ? v : this.hours[h] + v;
      this.hourDevices[h]++;
    }
  }

  /** The figures per interval; power figures only when `power` (energy meters), base load only for days and months. */
  figures(opts: { power: boolean; baseLoad: boolean; tariff?: Tariff }): Figures[] {
    const { from } = frameRange(this.frame);
    return this.frame.spans.map((span, i) => {
      const f: Figures = { from: new Date(span.from).toISOString(), to: new Date(span.to).toISOString(), consumption: round(this.consumption[i], 3) };
      if (opts.power) {
        const peak = this.peak((span.from - from) / QUARTER_MS, (span.to - from) / QUARTER_MS);
        if (peak !== undefined) f.peakDemandKw = round(peak, 3);
        const base = opts.baseLoad ? this.baseLoad(span.from, span.to) : undefined;
        if (base !== undefined) f.baseLoadKw = round(base, 3);
      }
      if (opts.tariff) Object.assign(f, this.cost(i, opts.tariff));
      return f;
    });
  }

  private peak(q0: number, q1: number): number | undefined {
    let best: number | undefined;
    for (let q = q0; q < q1; q++) if (!Number.isNaN(this.quarters[q]) && (best === undefined || this.quarters[q] > best)) best = this.quarters[q];
    return best;
  }

  /** The lowest eligible night hour of the nights in [from, to). */
  private baseLoad(from: number, to: number): number | undefined {
    const { hours, nightHour } = this.frame;
    let best: number | undefined;
    let night: number[] = [];
    const close = () => {
      const most = Math.max(0, ...night.map((h) => this.hourDevices[h]));
      for (const h of night) if (most > 0 && this.hourDevices[h] === most && (best === undefined || this.hours[h] < best)) best = this.hours[h];
      night = [];
    };
    for (let h = Math.max(0, spanIndex(hours, from)); h < hours.length && hours[h].from < to; h++) {
      if (nightHour[h]) night.push(h);
      else if (night.length > 0) close();
    }
    close();
    return best;
  }

  private cost(i: number, tariff: Tariff): Pick<Figures, 'cost' | 'costBands'> {
    let total = 0;
    const costBands = tariff.energy.map((band, b) => {
      const used = this.byBand[i * tariff.energy.length + b];
      total += used * band.price;
      return { from: band.from, to: band.to, price: band.price, consumption: round(used, 3), cost: round(used * band.price, 2) };
    });
    return { cost: round(total, 2), costBands };
  }
}
