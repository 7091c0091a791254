/**
 * A device profile as validated and compiled at load (contract §10): paths compiled to getters, topics to levels,
 * matchers to functions, and each telemetry mapping carrying its field's definition, so mapping a message reads
 * and compares and never parses.
 */
import type { FieldDefinition } from '../devices/kinds/describe.js';
import type { KindName } from '../devices/kinds/index.js';
import type { CompiledPath } from './path.js';
import type { Matches, Scalar } from './schema-parts.js';
import type { PayloadNode } from './template.js';
import type { CompiledTopic } from './topic.js';

export const TS_FORMATS = ['epoch_s', 'epoch_ms', 'iso'] as const;
export type TsFormat = (typeof TS_FORMATS)[number];

// The register vocabulary is the poller's own (src/modbus/codec.ts): one list of tables, types and byte orders.
export {
  BYTE_ORDERS,
  REGISTER_COUNT as MODBUS_TYPE_WORDS,
  TABLES as MODBUS_TABLES,
  TYPES as MODBUS_TYPES,
  type ByteOrder,
  type ModbusTable,
  type ModbusType,
} from '../modbus/codec.js';
import type { ByteOrder, ModbusTable, ModbusType } from '../modbus/codec.js';

/** How a read value becomes a stored one: `map` translates, else `scale` multiplies and `offset` adds. */
export interface ValueMapping {
  /** The telemetry field written. */
  name: string;
  scale?: number;
  offset?: number;
  map?: ReadonlyMap<string, Scalar>;
  /** The field as its kind defines it (type, range), for refusing a value out of range by name. */
  def: FieldDefinition;
}

interface ProfileBase {
  id: string;
  kind: KindName;
  description?: string;
}

export interface MqttFieldMapping extends ValueMapping {
  path: CompiledPath;
}

/** An event detail: read at `path` (through `map` when given), or the constant `value`. */
export interface MqttEventDetail {
  name: string;
  path?: CompiledPath;
  map?: ReadonlyMap<string, Scalar>;
  value?: Scalar;
}

export interface MqttEventMapping {
  type: string;
  path: CompiledPath;
  matches: Matches;
  /** Fire only on the message where the value starts matching (per device). */
  edge: boolean;
  details: readonly MqttEventDetail[];
}

export interface MqttCommand {
  action: string;
  topic: CompiledTopic;
  payload: PayloadNode;
  /** The parameters the topic and payload use. */
  params: readonly string[];
}

export interface MqttProfile extends ProfileBase {
  source: 'mqtt';
  topics: readonly CompiledTopic[];
  ts?: { path: CompiledPath; format: TsFormat };
  telemetry: readonly MqttFieldMapping[];
  events: readonly MqttEventMapping[];
  commands: ReadonlyMap<string, MqttCommand>;
  /** A bridge's profile: the payload field naming the device. */
  deviceFrom?: { path: CompiledPath };
}

/** One value the poller reads: where, and how to decode it. `key` names it in `mapModbusValues`' input. */
export interface ModbusPoint {
  key: string;
  table: ModbusTable;
  address: number;
  type: ModbusType;
  /** Registers (or bits) it spans. */
  words: number;
  order: ByteOrder;
  /** Registers only: the bit (0 = least significant) read as a boolean. */
  bit?: number;
}

export interface ModbusFieldMapping extends ValueMapping {
  point: ModbusPoint;
}

export interface ModbusEventMapping {
  type: string;
  point: ModbusPoint;
  matches: Matches;
  edge: boolean;
}

export type ModbusCommand =
  | { action: string; table: 'coil' | 'holding'; address: number; type: ModbusType; order: ByteOrder; value: number | boolean }
  | { action: string; table: 'coil' | 'holding'; address: number; type: ModbusType; order: ByteOrder; param: string; scale?: number };

export interface ModbusProfile extends ProfileBase {
  source: 'modbus';
  pollMs: number;
  timeoutMs: number;
  byteOrder: ByteOrder;
  telemetry: readonly ModbusFieldMapping[];
  events: readonly ModbusEventMapping[];
  commands: ReadonlyMap<string, ModbusCommand>;
  /** Every value to read each poll: the telemetry fields (key = field name), then the events (key = `events[i]`). */
  points: readonly ModbusPoint[];
}

export type Profile = MqttProfile | ModbusProfile;
