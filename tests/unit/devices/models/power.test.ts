import { describe, expect, it } from 'vitest';
import type { DeviceSpec } from '../../../../devices/models/model.js';
import { PowerModel } from '../../../../devices/models/power.js';
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

function room(seed = 7, params: Record<string, number> = { households: 300 }): PowerModel {
  const spec: DeviceSpec = {
    id: 'power-room-01',
    kind: 'power',
    site: 'demo',
    zone: 'power-room',
    name: 'distribution room',
    role: 'room',
    tags: {},
    params,
  };
  return new PowerModel(spec, { rng: new Random(seed), place }, MONDAY);
}

/** Read as numbers; the booleans are compared with toBe. */
type Reading = Record<string, number>;


const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('power room model', () => {
  it('sends only readings the power schema accepts over a normal day, within believable ranges', () => {
    const m = room();
    const { readings, events } = runSteps<Reading>(m, MONDAY, MONDAY + DAY, MIN);
    expect(events).toStrictEqual([]);
    for (const t of readings) {
      expect(checkTelemetry('power', t)).toStrictEqual({ ok: true, value: t });
      expect(t.voltageV).toBeGreaterThanOrEqual(385);
      expect(t.voltageV).toBeLessThanOrEqual(415);
      expect(t.powerFactor).toBeGreaterThanOrEqual(0.85);
      expect(t.powerFactor).toBeLessThanOrEqual(0.95);
      expect(t.transformerTempC).toBeGreaterThan(20);
      expect(t.transformerTempC).toBeLessThan(90);
      expect(t.roomTempC).toBeGreaterThan(15);
      expect(t.roomTempC).toBeLessThan(35);
      expect(t.humidityPct).toBeGreaterThan(30);
      expect(t.humidityPct).toBeLessThan(75);
      expect(t).toMatchObject({ breakerClosed: true, onGenerator: false });
      // P = √3 × V × I × pf
      expect(Math.abs((Math.sqrt(3) * t.voltageV * t.currentA * t.powerFactor) / 1000 / t.powerKw - 1)).toBeLessThan(0.01);
    }
    const at = (h: number) => mean(readings.slice(h * 60 - 30, h * 60 + 30).map((r) => r.powerKw));
    expect(at(20)).toBeGreaterThan(2.5 * at(3));
    // The transformer follows the load with a lag: warmer late in the evening than at dawn.
    const temp = (h: number) => readings[h * 60 - 1].transformerTempC;
    expect(temp(22)).toBeGreaterThan(temp(6) + 5);
  });

  it('mains-loss: mains_loss and generator_start, on the generator with fuel falling, mains_restored at the end', () => {
    const m = room(3);
    const t0 = MONDAY + 19 * HOUR;
    m.step(t0);
    const normal = m.telemetry(t0).powerKw as number;
    expect(m.startFault({ name: 'mains-loss' }, t0)).toBe(true);
    const first = m.step(t0 + 1000);
    expect(first).toStrictEqual({ events: [{ type: 'mains_loss' }, { type: 'generator_start' }], reportNow: true });
    for (const e of first.events) expect(checkEvent('power', e)).toMatchObject({ ok: true });
    const { readings, events } = runSteps<Reading>(m, t0 + 1000, t0 + 2 * HOUR, MIN);
    expect(events).toStrictEqual([]);
    for (let i = 0; i < readings.length; i++) {
      expect(checkTelemetry('power', readings[i])).toMatchObject({ ok: true });
      expect(readings[i].onGenerator).toBe(true);
      expect(readings[i].powerKw).toBeLessThan(normal * 0.5);
      if (i > 0) expect(readings[i].generatorFuelPct).toBeLessThanOrEqual(readings[i - 1].generatorFuelPct as number);
    }
    expect(readings[readings.length - 1].generatorFuelPct).toBeLessThan((readings[0].generatorFuelPct as number) - 5);
    expect(m.endFault('mains-loss', t0 + 2 * HOUR)).toBe(true);
    expect(m.step(t0 + 2 * HOUR + 1000).events).toStrictEqual([{ type: 'mains_restored' }]);
    expect(m.telemetry(t0 + 2 * HOUR + 1000).onGenerator).toBe(false);
  });

  it('breaker-trip: breaker_trip, the breaker open and no load until it is closed again', () => {
    const m = room(4);
    const t0 = MONDAY + 12 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'breaker-trip' }, t0)).toBe(true);
    const { events } = m.step(t0 + 1000);
    expect(events).toStrictEqual([{ type: 'breaker_trip', circuit: 'Q1' }]);
    expect(checkEvent('power', events[0])).toMatchObject({ ok: true });
    for (const r of runSteps<Reading>(m, t0 + 1000, t0 + HOUR, MIN).readings) {
      expect(checkTelemetry('power', r)).toMatchObject({ ok: true });
      expect(r).toMatchObject({ breakerClosed: false, powerKw: 0, currentA: 0 });
    }
    expect(m.endFault('breaker-trip', t0 + HOUR)).toBe(true);
    m.step(t0 + HOUR + MIN);
    expect(m.telemetry(t0 + HOUR + MIN)).toMatchObject({ breakerClosed: true });
    expect(m.telemetry(t0 + HOUR + MIN).powerKw).toBeGreaterThan(0);
  });

  it('transformer-overheat: the temperature climbs past 130 °C within two hours, and cools when it ends', () => {
    const m = room(5);
    const t0 = MONDAY + 14 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'transformer-overheat' }, t0)).toBe(true);
    const { readings } = runSteps<Reading>(m, t0, t0 + 2 * HOUR, MIN);
    for (let i = 1; i < readings.length; i++) expect(readings[i].transformerTempC).toBeGreaterThan(readings[i - 1].transformerTempC as number);
    expect(readings[readings.length - 1].transformerTempC).toBeGreaterThan(130);
    expect(m.endFault('transformer-overheat', t0 + 2 * HOUR)).toBe(true);
    const after = runSteps<Reading>(m, t0 + 2 * HOUR, t0 + 5 * HOUR, MIN).readings;
    expect(after[after.length - 1].transformerTempC).toBeLessThan(100);
  });

  it('power-room-flooding: flooding, the humidity rises', () => {
    const m = room(6);
    const t0 = MONDAY + 4 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'power-room-flooding' }, t0)).toBe(true);
    const { events, readings } = runSteps<Reading>(m, t0, t0 + 2 * HOUR, MIN);
    expect(events).toStrictEqual([{ type: 'flooding' }]);
    expect(checkEvent('power', events[0])).toMatchObject({ ok: true });
    expect(readings[readings.length - 1].humidityPct).toBeGreaterThan(90);
    expect(m.endFault('power-room-flooding', t0 + 2 * HOUR)).toBe(true);
    expect(m.endFault('power-room-flooding', t0 + 2 * HOUR)).toBe(false);
  });

  it('generator-fault with the mains on: generator_fault with its code, the supply unchanged', () => {
    const m = room(8);
    const t0 = MONDAY + 10 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'generator-fault' }, t0)).toBe(true);
    expect(m.step(t0 + 1000)).toStrictEqual({ events: [{ type: 'generator_fault', code: 'E05' }], reportNow: true });
    const clock = new ManualClock(t0 + 1000);
    const { events, samples } = runChecked('power', m, clock, HOUR, MIN);
    expect(events).toStrictEqual([]);
    for (const { reading } of samples) {
      expect(reading).toMatchObject({ breakerClosed: true, onGenerator: false });
      expect(reading.voltageV).toBeGreaterThan(385);
      expect(reading.powerKw).toBeGreaterThan(0);
    }
    expect(m.endFault('generator-fault', clock.now())).toBe(true);
    expect(m.step(clock.now() + 1000).events).toStrictEqual([]);
  });

  it('generator-fault during a mains loss: the essential loads go dark, and come back when it is repaired', () => {
    const m = room(9);
    const t0 = MONDAY + 19 * HOUR;
    m.step(t0);
    m.startFault({ name: 'mains-loss' }, t0);
    m.step(t0 + 1000);
    const fuel = m.telemetry(t0 + 1000).generatorFuelPct as number;
    expect(m.startFault({ name: 'generator-fault' }, t0 + 1000)).toBe(true);
    expect(m.step(t0 + 2000).events).toStrictEqual([{ type: 'generator_fault', code: 'E05' }]);
    const clock = new ManualClock(t0 + 2000);
    const { events, samples } = runChecked('power', m, clock, HOUR, MIN);
    expect(events).toStrictEqual([]);
    for (const { reading } of samples) {
      expect(reading).toMatchObject({ onGenerator: false, voltageV: 0, currentA: 0, powerKw: 0, generatorFuelPct: fuel });
    }
    // Repaired while the mains are still out: it starts and takes the essential loads again.
    expect(m.endFault('generator-fault', clock.now())).toBe(true);
    expect(m.step(clock.now() + 1000).events).toStrictEqual([{ type: 'generator_start' }]);
    const back = m.telemetry(clock.now() + 1000);
    expect(back).toMatchObject({ onGenerator: true });
    expect(back.powerKw).toBeGreaterThan(0);
    expect(back.voltageV).toBeGreaterThan(390);
  });

  it('mains-loss with the generator already failed: mains_loss without generator_start, dark until the mains return', () => {
    const m = room(10);
    const t0 = MONDAY + 12 * HOUR;
    m.step(t0);
    m.startFault({ name: 'generator-fault' }, t0);
    m.startFault({ name: 'mains-loss' }, t0);
    expect(m.step(t0 + 1000).events).toStrictEqual([{ type: 'generator_fault', code: 'E05' }, { type: 'mains_loss' }]);
    expect(m.telemetry(t0 + 1000)).toMatchObject({ onGenerator: false, voltageV: 0, powerKw: 0 });
    m.endFault('mains-loss', t0 + HOUR);
    expect(m.step(t0 + HOUR + 1000).events).toStrictEqual([{ type: 'mains_restored' }]);
    expect(m.telemetry(t0 + HOUR + 1000).powerKw).toBeGreaterThan(0);
  });

  it('takes only the faults of a distribution room and refuses commands', () => {
    const m = room();
    expect(m.startFault({ name: 'fire' }, MONDAY)).toBe(false);
    expect(m.startFault({ name: 'phase-loss' }, MONDAY)).toBe(false);
    expect(m.command('close', undefined, MONDAY)).toStrictEqual({ ok: false, error: 'unknown action close for power' });
  });

  it('is reproducible: the same seed gives the same readings', () => {
    const a = room(42);
    const b = room(42);
    for (let t = MONDAY; t < MONDAY + DAY; t += 7 * MIN) {
      a.step(t);
      b.step(t);
      expect(a.telemetry(t)).toStrictEqual(b.telemetry(t));
    }
  });
});
