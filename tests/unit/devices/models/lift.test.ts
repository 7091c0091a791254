import { describe, expect, it } from 'vitest';
import { LiftModel } from '../../../../devices/models/lift.js';
import type { DeviceSpec, ModelFault } from '../../../../devices/models/model.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';
import { runSteps, SHANGHAI } from './harness.js';

const place = SHANGHAI;
const SEC = 1000;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2 March 2026, 00:00 in Shanghai. */
const MONDAY = Date.UTC(2026, 2, 1, 16);

function lift(seed = 7, params: Record<string, number> = { floors: 18, basements: 2 }): LiftModel {
  const spec: DeviceSpec = {
    id: 'lift-b1-01',
    kind: 'lift',
    site: 'demo',
    zone: 'b1',
    name: 'lift',
    role: 'car',
    tags: {},
    params,
  };
  return new LiftModel(spec, { rng: new Random(seed), place }, MONDAY);
}

type Reading = Record<string, number | boolean | string>;


describe('lift model', () => {
  it('sends only readings the lift schema accepts over a normal day, within believable ranges', () => {
    const m = lift();
    const { readings, events } = runSteps<Reading>(m, MONDAY, MONDAY + DAY, 10 * SEC);
    expect(events).toStrictEqual([]);
    let moving = 0;
    let open = 0;
    const floors = new Set<number>();
    for (const t of readings) {
      expect(checkTelemetry('lift', t)).toStrictEqual({ ok: true, value: t });
      expect(t.floor).toBeGreaterThanOrEqual(-2);
      expect(t.floor).toBeLessThanOrEqual(18);
      expect(t.floor).not.toBe(0);
      expect(t.speedMps).toBeLessThanOrEqual(1.75);
      expect(t.mode).toBe('normal');
      if (t.moving) {
        moving++;
        expect(t.direction).not.toBe('idle');
        expect(t.doorOpen).toBe(false);
        expect(t.speedMps).toBeGreaterThan(0);
      } else {
        expect(t.direction).toBe('idle');
        expect(t.speedMps).toBe(0);
      }
      if (t.doorOpen) open++;
      floors.add(t.floor as number);
    }
    expect(moving).toBeGreaterThan(100);
    expect(open).toBeGreaterThan(100);
    expect(floors.size).toBeGreaterThan(10);
  });

  it('counts trips and run hours that never go back, more trips in the rush than at night', () => {
    const m = lift(3);
    const { readings } = runSteps<Reading>(m, MONDAY, MONDAY + DAY, 10 * SEC);
    for (let i = 1; i < readings.length; i++) {
      expect(readings[i].trips).toBeGreaterThanOrEqual(readings[i - 1].trips as number);
      expect(readings[i].runHours).toBeGreaterThanOrEqual(readings[i - 1].runHours as number);
    }
    const at = (h: number) => readings[Math.round((h * HOUR) / (10 * SEC)) - 1].trips as number;
    const night = at(4) - at(2);
    const rush = at(8.75) - at(6.75);
    expect(rush).toBeGreaterThan(3 * Math.max(night, 5));
    const day = (readings[readings.length - 1].trips as number) - (readings[0].trips as number);
    expect(day).toBeGreaterThan(300);
    expect(day).toBeLessThan(3000);
  });

  it('carries heavier loads in the morning rush than at midday', () => {
    const m = lift(5);
    const mean = (from: number, to: number) => {
      const loads = runSteps<Reading>(m, from, to, 2 * SEC)
        .readings.filter((r) => r.moving)
        .map((r) => r.loadPct as number);
      return loads.reduce((a, b) => a + b, 0) / loads.length;
    };
    m.step(MONDAY + 7 * HOUR);
    const morning = mean(MONDAY + 7 * HOUR, MONDAY + 8.5 * HOUR);
    const midday = mean(MONDAY + 8.5 * HOUR, MONDAY + 14.5 * HOUR);
    expect(morning).toBeGreaterThan(midday * 1.3);
  });

  it('traps a passenger between floors, then releases them when the fault ends', () => {
    const m = lift(9);
    const t0 = MONDAY + 8 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'lift-trapped' }, t0)).toBe(true);
    const { events, reportNow } = m.step(t0 + SEC);
    expect(reportNow).toBe(true);
    expect(events.map((e) => e.type)).toStrictEqual(['stopped_between_floors', 'passenger_trapped']);
    for (const e of events) expect(checkEvent('lift', e)).toMatchObject({ ok: true });
    const stuck = runSteps<Reading>(m, t0 + SEC, t0 + HOUR, 30 * SEC);
    expect(stuck.events).toStrictEqual([]);
    for (const r of stuck.readings) expect(r).toMatchObject({ moving: false, doorOpen: false, speedMps: 0 });
    const trips = stuck.readings[0].trips;
    expect(stuck.readings[stuck.readings.length - 1].trips).toBe(trips);
    expect(m.endFault('lift-trapped', t0 + HOUR)).toBe(true);
    expect(m.step(t0 + HOUR + SEC).events).toStrictEqual([{ type: 'released' }]);
    expect(m.endFault('lift-trapped', t0 + HOUR)).toBe(false);
    // It goes back into service.
    const after = runSteps<Reading>(m, t0 + HOUR, t0 + 2 * HOUR, 10 * SEC);
    expect(after.readings[after.readings.length - 1].trips).toBeGreaterThan(trips as number);
  });

  it('sends door_fault again and again while the door fault lasts', () => {
    const m = lift(11);
    const t0 = MONDAY + 10 * HOUR;
    expect(m.startFault({ name: 'lift-door-fault' }, t0)).toBe(true);
    const { events, readings } = runSteps<Reading>(m, t0, t0 + HOUR, 10 * SEC);
    expect(events.length).toBeGreaterThan(10);
    expect(events.every((e) => e.type === 'door_fault')).toBe(true);
    for (const e of events) expect(checkEvent('lift', e)).toMatchObject({ ok: true });
    for (const r of readings) expect(r).toMatchObject({ moving: false, doorOpen: true });
    expect(m.endFault('lift-door-fault', t0 + HOUR)).toBe(true);
    expect(runSteps<Reading>(m, t0 + HOUR, t0 + 2 * HOUR, 10 * SEC).events).toStrictEqual([]);
  });

  it.each([
    ['lift-out-of-service', 'out_of_service', [], []],
    ['lift-inspection', 'inspection', ['maintenance_start'], ['maintenance_end']],
  ] as const)('%s puts the car in mode %s and it answers no calls', (fault, mode, startEvents, endEvents) => {
    const m = lift(13);
    const t0 = MONDAY + 18 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: fault as ModelFault }, t0)).toBe(true);
    const { events, readings } = runSteps<Reading>(m, t0, t0 + HOUR, 10 * SEC);
    expect(events.map((e) => e.type)).toStrictEqual(startEvents);
    for (const r of readings) {
      expect(checkTelemetry('lift', r)).toMatchObject({ ok: true });
      expect(r).toMatchObject({ mode, moving: false });
    }
    expect(readings[readings.length - 1].trips).toBe(readings[0].trips);
    expect(m.endFault(fault as ModelFault, t0 + HOUR)).toBe(true);
    expect(m.step(t0 + HOUR + SEC).events.map((e) => e.type)).toStrictEqual(endEvents);
    expect(m.telemetry(t0 + HOUR + SEC).mode).toBe('normal');
  });

  it('takes only the faults of a lift and refuses commands', () => {
    const m = lift();
    expect(m.startFault({ name: 'fire' }, MONDAY)).toBe(false);
    expect(m.endFault('lift-trapped', MONDAY)).toBe(false);
    expect(m.command('reset', undefined, MONDAY)).toStrictEqual({ ok: false, error: 'unknown action reset for lift' });
  });

  it('defaults to 18 floors without basements and is reproducible', () => {
    const a = lift(42, {});
    const b = lift(42, {});
    for (let t = MONDAY; t < MONDAY + DAY; t += 7 * MIN) {
      a.step(t);
      b.step(t);
      const r = a.telemetry(t);
      expect(r).toStrictEqual(b.telemetry(t));
      expect(r.floor).toBeGreaterThanOrEqual(1);
      expect(r.floor).toBeLessThanOrEqual(18);
    }
  });
});
