import { z } from 'zod';
import { parseIsoTs } from '../../src/devices/kinds/common.js';
import { KIND_NAMES, KINDS, type KindName } from '../../src/devices/kinds/index.js';
import { MAX_PAYLOAD_BYTES } from '../../src/ingest/pipeline.js';
import { MAX_FUTURE_MS } from '../../src/ingest/timestamp.js';
import { shapeOf } from './fuzz-payloads.js';

/**
 * InfluxDB 1.x keeps time as signed int64 nanoseconds: nothing before 1677-09-21T00:12:43.145224194Z can be
 * stored, so the gateway must refuse such a `ts` (naming `ts`) rather than acknowledge a point that is lost.
 */
export const INFLUX_MIN_MS = -9_223_372_036_854;

/** What the gateway must do with one message, decided from the kind's own zod schema and contract §2. */
export type Verdict =
  | {
      ok: true;
      /** The point's time, or undefined when the gateway's receive time is used. */
      ms?: number;
      /** `type` for events; the series key within the device is (type, time). */
      type?: string;
      /** The fields InfluxDB must then hold: measurements, or an event's `count` and details. */
      fields: Record<string, unknown>;
    }
  | {
      ok: false;
      why: string;
      /** The exact reasons the gateway may give, when they are known. */
      reasons?: string[];
      /** Or the prefix its reason must have. */
      prefix?: string;
      /** How the reason probably starts: the field zod complains about first (used to line refusals up). */
      likely?: string[];
    };

const refused = (why: string, more: { reasons?: string[]; prefix?: string; likely?: string[] } = {}): Verdict => ({ ok: false, why, ...more });

/**
 * The oracle: bounded size, JSON, then `KINDS[kind].telemetry` or `.events[type]` `.safeParse` on the
 * JSON.parse of the text (decoded as UTF-8 with replacement, as MQTT payload bytes are), then `ts` no more
 * than 5 minutes ahead and within what InfluxDB can store.
 */
export function judge(kind: KindName, suffix: 'telemetry' | 'event', payload: Buffer, now: number): Verdict {
  if (payload.length > MAX_PAYLOAD_BYTES) return refused('too large', { reasons: [`payload: larger than ${MAX_PAYLOAD_BYTES} bytes`] });
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return refused('not JSON', { reasons: ['payload: not valid JSON'] });
  }
  const verdict = judgeBody(kind, suffix, body, now);
  if (verdict.ok) return verdict;
  // A non-finite number that is the message's only defect must be the reason given, naming its field.
  const paths = nonFinitePaths(body);
  const named = paths.map((p) => `${p}: must be a finite number`);
  if (paths.length > 0 && judgeBody(kind, suffix, withFiniteNumbers(body), now).ok) return refused('non-finite', { reasons: named });
  // With other defects too, the reason may name either: both help line the refusals up.
  return paths.length > 0 ? { ...verdict, likely: [...named, ...(verdict.likely ?? [])] } : verdict;
}

function judgeBody(kind: KindName, suffix: 'telemetry' | 'event', body: unknown, now: number): Verdict {
  const schema = suffix === 'telemetry' ? KINDS[kind].telemetry : eventSchema(kind, body);
  if (!schema) return refused('no such event type', { likely: ['type: ', 'payload: '] });
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    return refused('schema', { likely: likelyReason(parsed.error.issues[0]) });
  }
  const { ts, type, ...rest } = parsed.data as { ts?: number | string; type?: string } & Record<string, unknown>;
  let ms: number | undefined;
  if (ts !== undefined) {
    ms = typeof ts === 'number' ? Math.round(ts) : parseIsoTs(ts);
    if (ms > now + MAX_FUTURE_MS) return refused('future ts', { reasons: ['ts: more than 5 minutes in the future'] });
    if (ms < INFLUX_MIN_MS) return refused('ts before InfluxDB time', { prefix: 'ts: ' });
    ms += 0; // -0 is stored as 0
  }
  if (suffix === 'telemetry') return { ok: true, ms, fields: rest };
  return { ok: true, ms, type, fields: { count: 1, ...rest } };
}

function likelyReason(issue: z.core.$ZodIssue): string[] | undefined {
  if (issue.code === 'unrecognized_keys') return [`${issue.keys[0]}: `];
  const path = issue.path.map(String).join('.');
  if (path) return [`${path}: `, `${path}.`];
  // The telemetry schemas' one refinement: at least one measurement (contract §2).
  if (issue.code === 'custom') return ['at least one measurement field is required'];
  // Not an object at all: zod's own words, until the reason names `payload`.
  return ['payload: ', 'expected object'];
}

function eventSchema(kind: KindName, body: unknown): z.ZodType | undefined {
  const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  return typeof type === 'string' && Object.hasOwn(KINDS[kind].events, type) ? KINDS[kind].events[type] : undefined;
}

/** Dotted paths of every ±Infinity in a parsed JSON value, iteratively (payloads nest 10,000 deep). */
export function nonFinitePaths(value: unknown): string[] {
  type Frame = { node: unknown; key: string; parent?: Frame };
  const pathOf = (f: Frame): string => {
    const keys: string[] = [];
    for (let at: Frame | undefined = f; at?.parent; at = at.parent) keys.push(at.key);
    return keys.reverse().join('.') || 'payload';
  };
  const found: string[] = [];
  const stack: Frame[] = [{ node: value, key: '' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { node } = frame;
    if (typeof node === 'number' && !Number.isFinite(node)) found.push(pathOf(frame));
    else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) stack.push({ node: child, key, parent: frame });
    }
  }
  return found;
}

/** The value with every ±Infinity replaced by 0 (undefined when it nests too deep to copy). */
function withFiniteNumbers(value: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? 0 : v)));
  } catch {
    return undefined; // RangeError: 10,000 levels; such a payload has other defects anyway
  }
}

/** What a stored field may hold: a boolean, a number within bounds, a string. */
export type FieldRule = { type: 'boolean' } | { type: 'string' } | { type: 'number'; min: number; max: number; int: boolean };

function ruleOf(type: z.ZodType): FieldRule {
  if (type instanceof z.ZodOptional) return ruleOf(type.unwrap() as z.ZodType);
  if (type instanceof z.ZodBoolean) return { type: 'boolean' };
  if (type instanceof z.ZodNumber) {
    return { type: 'number', min: type.minValue ?? Number.NEGATIVE_INFINITY, max: type.maxValue ?? Number.POSITIVE_INFINITY, int: type.isInt };
  }
  // Strings and enums, and the fire panel's fault code, which the schema turns into text.
  return { type: 'string' };
}

/** The rules for each field of a measurement: the kind's telemetry fields, or every event detail plus `count`. */
export function fieldRules(measurement: KindName | 'events'): Record<string, FieldRule> {
  const rules: Record<string, FieldRule> = {};
  if (measurement !== 'events') {
    for (const [name, type] of Object.entries(shapeOf(KINDS[measurement].telemetry))) if (name !== 'ts') rules[name] = ruleOf(type);
    return rules;
  }
  for (const kind of KIND_NAMES) {
    for (const schema of Object.values(KINDS[kind].events)) {
      for (const [name, type] of Object.entries(shapeOf(schema))) if (name !== 'ts' && name !== 'type') rules[name] = ruleOf(type);
    }
  }
  rules.count = { type: 'number', min: 1, max: 1, int: true };
  return rules;
}

/** Why a stored value breaks its rule, or undefined when it keeps it (every number must be finite). */
export function breaksRule(value: unknown, rule: FieldRule | undefined): string | undefined {
  if (!rule) return 'a field no schema has';
  if (rule.type === 'boolean') return typeof value === 'boolean' ? undefined : 'not a boolean';
  if (rule.type === 'string') return typeof value === 'string' ? undefined : 'not a string';
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'not a finite number';
  if (value < rule.min || value > rule.max) return `outside ${rule.min}..${rule.max}`;
  return rule.int && !Number.isInteger(value) ? 'not an integer' : undefined;
}
