/**
 * A vendor's message mapped through its profile onto its kind's telemetry and events (contract §10). The result is
 * then what a native message is: checked by the kind's own schemas, so it is stored and ruled alike, and every
 * refusal names the profile and the field or path. All or nothing: one bad value refuses the whole message.
 */
import { parseIsoTs } from '../devices/kinds/common.js';
import { checkEvent, checkTelemetry, TsSchema } from '../devices/kinds/index.js';
import type { ModbusPoint, ModbusProfile, MqttEventMapping, MqttProfile, TsFormat } from './profile.js';
import { scalarText } from './schema-parts.js';
import { mapValue, Refusal, showValue } from './value.js';

export { renderCommand, modbusWrite, type RenderedCommand, type ModbusWrite } from './commands.js';

/**
 * Which event mappings matched on the last message that carried their value, per device and profile: edge
 * events (`edge: true`) fire only on the way into matching. The caller owns one per device and profile.
 */
export interface EdgeState {
  matching: boolean[];
  /** The profile the state is about: a reloaded profile (a new object) starts afresh, its events may differ. */
  profile?: object;
}

/** A fresh edge state: nothing matched yet. */
export function newEdgeState(): EdgeState {
  return { matching: [] };
}

/** Forgets what a previous version of the profile matched. */
function edgeFor(edge: EdgeState, profile: object): EdgeState {
  if (edge.profile !== profile) {
    edge.profile = profile;
    edge.matching.length = 0;
  }
  return edge;
}

/** An event of the profile's kind, checked by the kind's schema; `details` without `type` and `ts`. */
export interface MappedEvent {
  type: string;
  ts: number;
  details: Record<string, unknown>;
}

export type MapResult =
  | { ok: true; telemetry?: Record<string, unknown>; events: MappedEvent[]; ts: number }
  | { ok: false; reason: string };

/** A refusal naming the profile (contract §10: "a refusal's reason names the profile and the field or path"). */
function refused(profile: { id: string }, reason: string): MapResult {
  return { ok: false, reason: `profile ${profile.id}: ${reason}` };
}

/** A raw value as the device sent it; JSON null counts as absent (vendors send it for "no reading"). */
const absent = (v: unknown) => v === undefined || v === null;

/** Maps one MQTT payload (parsed JSON) received at `receivedAt` (epoch ms) through `profile`. */
export function mapMqtt(profile: MqttProfile, payload: unknown, receivedAt: number, state: EdgeState): MapResult {
  const edge = edgeFor(state, profile);
  const ts = profile.ts ? readTs(profile.ts.path.get(payload), profile.ts.format, receivedAt) : receivedAt;
  if (ts instanceof Refusal) return refused(profile, `ts: ${profile.ts?.path.text}: ${ts.reason}`);
  let present = false;
  let telemetry: Record<string, unknown> | undefined;
  for (const field of profile.telemetry) {
    const raw = field.path.get(payload);
    if (absent(raw)) continue;
    present = true;
    const value = mapValue(field, raw);
    if (value instanceof Refusal) return refused(profile, value.reason);
    (telemetry ??= {})[field.name] = value;
  }
  const events: MappedEvent[] = [];
  for (let i = 0; i < profile.events.length; i++) {
    const e = profile.events[i];
    const raw = e.path.get(payload);
    if (absent(raw)) continue;
    present = true;
    if (!fires(e.matches(raw), e.edge, edge, i)) continue;
    const event = mqttEvent(profile, e, payload, ts);
    if (event instanceof Refusal) return refused(profile, event.reason);
    events.push(event);
  }
  if (!present) return refused(profile, `none of the mapped paths is present (${mappedPaths(profile)})`);
  const checked = checkMapped(profile, telemetry);
  if (checked instanceof Refusal) return refused(profile, checked.reason);
  // Accepted: only now does the edge state move, so a refused message cannot swallow an edge.
  for (let i = 0; i < profile.events.length; i++) {
    const raw = profile.events[i].path.get(payload);
    if (!absent(raw)) edge.matching[i] = profile.events[i].matches(raw);
  }
  return checked === undefined ? { ok: true, events, ts } : { ok: true, telemetry: checked, events, ts };
}

/**
 * Maps one poll's values through a Modbus profile: `values` holds each point's decoded value by its key (a
 * field's name, `events[i]`), as `profile.points` lists them. A register read for a `bit` may be given whole.
 */
export function mapModbusValues(profile: ModbusProfile, values: ReadonlyMap<string, number | boolean>, receivedAt: number, state: EdgeState): MapResult {
  const edge = edgeFor(state, profile);
  let present = false;
  let telemetry: Record<string, unknown> | undefined;
  for (const field of profile.telemetry) {
    const raw = pointValue(field.point, values);
    if (raw === undefined) continue;
    present = true;
    const value = mapValue(field, raw);
    if (value instanceof Refusal) return refused(profile, `${value.reason} (${field.point.table} ${field.point.address})`);
    (telemetry ??= {})[field.name] = value;
  }
  const events: MappedEvent[] = [];
  for (let i = 0; i < profile.events.length; i++) {
    const e = profile.events[i];
    const raw = pointValue(e.point, values);
    if (raw === undefined) continue;
    present = true;
    if (!fires(e.matches(raw), e.edge, edge, i)) continue;
    const checked = checkEvent(profile.kind, { type: e.type });
    if (!checked.ok) return refused(profile, `event ${e.type}: ${checked.reason}`);
    events.push({ type: e.type, ts: receivedAt, details: {} });
  }
  if (!present) return refused(profile, 'no value was read');
  const checked = checkMapped(profile, telemetry);
  if (checked instanceof Refusal) return refused(profile, checked.reason);
  for (let i = 0; i < profile.events.length; i++) {
    const raw = pointValue(profile.events[i].point, values);
    if (raw !== undefined) edge.matching[i] = profile.events[i].matches(raw);
  }
  return checked === undefined ? { ok: true, events, ts: receivedAt } : { ok: true, telemetry: checked, events, ts: receivedAt };
}

/** Whether a matching value fires now: always, or for an edge event only when it did not match before. */
function fires(matches: boolean, isEdge: boolean, edge: EdgeState, i: number): boolean {
  return matches && !(isEdge && edge.matching[i] === true);
}

/** A point's value; a register given for a bit field yields that bit. */
function pointValue(point: ModbusPoint, values: ReadonlyMap<string, number | boolean>): number | boolean | undefined {
  const raw = values.get(point.key);
  if (typeof raw !== 'number') return raw;
  if (point.bit !== undefined) return ((raw >> point.bit) & 1) === 1;
  // A register read as bool: non-zero is true (as src/modbus decodes it).
  return point.type === 'bool' ? raw !== 0 : raw;
}

/** The mapped telemetry as the kind's own schema accepts it (contract §10: validated as a native message is). */
function checkMapped(profile: { kind: MqttProfile['kind'] }, telemetry: Record<string, unknown> | undefined): Record<string, unknown> | Refusal | undefined {
  if (telemetry === undefined) return undefined;
  const checked = checkTelemetry(profile.kind, telemetry);
  return checked.ok ? checked.value : new Refusal(checked.reason);
}

/** One fired MQTT event with its details, checked by the kind's event schema. */
function mqttEvent(profile: MqttProfile, e: MqttEventMapping, payload: unknown, ts: number): MappedEvent | Refusal {
  const body: Record<string, unknown> = { type: e.type };
  for (const d of e.details) {
    if (d.value !== undefined) {
      body[d.name] = d.value;
      continue;
    }
    const v = d.path?.get(payload);
    if (absent(v)) continue;
    if (!d.map) {
      body[d.name] = v;
      continue;
    }
    const key = scalarText(v);
    const mapped = key === undefined ? undefined : d.map.get(key);
    if (mapped === undefined) return new Refusal(`event ${e.type}: details.${d.name}: value ${showValue(v)} not in map`);
    body[d.name] = mapped;
  }
  const checked = checkEvent(profile.kind, body);
  if (!checked.ok) {
    const missing = e.details.find((d) => !Object.hasOwn(body, d.name) && checked.reason.startsWith(`${d.name}:`));
    return new Refusal(`event ${e.type}: ${missing ? `details.${missing.name}: ${missing.path?.text ?? ''} missing` : checked.reason}`);
  }
  const { type: _type, ...details } = checked.value;
  return { type: e.type, ts, details };
}

function mappedPaths(profile: MqttProfile): string {
  return [...new Set([...profile.telemetry.map((f) => f.path.text), ...profile.events.map((e) => e.path.text)])].join(', ');
}

/** The message's time in epoch ms from the value at the profile's `ts` path; absent: the receive time. */
function readTs(raw: unknown, format: TsFormat, receivedAt: number): number | Refusal {
  if (absent(raw)) return receivedAt;
  let ms: number;
  if (format === 'iso') {
    if (typeof raw !== 'string' || raw.length > 64 || !TsSchema.safeParse(raw).success) return new Refusal(`${showValue(raw)} is not an ISO-8601 time`);
    ms = parseIsoTs(raw);
  } else {
    const n = typeof raw === 'string' && /^\d{1,16}(?:\.\d{1,9})?$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n)) return new Refusal(`${showValue(raw)} is not an ${format} time`);
    ms = Math.round(format === 'epoch_s' ? n * 1000 : n);
  }
  if (!(ms >= 0)) return new Refusal(`${showValue(raw)} is not an ${format} time after 1970`);
  return ms;
}

/**
 * The device a bridge's message names through the profile's `deviceFrom` (contract §10 bridges): text, or a whole
 * number taken as text; undefined when the profile has none or the payload does not say. The caller checks that
 * the device is registered to the bridge (else `unknown_device`).
 */
export function deviceFrom(profile: MqttProfile, payload: unknown): string | undefined {
  const v = profile.deviceFrom?.path.get(payload);
  if (typeof v === 'string') return v.length > 0 && v.length <= 256 ? v : undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : undefined;
}
