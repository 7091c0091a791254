/**
 * What a profile's mappings must be to its kind (contract §10: "maps the vendor's data onto one kind's fields and
 * events"): every key a field of the kind, every event an event of it, and no mapped value that could never be
 * stored. Read from the kinds' own schemas through their description, so a profile cannot drift from ingest.
 */
import { describeKinds, type FieldDefinition, type KindDescription } from '../devices/kinds/describe.js';
import { KINDS, type KindName } from '../devices/kinds/index.js';
import type { Scalar } from './schema-parts.js';

/** One problem found, at a path inside the profile. */
export interface ProfileIssue {
  path: PropertyKey[];
  message: string;
}

/** What a mapping's source yields before `map`: anything (a JSON path), a number (a register) or a boolean (a bit). */
export type Produces = 'any' | 'number' | 'boolean';

let described: Record<KindName, KindDescription> | undefined;

/** The description of every kind, built once. */
export function kindDescriptions(): Record<KindName, KindDescription> {
  described ??= describeKinds();
  return described;
}

/** The definition of `kind`'s telemetry field `name`, or undefined when the kind has no such field. */
export function fieldDefinition(kind: KindName, name: string): FieldDefinition | undefined {
  const telemetry = kindDescriptions()[kind].telemetry;
  return Object.hasOwn(telemetry, name) ? telemetry[name] : undefined;
}

/** The inclusive range of a numeric field as a reason writes it (`0..100`, `at least 0`), or '' without one. */
export function rangeText(def: FieldDefinition): string {
  if (def.min !== undefined && def.max !== undefined) return `${def.min}..${def.max}`;
  if (def.min !== undefined) return `at least ${def.min}`;
  if (def.max !== undefined) return `at most ${def.max}`;
  return '';
}

/** Whether `value` can be stored in a field defined by `def`. */
export function fits(def: FieldDefinition, value: Scalar): boolean {
  switch (def.type) {
    case 'number':
      return (
        typeof value === 'number' &&
        (def.min === undefined || value >= def.min) &&
        (def.max === undefined || value <= def.max) &&
        (!def.integer || Number.isInteger(value))
      );
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return typeof value === 'string' && value !== '' && (def.values === undefined || def.values.includes(value));
  }
}

/** What a field takes, as a problem says it. */
function takes(def: FieldDefinition): string {
  if (def.type === 'boolean') return 'true or false';
  if (def.type === 'string') return def.values ? `one of ${def.values.join(', ')}` : 'text';
  const range = rangeText(def);
  return `${def.integer ? 'a whole number' : 'a number'}${range ? ` (${range})` : ''}`;
}

export interface ValueMappingFields {
  scale?: number;
  offset?: number;
  map?: ReadonlyMap<string, Scalar>;
}

/** Checks one telemetry mapping against the kind; answers the field's definition when the field exists. */
export function checkFieldMapping(
  kind: KindName,
  name: string,
  m: ValueMappingFields,
  produces: Produces,
  at: PropertyKey[],
  issues: ProfileIssue[],
): FieldDefinition | undefined {
  const def = fieldDefinition(kind, name);
  if (!def) {
    issues.push({ path: at, message: `${JSON.stringify(name)} is not a telemetry field of ${kind} (${KINDS[kind].fields.join(', ')})` });
    return undefined;
  }
  if (m.map) {
    if (m.scale !== undefined || m.offset !== undefined) {
      issues.push({ path: [...at, 'map'], message: 'map gives the stored value; use either map or scale/offset' });
    }
    for (const [key, value] of m.map) {
      if (!fits(def, value)) issues.push({ path: [...at, 'map', key], message: `${JSON.stringify(value)} can never be stored in ${name}: it takes ${takes(def)}` });
      if (produces === 'boolean' && key !== 'true' && key !== 'false') issues.push({ path: [...at, 'map', key], message: 'a bit reads true or false; this key never matches' });
      if (produces === 'number' && !Number.isFinite(Number(key))) issues.push({ path: [...at, 'map', key], message: 'a register reads a number; this key never matches' });
    }
    return def;
  }
  if (def.type !== 'number' && (m.scale !== undefined || m.offset !== undefined)) {
    const key = m.scale !== undefined ? 'scale' : 'offset';
    issues.push({ path: [...at, key], message: `${name} takes ${takes(def)}; ${key} applies to numbers` });
  } else if (produces === 'boolean' && def.type !== 'boolean') {
    issues.push({ path: at, message: `reads true or false, but ${name} takes ${takes(def)}; add a map` });
  } else if (produces === 'number' && def.type !== 'number') {
    const hint = def.type === 'boolean' ? 'add a map or a bit' : 'add a map';
    issues.push({ path: at, message: `reads a number, but ${name} takes ${takes(def)}; ${hint}` });
  }
  return def;
}

/** Checks one event mapping against the kind: the type exists, its details exist, its required details are mapped. */
export function checkEventMapping(kind: KindName, type: string, details: readonly string[], at: PropertyKey[], issues: ProfileIssue[]): void {
  const events = kindDescriptions()[kind].events;
  if (!Object.hasOwn(events, type)) {
    issues.push({ path: [...at, 'type'], message: `${JSON.stringify(type)} is not an event of ${kind} (${Object.keys(events).join(', ')})` });
    return;
  }
  const known = events[type].details;
  for (const name of details) {
    if (!Object.hasOwn(known, name)) {
      const list = Object.keys(known);
      issues.push({ path: [...at, 'details', name], message: `${type} has ${list.length ? `the details ${list.join(', ')}` : 'no details'}` });
    }
  }
  // An event whose required detail is never mapped would be refused every time it fires.
  for (const [name, d] of Object.entries(known)) {
    if (d.required && !details.includes(name)) issues.push({ path: [...at, 'details'], message: `${type} requires the detail ${name}; map it` });
  }
}
