/**
 * The `when` forms of contract §6, each validated on its own and normalised into a tagged object the
 * conditions read (`form`, durations in ms, one direction and level instead of `above`/`below` keys).
 */
import cron from 'node-cron';
import { z } from 'zod';
import { durationSchema, ScalarSchema, WindowSchema, type Scalar, type Window } from './schema-parts.js';
import { MissingSchema, UsageSchema, type MissingWhen, type UsageWhen } from './schema-when-s9.js';
import { AnomalySchema, ForecastSchema, type AnomalyWhen, type ForecastWhen } from './schema-when-s13.js';

export * from './schema-when-s9.js';
export * from './schema-when-s13.js';

const FieldSchema = z.string({ error: 'must be a field name' }).min(1, 'must not be empty');
const NumberSchema = z.number({ error: 'must be a number' });
const during = WindowSchema.optional();

/** Telemetry `where`: other fields of the device must have these values (e.g. `{ on: true }`). */
const FieldWhereSchema = z.record(z.string(), ScalarSchema).optional();
/** Event `where`: detail values; a list means any of them. */
const DetailWhereSchema = z
  .record(z.string(), z.union([ScalarSchema, z.array(ScalarSchema).min(1)]))
  .transform((w) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])) as Record<string, Scalar[]>)
  .optional();

type Ctx = z.core.$RefinementCtx;

/** Exactly one of `keys` is set; answers it. */
function oneOf<K extends string>(obj: Partial<Record<K, unknown>>, keys: readonly K[], ctx: Ctx, path: PropertyKey[] = []): K | undefined {
  const set = keys.filter((k) => obj[k] !== undefined);
  if (set.length === 1) return set[0];
  const message = set.length === 0 ? `needs one of ${keys.join(' or ')}` : `takes only one of ${keys.join(' or ')}`;
  ctx.addIssue({ code: 'custom', message, path });
  return undefined;
}

const ThresholdInput = z.strictObject({
  telemetry: FieldSchema,
  above: NumberSchema.optional(),
  below: NumberSchema.optional(),
  for: durationSchema().optional(),
  clear: z.strictObject({ above: NumberSchema.optional(), below: NumberSchema.optional(), for: durationSchema().optional() }).optional(),
  where: FieldWhereSchema,
  during,
});

export interface ThresholdWhen {
  form: 'threshold';
  telemetry: string;
  dir: 'above' | 'below';
  level: number;
  forMs: number;
  /** Hysteresis: the level the value must pass back (strictly) to clear, and for how long. */
  clear?: { level?: number; forMs: number };
  where?: Record<string, Scalar>;
  during?: Window;
}

export const ThresholdSchema = ThresholdInput.transform((w, ctx): ThresholdWhen => {
  const dir = oneOf(w, ['above', 'below'] as const, ctx);
  if (!dir) return z.NEVER;
  const level = w[dir]!;
  let clear: ThresholdWhen['clear'];
  if (w.clear) {
    const back = dir === 'above' ? 'below' : 'above';
    if (w.clear[dir] !== undefined) ctx.addIssue({ code: 'custom', message: `a rule on ${dir} clears ${back} a level`, path: ['clear', dir] });
    const y = w.clear[back];
    if (y !== undefined && (dir === 'above' ? y > level : y < level)) {
      ctx.addIssue({ code: 'custom', message: `must not be ${dir} the ${dir} level (${level})`, path: ['clear', back] });
    }
    clear = { level: y, forMs: w.clear.for ?? 0 };
  }
  return { form: 'threshold', telemetry: w.telemetry, dir, level, forMs: w.for ?? 0, clear, where: w.where, during: w.during };
});

export interface RateWhen {
  form: 'rate';
  telemetry: string;
  dir: 'rise' | 'fall';
  amount: number;
  withinMs: number;
  where?: Record<string, Scalar>;
  during?: Window;
}

export const RateSchema = z
  .strictObject({
    telemetry: FieldSchema,
    rise: NumberSchema.positive('must be above 0').optional(),
    fall: NumberSchema.positive('must be above 0').optional(),
    within: durationSchema({ min: 1 }),
    where: FieldWhereSchema,
    during,
  })
  .transform((w, ctx): RateWhen => {
    const dir = oneOf(w, ['rise', 'fall'] as const, ctx);
    if (!dir) return z.NEVER;
    return { form: 'rate', telemetry: w.telemetry, dir, amount: w[dir]!, withinMs: w.within, where: w.where, during: w.during };
  });

export interface EventWhen {
  form: 'event';
  event: string;
  where?: Record<string, Scalar[]>;
  clearOn?: { event: string; where?: Record<string, Scalar[]> };
  during?: Window;
}

export const EventSchema = z
  .strictObject({
    event: FieldSchema,
    where: DetailWhereSchema,
    clearOn: z.strictObject({ event: FieldSchema, where: DetailWhereSchema }).optional(),
    during,
  })
  .transform((w): EventWhen => ({ form: 'event', ...w }));

export interface EventCountWhen {
  form: 'event-count';
  event: string;
  where?: Record<string, Scalar[]>;
  count: number;
  withinMs: number;
  per: 'device' | 'zone';
  during?: Window;
}

export const EventCountSchema = z
  .strictObject({
    event: FieldSchema,
    where: DetailWhereSchema,
    count: z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1'),
    within: durationSchema({ min: 1 }),
    per: z.enum(['device', 'zone'], { error: 'must be device or zone' }).default('device'),
    during,
  })
  .transform((w): EventCountWhen => ({ form: 'event-count', event: w.event, where: w.where, count: w.count, withinMs: w.within, per: w.per, during: w.during }));

export interface AbsentWhen {
  form: 'absent';
  absentMs: number;
  during?: Window;
}

export const AbsentSchema = z
  .strictObject({ absent: durationSchema({ min: 1 }), during })
  .transform((w): AbsentWhen => ({ form: 'absent', absentMs: w.absent, during: w.during }));

/** A part of an `all`: a plain threshold (while beyond) or an event (for `within` after it). */
export type SubWhen =
  | { form: 'threshold'; telemetry: string; dir: 'above' | 'below'; level: number; where?: Record<string, Scalar> }
  | { form: 'event'; event: string; where?: Record<string, Scalar[]> };

const SubSchema = z.unknown().transform((value, ctx): SubWhen => {
  const obj = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  if ('event' in obj) return parseInto(z.strictObject({ event: FieldSchema, where: DetailWhereSchema }), value, ctx, (w) => ({ form: 'event', ...w }));
  if ('telemetry' in obj) {
    const input = z.strictObject({ telemetry: FieldSchema, above: NumberSchema.optional(), below: NumberSchema.optional(), where: FieldWhereSchema });
    return parseInto(input, value, ctx, (w) => {
      const dir = oneOf(w, ['above', 'below'] as const, ctx);
      return dir ? { form: 'threshold', telemetry: w.telemetry, dir, level: w[dir]!, where: w.where } : z.NEVER;
    });
  }
  ctx.addIssue({ code: 'custom', message: 'must be { telemetry, above|below } or { event }' });
  return z.NEVER;
});

export interface AllWhen {
  form: 'all';
  all: SubWhen[];
  withinMs: number;
  per: 'zone';
  distinct: boolean;
  during?: Window;
}

export const AllSchema = z
  .strictObject({
    all: z.array(SubSchema, { error: 'must be a list of conditions' }).min(2, 'needs at least two conditions'),
    within: durationSchema({ min: 1 }),
    per: z.literal('zone', { error: 'must be zone' }).default('zone'),
    distinct: z.boolean({ error: 'must be true or false' }).default(false),
    during,
  })
  .transform((w): AllWhen => ({ form: 'all', all: w.all, withinMs: w.within, per: w.per, distinct: w.distinct, during: w.during }));

export interface ScheduleWhen {
  form: 'schedule';
  schedule: string;
  during?: Window;
}

export const ScheduleSchema = z
  .strictObject({
    schedule: z.string({ error: 'must be a cron expression' }).superRefine((expr, ctx) => {
      const v = cron.validateDetailed(expr);
      if (!v.valid) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(expr)} is not a cron expression: ${v.errors.map((e) => e.message).join('; ')}` });
    }),
    during,
  })
  .transform((w): ScheduleWhen => ({ form: 'schedule', schedule: w.schedule, during: w.during }));

export type When = ThresholdWhen | RateWhen | EventWhen | EventCountWhen | AbsentWhen | AllWhen | ScheduleWhen | MissingWhen | UsageWhen | ForecastWhen | AnomalyWhen;
export type WhenForm = When['form'];

/** Parses `value` with `schema`, re-reporting its issues at the current path, then maps the result. */
function parseInto<S extends z.ZodType, T>(schema: S, value: unknown, ctx: Ctx, map: (v: z.output<S>) => T): T {
  const r = schema.safeParse(value);
  if (r.success) return map(r.data);
  for (const issue of r.error.issues) ctx.addIssue(issue as Parameters<Ctx['addIssue']>[0]);
  return z.NEVER;
}

const FORMS: Array<[WhenForm, (o: Record<string, unknown>) => boolean, z.ZodType<When>]> = [
  ['all', (o) => 'all' in o, AllSchema],
  ['schedule', (o) => 'schedule' in o, ScheduleSchema],
  ['absent', (o) => 'absent' in o, AbsentSchema],
  ['usage', (o) => 'usage' in o, UsageSchema],
  ['missing', (o) => 'event' in o && 'missing' in o, MissingSchema],
  ['event-count', (o) => 'event' in o && 'count' in o, EventCountSchema],
  ['event', (o) => 'event' in o, EventSchema],
  // contract §13: before rate and threshold, which pick by `telemetry` alone.
  ['forecast', (o) => 'telemetry' in o && 'forecast' in o, ForecastSchema],
  ['anomaly', (o) => 'telemetry' in o && 'anomaly' in o, AnomalySchema],
  ['rate', (o) => 'telemetry' in o && ('rise' in o || 'fall' in o), RateSchema],
  ['threshold', (o) => 'telemetry' in o, ThresholdSchema],
];

/** Picks the form by its keys, then validates that form alone, so errors speak of the form meant. */
export const WhenSchema = z.unknown().transform((value, ctx): When => {
  const obj = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const form = obj && FORMS.find(([, test]) => test(obj));
  if (!form) {
    ctx.addIssue({ code: 'custom', message: 'must be one of { telemetry, above|below }, { telemetry, rise|fall }, { event }, { event, count }, { event, missing }, { absent }, { all }, { schedule }, { usage, every }, { telemetry, forecast, over }, { telemetry, anomaly }' });
    return z.NEVER;
  }
  return parseInto(form[2], value, ctx, (w) => w);
});

/** The telemetry fields and event types a `when` reads, with the path to report them at (`numeric`: it must be a number). */
type NameRef = { what: 'telemetry' | 'event'; name: string; path: PropertyKey[]; numeric?: true };

export function referencedNames(when: When): NameRef[] {
  switch (when.form) {
    case 'threshold':
    case 'rate':
      return [{ what: 'telemetry', name: when.telemetry, path: ['telemetry'] }, ...Object.keys(when.where ?? {}).map((k) => ({ what: 'telemetry' as const, name: k, path: ['where', k] }))];
    case 'event':
      return [{ what: 'event', name: when.event, path: ['event'] }, ...(when.clearOn ? [{ what: 'event' as const, name: when.clearOn.event, path: ['clearOn', 'event'] }] : [])];
    case 'event-count':
    case 'missing':
      return [{ what: 'event', name: when.event, path: ['event'] }];
    case 'usage':
      return [{ what: 'telemetry', name: when.usage, path: ['usage'], numeric: true }];
    case 'forecast':
    case 'anomaly':
      return [{ what: 'telemetry', name: when.telemetry, path: ['telemetry'], numeric: true }, ...Object.keys(when.where ?? {}).map((k) => ({ what: 'telemetry' as const, name: k, path: ['where', k] }))];
    case 'all':
      return when.all.flatMap((s, i): NameRef[] =>
        s.form === 'event'
          ? [{ what: 'event', name: s.event, path: ['all', i, 'event'] }]
          : [{ what: 'telemetry', name: s.telemetry, path: ['all', i, 'telemetry'] }, ...Object.keys(s.where ?? {}).map((k): NameRef => ({ what: 'telemetry', name: k, path: ['all', i, 'where', k] }))],
      );
    default:
      return [];
  }
}
