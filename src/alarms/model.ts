/** Alarms as contract §4 describes them (ThingsBoard's model: one open alarm per originator and type). */
import { z } from 'zod';
import { LANGUAGES, type Language } from '../shared/language.js';
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

/** A text in every language the gateway speaks (issue 17). */
export const TextsSchema = z.strictObject(Object.fromEntries(LANGUAGES.map((l) => [l, z.string()])) as Record<Language, z.ZodString>);
export type Texts = Record<Language, string>;

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
  acknowledged: z.boolean().meta({
    description: 'whether a person acknowledged it (or cleared it by hand); a critical alarm cleared by its condition before that stays open, `state: cleared`, until acknowledged',
  }),
  source: z.string().meta({ description: 'the device id, or the zone for a zone-level alarm' }),
  device: z.string().optional(),
  kind: z.string().optional(),
  zone: z.string().optional(),
  zoneName: z.string().optional().meta({ description: "the zone's name in the site's first language, when the site file knows the zone (contract §12)" }),
  buildingName: z.string().optional().meta({ description: "the name of the zone's building in the site's first language, when known" }),
  rule: z.string().meta({ description: 'the rule that raised it, or `manual`' }),
  message: z.string().meta({ description: "the message in the site's first language (`messages[language]`)" }),
  messages: TextsSchema.optional().meta({ description: 'the message in every language, each rendered with the same values; absent on an alarm raised before the gateway spoke more than one' }),
  firstSeen: TimeSchema,
  lastSeen: TimeSchema,
  count: z.int().nonnegative().meta({ description: 'times raised while open' }),
  value: z.union([z.number(), z.string(), z.boolean()]).optional(),
  eta: TimeSchema.optional().meta({ description: 'a forecast rule: when the reading is predicted to cross its level (updated while the alarm is open)' }),
  expected: z.number().optional().meta({ description: "an anomaly rule: the device's own baseline (median) for that hour" }),
  z: z.number().optional().meta({ description: 'an anomaly rule: how far the value is from the baseline, in robust standard deviations (2 decimals)' }),
  late: z.literal(true).optional().meta({ description: 'a schedule rule that was due while the gateway was down: raised at its start, late' }),
  due: TimeSchema.optional().meta({ description: 'with `late`: when the schedule was due (the last due time missed)' }),
  ackedBy: z.string().optional(),
  ackedAt: TimeSchema.optional(),
  clearedBy: z.string().optional(),
  clearedAt: TimeSchema.optional(),
  note: z.string().optional().meta({ description: 'the note given with the last ack or clear' }),
  workOrder: z.string().optional(),
  incident: z.string().optional().meta({ description: 'the incident it belongs to: alarms of one zone or one parent raised within 5 minutes of each other' }),
  lifeSafety: z.literal(true).optional().meta({ description: 'raised by a life-safety event (fire alarm, emergency call, trapped passenger, lift alarm button): never suppressed or silenced' }),
  suppressed: z.int().nonnegative().optional().meta({ description: "how many of its descendants' offline and absent alarms it holds back while it is open" }),
  silenced: z.string().optional().meta({ description: 'the silence it was raised under: stored and listed, not published, until the silence ends' }),
  test: z.literal(true).optional().meta({ description: 'a fire alarm raised during a silence that says `fireTest: true`' }),
});
export type Alarm = z.infer<typeof AlarmSchema>;

/** The alarm JSON as a JSON Schema, for the API's OpenAPI document and its serializer. */
export const alarmJsonSchema = (() => {
  const { $schema: _drop, ...schema } = z.toJSONSchema(AlarmSchema, { io: 'output' });
  return schema;
})();

/** What raising an alarm takes; a second raise of an open (site, type, source) bumps count and lastSeen. */
export const AlarmRaiseSchema = AlarmSchema.pick({ severity: true, device: true, kind: true, zone: true, rule: true, message: true, value: true, eta: true, expected: true, z: true, late: true, due: true }).extend({
  /** The message in every language; without it `message` is the text in every language. */
  messages: TextsSchema.optional(),
  site: z.string().regex(SITE_RE, 'is not a site name'),
  type: TopicLevelSchema,
  source: TopicLevelSchema,
  /** Raise the severity to `to` when still unacknowledged `afterMs` after it was raised. */
  escalate: z.object({ afterMs: z.number().nonnegative(), to: SeveritySchema }).optional(),
  /** Epoch ms of the fact behind it (default now). */
  at: z.number().optional(),
  /** The work order this alarm belongs to (e.g. the overdue alarm of a work order). */
  workOrder: z.string().optional(),
  /** Raised by a life-safety event (§11): critical at once, never suppressed, silenced or held back. */
  lifeSafety: z.boolean().optional(),
  /**
   * An offline or absent alarm (§11 topology suppression): not raised while an ancestor of its device is down;
   * `afterMs` is its rule's own wait, counted again from the ancestor's recovery.
   */
  suppressible: z.object({ afterMs: z.number().nonnegative() }).optional(),
});
export type AlarmRaise = z.infer<typeof AlarmRaiseSchema>;

export interface AlarmKey {
  site: string;
  type: string;
  source: string;
}

/** What happened to an open alarm, as the `alarmChanged` bus event names it. */
export type AlarmChange =
  | 'bumped'
  | 'acknowledged'
  | 'escalated'
  | 'severity_changed'
  | 'linked'
  /** A critical alarm cleared but not yet acknowledged was raised again: active once more. */
  | 'reopened'
  /** The number of descendants' alarms it holds back (`suppressed`) changed. */
  | 'suppressed'
  /** The silence it was raised under ended while its condition still holds: published now. */
  | 'unsilenced'
  /** Its rule updated what it says while it holds (a forecast's `eta`): republished, not a new raise. */
  | 'updated';

/** What a rule may update on its open alarm without raising it again (contract §13: a forecast's moving eta). */
export type AlarmUpdate = Pick<AlarmRaise, 'value' | 'eta' | 'expected' | 'z'>;

/** The facts recorded in `alarm_transitions` (a bump is not one; the alarm row carries its count). */
export type AlarmTransition = 'raised' | 'acknowledged' | 'cleared' | 'escalated' | 'severity_changed' | 'reopened';

/**
 * Whether an alarm still asks for an operator (contract §11): a critical or life-safety alarm whose condition
 * cleared before anyone acknowledged it stays open, `state: cleared, acknowledged: false`, until acknowledged.
 */
export function awaitsAck(alarm: Pick<Alarm, 'state' | 'acknowledged' | 'severity' | 'lifeSafety'>): boolean {
  return alarm.state === 'cleared' && alarm.acknowledged === false && (alarm.severity === 'critical' || alarm.lifeSafety === true);
}

/** Open = active, acknowledged, or cleared awaiting acknowledgement: retained on its topic, the one alarm of its (site, type, source). */
export function isOpen(alarm: Pick<Alarm, 'state' | 'acknowledged' | 'severity' | 'lifeSafety'>): boolean {
  return alarm.state !== 'cleared' || awaitsAck(alarm);
}

/** Whether a person may acknowledge it now: it is active, or cleared and still awaiting acknowledgement. */
export function canAcknowledge(alarm: Alarm): boolean {
  return alarm.state === 'active' || awaitsAck(alarm);
}

/** True when `a` is strictly more severe than `b`. */
export function moreSevere(a: Severity, b: Severity): boolean {
  return SEVERITIES.indexOf(a) < SEVERITIES.indexOf(b);
}

/** An incident (contract §11): alarms of one site that arise together, in one zone or under one parent. */
export const IncidentSchema = z.strictObject({
  id: z.string(),
  site: z.string(),
  state: z.enum(['open', 'closed']).meta({ description: 'open while any of its alarms is' }),
  severity: z.enum(SEVERITIES).meta({ description: 'the highest severity of its alarms' }),
  lifeSafety: z.boolean().meta({ description: 'whether any of its alarms was raised by a life-safety event' }),
  zones: z.array(z.string()),
  parents: z.array(z.string()).meta({ description: 'the parent devices whose descendants it groups' }),
  firstSeen: TimeSchema,
  lastSeen: TimeSchema,
  alarms: z.array(z.string()).meta({ description: 'its alarms, oldest first' }),
  open: z.int().nonnegative().meta({ description: 'how many of its alarms are open' }),
  counts: z.record(z.string(), z.int()).meta({ description: 'its alarms by type' }),
  closedAt: TimeSchema.optional(),
});
export type Incident = z.infer<typeof IncidentSchema>;

/** A silence (contract §11): a maintenance or test window that keeps matching alarms off the topics and the console. */
const Name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

export const SilenceMatchSchema = z
  .strictObject({
    zone: Name.optional(),
    devices: z.array(Name).min(1).max(1000).optional(),
    kind: Name.optional(),
    type: Name.optional(),
  })
  .refine((m) => m.zone !== undefined || m.devices !== undefined || m.kind !== undefined || m.type !== undefined, {
    message: 'must name at least one of zone, devices, kind, type',
  });

export const SilenceSchema = z.strictObject({
  id: z.string(),
  site: z.string(),
  match: SilenceMatchSchema,
  from: TimeSchema,
  to: TimeSchema,
  reason: z.string(),
  fireTest: z.boolean().optional(),
  state: z.enum(['pending', 'active', 'ended']),
  createdBy: z.string(),
  createdAt: TimeSchema,
  endedAt: TimeSchema.optional(),
  endedBy: z.string().optional(),
});
export type Silence = z.infer<typeof SilenceSchema>;
export type SilenceMatch = z.infer<typeof SilenceMatchSchema>;
