import { describe, expect, it } from 'vitest';
import { checkEvent, checkTelemetry, KIND_NAMES, KINDS } from '../../../src/devices/kinds/index.js';

describe('telemetry schemas', () => {
  it('accepts a partial reading with a timestamp', () => {
    expect(checkTelemetry('fire', { smokeObscurationPct: 2.5, ts: 1_700_000_000_000 })).toStrictEqual({
      ok: true,
      value: { smokeObscurationPct: 2.5, ts: 1_700_000_000_000 },
    });
    expect(checkTelemetry('energy', { energyKwh: 10, ts: '2026-11-26T10:00:00.000Z' }).ok).toBe(true);
  });

  it.each([
    ['access', { batteryPct: 101 }, 'batteryPct: '],
    ['lighting', { on: 'yes' }, 'on: '],
    ['parking', { freeSpaces: 2.5 }, 'freeSpaces: '],
    ['energy', { powerFactor: 1.5 }, 'powerFactor: '],
    ['fire', { coPpm: -1 }, 'coPpm: '],
    ['camera', { fps: 25, colour: true }, 'colour: unknown field'],
    ['camera', { ts: 'yesterday', fps: 1 }, 'ts: '],
  ] as const)('refuses a bad %s reading with a reason naming the field', (kind, body, reason) => {
    const r = checkTelemetry(kind, body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });

  it.each(['2026-11-26T10:00:00Z', '2026-11-26T10:00Z', '2026-11-26T10:00:00+0800', '2026-11-26T10:00:00+08', '2026-11-26 10:00:00,25+08:00', '2026-11-26'])(
    'accepts the ISO-8601 timestamp %s',
    (ts) => expect(checkTelemetry('fire', { coPpm: 1, ts }).ok).toBe(true),
  );

  it.each(['2026-13-01T00:00:00Z', '2024-02-30T00:00:00Z', 'yesterday', '2026-11-26T10', '1700000000000'])('refuses the timestamp %s', (ts) => {
    const r = checkTelemetry('fire', { coPpm: 1, ts });
    expect(!r.ok && r.reason).toMatch(/^ts: /);
  });

  it('requires at least one measurement', () => {
    const r = checkTelemetry('lighting', { ts: 1 });
    expect(!r.ok && r.reason).toMatch(/at least one measurement field/);
  });

  it('lists each kind with its contract fields', () => {
    expect(KIND_NAMES).toStrictEqual(['access', 'lighting', 'parking', 'energy', 'fire', 'camera', 'lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste']);
    expect(KINDS.energy.fields).toStrictEqual(['energyKwh', 'powerKw', 'voltageV', 'currentA', 'powerFactor']);
  });

  it.each(KIND_NAMES)("lists exactly the %s schema's fields, in its order", (kind) => {
    const shape = (KINDS[kind].telemetry as unknown as { shape: Record<string, unknown> }).shape;
    expect(KINDS[kind].fields).toStrictEqual(Object.keys(shape).filter((k) => k !== 'ts'));
    expect(KINDS[kind].name).toBe(kind);
  });
});

describe('event schemas', () => {
  it('accepts each kind\'s events with their details', () => {
    expect(checkEvent('access', { type: 'access_granted', method: 'card', credential: 'c-1' }).ok).toBe(true);
    expect(checkEvent('access', { type: 'door_held_open', seconds: 45 }).ok).toBe(true);
    expect(checkEvent('parking', { type: 'vehicle_entry', plate: 'ABC123' }).ok).toBe(true);
    expect(checkEvent('camera', { type: 'face_match', list: 'watch' }).ok).toBe(true);
  });

  it('stores a numeric fault code as text so the field keeps one type', () => {
    expect(checkEvent('fire', { type: 'fault', code: 12 })).toStrictEqual({ ok: true, value: { type: 'fault', code: '12' } });
  });

  it.each([
    ['access', { type: 'access_granted', method: 'telepathy' }, 'method: '],
    ['fire', { type: 'fire_alarm', colour: 'red' }, 'colour: unknown field'],
    ['lighting', { type: 'explosion' }, 'type: unknown event type "explosion" for kind lighting'],
    ['parking', { type: 'vehicle_entry' }, 'plate: '],
    ['energy', { phase: 'L1' }, 'type: required'],
    ['camera', [1, 2], 'payload: expected a JSON object'],
  ] as const)('refuses a bad %s event naming the field', (kind, body, reason) => {
    const r = checkEvent(kind, body);
    expect(!r.ok && r.reason).toContain(reason);
  });
});
