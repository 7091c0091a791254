/** Which notify entries an alarm concerns, and whether it still waits for a person (pure functions). */
import { canAcknowledge, type Alarm, type Severity } from '../alarms/model.js';
import type { NotifyEntry } from './site-channels.js';

/** Every field the entry's `match` lists holds for the alarm (`severity` may be given in place of the alarm's). */
export function matches(entry: NotifyEntry, alarm: Alarm, severity: Severity = alarm.severity): boolean {
  const m = entry.match;
  if (m.severity && !m.severity.includes(severity)) return false;
  if (m.type && !m.type.includes(alarm.type)) return false;
  if (m.kind && !(alarm.kind !== undefined && m.kind.includes(alarm.kind))) return false;
  if (m.zone && !(alarm.zone !== undefined && m.zone.includes(alarm.zone))) return false;
  return true;
}

/**
 * Nobody has acknowledged it and it still asks for someone: active, or a critical or life-safety alarm its
 * condition cleared before anyone acknowledged it (it stays open until acknowledged, contract §11).
 */
export function awaitingAck(alarm: Alarm): boolean {
  return canAcknowledge(alarm);
}

/** A silence holds its notifications as it holds its publishes; nothing holds a life-safety alarm. */
export function held(alarm: Alarm): boolean {
  return alarm.silenced !== undefined && alarm.lifeSafety !== true;
}

/** The channel ids of the entries (without `after`) that match, each once, in order. */
export function immediateChannels(entries: readonly NotifyEntry[], alarm: Alarm, severity?: Severity): string[] {
  const ids = new Set<string>();
  for (const e of entries) if (e.after === undefined && matches(e, alarm, severity)) for (const c of e.channels) ids.add(c);
  return [...ids];
}
