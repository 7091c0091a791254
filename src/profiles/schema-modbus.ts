/** A profile of `source: modbus` (contract §10): the gateway polls the device's tables. */
import { z } from 'zod';
import type { KindName } from '../devices/kinds/index.js';
import { durationSchema, KindSchema } from '../rules/schema-parts.js';
import {
  BYTE_ORDERS,
  MODBUS_TABLES,
  MODBUS_TYPE_WORDS,
  MODBUS_TYPES,
  type ByteOrder,
  type ModbusCommand,
  type ModbusEventMapping,
  type ModbusFieldMapping,
  type ModbusPoint,
  type ModbusProfile,
  type ModbusTable,
  type ModbusType,
} from './profile.js';
import { checkEventMapping, checkFieldMapping, type ProfileIssue } from './schema-kind.js';
import { ACTION_RE, BooleanSchema, compileMatcher, matcherProblem, MatcherShape, NumberSchema, ProfileIdSchema, ScaleSchema, ValueMapSchema } from './schema-parts.js';
import { checkWriteValue } from './write-value.js';

const TableSchema = z.enum(MODBUS_TABLES, { error: `must be one of ${MODBUS_TABLES.join(', ')}` });
const TypeSchema = z.enum(MODBUS_TYPES, { error: `must be one of ${MODBUS_TYPES.join(', ')}` });
const OrderSchema = z.enum(BYTE_ORDERS, { error: `must be one of ${BYTE_ORDERS.join(', ')}` });
const AddressSchema = NumberSchema.int('must be a whole number').min(0, 'must be at least 0').max(65535, 'must be at most 65535');
const BitSchema = NumberSchema.int('must be a whole number').min(0, 'must be at least 0').max(15, 'must be at most 15');
const PARAM_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where a value is and how to decode it, as written. */
const PointShape = { table: TableSchema, address: AddressSchema, order: OrderSchema.optional(), bit: BitSchema.optional() };

const FieldSchema = z.strictObject({ ...PointShape, type: TypeSchema.optional(), scale: ScaleSchema.optional(), offset: NumberSchema.optional(), map: ValueMapSchema.optional() });

// `type` is the event type here, as in every event of the contract; the value's data type is `dataType`.
const EventSchema = z.strictObject({ type: z.string({ error: 'must be text' }).min(1, 'must not be empty'), ...PointShape, dataType: TypeSchema.optional(), ...MatcherShape });

const CommandSchema = z.strictObject({
  table: z.enum(['coil', 'holding'], { error: 'must be coil or holding (the tables that can be written)' }),
  address: AddressSchema,
  type: TypeSchema.optional(),
  order: OrderSchema.optional(),
  value: z.union([NumberSchema, BooleanSchema], { error: 'expected a number or true/false' }).optional(),
  param: z.string({ error: 'must be text' }).regex(PARAM_RE, 'must be a parameter name (letters, digits and _)').optional(),
  scale: ScaleSchema.optional(),
});

export const ModbusProfileSchema = z.strictObject({
  id: ProfileIdSchema,
  kind: KindSchema,
  source: z.literal('modbus'),
  description: z.string({ error: 'must be text' }).optional(),
  poll: durationSchema({ min: 100 }).default(10_000),
  timeout: durationSchema({ min: 10 }).default(1_000),
  byteOrder: OrderSchema.default('ABCD'),
  telemetry: z.record(z.string(), FieldSchema, { error: 'expected a mapping of field names to registers' }).default({}),
  events: z.array(EventSchema, { error: 'expected a list of event mappings' }).default([]),
  commands: z.record(z.string(), CommandSchema, { error: 'expected a mapping of actions to writes' }).default({}),
});
type Parsed = z.output<typeof ModbusProfileSchema>;

const isBits = (table: ModbusTable) => table === 'coil' || table === 'discrete';

/** Resolves a point's defaults and checks its table, type, bit and extent; `typeKey` is where its type is written. */
function point(
  key: string,
  w: { table: ModbusTable; address: number; order?: ByteOrder; bit?: number; type?: ModbusType },
  byteOrder: ByteOrder,
  typeKey: string,
  at: PropertyKey[],
  issues: ProfileIssue[],
): ModbusPoint {
  const type = w.type ?? (isBits(w.table) ? 'bool' : 'uint16');
  const words = MODBUS_TYPE_WORDS[type];
  if (isBits(w.table) && type !== 'bool') issues.push({ path: [...at, typeKey], message: `a ${w.table} is one bit: its type is bool` });
  if (isBits(w.table) && (w.order !== undefined || w.bit !== undefined)) {
    issues.push({ path: [...at, w.order !== undefined ? 'order' : 'bit'], message: `a ${w.table} is one bit: it has no ${w.order !== undefined ? 'order' : 'bit'}` });
  }
  // A register read as bool is true when non-zero (as src/modbus decodes it); `bit` reads one bit of a 16-bit word.
  if (w.bit !== undefined && !isBits(w.table) && type !== 'int16' && type !== 'uint16') {
    issues.push({ path: [...at, 'bit'], message: `a bit is read from one 16-bit register (int16 or uint16), not a ${type}` });
  }
  if (w.address + words - 1 > 65535) issues.push({ path: [...at, 'address'], message: `a ${type} at ${w.address} runs past address 65535` });
  // The profile's byte order is for values of two or more registers; a 16-bit value keeps its own order or ABCD.
  const order = w.order ?? (words > 1 ? byteOrder : 'ABCD');
  return { key, table: w.table, address: w.address, type, words, order, ...(w.bit !== undefined ? { bit: w.bit } : {}) };
}

const producesOf = (p: ModbusPoint) => (isBits(p.table) || p.type === 'bool' || p.bit !== undefined ? 'boolean' : 'number');

function telemetry(p: Parsed, kind: KindName, issues: ProfileIssue[]): ModbusFieldMapping[] {
  const out: ModbusFieldMapping[] = [];
  for (const [name, f] of Object.entries(p.telemetry)) {
    const at = ['telemetry', name];
    const pt = point(name, f, p.byteOrder, 'type', at, issues);
    const def = checkFieldMapping(kind, name, f, producesOf(pt), at, issues);
    if (def) out.push({ name, point: pt, scale: f.scale, offset: f.offset, map: f.map, def });
  }
  return out;
}

function events(p: Parsed, kind: KindName, issues: ProfileIssue[]): ModbusEventMapping[] {
  return p.events.map((e, i) => {
    const at = ['events', i];
    const pt = point(`events[${i}]`, { ...e, type: e.dataType }, p.byteOrder, 'dataType', at, issues);
    const problem = matcherProblem(e);
    if (problem) issues.push({ path: problem.key ? [...at, problem.key] : at, message: problem.message });
    const bool = producesOf(pt) === 'boolean';
    const wanted = bool ? 'boolean' : 'number';
    for (const [key, values] of [['equals', e.equals === undefined ? [] : [e.equals]], ['in', e.in ?? []]] as const) {
      if (values.some((v) => typeof v !== wanted)) issues.push({ path: [...at, key], message: `reads ${bool ? 'true or false' : 'a number'}; this never matches` });
    }
    if (bool && (e.above !== undefined || e.below !== undefined)) issues.push({ path: at, message: 'a bit is true or false: use equals' });
    checkEventMapping(kind, e.type, [], at, issues);
    return { type: e.type, point: pt, matches: compileMatcher(e), edge: e.edge };
  });
}

function commands(p: Parsed, issues: ProfileIssue[]): Map<string, ModbusCommand> {
  const out = new Map<string, ModbusCommand>();
  for (const [action, c] of Object.entries(p.commands)) {
    const at = ['commands', action];
    if (!ACTION_RE.test(action)) issues.push({ path: at, message: 'an action is 1 to 64 letters, digits, _ or -' });
    const pt = point(action, c, p.byteOrder, 'type', at, issues);
    const target = { action, table: c.table, address: c.address, type: pt.type, order: pt.order };
    if ((c.value === undefined) === (c.param === undefined)) {
      issues.push({ path: at, message: 'needs one of value (what is always written) or param (the parameter written)' });
    } else if (c.value !== undefined) {
      if (c.scale !== undefined) issues.push({ path: [...at, 'scale'], message: 'scale applies to a param' });
      const problem = checkWriteValue(pt.type, c.value);
      if (problem) issues.push({ path: [...at, 'value'], message: problem });
      out.set(action, { ...target, value: c.value });
    } else if (c.param !== undefined) {
      if (c.scale !== undefined && pt.type === 'bool') issues.push({ path: [...at, 'scale'], message: 'a coil is true or false: it has no scale' });
      out.set(action, { ...target, param: c.param, ...(c.scale !== undefined ? { scale: c.scale } : {}) });
    }
  }
  return out;
}

/** Checks a structurally valid Modbus profile against its kind and compiles it. */
export function compileModbusProfile(p: Parsed): { ok: true; profile: ModbusProfile } | { ok: false; issues: ProfileIssue[] } {
  const issues: ProfileIssue[] = [];
  if (p.timeout > p.poll) issues.push({ path: ['timeout'], message: 'must not be longer than poll: requests would pile up' });
  const fields = telemetry(p, p.kind, issues);
  const evs = events(p, p.kind, issues);
  const profile: ModbusProfile = {
    id: p.id,
    kind: p.kind,
    description: p.description,
    source: 'modbus',
    pollMs: p.poll,
    timeoutMs: p.timeout,
    byteOrder: p.byteOrder,
    telemetry: fields,
    events: evs,
    commands: commands(p, issues),
    points: [...fields.map((f) => f.point), ...evs.map((e) => e.point)],
  };
  if (fields.length === 0 && evs.length === 0 && issues.length === 0) issues.push({ path: [], message: 'maps no telemetry and no events' });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, profile };
}
