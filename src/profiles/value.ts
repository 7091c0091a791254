/**
 * One read value becoming a stored one (contract §10): `map` translates it, else `scale` multiplies and `offset`
 * adds, and a number must then lie in its field's range. Shared by the MQTT and the Modbus mapping, so both
 * refuse alike.
 */
import type { ValueMapping } from './profile.js';
import { rangeText } from './schema-kind.js';
import { scalarText } from './schema-parts.js';
import { clean } from './write-value.js';

/** Why a value was refused; allocated only on refusal, so the accepted path allocates nothing here. */
export class Refusal {
  constructor(readonly reason: string) {}
}

/** A vendor value as a reason shows it: short, and never a whole object. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** The stored value for `raw`, or the Refusal naming the field. */
export function mapValue(m: ValueMapping, raw: unknown): unknown {
  if (m.map) {
    const key = scalarText(raw);
    const mapped = key === undefined ? undefined : m.map.get(key);
    return mapped === undefined ? new Refusal(`${m.name}: value ${showValue(raw)} not in map`) : mapped;
  }
  if (m.scale === undefined && m.offset === undefined) {
    return typeof raw === 'number' && m.def.type === 'number' ? inRange(m, raw, '') : raw;
  }
  if (typeof raw !== 'number') return new Refusal(`${m.name}: expected a number to scale, got ${showValue(raw)}`);
  return inRange(m, clean(raw * (m.scale ?? 1) + (m.offset ?? 0)), m.scale !== undefined ? ' after scale' : ' after offset');
}

function inRange(m: ValueMapping, value: number, after: string): number | Refusal {
  const { min, max } = m.def;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    return new Refusal(`${m.name}: ${value} out of range${after} (${rangeText(m.def)})`);
  }
  return value;
}
