import { describe, expect, it } from 'vitest';
import { EnvironmentModel, PM10_LIMIT, PM25_LIMIT } from '../../../../devices/models/environment.js';
import type { DeviceSpec, SimEvent, Telemetry } from '../../../../devices/models/model.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { localTime } from '../../../../devices/sim/local-time.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const PLACE = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const MONDAY = Date.parse('2026-11-16T00:00:00+08:00');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const SPEC: DeviceSpec = {
  id: 'environment-garden-01',
  kind: 'environment',
  site: 'demo',
  zone: 'garden',
  name: 'garden station 1',
  role: 'station',
  tags: { role: 'station' },
  params: {},
};

function station(start = MONDAY, seed = 5) {
  const clock = new ManualClock(start);
  return { clock, model: new EnvironmentModel(SPEC, { rng: new Random(seed), place: PLACE }, start) };
}

interface Sample {
  at: number;
  hour: number;
  reading: Telemetry;
}

function run(model: EnvironmentModel, clock: ManualClock, durationMs: number, stepMs: number) {
  const out = { samples: [] as Sample[], events: [] as SimEvent[], reportNow: 0 };
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    const result = model.step(now);
    out.events.push(...result.events);
    if (result.reportNow) out.reportNow++;
    out.samples.push({ at: now, hour: localTime(now, PLACE.timeZone).hour, reading: model.telemetry(now) });
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const field = (samples: Sample[], name: string, from: number, to: number) =>
  mean(samples.filter((s) => s.hour >= from && s.hour < to).map((s) => s.reading[name] as number));

describe('environment through a day', () => {
  it('sends readings the schema accepts, with believable air, noise and weather', () => {
    const { clock, model } = station();
    const { samples, events } = run(model, clock, 2 * DAY, 5 * MINUTE);
    expect(events).toStrictEqual([]);
    for (const { reading } of samples) {
      expect(checkTelemetry('environment', reading)).toStrictEqual({ ok: true, value: reading });
      expect(reading.waterLeak).toBe(false);
      expect(reading.co2Ppm as number).toBeGreaterThan(390);
      expect(reading.co2Ppm as number).toBeLessThan(480);
      expect(reading.pm25Ugm3 as number).toBeLessThan(PM25_LIMIT);
      expect(reading.pm10Ugm3 as number).toBeLessThan(PM10_LIMIT);
      expect(reading.pm10Ugm3 as number).toBeGreaterThan(reading.pm25Ugm3 as number);
    }
    // Traffic peaks in the morning and evening.
    expect(field(samples, 'pm25Ugm3', 7.5, 9)).toBeGreaterThan(field(samples, 'pm25Ugm3', 2, 4) + 10);
    expect(field(samples, 'pm25Ugm3', 17.5, 19)).toBeGreaterThan(field(samples, 'pm25Ugm3', 2, 4) + 10);
    // About 40 dB at night, 55–65 by day.
    expect(field(samples, 'noiseDb', 1, 5)).toBeGreaterThan(38);
    expect(field(samples, 'noiseDb', 1, 5)).toBeLessThan(44);
    expect(field(samples, 'noiseDb', 9, 20)).toBeGreaterThan(55);
    expect(field(samples, 'noiseDb', 9, 20)).toBeLessThan(65);
    // Warmest in the afternoon, most humid before dawn.
    expect(field(samples, 'temperatureC', 14, 16)).toBeGreaterThan(field(samples, 'temperatureC', 3, 5) + 5);
    expect(field(samples, 'humidityPct', 3, 5)).toBeGreaterThan(field(samples, 'humidityPct', 14, 16) + 15);
  });

  it('opens the valve at 06:00 and 18:00 for 20 minutes, and the soil gets wetter, then dries', () => {
    const { clock, model } = station();
    const { samples, reportNow } = run(model, clock, DAY, MINUTE);
    const open = samples.filter((s) => s.reading.valveOpen);
    expect(open.length).toBeGreaterThanOrEqual(38);
    expect(open.length).toBeLessThanOrEqual(41);
    expect(open.every((s) => (s.hour >= 6 && s.hour < 6.34) || (s.hour >= 18 && s.hour < 18.34))).toBe(true);
    expect(reportNow).toBe(4); // opened and shut twice
    const soilAt = (h: number) => samples.find((s) => s.hour >= h)?.reading.soilMoisturePct as number;
    expect(soilAt(6.4)).toBeGreaterThan(soilAt(5.9) + 3);
    expect(soilAt(17.9)).toBeLessThan(soilAt(6.4));
  });
});

describe('environment faults', () => {
  it('sends leak and shows waterLeak until the fault ends', () => {
    const { clock, model } = station();
    expect(model.startFault({ name: 'leak' }, clock.now())).toBe(true);
    const first = model.step(clock.advance(SECOND));
    expect(first).toStrictEqual({ events: [{ type: 'leak', location: 'garden station 1' }], reportNow: true });
    expect(checkEvent('environment', first.events[0]).ok).toBe(true);
    expect(model.telemetry(clock.now()).waterLeak).toBe(true);
    expect(model.endFault('leak', clock.now())).toBe(true);
    expect(model.telemetry(clock.now()).waterLeak).toBe(false);
  });

  it('sends valve_fault, keeps the valve shut at watering time, and the soil dries', () => {
    const { clock, model } = station();
    model.startFault({ name: 'valve-fault' }, clock.now());
    expect(model.step(clock.advance(SECOND)).events).toStrictEqual([{ type: 'valve_fault' }]);
    const { samples } = run(model, clock, DAY, 5 * MINUTE);
    expect(samples.some((s) => s.reading.valveOpen)).toBe(false);
    expect(samples.at(-1)?.reading.soilMoisturePct as number).toBeLessThan(samples[0].reading.soilMoisturePct as number - 3);
  });

  it('puts PM above the limits in a pollution episode, and the noise up at night', () => {
    const { clock, model } = station(MONDAY + 2 * HOUR);
    model.startFault({ name: 'pollution' }, clock.now());
    model.startFault({ name: 'night-noise' }, clock.now());
    const { samples } = run(model, clock, HOUR, 5 * MINUTE);
    for (const { reading } of samples) {
      expect(reading.pm25Ugm3 as number).toBeGreaterThan(PM25_LIMIT);
      expect(reading.pm10Ugm3 as number).toBeGreaterThan(PM10_LIMIT);
      expect(reading.noiseDb as number).toBeGreaterThan(55);
      expect(checkTelemetry('environment', reading).ok).toBe(true);
    }
    expect(model.endFault('pollution', clock.now())).toBe(true);
    expect(model.endFault('night-noise', clock.now())).toBe(true);
    expect(model.telemetry(clock.now()).noiseDb as number).toBeLessThan(50);
  });

  it('obeys open, close and auto, and refuses the rest', () => {
    const { clock, model } = station(MONDAY + 2 * HOUR);
    expect(model.command('open', undefined, clock.now())).toStrictEqual({ ok: true });
    expect(model.telemetry(clock.now()).valveOpen).toBe(true);
    expect(model.command('auto', undefined, clock.now())).toStrictEqual({ ok: true });
    expect(model.telemetry(clock.now()).valveOpen).toBe(false);
    expect(model.command('spray', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action spray for environment' });
    expect(model.startFault({ name: 'fire' }, clock.now())).toBe(false);
  });
});
