/**
 * A service report as CSV in long format: one header `section,key1,key2,metric,value` and one row per
 * figure, RFC 4180 (CRLF line ends, a field quoted when it holds a comma, quote, CR or LF). Null is an
 * empty cell.
 */
import type { ServiceReport } from './model.js';

export const CSV_HEADER = ['section', 'key1', 'key2', 'metric', 'value'] as const;

type Cell = string | number | null;
type CsvRow = [section: string, key1: Cell, key2: Cell, metric: string, value: Cell];

const NEEDS_QUOTES = /[",\r\n]/;

/** One RFC 4180 field: quoted, with its quotes doubled, when it holds `"`, `,`, CR or LF. */
export function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows of fields as RFC 4180 text, each line ended by CRLF. */
export function csvText(rows: ReadonlyArray<readonly Cell[]>): string {
  return rows.map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}

/** The report in long format (docs/reports.md lists the rows). */
export function serviceReportCsv(r: ServiceReport): string {
  return csvText([CSV_HEADER, ...reportRows(r)]);
}

function reportRows(r: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const key of ['site', 'period', 'start', 'from', 'to', 'timeZone', 'generatedAt'] as const) rows.push(['report', null, null, key, r[key]]);
  const a = r.alarms;
  for (const metric of ['raised', 'acknowledged', 'cleared', 'meanTimeToAckMinutes', 'meanTimeToClearMinutes'] as const) {
    rows.push(['alarms', null, null, metric, a[metric]]);
  }
  for (const t of a.byType) rows.push(['alarms', t.type, null, 'count', t.count]);
  for (const s of a.bySeverity) rows.push(['alarms', null, s.severity, 'count', s.count]);
  for (const p of a.byTypeAndSeverity) rows.push(['alarms', p.type, p.severity, 'count', p.count]);
  const wo = r.workOrders;
  for (const metric of ['opened', 'resolved', 'overdue', 'meanTimeToResolveMinutes', 'slaCompliancePct'] as const) {
    rows.push(['workOrders', null, null, metric, wo[metric]]);
  }
  for (const c of wo.byCategory) {
    for (const metric of ['opened', 'resolved', 'overdue', 'meanTimeToResolveMinutes', 'withinSla', 'slaCompliancePct'] as const) {
      rows.push(['workOrders', c.category, null, metric, c[metric]]);
    }
  }
  rows.push(['energy', null, null, 'totalKwh', r.energy.totalKwh]);
  for (const e of r.energy.byBuildingDay) rows.push(['energy', e.building, e.date, 'kwh', e.kwh]);
  rows.push(...energyUseRows(r));
  for (const p of r.parking.byHour) rows.push(['parking', p.hour, null, 'occupancyPct', p.occupancyPct]);
  rows.push(['access', null, null, 'granted', r.access.granted], ['access', null, null, 'denied', r.access.denied]);
  for (const h of r.access.byHour) rows.push(['access', h.hour, null, 'granted', h.granted], ['access', h.hour, null, 'denied', h.denied]);
  rows.push(['availability', null, null, 'pct', r.availability.pct]);
  for (const k of r.availability.byKind) rows.push(['availability', k.kind, null, 'devices', k.devices], ['availability', k.kind, null, 'pct', k.pct]);
  for (const d of r.availability.devices) rows.push(['availability', d.kind, d.device, 'pct', d.pct]);
  return [...rows, ...patrolRows(r), ...liftRows(r), ...pumpRows(r), ...lifeSafetyRows(r), ...alarmHealthRows(r)];
}

/** Per kind and building: its use, the period before's, the change and (energy, with a tariff) the cost. */
function energyUseRows({ energyUse }: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const kind of ['energy', 'water'] as const) {
    for (const b of energyUse[kind]) {
      rows.push(['energyUse', kind, b.building, 'consumption', b.consumption], ['energyUse', kind, b.building, 'previous', b.previous], ['energyUse', kind, b.building, 'changePct', b.changePct]);
      if (b.cost !== undefined) rows.push(['energyUse', kind, b.building, 'cost', b.cost]);
    }
  }
  return rows;
}

/** Totals; per route and night; one row per missed round, keyed by night and checkpoint (a checkpoint has one route). */
function patrolRows({ patrol: p }: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const metric of ['scansDue', 'scansMade', 'completionPct'] as const) rows.push(['patrol', null, null, metric, p[metric]]);
  for (const n of p.nights) {
    for (const metric of ['checkpoints', 'scansDue', 'scansMade', 'completionPct'] as const) rows.push(['patrol', n.route, n.night, metric, n[metric]]);
  }
  for (const n of p.nights) for (const m of n.missed) for (const round of m.rounds) rows.push(['patrol', n.night, m.device, 'missedRound', round]);
  return rows;
}

/** The site's figure, then per lift, then one row per trapped-passenger event. */
function liftRows({ lifts }: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [['lifts', null, null, 'availabilityPct', lifts.availabilityPct]];
  for (const l of lifts.devices) {
    for (const metric of ['availabilityPct', 'trips', 'trapped'] as const) rows.push(['lifts', l.device, null, metric, l[metric]]);
  }
  for (const l of lifts.devices) for (const at of l.trappedAt) rows.push(['lifts', l.device, null, 'trappedAt', at]);
  return rows;
}

/** Per water device. */
function pumpRows({ pumps }: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const p of pumps.devices) {
    for (const metric of ['runHours', 'starts', 'dryRuns', 'pumpFaults'] as const) rows.push(['pumps', p.device, null, metric, p[metric]]);
  }
  return rows;
}

/** The mean; per type; per incident, keyed by device and raisedAt (one open alarm per device and type at a time). */
function lifeSafetyRows({ lifeSafety: s }: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [['lifeSafety', null, null, 'meanMinutesToAck', s.meanMinutesToAck]];
  for (const t of s.byType) {
    for (const metric of ['count', 'acknowledged', 'meanMinutesToAck'] as const) rows.push(['lifeSafety', t.type, null, metric, t[metric]]);
  }
  for (const i of s.incidents) {
    for (const metric of ['type', 'acknowledgedAt', 'acknowledgedBy', 'minutesToAck'] as const) rows.push(['lifeSafety', i.device, i.raisedAt, metric, i[metric]]);
  }
  return rows;
}

/**
 * The benchmarks (key1 `benchmark`); per day (key1 the date) its figures; then per alarm, keyed by date and
 * `type/source` (neither holds a `/`): the ten most frequent, the chattering and the standing alarms.
 */
function alarmHealthRows({ alarmHealth: h }: ServiceReport): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const [metric, value] of Object.entries(h.benchmarks)) rows.push(['alarmHealth', 'benchmark', null, metric, value]);
  for (const d of h.days) {
    for (const metric of ['hours', 'raised', 'silenced', 'perHour', 'peakPer10Min', 'floodMinutes', 'floodPct', 'topTenSharePct'] as const) {
      rows.push(['alarmHealth', d.date, null, metric, d[metric]]);
    }
    const c = d.criticalAck;
    rows.push(
      ['alarmHealth', d.date, null, 'criticalRaised', c.raised],
      ['alarmHealth', d.date, null, 'criticalAcknowledged', c.acknowledged],
      ['alarmHealth', d.date, null, 'criticalUnacknowledged', c.unacknowledged],
      ['alarmHealth', d.date, null, 'criticalAckP50Seconds', c.p50Seconds],
      ['alarmHealth', d.date, null, 'criticalAckP90Seconds', c.p90Seconds],
    );
    for (const s of d.topSources) rows.push(['alarmHealth', d.date, `${s.type}/${s.source}`, 'topCount', s.count], ['alarmHealth', d.date, `${s.type}/${s.source}`, 'topSharePct', s.sharePct]);
    for (const s of d.chattering) {
      rows.push(['alarmHealth', d.date, `${s.type}/${s.source}`, 'chatterRaises', s.raises], ['alarmHealth', d.date, `${s.type}/${s.source}`, 'chatterMaxPerMinute', s.maxPerMinute]);
    }
    for (const s of d.standing) {
      rows.push(['alarmHealth', d.date, `${s.type}/${s.source}`, 'standingSince', s.firstSeen], ['alarmHealth', d.date, `${s.type}/${s.source}`, 'standingHours', s.hoursOpen]);
    }
  }
  return rows;
}
