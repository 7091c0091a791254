import { describe, expect, it } from 'vitest';
import type { DeviceFigures } from '../../../src/energy/compute.js';
import { DayCache } from '../../../src/energy/day-cache.js';

const H = 3_600_000;
const DAY = 24 * H;
const D0 = Date.parse('2026-11-01T00:00:00+08:00');

function day(kwh: number): DeviceFigures {
  const consumption = new Float64Array(24);
  consumption[10] = kwh;
  return { consumption, byBand: new Float64Array(0), quarters: new Float64Array(96).fill(Number.NaN), hours: new Float64Array(24).fill(Number.NaN), read: kwh > 0 };
}

function keep(cache: DayCache, device: string, days: number[]): void {
  days.forEach((kwh, i) => cache.put('s', 'energy', device, D0 + i * DAY, D0 + (i + 1) * DAY, day(kwh)));
}

describe('the kept meter-days', () => {
  it('drops the day a late reading falls in and every later day of that meter only', () => {
    const cache = new DayCache();
    keep(cache, 'm1', [1, 2, 3, 4]);
    keep(cache, 'm2', [1, 2, 3, 4]);
    cache.readingArrived('s', 'energy', 'm1', D0 + DAY + 5 * H);
    expect([0, 1, 2, 3].map((i) => cache.get('s', 'energy', 'm1', D0 + i * DAY)?.consumption[10])).toStrictEqual([1, undefined, undefined, undefined]);
    expect(cache.get('s', 'energy', 'm2', D0 + 3 * DAY)?.consumption[10]).toBe(4);
    expect(cache.count).toBe(5);
  });

  it('does nothing for a reading after the last kept day (the live ones)', () => {
    const cache = new DayCache();
    keep(cache, 'm1', [1, 2]);
    cache.readingArrived('s', 'energy', 'm1', D0 + 2 * DAY);
    expect(cache.count).toBe(2);
  });

  it('keeps days without readings as one shared figure that does not count', () => {
    const cache = new DayCache();
    keep(cache, 'm1', [0, 0, 5]);
    keep(cache, 'm2', [0, 0]);
    expect(cache.count).toBe(1);
    expect(cache.get('s', 'energy', 'm2', D0)).toBe(cache.get('s', 'energy', 'm1', D0 + DAY));
  });

  it('drops the meters used longest ago beyond its bound', () => {
    const cache = new DayCache(3);
    keep(cache, 'm1', [1, 2]);
    keep(cache, 'm2', [1, 2]);
    expect(cache.count).toBe(2);
    expect(cache.get('s', 'energy', 'm1', D0)).toBeUndefined();
  });

  it("drops a site's days when its time zone or tariff changes", () => {
    const cache = new DayCache();
    cache.checkContext('s', 'energy', 'Asia/Shanghai null');
    keep(cache, 'm1', [1]);
    cache.checkContext('s', 'energy', 'Asia/Shanghai null');
    expect(cache.count).toBe(1);
    cache.checkContext('s', 'energy', 'Asia/Shanghai {"currency":"CNY"}');
    expect(cache.count).toBe(0);
  });
});
