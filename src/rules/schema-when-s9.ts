/**
 * The `when` forms contract §9 adds (issue 14): `{ event, missing, per? }` (an event that stopped coming, e.g.
 * a guard-tour checkpoint not scanned) and `{ usage, every }` (usage-based maintenance on a cumulative field).
 * Kept apart from schema-when.ts, which picks the form by its keys and reads their names.
 */
import { z } from 'zod';
import { durationSchema, WindowSchema, type Window } from './schema-parts.js';

const FieldSchema = z.string({ error: 'must be a field name' }).min(1, 'must not be empty');

export interface MissingWhen {
  form: 'missing';
  event: string;
  /** No `event` for this long (only time inside `during` counts) and the condition holds. */
  missingMs: number;
  per: 'device';
  during?: Window;
}

export const MissingSchema = z
  .strictObject({
    event: FieldSchema,
    missing: durationSchema({ min: 1 }),
    // contract §9: the source is the device; `per` is there to be explicit, not to choose.
    per: z.literal('device', { error: 'must be device' }).default('device'),
    during: WindowSchema.optional(),
  })
  .transform((w): MissingWhen => ({ form: 'missing', event: w.event, missingMs: w.missing, per: w.per, during: w.during }));

export interface UsageWhen {
  form: 'usage';
  /** A cumulative numeric telemetry field (`runHours`, `trips`, `starts`, `volumeM3`, `energyKwh`). */
  usage: string;
  every: number;
  during?: Window;
}

export const UsageSchema = z
  .strictObject({
    usage: FieldSchema,
    // zod 4 refuses ±Infinity as a number, and parseRule refuses a non-finite anywhere first.
    every: z.number({ error: 'must be a number' }).positive('must be above 0'),
    during: WindowSchema.optional(),
  })
  .transform((w): UsageWhen => ({ form: 'usage', usage: w.usage, every: w.every, during: w.during }));
