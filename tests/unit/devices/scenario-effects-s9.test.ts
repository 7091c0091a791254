import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../../devices/scenarios.js';
import { play, START, types, type Played } from './play.js';

/** The scenarios of the lift, water, power, patrol, sos, environment and waste kinds, each on the demo site's devices. */

const MIN = 60;
const HOUR = 3600;
/** The same Wednesday at 23:00 local: the night rules (noise, the guard tour) apply. */
const NIGHT = Date.parse('2026-11-25T23:00:00+08:00');
const at = (local: string) => Date.parse(`2026-11-25T${local}:00+08:00`);

/** A traced device's readings of `field` from `fromS` seconds after the start. */
function series(p: Played, id: string, field: string, start: number, fromS = 0): (number | boolean | string)[] {
  return p.readings
    .get(id)!
    .filter((r) => r.at >= start + fromS * 1000)
    .map((r) => r.reading[field]);
}
/** play's default start: that Wednesday at 14:00. */
const START_PM = START;

describe('lift scenarios', () => {
  const car = 'lift-b1-lift-01';

  it('lift-trapped: stopped_between_floors and passenger_trapped at the floor, the car still; released when it ends', () => {
    const p = play('lift-trapped:b1', 10 * MIN, { endAfter: 5 * MIN });
    expect(p.ids).toStrictEqual([car]);
    const [stopped, trapped, released] = p.events.get(car)!;
    expect(stopped).toStrictEqual({ type: 'stopped_between_floors', floor: expect.any(Number) });
    expect(trapped).toStrictEqual({ type: 'passenger_trapped', floor: stopped.floor });
    expect(released).toStrictEqual({ type: 'released' });
    expect(p.timed.get(car)![2].at).toBe(START_PM + 5 * MIN * 1000);
  });

  it('lift-trapped: while it lasts the car reads stopped, doors shut, speed 0', () => {
    const p = play('lift-trapped:lift-b1-lift-01', 5 * MIN);
    expect(p.after.get(car)).toMatchObject({ moving: false, direction: 'idle', doorOpen: false, speedMps: 0, mode: 'normal' });
    expect(p.after.get(car)!.trips).toBe(p.before.get(car)!.trips);
  });

  it('lift-door-fault: door_fault at least three times within 10 minutes, the doors open and the car at its floor', () => {
    const p = play('lift-door-fault:b1', 10 * MIN);
    expect(types(p, car).length).toBeGreaterThanOrEqual(3);
    expect(new Set(types(p, car))).toStrictEqual(new Set(['door_fault']));
    expect(p.after.get(car)).toMatchObject({ moving: false, doorOpen: true, speedMps: 0 });
  });

  it('lift-out-of-service: no events, mode out_of_service, no trips', () => {
    const p = play('lift-out-of-service:b2', 30 * MIN);
    expect(types(p, 'lift-b2-lift-01')).toStrictEqual([]);
    expect(p.after.get('lift-b2-lift-01')).toMatchObject({ mode: 'out_of_service', moving: false, speedMps: 0 });
    expect(p.after.get('lift-b2-lift-01')!.trips).toBe(p.before.get('lift-b2-lift-01')!.trips);
  });

  it('lift-inspection: maintenance_start, mode inspection; maintenance_end and back to normal when it ends', () => {
    const p = play('lift-inspection:b3', 20 * MIN, { endAfter: 10 * MIN, trace: true });
    expect(types(p, 'lift-b3-lift-01')).toStrictEqual(['maintenance_start', 'maintenance_end']);
    expect(series(p, 'lift-b3-lift-01', 'mode', START_PM).slice(0, 10 * MIN - 1).every((m) => m === 'inspection')).toBe(true);
    expect(p.after.get('lift-b3-lift-01')).toMatchObject({ mode: 'normal' });
  });

  it('lift-alarm-button: alarm_button once, the car carries on in service', () => {
    const p = play('lift-alarm-button:b1', 30 * MIN, { trace: true });
    expect(p.events.get(car)).toStrictEqual([{ type: 'alarm_button' }]);
    expect(new Set(series(p, car, 'mode', START_PM))).toStrictEqual(new Set(['normal']));
    expect(series(p, car, 'moving', START_PM)).toContain(true);
    expect(p.after.get(car)!.trips).toBeGreaterThan(p.before.get(car)!.trips as number);
  });

  it('lift-power-loss: power_loss, the car still with its doors shut until it ends', () => {
    const p = play('lift-power-loss:b1', 20 * MIN, { endAfter: 10 * MIN, trace: true });
    expect(p.events.get(car)).toStrictEqual([{ type: 'power_loss' }]);
    const held = p.readings.get(car)!.filter((r) => r.at < START_PM + 10 * MIN * 1000);
    for (const { reading } of held) expect(reading).toMatchObject({ moving: false, doorOpen: false, speedMps: 0, trips: held[0].reading.trips });
    expect(p.after.get(car)!.trips).toBeGreaterThan(held[0].reading.trips as number);
  });

  it('lift-overspeed: overspeed then fault E17, stopped out of service until it ends', () => {
    const p = play('lift-overspeed:b1', 20 * MIN, { endAfter: 10 * MIN, trace: true });
    expect(p.events.get(car)).toStrictEqual([{ type: 'overspeed' }, { type: 'fault', code: 'E17' }]);
    const held = p.readings.get(car)!.filter((r) => r.at < START_PM + 10 * MIN * 1000);
    for (const { reading } of held) expect(reading).toMatchObject({ mode: 'out_of_service', moving: false, doorOpen: false, speedMps: 0 });
    expect(p.after.get(car)).toMatchObject({ mode: 'normal' });
  });

  it('lift-fault: fault E30, out of service and answering no calls', () => {
    const p = play('lift-fault:b4', 30 * MIN);
    expect(p.events.get('lift-b4-lift-01')).toStrictEqual([{ type: 'fault', code: 'E30' }]);
    expect(p.after.get('lift-b4-lift-01')).toMatchObject({ mode: 'out_of_service', moving: false, speedMps: 0 });
    expect(p.after.get('lift-b4-lift-01')!.trips).toBe(p.before.get('lift-b4-lift-01')!.trips);
  });
});

describe('water scenarios', () => {
  const set = 'water-pumps-01';
  const quality = (p: Played) => types(p, set).filter((t) => t !== 'pump_start' && t !== 'pump_stop');

  it('pump-fault: pump_fault P1 E21, the pressure below 0.25 MPa', () => {
    const p = play('pump-fault:pumps', 10 * MIN);
    expect(p.ids).toStrictEqual([set]);
    expect(p.events.get(set)![0]).toStrictEqual({ type: 'pump_fault', pump: 'P1', code: 'E21' });
    expect(p.after.get(set)!.pressureMpa).toBeLessThan(0.25);
  });

  it('dry-run: dry_run, the tank near empty and the pumps stopped', () => {
    const p = play('dry-run:pumps', 10 * MIN);
    expect(quality(p)).toStrictEqual(['dry_run']);
    expect(p.after.get(set)!.levelPct).toBeLessThan(3);
    expect(p.after.get(set)).toMatchObject({ pumpRunning: false, pumpCurrentA: 0 });
  });

  it('water-leak: leak in the riser, and at night the flow never falls below the leak', () => {
    const p = play('water-leak:pumps', HOUR, { start: at('03:00'), stepMs: 10_000, trace: true });
    expect(quality(p)).toStrictEqual(['leak']);
    expect(p.events.get(set)![0]).toStrictEqual({ type: 'leak', location: 'riser' });
    expect(Math.min(...(series(p, set, 'flowM3h', at('03:00')) as number[]))).toBeGreaterThanOrEqual(6);
  });

  it('pump-short-cycling: ten or more pump starts within the hour', () => {
    const p = play('pump-short-cycling:pumps', HOUR, { start: at('02:00') });
    expect(types(p, set).filter((t) => t === 'pump_start').length).toBeGreaterThanOrEqual(10);
  });

  it('tank-overflow: overflow within 15 minutes, the level above 95 % for the rest of the hour', () => {
    const p = play('tank-overflow:pumps', HOUR, { stepMs: 10_000, trace: true });
    const overflow = p.timed.get(set)!.filter((t) => t.event.type === 'overflow');
    expect(overflow).toHaveLength(1);
    expect(overflow[0].at - START_PM).toBeLessThan(15 * MIN * 1000);
    expect(Math.min(...(series(p, set, 'levelPct', START_PM) as number[]))).toBeGreaterThan(95);
    expect(p.after.get(set)!.levelPct).toBe(100);
  });

  it('water-contamination: from 10 minutes on, chlorine below 0.05 mg/L and turbidity above 1 NTU', () => {
    const p = play('water-contamination:pumps', HOUR, { stepMs: 10_000, trace: true });
    expect(quality(p)).toStrictEqual([]);
    expect(Math.max(...(series(p, set, 'chlorineMgL', START_PM, 10 * MIN) as number[]))).toBeLessThan(0.05);
    expect(Math.min(...(series(p, set, 'turbidityNtu', START_PM, 10 * MIN) as number[]))).toBeGreaterThan(1);
  });

  it('chlorine-overdose: from 10 minutes on, chlorine above 2 mg/L', () => {
    const p = play('chlorine-overdose:pumps', HOUR, { stepMs: 10_000, trace: true });
    expect(quality(p)).toStrictEqual([]);
    expect(Math.min(...(series(p, set, 'chlorineMgL', START_PM, 10 * MIN) as number[]))).toBeGreaterThan(2);
  });
});

describe('power scenarios', () => {
  const room = 'power-b1-power-01';

  it('mains-loss: mains_loss and generator_start, on the generator; mains_restored when it ends', () => {
    const p = play('mains-loss:b1', 20 * MIN, { endAfter: 10 * MIN, trace: true });
    expect(p.ids).toStrictEqual([room]);
    expect(p.events.get(room)).toStrictEqual([{ type: 'mains_loss' }, { type: 'generator_start' }, { type: 'mains_restored' }]);
    expect(series(p, room, 'onGenerator', START_PM).slice(0, 10 * MIN - 1).every(Boolean)).toBe(true);
    expect(p.after.get(room)).toMatchObject({ onGenerator: false });
  });

  it('breaker-trip: breaker_trip Q1, the breaker open and no load', () => {
    const p = play('breaker-trip:b2', 5 * MIN);
    expect(p.events.get('power-b2-power-01')).toStrictEqual([{ type: 'breaker_trip', circuit: 'Q1' }]);
    expect(p.after.get('power-b2-power-01')).toMatchObject({ breakerClosed: false, powerKw: 0, currentA: 0 });
  });

  it('transformer-overheat: the transformer passes 130 °C within two hours and stays above it', () => {
    const p = play('transformer-overheat:b1', 3 * HOUR, { stepMs: MIN * 1000, trace: true });
    expect(types(p, room)).toStrictEqual([]);
    const temps = series(p, room, 'transformerTempC', START_PM) as number[];
    const over = temps.findIndex((t) => t > 130);
    expect(over).toBeGreaterThan(0);
    expect(over).toBeLessThan(2 * 60);
    expect(Math.min(...temps.slice(over))).toBeGreaterThan(130);
  });

  it('power-room-flooding: flooding, the humidity above 90 % within the hour', () => {
    const p = play('power-room-flooding:b3', HOUR, { stepMs: 10_000 });
    expect(p.events.get('power-b3-power-01')).toStrictEqual([{ type: 'flooding' }]);
    expect(p.after.get('power-b3-power-01')!.humidityPct).toBeGreaterThan(90);
  });

  it('generator-fault: generator_fault with its code, the mains still carrying the load', () => {
    const p = play('generator-fault:b4', 5 * MIN);
    expect(p.events.get('power-b4-power-01')).toStrictEqual([{ type: 'generator_fault', code: 'E05' }]);
    expect(p.after.get('power-b4-power-01')).toMatchObject({ onGenerator: false, breakerClosed: true });
    expect(p.after.get('power-b4-power-01')!.powerKw).toBeGreaterThan(0);
  });
});

describe('patrol scenarios', () => {
  const checkpoint = 'patrol-street-01';

  it('checkpoint-skipped: no checkpoint_scan at night while it lasts, the guard scans again after it ends', () => {
    // patrol-street-01 is 21 minutes into each two-hour round: the guard is due about 00:21 and 02:21.
    const p = play('checkpoint-skipped:street', 4 * HOUR, { start: NIGHT, stepMs: 10_000, endAfter: 2 * HOUR });
    expect(p.ids).toStrictEqual([checkpoint]);
    const scans = p.timed.get(checkpoint)!;
    expect(scans.every((s) => s.at > NIGHT + 2 * HOUR * 1000)).toBe(true);
    expect(scans.map((s) => s.event)).toStrictEqual([{ type: 'checkpoint_scan', guard: expect.any(String), route: 'night-round' }]);
  });

  it('the same checkpoint without the fault is scanned on that night round', () => {
    const p = play('low-battery:patrol-street-01', 4 * HOUR, { start: NIGHT, stepMs: 10_000 });
    expect(types(p, 'patrol-street-01')).toStrictEqual(['checkpoint_scan', 'checkpoint_scan']);
    expect(p.after.get('patrol-street-01')!.batteryPct).toBeLessThan(10);
  });

  it('patrol-tamper: tamper once', () => {
    const p = play('patrol-tamper:patrol-carpark-02', MIN);
    expect(p.events.get('patrol-carpark-02')).toStrictEqual([{ type: 'tamper' }]);
  });
});

describe('sos scenarios', () => {
  it('sos-call: call with the location; cancel when it ends', () => {
    const p = play('sos-call:carpark', 5 * MIN, { endAfter: 3 * MIN });
    expect(p.events.get('sos-carpark-01')).toStrictEqual([{ type: 'call', location: 'Underground car park call point' }, { type: 'cancel' }]);
  });

  it("sos-call in a lift car: the call names the building's lift car", () => {
    const p = play('sos-call:b1-lift', MIN);
    expect(p.events.get('sos-b1-lift-01')).toStrictEqual([{ type: 'call', location: 'Building 1 lift car' }]);
  });

  it('sos-fault: fault with a code, and no call placed while it lasts', () => {
    const p = play('sos-fault:sos-street-01', MIN);
    expect(p.events.get('sos-street-01')).toStrictEqual([{ type: 'fault', code: expect.stringMatching(/^(E21|speaker|line)$/) }]);
  });

  it('sos-tamper: tamper once', () => {
    expect(play('sos-tamper:carpark', MIN).events.get('sos-carpark-01')).toStrictEqual([{ type: 'tamper' }]);
  });
});

describe('environment scenarios', () => {
  const station = 'environment-street-01';

  it('leak: leak with the location, waterLeak true', () => {
    const p = play('leak:street', MIN);
    expect(p.ids).toStrictEqual([station]);
    expect(p.events.get(station)).toStrictEqual([{ type: 'leak', location: expect.any(String) }]);
    expect(p.after.get(station)).toMatchObject({ waterLeak: true });
    expect(p.before.get(station)).toMatchObject({ waterLeak: false });
  });

  it('valve-fault: valve_fault, and the valve stays shut through the 18:00 watering', () => {
    const p = play('valve-fault:street', 30 * MIN, { start: at('17:55'), trace: true });
    expect(p.events.get(station)).toStrictEqual([{ type: 'valve_fault' }]);
    expect(new Set(series(p, station, 'valveOpen', at('17:55')))).toStrictEqual(new Set([false]));
  });

  it('pollution: PM2.5 above 75 and PM10 above 150 µg/m³ throughout', () => {
    const p = play('pollution:street', HOUR, { stepMs: MIN * 1000, trace: true });
    expect(types(p, station)).toStrictEqual([]);
    expect(Math.min(...(series(p, station, 'pm25Ugm3', START_PM) as number[]))).toBeGreaterThan(75);
    expect(Math.min(...(series(p, station, 'pm10Ugm3', START_PM) as number[]))).toBeGreaterThan(150);
  });

  it('night-noise: above 45 dB throughout a night-time quarter hour (quiet without it)', () => {
    const quiet = play('leak:street', 15 * MIN, { start: NIGHT, stepMs: MIN * 1000, trace: true });
    expect(Math.max(...(series(quiet, station, 'noiseDb', NIGHT) as number[]))).toBeLessThan(45);
    const p = play('night-noise:street', 15 * MIN, { start: NIGHT, stepMs: MIN * 1000, trace: true });
    expect(types(p, station)).toStrictEqual([]);
    expect(Math.min(...(series(p, station, 'noiseDb', NIGHT) as number[]))).toBeGreaterThan(55);
  });
});

describe('waste scenarios', () => {
  const bin = 'waste-b1-yard-01';

  it('bin-overfill: full within ten minutes, reading 100 %; emptied when it ends', () => {
    const p = play('bin-overfill:b1', 20 * MIN, { endAfter: 15 * MIN, trace: true });
    expect(p.ids).toStrictEqual([bin]);
    expect(types(p, bin)).toStrictEqual(['full', 'emptied']);
    expect(p.timed.get(bin)![0].at - START_PM).toBeLessThanOrEqual(10 * MIN * 1000);
    expect(series(p, bin, 'fillPct', START_PM, 10 * MIN)[0]).toBeGreaterThanOrEqual(99);
    expect(p.after.get(bin)!.fillPct).toBeLessThan(5);
  });

  it('bin-fire: fire within ten minutes, the bin above 60 °C', () => {
    const p = play('bin-fire:waste-street-01', 10 * MIN);
    expect(types(p, 'waste-street-01')).toStrictEqual(['fire']);
    expect(p.after.get('waste-street-01')!.temperatureC).toBeGreaterThan(60);
  });
});

it('covers every scenario of the lift, water, power, patrol, sos, environment and waste kinds', () => {
  const s9 = ['lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste'];
  const names = Object.entries(SCENARIOS)
    .filter(([, d]) => (d.kinds as readonly string[]).every((k) => s9.includes(k)))
    .map(([name]) => name);
  expect(names.sort()).toStrictEqual(
    [
      ...['lift-trapped', 'lift-door-fault', 'lift-out-of-service', 'lift-inspection', 'lift-alarm-button', 'lift-power-loss', 'lift-overspeed', 'lift-fault'],
      ...['pump-fault', 'dry-run', 'water-leak', 'pump-short-cycling', 'tank-overflow', 'water-contamination', 'chlorine-overdose'],
      ...['mains-loss', 'breaker-trip', 'transformer-overheat', 'power-room-flooding', 'generator-fault', 'mains-loss-flood'],
      ...['checkpoint-skipped', 'patrol-tamper', 'sos-call', 'sos-fault', 'sos-tamper'],
      ...['leak', 'valve-fault', 'pollution', 'night-noise', 'bin-overfill', 'bin-fire'],
      // Slow faults (issue 18, tests/unit/devices/decay.test.ts).
      ...['pump-decay', 'inlet-decay', 'leak-decay', 'transformer-decay'],
    ].sort(),
  );
});
