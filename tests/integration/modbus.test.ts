import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusSimulator } from '../../devices/modbus/server.js';
import { encodeRegisters } from '../../src/modbus/codec.js';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const SITE = 'maple-court';
const DB = 'modbus_test';
/** The shipped Modbus profiles, each with a register dump built from its documentation (tests/fixtures/profiles). */
const SHIPPED = ['eastron-sdm120-modbus', 'eastron-sdm630-modbus'];

/** A booster pump set's controller, polled every 200 ms (short real durations for the test). */
const PUMPSET = `
- id: pumpset-test
  kind: water
  source: modbus
  poll: 200ms
  timeout: 100ms
  byteOrder: ABCD
  telemetry:
    pressureMpa:  { table: holding, address: 0,  type: uint16, scale: 0.001 }
    levelPct:     { table: holding, address: 1,  type: int16, scale: 0.1 }
    flowM3h:      { table: input,   address: 2,  type: float32 }
    pumpRunning:  { table: coil,    address: 0 }
    runHours:     { table: holding, address: 10, type: uint32, order: CDAB, scale: 0.1 }
  events:
    - { type: pump_fault, table: discrete, address: 3, equals: true, edge: true }
  commands:
    pump_start: { table: coil, address: 1, value: true }
    set_pressure: { table: holding, address: 20, type: uint16, scale: 0.001, param: setpointMpa }
`;

describe('Modbus devices polled by a real gateway from a real Modbus TCP server, stored in a real InfluxDB', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let sim: ModbusSimulator;
  const rows = (q: string) => influx.query(q, DB);
  const device = async (id: string) => (await gw.api('GET', `/api/devices/${id}`)).body;

  beforeAll(async () => {
    influx = await startInflux();
    sim = await ModbusSimulator.start();
    sim.setRegisters(1, 'holding', 0, [352, 875]);
    sim.setRegisters(1, 'input', 2, encodeRegisters(12.5, 'float32', 'ABCD'));
    sim.setRegisters(1, 'holding', 10, encodeRegisters(123_456, 'uint32', 'CDAB'));
    sim.setBits(1, 'coil', 0, [true, false]);
    sim.setBits(1, 'discrete', 3, [false]);
    const dir = await mkdtemp(join(tmpdir(), 'modbus-profiles-'));
    await writeFile(join(dir, 'pumpset.yaml'), PUMPSET);
    // The shipped meter profiles as written, polled faster for the test.
    for (const id of SHIPPED) {
      const text = await readFile(`profiles/${id}.yaml`, 'utf8');
      await writeFile(join(dir, `${id}.yaml`), text.replace(/^ {2}poll: .*$/m, '  poll: 200ms').replace(/^ {2}timeout: .*$/m, '  timeout: 150ms'));
    }
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, PROFILES_DIR: dir, RULES_DIR: resolve('rules') });
    const reg = (id: string, kind: string, profile: string, unitId: number) =>
      gw.api('POST', '/api/devices', { id, kind, site: SITE, zone: 'pump-room', profile, modbus: { host: '127.0.0.1', port: sim.port, unitId } });
    expect((await reg('pumps-1', 'water', 'pumpset-test', 1)).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    await influx?.stop();
  });

  it('stores each field decoded, scaled and in its byte order, and shows the device online with its last poll', async () => {
    const [row] = await eventually(async () => {
      const r = await rows(`SELECT * FROM "water" WHERE "device" = 'pumps-1'`);
      return r.length > 0 ? r : undefined;
    });
    expect(row).toMatchObject({ pressureMpa: 0.352, levelPct: 87.5, flowM3h: 12.5, pumpRunning: true, runHours: 12345.6, zone: 'pump-room' });
    const d = await device('pumps-1');
    expect(d).toMatchObject({ online: true, profile: 'pumpset-test', modbus: { host: '127.0.0.1', port: sim.port, unitId: 1 } });
    expect(d.poll).toMatchObject({ polls: expect.any(Number), failures: 0, lastSuccessAt: expect.any(Number) });
    const metrics = (await gw.api('GET', '/metrics', undefined, null)).body as string;
    expect(metrics).toMatch(/^gateway_modbus_polls\{device="pumps-1"\} [1-9]/m);
    expect(metrics).toMatch(/^gateway_modbus_poll_latency_ms\{device="pumps-1"\} \d/m);
  });

  it('reads neighbouring fields of a table in one request (counted at the server)', async () => {
    const before = sim.count(1);
    await new Promise((r) => setTimeout(r, 1000));
    const polls = (await device('pumps-1')).poll.polls as number;
    const perPoll = (sim.count(1) - before) / Math.max(1, polls - 1);
    // holding 0..11 in one read (the gap 2..9 filled), input, coils, discretes: four requests a poll.
    expect(perPoll).toBeGreaterThan(3.5);
    expect(perPoll).toBeLessThan(4.5);
  });

  it('raises the mapped event once on its edge, and rules act on it', async () => {
    sim.setBits(1, 'discrete', 3, [true]);
    const alarm = await eventually(async () => (await gw.api('GET', `/api/alarms?site=${SITE}`)).body.find((a: any) => a.type === 'pump_fault'));
    expect(alarm).toMatchObject({ source: 'pumps-1' });
    await new Promise((r) => setTimeout(r, 600));
    expect(await rows(`SELECT * FROM "events" WHERE "device" = 'pumps-1' AND "type" = 'pump_fault'`)).toHaveLength(1);
    sim.setBits(1, 'discrete', 3, [false]);
  });

  it('writes a command and answers ok once it reads the value back; an out-of-range value is refused by name', async () => {
    const res = await gw.api('POST', '/api/devices/pumps-1/commands', { action: 'set_pressure', params: { setpointMpa: 0.4 } });
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
    expect(sim.getRegisters(1, 'holding', 20, 1)).toStrictEqual([400]);
    expect((await gw.api('POST', '/api/devices/pumps-1/commands', { action: 'pump_start' })).body).toMatchObject({ ok: true });
    expect(sim.getBits(1, 'coil', 1, 1)).toStrictEqual([true]);
    sim.behave(1, { ignoreWrites: true });
    const ignored = await gw.api('POST', '/api/devices/pumps-1/commands', { action: 'set_pressure', params: { setpointMpa: 0.3 } });
    expect(ignored.body).toMatchObject({ ok: false, error: 'read-back [400] differs from the written [300] (unit 1, field set_pressure, holding 20)' });
    sim.behave(1, {});
    const big = await gw.api('POST', '/api/devices/pumps-1/commands', { action: 'set_pressure', params: { setpointMpa: 70 } });
    expect(big.status).toBe(400);
    expect(big.body.message).toMatch(/setpointMpa/);
  });

  it('names the field, table and address of a Modbus exception, and stores nothing of that poll', async () => {
    sim.behave(1, { exception: { code: 2, table: 'input', address: 2 } });
    const poll = await eventually(async () => {
      const p = (await device('pumps-1')).poll;
      return p.lastError?.kind === 'exception' ? p : undefined;
    });
    expect(poll.lastError.message).toMatch(/exception 2 \(illegal data address\).*flowM3h.*input.*2/);
    expect((await device('pumps-1')).online).toBe(true);
    sim.behave(1, {});
  });

  it('turns a unit that stops answering offline after 3 polls, and online at its first answer', async () => {
    sim.behave(1, { silent: true });
    await eventually(async () => ((await device('pumps-1')).online === false ? true : undefined), 5000);
    const status = await gw.api('GET', '/api/devices/pumps-1');
    expect(status.body.poll.lastError.kind).toBe('timeout');
    sim.behave(1, {});
    await eventually(async () => ((await device('pumps-1')).online === true ? true : undefined), 5000);
  });

  it.each(SHIPPED.map((id, i) => ({ id, unitId: 7 + i })))('maps the shipped $id from the registers its documentation describes', async ({ id, unitId }) => {
    const sample = JSON.parse(await readFile(`tests/fixtures/profiles/${id}.sample.json`, 'utf8'));
    for (const [address, word] of Object.entries(sample.registers.input as Record<string, number>)) sim.setRegisters(unitId, 'input', Number(address), [word]);
    const meter = `meter-${unitId}`;
    const reg = await gw.api('POST', '/api/devices', { id: meter, kind: 'energy', site: SITE, zone: 'b7-power', profile: id, modbus: { host: '127.0.0.1', port: sim.port, unitId } });
    expect(reg.status).toBe(201);
    expect(reg.body.mqtt).toBeUndefined();
    const [row] = await eventually(async () => {
      const r = await rows(`SELECT * FROM "energy" WHERE "device" = '${meter}'`);
      return r.length > 0 ? r : undefined;
    });
    // float32 on the wire: equal to the documented value to its 7 significant digits.
    for (const [field, value] of Object.entries(sample.expected.telemetry as Record<string, number>)) {
      expect(row[field] as number, field).toBeCloseTo(value, Math.max(0, 6 - Math.ceil(Math.log10(Math.abs(value) + 1))));
    }
  });

  it('stops polling a deleted device', async () => {
    expect((await gw.api('DELETE', '/api/devices/meter-7')).status).toBe(204);
    const before = sim.count(7);
    await new Promise((r) => setTimeout(r, 600));
    expect(sim.count(7)).toBe(before);
  });
});
