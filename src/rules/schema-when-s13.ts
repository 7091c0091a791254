/**
 * The `when` forms contract §13 adds (issue 18): `{ telemetry, forecast: { above|below, within }, over }` (a
 * least-squares line predicts a crossing) and `{ telemetry, anomaly: { baseline, by, z }, for? }` (a reading far
 * from the device's own median for that hour). Kept apart from schema-when.ts, which picks the form by its keys.
 */
import { formatDuration } from '../config/duration.js';
import { z } from 'zod';
import { durationSchema, ScalarSchema, WindowSchema, type Scalar, type Window } from './schema-parts.js';

const FieldSchema = z.string({ error: 'must be a field name' }).min(1, 'must not be empty');
const NumberSchema = z.number({ error: 'must be a number' });
const FieldWhereSchema = z.record(z.string(), ScalarSchema).optional();

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Bounds of `over` and `within`: shorter says nothing about a trend, longer outlives any sensor's drift. */
export const FORECAST_LIMITS = { minOverMs: MINUTE, maxOverMs: 30 * DAY, minWithinMs: MINUTE, maxWithinMs: 60 * DAY, maxWithinPerOver: 10 } as const;

export interface ForecastWhen {
  form: 'forecast';
  telemetry: string;
  dir: 'above' | 'below';
  level: number;
  /** The horizon: holds while the predicted crossing is at most this far after the latest reading. */
  withinMs: number;
  /** The line is fitted through the readings of this last stretch (by the readings' own timestamps). */
  overMs: number;
  where?: Record<string, Scalar>;
  during?: Window;
}

const tooLong = (max: number) => `must be at most ${formatDuration(max)}`;

export const ForecastSchema = z
  .strictObject({
    telemetry: FieldSchema,
    forecast: z.strictObject(
      {
        above: NumberSchema.optional(),
        below: NumberSchema.optional(),
        within: durationSchema({ min: FORECAST_LIMITS.minWithinMs }).refine((ms) => ms <= FORECAST_LIMITS.maxWithinMs, tooLong(FORECAST_LIMITS.maxWithinMs)),
      },
      { error: 'must be { above or below: a level, within: a duration }' },
    ),
    over: durationSchema({ min: FORECAST_LIMITS.minOverMs }).refine((ms) => ms <= FORECAST_LIMITS.maxOverMs, tooLong(FORECAST_LIMITS.maxOverMs)),
    where: FieldWhereSchema,
    during: WindowSchema.optional(),
  })
  .transform((w, ctx): ForecastWhen => {
    const { above, below, within } = w.forecast;
    if ((above === undefined) === (below === undefined)) {
      ctx.addIssue({ code: 'custom', message: above === undefined ? 'needs one of above or below' : 'takes only one of above or below', path: ['forecast'] });
      return z.NEVER;
    }
    if (within > w.over * FORECAST_LIMITS.maxWithinPerOver) {
      const ratio = FORECAST_LIMITS.maxWithinPerOver;
      ctx.addIssue({ code: 'custom', message: `must be at most ${ratio} times over (${formatDuration(w.over)}): a line through a short stretch says little about far ahead`, path: ['forecast', 'within'] });
      return z.NEVER;
    }
    const dir = above !== undefined ? 'above' : 'below';
    return { form: 'forecast', telemetry: w.telemetry, dir, level: (above ?? below)!, withinMs: within, overMs: w.over, where: w.where, during: w.during };
  });

export const ANOMALY_BY = ['hourOfDay', 'hourOfWeek', 'none'] as const;
export type AnomalyBy = (typeof ANOMALY_BY)[number];

/**
 * The occurrence a slot's history is counted in: a day for hours of the day (and for `none`), a week for hours
 * of the week. contract §13: no alarm before a slot holds 3 of them, so a baseline shorter than 3 never alarms;
 * longer than the maximum would need more memory per slot than the bounded baseline keeps.
 */
export const ANOMALY_PERIOD: Record<AnomalyBy, { ms: number; min: number; max: number; unit: string }> = {
  hourOfDay: { ms: DAY, min: 3, max: 60, unit: 'days' },
  hourOfWeek: { ms: WEEK, min: 3, max: 52, unit: 'weeks' },
  none: { ms: DAY, min: 3, max: 60, unit: 'days' },
};

export interface AnomalyWhen {
  form: 'anomaly';
  telemetry: string;
  baselineMs: number;
  by: AnomalyBy;
  /** Holds when |robust z| is above this. */
  z: number;
  /** And has been for this long (0: at once). */
  forMs: number;
  where?: Record<string, Scalar>;
  during?: Window;
}

export const AnomalySchema = z
  .strictObject({
    telemetry: FieldSchema,
    anomaly: z.strictObject(
      {
        baseline: durationSchema({ min: 1 }),
        by: z.enum(ANOMALY_BY, { error: `must be one of ${ANOMALY_BY.join(', ')}` }),
        z: NumberSchema.min(1, 'must be at least 1: below that most readings would be anomalies').max(100, 'must be at most 100'),
      },
      { error: 'must be { baseline: a duration, by: hourOfDay, hourOfWeek or none, z: a number }' },
    ),
    for: durationSchema().optional(),
    where: FieldWhereSchema,
    during: WindowSchema.optional(),
  })
  .transform((w, ctx): AnomalyWhen => {
    const { baseline, by, z: k } = w.anomaly;
    const p = ANOMALY_PERIOD[by];
    if (baseline < p.min * p.ms || baseline > p.max * p.ms) {
      const min = formatDuration(p.min * p.ms);
      const max = formatDuration(p.max * p.ms);
      ctx.addIssue({
        code: 'custom',
        message: `must be from ${min} to ${max} for by: ${by}: no alarm comes before the baseline holds ${p.min} ${p.unit} of each slot, and at most ${p.max} ${p.unit} are kept`,
        path: ['anomaly', 'baseline'],
      });
      return z.NEVER;
    }
    return { form: 'anomaly', telemetry: w.telemetry, baselineMs: baseline, by, z: k, forMs: w.for ?? 0, where: w.where, during: w.during };
  });
