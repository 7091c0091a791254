import { describe, expect, it } from 'vitest';
import { bandTimeline, splitByBand } from '../../../src/energy/bands.js';
import { intervalStart, intervalsOf, isNightHour, type Interval } from '../../../src/energy/calendar.js';
import { deviceFigures, registerUse, type Frame, type Reading } from '../../../src/energy/compute.js';
import { GroupSum } from '../../../src/energy/group.js';
import type { Tariff } from '../../../src/sites/tariff.js';

const SH = 'Asia/Shanghai';
const BERLIN = 'Europe/Berlin';
const H = 3_600_000;
/** Epoch ms of a Shanghai wall time (UTC+8, no DST). */
const sh = (text: string) => Date.parse(`${text}+08:00`);
const r = (text: string, v: number): Reading => ({ t: sh(text), v });

const TARIFF: Tariff = {
  currency: 'CNY',
  energy: [
    { from: '08:00', to: '22:00', price: 0.62 },
    { from: '22:00', to: '08:00', price: 0.3 },
  ],
};

function frame(from: number, to: number, interval: Interval, timeZone = SH, tariff?: Tariff): Frame {
  const spans = intervalsOf(from, to, interval, timeZone);
  const hours = intervalsOf(from, to, '1h', timeZone);
  return {
    spans,
    hours,
    nightHour: hours.map((h) => isNightHour(h.from, timeZone)),
    timeline: tariff && bandTimeline(from - 31 * 24 * H, to, tariff, timeZone),
    bands: tariff?.energy.length ?? 0,
  };
}

const days = (f: Frame, values: Float64Array) => [...values].map((v) => Math.round(v * 1000) / 1000).slice(0, f.spans.length);

describe('local intervals', () => {
  it('cuts a Shanghai month into its days and a day into 24 hours', () => {
    const month = intervalsOf(sh('2026-11-01T00:00:00'), sh('2026-12-01T00:00:00'), '1d', SH);
    expect(month).toHaveLength(30);
    expect(month[0]).toStrictEqual({ from: sh('2026-11-01T00:00:00'), to: sh('2026-11-02T00:00:00') });
    expect(intervalsOf(sh('2026-11-03T00:00:00'), sh('2026-11-04T00:00:00'), '1h', SH)).toHaveLength(24);
  });

  it('rounds from down and to up to the interval', () => {
    const spans = intervalsOf(sh('2026-11-03T10:20:00'), sh('2026-11-05T01:00:00'), '1d', SH);
    expect(spans.map((s) => new Date(s.from).toISOString())).toStrictEqual(['2026-11-02T16:00:00.000Z', '2026-11-03T16:00:00.000Z', '2026-11-04T16:00:00.000Z']);
    expect(intervalStart(sh('2026-11-17T13:00:00'), '1M', SH)).toBe(sh('2026-11-01T00:00:00'));
  });

  it('gives a Berlin DST day 23 or 25 hours', () => {
    const spring = intervalsOf(Date.parse('2026-03-28T23:00:00Z'), Date.parse('2026-03-29T22:00:00Z'), '1h', BERLIN);
    expect(spring).toHaveLength(23);
    const autumn = intervalsOf(Date.parse('2026-10-24T22:00:00Z'), Date.parse('2026-10-27T23:00:00Z'), '1d', BERLIN);
    expect(autumn.map((s) => (s.to - s.from) / H)).toStrictEqual([25, 24, 24]);
    expect(new Date(autumn[0].from).toISOString()).toBe('2026-10-24T22:00:00.000Z');
  });
});

describe('consumption from a cumulative register', () => {
  const day3 = frame(sh('2026-11-01T00:00:00'), sh('2026-11-04T00:00:00'), '1d');

  it('puts the difference in the interval of the later reading, also across midnight', () => {
    const use = registerUse(day3, [r('2026-11-01T23:00:00', 100), r('2026-11-02T00:00:00', 101.5), r('2026-11-02T12:00:00', 103)]);
    expect(days(day3, use.consumption)).toStrictEqual([0, 3, 0]);
  });

  it('takes the first step from the last reading before the range', () => {
    const use = registerUse(day3, [r('2026-11-01T06:00:00', 100.25)], r('2026-10-31T23:45:00', 100));
    expect(days(day3, use.consumption)).toStrictEqual([0.25, 0, 0]);
  });

  it('counts what a gap hides on the day of the reading after it', () => {
    const use = registerUse(day3, [r('2026-11-01T10:00:00', 10), r('2026-11-03T10:00:00', 58)]);
    expect(days(day3, use.consumption)).toStrictEqual([0, 0, 48]);
  });

  it('starts a new segment when the register resets to 0 and never counts a negative step', () => {
    const use = registerUse(day3, [r('2026-11-01T10:00:00', 500), r('2026-11-01T11:00:00', 501), r('2026-11-02T10:00:00', 0.25), r('2026-11-02T11:00:00', 1.5)]);
    expect(days(day3, use.consumption)).toStrictEqual([1, 1.25, 0]);
  });

  it('takes a replaced meter starting at a lower, non-zero value from its own first reading', () => {
    const use = registerUse(day3, [r('2026-11-01T10:00:00', 8000), r('2026-11-01T11:00:00', 8002), r('2026-11-03T09:00:00', 120), r('2026-11-03T10:00:00', 124.5)]);
    expect(days(day3, use.consumption)).toStrictEqual([2, 0, 4.5]);
  });

  it('counts a DST day of 25 hours whole', () => {
    const autumn = frame(Date.parse('2026-10-24T22:00:00Z'), Date.parse('2026-10-26T23:00:00Z'), '1d', BERLIN);
    // Hourly readings of 1 kWh each from the last reading of 24 October (local) to the end of 25 October.
    const readings = Array.from({ length: 26 }, (_, i) => ({ t: Date.parse('2026-10-24T21:00:00Z') + i * H, v: 100 + i }));
    expect(days(autumn, registerUse(autumn, readings).consumption)).toStrictEqual([25, 0]);
  });
});

describe('cost per band', () => {
  const day = frame(sh('2026-11-03T00:00:00'), sh('2026-11-04T00:00:00'), '1d', SH, TARIFF);

  it('lays the bands on the local day', () => {
    expect(bandTimeline(sh('2026-11-03T00:00:00'), sh('2026-11-04T00:00:00'), TARIFF, SH)).toStrictEqual([
      { from: sh('2026-11-03T00:00:00'), to: sh('2026-11-03T08:00:00'), band: 1 },
      { from: sh('2026-11-03T08:00:00'), to: sh('2026-11-03T22:00:00'), band: 0 },
      { from: sh('2026-11-03T22:00:00'), to: sh('2026-11-04T00:00:00'), band: 1 },
    ]);
  });

  it('splits a step across a band edge by time', () => {
    const into = new Float64Array(2);
    splitByBand(day.timeline ?? [], 0, sh('2026-11-03T21:30:00'), sh('2026-11-03T22:30:00'), 2, into);
    expect([...into]).toStrictEqual([1, 1]);
  });

  it('prices a day by hand: 2 kWh in the day band, 3 across 22:00 (1 before, 2 after), 1 at night', () => {
    const readings = [r('2026-11-03T10:00:00', 10), r('2026-11-03T12:00:00', 12), r('2026-11-03T21:40:00', 12), r('2026-11-03T22:40:00', 15), r('2026-11-03T23:40:00', 16)];
    // 21:40 → 22:40: 20 minutes of 60 before 22:00 → 1 kWh at 0.62, 2 kWh at 0.30; 22:40 → 23:40: 1 kWh at 0.30.
    const sum = new GroupSum(day);
    sum.add(deviceFigures(day, readings, [], r('2026-11-03T09:00:00', 10)));
    const [row] = sum.figures({ power: false, baseLoad: false, tariff: TARIFF });
    expect(row).toStrictEqual({
      from: '2026-11-02T16:00:00.000Z',
      to: '2026-11-03T16:00:00.000Z',
      consumption: 6,
      cost: 2.76, // 3 × 0.62 + 3 × 0.30
      costBands: [
        { from: '08:00', to: '22:00', price: 0.62, consumption: 3, cost: 1.86 },
        { from: '22:00', to: '08:00', price: 0.3, consumption: 3, cost: 0.9 },
      ],
    });
  });

  it('shares a long gap over every band it spans', () => {
    // 06:00 → 10:00: 2 h at night price, 2 h at day price.
    const use = registerUse(day, [r('2026-11-03T06:00:00', 0), r('2026-11-03T10:00:00', 4)]);
    expect([...use.byBand]).toStrictEqual([2, 2]);
  });
});

describe('peak demand and base load of a group', () => {
  const day = frame(sh('2026-11-03T00:00:00'), sh('2026-11-04T00:00:00'), '1d');
  const power = (from: string, every: number, values: number[]): Reading[] => values.map((v, i) => ({ t: sh(from) + i * every, v }));

  it('adds devices quarter by quarter and takes the highest quarter-hour mean', () => {
    const sum = new GroupSum(day);
    // Device a: 10, 20 and 15 kW within 12:00-12:15 (mean 15), 5 kW in 12:15-12:30; device b: 4 kW in both.
    sum.add(deviceFigures(day, [], power('2026-11-03T12:00:00', 300_000, [10, 20, 15, 5, 5])));
    sum.add(deviceFigures(day, [], power('2026-11-03T12:00:00', 900_000, [4, 4])));
    expect(sum.figures({ power: true, baseLoad: true })[0].peakDemandKw).toBe(19);
  });

  it('reads base load as the lowest hourly mean between 00:00 and 05:00, skipping hours a meter missed', () => {
    const sum = new GroupSum(day);
    // a: 3 kW each night hour but 1 kW at 02:xx; b: 2 kW but silent at 04:xx; 06:00 at 0.5 kW is not night.
    sum.add(deviceFigures(day, [], [...power('2026-11-03T00:30:00', H, [3, 3, 1, 3, 3]), ...power('2026-11-03T06:30:00', H, [0.5])]));
    sum.add(deviceFigures(day, [], power('2026-11-03T00:30:00', H, [2, 2, 2, 2])));
    const [row] = sum.figures({ power: true, baseLoad: true });
    expect(row.baseLoadKw).toBe(3); // 02:00: 1 + 2; 04:00 (3 alone) does not count, b missed it
  });
});
