import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusSimulator, freePort } from '../../devices/modbus/server.js';
import { BYTE_ORDERS, encodeRegisters, type ModbusType } from '../../src/modbus/codec.js';
import { ModbusError } from '../../src/modbus/errors.js';
import type { FieldSpec } from '../../src/modbus/plan.js';
import { ModbusPoller, type PolledDevice, type PollResult } from '../../src/modbus/poller.js';

// Short real durations (house style §6): poll every 200 ms, 100 ms per request.
const POLL = 200;
const TIMEOUT = 100;
/** Timer and event-loop lateness allowed on top of a bound (the suites run in parallel in CI). */
const SLACK = 50;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function simulator(port?: number): Promise<ModbusSimulator> {
  const sim = await ModbusSimulator.start({ port });
  cleanups.push(() => sim.stop());
  return sim;
}

interface Harness {
  poller: ModbusPoller;
  values: PollResult[];
  statuses: Array<[string, boolean]>;
}

function poller(devices: PolledDevice[], link = {}): Harness {
  const values: PollResult[] = [];
  const statuses: Array<[string, boolean]> = [];
  const p = new ModbusPoller({ onValues: (r) => values.push(r), onStatus: (id, online) => statuses.push([id, online]), link });
  for (const d of devices) p.add(d);
  p.start();
  cleanups.push(() => p.stop());
  return { poller: p, values, statuses };
}

const device = (id: string, sim: { host: string; port: number }, unitId: number, fields: FieldSpec[], over: Partial<PolledDevice> = {}): PolledDevice => ({
  id,
  unitId,
  link: { host: sim.host, port: sim.port },
  fields,
  pollMs: POLL,
  timeoutMs: TIMEOUT,
  ...over,
});

/** Waits until `check` holds, or fails after `ms`. */
async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** CRC-16/MODBUS, low byte first on the wire. */
function crc16(buf: Buffer): number {
  let crc = 0xffff;
  for (const byte of buf) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** A serial-to-TCP server in front of RTU units: answers FC3 from `units`, says nothing for other unit ids. */
async function rtuOverTcpServer(units: Record<number, number[]>): Promise<{ host: string; port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (frame) => {
      const [unit, fn] = frame;
      const words = units[unit];
      if (frame.length !== 8 || fn !== 3 || !words || crc16(frame.subarray(0, 6)) !== frame.readUInt16LE(6)) return;
      const address = frame.readUInt16BE(2);
      const count = frame.readUInt16BE(4);
      const answer = Buffer.alloc(3 + count * 2 + 2);
      answer.writeUInt8(unit, 0);
      answer.writeUInt8(3, 1);
      answer.writeUInt8(count * 2, 2);
      for (let i = 0; i < count; i++) answer.writeUInt16BE(words[address + i] ?? 0, 3 + i * 2);
      answer.writeUInt16LE(crc16(answer.subarray(0, answer.length - 2)), answer.length - 2);
      socket.write(answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const of = (values: PollResult[], id: string) => values.filter((v) => v.deviceId === id);

describe('Modbus polling against a real TCP server', () => {
  it('reads every type in every byte order, bits, coils and a status-word bit', async () => {
    const sim = (await simulator()).unit(1);
    const samples: Array<[ModbusType, number | boolean]> = [
      ['bool', true],
      ['int16', -1234],
      ['uint16', 54321],
      ['int32', -123456789],
      ['uint32', 4000000000],
      ['float32', 123.456],
      ['int64', -9007199254740991],
      ['uint64', 281474976710656],
      ['float64', -0.000123456789],
    ];
    const fields: FieldSpec[] = [];
    const expected: Record<string, number | boolean> = {};
    let address = 0;
    for (const order of BYTE_ORDERS) {
      for (const [type, value] of samples) {
        const words = encodeRegisters(value, type, order);
        sim.setRegisters(1, 'holding', address, words);
        fields.push({ name: `${type}_${order}`, table: 'holding', address, type, order });
        expected[`${type}_${order}`] = value;
        address += words.length;
      }
    }
    sim.setRegisters(1, 'input', 2, [0x42f6, 0xe979]).setRegisters(1, 'input', 10, [0x0008]);
    sim.setBits(1, 'coil', 0, [false, true]).setBits(1, 'discrete', 3, [true]);
    fields.push(
      { name: 'flow', table: 'input', address: 2, type: 'float32' },
      { name: 'doorOpen', table: 'input', address: 10, bit: 3 },
      { name: 'doorLocked', table: 'input', address: 10, bit: 2 },
      { name: 'pumpRunning', table: 'coil', address: 1 },
      { name: 'fault', table: 'discrete', address: 3 },
    );
    Object.assign(expected, { flow: 123.456, doorOpen: true, doorLocked: false, pumpRunning: true, fault: true });

    const { values } = poller([device('all-types', sim, 1, fields, { pollMs: 1000 })]);
    await until(() => values.length > 0);
    expect(Object.fromEntries(values[0].values)).toStrictEqual(expected);
  });

  it('reads the profile byte order for 32-bit values and a field order over it', async () => {
    const sim = (await simulator()).unit(1);
    sim.setRegisters(1, 'holding', 0, encodeRegisters(0x12345678, 'uint32', 'CDAB')).setRegisters(1, 'holding', 2, encodeRegisters(0x12345678, 'uint32', 'ABCD'));
    sim.setRegisters(1, 'holding', 4, [0x0102]);
    const fields: FieldSpec[] = [
      { name: 'profileOrder', table: 'holding', address: 0, type: 'uint32' },
      { name: 'fieldOrder', table: 'holding', address: 2, type: 'uint32', order: 'ABCD' },
      { name: 'word', table: 'holding', address: 4 },
    ];
    const { values } = poller([device('orders', sim, 1, fields, { byteOrder: 'CDAB', pollMs: 1000 })]);
    await until(() => values.length > 0);
    expect(Object.fromEntries(values[0].values)).toStrictEqual({ profileOrder: 0x12345678, fieldOrder: 0x12345678, word: 0x0102 });
  });

  it('polls unit ids 0 and 255 over one TCP link', async () => {
    const sim = (await simulator()).unit(0).unit(255);
    sim.setRegisters(0, 'input', 0, [100]).setRegisters(255, 'input', 0, [255]);
    const field: FieldSpec[] = [{ name: 'v', table: 'input', address: 0 }];
    const { poller: p, values } = poller([device('u0', sim, 0, field), device('u255', sim, 255, field)]);
    await until(() => of(values, 'u0').length > 0 && of(values, 'u255').length > 0);
    expect([of(values, 'u0')[0].values.get('v'), of(values, 'u255')[0].values.get('v')]).toStrictEqual([100, 255]);
    expect(p.linkStats().map((l) => l.key)).toStrictEqual([`tcp:127.0.0.1:${sim.port}`]);
  });

  it('reads close fields of each table in one request (counted at the server)', async () => {
    const sim = (await simulator()).unit(7);
    const fields: FieldSpec[] = [
      { name: 'pressure', table: 'holding', address: 0, scale: 0.001 },
      { name: 'runHours', table: 'holding', address: 10, type: 'uint32', order: 'CDAB' },
      { name: 'setpoint', table: 'holding', address: 20 },
      { name: 'flow', table: 'input', address: 2, type: 'float32' },
      { name: 'pumpRunning', table: 'coil', address: 0 },
      { name: 'fault', table: 'discrete', address: 3 },
      { name: 'overload', table: 'discrete', address: 40 },
    ];
    const { poller: p, values } = poller([device('pumpset', sim, 7, fields, { pollMs: 1000 })]);
    await until(() => values.length > 0);
    await p.stop();
    expect(sim.requests).toStrictEqual([
      { unitId: 7, fc: 1, address: 0, count: 1 },
      { unitId: 7, fc: 2, address: 3, count: 38 },
      { unitId: 7, fc: 3, address: 0, count: 21 },
      { unitId: 7, fc: 4, address: 2, count: 2 },
    ]);
  });

  it('takes a unit that stops answering offline after 3 polls, without delaying the other unit on its link', async () => {
    const sim = (await simulator()).unit(1).unit(2);
    sim.setRegisters(1, 'holding', 0, [11]).setRegisters(2, 'holding', 0, [22]);
    const field: FieldSpec[] = [{ name: 'v', table: 'holding', address: 0 }];
    const { poller: p, values, statuses } = poller([device('good', sim, 1, field), device('mute', sim, 2, field)]);
    await until(() => statuses.length === 2, 3000, 'both online');
    expect([...statuses].sort()).toStrictEqual([
      ['good', true],
      ['mute', true],
    ]);

    sim.behave(2, { silent: true });
    const silencedAt = Date.now();
    await until(() => statuses.length === 3, 3000, 'mute offline');
    expect(statuses[2]).toStrictEqual(['mute', false]);
    const stats = p.stats('mute')!;
    expect(stats.missesInRow).toBe(3);
    expect(stats.lastError).toMatchObject({ kind: 'timeout', unitId: 2, field: 'v', table: 'holding', address: 0 });
    expect(stats.lastError?.message).toBe('no answer within 100 ms (unit 2, field v, holding 0)');

    // The good unit kept its grid while the other timed out: no gap beyond one interval plus one timeout.
    const goodSince = () => of(values, 'good').filter((v) => v.ts >= silencedAt);
    await until(() => goodSince().length >= 4, 3000, 'good values');
    const good = goodSince();
    for (let i = 1; i < good.length; i++) expect(good[i].ts - good[i - 1].ts).toBeLessThanOrEqual(POLL + TIMEOUT + SLACK);
    expect(p.stats('good')!.failures).toBe(0);

    sim.behave(2, {});
    await until(() => statuses.length === 4, 3000, 'mute online');
    expect(statuses[3]).toStrictEqual(['mute', true]);
    expect(of(values, 'mute').at(-1)!.values.get('v')).toBe(22);
  });

  it('reads only the fields from then on when a device refuses a register in a filled gap', async () => {
    const sim = (await simulator()).unit(4);
    sim.setRegisters(4, 'holding', 0, [10]).setRegisters(4, 'holding', 5, [50]);
    sim.behave(4, { exception: { code: 2, table: 'holding', address: 3 } });
    const fields: FieldSpec[] = [
      { name: 'a', table: 'holding', address: 0 },
      { name: 'b', table: 'holding', address: 5 },
    ];
    const { poller: p, values } = poller([device('holes', sim, 4, fields)]);
    await until(() => values.length > 0);
    expect(p.stats('holes')).toMatchObject({ failures: 1, lastError: { kind: 'exception', code: 2, field: 'a, b', table: 'holding', address: 0, count: 6 } });
    expect(Object.fromEntries(values[0].values)).toStrictEqual({ a: 10, b: 50 });
    expect(sim.requests.map((r) => [r.address, r.count])).toStrictEqual([
      [0, 6],
      [0, 1],
      [5, 1],
    ]);
  });

  it('polls a serial device behind a cheap serial server (RTU frames over TCP)', async () => {
    const rtu = await rtuOverTcpServer({ 9: [0x42f6, 0xe979, 0x0007] });
    cleanups.push(rtu.close);
    const fields: FieldSpec[] = [
      { name: 'flow', table: 'holding', address: 0, type: 'float32' },
      { name: 'level', table: 'holding', address: 2 },
    ];
    const other: FieldSpec[] = [{ name: 'x', table: 'holding', address: 0 }];
    const link = { host: '127.0.0.1', port: rtu.port, rtuOverTcp: true };
    const { poller: p, values } = poller([device('rtu', rtu, 9, fields, { link }), device('absent', rtu, 8, other, { link })]);
    await until(() => of(values, 'rtu').length >= 3 && (p.stats('absent')?.failures ?? 0) >= 2);
    expect(Object.fromEntries(values[0].values)).toStrictEqual({ flow: 123.456, level: 7 });
    expect(p.linkStats()).toHaveLength(1);
    expect(p.stats('absent')!.lastError).toMatchObject({ kind: 'timeout', unitId: 8 });
    expect(p.stats('rtu')!.failures).toBe(0);
  });

  it('names the field, table, address and exception of a Modbus exception, and stores nothing', async () => {
    const sim = (await simulator()).unit(3);
    sim.behave(3, { exception: { code: 2, table: 'holding', address: 7 } });
    const fields: FieldSpec[] = [
      { name: 'level', table: 'holding', address: 7 },
      { name: 'flow', table: 'input', address: 0 },
    ];
    const { poller: p, values, statuses } = poller([device('tank', sim, 3, fields)]);
    await until(() => (p.stats('tank')?.failures ?? 0) >= 2);
    expect(values).toStrictEqual([]);
    const { at, ...lastError } = p.stats('tank')!.lastError!;
    expect(at).toBeGreaterThan(0);
    expect(lastError).toStrictEqual({
      kind: 'exception',
      code: 2,
      message: 'modbus exception 2 (illegal data address) (unit 3, field level, holding 7)',
      unitId: 3,
      field: 'level',
      table: 'holding',
      address: 7,
      count: 1,
    });
    // An exception is an answer: the device is online, only its reading failed.
    expect(statuses).toStrictEqual([['tank', true]]);
  });

  it('confirms a write by reading it back, and refuses one the device did not keep', async () => {
    const sim = (await simulator()).unit(1);
    const { poller: p } = poller([device('pump', sim, 1, [{ name: 'v', table: 'holding', address: 0 }], { byteOrder: 'CDAB' })]);
    await p.write('pump', { name: 'set_pressure', table: 'holding', address: 20, type: 'uint16', scale: 0.001, value: 1.5 });
    expect(sim.getRegisters(1, 'holding', 20, 1)).toStrictEqual([1500]);
    await p.write('pump', { name: 'set_total', table: 'holding', address: 30, type: 'float32', value: 123.456 });
    expect(sim.getRegisters(1, 'holding', 30, 2)).toStrictEqual([0xe979, 0x42f6]);
    await p.write('pump', { name: 'pump_start', table: 'coil', address: 1, value: true });
    expect(sim.getBits(1, 'coil', 1, 1)).toStrictEqual([true]);
    const writes = sim.requests.filter((r) => r.fc === 5 || r.fc === 6 || r.fc === 16).map((r) => [r.fc, r.address, r.count]);
    expect(writes).toStrictEqual([
      [6, 20, 1],
      [16, 30, 2],
      [5, 1, 1],
    ]);

    sim.behave(1, { ignoreWrites: true });
    const refused = await p.write('pump', { name: 'set_pressure', table: 'holding', address: 20, type: 'uint16', scale: 0.001, value: 2 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ModbusError);
    expect((refused as ModbusError).kind).toBe('not_confirmed');
    expect((refused as Error).message).toBe('read-back [1500] differs from the written [2000] (unit 1, field set_pressure, holding 20)');

    sim.behave(1, { exception: { code: 3, table: 'holding', address: 21 } });
    const exception = await p.write('pump', { name: 'set_flow', table: 'holding', address: 21, value: 7 }).catch((e: unknown) => e);
    expect((exception as Error).message).toBe('modbus exception 3 (illegal data value) (unit 1, field set_flow, holding 21)');
    const tooBig = await p.write('pump', { name: 'set_flow', table: 'holding', address: 21, value: 70000 }).catch((e: unknown) => e);
    expect((tooBig as ModbusError).kind).toBe('refused_value');
  });

  it('keeps polling one link on its grid while another link goes to a dead port and a server that never answers', async () => {
    const sim = (await simulator()).unit(1);
    const deadPort = await freePort();
    const blackhole = net.createServer((socket) => socket.on('data', () => undefined));
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => blackhole.close(() => r())));
    const blackholePort = (blackhole.address() as net.AddressInfo).port;
    const field: FieldSpec[] = [{ name: 'v', table: 'holding', address: 0 }];
    const { poller: p, values } = poller([
      device('refused', { host: '127.0.0.1', port: deadPort }, 1, field),
      device('blackhole', { host: '127.0.0.1', port: blackholePort }, 1, field),
      device('alive', sim, 1, field),
    ]);
    await until(() => p.stats('blackhole')!.failures >= 3 && p.stats('refused')!.failures >= 3, 5000, 'dead links failing');
    blackhole.close();
    const alive = of(values, 'alive');
    expect(alive.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < alive.length; i++) expect(alive[i].ts - alive[i - 1].ts).toBeLessThanOrEqual(POLL + TIMEOUT + SLACK);
    expect(p.stats('alive')).toMatchObject({ failures: 0, online: true });
    expect(p.stats('alive')!.lastLatencyMs).toBeLessThan(TIMEOUT);
    expect(p.stats('blackhole')!.lastError).toMatchObject({ kind: 'timeout', unitId: 1 });
    expect(p.stats('refused')!.lastError).toMatchObject({ kind: 'link_down', unitId: 1 });
    expect(p.stats('refused')!.lastError!.message).toMatch(/ECONNREFUSED/);
    expect(p.stats('refused')!.online).toBe(false);
    // Three timeouts in a row on the silent server's link: the socket was reopened.
    expect(p.linkStats().find((l) => l.key === `tcp:127.0.0.1:${blackholePort}`)!.reopens).toBeGreaterThanOrEqual(1);
  });

  it('reconnects with backoff after the server goes away and comes back', async () => {
    const first = (await simulator()).unit(1);
    first.setRegisters(1, 'holding', 0, [1]);
    const { poller: p, values, statuses } = poller([device('dev', first, 1, [{ name: 'v', table: 'holding', address: 0 }])], { backoffMinMs: 100 });
    await until(() => values.length > 0);
    await first.stop();
    await until(() => statuses.at(-1)?.[1] === false, 3000, 'offline');
    const second = (await simulator(first.port)).unit(1);
    second.setRegisters(1, 'holding', 0, [2]);
    await until(() => values.at(-1)?.values.get('v') === 2, 5000, 'values from the new server');
    expect(statuses.at(-1)).toStrictEqual(['dev', true]);
    expect(p.linkStats()[0]).toMatchObject({ state: 'open', connects: 2, drops: 1 });
  });

  it('leaves no timer or socket behind when stopped, and polls again when restarted', async () => {
    const active = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap').length;
    const sim = (await simulator()).unit(1).unit(2);
    sim.behave(2, { delayMs: 1000 });
    const before = active();
    const field: FieldSpec[] = [{ name: 'v', table: 'holding', address: 0 }];
    const { poller: p, values } = poller([device('a', sim, 1, field), device('slow', sim, 2, field)]);
    await until(() => values.length >= 2 && p.stats('slow')!.failures >= 1);
    await p.stop();
    await p.stop();
    // A request written just before stop still reaches the server; what counts is that none follow.
    await new Promise((r) => setTimeout(r, 50));
    const requests = sim.requests.length;
    await new Promise((r) => setTimeout(r, POLL * 2));
    expect(sim.requests.length).toBe(requests);
    // The simulator's own slow-answer timers are its business; stop them before counting.
    await sim.stop();
    await until(() => active() <= before, 2000, 'timers and sockets released');

    const again = await simulator(sim.port);
    again.unit(1).setRegisters(1, 'holding', 0, [5]);
    p.start();
    await until(() => values.at(-1)?.values.get('v') === 5, 3000, 'polling after restart');
  });
});
