import { describe, expect, it } from 'vitest';
import { matchTopic } from '../../../src/profiles/topic.js';
import { liftRaw, modbusProfile, mqttProfile, problems, pumpRaw } from './fixtures.js';

const WHERE = 'profiles/acme.yaml: profile "acme-lift-ld200"';

/** The problems of the lift profile with `change` applied. */
function liftProblems(change: (raw: Record<string, any>) => void): string[] {
  const raw = liftRaw();
  change(raw);
  return problems(raw);
}

describe('profile schema: the MQTT form', () => {
  it('compiles the lift of contract §10', () => {
    const p = mqttProfile();
    expect(p.id).toBe('acme-lift-ld200');
    expect(p.topics.map((t) => t.filter)).toStrictEqual(['acme/+/status', 'acme/+/alarm']);
    expect(matchTopic(p.topics[0], 'acme/lift-7/status')).toBe('lift-7');
    expect(matchTopic(p.topics[0], 'acme/lift-7/status/x')).toBeUndefined();
    expect(matchTopic(p.topics[0], 'acme//status')).toBeUndefined();
    expect(p.telemetry.map((f) => [f.name, f.path.text])).toStrictEqual([
      ['floor', '$.data.curFloor'],
      ['moving', '$.data.run'],
      ['loadPct', '$.data.load'],
      ['direction', '$.data.dir'],
    ]);
    expect(p.events.map((e) => [e.type, e.edge])).toStrictEqual([['passenger_trapped', false], ['released', false]]);
    expect(p.commands.get('return_to_floor')?.params).toStrictEqual(['floor']);
  });

  it('names file, profile and field path of a problem', () => {
    expect(liftProblems((r) => (r.telemetry.loadPct.scale = 'ten'))).toStrictEqual([`${WHERE}: telemetry.loadPct.scale: expected a number`]);
    expect(liftProblems((r) => (r.telemetry.loadPct.factor = 2))).toStrictEqual([`${WHERE}: telemetry.loadPct.factor: unknown field`]);
    expect(liftProblems((r) => (r.telemetry.loadPct.scale = 0))).toStrictEqual([`${WHERE}: telemetry.loadPct.scale: must not be 0`]);
  });

  it('names a profile without an id by its place', () => {
    expect(problems({ kind: 'lift', source: 'mqtt', topics: ['a/{device}'], telemetry: { floor: { path: '$.f' } } })).toStrictEqual([
      'profiles/acme.yaml: profile #1: id: must be text',
    ]);
    expect(problems('- 42')).toStrictEqual(['profiles/acme.yaml: profile #1: expected a profile (a mapping with id, kind and source)']);
  });

  it('refuses an id outside [a-z0-9][a-z0-9._-]{0,63}', () => {
    for (const id of ['Acme', '-acme', 'acme lift', 'a'.repeat(65), '', 'acme/lift']) {
      expect(liftProblems((r) => (r.id = id))[0], id).toMatch(/: id: must be 1 to 64 lowercase letters/);
    }
    expect(liftProblems((r) => (r.id = 'a.b_c-9'))).toStrictEqual([]);
  });

  it('refuses a source, kind or format it does not know', () => {
    expect(liftProblems((r) => (r.source = 'http'))).toStrictEqual([`${WHERE}: source: must be one of mqtt, modbus`]);
    expect(liftProblems((r) => delete r.source)).toStrictEqual([`${WHERE}: source: must be one of mqtt, modbus`]);
    expect(liftProblems((r) => (r.kind = 'elevator'))[0]).toMatch(/: kind: must be one of access, lighting/);
    expect(liftProblems((r) => (r.ts.format = 'epoch_us'))).toStrictEqual([`${WHERE}: ts.format: must be one of epoch_s, epoch_ms, iso`]);
  });

  it('refuses a path outside the subset, naming the field', () => {
    expect(liftProblems((r) => (r.telemetry.floor.path = '$..curFloor'))).toStrictEqual([
      `${WHERE}: telemetry.floor.path: "$..curFloor": expected a name (letters, digits, _ or -; write other keys as ['...']) at character 2`,
    ]);
    expect(liftProblems((r) => (r.events[0].path = '$.__proto__.x'))[0]).toMatch(/events\.0\.path: .*the key __proto__ cannot be read/);
  });

  it("refuses a telemetry key that is not a field of the profile's kind", () => {
    expect(liftProblems((r) => (r.telemetry.speed = { path: '$.v' }))).toStrictEqual([
      `${WHERE}: telemetry.speed: "speed" is not a telemetry field of lift (floor, moving, direction, doorOpen, mode, loadPct, speedMps, trips, runHours)`,
    ]);
  });

  it("refuses an event type that is not an event of the profile's kind, and a detail it does not have", () => {
    expect(liftProblems((r) => (r.events[1].type = 'fire_alarm'))[0]).toBe(
      `${WHERE}: events.1.type: "fire_alarm" is not an event of lift (passenger_trapped, released, door_fault, overspeed, stopped_between_floors, power_loss, alarm_button, fault, maintenance_start, maintenance_end)`,
    );
    expect(liftProblems((r) => (r.events[1].details = { floor: '$.f' }))).toStrictEqual([`${WHERE}: events.1.details.floor: released has no details`]);
  });

  it('refuses a mapped value that can never be stored in its field', () => {
    expect(liftProblems((r) => (r.telemetry.direction.map.S = 'stopped'))).toStrictEqual([
      `${WHERE}: telemetry.direction.map.S: "stopped" can never be stored in direction: it takes one of up, down, idle`,
    ]);
    expect(liftProblems((r) => (r.telemetry.moving.map['1'] = 'yes'))).toStrictEqual([`${WHERE}: telemetry.moving.map.1: "yes" can never be stored in moving: it takes true or false`]);
    expect(liftProblems((r) => (r.telemetry.loadPct = { path: '$.l', map: { full: 'full', half: 50, over: 150 } }))).toStrictEqual([
      `${WHERE}: telemetry.loadPct.map.full: "full" can never be stored in loadPct: it takes a number (0..100)`,
      `${WHERE}: telemetry.loadPct.map.over: 150 can never be stored in loadPct: it takes a number (0..100)`,
    ]);
    expect(liftProblems((r) => (r.telemetry.floor = { path: '$.f', map: { G: 0, M: 0.5 } }))).toStrictEqual([
      `${WHERE}: telemetry.floor.map.M: 0.5 can never be stored in floor: it takes a whole number`,
    ]);
  });

  it('refuses scale on a field that is not a number, and map together with scale', () => {
    expect(liftProblems((r) => (r.telemetry.direction = { path: '$.d', scale: 2 }))).toStrictEqual([`${WHERE}: telemetry.direction.scale: direction takes one of up, down, idle; scale applies to numbers`]);
    expect(liftProblems((r) => (r.telemetry.moving.offset = 1))).toStrictEqual([`${WHERE}: telemetry.moving.map: map gives the stored value; use either map or scale/offset`]);
  });

  it('refuses an event that says not when it fires, or says it twice, or never matches', () => {
    expect(liftProblems((r) => delete r.events[1].equals)).toStrictEqual([`${WHERE}: events.1: needs one of equals, in, above or below`]);
    expect(liftProblems((r) => (r.events[1].above = 3))).toStrictEqual([`${WHERE}: events.1: use one of equals, in, or above/below`]);
    expect(liftProblems((r) => (r.events[1] = { type: 'overspeed', path: '$.v', above: 3, below: 2 }))).toStrictEqual([
      `${WHERE}: events.1.below: must be above 3: no value is above 3 and below 2`,
    ]);
    expect(liftProblems((r) => (r.events[1] = { type: 'overspeed', path: '$.v', in: [] }))).toStrictEqual([`${WHERE}: events.1.in: must not be empty`]);
  });

  it('refuses an event whose required detail is not mapped, and a detail value the kind never takes', () => {
    const door = (details: unknown) => ({
      id: 'door-x', kind: 'access', source: 'mqtt', topics: ['door/{device}'],
      events: [{ type: 'access_granted', path: '$.ev', equals: 'open', details }],
    });
    expect(problems(door(undefined))).toStrictEqual(['profiles/acme.yaml: profile "door-x": events.0.details: access_granted requires the detail method; map it']);
    expect(problems(door({ method: { value: 'card' } }))).toStrictEqual([]);
    expect(problems(door({ method: { path: '$.how', map: { '1': 'card', '2': 'palm' } } }))).toStrictEqual([
      'profiles/acme.yaml: profile "door-x": events.0.details.method.map.2: "palm" can never be the detail method of access_granted',
    ]);
    expect(problems(door({ method: { value: 'card', path: '$.x' } }))).toStrictEqual(['profiles/acme.yaml: profile "door-x": events.0.details.method: needs one of path or value']);
  });

  it('refuses topics with wildcards, under $ or the gateway base, or without {device}', () => {
    const topic = (t: string) => liftProblems((r) => (r.topics = [t]));
    expect(topic('acme/+/status')).toStrictEqual([`${WHERE}: topics.0: "acme/+/status": must not use the wildcards + or #`]);
    expect(topic('acme/{device}/#')).toStrictEqual([`${WHERE}: topics.0: "acme/{device}/#": must not use the wildcards + or #`]);
    expect(topic('$SYS/{device}')).toStrictEqual([`${WHERE}: topics.0: "$SYS/{device}": must not start with $ (reserved by the broker)`]);
    expect(topic('sc/{device}/telemetry')).toStrictEqual([`${WHERE}: topics.0: "sc/{device}/telemetry": must not be under the gateway's own sc/`]);
    expect(topic('acme/status')).toStrictEqual([`${WHERE}: topics.0: "acme/status": must contain {device} (or the profile names the device with deviceFrom)`]);
    expect(topic('acme/lift-{device}')[0]).toMatch(/a placeholder must be a whole topic level, and one of \{device\}$/);
    expect(topic('acme/{device}/{device}')[0]).toMatch(/names \{device\} twice/);
    expect(topic('acme/{params.x}/{device}')[0]).toMatch(/a placeholder must be a whole topic level/);
    expect(topic('acme/\u0000/{device}')[0]).toMatch(/control characters/);
    expect(liftProblems((r) => (r.topics = []))).toStrictEqual([`${WHERE}: topics: must not be empty`]);
  });

  it('accepts a bridge topic without {device} when deviceFrom names the device', () => {
    expect(liftProblems((r) => {
      r.topics = ['application/1/device/event/up'];
      r.commands.return_to_floor.topic = 'application/1/command/down';
      r.deviceFrom = { path: '$.deviceInfo.devEui' };
    })).toStrictEqual([]);
  });

  it('refuses command templates with unknown placeholders or wildcards', () => {
    expect(liftProblems((r) => (r.commands.return_to_floor.payload.floor = '{param.floor}'))).toStrictEqual([
      `${WHERE}: commands.return_to_floor.payload.floor: unknown placeholder {param.floor}; use {device} or {params.name}`,
    ]);
    expect(liftProblems((r) => (r.commands.return_to_floor.topic = 'acme/{device}/#'))[0]).toMatch(/commands\.return_to_floor\.topic: .* must not use the wildcards/);
    expect(liftProblems((r) => (r.commands['go to'] = r.commands.return_to_floor))[0]).toMatch(/commands\.go to: an action is 1 to 64/);
    expect(liftProblems((r) => delete r.commands.return_to_floor.payload)).toStrictEqual([`${WHERE}: commands.return_to_floor.payload: required: the payload to send`]);
  });

  it('refuses non-finite numbers and a profile that maps nothing', () => {
    expect(liftProblems((r) => (r.telemetry.loadPct.scale = Infinity))).toStrictEqual([`${WHERE}: telemetry.loadPct.scale: must be a finite number`]);
    expect(liftProblems((r) => {
      r.telemetry = {};
      r.events = [];
    })).toStrictEqual([`${WHERE}: maps no telemetry and no events`]);
  });
});

const PUMP = 'profiles/acme.yaml: profile "pumpset-modbus-demo"';
function pumpProblems(change: (raw: Record<string, any>) => void): string[] {
  const raw = pumpRaw();
  change(raw);
  return problems(raw);
}

describe('profile schema: the Modbus form', () => {
  it('compiles the pump set of contract §10 with every point it reads', () => {
    const p = modbusProfile();
    expect([p.pollMs, p.timeoutMs, p.byteOrder]).toStrictEqual([5000, 1000, 'ABCD']);
    expect(p.points).toStrictEqual([
      { key: 'pressureMpa', table: 'holding', address: 0, type: 'uint16', words: 1, order: 'ABCD' },
      { key: 'flowM3h', table: 'input', address: 2, type: 'float32', words: 2, order: 'ABCD' },
      { key: 'pumpRunning', table: 'coil', address: 0, type: 'bool', words: 1, order: 'ABCD' },
      { key: 'runHours', table: 'holding', address: 10, type: 'uint32', words: 2, order: 'CDAB' },
      { key: 'events[0]', table: 'discrete', address: 3, type: 'bool', words: 1, order: 'ABCD' },
    ]);
    expect(p.commands.get('set_pressure')).toStrictEqual({ action: 'set_pressure', table: 'holding', address: 20, type: 'uint16', order: 'ABCD', param: 'setpointMpa', scale: 0.001 });
  });

  it('defaults poll to 10s, timeout to 1s, byteOrder to ABCD and register types to uint16', () => {
    const p = modbusProfile(`
- id: tank
  kind: water
  source: modbus
  telemetry:
    levelPct: { table: input, address: 7 }
`);
    expect([p.pollMs, p.timeoutMs, p.byteOrder, p.points[0].type]).toStrictEqual([10_000, 1_000, 'ABCD', 'uint16']);
  });

  it('parses durations and refuses what is not one', () => {
    expect(pumpProblems((r) => (r.poll = 'fast'))).toStrictEqual([`${PUMP}: poll: "fast" is not a duration such as 500ms, 10s, 5m or 2h`]);
    expect(pumpProblems((r) => (r.poll = '10ms'))).toStrictEqual([`${PUMP}: poll: "10ms" is too short: it must be at least 100ms`]);
    expect(pumpProblems((r) => (r.timeout = '10s'))).toStrictEqual([`${PUMP}: timeout: must not be longer than poll: requests would pile up`]);
  });

  it('refuses tables, types, orders, addresses and bits that cannot be', () => {
    expect(pumpProblems((r) => (r.telemetry.flowM3h.table = 'register'))).toStrictEqual([`${PUMP}: telemetry.flowM3h.table: must be one of coil, discrete, holding, input`]);
    expect(pumpProblems((r) => (r.telemetry.flowM3h.address = 65535))).toStrictEqual([`${PUMP}: telemetry.flowM3h.address: a float32 at 65535 runs past address 65535`]);
    expect(pumpProblems((r) => (r.telemetry.flowM3h.address = -1))).toStrictEqual([`${PUMP}: telemetry.flowM3h.address: must be at least 0`]);
    expect(pumpProblems((r) => (r.telemetry.flowM3h.address = 1.5))).toStrictEqual([`${PUMP}: telemetry.flowM3h.address: must be a whole number`]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning.type = 'uint16'))).toStrictEqual([`${PUMP}: telemetry.pumpRunning.type: a coil is one bit: its type is bool`]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning.order = 'DCBA'))).toStrictEqual([`${PUMP}: telemetry.pumpRunning.order: a coil is one bit: it has no order`]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'holding', address: 5, type: 'uint32', bit: 3 }))).toStrictEqual([
      `${PUMP}: telemetry.pumpRunning.bit: a bit is read from one 16-bit register (int16 or uint16), not a uint32`,
    ]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'holding', address: 5, bit: 16 }))).toStrictEqual([`${PUMP}: telemetry.pumpRunning.bit: must be at most 15`]);
    expect(pumpProblems((r) => (r.byteOrder = 'ABDC'))).toStrictEqual([`${PUMP}: byteOrder: must be one of ABCD, CDAB, BADC, DCBA`]);
  });

  it("refuses a read whose value can never fit its field, unless a map or bit makes it", () => {
    expect(pumpProblems((r) => (r.telemetry.pressureMpa = { table: 'coil', address: 4 }))).toStrictEqual([
      `${PUMP}: telemetry.pressureMpa: reads true or false, but pressureMpa takes a number (at least 0); add a map`,
    ]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'holding', address: 5 }))).toStrictEqual([
      `${PUMP}: telemetry.pumpRunning: reads a number, but pumpRunning takes true or false; add a map or a bit`,
    ]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'holding', address: 5, bit: 3 }))).toStrictEqual([]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'holding', address: 5, type: 'bool' }))).toStrictEqual([]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'holding', address: 5, map: { 1: true, 3: false } }))).toStrictEqual([]);
    expect(pumpProblems((r) => (r.telemetry.pumpRunning = { table: 'coil', address: 5, map: { on: true } }))).toStrictEqual([
      `${PUMP}: telemetry.pumpRunning.map.on: a bit reads true or false; this key never matches`,
    ]);
  });

  it('reads the data type of an event from dataType, since type is the event type', () => {
    expect(pumpProblems((r) => (r.events[0] = { type: 'pump_fault', table: 'holding', address: 9, dataType: 'int16', in: [3, 4] }))).toStrictEqual([]);
    expect(pumpProblems((r) => (r.events[0] = { type: 'pump_fault', table: 'holding', address: 9, equals: true }))).toStrictEqual([`${PUMP}: events.0.equals: reads a number; this never matches`]);
    expect(pumpProblems((r) => (r.events[0].above = 1, delete r.events[0].equals))).toStrictEqual([`${PUMP}: events.0: a bit is true or false: use equals`]);
    expect(pumpProblems((r) => (r.events[0].type = 'leak_alarm'))[0]).toMatch(/events\.0\.type: "leak_alarm" is not an event of water/);
  });

  it('refuses commands that cannot be written', () => {
    expect(pumpProblems((r) => (r.commands.pump_start.param = 'on'))).toStrictEqual([`${PUMP}: commands.pump_start: needs one of value (what is always written) or param (the parameter written)`]);
    expect(pumpProblems((r) => (r.commands.pump_start.table = 'input'))).toStrictEqual([`${PUMP}: commands.pump_start.table: must be coil or holding (the tables that can be written)`]);
    expect(pumpProblems((r) => (r.commands.pump_start.value = 1))).toStrictEqual([`${PUMP}: commands.pump_start.value: a coil takes true or false`]);
    expect(pumpProblems((r) => (r.commands.set_pressure = { table: 'holding', address: 20, value: 70000 }))).toStrictEqual([`${PUMP}: commands.set_pressure.value: a uint16 takes 0..65535`]);
  });
});
