import { describe, expect, it } from 'vitest';
import { mapMqtt, newEdgeState, type EdgeState } from '../../../src/profiles/mapping.js';
import { compile, liftRaw, mqttProfile } from './fixtures.js';

const NOW = Date.UTC(2026, 11, 6, 9, 0, 0);
const T = 1_765_011_000; // epoch seconds, before NOW

/** A status message of the lift's IoT box, with the vendor keys no mapping names. */
function status(data: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { time: T, sn: 'LD200-00017', fw: '2.4.1', data: { curFloor: 7, run: 1, load: 455, dir: 'U', door: 0, temp: 31, ...data }, ...extra };
}

const lift = mqttProfile();
/** Maps with a fresh edge state: each message as the device's first. */
const map = (payload: unknown) => mapMqtt(lift, payload, NOW, newEdgeState());

describe('mapping an MQTT payload through a profile', () => {
  it('maps a realistic lift status onto the kind, ignoring unmapped vendor keys', () => {
    expect(map(status())).toStrictEqual({
      ok: true,
      telemetry: { floor: 7, moving: true, loadPct: 45.5, direction: 'up' },
      events: [],
      ts: T * 1000,
    });
  });

  it('maps only the fields present', () => {
    expect(map({ data: { curFloor: -2 } })).toStrictEqual({ ok: true, telemetry: { floor: -2 }, events: [], ts: NOW });
  });

  it('treats null as absent', () => {
    expect(map({ data: { curFloor: 3, load: null } })).toStrictEqual({ ok: true, telemetry: { floor: 3 }, events: [], ts: NOW });
  });

  it('cleans scale noise: 1000 × 0.1 is 100, within 0..100', () => {
    expect(map({ data: { load: 1000 } })).toMatchObject({ ok: true, telemetry: { loadPct: 100 } });
  });

  it('maps an alarm message to an event with its details and no telemetry', () => {
    expect(map({ time: T, alarm: { code: 21 }, data: { curFloor: 4 } })).toStrictEqual({
      ok: true,
      telemetry: { floor: 4 },
      events: [{ type: 'passenger_trapped', ts: T * 1000, details: { floor: 4 } }],
      ts: T * 1000,
    });
    expect(map({ alarm: { code: 0 } })).toStrictEqual({ ok: true, events: [{ type: 'released', ts: NOW, details: {} }], ts: NOW });
  });

  it('matches equals on the value as text: a code sent as "21" fires too', () => {
    expect(map({ alarm: { code: '21' } })).toMatchObject({ ok: true, events: [{ type: 'passenger_trapped', details: {} }] });
  });

  it('accepts a message whose only mapped value matches no event, and fires nothing', () => {
    expect(map({ alarm: { code: 5 } })).toStrictEqual({ ok: true, events: [], ts: NOW });
  });
});

describe('refusals name the profile and the field or path', () => {
  it('refuses a message in which none of the mapped paths is present', () => {
    expect(map({ time: T, sn: 'x', data: { temp: 30 } })).toStrictEqual({
      ok: false,
      reason: 'profile acme-lift-ld200: none of the mapped paths is present ($.data.curFloor, $.data.run, $.data.load, $.data.dir, $.alarm.code)',
    });
    for (const payload of [null, 42, 'text', [], {}]) expect(map(payload)).toMatchObject({ ok: false });
  });

  it('refuses the whole message for a value the map does not list', () => {
    expect(map(status({ dir: 'X' }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: direction: value "X" not in map' });
    expect(map(status({ run: 2 }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: moving: value 2 not in map' });
    expect(map(status({ run: { on: 1 } }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: moving: value an object not in map' });
  });

  it('refuses the whole message for a value out of range after scale', () => {
    expect(map(status({ load: 1800 }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: loadPct: 180 out of range after scale (0..100)' });
    expect(map(status({ load: -1 }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: loadPct: -0.1 out of range after scale (0..100)' });
  });

  it('refuses a text where scale needs a number', () => {
    expect(map(status({ load: '455' }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: loadPct: expected a number to scale, got "455"' });
  });

  it("passes what the kind's own schema refuses on with the profile named", () => {
    expect(map(status({ curFloor: 2.5 }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: floor: expected int, received number' });
    expect(map(status({ curFloor: '7' }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: floor: expected number, received string' });
    expect(map(status({ curFloor: 1e400 }))).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: floor: must be a finite number' });
  });

  it("refuses an event whose detail the kind's schema refuses", () => {
    expect(map({ alarm: { code: 21 }, data: { curFloor: 'lobby' } })).toStrictEqual({
      ok: false,
      reason: "profile acme-lift-ld200: event passenger_trapped: floor: expected number, received string",
    });
    const withDetailOnly = compile(`
- id: lift-b
  kind: lift
  source: mqtt
  topics: ["b/{device}"]
  events:
    - { type: stopped_between_floors, path: "$.e", equals: 1, details: { floor: "$.f" } }
`);
    expect(mapMqtt(withDetailOnly as never, { e: 1, f: 'x' }, NOW, newEdgeState())).toStrictEqual({
      ok: false,
      reason: 'profile lift-b: event stopped_between_floors: floor: expected number, received string',
    });
  });

  it("maps a detail's vendor code through its map, sets a constant one, and names a code it does not list", () => {
    const door = compile({
      id: 'door-x',
      kind: 'access',
      source: 'mqtt',
      topics: ['door/{device}'],
      events: [
        { type: 'access_granted', path: '$.ev', equals: 'open', details: { method: { path: '$.how', map: { '1': 'card', '2': 'face' } } } },
        { type: 'door_forced', path: '$.ev', equals: 'forced' },
        { type: 'access_denied', path: '$.ev', equals: 'deny', details: { method: { value: 'card' }, reason: '$.why' } },
      ],
    }) as typeof lift;
    const m = (payload: unknown) => mapMqtt(door, payload, NOW, newEdgeState());
    expect(m({ ev: 'open', how: 2 })).toStrictEqual({ ok: true, events: [{ type: 'access_granted', ts: NOW, details: { method: 'face' } }], ts: NOW });
    expect(m({ ev: 'deny' })).toMatchObject({ ok: true, events: [{ type: 'access_denied', details: { method: 'card' } }] });
    expect(m({ ev: 'open', how: 9 })).toStrictEqual({ ok: false, reason: 'profile door-x: event access_granted: details.method: value 9 not in map' });
    expect(m({ ev: 'open' })).toStrictEqual({ ok: false, reason: 'profile door-x: event access_granted: details.method: $.how missing' });
  });

  it('stores nothing in part: one bad value refuses the good ones with it', () => {
    const r = map(status({ dir: 'X' }));
    expect(r.ok).toBe(false);
    expect('telemetry' in r).toBe(false);
  });
});

describe('edge events', () => {
  const raw = liftRaw();
  raw.events = [
    { type: 'passenger_trapped', path: '$.alarm.code', equals: 21, edge: true },
    { type: 'door_fault', path: '$.alarm.door', in: ['E1', 'E2'] },
    { type: 'overspeed', path: '$.speed', above: 2.5, edge: true },
  ];
  const edgy = compile(raw) as never as typeof lift;
  const types = (payload: unknown, state: EdgeState) => {
    const r = mapMqtt(edgy, payload, NOW, state);
    if (!r.ok) throw new Error(r.reason);
    return r.events.map((e) => e.type);
  };

  it('fires an edge event only on the message where it starts matching', () => {
    const s = newEdgeState();
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual(['passenger_trapped']);
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual([]);
    expect(types({ alarm: { code: 0 } }, s)).toStrictEqual([]);
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual(['passenger_trapped']);
  });

  it('keeps the edge across messages that do not carry the value (a status between two alarms)', () => {
    const s = newEdgeState();
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual(['passenger_trapped']);
    expect(types({ data: { curFloor: 3 } }, s)).toStrictEqual([]);
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual([]);
  });

  it('fires a level event on every matching message', () => {
    const s = newEdgeState();
    expect(types({ alarm: { door: 'E2' } }, s)).toStrictEqual(['door_fault']);
    expect(types({ alarm: { door: 'E2' } }, s)).toStrictEqual(['door_fault']);
    expect(types({ alarm: { door: 'E3' } }, s)).toStrictEqual([]);
  });

  it('compares above with numbers only, and is not above at exactly the threshold', () => {
    const s = newEdgeState();
    expect(types({ speed: 2.5 }, s)).toStrictEqual([]);
    expect(types({ speed: '3' }, s)).toStrictEqual([]);
    expect(types({ speed: 2.6 }, s)).toStrictEqual(['overspeed']);
  });

  it('keeps one edge state per device: another device fires on its own', () => {
    const a = newEdgeState();
    const b = newEdgeState();
    expect(types({ alarm: { code: 21 } }, a)).toStrictEqual(['passenger_trapped']);
    expect(types({ alarm: { code: 21 } }, b)).toStrictEqual(['passenger_trapped']);
  });

  it('starts afresh when the profile was reloaded', () => {
    const s = newEdgeState();
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual(['passenger_trapped']);
    const reloaded = compile(raw) as typeof lift;
    expect(mapMqtt(reloaded, { alarm: { code: 21 } }, NOW, s)).toMatchObject({ ok: true, events: [{ type: 'passenger_trapped' }] });
  });

  it('does not move the edge on a refused message, so the edge is not lost', () => {
    const s = newEdgeState();
    expect(mapMqtt(edgy, { alarm: { code: 21 }, data: { dir: 'X' } }, NOW, s).ok).toBe(false);
    expect(types({ alarm: { code: 21 } }, s)).toStrictEqual(['passenger_trapped']);
  });
});

describe('message time', () => {
  const withTs = (format: string) => {
    const raw = liftRaw();
    raw.ts = { path: '$.t', format };
    return compile(raw) as typeof lift;
  };
  const at = (format: string, t: unknown) => mapMqtt(withTs(format), { t, data: { curFloor: 1 } }, NOW, newEdgeState());

  it('reads epoch seconds, epoch milliseconds and ISO-8601', () => {
    expect(at('epoch_s', 1_765_011_000)).toMatchObject({ ok: true, ts: 1_765_011_000_000 });
    expect(at('epoch_s', 1_765_011_000.25)).toMatchObject({ ok: true, ts: 1_765_011_000_250 });
    expect(at('epoch_s', '1765011000')).toMatchObject({ ok: true, ts: 1_765_011_000_000 });
    expect(at('epoch_ms', 1_765_011_000_123)).toMatchObject({ ok: true, ts: 1_765_011_000_123 });
    expect(at('iso', '2026-12-06T08:50:00Z')).toMatchObject({ ok: true, ts: Date.UTC(2026, 11, 6, 8, 50) });
    expect(at('iso', '2026-12-06 10:50:00+0200')).toMatchObject({ ok: true, ts: Date.UTC(2026, 11, 6, 8, 50) });
  });

  it('takes the receive time when the path is absent', () => {
    expect(at('epoch_s', undefined)).toMatchObject({ ok: true, ts: NOW });
    expect(at('iso', null)).toMatchObject({ ok: true, ts: NOW });
  });

  it('refuses a time that is not in its format, naming the path', () => {
    expect(at('epoch_s', 'yesterday')).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: ts: $.t: "yesterday" is not an epoch_s time' });
    expect(at('epoch_ms', -5)).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: ts: $.t: -5 is not an epoch_ms time after 1970' });
    expect(at('iso', 1_765_011_000)).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: ts: $.t: 1765011000 is not an ISO-8601 time' });
    expect(at('iso', '2026-02-30T00:00:00Z')).toMatchObject({ ok: false });
    expect(at('iso', 'Sun Dec 6 2026')).toMatchObject({ ok: false });
    expect(at('epoch_s', 1e400)).toMatchObject({ ok: false });
    expect(at('epoch_s', { s: 1 })).toStrictEqual({ ok: false, reason: 'profile acme-lift-ld200: ts: $.t: an object is not an epoch_s time' });
  });
});

describe('hostile payloads', () => {
  it('reads nothing from prototypes: a payload of prototype keys maps nothing', () => {
    const payload = JSON.parse('{"__proto__":{"data":{"curFloor":1}},"constructor":{"prototype":{"data":{"curFloor":2}}}}');
    expect(map(payload)).toMatchObject({ ok: false, reason: expect.stringContaining('none of the mapped paths is present') });
  });

  it('never looks a map key up on a prototype', () => {
    for (const dir of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(map(status({ dir }))).toStrictEqual({ ok: false, reason: `profile acme-lift-ld200: direction: value ${JSON.stringify(dir)} not in map` });
    }
  });

  it('shows a long vendor value cut short in the reason', () => {
    const r = map(status({ dir: 'x'.repeat(10_000) }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeLessThan(120);
  });

  it('maps a deeply nested or huge payload without trouble', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 50_000; i++) deep = { data: deep };
    expect(map(deep).ok).toBe(false);
    const wide = { data: { curFloor: 1, ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i])) } };
    expect(map(wide)).toMatchObject({ ok: true, telemetry: { floor: 1 } });
  });
});
