import { describe, expect, it } from 'vitest';
import { mapModbusValues, modbusWrite, newEdgeState } from '../../../src/profiles/mapping.js';
import { compile, modbusProfile, pumpRaw } from './fixtures.js';

const NOW = Date.UTC(2026, 11, 6, 9, 0, 0);
const pump = modbusProfile();
const read = (values: Record<string, number | boolean>, edge = newEdgeState()) => mapModbusValues(pump, new Map(Object.entries(values)), NOW, edge);

describe('mapping a Modbus poll through a profile', () => {
  it('scales, keeps and checks the decoded values like an MQTT message', () => {
    expect(read({ pressureMpa: 352, flowM3h: 12.5, pumpRunning: true, runHours: 18_250, 'events[0]': false })).toStrictEqual({
      ok: true,
      telemetry: { pressureMpa: 0.352, flowM3h: 12.5, pumpRunning: true, runHours: 18_250 },
      events: [],
      ts: NOW,
    });
  });

  it('fires an edge event once when the fault bit goes true, again after it cleared', () => {
    const edge = newEdgeState();
    const events = (fault: boolean) => {
      const r = read({ pumpRunning: true, 'events[0]': fault }, edge);
      if (!r.ok) throw new Error(r.reason);
      return r.events;
    };
    expect(events(true)).toStrictEqual([{ type: 'pump_fault', ts: NOW, details: {} }]);
    expect(events(true)).toStrictEqual([]);
    expect(events(false)).toStrictEqual([]);
    expect(events(true)).toHaveLength(1);
  });

  it('refuses the whole poll for a value out of range, naming field, table and address', () => {
    expect(read({ pressureMpa: 352, flowM3h: -3 })).toStrictEqual({ ok: false, reason: 'profile pumpset-modbus-demo: flowM3h: -3 out of range (at least 0) (input 2)' });
  });

  it('refuses a poll that read nothing', () => {
    expect(read({})).toStrictEqual({ ok: false, reason: 'profile pumpset-modbus-demo: no value was read' });
  });

  it('reads a bit of a whole register, and a register as bool when non-zero', () => {
    const raw = pumpRaw();
    raw.telemetry = { pumpRunning: { table: 'holding', address: 40, bit: 3 } };
    raw.events = [{ type: 'dry_run', table: 'holding', address: 41, dataType: 'bool', equals: true }];
    const p = compile(raw) as typeof pump;
    const map = (status: number, dry: number) => mapModbusValues(p, new Map([['pumpRunning', status], ['events[0]', dry]]), NOW, newEdgeState());
    expect(map(0b1000, 0)).toStrictEqual({ ok: true, telemetry: { pumpRunning: true }, events: [], ts: NOW });
    expect(map(0b0111, 2)).toStrictEqual({ ok: true, telemetry: { pumpRunning: false }, events: [{ type: 'dry_run', ts: NOW, details: {} }], ts: NOW });
    // The poller may also hand over the bit already extracted.
    expect(mapModbusValues(p, new Map([['pumpRunning', true]]), NOW, newEdgeState())).toMatchObject({ ok: true, telemetry: { pumpRunning: true } });
  });

  it('maps a register through map, refusing a code it does not list', () => {
    const raw = pumpRaw();
    raw.telemetry = { pumpRunning: { table: 'holding', address: 40, map: { 1: true, 2: false } } };
    const p = compile(raw) as typeof pump;
    expect(mapModbusValues(p, new Map([['pumpRunning', 2]]), NOW, newEdgeState())).toMatchObject({ ok: true, telemetry: { pumpRunning: false } });
    expect(mapModbusValues(p, new Map([['pumpRunning', 7]]), NOW, newEdgeState())).toStrictEqual({
      ok: false,
      reason: 'profile pumpset-modbus-demo: pumpRunning: value 7 not in map (holding 40)',
    });
  });
});

describe('Modbus command writes', () => {
  it('writes a fixed value', () => {
    expect(modbusWrite(pump, 'pump_start', {})).toStrictEqual({ ok: true, write: { table: 'coil', address: 1, type: 'bool', order: 'ABCD', value: true } });
  });

  it('writes a param divided by scale, cleaned of floating-point noise', () => {
    expect(modbusWrite(pump, 'set_pressure', { setpointMpa: 0.35 })).toStrictEqual({ ok: true, write: { table: 'holding', address: 20, type: 'uint16', order: 'ABCD', value: 350 } });
  });

  it('refuses a missing param, a value the type cannot carry, and an unknown action', () => {
    expect(modbusWrite(pump, 'set_pressure', {})).toStrictEqual({ ok: false, error: 'profile pumpset-modbus-demo: command set_pressure: params.setpointMpa missing' });
    expect(modbusWrite(pump, 'set_pressure', { setpointMpa: 70 })).toStrictEqual({
      ok: false,
      error: 'profile pumpset-modbus-demo: command set_pressure: params.setpointMpa: 70 (70000 after scale): a uint16 takes 0..65535',
    });
    expect(modbusWrite(pump, 'set_pressure', { setpointMpa: 0.3505 })).toMatchObject({ ok: false, error: expect.stringContaining('a uint16 takes a whole number') });
    expect(modbusWrite(pump, 'set_pressure', { setpointMpa: '0.35' })).toMatchObject({ ok: false, error: expect.stringContaining('a uint16 takes a finite number') });
    expect(modbusWrite(pump, 'set_pressure', JSON.parse('{"__proto__": {"setpointMpa": 0.35}}'))).toMatchObject({ ok: false, error: expect.stringContaining('missing') });
    expect(modbusWrite(pump, 'pump_stop', {})).toStrictEqual({ ok: false, error: 'profile pumpset-modbus-demo: no command "pump_stop" (pump_start, set_pressure)' });
  });
});
