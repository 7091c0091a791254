/** The pieces of the §13 forms (issue 18): the incremental line fit, the bounded baseline, hour slots, the schema. */
import { describe, expect, it } from 'vitest';
import { baselineBytes, baselineLayout, BASELINE_SAMPLES, SlotBaseline } from '../../../src/rules/conditions/baseline.js';
import { crossing, LineWindow, LINE_BYTES } from '../../../src/rules/conditions/line-fit.js';
import { localSlot } from '../../../src/rules/conditions/local-slot.js';
import { parseRule } from '../../../src/rules/schema.js';
import { normal, seeded } from '../../fixtures/prediction-data.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T = Date.parse('2026-11-02T00:00:00Z');

/** The least-squares slope (per ms) and the value at `ref` of points, computed directly. */
function exactFit(points: Array<[number, number]>, ref: number): { slope: number; at: number } {
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + (t - ref), 0) / n;
  const mv = points.reduce((a, [, v]) => a + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [t, v] of points) {
    sxy += (t - ref - mt) * (v - mv);
    sxx += (t - ref - mt) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, at: mv - slope * mt };
}

function exactMedian(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

describe('the incremental line fit', () => {
  it('fits a noise-free line exactly and predicts its crossing', () => {
    const w = new LineWindow(HOUR);
    for (let i = 0; i <= 60; i++) w.add(T + i * 60_000, 40 + i * 0.1);
    const line = w.fit()!;
    expect(line.slope * HOUR).toBeCloseTo(6, 9);
    expect(line.at).toBeCloseTo(46, 9);
    expect(line.t).toBeGreaterThan(1e6);
    // 46 at T+1h rising 6 an hour: 85 after 6.5 h more.
    expect(crossing(line, 'above', 85)! - (T + HOUR)).toBeCloseTo(6.5 * HOUR, -1);
    expect(crossing(line, 'below', 10)).toBeUndefined();
    expect(crossing(line, 'above', 45)).toBe(T + HOUR);
  });

  it('equals a direct least-squares fit on random readings in any order, late ones included', () => {
    const rnd = seeded(3);
    for (let run = 0; run < 20; run++) {
      const w = new LineWindow(2 * HOUR);
      const points: Array<[number, number]> = [];
      for (let i = 0; i < 200; i++) points.push([T + Math.floor(rnd() * 2 * HOUR * 0.98), 20 + rnd() * 5 + normal(rnd)]);
      for (const [t, v] of points) w.add(t, v);
      const ref = Math.max(...points.map(([t]) => t));
      const line = w.fit()!;
      const exact = exactFit(points, ref);
      expect(line.n).toBe(200);
      expect(line.slope).toBeCloseTo(exact.slope, 12);
      expect(line.at).toBeCloseTo(exact.at, 9);
    }
  });

  it('forgets readings older than the window and drops a reading that arrives after it passed', () => {
    const w = new LineWindow(HOUR);
    for (let i = 0; i < 60; i++) w.add(T + i * 60_000, 100);
    for (let i = 0; i < 70; i++) w.add(T + 2 * HOUR + i * 60_000, 2 * i);
    const line = w.fit()!;
    // Only the second run is left: a line of slope 2 a minute.
    expect(line.slope * 60_000).toBeCloseTo(2, 9);
    expect(w.add(T, 5)).toBe(false);
  });

  it('keeps a fixed 3,584 bytes per series however many readings it took', () => {
    const w = new LineWindow(HOUR);
    for (let i = 0; i < 100_000; i++) w.add(T + i * 1000, i);
    expect(w.data.byteLength).toBe(LINE_BYTES);
    expect(LINE_BYTES).toBe(3584);
  });
});

describe('the bounded robust baseline', () => {
  it('estimates the median and MAD of a slot close to the exact ones of every reading', () => {
    const layout = baselineLayout('hourOfDay', 7 * DAY);
    const errors = { median: [] as number[], mad: [] as number[] };
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = seeded(seed);
      const b = new SlotBaseline(layout);
      const all: number[] = [];
      // A week of one reading a minute in slot 3 (03:00–04:00): 420 readings, from a skewed distribution.
      for (let day = 0; day < 7; day++) {
        for (let m = 0; m < 60; m++) {
          const v = 10 + 2 * normal(rnd) + (rnd() < 0.1 ? 8 * rnd() : 0);
          all.push(v);
          b.add(3, 20_000 + day, v, T + day * DAY + m * 60_000);
        }
      }
      const st = b.stats(3)!;
      const median = exactMedian(all);
      const mad = exactMedian(all.map((v) => Math.abs(v - median)));
      expect(st.periods).toBe(7);
      expect(st.samples).toBe(28);
      errors.median.push(Math.abs(st.median - median) / (1.4826 * mad));
      errors.mad.push(Math.abs(st.mad - mad) / mad);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
    // From 28 of 420 readings: the median within about a quarter of σ, the MAD within about a fifth of itself (95 %: half).
    expect(mean(errors.median)).toBeLessThan(0.25);
    expect(p95(errors.median)).toBeLessThan(0.5);
    expect(mean(errors.mad)).toBeLessThan(0.2);
    expect(p95(errors.mad)).toBeLessThan(0.5);
    if (process.env.PRINT_FIGURES) console.log({ median: [mean(errors.median), p95(errors.median)], mad: [mean(errors.mad), p95(errors.mad)] });
  });

  it('is exact while a slot holds no more readings than it keeps', () => {
    const b = new SlotBaseline(baselineLayout('none', 8 * DAY));
    const values = [5, 1, 9, 3, 7, 2, 8];
    values.forEach((v, i) => b.add(0, 20_000 + i, v, T + i * DAY));
    expect(b.stats(0)).toMatchObject({ median: 5, mad: 3, periods: 7, samples: 7 });
  });

  it('forgets the periods older than the baseline', () => {
    const b = new SlotBaseline(baselineLayout('hourOfDay', 3 * DAY));
    for (let day = 0; day < 3; day++) b.add(0, 20_000 + day, 100, T + day * DAY);
    expect(b.stats(0)).toMatchObject({ median: 100, periods: 3 });
    for (let day = 3; day < 6; day++) b.add(0, 20_000 + day, 1, T + day * DAY);
    expect(b.stats(0)).toMatchObject({ median: 1, periods: 3 });
  });

  it('keeps at most 177 bytes a slot: 3.7 KB a device field by hour of the day over 7 days, whatever the reading rate', () => {
    const layout = baselineLayout('hourOfDay', 7 * DAY);
    expect(baselineBytes(layout) / 24).toBe(156);
    expect(baselineBytes(baselineLayout('hourOfDay', 60 * DAY)) / 24).toBe(177);
    expect(baselineBytes(baselineLayout('hourOfWeek', 52 * 7 * DAY)) / 168).toBeLessThan(200);
    const b = new SlotBaseline(layout);
    for (let i = 0; i < 200_000; i++) b.add(i % 24, 20_000 + Math.floor(i / 10_000), i, T + i);
    expect(b.buffer.byteLength).toBe(SlotBaseline.bytes(layout));
    expect(layout.perBucket * layout.buckets).toBeLessThanOrEqual(BASELINE_SAMPLES);
  });
});

describe('hour slots in site time', () => {
  it('counts hours of the day and of the week in the site time zone', () => {
    // Monday 2 November 2026 03:30 in Shanghai is Sunday 19:30 UTC.
    const ts = Date.parse('2026-11-01T19:30:00Z');
    expect(localSlot(ts, 'Asia/Shanghai', 'hourOfDay').slot).toBe(3);
    expect(localSlot(ts, 'Asia/Shanghai', 'hourOfWeek').slot).toBe(3);
    expect(localSlot(ts, 'UTC', 'hourOfWeek').slot).toBe(6 * 24 + 19);
    expect(localSlot(ts, 'Asia/Shanghai', 'none').slot).toBe(0);
    expect(localSlot(ts + DAY, 'Asia/Shanghai', 'hourOfDay').period - localSlot(ts, 'Asia/Shanghai', 'hourOfDay').period).toBe(1);
  });
});

describe('the forecast and anomaly rule schema', () => {
  const parse = (when: unknown, kind = 'water') => parseRule({ id: 'r', match: { kind }, when, alarm: { type: 't', severity: 'major' } }, 'p.yaml', 0);
  const error = (when: unknown, kind?: string) => {
    const r = parse(when, kind);
    return r.ok ? undefined : r.errors.join('\n');
  };

  it('normalises both forms', () => {
    const f = parse({ telemetry: 'levelPct', forecast: { below: 10, within: '1h' }, over: '30m' });
    expect(f.ok && f.rule.when).toStrictEqual({ form: 'forecast', telemetry: 'levelPct', dir: 'below', level: 10, withinMs: HOUR, overMs: HOUR / 2, where: undefined, during: undefined });
    const a = parse({ telemetry: 'flowM3h', anomaly: { baseline: '7d', by: 'hourOfDay', z: 4 }, for: '30m' });
    expect(a.ok && a.rule.when).toStrictEqual({ form: 'anomaly', telemetry: 'flowM3h', baselineMs: 7 * DAY, by: 'hourOfDay', z: 4, forMs: HOUR / 2, where: undefined, during: undefined });
  });

  it('names the field of each problem', () => {
    expect(error({ telemetry: 'levelPct', forecast: { within: '1h' }, over: '1h' })).toBe('p.yaml: rule "r": when.forecast: needs one of above or below');
    expect(error({ telemetry: 'levelPct', forecast: { above: 1, below: 2, within: '1h' }, over: '1h' })).toBe('p.yaml: rule "r": when.forecast: takes only one of above or below');
    expect(error({ telemetry: 'levelPct', forecast: { above: 'x', within: '1h' }, over: '1h' })).toMatch(/when\.forecast\.above: must be a number/);
    expect(error({ telemetry: 'levelPct', forecast: { above: 1, within: '5h' }, over: '20m' })).toMatch(/when\.forecast\.within: must be at most 10 times over \(20m\)/);
    expect(error({ telemetry: 'levelPct', forecast: { above: 1, within: '1h' }, over: '10s' })).toMatch(/when\.over: "10s" is too short/);
    expect(error({ telemetry: 'levelPct', forecast: { above: 1, within: '1h', by: 2 }, over: '1h' })).toMatch(/when\.forecast\.by: unknown field/);
    expect(error({ telemetry: 'pumpRunning', forecast: { above: 1, within: '1h' }, over: '1h' })).toMatch(/when\.telemetry: "pumpRunning" is not a numeric telemetry field of water/);
    expect(error({ telemetry: 'flowM3h', anomaly: { baseline: '1d', by: 'hourOfDay', z: 4 } })).toMatch(/when\.anomaly\.baseline: must be from 3d to 60d for by: hourOfDay/);
    expect(error({ telemetry: 'flowM3h', anomaly: { baseline: '14d', by: 'hourOfWeek', z: 4 } })).toMatch(/when\.anomaly\.baseline: must be from 21d to 364d for by: hourOfWeek/);
    expect(error({ telemetry: 'flowM3h', anomaly: { baseline: '7d', by: 'hourly', z: 4 } })).toMatch(/when\.anomaly\.by: must be one of hourOfDay, hourOfWeek, none/);
    expect(error({ telemetry: 'flowM3h', anomaly: { baseline: '7d', by: 'none', z: 0.5 } })).toMatch(/when\.anomaly\.z: must be at least 1/);
    expect(error({ telemetry: 'flowM3h', anomaly: { baseline: '7d', by: 'none', z: 4 }, for: 'soon' })).toMatch(/when\.for: "soon" is not a duration/);
    expect(error({ telemetry: 'flowM3h', anomaly: { baseline: '7d', by: 'none', z: 4 }, where: { mode: 'nope' } }, 'lift')).toMatch(/when\.telemetry: "flowM3h" is not a numeric telemetry field of lift/);
  });
});
