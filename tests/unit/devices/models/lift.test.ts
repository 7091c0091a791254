import { describe, expect, it } from 'vitest';
import { LiftModel } from '../../../../devices/models/lift.js';
import type { DeviceSpec, ModelFault } from '../../../../devices/models/model.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';
import { runChecked, runSteps, SHANGHAI } from './harness.js';

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

/** Steps `m` a second at a time from `from` until its car is on a run; answers that time. */
function untilMoving(m: LiftModel, from: number): number {
  for (let t = from; t < from + HOUR; t += SEC) {
    m.step(t);
    if (m.telemetry(t).moving) return t;
  }
  throw new Error('the car never moved');
}

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

  it('lift-alarm-button: alarm_button once, and the car carries on as normal', () => {
    const m = lift(15);
    const t0 = MONDAY + 8 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'lift-alarm-button' }, t0)).toBe(true);
    const clock = new ManualClock(t0);
    const { events, samples } = runChecked('lift', m, clock, HOUR, 10 * SEC);
    expect(events.map((e) => e.event)).toStrictEqual([{ type: 'alarm_button' }]);
    expect(samples.every((s) => s.reading.mode === 'normal')).toBe(true);
    expect(samples.some((s) => s.reading.moving)).toBe(true);
    expect(samples[samples.length - 1].reading.trips).toBeGreaterThan(samples[0].reading.trips as number);
    expect(m.endFault('lift-alarm-button', clock.now())).toBe(true);
    expect(m.step(clock.now() + SEC).events).toStrictEqual([]);
    expect(m.endFault('lift-alarm-button', clock.now())).toBe(false);
  });

  it.each([
    ['lift-power-loss', [{ type: 'power_loss' }], 'normal'],
    ['lift-overspeed', [{ type: 'overspeed' }, { type: 'fault', code: 'E17' }], 'out_of_service'],
  ] as const)('%s on a run: the car stops between floors, doors shut, until it ends', (fault, sent, mode) => {
    const m = lift(17);
    const t0 = untilMoving(m, MONDAY + 8 * HOUR);
    expect(m.startFault({ name: fault }, t0)).toBe(true);
    expect(m.step(t0 + SEC)).toStrictEqual({ events: sent, reportNow: true });
    const clock = new ManualClock(t0 + SEC);
    const held = runChecked('lift', m, clock, HOUR, 10 * SEC);
    expect(held.events).toStrictEqual([]);
    const first = held.samples[0].reading;
    for (const { reading } of held.samples) {
      expect(reading).toMatchObject({ moving: false, direction: 'idle', speedMps: 0, doorOpen: false, mode });
      expect(reading).toMatchObject({ floor: first.floor, trips: first.trips });
    }
    expect(m.endFault(fault, clock.now())).toBe(true);
    // It levels to the landing, lets the passengers out, and goes back into service.
    m.step(clock.now() + SEC);
    expect(m.telemetry(clock.now() + SEC)).toMatchObject({ floor: first.floor, doorOpen: true, mode: 'normal' });
    const after = runSteps<Reading>(m, clock.now() + SEC, clock.now() + HOUR, 10 * SEC);
    expect(after.events).toStrictEqual([]);
    expect(after.readings[after.readings.length - 1].trips).toBeGreaterThan(first.trips as number);
  });

  it('lift-power-loss on a standing car: power_loss, the doors shut and no calls answered', () => {
    const m = lift(19);
    const t0 = MONDAY + 3 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'lift-power-loss' }, t0)).toBe(true);
    const clock = new ManualClock(t0);
    const { events, samples } = runChecked('lift', m, clock, 2 * HOUR, 30 * SEC);
    expect(events.map((e) => e.event)).toStrictEqual([{ type: 'power_loss' }]);
    for (const { reading } of samples) expect(reading).toMatchObject({ moving: false, doorOpen: false, speedMps: 0, trips: samples[0].reading.trips });
    expect(m.endFault('lift-power-loss', clock.now())).toBe(true);
    expect(m.endFault('lift-power-loss', clock.now())).toBe(false);
  });

  it('lift-fault: fault E30, out of service at its landing, back in service when it ends', () => {
    const m = lift(21);
    const t0 = untilMoving(m, MONDAY + 18 * HOUR);
    expect(m.startFault({ name: 'lift-fault' }, t0)).toBe(true);
    const clock = new ManualClock(t0);
    const { events, samples } = runChecked('lift', m, clock, HOUR, 10 * SEC);
    expect(events.map((e) => e.event)).toStrictEqual([{ type: 'fault', code: 'E30' }]);
    for (const { reading } of samples) {
      expect(reading).toMatchObject({ mode: 'out_of_service', moving: false, speedMps: 0, doorOpen: false, trips: samples[0].reading.trips });
    }
    expect(m.endFault('lift-fault', clock.now())).toBe(true);
    const after = runSteps<Reading>(m, clock.now(), clock.now() + HOUR, 10 * SEC);
    expect(after.events).toStrictEqual([]);
    expect(after.readings[0].mode).toBe('normal');
    expect(after.readings[after.readings.length - 1].trips).toBeGreaterThan(samples[0].reading.trips as number);
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

describe('the maintainer’s visits', () => {
  it('puts the car in inspection for about an hour every 14 days, on a morning, with maintenance_start and _end', () => {
    const m = lift(3, { floors: 18, basements: 2, maintenanceDays: 14 });
    const clock = new ManualClock(MONDAY);
    const { events, samples } = runChecked('lift', m, clock, 42 * DAY, MIN);
    const starts = events.filter((e) => e.event.type === 'maintenance_start').map((e) => e.at);
    const ends = events.filter((e) => e.event.type === 'maintenance_end').map((e) => e.at);
    expect(starts).toHaveLength(3);
    expect(starts[1] - starts[0]).toBeGreaterThan(13.5 * DAY);
    expect(starts[1] - starts[0]).toBeLessThan(14.5 * DAY);
    starts.forEach((s, i) => {
      const hour = (s - MONDAY) / HOUR % 24;
      expect(hour).toBeGreaterThanOrEqual(9);
      expect(hour).toBeLessThan(11);
      expect(ends[i] - s).toBeGreaterThanOrEqual(45 * MIN);
      expect(ends[i] - s).toBeLessThanOrEqual(91 * MIN);
    });
    const during = samples.filter((s) => s.at > starts[0] && s.at < ends[0]);
    expect(during.every((s) => s.reading.mode === 'inspection' && s.reading.moving === false)).toBe(true);
  });

  it('comes the next morning when the car is broken down, and never with maintenanceDays 0', () => {
    const m = lift(3, { floors: 18, basements: 2, maintenanceDays: 14 });
    expect(m.startFault({ name: 'lift-fault' }, MONDAY)).toBe(true);
    const clock = new ManualClock(MONDAY);
    const first = runChecked('lift', m, clock, 15 * DAY, MIN).events.filter((e) => e.event.type === 'maintenance_start');
    expect(first).toStrictEqual([]);
    m.endFault('lift-fault', clock.now());
    const after = runChecked('lift', m, clock, 2 * DAY, MIN).events.filter((e) => e.event.type === 'maintenance_start');
    expect(after).toHaveLength(1);
    const never = lift(3, { floors: 18, maintenanceDays: 0 });
    expect(runChecked('lift', never, new ManualClock(MONDAY), 60 * DAY, 10 * MIN).events.filter((e) => e.event.type === 'maintenance_start')).toStrictEqual([]);
  });
});
