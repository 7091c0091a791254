import { describe, expect, it } from 'vitest';
import type { DeviceSpec } from '../../../../devices/models/model.js';
import { WaterModel } from '../../../../devices/models/water.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';
import { runChecked, runSteps, SHANGHAI } from './harness.js';

const place = SHANGHAI;
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2 March 2026, 00:00 in Shanghai. */
const MONDAY = Date.UTC(2026, 2, 1, 16);

function pumpSet(seed = 7, params: Record<string, number> = { households: 300 }): WaterModel {
  const spec: DeviceSpec = {
    id: 'water-pump-01',
    kind: 'water',
    site: 'demo',
    zone: 'pump-room',
    name: 'booster set',
    role: 'pump-set',
    tags: {},
    params,
  };
  return new WaterModel(spec, { rng: new Random(seed), place }, MONDAY);
}

/** Read as numbers; the booleans are compared with toBe. */
type Reading = Record<string, number>;


const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('water pump set model', () => {
  it('sends only readings and events the water schema accepts over a normal day, within believable ranges', () => {
    const m = pumpSet();
    const { readings, events } = runSteps<Reading>(m, MONDAY, MONDAY + DAY, MIN);
    for (const t of readings) {
      expect(checkTelemetry('water', t)).toStrictEqual({ ok: true, value: t });
      expect(t.chlorineMgL).toBeGreaterThanOrEqual(0.2);
      expect(t.chlorineMgL).toBeLessThanOrEqual(0.6);
      expect(t.turbidityNtu).toBeLessThan(0.5);
      expect(t.levelPct).toBeGreaterThan(20);
      expect(t.pressureMpa).toBeGreaterThan(0.28);
      expect(t.pressureMpa).toBeLessThan(0.4);
      expect(t.frequencyHz).toBeLessThanOrEqual(50);
      if (t.pumpRunning) {
        expect(t.frequencyHz).toBeGreaterThanOrEqual(30);
        expect(t.pumpCurrentA).toBeGreaterThan(0);
      } else expect(t.pumpCurrentA).toBe(0);
    }
    expect(mean(readings.map((r) => r.chlorineMgL))).toBeGreaterThan(0.3);
    expect(mean(readings.map((r) => r.chlorineMgL))).toBeLessThan(0.5);
    expect(mean(readings.filter((r) => r.pumpRunning).map((r) => r.pressureMpa))).toBeCloseTo(0.35, 2);
    expect(new Set(events.map((e) => e.type))).toStrictEqual(new Set(['pump_start', 'pump_stop']));
    for (const e of events) expect(checkEvent('water', e)).toMatchObject({ ok: true });
    // The flow follows the day: the evening peak is many times the night's.
    const at = (h: number) => mean(readings.slice(h * 60 - 30, h * 60 + 30).map((r) => r.flowM3h));
    expect(at(20)).toBeGreaterThan(5 * at(3));
    // The tank dips with the peaks and refills.
    const levels = readings.map((r) => r.levelPct);
    expect(Math.max(...levels) - Math.min(...levels)).toBeGreaterThan(5);
  });

  it('keeps volume, starts and run hours cumulative, and counts a few starts an hour at most', () => {
    const m = pumpSet(3);
    const { readings } = runSteps<Reading>(m, MONDAY, MONDAY + 2 * DAY, 30_000);
    for (let i = 1; i < readings.length; i++) {
      for (const k of ['volumeM3', 'starts', 'runHours']) expect(readings[i][k]).toBeGreaterThanOrEqual(readings[i - 1][k] as number);
    }
    const starts = (readings[readings.length - 1].starts as number) - (readings[0].starts as number);
    expect(starts).toBeGreaterThan(10);
    expect(starts / 48).toBeLessThan(8);
    // 300 households use about 0.4 m³ a day each.
    const m3 = (readings[readings.length - 1].volumeM3 as number) - (readings[0].volumeM3 as number);
    expect(m3 / 2).toBeGreaterThan(300 * 0.2);
    expect(m3 / 2).toBeLessThan(300 * 0.8);
  });

  it('pump-fault sends pump_fault and the pressure drops', () => {
    const m = pumpSet(5);
    const t0 = MONDAY + 19 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'pump-fault' }, t0)).toBe(true);
    const { events, readings } = runSteps<Reading>(m, t0, t0 + HOUR, MIN);
    expect(events[0]).toStrictEqual({ type: 'pump_fault', pump: 'P1', code: 'E21' });
    for (const e of events) expect(checkEvent('water', e)).toMatchObject({ ok: true });
    for (const r of readings) expect(r.pressureMpa).toBeLessThan(0.25);
    expect(m.endFault('pump-fault', t0 + HOUR)).toBe(true);
    const after = runSteps<Reading>(m, t0 + HOUR, t0 + 2 * HOUR, MIN).readings;
    expect(after[after.length - 1].pressureMpa).toBeGreaterThan(0.3);
  });

  it('dry-run sends dry_run, the level falls near 0 and the pumps stop', () => {
    const m = pumpSet(6);
    const t0 = MONDAY + 12 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'dry-run' }, t0)).toBe(true);
    const { events, readings } = runSteps<Reading>(m, t0, t0 + HOUR, MIN);
    expect(events.map((e) => e.type).filter((t) => t !== 'pump_stop')).toStrictEqual(['dry_run']);
    for (const r of readings) {
      expect(r.levelPct).toBeLessThan(3);
      expect(r.pumpRunning).toBe(false);
      expect(checkTelemetry('water', r)).toMatchObject({ ok: true });
    }
    expect(m.endFault('dry-run', t0 + HOUR)).toBe(true);
    const after = runSteps<Reading>(m, t0 + HOUR, t0 + 3 * HOUR, MIN).readings;
    expect(after[after.length - 1].levelPct).toBeGreaterThan(30);
    expect(after[after.length - 1].pumpRunning).toBe(true);
  });

  it('water-leak sends leak and the night flow stays up', () => {
    const leaking = pumpSet(8);
    const healthy = pumpSet(8);
    const t0 = MONDAY + HOUR;
    leaking.step(t0);
    expect(leaking.startFault({ name: 'water-leak' }, t0)).toBe(true);
    healthy.step(t0);
    const a = runSteps<Reading>(leaking, t0, t0 + 3 * HOUR, MIN);
    const b = runSteps<Reading>(healthy, t0, t0 + 3 * HOUR, MIN);
    expect(a.events[0]).toStrictEqual({ type: 'leak', location: 'riser' });
    expect(checkEvent('water', a.events[0])).toMatchObject({ ok: true });
    expect(mean(a.readings.map((r) => r.flowM3h))).toBeGreaterThan(mean(b.readings.map((r) => r.flowM3h)) + 4);
    expect(leaking.endFault('water-leak', t0 + 3 * HOUR)).toBe(true);
  });

  it('pump-short-cycling starts the pumps many times an hour', () => {
    const m = pumpSet(9);
    const t0 = MONDAY + 2 * HOUR;
    m.step(t0);
    const before = m.telemetry(t0).starts as number;
    expect(m.startFault({ name: 'pump-short-cycling' }, t0)).toBe(true);
    const { events, readings } = runSteps<Reading>(m, t0, t0 + HOUR, 5_000);
    const starts = (readings[readings.length - 1].starts as number) - before;
    expect(starts).toBeGreaterThan(20);
    expect(events.filter((e) => e.type === 'pump_start')).toHaveLength(starts);
    expect(m.endFault('pump-short-cycling', t0 + HOUR)).toBe(true);
    expect(m.endFault('pump-short-cycling', t0 + HOUR)).toBe(false);
  });

  it('tank-overflow: the level reaches 100 % within minutes, overflow once, above 95 % until it ends', () => {
    const m = pumpSet(10);
    const t0 = MONDAY + 20 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'tank-overflow' }, t0)).toBe(true);
    const clock = new ManualClock(t0);
    const { events, samples } = runChecked('water', m, clock, 2 * HOUR, MIN);
    const overflow = events.filter((e) => e.event.type === 'overflow');
    expect(overflow.map((e) => e.event)).toStrictEqual([{ type: 'overflow' }]);
    expect(overflow[0].at - t0).toBeLessThan(15 * MIN);
    for (const { reading } of samples) expect(reading.levelPct).toBeGreaterThan(95);
    expect(samples[samples.length - 1].reading.levelPct).toBe(100);
    expect(m.endFault('tank-overflow', clock.now())).toBe(true);
    // The valve shuts: the demand draws the tank down and the float valve keeps it in its normal band.
    const after = runChecked('water', m, clock, 6 * HOUR, MIN);
    expect(after.events.map((e) => e.event.type)).not.toContain('overflow');
    expect(after.samples[after.samples.length - 1].reading.levelPct).toBeLessThan(99);
  });

  it('water-contamination: chlorine below 0.05 mg/L and turbidity above 1 NTU within 10 minutes, clear again when it ends', () => {
    const m = pumpSet(11);
    const t0 = MONDAY + 10 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'water-contamination' }, t0)).toBe(true);
    const clock = new ManualClock(t0);
    const { events, samples } = runChecked('water', m, clock, 2 * HOUR, MIN);
    expect(events.map((e) => e.event.type).filter((t) => t !== 'pump_start' && t !== 'pump_stop')).toStrictEqual([]);
    for (const { reading } of samples.filter((s) => s.at >= t0 + 10 * MIN)) {
      expect(reading.chlorineMgL).toBeLessThan(0.05);
      expect(reading.turbidityNtu).toBeGreaterThan(1);
    }
    expect(m.endFault('water-contamination', clock.now())).toBe(true);
    const after = runChecked('water', m, clock, HOUR, MIN).samples.filter((s) => s.at >= clock.now() - 30 * MIN);
    for (const { reading } of after) {
      expect(reading.chlorineMgL).toBeGreaterThanOrEqual(0.2);
      expect(reading.turbidityNtu).toBeLessThan(0.5);
    }
  });

  it('chlorine-overdose: chlorine above 2 mg/L within 10 minutes, back to normal when it ends', () => {
    const m = pumpSet(12);
    const t0 = MONDAY + 10 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'chlorine-overdose' }, t0)).toBe(true);
    const clock = new ManualClock(t0);
    const { samples } = runChecked('water', m, clock, 2 * HOUR, MIN);
    for (const { reading } of samples.filter((s) => s.at >= t0 + 10 * MIN)) {
      expect(reading.chlorineMgL).toBeGreaterThan(2);
      expect(reading.turbidityNtu).toBeLessThan(0.5);
    }
    expect(m.endFault('chlorine-overdose', clock.now())).toBe(true);
    expect(m.endFault('chlorine-overdose', clock.now())).toBe(false);
    const after = runChecked('water', m, clock, HOUR, MIN).samples.filter((s) => s.at >= clock.now() - 30 * MIN);
    for (const { reading } of after) expect(reading.chlorineMgL).toBeLessThanOrEqual(0.6);
  });

  it('takes only the faults of a pump set and refuses commands', () => {
    const m = pumpSet();
    expect(m.startFault({ name: 'fire' }, MONDAY)).toBe(false);
    expect(m.command('start', undefined, MONDAY)).toStrictEqual({ ok: false, error: 'unknown action start for water' });
  });

  it('is reproducible: the same seed gives the same readings', () => {
    const a = pumpSet(42);
    const b = pumpSet(42);
    for (let t = MONDAY; t < MONDAY + DAY; t += 7 * MIN) {
      a.step(t);
      b.step(t);
      expect(a.telemetry(t)).toStrictEqual(b.telemetry(t));
    }
  });
});
