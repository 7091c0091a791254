import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { readRules, RuleLoader } from '../../../src/rules/loader.js';
import type { Rule } from '../../../src/rules/schema.js';
import { simulateRule, type SimMessage, type SimOutcome } from '../../../src/rules/simulate.js';
import { device, SITE, T0 } from './harness.js';

describe('the default rule pack (rules/)', () => {
  it('validates, every rule with an id of its own', async () => {
    const { rules } = await readRules('rules');
    expect(rules.length).toBeGreaterThanOrEqual(78);
    expect(new Set(rules.map((r) => r.rule.id)).size).toBe(rules.length);
  });

  it('covers what a site needs on day one', async () => {
    const { rules } = await readRules('rules');
    const types = rules.map((r) => r.rule.alarm?.type).filter(Boolean);
    for (const t of ['fire_alarm', 'fire_confirmed', 'smoke_high', 'heat_high', 'heat_rise', 'fire_device_fault', 'door_forced', 'door_held_open',
      'access_denied_repeated', 'lamp_failure', 'lamp_no_power', 'circuit_trip', 'barrier_fault', 'fire_lane_occupied', 'lot_full',
      'meter_overload', 'phase_loss', 'meter_register_back', 'night_load_high', 'video_loss', 'camera_tamper', 'camera_offline',
      'intrusion', 'device_silent', 'battery_low']) {
      expect(types).toContain(t);
    }
    const schedules = rules.filter((r) => r.rule.when.form === 'schedule').map((r) => r.rule.workOrder?.title?.toString());
    expect(schedules).toHaveLength(2);
  });

  it('covers the kinds of contract §9 (issue 14)', async () => {
    const { rules } = await readRules('rules');
    const types = rules.map((r) => r.rule.alarm?.type).filter(Boolean);
    for (const t of [
      // lift.yaml
      'passenger_trapped', 'lift_alarm_button', 'lift_stopped_between_floors', 'lift_overspeed', 'lift_power_loss', 'lift_door_fault_repeated',
      'lift_fault', 'lift_out_of_service', 'lift_inspection_mode', 'lift_maintenance_overdue',
      // water.yaml
      'tank_level_low', 'tank_level_high', 'tank_overflow', 'water_pressure_low', 'pump_fault', 'pump_dry_run', 'pump_short_cycling',
      'water_supply_leak', 'chlorine_low', 'chlorine_high', 'turbidity_high',
      // power.yaml
      'mains_loss', 'generator_running', 'generator_fault', 'transformer_over_temperature', 'breaker_trip', 'power_room_flooding',
      // patrol.yaml, sos.yaml
      'checkpoint_missed', 'checkpoint_tamper', 'emergency_call', 'sos_tamper', 'sos_fault',
      // environment.yaml, waste.yaml
      'pm25_high', 'pm10_high', 'noise_night_high', 'water_leak', 'water_leak_detected', 'valve_fault', 'bin_full', 'bin_fill_high', 'bin_fire',
    ]) {
      expect(types).toContain(t);
    }
    const usage = rules.filter((r) => r.rule.when.form === 'usage').map((r) => r.rule.id);
    expect(usage).toStrictEqual(['pump-service', 'lift-service-trips']);
  });

  it('warns before failures with forecasts and learned baselines (issue 18), each below the failure it foresees', async () => {
    const { rules } = await readRules('rules');
    const early = rules.filter((r) => r.rule.when.form === 'forecast' || r.rule.when.form === 'anomaly').map((r) => [r.rule.id, r.rule.when.form, r.rule.alarm?.severity]);
    expect(early).toStrictEqual([
      ['lamp-driver-ageing', 'anomaly', 'warning'],
      ['pump-current-high', 'anomaly', 'minor'],
      ['transformer-temperature-forecast', 'forecast', 'major'],
      ['tank-dry-forecast', 'forecast', 'major'],
      ['night-water-flow-high', 'anomaly', 'minor'],
      ['night-base-load-high', 'anomaly', 'warning'],
    ]);
  });

  it('makes every life-safety rule critical from the start, open until cleared by hand, with an urgent work order', async () => {
    const { rules } = await readRules('rules');
    for (const id of ['lift-passenger-trapped', 'lift-alarm-button', 'sos-call']) {
      const rule = rules.find((r) => r.rule.id === id)!.rule;
      expect(rule.alarm?.severity, id).toBe('critical');
      expect(rule.alarm?.escalate, id).toBeUndefined();
      expect(rule.autoClear, id).toBe(false);
      expect(rule.workOrder?.priority, id).toBe('urgent');
    }
  });
});

describe('key rules of the pack, on the rule simulator', () => {
  const DEVICES = [
    device('lift-1', 'lift', 'b1'),
    device('lift-2', 'lift', 'b2'),
    device('sos-1', 'sos', 'b1-f3'),
    device('power-1', 'power', 'substation'),
    device('cp-1', 'patrol', 'north-gate'),
    device('cp-2', 'patrol', 'car-park'),
    device('pump-1', 'water', 'pump-room'),
    device('tank-1', 'water', 'pump-room'),
  ];
  const min = 60_000;
  const hour = 60 * min;
  const of = (d: string): Pick<SimMessage, 'device' | 'kind' | 'site' | 'zone'> => {
    const found = DEVICES.find((x) => x.id === d)!;
    return { device: d, kind: found.kind as SimMessage['kind'], site: SITE, zone: found.zone };
  };
  const tel = (t: number, d: string, telemetry: Record<string, number | boolean | string>): SimMessage => ({ ts: T0 + t, ...of(d), telemetry }) as SimMessage;
  const ev = (t: number, d: string, type: string, details: Record<string, unknown> = {}): SimMessage => ({ ts: T0 + t, ...of(d), event: { type, details } }) as SimMessage;

  async function run(id: string, messages: SimMessage[], until: number): Promise<Array<[string, string, number]>> {
    const rule = (await readRules('rules')).rules.find((r) => r.rule.id === id)!.rule;
    return simulateRule(rule, messages, DEVICES, { timeZone: 'UTC', from: T0, until: T0 + until }).map((o: SimOutcome): [string, string, number] => [
      o.kind,
      o.kind === 'command' ? o.device : (o.source ?? ''),
      o.at - T0,
    ]);
  }

  it('passenger trapped: raises on the event with its work order, and a release does not clear it', async () => {
    const out = await run('lift-passenger-trapped', [
      tel(0, 'lift-1', { floor: 3, moving: true, mode: 'normal' }),
      ev(1 * min, 'lift-1', 'door_fault'),
      ev(2 * min, 'lift-1', 'stopped_between_floors', { floor: 3 }),
      ev(3 * min, 'lift-1', 'passenger_trapped', { floor: 3 }),
      ev(20 * min, 'lift-1', 'released'),
      tel(21 * min, 'lift-1', { floor: 3, moving: false, mode: 'normal' }),
      ev(30 * min, 'lift-2', 'alarm_button'),
    ], hour);
    expect(out).toStrictEqual([
      ['raised', 'lift-1', 3 * min],
      ['workOrder', 'lift-1', 3 * min],
    ]);
  });

  it('emergency call: raises on a call, not on a cancel, a tamper or readings, and stays open', async () => {
    const out = await run('sos-call', [
      tel(0, 'sos-1', { batteryPct: 90 }),
      ev(1 * min, 'sos-1', 'tamper'),
      ev(2 * min, 'sos-1', 'cancel'),
      ev(5 * min, 'sos-1', 'call', { location: 'bedroom' }),
      ev(6 * min, 'sos-1', 'cancel'),
      tel(7 * min, 'sos-1', { batteryPct: 89 }),
    ], hour);
    expect(out).toStrictEqual([
      ['raised', 'sos-1', 5 * min],
      ['workOrder', 'sos-1', 5 * min],
    ]);
  });

  it('mains loss: raises on mains_loss (not on readings or a generator test) and clears when the mains are restored', async () => {
    const out = await run('mains-loss', [
      tel(0, 'power-1', { voltageV: 230, breakerClosed: true, onGenerator: false }),
      ev(1 * min, 'power-1', 'generator_start'),
      ev(2 * min, 'power-1', 'mains_restored'),
      ev(10 * min, 'power-1', 'mains_loss'),
      tel(11 * min, 'power-1', { voltageV: 0, onGenerator: true }),
      ev(40 * min, 'power-1', 'mains_restored'),
    ], hour);
    expect(out).toStrictEqual([
      ['raised', 'power-1', 10 * min],
      ['workOrder', 'power-1', 10 * min],
      ['cleared', 'power-1', 40 * min],
    ]);
  });

  it('checkpoint missed: counts only night time, raises for the checkpoint the round skips, not for the one it scans', async () => {
    // T0 is Monday 12:00 UTC; the night window opens at 22:00 (+10 h) and closes at 06:00 (+18 h).
    const scans = [10.5, 12.25, 14, 15.75, 17.5].map((h) => ev(h * hour, 'cp-1', 'checkpoint_scan', { guard: 'g-7', route: 'night' }));
    const out = await run('checkpoint-missed', [ev(1 * hour, 'cp-2', 'tamper'), ...scans], 19 * hour);
    expect(out).toStrictEqual([
      // cp-2 never scanned: 2 h 15 min of night counted at 00:15; the alarm clears when the window closes.
      ['raised', 'cp-2', 12.25 * hour],
      ['cleared', 'cp-2', 18 * hour],
    ]);
  });

  it('pump usage: a work order at each 2,000 run-hours past the first reading, none for a tank or a lift', async () => {
    const out = await run('pump-service', [
      tel(0, 'pump-1', { runHours: 100, pumpRunning: true }),
      tel(0, 'tank-1', { levelPct: 60 }),
      tel(1 * hour, 'pump-1', { runHours: 1500 }),
      tel(2 * hour, 'pump-1', { runHours: 2099.5 }),
      tel(3 * hour, 'pump-1', { runHours: 2100 }),
      tel(4 * hour, 'pump-1', { runHours: 2500 }),
      tel(5 * hour, 'pump-1', { runHours: 4200 }),
      tel(5 * hour, 'lift-1', { runHours: 9000 }),
    ], 6 * hour);
    expect(out).toStrictEqual([
      ['workOrder', 'pump-1', 3 * hour],
      ['workOrder', 'pump-1', 5 * hour],
    ]);
  });

  it('inspection mode left on: the mode, tested in where, held for 4 hours', async () => {
    const out = await run('lift-inspection-mode-left', [
      tel(0, 'lift-1', { floor: 0, mode: 'normal' }),
      tel(0, 'lift-2', { floor: -2, mode: 'inspection' }),
      tel(1 * hour, 'lift-1', { floor: 5, mode: 'inspection' }),
      tel(2 * hour, 'lift-2', { floor: -1, mode: 'normal' }),
      tel(3 * hour, 'lift-1', { floor: 6 }),
      tel(6 * hour, 'lift-1', { floor: 6, mode: 'normal' }),
    ], 8 * hour);
    expect(out).toStrictEqual([
      ['raised', 'lift-1', 5 * hour],
      ['cleared', 'lift-1', 6 * hour],
    ]);
  });

  it("unlocks the zone's doors and switches on its lights on a fire alarm", async () => {
    const fire = (await readRules('rules')).rules.find((r) => r.rule.id === 'fire-alarm')!.rule;
    expect(fire.commands?.map((c) => [c.match.kind, c.action])).toStrictEqual([
      [['access'], 'unlock'],
      [['lighting'], 'on'],
    ]);
  });
});

describe('loading rules at start', () => {
  it('keeps the valid files in force when another file is broken, and says which', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rules-start-'));
    await cp('rules/fire.yaml', join(dir, 'fire.yaml'));
    await writeFile(join(dir, 'typo.yaml'), '- id: x\n  when: { event: door_forced }\n  alarm: { type: x, severity: serious }\n');
    let set: readonly Rule[] = [];
    const loader = new RuleLoader({ dir, engine: { setRules: (r) => (set = r) }, log: createLogger('silent') });
    const result = await loader.start();
    loader.stop();
    expect(result).toMatchObject({ ok: false, errors: [expect.stringMatching(/typo\.yaml: rule "x": alarm\.severity: must be one of critical, major, minor, warning/)] });
    expect(set.map((r) => r.id)).toContain('fire-alarm');
    expect(set.map((r) => r.id)).not.toContain('x');
  });
});
