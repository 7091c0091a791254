import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTE_ORDERS, CodecError, decodeRegisters, encodeRegisters, extractBit, type ByteOrder, type ModbusType } from '../../../src/modbus/codec.js';

/** Known vectors: the value, then its words in ABCD, CDAB, BADC and DCBA. */
const VECTORS: Array<[ModbusType, number | boolean, Record<ByteOrder, number[]>]> = [
  ['float32', 123.456, { ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] }],
  ['float32', -1.5, { ABCD: [0xbfc0, 0x0000], CDAB: [0x0000, 0xbfc0], BADC: [0xc0bf, 0x0000], DCBA: [0x0000, 0xc0bf] }],
  ['uint32', 0x12345678, { ABCD: [0x1234, 0x5678], CDAB: [0x5678, 0x1234], BADC: [0x3412, 0x7856], DCBA: [0x7856, 0x3412] }],
  ['int32', -2, { ABCD: [0xffff, 0xfffe], CDAB: [0xfffe, 0xffff], BADC: [0xffff, 0xfeff], DCBA: [0xfeff, 0xffff] }],
  ['int32', -2147483648, { ABCD: [0x8000, 0x0000], CDAB: [0x0000, 0x8000], BADC: [0x0080, 0x0000], DCBA: [0x0000, 0x0080] }],
  ['uint32', 4294967295, { ABCD: [0xffff, 0xffff], CDAB: [0xffff, 0xffff], BADC: [0xffff, 0xffff], DCBA: [0xffff, 0xffff] }],
  ['uint16', 0x1234, { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] }],
  ['int16', -32768, { ABCD: [0x8000], CDAB: [0x8000], BADC: [0x0080], DCBA: [0x0080] }],
  ['int16', -1, { ABCD: [0xffff], CDAB: [0xffff], BADC: [0xffff], DCBA: [0xffff] }],
  ['bool', true, { ABCD: [0x0001], CDAB: [0x0001], BADC: [0x0100], DCBA: [0x0100] }],
  [
    'uint64',
    0x030405060708,
    {
      ABCD: [0x0000, 0x0304, 0x0506, 0x0708],
      CDAB: [0x0708, 0x0506, 0x0304, 0x0000],
      BADC: [0x0000, 0x0403, 0x0605, 0x0807],
      DCBA: [0x0807, 0x0605, 0x0403, 0x0000],
    },
  ],
  [
    'int64',
    -2,
    {
      ABCD: [0xffff, 0xffff, 0xffff, 0xfffe],
      CDAB: [0xfffe, 0xffff, 0xffff, 0xffff],
      BADC: [0xffff, 0xffff, 0xffff, 0xfeff],
      DCBA: [0xfeff, 0xffff, 0xffff, 0xffff],
    },
  ],
  [
    'float64',
    123.456,
    {
      ABCD: [0x405e, 0xdd2f, 0x1a9f, 0xbe77],
      CDAB: [0xbe77, 0x1a9f, 0xdd2f, 0x405e],
      BADC: [0x5e40, 0x2fdd, 0x9f1a, 0x77be],
      DCBA: [0x77be, 0x9f1a, 0x2fdd, 0x5e40],
    },
  ],
];

describe('register codec', () => {
  for (const [type, value, orders] of VECTORS) {
    for (const order of BYTE_ORDERS) {
      it(`decodes ${type} ${String(value)} sent as ${order}`, () => {
        expect(decodeRegisters(orders[order], type, order)).toBe(value);
      });
      it(`encodes ${type} ${String(value)} as ${order}`, () => {
        expect(encodeRegisters(value, type, order)).toStrictEqual(orders[order]);
      });
    }
  }

  it('reads big-endian (ABCD) when no order is given, as the Modbus specification sends registers', () => {
    expect(decodeRegisters([0x42f6, 0xe979], 'float32')).toBe(123.456);
  });

  it('reads a float32 as the shortest decimal of that float, not its binary expansion', () => {
    expect(decodeRegisters([0x3dcc, 0xcccd], 'float32')).toBe(0.1);
    expect(Math.fround(decodeRegisters([0x4049, 0x0fdb], 'float32') as number)).toBe(Math.fround(Math.PI));
  });

  it('reads a bool register as true for any non-zero value', () => {
    expect(decodeRegisters([0], 'bool')).toBe(false);
    expect(decodeRegisters([0x8000], 'bool')).toBe(true);
  });

  it('reads the largest exactly representable 64-bit integers', () => {
    expect(decodeRegisters([0x001f, 0xffff, 0xffff, 0xffff], 'uint64')).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeRegisters([0xffe0, 0x0000, 0x0000, 0x0001], 'int64')).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('refuses 64-bit integers beyond 2^53, which a number cannot hold exactly', () => {
    expect(() => decodeRegisters([0x0020, 0, 0, 0], 'uint64')).toThrow(/uint64 value 9007199254740992 is beyond ±2\^53/);
    expect(() => decodeRegisters([0x8000, 0, 0, 0], 'int64')).toThrow(CodecError);
    expect(() => encodeRegisters(2 ** 53, 'uint64')).toThrow(CodecError);
  });

  it('refuses NaN and infinite floats (a sensor that reports "no value")', () => {
    expect(() => decodeRegisters([0x7fc0, 0x0000], 'float32')).toThrow(/float32 value is NaN/);
    expect(() => decodeRegisters([0x7ff0, 0, 0, 0], 'float64')).toThrow(/Infinity/);
  });

  it('refuses the wrong number of registers for the type', () => {
    expect(() => decodeRegisters([1], 'uint32')).toThrow(/uint32 takes 2 register\(s\), got 1/);
  });

  it('refuses values the type cannot hold when encoding', () => {
    expect(() => encodeRegisters(65536, 'uint16')).toThrow(/not an integer within uint16/);
    expect(() => encodeRegisters(-1, 'uint32')).toThrow(CodecError);
    expect(() => encodeRegisters(1.5, 'int16')).toThrow(CodecError);
    expect(() => encodeRegisters(Number.NaN, 'float32')).toThrow(CodecError);
    expect(() => encodeRegisters(1e39, 'float32')).toThrow(/beyond float32/);
  });

  it('round-trips every integer type in every order', () => {
    const types: Array<[ModbusType, number, number]> = [
      ['int16', -0x8000, 0x7fff],
      ['uint16', 0, 0xffff],
      ['int32', -0x80000000, 0x7fffffff],
      ['uint32', 0, 0xffffffff],
      ['int64', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
      ['uint64', 0, Number.MAX_SAFE_INTEGER],
    ];
    for (const [type, min, max] of types) {
      fc.assert(
        fc.property(fc.integer({ min, max }), fc.constantFrom(...BYTE_ORDERS), (v, order) => decodeRegisters(encodeRegisters(v, type, order), type, order) === v),
      );
    }
  });

  it('round-trips float64 exactly and float32 to the same float32', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...BYTE_ORDERS), (v, o) => Object.is(decodeRegisters(encodeRegisters(v, 'float64', o), 'float64', o), v)));
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...BYTE_ORDERS), (v, o) =>
        Object.is(Math.fround(decodeRegisters(encodeRegisters(v, 'float32', o), 'float32', o) as number), Math.fround(v)),
      ),
    );
  });
});

describe('bit extraction from status words', () => {
  it('reads bit 0 as the least significant bit of the word', () => {
    expect(extractBit([0x0001], 0)).toBe(true);
    expect(extractBit([0x0001], 1)).toBe(false);
    expect(extractBit([0x8000], 15)).toBe(true);
    expect(extractBit([0x0100], 8)).toBe(true);
  });

  it('numbers the bits of a 32-bit status from the least significant, after the byte order', () => {
    expect(extractBit([0x0001, 0x0000], 16, 'ABCD')).toBe(true);
    expect(extractBit([0x0001, 0x0000], 0, 'CDAB')).toBe(true);
    expect(extractBit([0x0000, 0x0100], 0, 'BADC')).toBe(true);
    expect(extractBit([0x8000, 0x0000], 31)).toBe(true);
  });

  it('refuses a bit outside the words', () => {
    expect(() => extractBit([0], 16)).toThrow(/bit 16 is outside 0..15/);
  });
});
