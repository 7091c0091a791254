import type { z } from 'zod';
import { firstNonFinite, notFinite } from '../../finite.js';
import { ACCESS_EVENTS, AccessTelemetrySchema } from './access.js';
import { CAMERA_EVENTS, CameraTelemetrySchema } from './camera.js';
import { ENERGY_EVENTS, EnergyTelemetrySchema } from './energy.js';
import { ENVIRONMENT_EVENTS, EnvironmentTelemetrySchema } from './environment.js';
import { fastTelemetryCheck } from './fast-check.js';
import { FIRE_EVENTS, FireTelemetrySchema } from './fire.js';
import { LIFT_EVENTS, LiftTelemetrySchema } from './lift.js';
import { LIGHTING_EVENTS, LightingTelemetrySchema } from './lighting.js';
import { PARKING_EVENTS, ParkingTelemetrySchema } from './parking.js';
import { PATROL_EVENTS, PatrolTelemetrySchema } from './patrol.js';
import { POWER_EVENTS, PowerTelemetrySchema } from './power.js';
import { SOS_EVENTS, SosTelemetrySchema } from './sos.js';
import { WASTE_EVENTS, WasteTelemetrySchema } from './waste.js';
import { WATER_EVENTS, WaterTelemetrySchema } from './water.js';

export { TsSchema, type TelemetryFields, type TelemetryValue } from './common.js';

/** The device kinds of contract §1 and (v2) §9, in the contract's order. */
export const KIND_NAMES = [
  'access', 'lighting', 'parking', 'energy', 'fire', 'camera',
  // v2, contract §9
  'lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste',
] as const;
export type KindName = (typeof KIND_NAMES)[number];

export interface KindDefinition {
  name: KindName;
  telemetry: z.ZodType<Record<string, unknown>>;
  /** True for a telemetry payload the schema accepts as it is; false means: ask the schema. */
  quickCheck: (body: unknown) => boolean;
  /** Telemetry field names, in the contract's order. */
  fields: readonly string[];
  events: Record<string, z.ZodType<Record<string, unknown>>>;
}

function define(
  name: KindName,
  telemetry: z.ZodType<Record<string, unknown>> & { def?: unknown },
  fields: string[],
  events: Record<string, z.ZodType<Record<string, unknown>>>,
): KindDefinition {
  const quickCheck = fastTelemetryCheck(telemetry);
  return Object.freeze({ name, telemetry, quickCheck, fields: Object.freeze(fields), events: Object.freeze(events) });
}

/** Every kind's schemas, shared by ingest and the simulators so both agree on what is valid. */
export const KINDS: Readonly<Record<KindName, KindDefinition>> = Object.freeze({
  access: define('access', AccessTelemetrySchema, ['doorOpen', 'locked', 'batteryPct'], ACCESS_EVENTS),
  lighting: define('lighting', LightingTelemetrySchema, ['on', 'brightnessPct', 'powerW', 'voltageV'], LIGHTING_EVENTS),
  parking: define('parking', ParkingTelemetrySchema, ['occupied', 'freeSpaces', 'capacity', 'batteryPct'], PARKING_EVENTS),
  energy: define(
    'energy',
    EnergyTelemetrySchema,
    ['energyKwh', 'powerKw', 'voltageV', 'currentA', 'powerFactor'],
    ENERGY_EVENTS,
  ),
  fire: define('fire', FireTelemetrySchema, ['smokeObscurationPct', 'temperatureC', 'coPpm', 'batteryPct'], FIRE_EVENTS),
  camera: define('camera', CameraTelemetrySchema, ['recording', 'fps', 'bitrateKbps', 'storageFreePct'], CAMERA_EVENTS),
  // contract §9: the kinds of v2.
  lift: define(
    'lift',
    LiftTelemetrySchema,
    ['floor', 'moving', 'direction', 'doorOpen', 'mode', 'loadPct', 'speedMps', 'trips', 'runHours'],
    LIFT_EVENTS,
  ),
  water: define(
    'water',
    WaterTelemetrySchema,
    ['levelPct', 'pressureMpa', 'flowM3h', 'volumeM3', 'pumpRunning', 'pumpCurrentA', 'frequencyHz', 'runHours', 'starts', 'chlorineMgL', 'turbidityNtu', 'temperatureC'],
    WATER_EVENTS,
  ),
  power: define(
    'power',
    PowerTelemetrySchema,
    ['voltageV', 'currentA', 'powerKw', 'powerFactor', 'transformerTempC', 'roomTempC', 'humidityPct', 'breakerClosed', 'onGenerator', 'generatorFuelPct'],
    POWER_EVENTS,
  ),
  patrol: define('patrol', PatrolTelemetrySchema, ['batteryPct'], PATROL_EVENTS),
  sos: define('sos', SosTelemetrySchema, ['batteryPct'], SOS_EVENTS),
  environment: define(
    'environment',
    EnvironmentTelemetrySchema,
    ['temperatureC', 'humidityPct', 'pm25Ugm3', 'pm10Ugm3', 'co2Ppm', 'noiseDb', 'waterLeak', 'soilMoisturePct', 'valveOpen'],
    ENVIRONMENT_EVENTS,
  ),
  waste: define('waste', WasteTelemetrySchema, ['fillPct', 'temperatureC', 'batteryPct'], WASTE_EVENTS),
});

/** An event of a kind, named as the contract names it (`fire/fire_alarm`). */
export interface KindEvent {
  kind: KindName;
  type: string;
}

/**
 * Life-safety events (contract §9, §11): handled ahead of all other traffic and never hidden, in the contract's
 * order. A unit test checks that each is an event type of its kind.
 */
export const LIFE_SAFETY_EVENTS: readonly KindEvent[] = Object.freeze([
  { kind: 'fire', type: 'fire_alarm' },
  { kind: 'sos', type: 'call' },
  { kind: 'lift', type: 'passenger_trapped' },
  { kind: 'lift', type: 'alarm_button' },
]);

/** The outcome of validating one payload: the parsed value, or a reason that names the field. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Describes the first problem zod found, naming the field (contract §2: a reason that names the field). */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${k}: unknown field`).join('; ');
  }
  const path = issue.path.map(String).join('.');
  const message = friendly(issue);
  return path ? `${path}: ${message}` : message;
}

function friendly(issue: z.core.$ZodIssue): string {
  // zod 4 refuses ±Infinity and NaN as a number and says "received Infinity".
  const received = (issue as { received?: unknown }).received;
  if (issue.code === 'invalid_type' && issue.expected === 'number' && (received === 'Infinity' || received === '-Infinity' || received === 'NaN')) {
    return 'must be a finite number';
  }
  if (issue.code === 'too_big' && issue.origin === 'number') {
    return issue.inclusive ? `must be at most ${issue.maximum}` : `must be below ${issue.maximum}`;
  }
  if (issue.code === 'too_small' && issue.origin === 'number') {
    return issue.inclusive ? `must be at least ${issue.minimum}` : `must be above ${issue.minimum}`;
  }
  return issue.message.replace(/^Invalid input: /, '');
}

/** Validates a telemetry object of `kind`. */
export function checkTelemetry(kind: KindName, body: unknown): Checked<Record<string, unknown>> {
  if (KINDS[kind].quickCheck(body)) return { ok: true, value: body as Record<string, unknown> };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: 'payload: expected a JSON object' };
  const result = KINDS[kind].telemetry.safeParse(body);
  return result.success ? { ok: true, value: result.data } : { ok: false, reason: refusal(body, result.error) };
}

/** The reason for a refused payload: a non-finite number first (`1e400`), whatever else is wrong. */
function refusal(body: unknown, error: z.ZodError): string {
  const path = firstNonFinite(body);
  return path === undefined ? describeIssues(error) : notFinite(path || 'payload');
}

/** Validates an event object of `kind`, starting with its `type`. */
export function checkEvent(kind: KindName, body: unknown): Checked<Record<string, unknown> & { type: string }> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, reason: 'payload: expected a JSON object' };
  }
  const type = (body as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, reason: 'type: required, a string' };
  const schema = Object.hasOwn(KINDS[kind].events, type) ? KINDS[kind].events[type] : undefined;
  if (!schema) {
    return {
      ok: false,
      reason: `type: unknown event type ${JSON.stringify(type)} for kind ${kind} (${Object.keys(KINDS[kind].events).join(', ')})`,
    };
  }
  const result = schema.safeParse(body);
  return result.success
    ? { ok: true, value: result.data as Record<string, unknown> & { type: string } }
    : { ok: false, reason: refusal(body, result.error) };
}
