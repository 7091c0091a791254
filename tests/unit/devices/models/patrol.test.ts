import { describe, expect, it } from 'vitest';
import type { DeviceSpec, SimEvent, Telemetry } from '../../../../devices/models/model.js';
import { isNight, PatrolModel, SCAN_LATE_MS } from '../../../../devices/models/patrol.js';
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

function spec(params: Record<string, number> = { offsetMinutes: 15 }): DeviceSpec {
  const tags = { role: 'checkpoint', route: 'north-loop' };
  return { id: 'patrol-grounds-01', kind: 'patrol', site: 'demo', zone: 'grounds', name: 'checkpoint 1', role: 'checkpoint', tags, params };
}

function checkpoint(params?: Record<string, number>, start = MONDAY, seed = 5) {
  const clock = new ManualClock(start);
  return { clock, model: new PatrolModel(spec(params), { rng: new Random(seed), place: PLACE }, start) };
}

function run(model: PatrolModel, clock: ManualClock, durationMs: number, stepMs: number) {
  const out = { readings: [] as Telemetry[], events: [] as { at: number; event: SimEvent }[] };
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    for (const event of model.step(now).events) out.events.push({ at: now, event });
    out.readings.push(model.telemetry());
  }
  return out;
}

const scans = (events: { at: number; event: SimEvent }[]) => events.filter((e) => e.event.type === 'checkpoint_scan');

describe('patrol rounds', () => {
  it('is scanned every round at night, at its place on the route and a few minutes late at most', () => {
    const { clock, model } = checkpoint({ roundMinutes: 120, offsetMinutes: 15 });
    const night = scans(run(model, clock, 6 * HOUR, MINUTE).events); // 00:00–06:00
    expect(night.map((s) => localTime(s.at, PLACE.timeZone).hour).map(Math.floor)).toStrictEqual([0, 2, 4]);
    for (const s of night) {
      const minute = (localTime(s.at, PLACE.timeZone).hour % 2) * 60;
      expect(minute).toBeGreaterThanOrEqual(15);
      expect(minute).toBeLessThanOrEqual(15 + SCAN_LATE_MS / MINUTE + 1);
    }
    const gaps = night.slice(1).map((s, i) => s.at - night[i].at);
    for (const gap of gaps) expect(Math.abs(gap - 2 * HOUR)).toBeLessThanOrEqual(SCAN_LATE_MS + MINUTE);
  });

  it('has fewer rounds by day than at night, with a named guard on the route', () => {
    const { clock, model } = checkpoint({ roundMinutes: 60, offsetMinutes: 0 }, MONDAY - 30 * MINUTE);
    const all = scans(run(model, clock, DAY, MINUTE).events);
    const atNight = all.filter((s) => isNight(localTime(s.at - 1, PLACE.timeZone).hour)).length;
    expect(atNight).toBe(8); // 22:00–06:00 every hour
    expect(all.length - atNight).toBe(8); // 06:00–22:00 every other hour
    expect(all.every((s) => s.event.route === 'north-loop' && typeof s.event.guard === 'string')).toBe(true);
  });

  it('gives the same scans with long steps as with short ones', () => {
    const a = checkpoint(undefined, MONDAY, 9);
    const b = checkpoint(undefined, MONDAY, 9);
    const fine = scans(run(a.model, a.clock, 2 * DAY, MINUTE).events).length;
    const coarse = scans(run(b.model, b.clock, 2 * DAY, 3 * HOUR).events).length;
    expect(coarse).toBe(fine);
  });

  it('drains its battery only slowly', () => {
    const { clock, model } = checkpoint();
    const { readings } = run(model, clock, 7 * DAY, HOUR);
    const first = readings[0].batteryPct as number;
    expect(first - (readings.at(-1)?.batteryPct as number)).toBeLessThan(2);
    expect(first).toBeGreaterThan(10);
  });
});

describe('patrol faults', () => {
  it('has no scans while the checkpoint is skipped, and scans again when the fault ends', () => {
    const { clock, model } = checkpoint();
    expect(model.startFault({ name: 'checkpoint-skipped' }, clock.now())).toBe(true);
    expect(scans(run(model, clock, 6 * HOUR, MINUTE).events)).toStrictEqual([]);
    expect(model.endFault('checkpoint-skipped', clock.now())).toBe(true);
    clock.set(MONDAY + 22 * HOUR);
    model.step(clock.now());
    expect(scans(run(model, clock, 4 * HOUR, MINUTE).events).length).toBe(2);
  });

  it('sends tamper at once', () => {
    const { clock, model } = checkpoint();
    expect(model.startFault({ name: 'patrol-tamper' }, clock.now())).toBe(true);
    expect(model.step(clock.advance(SECOND))).toStrictEqual({ events: [{ type: 'tamper' }], reportNow: true });
    expect(model.endFault('patrol-tamper', clock.now())).toBe(true);
    expect(model.endFault('patrol-tamper', clock.now())).toBe(false);
  });

  it('reports a nearly flat battery, and refuses faults of other kinds', () => {
    const { clock, model } = checkpoint();
    model.startFault({ name: 'low-battery' }, clock.now());
    expect(model.step(clock.advance(SECOND)).reportNow).toBe(true);
    expect(model.telemetry().batteryPct as number).toBeLessThan(10);
    expect(model.startFault({ name: 'fire' }, clock.now())).toBe(false);
    expect(model.endFault('checkpoint-skipped', clock.now())).toBe(false);
    expect(model.command('open', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action open for patrol' });
  });
});

describe('what the checkpoint sends', () => {
  it('passes the patrol schemas for two days with faults, at uneven steps', () => {
    const { clock, model } = checkpoint(undefined, MONDAY, 17);
    const steps = new Random(99);
    const seen = new Set<string>();
    let tampered = false;
    while (clock.now() < MONDAY + 2 * DAY) {
      const now = clock.advance(steps.int(1, 600) * SECOND);
      if (!tampered && now > MONDAY + 30 * HOUR) tampered = model.startFault({ name: 'patrol-tamper' }, now);
      for (const event of model.step(now).events) {
        seen.add(event.type);
        expect(checkEvent('patrol', event)).toStrictEqual({ ok: true, value: event });
      }
      const reading = model.telemetry();
      expect(checkTelemetry('patrol', reading)).toStrictEqual({ ok: true, value: reading });
    }
    expect([...seen].sort()).toStrictEqual(['checkpoint_scan', 'tamper']);
  });
});
