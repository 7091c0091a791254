/**
 * Register words ⇄ values for every Modbus type of contract §10, in each of the four byte orders.
 *
 * The letters name the bytes of a 32-bit value, A the most significant: ABCD is big-endian, as the Modbus
 * specification sends registers; CDAB swaps the words; BADC swaps the bytes inside each word; DCBA does
 * both. For 64-bit values the same names mean the same operations on four words (CDAB = least significant
 * word first, as Telegraf's and pymodbus's "word order little"); for 16-bit values only the byte swap of
 * BADC/DCBA has a meaning.
 */

export const TABLES = ['coil', 'discrete', 'holding', 'input'] as const;
export type ModbusTable = (typeof TABLES)[number];

export const TYPES = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64'] as const;
export type ModbusType = (typeof TYPES)[number];

export const BYTE_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type ByteOrder = (typeof BYTE_ORDERS)[number];

/** Registers a value of each type occupies (`bool` on a register table is one register, non-zero = true). */
export const REGISTER_COUNT: Readonly<Record<ModbusType, number>> = {
  bool: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
};

/** True for the tables of single bits (coils, discrete inputs); the others hold 16-bit registers. */
export function isBitTable(table: ModbusTable): boolean {
  return table === 'coil' || table === 'discrete';
}

/** A value the codec cannot turn into a number or into registers (the contract's "refused value"). */
export class CodecError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

/** Words in protocol order → a big-endian byte buffer of the value (undoes the byte order). */
function toBigEndian(words: readonly number[], order: ByteOrder): Buffer {
  const ordered = order === 'CDAB' || order === 'DCBA' ? [...words].reverse() : [...words];
  const buf = Buffer.alloc(ordered.length * 2);
  ordered.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 0 || w > 0xffff) throw new CodecError(`register word ${w} is not 0..65535`);
    if (order === 'BADC' || order === 'DCBA') buf.writeUInt16LE(w, i * 2);
    else buf.writeUInt16BE(w, i * 2);
  });
  return buf;
}

/** A big-endian byte buffer → words in protocol order for the byte order. */
function fromBigEndian(buf: Buffer, order: ByteOrder): number[] {
  const words: number[] = [];
  for (let i = 0; i < buf.length; i += 2) {
    words.push(order === 'BADC' || order === 'DCBA' ? buf.readUInt16LE(i) : buf.readUInt16BE(i));
  }
  return order === 'CDAB' || order === 'DCBA' ? words.reverse() : words;
}

/** A 64-bit integer as a number, refused when a double cannot hold it exactly. */
function safeNumber(value: bigint, type: ModbusType): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CodecError(`${type} value ${value} is beyond ±2^53 and not exactly representable`);
  }
  return Number(value);
}

/**
 * The shortest decimal that is the same float32, so 0x42F6E979 reads 123.456 rather than 123.45600128173828
 * (a reading no device meant); it converts back to exactly the same float32, so nothing is lost.
 */
function shortestFloat32(value: number): number {
  if (value === 0) return value; // keeps -0
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

function finite(value: number, type: ModbusType): number {
  if (!Number.isFinite(value)) throw new CodecError(`${type} value is ${value}, not a finite number`);
  return value;
}

/** Decodes the registers of one field (exactly REGISTER_COUNT[type] words) into its value. */
export function decodeRegisters(words: readonly number[], type: ModbusType, order: ByteOrder = 'ABCD'): number | boolean {
  const count = REGISTER_COUNT[type];
  if (words.length !== count) throw new CodecError(`${type} takes ${count} register(s), got ${words.length}`);
  const buf = toBigEndian(words, order);
  switch (type) {
    case 'bool':
      return buf.readUInt16BE(0) !== 0;
    case 'int16':
      return buf.readInt16BE(0);
    case 'uint16':
      return buf.readUInt16BE(0);
    case 'int32':
      return buf.readInt32BE(0);
    case 'uint32':
      return buf.readUInt32BE(0);
    case 'float32':
      return shortestFloat32(finite(buf.readFloatBE(0), type));
    case 'int64':
      return safeNumber(buf.readBigInt64BE(0), type);
    case 'uint64':
      return safeNumber(buf.readBigUInt64BE(0), type);
    case 'float64':
      return finite(buf.readDoubleBE(0), type);
  }
}

const INTEGER_RANGE: Partial<Record<ModbusType, readonly [number, number]>> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** Encodes a value of the type into its register words in protocol order; refuses what the type cannot hold. */
export function encodeRegisters(value: number | boolean, type: ModbusType, order: ByteOrder = 'ABCD'): number[] {
  if (type === 'bool') return fromBigEndian(Buffer.from([0, value === true || value === 1 ? 1 : 0]), order);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new CodecError(`${type} needs a finite number, got ${String(value)}`);
  const buf = Buffer.alloc(REGISTER_COUNT[type] * 2);
  const range = INTEGER_RANGE[type];
  if (range && (!Number.isInteger(value) || value < range[0] || value > range[1])) {
    throw new CodecError(`${value} is not an integer within ${type} (${range[0]}..${range[1]})`);
  }
  switch (type) {
    case 'int16':
      buf.writeInt16BE(value);
      break;
    case 'uint16':
      buf.writeUInt16BE(value);
      break;
    case 'int32':
      buf.writeInt32BE(value);
      break;
    case 'uint32':
      buf.writeUInt32BE(value);
      break;
    case 'int64':
      buf.writeBigInt64BE(BigInt(value));
      break;
    case 'uint64':
      buf.writeBigUInt64BE(BigInt(value));
      break;
    case 'float32':
      if (Math.abs(value) > 3.4028234663852886e38) throw new CodecError(`${value} is beyond float32`);
      buf.writeFloatBE(value);
      break;
    case 'float64':
      buf.writeDoubleBE(value);
      break;
  }
  return fromBigEndian(buf, order);
}

/** Bit `bit` (0 = least significant) of the unsigned value of a status word or words, e.g. a fault flag. */
export function extractBit(words: readonly number[], bit: number, order: ByteOrder = 'ABCD'): boolean {
  const width = words.length * 16;
  if (!Number.isInteger(bit) || bit < 0 || bit >= width) throw new CodecError(`bit ${bit} is outside 0..${width - 1}`);
  const buf = toBigEndian(words, order);
  const byte = buf[buf.length - 1 - Math.floor(bit / 8)];
  return ((byte >> bit % 8) & 1) === 1;
}
