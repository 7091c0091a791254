import { describe, expect, it } from 'vitest';
import type { DeviceSpec } from '../../../../devices/models/model.js';
import { COLLECTION_HOUR, FIRE_REPORT_C, WasteModel } from '../../../../devices/models/waste.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { localTime } from '../../../../devices/sim/local-time.js';
import { Random } from '../../../../devices/sim/random.js';
import { runChecked, SHANGHAI, type Sample } from './harness.js';

const PLACE = SHANGHAI;
const MONDAY = Date.parse('2026-11-16T00:00:00+08:00');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const SPEC: DeviceSpec = {
  id: 'waste-b1-01',
  kind: 'waste',
  site: 'demo',
  zone: 'b1',
  name: 'bin b1 1',
  role: 'bin',
  tags: { role: 'bin' },
  params: {},
};

function bin(start = MONDAY, seed = 5) {
  const clock = new ManualClock(start);
  return { clock, model: new WasteModel(SPEC, { rng: new Random(seed), place: PLACE }, start) };
}


const fill = (s: Sample) => s.reading.fillPct as number;

describe('a bin through the week', () => {
  it('is emptied at 07:00 on weekdays and fills through the day, most in the evening', () => {
    const { clock, model } = bin();
    const { samples, events } = runChecked('waste', model, clock, 7 * DAY, 10 * MINUTE);
    const emptied = events.filter((e) => e.event.type === 'emptied');
    expect(emptied).toHaveLength(5);
    for (const e of emptied) {
      const { hour, weekend } = localTime(e.at, PLACE.timeZone);
      expect(weekend).toBe(false);
      expect(Math.floor(hour)).toBe(COLLECTION_HOUR);
    }
    // Tuesday: after the collection, little by 12:00, more by 23:00, most added in the evening.
    const at = (day: number, h: number) => fill(samples.find((s) => s.at >= MONDAY + day * DAY + h * HOUR) as Sample);
    expect(at(1, 7.5)).toBeLessThan(5);
    expect(at(1, 23.5)).toBeGreaterThan(at(1, 12) + 5);
    expect(at(1, 23.5) - at(1, 16)).toBeGreaterThan(at(1, 16) - at(1, 9));
    expect(at(1, 23.5)).toBeLessThan(60);
  });

  it('fills faster at the weekend', () => {
    const { clock, model } = bin(MONDAY + 4 * DAY + 8 * HOUR, 7); // Friday, after the collection
    const { samples } = runChecked('waste', model, clock, 3 * DAY - 2 * HOUR, 10 * MINUTE);
    const at = (h: number) => fill(samples.find((s) => s.at >= MONDAY + 4 * DAY + h * HOUR) as Sample);
    const friday = at(24) - at(8.5);
    const saturday = at(48) - at(24);
    expect(saturday).toBeGreaterThan(friday);
  });

  it('follows the day with its temperature', () => {
    const { clock, model } = bin();
    const { samples } = runChecked('waste', model, clock, DAY, 10 * MINUTE);
    const t = (from: number, to: number) => {
      const xs = samples.filter((s) => s.hour >= from && s.hour < to).map((s) => s.reading.temperatureC as number);
      return xs.reduce((a, b) => a + b, 0) / xs.length;
    };
    expect(t(13, 16)).toBeGreaterThan(t(2, 5) + 6);
    expect(t(13, 16)).toBeLessThan(40);
  });
});

describe('waste faults', () => {
  it('fills within minutes when overfilled, is not collected, sends full once, and is emptied when the fault ends', () => {
    const { clock, model } = bin();
    expect(model.startFault({ name: 'bin-overfill' }, clock.now())).toBe(true);
    const { samples, events } = runChecked('waste', model, clock, 7 * DAY, 30 * MINUTE);
    expect(events.map((e) => e.event.type)).toStrictEqual(['full']);
    expect(events[0].at).toBe(samples[0].at); // full at the first step, 30 minutes in
    expect(fill(samples.at(-1) as Sample)).toBeGreaterThanOrEqual(99);
    expect(model.endFault('bin-overfill', clock.now())).toBe(true);
    expect(model.step(clock.advance(SECOND))).toStrictEqual({ events: [{ type: 'emptied' }], reportNow: true });
    expect(model.telemetry(clock.now()).fillPct as number).toBeLessThan(5);
  });

  it('heats up fast in a fire and sends fire once, then cools when it is put out', () => {
    const { clock, model } = bin(MONDAY + 2 * HOUR);
    expect(model.startFault({ name: 'bin-fire' }, clock.now())).toBe(true);
    const { events, samples } = runChecked('waste', model, clock, 30 * MINUTE, MINUTE);
    expect(events.map((e) => e.event.type)).toStrictEqual(['fire']);
    expect(events[0].at - (MONDAY + 2 * HOUR)).toBeLessThan(15 * MINUTE);
    expect(samples.at(-1)?.reading.temperatureC as number).toBeGreaterThan(FIRE_REPORT_C);
    expect(model.endFault('bin-fire', clock.now())).toBe(true);
    expect(model.telemetry(clock.now()).temperatureC as number).toBeLessThan(30);
  });

  it('reports a flat battery, answers empty and refuses the rest', () => {
    const { clock, model } = bin();
    model.startFault({ name: 'low-battery' }, clock.now());
    expect(model.telemetry(clock.now()).batteryPct as number).toBeLessThan(10);
    expect(model.command('empty', undefined, clock.now())).toStrictEqual({ ok: true });
    expect(model.step(clock.advance(SECOND)).events).toStrictEqual([{ type: 'emptied' }]);
    expect(model.command('compact', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action compact for waste' });
    expect(model.startFault({ name: 'leak' }, clock.now())).toBe(false);
    expect(model.endFault('bin-fire', clock.now())).toBe(false);
  });
});
