/**
 * A robust baseline per hour slot with fixed memory (contract §13 `anomaly`): for each slot, a sample of at most
 * 32 readings spread over the last `baseline`, from which the median and the MAD are computed.
 *
 * The window is cut into at most 8 buckets of whole periods (a period is a day for hours of the day and for
 * `none`, a week for hours of the week); each bucket keeps a uniform random sample (reservoir sampling) of the
 * slot's readings in it, and the oldest bucket is dropped whole when a new one starts. So each part of the
 * window weighs the same however often the device reported, the window slides by a bucket, and a slot costs
 * at most 32 × 4 bytes of samples (8 buckets × 4, or 7 × 4 for a window of 7 or 14 days) + up to 8 × 5 bytes of
 * bucket bookkeeping + 9 bytes of cache ≤ 177 bytes: 3.7 KB for a device field by hour of the day over 7 or 14
 * days, at most 29 KB by hour of the week, 177 bytes with `none`.
 */
import type { AnomalyBy } from '../schema.js';
import { ANOMALY_PERIOD } from '../schema.js';

/** Samples a slot keeps at most. */
export const BASELINE_SAMPLES = 32;
/** Buckets a slot's window is cut into at most. */
export const BASELINE_BUCKETS = 8;
/** contract §13: no alarm before a slot holds this many periods (days, or weeks) of history. */
export const BASELINE_MIN_PERIODS = 3;
/** Consistency constant: 1.4826 × MAD estimates σ for normally distributed readings. */
export const MAD_TO_SIGMA = 1.4826;

export const SLOTS: Record<AnomalyBy, number> = { hourOfDay: 24, hourOfWeek: 168, none: 1 };

/** How a baseline of `baselineMs` by `by` is laid out. */
export interface BaselineLayout {
  slots: number;
  periodMs: number;
  /** Periods per bucket (≤ 8, one bit each in the bucket's mask). */
  bucketPeriods: number;
  buckets: number;
  /** Samples per bucket. */
  perBucket: number;
  /** Samples per slot: buckets × perBucket (≤ 32). */
  perSlot: number;
}

export function baselineLayout(by: AnomalyBy, baselineMs: number): BaselineLayout {
  const periodMs = ANOMALY_PERIOD[by].ms;
  const periods = Math.max(1, Math.ceil(baselineMs / periodMs));
  const bucketPeriods = Math.ceil(periods / BASELINE_BUCKETS);
  const buckets = Math.ceil(periods / bucketPeriods);
  const perBucket = Math.floor(BASELINE_SAMPLES / buckets);
  return { slots: SLOTS[by], periodMs, bucketPeriods, buckets, perBucket, perSlot: buckets * perBucket };
}

/** Bytes one series (a device's field) keeps: samples, bucket ids, counts and masks, and the per-slot cache. */
export function baselineBytes(l: BaselineLayout): number {
  return l.slots * (l.perSlot * 4 + l.buckets * 5 + 9);
}

/** The median and MAD of a slot's sample, and how many periods of history it rests on. */
export interface SlotStats {
  median: number;
  mad: number;
  periods: number;
  samples: number;
}

const scratch = new Float64Array(BASELINE_SAMPLES);

/** The median of `a[0..n)` (sorted in place). */
function medianOf(a: Float64Array, n: number): number {
  const s = a.subarray(0, n).sort();
  return n % 2 === 1 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** A 32-bit mix of a time and a count: the same readings sample the same way (a replay is repeatable). */
function mix(ts: number, n: number): number {
  let h = (Math.floor(ts) ^ Math.imul(n, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function popcount(x: number): number {
  let c = 0;
  for (let v = x; v; v &= v - 1) c++;
  return c;
}

export class SlotBaseline {
  /**
   * Everything in one buffer (one backing store and three views per series). Saved, from the start: samples
   * (f32), bucket ids (u16: days or weeks since 1970, good until 2149), counts (u16), period masks (u8). Then,
   * not saved: the per-slot median and MAD as last computed (f32) and whether a sample changed since (u8).
   */
  readonly buffer: ArrayBuffer;
  /** Samples at [0, slots × perSlot), cached medians at `medianAt`, cached MADs at `medianAt` + slots. */
  private readonly f32: Float32Array;
  /** Bucket ids at [0, slots × buckets), counts after them. */
  private readonly u16: Uint16Array;
  /** The whole buffer as bytes: masks at `masksAt`, fresh flags at `freshAt`. */
  private readonly u8: Uint8Array;
  private readonly countsAt: number;
  private readonly masksAt: number;
  private readonly medianAt: number;
  private readonly madAt: number;
  private readonly freshAt: number;
  /** The newest bucket id seen (the window ends there). */
  private current = -1;
  /** What the last `compute` found (see SlotStats). */
  median = NaN;
  mad = NaN;
  periods = 0;
  samples = 0;

  constructor(
    readonly layout: BaselineLayout,
    saved?: ArrayBuffer,
  ) {
    const { slots, buckets } = layout;
    const savedBytes = SlotBaseline.savedBytes(layout);
    const cacheAt = align4(savedBytes);
    this.buffer = new ArrayBuffer(SlotBaseline.bytes(layout));
    this.u8 = new Uint8Array(this.buffer);
    if (saved) this.u8.set(new Uint8Array(saved, 0, Math.min(saved.byteLength, savedBytes)));
    this.f32 = new Float32Array(this.buffer, 0, (cacheAt + slots * 8) / 4);
    this.u16 = new Uint16Array(this.buffer, slots * layout.perSlot * 4, 2 * slots * buckets);
    this.countsAt = slots * buckets;
    this.masksAt = slots * layout.perSlot * 4 + 4 * slots * buckets;
    this.medianAt = cacheAt / 4;
    this.madAt = this.medianAt + slots;
    this.freshAt = cacheAt + slots * 8;
    this.f32.fill(NaN, this.medianAt, this.medianAt + slots);
    for (let i = 0; i < slots * buckets; i++) if (this.u16[this.countsAt + i] > 0) this.current = Math.max(this.current, this.u16[i]);
  }

  /** The bytes a layout keeps in `buffer`, with the cache (a saved buffer of another `savedBytes` does not fit). */
  static bytes(l: BaselineLayout): number {
    return align4(SlotBaseline.savedBytes(l)) + l.slots * 9;
  }

  /** The bytes that are saved: the start of `buffer`, without the cache. */
  static savedBytes(l: BaselineLayout): number {
    return l.slots * (l.perSlot * 4 + l.buckets * 5);
  }

  /** Learns a reading of `slot` in period `period` (days or weeks since the epoch, local time). */
  add(slot: number, period: number, value: number, ts: number): void {
    const { buckets, bucketPeriods, perBucket } = this.layout;
    const id = Math.floor(period / bucketPeriods);
    if (id <= this.current - buckets) return;
    const u8 = this.u8;
    const u16 = this.u16;
    if (id > this.current) {
      this.current = id;
      u8.fill(0, this.freshAt, this.freshAt + this.layout.slots);
    }
    const b = slot * buckets + (id % buckets);
    const c = this.countsAt + b;
    if (u16[b] !== id) {
      u16[b] = id;
      u16[c] = 0;
      u8[this.masksAt + b] = 0;
    }
    u8[this.masksAt + b] |= 1 << (period - id * bucketPeriods);
    const n = Math.min(u16[c] + 1, 0xffff);
    u16[c] = n;
    const base = slot * this.layout.perSlot + (id % buckets) * perBucket;
    if (n <= perBucket) this.f32[base + n - 1] = value;
    else {
      const j = mix(ts, n) % n;
      if (j >= perBucket) return;
      this.f32[base + j] = value;
    }
    u8[this.freshAt + slot] = 0;
  }

  /**
   * The slot's median, MAD and history now; undefined when it holds nothing. `periods` counts the periods with
   * readings, leaving out `current` (the period being scored is not yet a whole slot's worth of history).
   */
  stats(slot: number, current?: number): SlotStats | undefined {
    if (!this.compute(slot, current)) return undefined;
    return { median: this.median, mad: this.mad, periods: this.periods, samples: this.samples };
  }

  /**
   * `stats` without an object: sets `median`, `mad`, `periods` and `samples`; false (and nothing set) when the
   * slot holds nothing. The sample is sorted only when it changed since the slot's last median (the cache).
   */
  compute(slot: number, current?: number): boolean {
    const { buckets, perBucket, bucketPeriods } = this.layout;
    const u16 = this.u16;
    let n = 0;
    let periods = 0;
    const fresh = this.u8[this.freshAt + slot] === 1;
    const currentId = current === undefined ? NaN : Math.floor(current / bucketPeriods);
    for (let k = 0; k < buckets; k++) {
      const b = slot * buckets + k;
      const id = u16[b];
      const count = u16[this.countsAt + b];
      if (count === 0 || id <= this.current - buckets || id > this.current) continue;
      let mask = this.u8[this.masksAt + b];
      if (currentId === id) mask &= ~(1 << (current! - id * bucketPeriods));
      periods += popcount(mask);
      const take = Math.min(count, perBucket);
      // The sample is copied out only when the cached median and MAD are stale.
      if (fresh) n += take;
      else for (let i = 0, base = slot * this.layout.perSlot + k * perBucket; i < take; i++) scratch[n++] = this.f32[base + i];
    }
    if (n === 0) return false;
    this.periods = periods;
    this.samples = n;
    if (fresh) {
      this.median = this.f32[this.medianAt + slot];
      this.mad = this.f32[this.madAt + slot];
      return true;
    }
    const median = medianOf(scratch, n);
    for (let i = 0; i < n; i++) scratch[i] = Math.abs(scratch[i] - median);
    const mad = medianOf(scratch, n);
    this.f32[this.medianAt + slot] = median;
    this.f32[this.madAt + slot] = mad;
    this.u8[this.freshAt + slot] = 1;
    this.median = median;
    this.mad = mad;
    return true;
  }

  /**
   * The mean |median| of the slots whose median was computed: the series' typical level (for the MAD floor). Read
   * from the cache, so it costs a pass over the slots and no sorting; a stale median is close enough here.
   */
  level(): number {
    let sum = 0;
    let k = 0;
    for (let s = 0; s < this.layout.slots; s++) {
      const m = this.f32[this.medianAt + s];
      if (Number.isNaN(m)) continue;
      sum += Math.abs(m);
      k++;
    }
    return k === 0 ? 0 : sum / k;
  }
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
