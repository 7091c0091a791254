import { SEVERITIES, type Alarm, type Severity } from '../alarms/model.js';
import type { StateStore } from '../storage/state/store.js';
import { compare, meanMinutes, type AlarmFigures, type ReportWindow } from './model.js';

interface AlarmRow {
  body: string;
  acked_at: number | null;
  cleared_at: number | null;
}

/**
 * The alarms raised (firstSeen) in [from, to), as they stand now: acknowledged and cleared whenever that
 * happened, with the severity they have now (after any escalation). The first acknowledgement and the
 * clearing come from `alarm_transitions`, the record of what happened when.
 */
export function alarmFigures(store: StateStore, w: ReportWindow): AlarmFigures {
  const rows = store.db
    .prepare(
      `SELECT a.body,
         (SELECT MIN(t.at) FROM alarm_transitions t WHERE t.alarm_id = a.id AND t.transition = 'acknowledged') AS acked_at,
         (SELECT MIN(t.at) FROM alarm_transitions t WHERE t.alarm_id = a.id AND t.transition = 'cleared') AS cleared_at
       FROM alarms a WHERE a.site = ? AND a.first_seen >= ? AND a.first_seen < ?`,
    )
    .all(w.site, w.from, w.to) as AlarmRow[];
  const toAck: number[] = [];
  const toClear: number[] = [];
  const byType = new Map<string, number>();
  const bySeverity = new Map<Severity, number>();
  const byPair = new Map<string, { type: string; severity: Severity; count: number }>();
  for (const row of rows) {
    const alarm = JSON.parse(row.body) as Alarm;
    const raised = Date.parse(alarm.firstSeen);
    if (row.acked_at !== null) toAck.push(row.acked_at - raised);
    if (row.cleared_at !== null) toClear.push(row.cleared_at - raised);
    byType.set(alarm.type, (byType.get(alarm.type) ?? 0) + 1);
    bySeverity.set(alarm.severity, (bySeverity.get(alarm.severity) ?? 0) + 1);
    const key = `${alarm.type}\u0000${alarm.severity}`;
    const pair = byPair.get(key) ?? { type: alarm.type, severity: alarm.severity, count: 0 };
    pair.count += 1;
    byPair.set(key, pair);
  }
  const rank = (s: Severity) => SEVERITIES.indexOf(s);
  return {
    raised: rows.length,
    acknowledged: toAck.length,
    cleared: toClear.length,
    meanTimeToAckMinutes: meanMinutes(toAck),
    meanTimeToClearMinutes: meanMinutes(toClear),
    // Most frequent first, then by name.
    byType: [...byType]
      .map(([type, count]) => ({ type, count }))
      .sort((a, b) => b.count - a.count || compare(a.type, b.type)),
    bySeverity: SEVERITIES.map((severity) => ({ severity, count: bySeverity.get(severity) ?? 0 })),
    byTypeAndSeverity: [...byPair.values()].sort((a, b) => compare(a.type, b.type) || rank(a.severity) - rank(b.severity)),
  };
}
