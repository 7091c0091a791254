import { describe, expect, it } from 'vitest';
import { EnergyModel } from '../../../../devices/models/energy.js';
import type { DeviceSpec, SimEvent } from '../../../../devices/models/model.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const place = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2 March 2026, 00:00 in Shanghai. */
const MONDAY = Date.UTC(2026, 2, 1, 16);

function meter(seed = 7, role = 'building', households = 80): EnergyModel {
  const spec: DeviceSpec = {
    id: 'energy-b1-power-01',
    kind: 'energy',
    site: 'demo',
    zone: 'b1-power',
    name: 'meter',
    role,
    tags: { role },
    params: { households },
  };
  return new EnergyModel(spec, { rng: new Random(seed), place }, MONDAY);
}

const reading = (m: EnergyModel, now: number) => m.telemetry(now) as Record<string, number>;

describe('energy meter model', () => {
  it('sends only readings and events the energy schema accepts over a day with both faults', () => {
    const m = meter();
    const clock = new ManualClock(MONDAY);
    const events: SimEvent[] = [];
    while (clock.now() < MONDAY + DAY) {
      const now = clock.advance(MIN);
      if (now === MONDAY + 10 * HOUR) m.startFault({ name: 'phase-loss' }, now);
      if (now === MONDAY + 11 * HOUR) m.endFault('phase-loss', now);
      if (now === MONDAY + 15 * HOUR) m.startFault({ name: 'meter-tamper' }, now);
      events.push(...m.step(now).events);
      const t = m.telemetry(now);
      expect(checkTelemetry('energy', t)).toStrictEqual({ ok: true, value: t });
    }
    expect(events.map((e) => e.type)).toStrictEqual(['phase_loss', 'meter_tamper']);
    for (const e of events) expect(checkEvent('energy', e)).toMatchObject({ ok: true });
  });

  it('reports every field of the contract with a plausible value', () => {
    const m = meter();
    m.step(MONDAY + 20 * HOUR);
    const t = reading(m, MONDAY + 20 * HOUR);
    expect(Object.keys(t).sort()).toStrictEqual(['currentA', 'energyKwh', 'powerFactor', 'powerKw', 'voltageV']);
    expect(t.energyKwh).toBeGreaterThan(80 * 1000);
    expect(t.energyKwh).toBeLessThan(80 * 2000);
    expect(t.voltageV).toBeGreaterThanOrEqual(227);
    expect(t.voltageV).toBeLessThanOrEqual(233);
    expect(t.powerFactor).toBeGreaterThanOrEqual(0.92);
    expect(t.powerFactor).toBeLessThanOrEqual(0.97);
  });

  it('never lets the register go back in a week of normal running, whatever the step', () => {
    const m = meter(3);
    const rng = new Random(99);
    let now = MONDAY;
    let previous = reading(m, now).energyKwh;
    const start = previous;
    while (now < MONDAY + 7 * DAY) {
      now += rng.int(1_000, 5 * MIN);
      m.step(now);
      const kwh = reading(m, now).energyKwh;
      expect(kwh).toBeGreaterThanOrEqual(previous);
      previous = kwh;
    }
    // 80 households use roughly 10–30 kWh a day each.
    expect(previous - start).toBeGreaterThan(80 * 7 * 8);
    expect(previous - start).toBeLessThan(80 * 7 * 30);
  });

  it('integrates power over time: the register grows by the mean power times the hours', () => {
    const m = meter(5);
    const start = reading(m, MONDAY).energyKwh;
    let sumKw = 0;
    for (let i = 1; i <= 24 * 60; i++) {
      m.step(MONDAY + i * MIN);
      sumKw += reading(m, MONDAY + i * MIN).powerKw;
    }
    const grown = reading(m, MONDAY + DAY).energyKwh - start;
    expect(grown).toBeCloseTo(sumKw / 60, -1);
  });

  it('draws clearly more in the evening than at 03:00', () => {
    for (const seed of [1, 2, 3]) {
      const m = meter(seed);
      const mean = (from: number, to: number) => {
        let sum = 0;
        let n = 0;
        for (let t = from; t < to; t += MIN, n++) {
          m.step(t);
          sum += reading(m, t).powerKw;
        }
        return sum / n;
      };
      const night = mean(MONDAY + 2.5 * HOUR, MONDAY + 3.5 * HOUR);
      const evening = mean(MONDAY + 19.5 * HOUR, MONDAY + 20.5 * HOUR);
      expect(night / 80).toBeGreaterThan(0.25);
      expect(night / 80).toBeLessThan(0.55);
      expect(evening).toBeGreaterThan(2.5 * night);
    }
  });

  it('has a morning peak on weekdays above the midday lull', () => {
    const m = meter(4);
    m.step(MONDAY + 7.6 * HOUR);
    const morning = reading(m, MONDAY + 7.6 * HOUR).powerKw;
    m.step(MONDAY + 11 * HOUR);
    expect(morning).toBeGreaterThan(1.3 * reading(m, MONDAY + 11 * HOUR).powerKw);
  });

  it('keeps current, voltage and power factor consistent with P = 3 × V × I × pf', () => {
    const m = meter(8);
    for (let t = MONDAY; t < MONDAY + DAY; t += 17 * MIN) {
      m.step(t);
      const r = reading(m, t);
      expect((3 * r.voltageV * r.currentA * r.powerFactor) / 1000).toBeCloseTo(r.powerKw, 0);
      expect(Math.abs((3 * r.voltageV * r.currentA * r.powerFactor) / 1000 / r.powerKw - 1)).toBeLessThan(0.01);
    }
  });

  it('winds the register back once under meter-tamper, sends meter_tamper, then counts on from the lower value', () => {
    const m = meter(11);
    const t0 = MONDAY + 12 * HOUR;
    m.step(t0);
    const before = reading(m, t0).energyKwh;
    expect(m.startFault({ name: 'meter-tamper' }, t0)).toBe(true);
    expect(m.step(t0 + 1000)).toStrictEqual({ events: [{ type: 'meter_tamper' }], reportNow: true });
    const after = reading(m, t0 + 1000).energyKwh;
    expect(after).toBeLessThan(before * 0.96);
    expect(after).toBeGreaterThan(before * 0.79);
    // Starting it again does not wind the register back a second time.
    expect(m.startFault({ name: 'meter-tamper' }, t0 + 2000)).toBe(true);
    let previous = after;
    for (let t = t0 + MIN; t < t0 + 6 * HOUR; t += MIN) {
      expect(m.step(t).events).toStrictEqual([]);
      const kwh = reading(m, t).energyKwh;
      expect(kwh).toBeGreaterThanOrEqual(previous);
      previous = kwh;
    }
    expect(previous).toBeGreaterThan(after);
    expect(previous).toBeLessThan(before);
    expect(m.endFault('meter-tamper', t0 + 6 * HOUR)).toBe(true);
    expect(m.endFault('meter-tamper', t0 + 6 * HOUR)).toBe(false);
  });

  it('sends phase_loss naming the phase, cuts a third of the power and reports the dead phase as 0 V', () => {
    // Twin meters with the same seed: only the fault tells them apart.
    const faulty = meter(21);
    const healthy = meter(21);
    const t0 = MONDAY + 20 * HOUR;
    faulty.step(t0);
    healthy.step(t0);
    const normal = reading(healthy, t0);
    expect(faulty.startFault({ name: 'phase-loss' }, t0)).toBe(true);
    const { events, reportNow } = faulty.step(t0);
    expect(reportNow).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'phase_loss', phase: expect.stringMatching(/^L[123]$/) });
    const lost = reading(faulty, t0);
    expect(lost.powerKw / normal.powerKw).toBeCloseTo(2 / 3, 2);
    expect(lost.voltageV).toBe(0);
    expect(lost.currentA).toBeGreaterThan(0);
    // It goes on without repeating the event, and the power stays low.
    for (let t = t0 + MIN; t < t0 + HOUR; t += MIN) expect(faulty.step(t).events).toStrictEqual([]);
    expect(reading(faulty, t0 + HOUR).voltageV).toBe(0);
    expect(reading(faulty, t0 + HOUR).powerKw).toBeLessThan(normal.powerKw * 0.8);
  });

  it('restores voltage and power when the phase comes back', () => {
    const m = meter(22);
    const t0 = MONDAY + 19 * HOUR;
    m.startFault({ name: 'phase-loss' }, t0);
    m.step(t0);
    const cut = reading(m, t0).powerKw;
    expect(m.endFault('phase-loss', t0 + 1000)).toBe(true);
    expect(m.step(t0 + 2000)).toStrictEqual({ events: [], reportNow: true });
    const back = reading(m, t0 + 2000);
    expect(back.voltageV).toBeGreaterThan(225);
    expect(back.powerKw).toBeGreaterThan(cut * 1.3);
    expect(m.endFault('phase-loss', t0 + 3000)).toBe(false);
  });

  it('refuses every command, naming the action', () => {
    expect(meter().command('reset', undefined, MONDAY)).toStrictEqual({ ok: false, error: 'unknown action reset for energy' });
  });

  it('takes only the faults of a meter', () => {
    const m = meter();
    expect(m.startFault({ name: 'fire' }, MONDAY)).toBe(false);
    expect(m.startFault({ name: 'low-battery' }, MONDAY)).toBe(false);
    expect(m.endFault('video-loss', MONDAY)).toBe(false);
  });

  it('is reproducible: the same seed gives the same readings', () => {
    const a = meter(42, 'site', 260);
    const b = meter(42, 'site', 260);
    for (let t = MONDAY; t < MONDAY + DAY; t += 7 * MIN) {
      a.step(t);
      b.step(t);
      expect(a.telemetry(t)).toStrictEqual(b.telemetry(t));
    }
  });
});
