import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseRule } from '../../../src/rules/schema.js';
import { device, harness, RecordingActions, T0, useFakeTime } from './harness.js';

const alarm = { type: 'x', severity: 'major' };
const errors = (raw: Record<string, unknown>) => {
  const r = parseRule({ id: 'r', alarm, ...raw }, 'rules/test.yaml', 0);
  return r.ok ? [] : r.errors;
};

describe('rule fields by type (contract §9: an enum field is text)', () => {
  it('refuses a threshold on an enum field, naming the field, its values and where to test it', () => {
    expect(errors({ match: { kind: 'lift' }, when: { telemetry: 'mode', above: 1 } })).toStrictEqual([
      'rules/test.yaml: rule "r": when.telemetry: "mode" is text (normal, inspection, fire, out_of_service), not a number: above compares numbers; test a text field\'s value in where, e.g. where: { mode: normal }',
    ]);
    // Without `match.kind`, the field is still text in every kind that has it.
    expect(errors({ when: { telemetry: 'direction', below: 0 } })[0]).toMatch(/^rules\/test\.yaml: rule "r": when\.telemetry: "direction" is text \(up, down, idle\), not a number: below compares/);
  });

  it('refuses a rise or fall, and a threshold inside `all`, on an enum field', () => {
    expect(errors({ when: { telemetry: 'direction', rise: 1, within: '1m' } })).toStrictEqual([
      'rules/test.yaml: rule "r": when.telemetry: "direction" is text (up, down, idle), not a number: rise compares numbers; test a text field\'s value in where, e.g. where: { direction: up }',
    ]);
    const all = { all: [{ event: 'passenger_trapped' }, { telemetry: 'mode', above: 0 }], within: '1m' };
    expect(errors({ match: { kind: 'lift' }, when: all })[0]).toMatch(/^rules\/test\.yaml: rule "r": when\.all\.1\.telemetry: "mode" is text/);
  });

  it('takes thresholds on numbers and booleans of the new kinds, with an enum value in where', () => {
    expect(errors({ match: { kind: 'lift' }, when: { telemetry: 'loadPct', above: 90, where: { mode: 'normal' } } })).toStrictEqual([]);
    expect(errors({ match: { kind: 'lift' }, when: { telemetry: 'floor', below: 0, where: { moving: false } } })).toStrictEqual([]);
    expect(errors({ match: { kind: 'water' }, when: { telemetry: 'pumpRunning', above: 0, for: '4h' } })).toStrictEqual([]);
    expect(errors({ match: { kind: 'environment' }, when: { telemetry: 'pm25Ugm3', rise: 50, within: '10m' } })).toStrictEqual([]);
  });

  it('refuses a where value that the enum field never takes', () => {
    expect(errors({ match: { kind: 'lift' }, when: { telemetry: 'loadPct', above: 90, where: { mode: 'maintenance' } } })).toStrictEqual([
      'rules/test.yaml: rule "r": when.where.mode: "maintenance" is not a value of mode (normal, inspection, fire, out_of_service)',
    ]);
    const all = { all: [{ event: 'passenger_trapped' }, { telemetry: 'loadPct', above: 50, where: { direction: 'sideways' } }], within: '1m' };
    expect(errors({ match: { kind: 'lift' }, when: all })).toStrictEqual([
      'rules/test.yaml: rule "r": when.all.1.where.direction: "sideways" is not a value of direction (up, down, idle)',
    ]);
  });

  it('refuses a usage rule on an enum field: it is not a numeric field', () => {
    expect(errors({ match: { kind: 'lift' }, when: { usage: 'mode', every: 10 } })[0]).toMatch(/when\.usage: "mode" is not a numeric telemetry field of lift \(floor, loadPct, speedMps, trips, runHours\)/);
  });

  it('knows the fields and events of the new kinds, and refuses those a matched kind lacks', () => {
    expect(errors({ match: { kind: 'lift' }, when: { usage: 'trips', every: 50_000 } })).toStrictEqual([]);
    expect(errors({ match: { kind: 'patrol' }, when: { event: 'checkpoint_scan', missing: '2h' } })).toStrictEqual([]);
    expect(errors({ match: { kind: 'sos' }, when: { event: 'call' } })).toStrictEqual([]);
    expect(errors({ match: { kind: 'waste' }, when: { telemetry: 'levelPct', above: 90 } })).toStrictEqual([
      'rules/test.yaml: rule "r": when.telemetry: "levelPct" is not a telemetry field of waste (fillPct, temperatureC, batteryPct)',
    ]);
  });
});

describe('a rule on a lift, with its text fields on the bus', () => {
  beforeEach(() => useFakeTime());
  afterEach(() => vi.useRealTimers());

  const OVERLOAD = `
- id: lift-overload
  match: { kind: lift }
  when: { telemetry: loadPct, above: 90, where: { mode: normal } }
  alarm: { type: lift_overload, severity: minor, message: "Lift {device} at {value} %" }
`;

  it('raises while the load is above the level in normal mode, and clears when the mode changes', async () => {
    const actions = new RecordingActions([device('lift-1', 'lift', 'b1')]);
    const h = harness(OVERLOAD, { actions });
    h.telemetry('lift-1', { loadPct: 95, mode: 'inspection', direction: 'up' });
    expect(h.actions.edges()).toStrictEqual([]);
    h.telemetry('lift-1', { mode: 'normal' });
    await h.advance(1_000);
    h.telemetry('lift-1', { mode: 'fire', loadPct: 96 });
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'lift-1', 0],
      ['clear', 'lift-1', 1_000],
    ]);
    expect(h.actions.calls[0]).toMatchObject({ op: 'raise', at: T0, req: { message: 'Lift lift-1 at 95 %', value: 95, kind: 'lift' } });
  });
});
