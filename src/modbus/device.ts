import { ValidationError } from '../errors.js';
import { BYTE_ORDERS, REGISTER_COUNT, TABLES, TYPES, isBitTable, type ByteOrder, type ModbusType } from './codec.js';
import { isRtu, type LinkConfig } from './request.js';
import { fieldWidth, type FieldSpec, type PlanOptions } from './plan.js';

/** A device the gateway polls: its link, unit id, the fields of its profile and the profile's timing. */
export interface PolledDevice {
  id: string;
  /** 0–255 (contract §10); 0 is refused on RTU links, where it is the broadcast address and never answers. */
  unitId: number;
  link: LinkConfig;
  fields: FieldSpec[];
  /** The profile's byte order for multi-register values; default ABCD. */
  byteOrder?: ByteOrder;
  pollMs: number;
  /** Per request (contract §10). */
  timeoutMs: number;
  plan?: PlanOptions;
}

/** A command's write: a coil, or holding registers with a type and scale (contract §10 `commands`). */
export interface WriteCommand {
  /** The command or field name, for errors. */
  name?: string;
  table: 'coil' | 'holding';
  address: number;
  type?: ModbusType;
  order?: ByteOrder;
  scale?: number;
  offset?: number;
  value: number | boolean;
}

const isUint = (n: unknown, max: number): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;

/** Checks a device before it is polled; throws ValidationError naming the device and the field path. */
export function validateDevice(d: PolledDevice): void {
  const fail = (path: string, message: string): never => {
    throw new ValidationError(`modbus ${d.id}: ${path}`, message);
  };
  if (!isUint(d.unitId, 255)) fail('unitId', 'must be an integer 0..255');
  if (d.unitId === 0 && isRtu(d.link)) fail('unitId', 'is the RTU broadcast address: a unit never answers it');
  if (!(d.pollMs > 0)) fail('poll', 'must be a positive duration');
  if (!(d.timeoutMs > 0)) fail('timeout', 'must be a positive duration');
  if (d.byteOrder !== undefined && !BYTE_ORDERS.includes(d.byteOrder)) fail('byteOrder', `must be one of ${BYTE_ORDERS.join(', ')}`);
  if ('serial' in d.link ? !d.link.serial : !d.link.host || (d.link.port !== undefined && !isUint(d.link.port, 65535))) {
    fail('link', 'needs a host (and port 0..65535) or a serial path');
  }
  if (d.fields.length === 0) fail('fields', 'are empty: nothing to poll');
  const names = new Set<string>();
  for (const f of d.fields) {
    const at = `fields.${f.name}`;
    if (names.has(f.name)) fail(at, 'is mapped twice');
    names.add(f.name);
    checkLocation(f, fail, at);
    if (f.bit !== undefined) {
      if (isBitTable(f.table)) fail(`${at}.bit`, `is for register tables, not ${f.table}`);
      if (!isUint(f.bit, REGISTER_COUNT[f.type ?? 'uint16'] * 16 - 1)) fail(`${at}.bit`, `must be 0..${REGISTER_COUNT[f.type ?? 'uint16'] * 16 - 1}`);
    }
    for (const k of ['scale', 'offset'] as const) if (f[k] !== undefined && !Number.isFinite(f[k])) fail(`${at}.${k}`, 'must be a finite number');
  }
}

/** Checks a write before it goes out. */
export function validateWrite(c: WriteCommand): void {
  const at = c.name ?? `${c.table} ${c.address}`;
  const fail = (path: string, message: string): never => {
    throw new ValidationError(`${at}${path}`, message);
  };
  if (c.table !== 'coil' && c.table !== 'holding') fail('.table', 'only coils and holding registers can be written');
  checkLocation({ name: at, ...c }, fail, '');
  if (c.table === 'coil' && typeof c.value !== 'boolean') fail('.value', 'a coil takes true or false');
}

function checkLocation(f: FieldSpec, fail: (path: string, message: string) => never, at: string): void {
  if (!TABLES.includes(f.table)) fail(`${at}.table`, `must be one of ${TABLES.join(', ')}`);
  if (f.type !== undefined && !TYPES.includes(f.type)) fail(`${at}.type`, `must be one of ${TYPES.join(', ')}`);
  if (isBitTable(f.table) && f.type !== undefined && f.type !== 'bool') fail(`${at}.type`, `a ${f.table} is a single bit: bool`);
  if (f.order !== undefined && !BYTE_ORDERS.includes(f.order)) fail(`${at}.order`, `must be one of ${BYTE_ORDERS.join(', ')}`);
  if (!isUint(f.address, 65535) || f.address + fieldWidth(f) - 1 > 65535) fail(`${at}.address`, 'must be a 0-based address 0..65535 (with all its registers)');
}
