/**
 * A least-squares line through the readings of a sliding window, kept incrementally in a fixed ring of time
 * buckets (contract §13 `forecast`): each bucket holds the sums of its readings (count, Σt, Σv, Σt², Σtv, Σv²,
 * t from the bucket's start), so a reading costs O(1), the fit O(buckets), and memory is fixed per series
 * however often the device reports. A late reading still inside the window lands in its own bucket; the sums
 * do not depend on order. The window slides by whole buckets: it covers `over` to `over` + one bucket.
 *
 * The sums over the whole window are kept too, relative to the start of the newest bucket: a reading adds to
 * them, and they are summed again from the buckets only when the window slides (a new bucket), so a fit costs
 * O(1) between slides however often the device reports.
 */

/** Buckets per series: the window slides by 1/64 of `over`. */
export const LINE_BUCKETS = 64;
/** Numbers per bucket: id, n, Σt, Σv, Σt², Σtv, Σv². */
const STRIDE = 7;
/** Bytes a series keeps (one Float64Array): 64 × 7 × 8 = 3,584. */
export const LINE_BYTES = LINE_BUCKETS * STRIDE * 8;
/** Times inside the sums are in hours, so the squares stay small. */
const HOUR = 3_600_000;

/** A fit: the line's value at `ref` and its slope per ms, with what it rests on. */
export interface Line {
  /** Epoch ms the line is anchored at (the newest reading). */
  ref: number;
  /** The line's value at `ref`. */
  at: number;
  /** Change per ms. */
  slope: number;
  /** |slope| / its standard error: how clearly the trend stands out of the noise (Infinity on a perfect line). */
  t: number;
  /** Readings it rests on. */
  n: number;
  /** Ms from the start of the oldest bucket used to `ref`. */
  span: number;
}

export class LineWindow {
  readonly data: Float64Array;
  private readonly width: number;
  /** The newest bucket id seen, and the newest reading's time. */
  private current = -Infinity;
  newest = -Infinity;
  /** The window's sums (n, Σt, Σv, Σt², Σtv, Σv², t in hours from the start of bucket `current`), and its oldest bucket. */
  private n = 0;
  private st = 0;
  private sv = 0;
  private stt = 0;
  private stv = 0;
  private svv = 0;
  private oldest = Infinity;
  /** The sums are to be summed again from the buckets (the window slid, or restored). */
  private stale = true;

  constructor(
    readonly overMs: number,
    data?: Float64Array,
  ) {
    this.width = Math.max(1, overMs / LINE_BUCKETS);
    this.data = data ?? new Float64Array(LINE_BUCKETS * STRIDE).fill(0);
    if (!data) for (let i = 0; i < LINE_BUCKETS; i++) this.data[i * STRIDE] = -1;
    else for (let i = 0; i < LINE_BUCKETS; i++) this.current = Math.max(this.current, this.data[i * STRIDE + 1] > 0 ? this.data[i * STRIDE] : -Infinity);
  }

  /** Adds a reading; one older than the window is dropped (false). */
  add(ts: number, v: number): boolean {
    const id = Math.floor(ts / this.width);
    if (id <= this.current - LINE_BUCKETS) return false;
    if (id > this.current) {
      this.current = id;
      this.stale = true;
    }
    if (ts > this.newest) this.newest = ts;
    const o = (((id % LINE_BUCKETS) + LINE_BUCKETS) % LINE_BUCKETS) * STRIDE;
    const d = this.data;
    if (d[o] !== id) {
      d.fill(0, o, o + STRIDE);
      d[o] = id;
    }
    const t = (ts - id * this.width) / HOUR;
    d[o + 1] += 1;
    d[o + 2] += t;
    d[o + 3] += v;
    d[o + 4] += t * t;
    d[o + 5] += t * v;
    d[o + 6] += v * v;
    if (!this.stale) {
      const ta = (ts - this.current * this.width) / HOUR;
      this.n += 1;
      this.st += ta;
      this.sv += v;
      this.stt += ta * ta;
      this.stv += ta * v;
      this.svv += v * v;
      if (id * this.width < this.oldest) this.oldest = id * this.width;
    }
    return true;
  }

  /** Sums the window's buckets again, relative to the start of bucket `current`. */
  private resum(): void {
    const d = this.data;
    const anchor = this.current * this.width;
    let n = 0, st = 0, sv = 0, stt = 0, stv = 0, svv = 0;
    let oldest = Infinity;
    for (let i = 0; i < LINE_BUCKETS; i++) {
      const o = i * STRIDE;
      const id = d[o];
      const k = d[o + 1];
      if (k === 0 || id <= this.current - LINE_BUCKETS || id > this.current) continue;
      const c = (id * this.width - anchor) / HOUR;
      n += k;
      st += d[o + 2] + k * c;
      sv += d[o + 3];
      stt += d[o + 4] + 2 * c * d[o + 2] + k * c * c;
      stv += d[o + 5] + c * d[o + 3];
      svv += d[o + 6];
      oldest = Math.min(oldest, id * this.width);
    }
    this.n = n;
    this.st = st;
    this.sv = sv;
    this.stt = stt;
    this.stv = stv;
    this.svv = svv;
    this.oldest = oldest;
    this.stale = false;
  }

  /** The least-squares line through the window's readings, anchored at the newest; undefined under 3 readings. */
  fit(): Line | undefined {
    if (this.stale) this.resum();
    const { n, sv, svv } = this;
    if (n < 3) return undefined;
    const ref = this.newest;
    // From the start of bucket `current` to the newest reading.
    const c = (this.current * this.width - ref) / HOUR;
    const st = this.st + n * c;
    const stt = this.stt + 2 * c * this.st + n * c * c;
    const stv = this.stv + c * sv;
    const sxx = stt - (st * st) / n;
    if (!(sxx > 0)) return undefined;
    const sxy = stv - (st * sv) / n;
    const syy = svv - (sv * sv) / n;
    const b = sxy / sxx;
    const a = sv / n - (b * st) / n;
    const sse = Math.max(0, syy - b * sxy);
    const se = Math.sqrt(sse / (n - 2) / sxx);
    const t = se > 0 ? Math.abs(b) / se : b === 0 ? 0 : Infinity;
    return { ref, at: a, slope: b / HOUR, t, n, span: ref - this.oldest };
  }
}

/**
 * When the line reaches `level` going `dir`: `ref` when its value at `ref` is already there, the later time
 * when it is heading there, undefined when it is heading away or flat.
 */
export function crossing(line: Line, dir: 'above' | 'below', level: number): number | undefined {
  const beyond = dir === 'above' ? line.at > level : line.at < level;
  if (beyond) return line.ref;
  const heading = dir === 'above' ? line.slope > 0 : line.slope < 0;
  if (!heading) return undefined;
  return line.ref + (level - line.at) / line.slope;
}
