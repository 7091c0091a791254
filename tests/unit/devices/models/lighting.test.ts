import { describe, expect, it } from 'vitest';
import { LightingModel } from '../../../../devices/models/lighting.js';
import type { DeviceSpec, SimEvent, StepResult, Telemetry } from '../../../../devices/models/model.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const PLACE = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** A November evening in Shanghai: dark from about 17:25 to 06:05. */
const local = (time: string) => Date.parse(`2026-11-17T${time}:00+08:00`);

function spec(role: string, zone: string, ratedW: number, floor?: string): DeviceSpec {
  const tags: Record<string, string> = floor === undefined ? { role, area: zone } : { role, building: 'b1', floor };
  return { id: `lighting-${zone}-01`, kind: 'lighting', site: 'demo', zone, name: `${role} ${zone} 1`, role, tags, params: { ratedW } };
}
const STREET = spec('street', 'street', 90);
const CARPARK = spec('carpark', 'carpark', 40);
const CORRIDOR = spec('corridor', 'b1-f3', 18, '3');

function lamp(s: DeviceSpec = STREET, start = local('12:00'), seed = 9) {
  const clock = new ManualClock(start);
  return { clock, model: new LightingModel(s, { rng: new Random(seed), place: PLACE }, start) };
}

/** Steps to `at` (in one step) and reads the lamp there. */
function readAt(model: LightingModel, clock: ManualClock, at: number): Record<string, unknown> & { step: StepResult } {
  clock.set(at);
  const step = model.step(at);
  return { ...model.telemetry(at), step };
}

interface Run {
  readings: Telemetry[];
  events: SimEvent[];
}

function run(model: LightingModel, clock: ManualClock, durationMs: number, stepMs: number): Run {
  const out: Run = { readings: [], events: [] };
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    out.events.push(...model.step(now).events);
    out.readings.push(model.telemetry(now));
  }
  return out;
}

describe('street light schedule', () => {
  it('is off at noon, on at 21:00 and dimmed to 50 % at 02:00 in November', () => {
    const { clock, model } = lamp(STREET, local('11:00'));
    expect(readAt(model, clock, local('12:00'))).toMatchObject({ on: false, brightnessPct: 0 });
    expect(readAt(model, clock, local('21:00'))).toMatchObject({ on: true, brightnessPct: 100 });
    expect(readAt(model, clock, local('02:00') + DAY)).toMatchObject({ on: true, brightnessPct: 50 });
    expect(readAt(model, clock, local('12:00') + DAY)).toMatchObject({ on: false, brightnessPct: 0 });
  });

  it('switches on around dusk and reports the switch at once', () => {
    const { clock, model } = lamp(STREET, local('16:00'));
    let switchedAt = 0;
    for (let t = local('16:00') + MINUTE; t <= local('19:00'); t += MINUTE) {
      const r = readAt(model, clock, t);
      if (r.on) {
        switchedAt = t;
        expect(r.step.reportNow).toBe(true);
        break;
      }
      expect(r.step.reportNow).toBe(false);
    }
    expect(switchedAt).toBeGreaterThan(local('17:00'));
    expect(switchedAt).toBeLessThan(local('18:00'));
  });

  it('draws about its rated power times the brightness, and standby power when off', () => {
    const { clock, model } = lamp(STREET, local('11:00'));
    const full = readAt(model, clock, local('21:00'));
    expect(full.powerW as number).toBeGreaterThan(90 * 0.93);
    expect(full.powerW as number).toBeLessThan(90 * 1.08);
    const dimmed = readAt(model, clock, local('02:00') + DAY);
    expect(dimmed.powerW as number).toBeGreaterThan(45 * 0.93);
    expect(dimmed.powerW as number).toBeLessThan(45 * 1.08 + 0.5);
    const off = readAt(model, clock, local('12:00') + DAY);
    expect(off.powerW as number).toBeLessThan(1);
  });

  it('reads a mains voltage of 220–235 V', () => {
    const { clock, model } = lamp(STREET);
    const { readings } = run(model, clock, DAY, 10 * MINUTE);
    for (const r of readings) {
      expect(r.voltageV as number).toBeGreaterThanOrEqual(220);
      expect(r.voltageV as number).toBeLessThanOrEqual(235);
    }
  });
});

describe('car park and corridor lights', () => {
  it('keeps the underground car park lit all day, at half brightness after midnight', () => {
    const { clock, model } = lamp(CARPARK, local('00:00'));
    expect(readAt(model, clock, local('03:00'))).toMatchObject({ on: true, brightnessPct: 50 });
    expect(readAt(model, clock, local('12:00'))).toMatchObject({ on: true, brightnessPct: 100 });
    expect(readAt(model, clock, local('21:00'))).toMatchObject({ on: true, brightnessPct: 100 });
  });

  it('keeps corridors at 30 % and raises them to 100 % for passers-by, more often in the evening', () => {
    const { clock, model } = lamp(CORRIDOR, local('00:00'));
    const { readings } = run(model, clock, DAY, MINUTE);
    expect(readings.every((r) => r.on && (r.brightnessPct === 30 || r.brightnessPct === 100))).toBe(true);
    const bright = (from: number, to: number) => readings.slice(from * 60, to * 60).filter((r) => r.brightnessPct === 100).length;
    expect(bright(19, 21)).toBeGreaterThan(3 * bright(2, 4) + 5);
  });
});

describe('lighting commands', () => {
  it('switches off on command and holds it until dawn, then follows the schedule again', () => {
    const { clock, model } = lamp(STREET, local('20:59'));
    expect(model.command('off', undefined, local('21:00'))).toStrictEqual({ ok: true });
    const next = readAt(model, clock, local('21:00') + SECOND);
    expect(next).toMatchObject({ on: false, brightnessPct: 0 });
    expect(next.step.reportNow).toBe(true);
    for (let h = 1; h <= 9; h++) expect(readAt(model, clock, local('21:00') + h * HOUR).on).toBe(false); // to 06:00
    readAt(model, clock, local('09:00') + DAY); // daylight: the override is over
    expect(readAt(model, clock, local('21:00') + DAY)).toMatchObject({ on: true, brightnessPct: 100 });
  });

  it('switches on at noon on command, at params.pct when given', () => {
    const { clock, model } = lamp(STREET, local('12:00'));
    expect(model.command('on', { pct: 70 }, clock.now())).toStrictEqual({ ok: true });
    expect(readAt(model, clock, local('12:01'))).toMatchObject({ on: true, brightnessPct: 70 });
    model.command('on', undefined, clock.now());
    expect(readAt(model, clock, local('12:02'))).toMatchObject({ on: true, brightnessPct: 100 });
    expect(readAt(model, clock, local('12:00') + DAY)).toMatchObject({ on: false }); // dusk and dawn have passed
  });

  it('dims to params.pct', () => {
    const { clock, model } = lamp(STREET, local('21:00'));
    expect(model.command('dim', { pct: 40 }, clock.now())).toStrictEqual({ ok: true });
    const r = readAt(model, clock, local('21:01'));
    expect(r).toMatchObject({ on: true, brightnessPct: 40 });
    expect(r.powerW as number).toBeLessThan(90 * 0.45);
  });

  it.each([undefined, {}, { pct: 150 }, { pct: -1 }, { pct: '50' }])('refuses dim with params %j, naming params.pct', (params) => {
    const { clock, model } = lamp(STREET, local('21:00'));
    expect(model.command('dim', params, clock.now())).toStrictEqual({ ok: false, error: 'params.pct: expected a number 0..100' });
    expect(readAt(model, clock, local('21:01')).brightnessPct).toBe(100);
  });

  it('refuses an unknown action with a message naming it', () => {
    const { clock, model } = lamp();
    expect(model.command('blink', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action blink for lighting' });
  });
});

describe('lighting faults', () => {
  it('sends lamp_failure once, then reports on while drawing almost nothing, until replaced', () => {
    const { clock, model } = lamp(STREET, local('21:00'));
    expect(model.startFault({ name: 'lamp-failure' }, clock.now())).toBe(true);
    const first = readAt(model, clock, local('21:01'));
    expect(first.step).toStrictEqual({ events: [{ type: 'lamp_failure' }], reportNow: true });
    expect(first.on).toBe(true);
    expect(first.powerW as number).toBeLessThan(1);
    const later = run(model, clock, HOUR, MINUTE);
    expect(later.events).toStrictEqual([]);
    expect(later.readings.every((r) => r.on && (r.powerW as number) < 1)).toBe(true);
    expect(model.endFault('lamp-failure', clock.now())).toBe(true);
    expect(readAt(model, clock, clock.now() + MINUTE).powerW as number).toBeGreaterThan(80);
  });

  it('sends circuit_trip from the origin lamp, and reads no power and no voltage', () => {
    const { clock, model } = lamp(STREET, local('21:00'));
    model.startFault({ name: 'circuit-trip', role: 'origin' }, clock.now());
    const r = readAt(model, clock, local('21:01'));
    expect(r.step).toStrictEqual({ events: [{ type: 'circuit_trip' }], reportNow: true });
    expect(r).toMatchObject({ on: true, powerW: 0, voltageV: 0 });
  });

  it('goes dark without an event on a lamp the trip spreads to, and recovers when it ends', () => {
    const { clock, model } = lamp(CORRIDOR, local('21:00'));
    model.startFault({ name: 'circuit-trip', role: 'spread' }, clock.now());
    const r = readAt(model, clock, local('21:01'));
    expect(r.step).toStrictEqual({ events: [], reportNow: true });
    expect(r).toMatchObject({ powerW: 0, voltageV: 0 });
    expect(model.endFault('circuit-trip', clock.now())).toBe(true);
    const back = readAt(model, clock, local('21:02'));
    expect(back.voltageV as number).toBeGreaterThan(215);
    expect(back.powerW as number).toBeGreaterThan(5);
  });

  it('refuses faults of other kinds', () => {
    const { clock, model } = lamp();
    expect(model.startFault({ name: 'low-battery' }, clock.now())).toBe(false);
    expect(model.endFault('lamp-failure', clock.now())).toBe(false);
  });
});

describe('what the lamp sends', () => {
  it.each([STREET, CARPARK, CORRIDOR])('passes the lighting schemas for a day of a $role light with faults and commands', (s) => {
    const start = local('00:00');
    const { clock, model } = lamp(s, start, 21);
    const steps = new Random(99);
    const actions: [number, () => unknown][] = [
      [3 * HOUR, () => model.command('dim', { pct: 33.5 }, clock.now())],
      [8 * HOUR, () => model.startFault({ name: 'lamp-failure' }, clock.now())],
      [9 * HOUR, () => model.endFault('lamp-failure', clock.now())],
      [13 * HOUR, () => model.command('on', undefined, clock.now())],
      [18 * HOUR, () => model.startFault({ name: 'circuit-trip', role: 'origin' }, clock.now())],
      [19 * HOUR, () => model.endFault('circuit-trip', clock.now())],
      [22 * HOUR, () => model.command('off', undefined, clock.now())],
    ];
    const seen = new Set<string>();
    while (clock.now() < start + DAY) {
      const now = clock.advance(steps.int(1, 300) * SECOND);
      while (actions.length > 0 && now - start >= actions[0][0]) (actions.shift() as [number, () => unknown])[1]();
      for (const event of model.step(now).events) {
        seen.add(event.type);
        expect(checkEvent('lighting', event)).toStrictEqual({ ok: true, value: event });
      }
      const reading = model.telemetry(now);
      expect(checkTelemetry('lighting', reading)).toStrictEqual({ ok: true, value: reading });
    }
    expect([...seen].sort()).toStrictEqual(['circuit_trip', 'lamp_failure']);
  });

  it('gives the same readings for the same seed', () => {
    const a = lamp(CORRIDOR, local('00:00'), 4);
    const b = lamp(CORRIDOR, local('00:00'), 4);
    expect(run(a.model, a.clock, DAY, MINUTE)).toStrictEqual(run(b.model, b.clock, DAY, MINUTE));
  });
});
