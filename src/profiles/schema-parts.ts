/** The small pieces profile files are made of (contract §10), shared by the MQTT and the Modbus form. */
import { z } from 'zod';
import { compilePath, type CompiledPath } from './path.js';

/** contract §10: a profile id. */
export const PROFILE_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const ProfileIdSchema = z
  .string({ error: 'must be text' })
  .regex(PROFILE_ID_RE, 'must be 1 to 64 lowercase letters, digits, ., _ or -, starting with a letter or digit');

/** An action as the command API takes it (`POST /api/devices/{id}/commands`). */
export const ACTION_RE = /^[A-Za-z0-9_-]{1,64}$/;

export type Scalar = string | number | boolean;
export const ScalarSchema = z.union([z.string(), z.number(), z.boolean()], { error: 'expected text, a number or true/false' });

export const NumberSchema = z.number({ error: 'expected a number' });
/** `scale` multiplies; 0 would make every reading 0 and every command value a division by zero. */
export const ScaleSchema = NumberSchema.refine((n) => n !== 0, 'must not be 0');
export const BooleanSchema = z.boolean({ error: 'must be true or false' });

/** A JSONPath of the accepted subset, compiled at load. */
export const PathSchema = z.unknown().transform((value, ctx): CompiledPath => {
  const r = compilePath(value);
  if (r.ok) return r.path;
  ctx.addIssue({ code: 'custom', message: r.error });
  return z.NEVER;
});

/**
 * `map`: the value as text → the value stored (contract §10: "keys are the value as text"). A Map, so a
 * vendor's value can never be looked up on a prototype.
 */
export const ValueMapSchema = z
  .unknown()
  .transform((value, ctx): ReadonlyMap<string, Scalar> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'expected a mapping of vendor values to values, such as { "1": true, "0": false }' });
      return z.NEVER;
    }
    const entries = Object.entries(value);
    if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'must not be empty' });
    for (const [key, v] of entries) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        ctx.addIssue({ code: 'custom', message: 'expected text, a number or true/false', path: [key] });
      }
    }
    return new Map(entries as Array<[string, Scalar]>);
  });

/** The value as text, as `map` keys and `equals`/`in` compare it; undefined for what is not a scalar. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The fields of an event mapping that say when it fires. */
export const MatcherShape = {
  equals: ScalarSchema.optional(),
  in: z.array(ScalarSchema, { error: 'expected a list of values' }).min(1, 'must not be empty').optional(),
  above: NumberSchema.optional(),
  below: NumberSchema.optional(),
  edge: BooleanSchema.default(false),
};

export interface MatcherFields {
  equals?: Scalar;
  in?: Scalar[];
  above?: number;
  below?: number;
}

/**
 * Checks that an event mapping says when it fires in one way: `equals`, `in`, or `above` and/or `below` (both:
 * strictly between). Answers the problem and the key it belongs to.
 */
export function matcherProblem(m: MatcherFields): { key: string; message: string } | undefined {
  const forms = [m.equals !== undefined, m.in !== undefined, m.above !== undefined || m.below !== undefined].filter(Boolean).length;
  if (forms === 0) return { key: '', message: 'needs one of equals, in, above or below' };
  if (forms > 1) return { key: '', message: 'use one of equals, in, or above/below' };
  if (m.above !== undefined && m.below !== undefined && m.above >= m.below) {
    return { key: 'below', message: `must be above ${m.above}: no value is above ${m.above} and below ${m.below}` };
  }
  return undefined;
}

/** A compiled matcher: whether a present value makes the event fire. */
export type Matches = (value: unknown) => boolean;

/**
 * Compiles a validated matcher. `equals` and `in` compare the value as text, as `map` does, so a vendor that
 * sends its code as `21` or `"21"` matches `equals: 21`; `above`/`below` compare numbers only.
 */
export function compileMatcher(m: MatcherFields): Matches {
  if (m.equals !== undefined) {
    const want = String(m.equals);
    return (v) => scalarText(v) === want;
  }
  if (m.in !== undefined) {
    const set = new Set(m.in.map(String));
    return (v) => {
      const text = scalarText(v);
      return text !== undefined && set.has(text);
    };
  }
  const above = m.above ?? -Infinity;
  const below = m.below ?? Infinity;
  return (v) => typeof v === 'number' && v > above && v < below;
}
