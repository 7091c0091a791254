/**
 * Life-safety alarms and how soon the desk acknowledged them: emergency calls (an sos device's `call`) and trapped
 * passengers (a lift's `passenger_trapped`), as the default rules raise them (rules/sos.yaml, rules/lift.yaml).
 */
import type { Alarm } from '../alarms/model.js';
import type { StateStore } from '../storage/state/store.js';
import type { SiteDevice } from './availability.js';
import { compare, meanMinutes, roundTo, type LifeSafetyFigures, type LifeSafetyIncident, type ReportWindow } from './model.js';

/** The alarm types counted, each with the kind of device that must have raised it (a manual alarm of the type is not). */
export const LIFE_SAFETY_ALARMS = [
  { type: 'emergency_call', kind: 'sos' },
  { type: 'passenger_trapped', kind: 'lift' },
] as const;

const MINUTE_MS = 60_000;

interface Row {
  body: string;
  acked_at: number | null;
  acked_by: string | null;
}

/** The life-safety alarms raised (firstSeen) in [from, to), with their first acknowledgement as it stands now. */
export function lifeSafetyFigures(store: StateStore, devices: SiteDevice[], w: ReportWindow): LifeSafetyFigures {
  const first = (column: string) =>
    `(SELECT t.${column} FROM alarm_transitions t WHERE t.alarm_id = a.id AND t.transition = 'acknowledged' ORDER BY t.at, t.seq LIMIT 1)`;
  const types = LIFE_SAFETY_ALARMS.map((t) => t.type);
  const rows = store.db
    .prepare(
      `SELECT a.body, ${first('at')} AS acked_at, ${first('by')} AS acked_by FROM alarms a ` +
        `WHERE a.site = ? AND a.first_seen >= ? AND a.first_seen < ? AND a.type IN (${types.map(() => '?').join(', ')})`,
    )
    .all(w.site, w.from, w.to, ...types) as Row[];
  const registered = new Map(devices.map((d) => [d.id, d]));
  const incidents: Array<LifeSafetyIncident & { ackMs: number | null }> = [];
  for (const row of rows) {
    const alarm = JSON.parse(row.body) as Alarm;
    const device = alarm.device ?? alarm.source;
    // An alarm carries the kind of its device; one raised before it did is matched by the registered device.
    const kind = alarm.kind ?? registered.get(device)?.kind;
    if (!LIFE_SAFETY_ALARMS.some((t) => t.type === alarm.type && t.kind === kind)) continue;
    const raised = Date.parse(alarm.firstSeen);
    const ackMs = row.acked_at === null ? null : row.acked_at - raised;
    incidents.push({
      type: alarm.type,
      device,
      zone: alarm.zone ?? registered.get(device)?.zone ?? null,
      raisedAt: new Date(raised).toISOString(),
      acknowledgedAt: row.acked_at === null ? null : new Date(row.acked_at).toISOString(),
      acknowledgedBy: row.acked_by,
      minutesToAck: ackMs === null ? null : roundTo(ackMs / MINUTE_MS, 1),
      ackMs,
    });
  }
  incidents.sort((a, b) => compare(a.raisedAt, b.raisedAt) || compare(a.device, b.device) || compare(a.type, b.type));
  const acked = (list: typeof incidents) => list.flatMap((i) => (i.ackMs === null ? [] : [i.ackMs]));
  return {
    meanMinutesToAck: meanMinutes(acked(incidents)),
    byType: LIFE_SAFETY_ALARMS.map(({ type }) => {
      const of = incidents.filter((i) => i.type === type);
      return { type, count: of.length, acknowledged: acked(of).length, meanMinutesToAck: meanMinutes(acked(of)) };
    }),
    incidents: incidents.map(({ ackMs: _, ...incident }) => incident),
  };
}
