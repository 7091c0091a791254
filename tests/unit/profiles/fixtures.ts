/** Profiles of contract §10 as files write them, and a helper that compiles them (a test fails on any problem). */
import { parseDocument } from 'yaml';
import { parseProfile, type ModbusProfile, type MqttProfile, type Profile } from '../../../src/profiles/schema.js';

/** The lift of contract §10, as written there. */
export const ACME_LIFT_YAML = `
- id: acme-lift-ld200
  kind: lift
  source: mqtt
  topics: ["acme/{device}/status", "acme/{device}/alarm"]
  ts: { path: "$.time", format: epoch_s }
  telemetry:
    floor:    { path: "$.data.curFloor" }
    moving:   { path: "$.data.run", map: { "1": true, "0": false } }
    loadPct:  { path: "$.data.load", scale: 0.1 }
    direction: { path: "$.data.dir", map: { "U": up, "D": down, "S": idle } }
  events:
    - { type: passenger_trapped, path: "$.alarm.code", equals: 21, details: { floor: "$.data.curFloor" } }
    - { type: released,          path: "$.alarm.code", equals: 0 }
  commands:
    return_to_floor: { topic: "acme/{device}/cmd", payload: { op: "goto", floor: "{params.floor}" } }
`;

/** The pump set of contract §10, as written there. */
export const PUMPSET_YAML = `
- id: pumpset-modbus-demo
  kind: water
  source: modbus
  poll: 5s
  timeout: 1s
  byteOrder: ABCD
  telemetry:
    pressureMpa:  { table: holding, address: 0,  type: uint16, scale: 0.001 }
    flowM3h:      { table: input,   address: 2,  type: float32 }
    pumpRunning:  { table: coil,    address: 0 }
    runHours:     { table: holding, address: 10, type: uint32, order: CDAB }
  events:
    - { type: pump_fault, table: discrete, address: 3, equals: true, edge: true }
  commands:
    pump_start: { table: coil, address: 1, value: true }
    set_pressure: { table: holding, address: 20, type: uint16, scale: 0.001, param: setpointMpa }
`;

export function yamlList(text: string): unknown[] {
  return parseDocument(text).toJS() as unknown[];
}

/** Compiles the first profile of `text`, or a raw profile object; throws the problems when there are any. */
export function compile(text: string | Record<string, unknown>): Profile {
  const r = parseProfile(typeof text === 'string' ? yamlList(text)[0] : text, 'profiles/test.yaml', 0, { topicBase: 'sc' });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.profile;
}

export const mqttProfile = (text = ACME_LIFT_YAML) => compile(text) as MqttProfile;
export const modbusProfile = (text = PUMPSET_YAML) => compile(text) as ModbusProfile;

/** The problems of the first profile of `text`, or of a raw profile object. */
export function problems(raw: string | unknown): string[] {
  const r = parseProfile(typeof raw === 'string' ? yamlList(raw)[0] : raw, 'profiles/acme.yaml', 0, { topicBase: 'sc' });
  return r.ok ? [] : r.errors;
}

/** The lift profile as an object, to vary one field per test. */
export function liftRaw(): Record<string, any> {
  return yamlList(ACME_LIFT_YAML)[0] as Record<string, any>;
}

/** The pump set profile as an object, to vary one field per test. */
export function pumpRaw(): Record<string, any> {
  return yamlList(PUMPSET_YAML)[0] as Record<string, any>;
}
