import { z } from 'zod';

type FieldCheck = { kind: 'boolean' } | { kind: 'number'; min: number; max: number; int: boolean } | { kind: 'enum'; values: ReadonlySet<string> };

/**
 * A check derived from a telemetry schema, for the per-message path: it answers true only for payloads
 * the schema accepts as they are (booleans, finite numbers within inclusive bounds, one of an enum's texts,
 * a numeric `ts`), without copying them. Anything else (an ISO `ts`, an error to explain) goes to the schema
 * itself, so the zod schema stays the one definition of what is valid; tests/unit/devices/fast-check.test.ts
 * holds the two to agreement.
 */
export function fastTelemetryCheck(schema: z.ZodType): (body: unknown) => boolean {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return () => false;
  const checks = new Map<string, FieldCheck>();
  for (const [name, field] of Object.entries(shape)) {
    if (name === 'ts') continue;
    const inner = field instanceof z.ZodOptional ? (field.unwrap() as z.ZodType) : field;
    if (inner instanceof z.ZodBoolean) checks.set(name, { kind: 'boolean' });
    else if (inner instanceof z.ZodNumber) {
      checks.set(name, { kind: 'number', min: inner.minValue ?? -Infinity, max: inner.maxValue ?? Infinity, int: inner.isInt });
    } else if (inner instanceof z.ZodEnum) {
      // contract §9: an enum field (a lift's `direction`) is a text; a valid one must not cost a zod parse each time.
      checks.set(name, { kind: 'enum', values: new Set(inner.options.map(String)) });
    } else return () => false; // a field type this check does not know: always ask the schema
  }
  return (body) => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
    let measurements = 0;
    for (const key in body) {
      const value = (body as Record<string, unknown>)[key];
      if (key === 'ts') {
        if (typeof value !== 'number' || !(value >= 0) || value === Infinity) return false;
        continue;
      }
      const c = checks.get(key);
      if (!c) return false;
      if (c.kind === 'boolean') {
        if (typeof value !== 'boolean') return false;
      } else if (c.kind === 'enum') {
        if (typeof value !== 'string' || !c.values.has(value)) return false;
      } else if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= c.min && value <= c.max) || (c.int && !Number.isInteger(value))) {
        return false;
      }
      measurements++;
    }
    return measurements > 0;
  };
}
