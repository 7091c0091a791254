import { describe, expect, it } from 'vitest';
import { describeKind, type FieldDefinition } from '../../../src/devices/kinds/describe.js';
import { checkEvent, checkTelemetry, KINDS, LIFE_SAFETY_EVENTS, type KindName } from '../../../src/devices/kinds/index.js';

/**
 * Contract §9 written out as a table, field by field and event by event, so the schemas are checked against the
 * contract rather than against themselves.
 */
type Range = 'bool' | 'int' | 'count' | 'pct' | 'nonneg' | 'finite' | 'factor' | readonly string[];

const NEW_KINDS = ['lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste'] as const satisfies readonly KindName[];
type NewKind = (typeof NEW_KINDS)[number];

const FIELDS: Record<NewKind, Record<string, Range>> = {
  lift: {
    floor: 'int',
    moving: 'bool',
    direction: ['up', 'down', 'idle'],
    doorOpen: 'bool',
    mode: ['normal', 'inspection', 'fire', 'out_of_service'],
    loadPct: 'pct',
    speedMps: 'nonneg',
    trips: 'count',
    runHours: 'nonneg',
  },
  water: {
    levelPct: 'pct',
    pressureMpa: 'nonneg',
    flowM3h: 'nonneg',
    volumeM3: 'nonneg',
    pumpRunning: 'bool',
    pumpCurrentA: 'nonneg',
    frequencyHz: 'nonneg',
    runHours: 'nonneg',
    starts: 'count',
    chlorineMgL: 'nonneg',
    turbidityNtu: 'nonneg',
    temperatureC: 'finite',
  },
  power: {
    voltageV: 'nonneg',
    currentA: 'nonneg',
    powerKw: 'finite',
    powerFactor: 'factor',
    transformerTempC: 'finite',
    roomTempC: 'finite',
    humidityPct: 'pct',
    breakerClosed: 'bool',
    onGenerator: 'bool',
    generatorFuelPct: 'pct',
  },
  patrol: { batteryPct: 'pct' },
  sos: { batteryPct: 'pct' },
  environment: {
    temperatureC: 'finite',
    humidityPct: 'pct',
    pm25Ugm3: 'nonneg',
    pm10Ugm3: 'nonneg',
    co2Ppm: 'nonneg',
    noiseDb: 'nonneg',
    waterLeak: 'bool',
    soilMoisturePct: 'pct',
    valveOpen: 'bool',
  },
  waste: { fillPct: 'pct', temperatureC: 'finite', batteryPct: 'pct' },
};

/** The unit each field's name carries (contract §9: "units are in the names"). */
const UNITS: Record<string, string | undefined> = {
  loadPct: '%',
  speedMps: 'm/s',
  runHours: 'h',
  levelPct: '%',
  pressureMpa: 'MPa',
  flowM3h: 'm³/h',
  volumeM3: 'm³',
  pumpCurrentA: 'A',
  frequencyHz: 'Hz',
  chlorineMgL: 'mg/L',
  turbidityNtu: 'NTU',
  temperatureC: '°C',
  voltageV: 'V',
  currentA: 'A',
  powerKw: 'kW',
  transformerTempC: '°C',
  roomTempC: '°C',
  humidityPct: '%',
  generatorFuelPct: '%',
  batteryPct: '%',
  pm25Ugm3: 'µg/m³',
  pm10Ugm3: 'µg/m³',
  co2Ppm: 'ppm',
  noiseDb: 'dB',
  soilMoisturePct: '%',
  fillPct: '%',
};

/** Event types with their details; `?` marks an optional one. */
const EVENTS: Record<NewKind, Record<string, string[]>> = {
  lift: {
    passenger_trapped: ['floor?'],
    released: [],
    door_fault: [],
    overspeed: [],
    stopped_between_floors: ['floor?'],
    power_loss: [],
    alarm_button: [],
    fault: ['code?'],
    maintenance_start: [],
    maintenance_end: [],
  },
  water: { pump_fault: ['pump?', 'code?'], pump_start: ['pump?'], pump_stop: ['pump?'], dry_run: [], overflow: [], leak: ['location?'] },
  power: { breaker_trip: ['circuit?'], mains_loss: [], mains_restored: [], generator_start: [], generator_fault: ['code?'], flooding: [] },
  patrol: { checkpoint_scan: ['guard', 'route?'], tamper: [] },
  sos: { call: ['location?'], cancel: [], tamper: [], fault: ['code?'] },
  environment: { leak: ['location?'], valve_fault: [] },
  waste: { full: [], emptied: [], fire: [] },
};

/** Values each range accepts, and values it refuses. */
function samples(range: Range): { good: unknown[]; bad: unknown[] } {
  if (Array.isArray(range)) return { good: [...range], bad: ['sideways', range[0].toUpperCase(), ` ${range[0]}`, '', 1, true, null] };
  switch (range) {
    case 'bool':
      return { good: [true, false], bad: [1, 0, 'true', null] };
    case 'int':
      return { good: [-2, 0, 1, 42], bad: [1.5, '3', true] };
    case 'count':
      return { good: [0, 1, 1_000_000], bad: [-1, 2.5, '7'] };
    case 'pct':
      return { good: [0, 55.5, 100], bad: [-0.1, 100.1, '50', false] };
    case 'nonneg':
      return { good: [0, 0.42, 1e6], bad: [-0.01, '1', true] };
    case 'finite':
      return { good: [-40.5, 0, 85], bad: ['20', true, null] };
    case 'factor':
      return { good: [-1, 0, 0.93, 1], bad: [-1.01, 1.01, '0.9'] };
  }
  throw new Error(`no samples for ${String(range)}`);
}

/** The definition `GET /api/definitions` must give a field of this range. */
function definition(name: string, range: Range): FieldDefinition {
  const unit = UNITS[name] === undefined ? {} : { unit: UNITS[name] };
  if (Array.isArray(range)) return { type: 'string', values: [...range] };
  switch (range) {
    case 'bool':
      return { type: 'boolean' };
    case 'int':
      return { type: 'number', ...unit, integer: true };
    case 'count':
      return { type: 'number', ...unit, min: 0, integer: true };
    case 'pct':
      return { type: 'number', ...unit, min: 0, max: 100, integer: false };
    case 'nonneg':
      return { type: 'number', ...unit, min: 0, integer: false };
    case 'finite':
      return { type: 'number', ...unit, integer: false };
    case 'factor':
      return { type: 'number', ...unit, min: -1, max: 1, integer: false };
  }
  throw new Error(`no definition for ${String(range)}`);
}

const FIELD_CASES = NEW_KINDS.flatMap((kind) => Object.entries(FIELDS[kind]).map(([field, range]) => [kind, field, range] as const));

describe('telemetry of the kinds of contract §9', () => {
  it.each(NEW_KINDS)('gives %s exactly the fields of §9, in its order', (kind) => {
    expect(KINDS[kind].fields).toStrictEqual(Object.keys(FIELDS[kind]));
  });

  it.each(FIELD_CASES)('accepts %s.%s within its range', (kind, field, range) => {
    for (const value of samples(range).good) {
      expect(checkTelemetry(kind, { [field]: value }), `${field}: ${JSON.stringify(value)}`).toStrictEqual({ ok: true, value: { [field]: value } });
    }
  });

  it.each(FIELD_CASES)('refuses %s.%s outside its range or of the wrong type, naming the field', (kind, field, range) => {
    for (const value of samples(range).bad) {
      const checked = checkTelemetry(kind, { [field]: value });
      expect(checked.ok, `${field}: ${JSON.stringify(value)}`).toBe(false);
      expect(!checked.ok && checked.reason).toMatch(new RegExp(`^${field}: `));
    }
  });

  it.each(FIELD_CASES)('describes %s.%s with its type, unit and range', (kind, field, range) => {
    expect(describeKind(kind).telemetry[field]).toStrictEqual(definition(field, range));
  });

  it('takes a whole lift reading as it is, strings and all, without asking zod', () => {
    const reading = { floor: -1, moving: true, direction: 'down', doorOpen: false, mode: 'fire', loadPct: 12, speedMps: 1, trips: 7, runHours: 3.5, ts: 1_700_000_000_000 };
    expect(KINDS.lift.quickCheck(reading)).toBe(true);
    expect(checkTelemetry('lift', reading)).toStrictEqual({ ok: true, value: reading });
  });

  it("leaves a lift reading with an enum value it does not know to zod, which names the field and the values", () => {
    expect(KINDS.lift.quickCheck({ mode: 'maintenance' })).toBe(false);
    expect(KINDS.lift.quickCheck({ direction: 1 })).toBe(false);
    const checked = checkTelemetry('lift', { floor: 2, mode: 'maintenance' });
    expect(!checked.ok && checked.reason).toBe('mode: Invalid option: expected one of "normal"|"inspection"|"fire"|"out_of_service"');
  });

  it('refuses a field of another kind, and a message with no field of its own', () => {
    expect(checkTelemetry('sos', { batteryPct: 50, fillPct: 10 })).toStrictEqual({ ok: false, reason: 'fillPct: unknown field' });
    expect(checkTelemetry('patrol', { ts: 1 })).toStrictEqual({ ok: false, reason: 'at least one measurement field is required (batteryPct)' });
  });
});

/** A detail value of each name that the schema accepts. */
const DETAIL_VALUES: Record<string, unknown> = { floor: 3, code: 'E07', pump: 'P2', circuit: 'F3', guard: 'g-017', route: 'night-east', location: 'b3 lift car 2' };

const EVENT_CASES = NEW_KINDS.flatMap((kind) => Object.entries(EVENTS[kind]).map(([type, details]) => [kind, type, details] as const));

describe('events of the kinds of contract §9', () => {
  it.each(NEW_KINDS)('gives %s exactly the event types of §9', (kind) => {
    expect(Object.keys(KINDS[kind].events)).toStrictEqual(Object.keys(EVENTS[kind]));
  });

  it.each(EVENT_CASES)('accepts %s/%s with its details, and describes which are required', (kind, type, details) => {
    const names = details.map((d) => d.replace('?', ''));
    const full = { type, ...Object.fromEntries(names.map((n) => [n, DETAIL_VALUES[n]])) };
    expect(checkEvent(kind, full)).toStrictEqual({ ok: true, value: full });
    const required = Object.fromEntries(details.filter((d) => !d.endsWith('?')).map((n) => [n, DETAIL_VALUES[n]]));
    expect(checkEvent(kind, { type, ...required })).toStrictEqual({ ok: true, value: { type, ...required } });
    const described = describeKind(kind).events[type].details;
    expect(Object.keys(described)).toStrictEqual(names);
    for (const d of details) expect(described[d.replace('?', '')].required, `${type}.${d}`).toBe(!d.endsWith('?'));
  });

  it.each(EVENT_CASES)('refuses %s/%s with a detail it does not take, naming it', (kind, type, details) => {
    const required = Object.fromEntries(details.filter((d) => !d.endsWith('?')).map((n) => [n, DETAIL_VALUES[n]]));
    expect(checkEvent(kind, { type, ...required, colour: 'red' })).toStrictEqual({ ok: false, reason: 'colour: unknown field' });
  });

  it('refuses an event type of another kind, listing its own', () => {
    expect(checkEvent('waste', { type: 'call' })).toStrictEqual({ ok: false, reason: 'type: unknown event type "call" for kind waste (full, emptied, fire)' });
    expect(checkEvent('sos', { type: 'fire_alarm' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^type: unknown event type "fire_alarm" for kind sos/) });
  });

  it('refuses a checkpoint scan without its guard, and a fractional or textual floor', () => {
    expect(checkEvent('patrol', { type: 'checkpoint_scan', route: 'r1' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^guard: /) });
    expect(checkEvent('lift', { type: 'passenger_trapped', floor: 2.5 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^floor: /) });
    expect(checkEvent('lift', { type: 'stopped_between_floors', floor: 'B1' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^floor: /) });
    expect(checkEvent('sos', { type: 'call', location: '' })).toMatchObject({ ok: false, reason: expect.stringMatching(/^location: /) });
  });

  it('stores a numeric code, pump, circuit, guard or route as text, so each events field keeps one type', () => {
    expect(checkEvent('lift', { type: 'fault', code: 21 })).toStrictEqual({ ok: true, value: { type: 'fault', code: '21' } });
    expect(checkEvent('water', { type: 'pump_fault', pump: 2, code: 7 })).toStrictEqual({ ok: true, value: { type: 'pump_fault', pump: '2', code: '7' } });
    expect(checkEvent('power', { type: 'breaker_trip', circuit: 12 })).toStrictEqual({ ok: true, value: { type: 'breaker_trip', circuit: '12' } });
    expect(checkEvent('patrol', { type: 'checkpoint_scan', guard: 1017, route: 3 })).toStrictEqual({ ok: true, value: { type: 'checkpoint_scan', guard: '1017', route: '3' } });
    expect(checkEvent('sos', { type: 'fault', code: 'low battery' })).toStrictEqual({ ok: true, value: { type: 'fault', code: 'low battery' } });
    expect(checkEvent('water', { type: 'pump_start', pump: 1.5 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^pump: /) });
  });
});

describe('life-safety events (contract §9)', () => {
  it('are fire/fire_alarm, sos/call, lift/passenger_trapped and lift/alarm_button, in that order', () => {
    expect(LIFE_SAFETY_EVENTS).toStrictEqual([
      { kind: 'fire', type: 'fire_alarm' },
      { kind: 'sos', type: 'call' },
      { kind: 'lift', type: 'passenger_trapped' },
      { kind: 'lift', type: 'alarm_button' },
    ]);
  });
});
