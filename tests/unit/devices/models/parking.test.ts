import { describe, expect, it } from 'vitest';
import type { DeviceSpec, SimEvent } from '../../../../devices/models/model.js';
import { ParkingModel } from '../../../../devices/models/parking.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const place = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2 March 2026, 00:00 in Shanghai. */
const MONDAY = Date.UTC(2026, 2, 1, 16);
const CAPACITY = 180;

function parking(role: 'lot' | 'space' | 'fire-lane', seed = 7, params: Record<string, number> = {}): ParkingModel {
  const spec: DeviceSpec = {
    id: `parking-carpark-${role}-01`,
    kind: 'parking',
    site: 'demo',
    zone: 'carpark',
    name: role,
    role,
    tags: { role, area: 'carpark' },
    params: role === 'lot' ? { capacity: CAPACITY, ...params } : params,
  };
  return new ParkingModel(spec, { rng: new Random(seed), place }, MONDAY);
}

const freeSpaces = (m: ParkingModel, now: number) => m.telemetry(now).freeSpaces as number;

/** Plays a week of the lot, checking every step that the plates seen in and out agree with the count. */
function playWeek(seed: number) {
  const lot = parking('lot', seed);
  const clock = new ManualClock(MONDAY);
  const inside = new Set<string>();
  const start = CAPACITY - freeSpaces(lot, MONDAY);
  let entries = 0;
  let exits = 0;
  const occupancyAt = new Map<number, number>();
  const problems: string[] = [];
  while (clock.now() < MONDAY + 7 * DAY) {
    const now = clock.advance(30_000);
    const { events } = lot.step(now);
    for (const e of events) {
      if (!checkEvent('parking', e).ok) problems.push(`bad event ${JSON.stringify(e)}`);
      const plate = e.plate as string;
      if (e.type === 'vehicle_entry') {
        if (inside.has(plate)) problems.push(`${plate} entered twice`);
        inside.add(plate);
        entries++;
      } else if (e.type === 'vehicle_exit') {
        // The plates parked before the start are not known yet: an exit may be one of them.
        if (!inside.delete(plate) && exits - entries >= start) problems.push(`${plate} left but was not inside`);
        exits++;
      }
    }
    const t = lot.telemetry(now);
    if (!checkTelemetry('parking', t).ok) problems.push(`bad telemetry ${JSON.stringify(t)}`);
    if (t.freeSpaces !== CAPACITY - (start + entries - exits)) problems.push(`count disagrees at ${now}`);
    if ((t.freeSpaces as number) < 0 || t.capacity !== CAPACITY) problems.push(`impossible ${JSON.stringify(t)}`);
    occupancyAt.set(now, CAPACITY - (t.freeSpaces as number));
  }
  return { problems, entries, exits, occupancyAt };
}

describe('parking lot gate', () => {
  const week = playWeek(7);

  it('keeps freeSpaces equal to capacity minus the cars in, every step of a week', () => {
    expect(week.problems).toStrictEqual([]);
    // A residential lot of 180 sees hundreds of cars a day.
    expect(week.entries).toBeGreaterThan(7 * 150);
    expect(Math.abs(week.entries - week.exits)).toBeLessThan(CAPACITY);
  });

  it('fills in the evening: every weekday more cars at 22:00 than at 11:00', () => {
    for (let d = 0; d < 5; d++) {
      const at11 = week.occupancyAt.get(MONDAY + d * DAY + 11 * HOUR)!;
      const at22 = week.occupancyAt.get(MONDAY + d * DAY + 22 * HOUR)!;
      expect(at22).toBeGreaterThan(at11 + 0.3 * CAPACITY);
    }
  });

  it('is nearly full overnight and about a third full on a weekday afternoon', () => {
    for (let d = 1; d < 7; d++) {
      const at3 = week.occupancyAt.get(MONDAY + d * DAY + 3 * HOUR)! / CAPACITY;
      expect(at3).toBeGreaterThan(0.8);
      expect(at3).toBeLessThanOrEqual(1);
    }
    for (let d = 0; d < 5; d++) {
      const at14 = week.occupancyAt.get(MONDAY + d * DAY + 14 * HOUR)! / CAPACITY;
      expect(at14).toBeGreaterThan(0.2);
      expect(at14).toBeLessThan(0.5);
    }
  });

  it('never exits a plate that is not inside, nor lets in more cars than spaces, for several seeds', () => {
    for (const seed of [1, 2]) expect(playWeek(seed).problems).toStrictEqual([]);
  });

  it('never lets more cars into a tiny lot than it has spaces', () => {
    const lot = parking('lot', 4, { capacity: 3 });
    for (let t = MONDAY + MIN; t < MONDAY + 3 * DAY; t += MIN) {
      lot.step(t);
      const r = lot.telemetry(t);
      expect(r.capacity).toBe(3);
      expect(r.freeSpaces).toBeGreaterThanOrEqual(0);
      expect(r.freeSpaces).toBeLessThanOrEqual(3);
    }
  });

  it('is reproducible: the same seed gives the same cars', () => {
    const run = () => {
      const lot = parking('lot', 12);
      return Array.from({ length: 24 * 12 }, (_, i) => lot.step(MONDAY + (i + 1) * 5 * MIN).events);
    };
    expect(run()).toStrictEqual(run());
  });

  it('sends plates of at most 16 characters, mostly of residents coming back', () => {
    const lot = parking('lot', 3);
    const plates: string[] = [];
    for (let t = MONDAY + MIN; t < MONDAY + 2 * DAY; t += MIN) {
      for (const e of lot.step(t).events) if (e.type === 'vehicle_entry') plates.push(e.plate as string);
    }
    for (const p of plates) expect(p).toMatch(/^[沪苏浙皖][A-H]·[0-9A-Z]{5,6}$/);
    expect(new Set(plates).size).toBeLessThan(plates.length * 0.8);
  });

  it('opens the barrier on command and reports it', () => {
    const lot = parking('lot');
    expect(lot.command('barrier_open', undefined, MONDAY + 1000)).toStrictEqual({ ok: true });
    const { events, reportNow } = lot.step(MONDAY + 2000);
    expect(events.filter((e) => e.type === 'barrier_open')).toStrictEqual([{ type: 'barrier_open' }]);
    expect(reportNow).toBe(true);
  });

  it('sends barrier_fault and refuses to open until the fault ends', () => {
    const lot = parking('lot');
    expect(lot.startFault({ name: 'barrier-fault' }, MONDAY + 1000)).toBe(true);
    const { events, reportNow } = lot.step(MONDAY + 2000);
    expect(events.filter((e) => !e.type.startsWith('vehicle_'))).toStrictEqual([{ type: 'barrier_fault' }]);
    expect(reportNow).toBe(true);
    expect(lot.command('barrier_open', undefined, MONDAY + 3000)).toStrictEqual({ ok: false, error: 'barrier fault' });
    expect(lot.endFault('barrier-fault', MONDAY + 4000)).toBe(true);
    expect(lot.command('barrier_open', undefined, MONDAY + 5000)).toStrictEqual({ ok: true });
  });

  it('refuses other commands and faults, naming the action', () => {
    const lot = parking('lot');
    expect(lot.command('barrier_close', undefined, MONDAY)).toStrictEqual({ ok: false, error: 'unknown action barrier_close for parking lot' });
    expect(lot.startFault({ name: 'low-battery' }, MONDAY)).toBe(false);
    expect(lot.startFault({ name: 'fire-lane' }, MONDAY)).toBe(false);
  });
});

describe('parking space sensor', () => {
  it('sends only valid readings, and a car stays for hours rather than flipping each step', () => {
    const space = parking('space', 5);
    let previous = space.telemetry(MONDAY).occupied;
    let changes = 0;
    for (let t = MONDAY + 30_000; t < MONDAY + 7 * DAY; t += 30_000) {
      const { events, reportNow } = space.step(t);
      expect(events).toStrictEqual([]);
      const r = space.telemetry(t);
      expect(checkTelemetry('parking', r)).toStrictEqual({ ok: true, value: r });
      expect(Object.keys(r).sort()).toStrictEqual(['batteryPct', 'occupied']);
      // The sensor reports a change at once.
      expect(reportNow).toBe(r.occupied !== previous);
      if (r.occupied !== previous) changes++;
      previous = r.occupied;
    }
    expect(changes).toBeGreaterThan(2);
    expect(changes / 7).toBeLessThan(8);
  });

  it('is taken more often at night than on a weekday afternoon', () => {
    let night = 0;
    let afternoon = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const space = parking('space', seed);
      for (let d = 0; d < 5; d++) {
        space.step(MONDAY + d * DAY + 3 * HOUR);
        if (space.telemetry(0).occupied) night++;
        space.step(MONDAY + d * DAY + 14 * HOUR);
        if (space.telemetry(0).occupied) afternoon++;
      }
    }
    expect(night).toBeGreaterThan(0.75 * 300);
    expect(afternoon).toBeLessThan(0.55 * 300);
  });

  it('drains its battery under low-battery and gets a new one when it ends', () => {
    const space = parking('space');
    expect(space.startFault({ name: 'low-battery' }, MONDAY + 1000)).toBe(true);
    expect(space.step(MONDAY + 2000).reportNow).toBe(true);
    expect(space.telemetry(0).batteryPct).toBeLessThan(10);
    expect(space.endFault('low-battery', MONDAY + 3000)).toBe(true);
    expect(space.telemetry(0).batteryPct).toBeGreaterThan(95);
    expect(space.endFault('low-battery', MONDAY + 4000)).toBe(false);
  });

  it('refuses commands, naming the action', () => {
    expect(parking('space').command('barrier_open', undefined, MONDAY)).toStrictEqual({
      ok: false,
      error: 'unknown action barrier_open for parking space',
    });
  });
});

describe('parking fire-lane sensor', () => {
  it('is never occupied without the fault, and occupied only while it lasts', () => {
    const sensor = parking('fire-lane', 9);
    const seen: SimEvent[] = [];
    for (let t = MONDAY + MIN; t < MONDAY + 2 * DAY; t += MIN) {
      if (t === MONDAY + DAY + 12 * HOUR) expect(sensor.startFault({ name: 'fire-lane' }, t)).toBe(true);
      if (t === MONDAY + DAY + 14 * HOUR) expect(sensor.endFault('fire-lane', t)).toBe(true);
      const { events, reportNow } = sensor.step(t);
      seen.push(...events);
      const r = sensor.telemetry(t);
      expect(checkTelemetry('parking', r).ok).toBe(true);
      const underFault = t >= MONDAY + DAY + 12 * HOUR && t < MONDAY + DAY + 14 * HOUR;
      expect(r.occupied).toBe(underFault);
      if (t === MONDAY + DAY + 12 * HOUR || t === MONDAY + DAY + 14 * HOUR) expect(reportNow).toBe(true);
    }
    expect(seen).toStrictEqual([]);
    expect(sensor.endFault('fire-lane', MONDAY + 3 * DAY)).toBe(false);
  });

  it('takes the low-battery fault but not the lot’s', () => {
    const sensor = parking('fire-lane');
    expect(sensor.startFault({ name: 'barrier-fault' }, MONDAY)).toBe(false);
    expect(sensor.startFault({ name: 'low-battery' }, MONDAY)).toBe(true);
    expect(sensor.telemetry(MONDAY).batteryPct).toBeLessThan(10);
  });
});
