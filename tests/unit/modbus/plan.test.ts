import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import { validateDevice, validateWrite, type PolledDevice } from '../../../src/modbus/device.js';
import { effectiveOrder, extractField, planReads, type FieldSpec } from '../../../src/modbus/plan.js';

const h = (name: string, address: number, type: FieldSpec['type'] = 'uint16'): FieldSpec => ({ name, table: 'holding', address, type });
const span = (fields: FieldSpec[], options = {}) => planReads(fields, options).map((r) => [r.table, r.address, r.count, r.fields.map((f) => f.name)]);

describe('read planning', () => {
  it('reads contiguous fields of one table in one request', () => {
    expect(span([h('a', 0), h('b', 1, 'uint32'), h('c', 3, 'float64')])).toStrictEqual([['holding', 0, 7, ['a', 'b', 'c']]]);
  });

  it('fills gaps of up to 10 unused registers by default, and splits beyond', () => {
    expect(span([h('a', 0), h('b', 11)])).toStrictEqual([['holding', 0, 12, ['a', 'b']]]);
    expect(span([h('a', 0), h('b', 12)])).toStrictEqual([
      ['holding', 0, 1, ['a']],
      ['holding', 12, 1, ['b']],
    ]);
  });

  it('takes the gap from the options, 0 reading only the fields', () => {
    expect(span([h('a', 0), h('b', 2)], { maxGapRegisters: 0 })).toHaveLength(2);
    expect(span([h('a', 0), h('b', 50)], { maxGapRegisters: 49 })).toStrictEqual([['holding', 0, 51, ['a', 'b']]]);
  });

  it('keeps each request within 125 registers', () => {
    const fields = Array.from({ length: 100 }, (_, i) => h(`f${i}`, i * 2, 'uint32'));
    const requests = planReads(fields);
    expect(requests.map((r) => [r.address, r.count])).toStrictEqual([
      [0, 124],
      [124, 76],
    ]);
    expect(requests.flatMap((r) => r.fields)).toHaveLength(100);
  });

  it('does not split a multi-register value across requests at the limit', () => {
    const wide = { maxGapRegisters: 200 };
    expect(planReads([h('a', 0), h('b', 123, 'uint32')], wide).map((r) => [r.address, r.count])).toStrictEqual([[0, 125]]);
    expect(planReads([h('a', 0), h('b', 124, 'uint32')], wide).map((r) => [r.address, r.count])).toStrictEqual([
      [0, 1],
      [124, 2],
    ]);
  });

  it('keeps each bit request within 2000 bits and joins bits across wider gaps', () => {
    const coils = [0, 150, 1999, 2000].map((address, i): FieldSpec => ({ name: `c${i}`, table: 'coil', address }));
    expect(span(coils, { maxGapBits: 2000 })).toStrictEqual([
      ['coil', 0, 2000, ['c0', 'c1', 'c2']],
      ['coil', 2000, 1, ['c3']],
    ]);
  });

  it('plans each table separately, in the order coil, discrete, holding, input', () => {
    const fields: FieldSpec[] = [
      { name: 'flow', table: 'input', address: 2, type: 'float32' },
      { name: 'pressure', table: 'holding', address: 0 },
      { name: 'fault', table: 'discrete', address: 3 },
      { name: 'running', table: 'coil', address: 0 },
      { name: 'hours', table: 'holding', address: 10, type: 'uint32' },
    ];
    expect(span(fields)).toStrictEqual([
      ['coil', 0, 1, ['running']],
      ['discrete', 3, 1, ['fault']],
      ['holding', 0, 12, ['pressure', 'hours']],
      ['input', 2, 2, ['flow']],
    ]);
  });

  it('reads overlapping fields (a status word and one of its bits) once', () => {
    const fields: FieldSpec[] = [h('status', 5), { name: 'alarm', table: 'holding', address: 5, bit: 3 }];
    expect(span(fields)).toStrictEqual([['holding', 5, 1, ['status', 'alarm']]]);
  });

  it('plans nothing for no fields', () => {
    expect(planReads([])).toStrictEqual([]);
  });
});

describe('field extraction', () => {
  const fields: FieldSpec[] = [
    { name: 'pressure', table: 'holding', address: 0, type: 'uint16', scale: 0.001 },
    { name: 'hours', table: 'holding', address: 10, type: 'uint32', order: 'CDAB' },
    { name: 'temp', table: 'holding', address: 4, type: 'float32' },
    { name: 'alarm', table: 'holding', address: 2, bit: 15 },
    { name: 'level', table: 'holding', address: 3, type: 'int16', scale: 0.5, offset: -10 },
  ];
  const [request] = planReads(fields);
  const words = [1234, 0, 0x8000, 30, 0xe979, 0x42f6, 0, 0, 0, 0, 0x5678, 0x1234];

  it('decodes each field with its own order, else the profile order for 32-bit values', () => {
    const read = (name: string) => extractField(fields.find((f) => f.name === name)!, request, words, 'CDAB');
    expect(read('hours')).toBe(0x12345678);
    expect(read('temp')).toBe(123.456);
  });

  it('applies scale then offset, without binary noise', () => {
    expect(extractField(fields[0], request, words)).toBe(1.234);
    expect(extractField(fields[4], request, words)).toBe(5);
  });

  it('reads a bit of a status word as a boolean', () => {
    expect(extractField(fields[3], request, words)).toBe(true);
  });

  it('reads a coil from a bit answer by its offset in the request', () => {
    const coils: FieldSpec[] = [
      { name: 'a', table: 'coil', address: 3 },
      { name: 'b', table: 'coil', address: 5 },
    ];
    const [req] = planReads(coils);
    expect([extractField(coils[0], req, [true, false, false]), extractField(coils[1], req, [true, false, false])]).toStrictEqual([true, false]);
  });

  it('applies the profile order only to values of more than one register (contract: "for 32-bit values")', () => {
    expect(effectiveOrder({ type: 'uint16' }, 'DCBA')).toBe('ABCD');
    expect(effectiveOrder({ type: 'uint16', order: 'BADC' }, 'ABCD')).toBe('BADC');
    expect(effectiveOrder({ type: 'int64' }, 'CDAB')).toBe('CDAB');
  });
});

describe('device validation', () => {
  const device = (over: Partial<PolledDevice> = {}): PolledDevice => ({
    id: 'pump-1',
    unitId: 1,
    link: { host: '127.0.0.1', port: 502 },
    fields: [h('a', 0)],
    pollMs: 1000,
    timeoutMs: 100,
    ...over,
  });
  const message = (d: PolledDevice) => {
    try {
      validateDevice(d);
      return 'valid';
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as Error).message;
    }
  };

  it('accepts a TCP device with unit 0 and 255', () => {
    expect(message(device({ unitId: 0 }))).toBe('valid');
    expect(message(device({ unitId: 255 }))).toBe('valid');
  });

  it('refuses unit 0 on RTU, where it is the broadcast address', () => {
    expect(message(device({ unitId: 0, link: { serial: '/dev/ttyUSB0' } }))).toBe('modbus pump-1: unitId: is the RTU broadcast address: a unit never answers it');
    expect(message(device({ unitId: 0, link: { host: 'h', rtuOverTcp: true } }))).toMatch(/broadcast/);
  });

  it('names the field of a bad mapping', () => {
    expect(message(device({ unitId: 256 }))).toBe('modbus pump-1: unitId: must be an integer 0..255');
    expect(message(device({ fields: [h('a', 65535, 'uint32')] }))).toMatch(/^modbus pump-1: fields\.a\.address:/);
    expect(message(device({ fields: [{ name: 'c', table: 'coil', address: 0, type: 'uint16' }] }))).toMatch(/fields\.c\.type: a coil is a single bit/);
    expect(message(device({ fields: [{ name: 's', table: 'holding', address: 0, bit: 16 }] }))).toMatch(/fields\.s\.bit: must be 0\.\.15/);
    expect(message(device({ fields: [{ name: 's', table: 'coil', address: 0, bit: 1 }] }))).toMatch(/fields\.s\.bit: is for register tables/);
    expect(message(device({ fields: [h('a', 0), h('a', 1)] }))).toMatch(/fields\.a: is mapped twice/);
    expect(message(device({ fields: [{ ...h('a', 0), order: 'ABDC' as never }] }))).toMatch(/fields\.a\.order/);
  });

  it('refuses a write to a read-only table or a coil without a boolean', () => {
    expect(() => validateWrite({ name: 'x', table: 'input' as never, address: 0, value: 1 })).toThrow(/x\.table: only coils and holding registers/);
    expect(() => validateWrite({ name: 'pump_start', table: 'coil', address: 1, value: 1 })).toThrow(/pump_start\.value: a coil takes true or false/);
  });
});
