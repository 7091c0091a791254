import { describe, expect, it } from 'vitest';
import { localIso, nextBoundary, SummaryWindow, topicHour, zoneOffsetMs } from '../../../src/upstream/summaries.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 10, 27, 2, 0, 0);

describe('SummaryWindow', () => {
  it('counts messages and devices and gives min, mean and max of each numeric field', () => {
    const w = new SummaryWindow();
    w.add('maple-court', 'fire', 'b3-f12', 'smoke-1', { temperatureC: 20, smokeObscurationPct: 1 });
    w.add('maple-court', 'fire', 'b3-f12', 'smoke-2', { temperatureC: 22, smokeObscurationPct: 2 });
    w.add('maple-court', 'fire', 'b3-f12', 'smoke-1', { temperatureC: 27 });
    expect(w.drain(T0, T0 + HOUR, 'UTC', false)).toStrictEqual([
      {
        site: 'maple-court',
        kind: 'fire',
        from: '2025-11-27T02:00:00Z',
        to: '2025-11-27T03:00:00Z',
        timeZone: 'UTC',
        zones: [
          {
            zone: 'b3-f12',
            messages: 3,
            devices: 2,
            fields: {
              smokeObscurationPct: { count: 2, min: 1, mean: 1.5, max: 2 },
              temperatureC: { count: 3, min: 20, mean: 23, max: 27 },
            },
          },
        ],
      },
    ]);
  });

  it('leaves booleans out and keeps zones, kinds and sites apart, sorted', () => {
    const w = new SummaryWindow();
    w.add('maple-court', 'lighting', 'z2', 'lamp-2', { on: true, powerW: 40 });
    w.add('maple-court', 'lighting', 'z1', 'lamp-1', { on: false });
    w.add('birch-park', 'lighting', 'z1', 'lamp-9', { powerW: -0 });
    w.add('maple-court', 'access', 'z1', 'door-1', { doorOpen: true, batteryPct: 80 });
    const out = w.drain(T0, T0 + HOUR, 'UTC', true);
    expect(out.map((s) => [s.site, s.kind, s.zones.map((z) => z.zone), s.partial])).toStrictEqual([
      ['birch-park', 'lighting', ['z1'], true],
      ['maple-court', 'access', ['z1'], true],
      ['maple-court', 'lighting', ['z1', 'z2'], true],
    ]);
    expect(out[2].zones).toStrictEqual([
      { zone: 'z1', messages: 1, devices: 1, fields: {} },
      { zone: 'z2', messages: 1, devices: 1, fields: { powerW: { count: 1, min: 40, mean: 40, max: 40 } } },
    ]);
  });

  it("leaves an enum field's text out (a lift's mode, contract §9), like a boolean", () => {
    const w = new SummaryWindow();
    w.add('maple-court', 'lift', 'b3', 'lift-1', { floor: 3, mode: 'normal', direction: 'up', moving: true });
    expect(w.drain(T0, T0 + HOUR, 'UTC', false)[0].zones).toStrictEqual([
      { zone: 'b3', messages: 1, devices: 1, fields: { floor: { count: 1, min: 3, mean: 3, max: 3 } } },
    ]);
  });

  it('is empty again after a drain, and holds one entry per zone however many messages come', () => {
    const w = new SummaryWindow();
    for (let i = 0; i < 10_000; i++) w.add('s', 'energy', 'z', `m-${i % 3}`, { powerKw: i });
    const [s] = w.drain(T0, T0 + HOUR, 'UTC', false);
    expect(s.zones[0]).toStrictEqual({ zone: 'z', messages: 10_000, devices: 3, fields: { powerKw: { count: 10_000, min: 0, mean: 4999.5, max: 9999 } } });
    expect(w.empty).toBe(true);
    expect(w.drain(T0, T0 + HOUR, 'UTC', false)).toStrictEqual([]);
  });
});

describe('window boundaries in the gateway time zone', () => {
  it('ends an hourly window on the next whole UTC hour in UTC', () => {
    expect(nextBoundary(T0 + 1, HOUR, 'UTC')).toBe(T0 + HOUR);
    expect(nextBoundary(T0, HOUR, 'UTC')).toBe(T0 + HOUR);
    expect(nextBoundary(T0 - 1, HOUR, 'UTC')).toBe(T0);
  });

  it('ends it on the local hour where the offset is not whole hours (Asia/Kolkata, +05:30)', () => {
    expect(zoneOffsetMs(T0, 'Asia/Kolkata')).toBe(5.5 * HOUR);
    expect(nextBoundary(T0, HOUR, 'Asia/Kolkata')).toBe(T0 + HOUR / 2);
    expect(localIso(T0 + HOUR / 2, 'Asia/Kolkata')).toBe('2025-11-27T08:00:00+05:30');
  });

  it('writes local times with their offset and topic hours in UTC', () => {
    expect(localIso(T0, 'Asia/Shanghai')).toBe('2025-11-27T10:00:00+08:00');
    expect(localIso(T0, 'America/New_York')).toBe('2025-11-26T21:00:00-05:00');
    expect(topicHour(T0 + HOUR / 2)).toBe('2025-11-27T02:30:00Z');
  });

  it('keeps hourly windows on the local hour across a daylight-saving change (Europe/Berlin)', () => {
    const beforeChange = Date.UTC(2025, 2, 30, 0, 30); // 01:30 CET; at 02:00 CET clocks go to 03:00 CEST
    const end = nextBoundary(beforeChange, HOUR, 'Europe/Berlin');
    expect(localIso(end, 'Europe/Berlin')).toBe('2025-03-30T03:00:00+02:00');
    expect(end - beforeChange).toBe(HOUR / 2);
  });

  it('aligns short windows (tests use 2s) on multiples of the interval', () => {
    expect(nextBoundary(T0 + 2500, 2000, 'Asia/Shanghai')).toBe(T0 + 4000);
  });
});
