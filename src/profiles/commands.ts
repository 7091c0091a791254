/**
 * A command of contract §5 turned into what the vendor's device understands (contract §10 `commands`): an MQTT
 * topic and payload, or a Modbus write. Placeholders are filled from the device id and the command's params; a
 * value can never add a topic level or a wildcard.
 */
import type { ModbusProfile, ModbusTable, ModbusType, ByteOrder, MqttProfile } from './profile.js';
import { fillPayload, fillTopic } from './template.js';
import { checkWriteValue, clean } from './write-value.js';

/** What to publish: a payload template that is text is sent as written, anything else as JSON. */
export interface RenderedCommand {
  topic: string;
  payload: string;
}

/** What to write: the raw value (after undoing `scale`), to be encoded as `type` in `order`. */
export interface ModbusWrite {
  table: Extract<ModbusTable, 'coil' | 'holding'>;
  address: number;
  type: ModbusType;
  order: ByteOrder;
  value: number | boolean;
}

type Params = Readonly<Record<string, unknown>>;

function unknownAction(profile: { id: string; commands: ReadonlyMap<string, unknown> }, action: string): string {
  const known = [...profile.commands.keys()];
  return `profile ${profile.id}: no command ${JSON.stringify(action)} (${known.length ? known.join(', ') : 'it has none'})`;
}

/** The topic and payload for `action` on `deviceId`, or an error naming the missing or unusable param. */
export function renderCommand(
  profile: MqttProfile,
  action: string,
  params: Params,
  deviceId: string,
): { ok: true; topic: string; payload: string } | { ok: false; error: string } {
  const cmd = profile.commands.get(action);
  if (!cmd) return { ok: false, error: unknownAction(profile, action) };
  const where = `profile ${profile.id}: command ${action}`;
  const topic = fillTopic(cmd.topic, deviceId, params);
  if (!topic.ok) return { ok: false, error: `${where}: ${topic.error}` };
  const payload = fillPayload(cmd.payload, deviceId, params);
  if (!payload.ok) return { ok: false, error: `${where}: ${payload.error}` };
  return { ok: true, topic: topic.value, payload: typeof payload.value === 'string' ? payload.value : JSON.stringify(payload.value) };
}

/**
 * The Modbus write for `action`: its fixed value, or its param divided by `scale` (scale means "stored = raw ×
 * scale" both ways, as in telemetry), refused when the type cannot carry it.
 */
export function modbusWrite(profile: ModbusProfile, action: string, params: Params): { ok: true; write: ModbusWrite } | { ok: false; error: string } {
  const cmd = profile.commands.get(action);
  if (!cmd) return { ok: false, error: unknownAction(profile, action) };
  const target = { table: cmd.table, address: cmd.address, type: cmd.type, order: cmd.order };
  if ('value' in cmd) return { ok: true, write: { ...target, value: cmd.value } };
  const where = `profile ${profile.id}: command ${action}: params.${cmd.param}`;
  const given = Object.hasOwn(params, cmd.param) ? params[cmd.param] : undefined;
  if (given === undefined) return { ok: false, error: `${where} missing` };
  let value = given;
  if (cmd.scale !== undefined && typeof given === 'number') value = clean(given / cmd.scale);
  const problem = checkWriteValue(cmd.type, value);
  if (problem) {
    const shown = value === given ? JSON.stringify(given) : `${JSON.stringify(given)} (${String(value)} after scale)`;
    return { ok: false, error: `${where}: ${shown}: ${problem}` };
  }
  return { ok: true, write: { ...target, value: value as number | boolean } };
}
