import { describe, expect, it } from 'vitest';
import { FIRE_FAULT_CODE, FireModel } from '../../../../devices/models/fire.js';
import type { DeviceSpec, SimEvent, StepResult, Telemetry } from '../../../../devices/models/model.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const PLACE = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const MIDNIGHT = Date.parse('2026-11-16T00:00:00+08:00'); // a Monday
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const SPEC: DeviceSpec = {
  id: 'fire-b1-f3-01',
  kind: 'fire',
  site: 'demo',
  zone: 'b1-f3',
  name: 'detector b1-f3 1',
  role: 'detector',
  tags: { role: 'detector', building: 'b1', floor: '3' },
  params: {},
};

function detector(seed = 7, start = MIDNIGHT) {
  const clock = new ManualClock(start);
  const model = new FireModel(SPEC, { rng: new Random(seed), place: PLACE }, start);
  return { clock, model };
}

interface Run {
  readings: Telemetry[];
  events: SimEvent[];
  steps: StepResult[];
}

/** Steps the model every `stepMs` for `durationMs`, reading telemetry after each step. */
function run(model: FireModel, clock: ManualClock, durationMs: number, stepMs: number): Run {
  const out: Run = { readings: [], events: [], steps: [] };
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    const result = model.step(now);
    out.steps.push(result);
    out.events.push(...result.events);
    out.readings.push(model.telemetry(now));
  }
  return out;
}

const types = (events: SimEvent[]) => events.map((e) => e.type);
const max = (readings: Telemetry[], field: string) => Math.max(...readings.map((r) => r[field] as number));
const min = (readings: Telemetry[], field: string) => Math.min(...readings.map((r) => r[field] as number));

describe('fire detector at rest', () => {
  it('reads little smoke, room temperature and almost no CO over a day', () => {
    const { clock, model } = detector();
    const { readings, events } = run(model, clock, 24 * HOUR, MINUTE);
    expect(events).toStrictEqual([]);
    expect(min(readings, 'smokeObscurationPct')).toBeGreaterThanOrEqual(0);
    expect(max(readings, 'smokeObscurationPct')).toBeLessThanOrEqual(0.3);
    expect(min(readings, 'temperatureC')).toBeGreaterThanOrEqual(19.5);
    expect(max(readings, 'temperatureC')).toBeLessThanOrEqual(24.5);
    expect(max(readings, 'coPpm')).toBeLessThanOrEqual(3);
  });

  it('is warmer in the afternoon than before dawn, in the site time zone', () => {
    const { clock, model } = detector();
    const { readings } = run(model, clock, 24 * HOUR, HOUR); // reading i is at (i+1):00 local
    expect(readings[15].temperatureC as number).toBeGreaterThan((readings[3].temperatureC as number) + 0.5);
  });

  it('drifts upwards slowly as dust settles in the chamber', () => {
    const { clock, model } = detector();
    const first = run(model, clock, 24 * HOUR, HOUR).readings;
    clock.advance(180 * 24 * HOUR);
    const later = run(model, clock, 24 * HOUR, HOUR).readings;
    const mean = (rs: Telemetry[]) => rs.reduce((s, r) => s + (r.smokeObscurationPct as number), 0) / rs.length;
    expect(mean(later) - mean(first)).toBeGreaterThan(0.2);
    expect(mean(later) - mean(first)).toBeLessThan(0.4);
  });

  it('does not ask for an immediate report when nothing happens', () => {
    const { clock, model } = detector();
    const { steps } = run(model, clock, HOUR, MINUTE);
    expect(steps.every((s) => !s.reportNow)).toBe(true);
  });

  it('gives the same readings for the same seed', () => {
    const a = detector(11);
    const b = detector(11);
    expect(run(a.model, a.clock, 2 * HOUR, MINUTE)).toStrictEqual(run(b.model, b.clock, 2 * HOUR, MINUTE));
  });
});

describe('a fire at the origin detector', () => {
  it('sends fire_alarm once when smoke from the origin crosses 12 %', () => {
    const { clock, model } = detector();
    expect(model.startFault({ name: 'fire', role: 'origin' }, clock.now())).toBe(true);
    const { readings, events, steps } = run(model, clock, 10 * MINUTE, 5 * SECOND);
    expect(types(events)).toStrictEqual(['fire_alarm']);
    const alarmStep = steps.findIndex((s) => s.events.length > 0);
    expect(alarmStep).toBeLessThan(24); // within 2 min
    expect(readings[alarmStep].smokeObscurationPct as number).toBeGreaterThan(10);
    expect(readings[alarmStep - 1].smokeObscurationPct as number).toBeLessThan(14);
  });

  it('reaches 15–40 % smoke within a minute and passes 57 °C within a few minutes', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'origin' }, clock.now());
    const { readings } = run(model, clock, 5 * MINUTE, 5 * SECOND);
    const atMinute = readings[11].smokeObscurationPct as number;
    expect(atMinute).toBeGreaterThan(15);
    expect(atMinute).toBeLessThan(40);
    expect(max(readings, 'temperatureC')).toBeGreaterThan(57);
    expect(max(readings, 'coPpm')).toBeGreaterThan(50);
  });

  it('asks for a report at every step while the fire develops', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'origin' }, clock.now());
    const { steps } = run(model, clock, 10 * MINUTE, 30 * SECOND);
    expect(steps.every((s) => s.reportNow)).toBe(true);
  });

  it('sends fire_alarm once even when the steps are minutes long', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'origin' }, clock.now());
    const { events, readings } = run(model, clock, 30 * MINUTE, 5 * MINUTE);
    expect(types(events)).toStrictEqual(['fire_alarm']);
    expect(readings[0].smokeObscurationPct as number).toBeGreaterThan(15);
  });

  it('sends reset after the fault ends and decays back to the baseline', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'origin' }, clock.now());
    run(model, clock, 5 * MINUTE, 10 * SECOND);
    expect(model.endFault('fire', clock.now())).toBe(true);
    const after = run(model, clock, 60 * MINUTE, MINUTE);
    expect(types(after.events)).toStrictEqual(['reset']);
    expect(after.steps[0].reportNow).toBe(true);
    const last = after.readings.at(-1) as Telemetry;
    expect(last.smokeObscurationPct as number).toBeLessThan(0.3);
    expect(last.temperatureC as number).toBeLessThan(25);
    expect(last.coPpm as number).toBeLessThanOrEqual(3);
    expect(model.endFault('fire', clock.now())).toBe(false);
  });

  it('alarms again at a second fire after a reset', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'origin' }, clock.now());
    run(model, clock, 2 * MINUTE, 10 * SECOND);
    model.endFault('fire', clock.now());
    run(model, clock, HOUR, MINUTE);
    model.startFault({ name: 'fire' }, clock.now()); // no role: a fire at this detector
    expect(types(run(model, clock, 2 * MINUTE, 10 * SECOND).events)).toStrictEqual(['fire_alarm']);
  });
});

describe('smoke spreading to a neighbouring detector', () => {
  it('rises to a few per cent without sending fire_alarm', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'spread' }, clock.now());
    const { readings, events } = run(model, clock, 15 * MINUTE, 10 * SECOND);
    expect(events).toStrictEqual([]);
    const last = readings.at(-1) as Telemetry;
    expect(last.smokeObscurationPct as number).toBeGreaterThan(3);
    expect(max(readings, 'smokeObscurationPct')).toBeLessThan(12);
    expect(last.temperatureC as number).toBeGreaterThan(readings[0].temperatureC as number);
    expect(max(readings, 'temperatureC')).toBeLessThan(40);
  });

  it('sends reset when the fire is over', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'spread' }, clock.now());
    run(model, clock, 5 * MINUTE, 10 * SECOND);
    model.endFault('fire', clock.now());
    expect(types(model.step(clock.advance(SECOND)).events)).toStrictEqual(['reset']);
  });
});

describe('fire detector faults', () => {
  it('sends one fault event with its code and asks for a report', () => {
    const { clock, model } = detector();
    expect(model.startFault({ name: 'fire-fault' }, clock.now())).toBe(true);
    model.startFault({ name: 'fire-fault' }, clock.now()); // already on: no second event
    const first = model.step(clock.advance(SECOND));
    expect(first).toStrictEqual({ events: [{ type: 'fault', code: FIRE_FAULT_CODE }], reportNow: true });
    expect(run(model, clock, HOUR, MINUTE).events).toStrictEqual([]);
    expect(model.endFault('fire-fault', clock.now())).toBe(true);
  });

  it('reports a nearly flat battery at once, and a full one after replacement', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'low-battery' }, clock.now());
    expect(model.step(clock.advance(SECOND)).reportNow).toBe(true);
    expect(model.telemetry(clock.now()).batteryPct as number).toBeLessThan(10);
    model.endFault('low-battery', clock.now());
    model.step(clock.advance(SECOND));
    expect(model.telemetry(clock.now()).batteryPct as number).toBeGreaterThan(98);
  });

  it('refuses faults of other kinds', () => {
    const { clock, model } = detector();
    expect(model.startFault({ name: 'door-forced' }, clock.now())).toBe(false);
    expect(model.endFault('door-forced', clock.now())).toBe(false);
  });
});

describe('fire detector commands', () => {
  it('sends a test event at the next step', () => {
    const { clock, model } = detector();
    expect(model.command('test', undefined, clock.now())).toStrictEqual({ ok: true });
    expect(types(model.step(clock.advance(SECOND)).events)).toStrictEqual(['test']);
  });

  it('ends a fire on reset and says so', () => {
    const { clock, model } = detector();
    model.startFault({ name: 'fire', role: 'origin' }, clock.now());
    run(model, clock, 2 * MINUTE, 10 * SECOND);
    expect(model.command('reset', {}, clock.now())).toStrictEqual({ ok: true });
    const { events, readings } = run(model, clock, HOUR, MINUTE);
    expect(types(events)).toStrictEqual(['reset']);
    expect((readings.at(-1) as Telemetry).smokeObscurationPct as number).toBeLessThan(0.3);
    expect(model.endFault('fire', clock.now())).toBe(false);
  });

  it('refuses an unknown action with a message naming it', () => {
    const { clock, model } = detector();
    expect(model.command('explode', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action explode for fire' });
  });
});

describe('what the fire detector sends', () => {
  it('passes the fire schemas for a day with a fire, faults and commands, at uneven steps', () => {
    const { clock, model } = detector(3);
    const steps = new Random(99);
    const actions: [number, () => unknown][] = [
      [2 * HOUR, () => model.startFault({ name: 'fire', role: 'origin' }, clock.now())],
      [2.5 * HOUR, () => model.endFault('fire', clock.now())],
      [4 * HOUR, () => model.startFault({ name: 'fire-fault' }, clock.now())],
      [5 * HOUR, () => model.command('test', undefined, clock.now())],
      [6 * HOUR, () => model.startFault({ name: 'low-battery' }, clock.now())],
      [8 * HOUR, () => model.startFault({ name: 'fire', role: 'spread' }, clock.now())],
      [9 * HOUR, () => model.command('reset', undefined, clock.now())],
    ];
    const seen = new Set<string>();
    while (clock.now() < MIDNIGHT + 24 * HOUR) {
      const now = clock.advance(steps.int(1, 300) * SECOND);
      while (actions.length > 0 && now - MIDNIGHT >= actions[0][0]) (actions.shift() as [number, () => unknown])[1]();
      for (const event of model.step(now).events) {
        seen.add(event.type);
        expect(checkEvent('fire', event)).toMatchObject({ ok: true });
      }
      const reading = model.telemetry(now);
      expect(checkTelemetry('fire', reading)).toStrictEqual({ ok: true, value: reading });
    }
    expect([...seen].sort()).toStrictEqual(['fault', 'fire_alarm', 'reset', 'test']);
  });
});
