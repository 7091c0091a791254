import {
  REGISTER_COUNT,
  decodeRegisters,
  extractBit,
  isBitTable,
  type ByteOrder,
  type ModbusTable,
  type ModbusType,
} from './codec.js';

/** One field a device is polled for: a profile's telemetry/event mapping reduced to what Modbus needs. */
export interface FieldSpec {
  name: string;
  table: ModbusTable;
  /** 0-based protocol address (contract §10). */
  address: number;
  /** Register tables only; default uint16. Bit tables are always bool. */
  type?: ModbusType;
  /** Per-field byte order; else the profile's `byteOrder` for values of more than one register. */
  order?: ByteOrder;
  /** Register tables only: read this bit (0 = least significant) of the value as a boolean, e.g. a status word. */
  bit?: number;
  /** Applied after decoding: value × scale + offset (numbers only). */
  scale?: number;
  offset?: number;
}

/** One read request: a contiguous span of one table and the fields it carries. */
export interface ReadRequest {
  table: ModbusTable;
  address: number;
  count: number;
  fields: FieldSpec[];
}

export interface PlanOptions {
  /** Unused registers a request may read to join two fields (Telegraf's max_insert); 0 reads no gaps. Default 10. */
  maxGapRegisters?: number;
  /** Unused bits a request may read to join two bit fields. Default 160 (as many bytes on the wire as 10 registers). */
  maxGapBits?: number;
  /** Protocol limits (Modbus Application Protocol v1.1b3 §6.1–6.4); lower them for devices that take less. */
  maxRegisters?: number;
  maxBits?: number;
}

export const MAX_REGISTERS_PER_READ = 125;
export const MAX_BITS_PER_READ = 2000;
const TABLE_ORDER: readonly ModbusTable[] = ['coil', 'discrete', 'holding', 'input'];

/** How many addresses (registers or bits) a field spans. */
export function fieldWidth(field: FieldSpec): number {
  return isBitTable(field.table) ? 1 : REGISTER_COUNT[field.type ?? 'uint16'];
}

/**
 * The fewest read requests covering the fields, per table, within the protocol limits, joining fields that
 * lie at most `maxGap` unused addresses apart. Greedy over fields sorted by address is optimal here: each
 * request starts at the first uncovered field and reaches as far as the limits allow.
 */
export function planReads(fields: readonly FieldSpec[], options: PlanOptions = {}): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of TABLE_ORDER) {
    const bits = isBitTable(table);
    const maxGap = bits ? (options.maxGapBits ?? 160) : (options.maxGapRegisters ?? 10);
    const limit = bits ? Math.min(options.maxBits ?? MAX_BITS_PER_READ, MAX_BITS_PER_READ) : Math.min(options.maxRegisters ?? MAX_REGISTERS_PER_READ, MAX_REGISTERS_PER_READ);
    const sorted = fields.filter((f) => f.table === table).sort((a, b) => a.address - b.address || fieldWidth(a) - fieldWidth(b));
    let current: ReadRequest | undefined;
    for (const field of sorted) {
      const end = field.address + fieldWidth(field);
      const currentEnd = current ? current.address + current.count : 0;
      if (current && field.address - currentEnd <= maxGap && Math.max(end, currentEnd) - current.address <= limit) {
        current.count = Math.max(end, currentEnd) - current.address;
        current.fields.push(field);
      } else {
        current = { table, address: field.address, count: end - field.address, fields: [field] };
        requests.push(current);
      }
    }
  }
  return requests;
}

/**
 * The value of one field of a request from the request's answer (register words or bits), with the byte
 * order resolved (field `order`, else `profileOrder` for multi-register values) and scale/offset applied.
 * Throws CodecError for a value that cannot be a number (NaN, beyond 2^53).
 */
export function extractField(
  field: FieldSpec,
  request: ReadRequest,
  answer: readonly number[] | readonly boolean[],
  profileOrder: ByteOrder = 'ABCD',
): number | boolean {
  const at = field.address - request.address;
  if (isBitTable(field.table)) return answer[at] === true;
  const type = field.type ?? 'uint16';
  const words = (answer as readonly number[]).slice(at, at + REGISTER_COUNT[type]);
  const order = effectiveOrder(field, profileOrder);
  if (field.bit !== undefined) return extractBit(words, field.bit, order);
  const value = decodeRegisters(words, type, order);
  return typeof value === 'number' ? applyScale(value, field) : value;
}

/**
 * Contract §10: `byteOrder` is "for 32-bit values"; so the profile's order applies to values of more than
 * one register, while a field's own `order` applies to it whatever its width (BADC on an int16 swaps its bytes).
 */
export function effectiveOrder(field: Pick<FieldSpec, 'type' | 'order'>, profileOrder: ByteOrder): ByteOrder {
  if (field.order) return field.order;
  return REGISTER_COUNT[field.type ?? 'uint16'] > 1 ? profileOrder : 'ABCD';
}

/** value × scale + offset, rounded to 12 significant digits so 1234 × 0.001 reads 1.234, not 1.2340000000000002. */
export function applyScale(value: number, field: Pick<FieldSpec, 'scale' | 'offset'>): number {
  if (field.scale === undefined && field.offset === undefined) return value;
  const scaled = value * (field.scale ?? 1) + (field.offset ?? 0);
  return Number(scaled.toPrecision(12));
}

/** The raw value to write for an engineering value: (value − offset) / scale, rounded for integer types. */
export function unscale(value: number, field: Pick<FieldSpec, 'scale' | 'offset' | 'type'>): number {
  const raw = (value - (field.offset ?? 0)) / (field.scale ?? 1);
  const type = field.type ?? 'uint16';
  return type === 'float32' || type === 'float64' ? raw : Math.round(raw);
}
