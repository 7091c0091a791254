/**
 * The kinds as data (contract §14 definitions): each telemetry field's type, unit and range and each event's
 * details, read from the zod schemas that ingest enforces, so the description cannot drift from what is accepted.
 */
import { z } from 'zod';
import { KIND_NAMES, KINDS, type KindName } from './index.js';

/** One telemetry field or event detail as the definitions describe it. */
export interface FieldDefinition {
  type: 'number' | 'boolean' | 'string';
  /** From the name's suffix (`temperatureC` → `°C`) or declared in DECLARED_UNITS; absent for a plain count or ratio. */
  unit?: string;
  /** Inclusive bounds, when the schema has finite ones. */
  min?: number;
  max?: number;
  /** Numbers only: whether a fraction is refused. */
  integer?: boolean;
  /** The values an enumerated text field takes. */
  values?: string[];
}

/** An event detail: a field, and whether every event of its type must carry it. */
export interface DetailDefinition extends FieldDefinition {
  required: boolean;
}

export interface KindDescription {
  /** Every field optional, at least one per message (contract §2), in the contract's order. */
  telemetry: Record<string, FieldDefinition>;
  /** Event types with their details (besides `type` and `ts`). */
  events: Record<string, { details: Record<string, DetailDefinition> }>;
}

/** Units by the suffix a field name ends with (contract §2: "units in the name"), as a person writes them. */
const UNIT_SUFFIXES: ReadonlyArray<readonly [suffix: string, unit: string]> = [
  ['Pct', '%'],
  ['Kwh', 'kWh'],
  ['Kw', 'kW'],
  ['W', 'W'],
  ['V', 'V'],
  ['A', 'A'],
  ['C', '°C'],
  ['Ppm', 'ppm'],
  ['Kbps', 'kbps'],
  ['Mps', 'm/s'],
  ['Hours', 'h'],
  ['Mpa', 'MPa'],
  ['M3h', 'm³/h'],
  ['M3', 'm³'],
  ['Hz', 'Hz'],
  ['MgL', 'mg/L'],
  ['Ntu', 'NTU'],
  ['Ugm3', 'µg/m³'],
  ['Db', 'dB'],
];

/** Units of fields whose name is the unit itself, or carries none in a suffix. */
const DECLARED_UNITS: Readonly<Record<string, string>> = { fps: 'fps', seconds: 's' };

/** The unit of a field: declared, else its name's suffix after a camelCase boundary (`coPpm` → `ppm`). */
export function unitOf(field: string): string | undefined {
  if (Object.hasOwn(DECLARED_UNITS, field)) return DECLARED_UNITS[field];
  for (const [suffix, unit] of UNIT_SUFFIXES) {
    const before = field.at(-suffix.length - 1);
    if (field.endsWith(suffix) && before !== undefined && /[a-z0-9]/.test(before)) return unit;
  }
  return undefined;
}

/** Bounds as wide as a safe integer are the int check's own, not a range anyone wrote. */
const bound = (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);

/** Describes one field's schema; throws for a schema type the definitions cannot describe yet (a unit test runs it). */
export function describeField(name: string, schema: z.ZodType): FieldDefinition & { optional: boolean } {
  let inner = schema;
  let optional = false;
  for (;;) {
    if (inner instanceof z.ZodOptional) {
      optional = true;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodPipe) {
      // A detail normalised on the way in (a fault code taken as text): described as a device sends it.
      inner = inner.in as z.ZodType;
    } else if (inner instanceof z.ZodUnion) {
      // Text or a number, stored as text: described by its first form.
      inner = inner.options[0] as z.ZodType;
    } else break;
  }
  const unit = unitOf(name);
  if (inner instanceof z.ZodBoolean) return { type: 'boolean', optional };
  if (inner instanceof z.ZodNumber) {
    const field: FieldDefinition = { type: 'number', unit, min: bound(inner.minValue), max: bound(inner.maxValue), integer: inner.isInt };
    return { ...withoutUndefined(field), optional };
  }
  if (inner instanceof z.ZodEnum) return { type: 'string', values: inner.options.map(String), optional };
  if (inner instanceof z.ZodString) return { type: 'string', optional };
  throw new Error(`${name}: the definitions cannot describe a ${inner.constructor.name} field yet`);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The fields of an object schema (a telemetry schema keeps its shape through its refinement). */
function shapeOf(schema: z.ZodType, what: string): Record<string, z.ZodType> {
  if (!(schema instanceof z.ZodObject)) throw new Error(`${what}: not an object schema`);
  return schema.shape as Record<string, z.ZodType>;
}

/** One kind's telemetry fields and event types, from its schemas. */
export function describeKind(kind: KindName): KindDescription {
  const def = KINDS[kind];
  const shape = shapeOf(def.telemetry, `${kind} telemetry`);
  const telemetry: Record<string, FieldDefinition> = {};
  for (const field of def.fields) {
    const { optional: _optional, ...described } = describeField(field, shape[field]);
    telemetry[field] = described;
  }
  const events: KindDescription['events'] = {};
  for (const [type, schema] of Object.entries(def.events)) {
    const details: Record<string, DetailDefinition> = {};
    for (const [name, field] of Object.entries(shapeOf(schema, `${kind} event ${type}`))) {
      if (name === 'type' || name === 'ts') continue;
      const { optional, ...described } = describeField(name, field);
      details[name] = { ...described, required: !optional };
    }
    events[type] = { details };
  }
  return { telemetry, events };
}

/** Every kind, in the contract's order. */
export function describeKinds(): Record<KindName, KindDescription> {
  return Object.fromEntries(KIND_NAMES.map((k) => [k, describeKind(k)])) as Record<KindName, KindDescription>;
}
