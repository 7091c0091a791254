/** Alarms as contract §4 describes them (ThingsBoard's model: one open alarm per originator and type). */
import { z } from 'zod';
import { SITE_RE } from '../topics.js';

/** Most severe first: the order a console sorts by and `escalate` climbs. */
export const SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** Type and source become topic levels (contract §4): no wildcards, no separators. */
const TopicLevelSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');
const SeveritySchema = z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` });
const TimeSchema = z.string().meta({ format: 'date-time' });

/**
 * The alarm JSON of contract §4, defined once: published retained, answered by the API (its OpenAPI schema is
 * derived from this one, `alarmJsonSchema`), stored, and the base of what a raise takes.
 */
export const AlarmSchema = z.strictObject({
  id: z.string(),
  site: z.string(),
  type: z.string(),
  severity: SeveritySchema,
  state: z.enum(ALARM_STATES),
  source: z.string().meta({ description: 'the device id, or the zone for a zone-level alarm' }),
  device: z.string().optional(),
  kind: z.string().optional(),
  zone: z.string().optional(),
  rule: z.string().meta({ description: 'the rule that raised it, or `manual`' }),
  message: z.string(),
  firstSeen: TimeSchema,
  lastSeen: TimeSchema,
  count: z.int().nonnegative().meta({ description: 'times raised while open' }),
  value: z.union([z.number(), z.string(), z.boolean()]).optional(),
  ackedBy: z.string().optional(),
  ackedAt: TimeSchema.optional(),
  clearedBy: z.string().optional(),
  clearedAt: TimeSchema.optional(),
  note: z.string().optional().meta({ description: 'the note given with the last ack or clear' }),
  workOrder: z.string().optional(),
});
export type Alarm = z.infer<typeof AlarmSchema>;

/** The alarm JSON as a JSON Schema, for the API's OpenAPI document and its serializer. */
export const alarmJsonSchema = (() => {
  const { $schema: _drop, ...schema } = z.toJSONSchema(AlarmSchema, { io: 'output' });
  return schema;
})();

/** What raising an alarm takes; a second raise of an open (site, type, source) bumps count and lastSeen. */
export const AlarmRaiseSchema = AlarmSchema.pick({ severity: true, device: true, kind: true, zone: true, rule: true, message: true, value: true }).extend({
  site: z.string().regex(SITE_RE, 'is not a site name'),
  type: TopicLevelSchema,
  source: TopicLevelSchema,
  /** Raise the severity to `to` when still unacknowledged `afterMs` after it was raised. */
  escalate: z.object({ afterMs: z.number().nonnegative(), to: SeveritySchema }).optional(),
  /** Epoch ms of the fact behind it (default now). */
  at: z.number().optional(),
  /** The work order this alarm belongs to (e.g. the overdue alarm of a work order). */
  workOrder: z.string().optional(),
});
export type AlarmRaise = z.infer<typeof AlarmRaiseSchema>;

export interface AlarmKey {
  site: string;
  type: string;
  source: string;
}

/** What happened to an open alarm, as the `alarmChanged` bus event names it. */
export type AlarmChange = 'bumped' | 'acknowledged' | 'escalated' | 'severity_changed' | 'linked';

/** The facts recorded in `alarm_transitions` (a bump is not one; the alarm row carries its count). */
export type AlarmTransition = 'raised' | 'acknowledged' | 'cleared' | 'escalated' | 'severity_changed';

/** Operations on an alarm, and the states each may start from (ThingsBoard: ack and clear are separate facts). */
export const ALARM_OPERATIONS: Readonly<Record<'ack' | 'clear', readonly AlarmState[]>> = {
  ack: ['active'],
  clear: ['active', 'acknowledged'],
};

export function canOperate(op: keyof typeof ALARM_OPERATIONS, state: AlarmState): boolean {
  return ALARM_OPERATIONS[op].includes(state);
}

/** Open = active or acknowledged: retained on its topic, and the one alarm of its (site, type, source). */
export function isOpen(state: AlarmState): boolean {
  return state !== 'cleared';
}

/** True when `a` is strictly more severe than `b`. */
export function moreSevere(a: Severity, b: Severity): boolean {
  return SEVERITIES.indexOf(a) < SEVERITIES.indexOf(b);
}
