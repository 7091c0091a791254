import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeField, describeKind, describeKinds, unitOf } from '../../../src/devices/kinds/describe.js';
import { KIND_NAMES, KINDS, LIFE_SAFETY_EVENTS } from '../../../src/devices/kinds/index.js';

describe('unitOf', () => {
  it('reads the unit from the suffix after a camelCase boundary', () => {
    expect(['batteryPct', 'temperatureC', 'coPpm', 'energyKwh', 'powerKw', 'powerW', 'voltageV', 'currentA', 'bitrateKbps'].map(unitOf)).toStrictEqual([
      '%',
      '°C',
      'ppm',
      'kWh',
      'kW',
      'W',
      'V',
      'A',
      'kbps',
    ]);
  });

  it("knows the units of the contract's later kinds", () => {
    expect(['speedMps', 'runHours', 'pressureMpa', 'flowM3h', 'volumeM3', 'frequencyHz', 'chlorineMgL', 'turbidityNtu', 'pm25Ugm3', 'noiseDb'].map(unitOf)).toStrictEqual([
      'm/s',
      'h',
      'MPa',
      'm³/h',
      'm³',
      'Hz',
      'mg/L',
      'NTU',
      'µg/m³',
      'dB',
    ]);
  });

  it('takes a declared unit for a name that is one, and none for counts, ratios and states', () => {
    expect(unitOf('fps')).toBe('fps');
    expect(unitOf('seconds')).toBe('s');
    expect(['freeSpaces', 'capacity', 'powerFactor', 'doorOpen', 'on', 'A', 'Pct'].map(unitOf)).toStrictEqual(Array(7).fill(undefined));
  });
});

describe('describeField', () => {
  it('gives a number its unit, its finite bounds and whether it is whole', () => {
    expect(describeField('batteryPct', z.number().min(0).max(100).optional())).toStrictEqual({ type: 'number', unit: '%', min: 0, max: 100, integer: false, optional: true });
    expect(describeField('temperatureC', z.number().finite())).toStrictEqual({ type: 'number', unit: '°C', integer: false, optional: false });
    // The int check's own ±2^53 bounds are no range anyone wrote.
    expect(describeField('freeSpaces', z.number().int().nonnegative())).toStrictEqual({ type: 'number', min: 0, integer: true, optional: false });
  });

  it('describes booleans, enumerations, text, and a detail normalised on the way in by its first form', () => {
    expect(describeField('doorOpen', z.boolean())).toStrictEqual({ type: 'boolean', optional: false });
    expect(describeField('phase', z.enum(['L1', 'L2']).optional())).toStrictEqual({ type: 'string', values: ['L1', 'L2'], optional: true });
    expect(describeField('plate', z.string().min(1))).toStrictEqual({ type: 'string', optional: false });
    expect(describeField('code', z.union([z.string(), z.number().int()]).transform(String).optional())).toStrictEqual({ type: 'string', optional: true });
  });

  it('refuses a field type it cannot describe, so a new kind cannot ship one undescribed', () => {
    expect(() => describeField('when', z.date())).toThrow('when: the definitions cannot describe a ZodDate field yet');
  });
});

describe('describeKinds', () => {
  it('describes every kind, every telemetry field in the contract order and every event type', () => {
    const kinds = describeKinds();
    expect(Object.keys(kinds)).toStrictEqual([...KIND_NAMES]);
    for (const k of KIND_NAMES) {
      expect(Object.keys(kinds[k].telemetry)).toStrictEqual([...KINDS[k].fields]);
      expect(Object.keys(kinds[k].events)).toStrictEqual(Object.keys(KINDS[k].events));
    }
  });

  it("describes the fire kind's fields and events as ingest enforces them", () => {
    expect(describeKind('fire')).toStrictEqual({
      telemetry: {
        smokeObscurationPct: { type: 'number', unit: '%', min: 0, max: 100, integer: false },
        temperatureC: { type: 'number', unit: '°C', integer: false },
        coPpm: { type: 'number', unit: 'ppm', min: 0, integer: false },
        batteryPct: { type: 'number', unit: '%', min: 0, max: 100, integer: false },
      },
      events: {
        fire_alarm: { details: {} },
        fault: { details: { code: { type: 'string', required: false } } },
        test: { details: {} },
        reset: { details: {} },
      },
    });
  });

  it("describes an event's details with whether they are required", () => {
    expect(describeKind('access').events.access_granted).toStrictEqual({
      details: {
        method: { type: 'string', values: ['card', 'face', 'qr', 'pin', 'remote'], required: true },
        credential: { type: 'string', required: false },
      },
    });
    expect(describeKind('access').events.door_held_open.details.seconds).toStrictEqual({ type: 'number', unit: 's', min: 0, integer: false, required: true });
  });
});

describe('LIFE_SAFETY_EVENTS', () => {
  it('names only event types of their kinds', () => {
    expect(LIFE_SAFETY_EVENTS.length).toBeGreaterThan(0);
    for (const e of LIFE_SAFETY_EVENTS) expect(Object.keys(KINDS[e.kind].events)).toContain(e.type);
  });
});
