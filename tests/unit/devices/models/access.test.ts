import { describe, expect, it } from 'vitest';
import { AccessModel } from '../../../../devices/models/access.js';
import type { DeviceSpec, SimEvent, StepResult, Telemetry } from '../../../../devices/models/model.js';
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

function spec(zone: string, floor: string, role = 'door'): DeviceSpec {
  const tags = { role, building: 'b1', floor };
  return { id: `access-${zone}-01`, kind: 'access', site: 'demo', zone, name: `${role} ${zone} 1`, role, tags, params: {} };
}
const LOBBY = spec('b1-lobby', '0');
const FLOOR = spec('b1-f3', '3');

function door(s: DeviceSpec = LOBBY, start = MONDAY, seed = 5) {
  const clock = new ManualClock(start);
  return { clock, model: new AccessModel(s, { rng: new Random(seed), place: PLACE }, start) };
}

interface Run {
  readings: Telemetry[];
  events: { at: number; event: SimEvent }[];
  steps: StepResult[];
}

/** Steps the model every `stepMs` for `durationMs`; events carry the time of the step that returned them. */
function run(model: AccessModel, clock: ManualClock, durationMs: number, stepMs: number): Run {
  const out: Run = { readings: [], events: [], steps: [] };
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    const result = model.step(now);
    out.steps.push(result);
    for (const event of result.events) out.events.push({ at: now, event });
    out.readings.push(model.telemetry(now));
  }
  return out;
}

const attempts = (r: Run) => r.events.filter((e) => e.event.type === 'access_granted' || e.event.type === 'access_denied');

describe('access traffic', () => {
  it('has clearly more attempts per hour at 08:00 than at 03:00 over a week', () => {
    const { clock, model } = door();
    const perHour = new Array<number>(24).fill(0);
    for (const { at } of attempts(run(model, clock, 7 * DAY, MINUTE))) perHour[Math.floor(localTime(at - 1, PLACE.timeZone).hour)]++;
    expect(perHour[8] / 7).toBeGreaterThan(25);
    expect(perHour[8]).toBeGreaterThan(8 * perHour[3]);
    expect(perHour[18]).toBeGreaterThan(8 * perHour[3]);
  });

  it('is flatter at the weekend: a much smaller morning rush', () => {
    const rush = (start: number) => {
      const { clock, model } = door(LOBBY, start);
      return attempts(run(model, clock, 2 * DAY, MINUTE)).filter(({ at }) => {
        const { hour } = localTime(at - 1, PLACE.timeZone);
        return hour >= 7 && hour < 9;
      }).length;
    };
    const weekend = rush(Date.parse('2026-11-21T00:00:00+08:00')); // Saturday and Sunday
    const weekdays = rush(MONDAY); // Monday and Tuesday
    expect(weekend).toBeLessThan(weekdays * 0.6);
    expect(weekend).toBeGreaterThan(weekdays * 0.15);
  });

  it('sees far more attempts at a lobby door than at a floor door', () => {
    const lobby = door(LOBBY);
    const floor = door(FLOOR);
    const atLobby = attempts(run(lobby.model, lobby.clock, 2 * DAY, MINUTE)).length;
    const atFloor = attempts(run(floor.model, floor.clock, 2 * DAY, MINUTE)).length;
    expect(atLobby).toBeGreaterThan(4 * atFloor);
    expect(atFloor).toBeGreaterThan(10);
  });

  it('grants about 95 % of attempts, mostly by card and face, and refuses the rest with a reason', () => {
    const { clock, model } = door();
    const all = attempts(run(model, clock, 7 * DAY, 5 * MINUTE)).map((e) => e.event);
    const denied = all.filter((e) => e.type === 'access_denied');
    expect(denied.length / all.length).toBeGreaterThan(0.03);
    expect(denied.length / all.length).toBeLessThan(0.07);
    expect(denied.every((e) => typeof e.reason === 'string')).toBe(true);
    const cardOrFace = all.filter((e) => e.method === 'card' || e.method === 'face').length;
    expect(cardOrFace / all.length).toBeGreaterThan(0.75);
    const granted = all.find((e) => e.type === 'access_granted' && e.method === 'card');
    expect(granted?.credential).toMatch(/^card-\d{4}$/);
  });

  it('opens the door a few seconds for a granted badge, so it is mostly seen shut and locked', () => {
    const { clock, model } = door(LOBBY, MONDAY + 7 * HOUR);
    const { readings } = run(model, clock, 2 * HOUR, SECOND);
    const open = readings.filter((r) => r.doorOpen).length / readings.length;
    expect(open).toBeGreaterThan(0.01);
    expect(open).toBeLessThan(0.2);
    expect(readings.every((r) => r.doorOpen || r.locked)).toBe(true);
    expect(readings.every((r) => !r.doorOpen || !r.locked)).toBe(true); // a passage releases the strike
  });
});

describe('access commands', () => {
  it('unlocks until locked again, reporting each change at once', () => {
    const { clock, model } = door(FLOOR, MONDAY + 3 * HOUR);
    expect(model.command('unlock', { seconds: 5 }, clock.now())).toStrictEqual({ ok: true });
    expect(model.step(clock.advance(SECOND)).reportNow).toBe(true);
    expect(model.telemetry(clock.now()).locked).toBe(false);
    run(model, clock, HOUR, MINUTE);
    expect(model.telemetry(clock.now()).locked).toBe(false);
    expect(model.command('lock', undefined, clock.now())).toStrictEqual({ ok: true });
    expect(model.step(clock.advance(SECOND)).reportNow).toBe(true);
    expect(model.telemetry(clock.now())).toMatchObject({ locked: true, doorOpen: false });
  });

  it('lets people through an unlocked door without badge events', () => {
    const { clock, model } = door(LOBBY, MONDAY + 7 * HOUR);
    model.command('unlock', undefined, clock.now());
    const { events, readings } = run(model, clock, 2 * HOUR, SECOND);
    expect(events).toStrictEqual([]);
    expect(readings.some((r) => r.doorOpen)).toBe(true);
  });

  it('refuses an unknown action with a message naming it', () => {
    const { clock, model } = door();
    expect(model.command('open-sesame', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action open-sesame for access' });
  });
});

describe('access faults', () => {
  it('sends door_forced and shows the door open while locked, shut again after about 20 s', () => {
    const { clock, model } = door(FLOOR, MONDAY + 3 * HOUR);
    expect(model.startFault({ name: 'door-forced' }, clock.now())).toBe(true);
    expect(model.step(clock.advance(SECOND))).toStrictEqual({ events: [{ type: 'door_forced' }], reportNow: true });
    expect(model.telemetry(clock.now())).toMatchObject({ doorOpen: true, locked: true });
    clock.advance(15 * SECOND);
    expect(model.telemetry(clock.now()).doorOpen).toBe(true);
    expect(model.step(clock.advance(10 * SECOND)).reportNow).toBe(true); // it swung shut
    expect(model.telemetry(clock.now())).toMatchObject({ doorOpen: false, locked: true });
    expect(model.endFault('door-forced', clock.now())).toBe(true);
  });

  it('sends door_held_open after 30 s and every further 30 s until the door is shut', () => {
    const { clock, model } = door(FLOOR, MONDAY + 3 * HOUR);
    model.startFault({ name: 'door-held-open' }, clock.now());
    const { events, readings, steps } = run(model, clock, 100 * SECOND, 5 * SECOND);
    expect(steps[0].reportNow).toBe(true);
    expect(readings.every((r) => r.doorOpen)).toBe(true);
    expect(events.map((e) => e.event)).toStrictEqual([
      { type: 'door_held_open', seconds: 30 },
      { type: 'door_held_open', seconds: 60 },
      { type: 'door_held_open', seconds: 90 },
    ]);
    expect(model.endFault('door-held-open', clock.now())).toBe(true);
    expect(model.step(clock.advance(SECOND))).toStrictEqual({ events: [], reportNow: true });
    expect(model.telemetry(clock.now()).doorOpen).toBe(false);
  });

  it('sends one door_held_open per step, with the seconds so far, when steps are long', () => {
    const { clock, model } = door(FLOOR, MONDAY + 3 * HOUR);
    model.startFault({ name: 'door-held-open' }, clock.now());
    const { events } = run(model, clock, 10 * MINUTE, 5 * MINUTE);
    expect(events.map((e) => e.event)).toStrictEqual([
      { type: 'door_held_open', seconds: 300 },
      { type: 'door_held_open', seconds: 600 },
    ]);
  });

  it('sends a burst of six access_denied for one unknown card in about a minute, then stops', () => {
    const { clock, model } = door(FLOOR, MONDAY + 3 * HOUR);
    const start = clock.now();
    model.startFault({ name: 'denied-access' }, start);
    const { events } = run(model, clock, 10 * MINUTE, SECOND);
    expect(events.map((e) => e.event)).toStrictEqual(new Array(6).fill({ type: 'access_denied', method: 'card', reason: 'unknown card' }));
    expect((events.at(-1) as { at: number }).at - start).toBeLessThanOrEqual(60 * SECOND);
    expect((events.at(-1) as { at: number }).at - events[0].at).toBeGreaterThan(40 * SECOND);
    expect(model.endFault('denied-access', clock.now())).toBe(true);
  });

  it('reports a nearly flat battery at once', () => {
    const { clock, model } = door();
    model.startFault({ name: 'low-battery' }, clock.now());
    expect(model.step(clock.advance(SECOND)).reportNow).toBe(true);
    expect(model.telemetry(clock.now()).batteryPct as number).toBeLessThan(10);
  });

  it('refuses faults of other kinds', () => {
    const { clock, model } = door();
    expect(model.startFault({ name: 'fire' }, clock.now())).toBe(false);
    expect(model.endFault('door-forced', clock.now())).toBe(false); // not on
  });
});

describe('what the access controller sends', () => {
  it('passes the access schemas for a day with faults and commands, at uneven steps', () => {
    const { clock, model } = door(LOBBY, MONDAY, 17);
    const steps = new Random(99);
    const actions: [number, () => unknown][] = [
      [3 * HOUR, () => model.startFault({ name: 'door-forced' }, clock.now())],
      [4 * HOUR, () => model.startFault({ name: 'door-held-open' }, clock.now())],
      [4.5 * HOUR, () => model.endFault('door-held-open', clock.now())],
      [5 * HOUR, () => model.startFault({ name: 'denied-access' }, clock.now())],
      [10 * HOUR, () => model.command('unlock', undefined, clock.now())],
      [12 * HOUR, () => model.command('lock', undefined, clock.now())],
      [20 * HOUR, () => model.startFault({ name: 'low-battery' }, clock.now())],
    ];
    const seen = new Set<string>();
    while (clock.now() < MONDAY + DAY) {
      const now = clock.advance(steps.int(1, 300) * SECOND);
      while (actions.length > 0 && now - MONDAY >= actions[0][0]) (actions.shift() as [number, () => unknown])[1]();
      for (const event of model.step(now).events) {
        seen.add(event.type);
        expect(checkEvent('access', event)).toStrictEqual({ ok: true, value: event });
      }
      const reading = model.telemetry(now);
      expect(checkTelemetry('access', reading)).toStrictEqual({ ok: true, value: reading });
    }
    expect([...seen].sort()).toStrictEqual(['access_denied', 'access_granted', 'door_forced', 'door_held_open']);
  });

  it('gives the same events for the same seed', () => {
    const a = door(LOBBY, MONDAY, 23);
    const b = door(LOBBY, MONDAY, 23);
    expect(run(a.model, a.clock, DAY, MINUTE)).toStrictEqual(run(b.model, b.clock, DAY, MINUTE));
  });
});
