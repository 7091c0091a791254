/** Alarms as contract §4 describes them (ThingsBoard's model: one open alarm per originator and type). */

/** Most severe first: the order a console sorts by and `escalate` climbs. */
export const SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** The alarm JSON of contract §4 (published retained, answered by the API, stored). */
export interface Alarm {
  id: string;
  site: string;
  type: string;
  severity: Severity;
  state: AlarmState;
  /** The device id, or the zone for a zone-level alarm. */
  source: string;
  device?: string;
  kind?: string;
  zone?: string;
  /** The rule that raised it, or `manual`. */
  rule: string;
  message: string;
  /** ISO-8601. */
  firstSeen: string;
  lastSeen: string;
  /** Times raised while open. */
  count: number;
  value?: number | string | boolean;
  ackedBy?: string;
  ackedAt?: string;
  clearedBy?: string;
  clearedAt?: string;
  /** The note given with the last ack or clear. */
  note?: string;
  workOrder?: string;
}

/** What raising an alarm needs; a second raise of an open (site, type, source) bumps count and lastSeen. */
export interface AlarmRaise {
  site: string;
  type: string;
  severity: Severity;
  source: string;
  device?: string;
  kind?: string;
  zone?: string;
  rule: string;
  message: string;
  value?: number | string | boolean;
  /** Raise the severity to `to` when still unacknowledged `afterMs` after it was raised. */
  escalate?: { afterMs: number; to: Severity };
  /** Epoch ms of the fact behind it (default now). */
  at?: number;
  /** The work order this alarm belongs to (e.g. the overdue alarm of a work order). */
  workOrder?: string;
}

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
