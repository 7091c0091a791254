/**
 * Alarm-system health per local day, after ANSI/ISA-18.2 and EEMUA 191: the load on the desk (alarms per hour,
 * the busiest 10 minutes, time in flood), the alarms that cause most of it, chattering and standing alarms, and how
 * soon critical alarms were acknowledged. Everything comes from the state store's `alarms` and `alarm_transitions`.
 * The site is taken as one operator position (one desk), so "per operator-hour" is per hour of the site.
 */
import { isOpen, type Alarm } from '../alarms/model.js';
import type { StateStore } from '../storage/state/store.js';
import {
  compare,
  pct,
  roundTo,
  type AlarmHealthBenchmarks,
  type AlarmHealthDay,
  type AlarmHealthFigures,
  type AlarmSourceShare,
  type ChatteringAlarm,
  type ReportWindow,
  type StandingAlarm,
} from './model.js';
import { addDays, localDate, startOfLocalDay } from './period.js';

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * ANSI/ISA-18.2-2016, Table 5 (recommended alarm performance metrics, from EEMUA 191): about 6 alarms an hour per
 * operator is very likely acceptable and 12 the most manageable; at most 10 in any 10 minutes; a flood is more than
 * 10 in 10 minutes and should take under 1 % of the time; the ten most frequent alarms should make under 1-5 % of
 * the load; no chattering alarm (the usual test: 3 or more in a minute); fewer than 5 stale (open over 24 h) a day.
 */
export const ALARM_HEALTH_BENCHMARKS: AlarmHealthBenchmarks = {
  source: 'ANSI/ISA-18.2-2016 Table 5 (after EEMUA 191)',
  perHourAcceptable: 6,
  perHourManageable: 12,
  peakPer10MinMax: 10,
  floodAlarms: 10,
  floodWindowMinutes: 10,
  floodPctMax: 1,
  topTenSharePctMax: 5,
  chatterRaises: 3,
  chatterWindowSeconds: 60,
  chatteringMax: 0,
  standingHours: 24,
  standingFewerThan: 5,
};

const B = ALARM_HEALTH_BENCHMARKS;
const FLOOD_WINDOW_MS = B.floodWindowMinutes * MINUTE_MS;
const CHATTER_WINDOW_MS = B.chatterWindowSeconds * SECOND_MS;
const STANDING_MS = B.standingHours * HOUR_MS;
const TOP = 10;

/** One raise: an alarm raised anew (or a critical one cleared but unacknowledged raised again). */
interface Raise {
  at: number;
  type: string;
  source: string;
  /** Raised while a silence matched it: stored, not presented to the desk. */
  silenced: boolean;
}

/**
 * The health of each local day of the window begun by `w.now`; the day in progress ends at now. `timeZone` places
 * the days, as for the other figures.
 */
export function alarmHealthFigures(store: StateStore, timeZone: string, w: ReportWindow): AlarmHealthFigures {
  const end = Math.min(w.to, w.now);
  const days: Array<{ date: string; from: number; to: number }> = [];
  for (let date = localDate(w.from, timeZone), from = w.from; from < end; ) {
    const next = addDays(date, 1);
    const to = Math.min(startOfLocalDay(next, timeZone), end);
    days.push({ date, from, to });
    date = next;
    from = to;
  }
  if (days.length === 0) return { benchmarks: B, days: [] };
  // Raises early enough to fall in the first day's first windows count there too.
  const raises = loadRaises(store, w.site, w.from - Math.max(FLOOD_WINDOW_MS, CHATTER_WINDOW_MS), end);
  const shown = raises.filter((r) => !r.silenced);
  const open = loadOpenSpans(store, w.site, w.from, end);
  const critical = loadCriticalAcks(store, w.site, w.from, end);
  return {
    benchmarks: B,
    days: days.map((d): AlarmHealthDay => {
      const inDay = (at: number) => at >= d.from && at < d.to;
      const ofDay = shown.filter((r) => inDay(r.at));
      const raised = ofDay.length;
      const hours = (d.to - d.from) / HOUR_MS;
      const load = windowLoad(
        shown.filter((r) => r.at >= d.from - FLOOD_WINDOW_MS && r.at < d.to).map((r) => r.at),
        d.from,
        d.to,
        FLOOD_WINDOW_MS,
        B.floodAlarms,
      );
      const top = topSources(ofDay);
      const acks = critical.filter((c) => inDay(c.raisedAt));
      const ackMs = acks.flatMap((c) => (c.ackedAt === null ? [] : [c.ackedAt - c.raisedAt])).sort((a, b) => a - b);
      return {
        date: d.date,
        hours: roundTo(hours, 2),
        raised,
        silenced: raises.filter((r) => r.silenced && inDay(r.at)).length,
        perHour: hours === 0 ? null : roundTo(raised / hours, 1),
        peakPer10Min: load.peak,
        floodMinutes: roundTo(load.overMs / MINUTE_MS, 1),
        floodPct: pct(load.overMs, d.to - d.from),
        topSources: top,
        topTenSharePct: pct(
          top.reduce((sum, s) => sum + s.count, 0),
          raised,
        ),
        chattering: chattering(shown.filter((r) => r.at >= d.from - CHATTER_WINDOW_MS && r.at < d.to), d.from),
        standing: standingAt(open, d.to),
        criticalAck: {
          raised: acks.length,
          acknowledged: ackMs.length,
          unacknowledged: acks.length - ackMs.length,
          p50Seconds: percentileSeconds(ackMs, 50),
          p90Seconds: percentileSeconds(ackMs, 90),
        },
      };
    }),
  };
}

/**
 * The raises of the site in [from, to), oldest first. A raise is a `raised` transition (a new alarm: the one open
 * alarm of its type and source was cleared before) or a `reopened` one; a bump of an open alarm is not a raise.
 * Whether it was silenced is read from the alarm as it was at the raise (the transition's copy).
 */
function loadRaises(store: StateStore, site: string, from: number, to: number): Raise[] {
  const rows = store.db
    .prepare(
      `SELECT t.at, a.type, a.source, json_extract(t.body, '$.silenced') IS NOT NULL AS silenced
       FROM alarms a JOIN alarm_transitions t ON t.alarm_id = a.id
       WHERE a.site = ? AND a.first_seen < ? AND a.updated_at >= ? AND t.transition IN ('raised', 'reopened') AND t.at >= ? AND t.at < ?
       ORDER BY t.at, t.seq`,
    )
    .all(site, to, from, from, to) as Array<{ at: number; type: string; source: string; silenced: number }>;
  return rows.map((r) => ({ at: r.at, type: r.type, source: r.source, silenced: r.silenced === 1 }));
}

/**
 * The most alarms in any window of `windowMs` (`peak`) and the time with more than `threshold` in it (`overMs`),
 * over [start, end). `times` are raise times, sorted, from `start - windowMs` on.
 *
 * The load at instant t is the number of raises in (t - windowMs, t]: a raise counts from its instant until
 * windowMs later. So each raise adds 1 at r and takes it back at r + windowMs, and sweeping those steps in time
 * order gives the load as a step function; the time in flood is the total length of the steps above the threshold
 * (a flood starts at the raise that makes 11 in the last 10 minutes and ends when the oldest of them is 10 minutes
 * old and the count is back to 10). Steps at the same instant are applied together before the load is read.
 */
export function windowLoad(times: number[], start: number, end: number, windowMs: number, threshold: number): { peak: number; overMs: number } {
  if (end <= start) return { peak: 0, overMs: 0 };
  const steps = times.flatMap((t) => [
    { at: t, d: 1 },
    { at: t + windowMs, d: -1 },
  ]);
  steps.sort((a, b) => a.at - b.at);
  let load = 0;
  let i = 0;
  while (i < steps.length && steps[i].at <= start) load += steps[i++].d;
  let peak = load;
  let overMs = 0;
  let t = start;
  while (i < steps.length && steps[i].at < end) {
    const at = steps[i].at;
    if (load > threshold) overMs += at - t;
    t = at;
    while (i < steps.length && steps[i].at === at) load += steps[i++].d;
    peak = Math.max(peak, load);
  }
  if (load > threshold) overMs += end - t;
  return { peak, overMs };
}

const keyOf = (r: { type: string; source: string }) => `${r.type}\u0000${r.source}`;

/** The ten (type, source) raised most often, with their share of the day's raises. */
function topSources(raises: Raise[]): AlarmSourceShare[] {
  const counts = new Map<string, AlarmSourceShare>();
  for (const r of raises) {
    const s = counts.get(keyOf(r)) ?? { type: r.type, source: r.source, count: 0, sharePct: 0 };
    s.count += 1;
    counts.set(keyOf(r), s);
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || compare(a.type, b.type) || compare(a.source, b.source))
    .slice(0, TOP)
    .map((s) => ({ ...s, sharePct: pct(s.count, raises.length) ?? 0 }));
}

/**
 * The (type, source) with 3 or more raises within a minute, the third of them on the day (from `dayFrom`). Only
 * one alarm of a type and source is open at a time, so these are raises and clears in quick succession.
 * `raises` run from a minute before the day.
 */
function chattering(raises: Raise[], dayFrom: number): ChatteringAlarm[] {
  const byKey = new Map<string, Raise[]>();
  for (const r of raises) byKey.set(keyOf(r), [...(byKey.get(keyOf(r)) ?? []), r]);
  const found: ChatteringAlarm[] = [];
  for (const list of byKey.values()) {
    let most = 0;
    // For each raise in the day, the raises in the minute up to it: (at - 60 s, at].
    for (let j = 0, i = 0; j < list.length; j++) {
      while (list[i].at <= list[j].at - CHATTER_WINDOW_MS) i++;
      if (list[j].at >= dayFrom) most = Math.max(most, j - i + 1);
    }
    if (most >= B.chatterRaises) {
      const { type, source } = list[0];
      found.push({ type, source, raises: list.filter((r) => r.at >= dayFrom).length, maxPerMinute: most });
    }
  }
  return found.sort((a, b) => b.maxPerMinute - a.maxPerMinute || b.raises - a.raises || compare(a.type, b.type) || compare(a.source, b.source));
}

/** An alarm with the span it was open: from its raise until it was closed (Infinity while open now). */
interface OpenSpan {
  alarm: Alarm;
  from: number;
  until: number;
}

/**
 * The alarms of the site raised 24 h before `to` or earlier that were open at some instant from `from` on. An alarm
 * is open while not cleared, and a critical or life-safety one cleared by its condition before anyone acknowledged it
 * also until acknowledged (isOpen); so an alarm closed now closed at its last `cleared` or `acknowledged`
 * transition, whichever came later.
 */
function loadOpenSpans(store: StateStore, site: string, from: number, to: number): OpenSpan[] {
  const rows = store.db
    .prepare(
      `SELECT a.body, a.first_seen,
         (SELECT MAX(t.at) FROM alarm_transitions t WHERE t.alarm_id = a.id AND t.transition IN ('cleared', 'acknowledged')) AS closed_at
       FROM alarms a
       WHERE a.site = ? AND a.first_seen < ? AND (a.state != 'cleared' OR a.awaiting_ack = 1 OR a.severity = 'critical' OR a.updated_at >= ?)`,
    )
    .all(site, to - STANDING_MS, from) as Array<{ body: string; first_seen: number; closed_at: number | null }>;
  return rows.flatMap((row) => {
    const alarm = JSON.parse(row.body) as Alarm;
    const until = isOpen(alarm) ? Infinity : (row.closed_at ?? row.first_seen);
    return until >= from ? [{ alarm, from: row.first_seen, until }] : [];
  });
}

/** The alarms open at `instant` and open for more than 24 h by then, longest first. */
function standingAt(spans: OpenSpan[], instant: number): StandingAlarm[] {
  return spans
    .filter((s) => instant - s.from > STANDING_MS && s.until > instant)
    .sort((a, b) => a.from - b.from || compare(a.alarm.type, b.alarm.type) || compare(a.alarm.source, b.alarm.source))
    .map(({ alarm, from }) => ({
      id: alarm.id,
      type: alarm.type,
      source: alarm.source,
      severity: alarm.severity,
      firstSeen: new Date(from).toISOString(),
      hoursOpen: roundTo((instant - from) / HOUR_MS, 1),
    }));
}

/**
 * The critical alarms (severity now, after any escalation) raised in [from, to), with when a person first
 * acknowledged them: the first `acknowledged` transition, or the first transition after which the alarm says
 * `acknowledged: true` (a person's clear acknowledges too).
 */
function loadCriticalAcks(store: StateStore, site: string, from: number, to: number): Array<{ raisedAt: number; ackedAt: number | null }> {
  const rows = store.db
    .prepare(
      `SELECT a.first_seen,
         (SELECT MIN(t.at) FROM alarm_transitions t WHERE t.alarm_id = a.id
            AND (t.transition = 'acknowledged' OR json_extract(t.body, '$.acknowledged') = 1)) AS acked_at
       FROM alarms a WHERE a.site = ? AND a.severity = 'critical' AND a.first_seen >= ? AND a.first_seen < ?`,
    )
    .all(site, from, to) as Array<{ first_seen: number; acked_at: number | null }>;
  return rows.map((r) => ({ raisedAt: r.first_seen, ackedAt: r.acked_at }));
}

/** The nearest-rank percentile of sorted durations (the smallest with at least p % at or below it), in whole seconds. */
export function percentileSeconds(sortedMs: number[], p: number): number | null {
  if (sortedMs.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sortedMs.length));
  return roundTo(sortedMs[rank - 1] / SECOND_MS, 0);
}
