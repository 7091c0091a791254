import type { FastifyInstance } from 'fastify';
import { SEVERITIES } from '../../alarms/model.js';
import { serviceReportCsv } from '../../reports/csv.js';
import { PERIODS, type Period } from '../../reports/period.js';
import type { ServiceReports } from '../../reports/service-report.js';
import { SITE_RE } from '../../topics.js';
import { assertVisible } from '../plugins/auth.js';
import { errorResponses } from './schemas.js';

export interface ReportRouteDeps {
  reports: ServiceReports;
}

const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const numOrNull = { type: ['number', 'null'] } as const;
const hour = { type: 'integer', minimum: 0, maximum: 23 } as const;
const str = { type: 'string' } as const;
const strOrNull = { type: ['string', 'null'] } as const;
const date = { type: 'string', format: 'date' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const dateTimeOrNull = { type: ['string', 'null'], format: 'date-time' } as const;

/** An object schema whose every property is required. */
function record<P extends Record<string, unknown>>(properties: P) {
  return { type: 'object', required: Object.keys(properties), properties } as const;
}
const list = <T>(items: T) => ({ type: 'array', items }) as const;

/** The report JSON (docs/reports.md); the console relies on this shape. */
export const serviceReportSchema = record({
  site: str,
  period: { type: 'string', enum: [...PERIODS] },
  start: { type: 'string', format: 'date' },
  from: { type: 'string', format: 'date-time' },
  to: { type: 'string', format: 'date-time' },
  timeZone: str,
  generatedAt: { type: 'string', format: 'date-time' },
  alarms: record({
    raised: int,
    acknowledged: int,
    cleared: int,
    meanTimeToAckMinutes: numOrNull,
    meanTimeToClearMinutes: numOrNull,
    byType: list(record({ type: str, count: int })),
    bySeverity: list(record({ severity: { type: 'string', enum: [...SEVERITIES] }, count: int })),
    byTypeAndSeverity: list(record({ type: str, severity: { type: 'string', enum: [...SEVERITIES] }, count: int })),
  }),
  workOrders: record({
    opened: int,
    resolved: int,
    overdue: int,
    meanTimeToResolveMinutes: numOrNull,
    slaCompliancePct: numOrNull,
    byCategory: list(
      record({
        category: str,
        opened: int,
        resolved: int,
        overdue: int,
        meanTimeToResolveMinutes: numOrNull,
        withinSla: int,
        slaCompliancePct: numOrNull,
      }),
    ),
  }),
  energy: record({ totalKwh: num, byBuildingDay: list(record({ building: str, date: { type: 'string', format: 'date' }, kwh: num })) }),
  energyUse: (() => {
    const use = list({
      type: 'object',
      required: ['building', 'names', 'unit', 'consumption', 'previous', 'changePct'],
      properties: { building: str, names: record({ 'zh-CN': str, en: str }), unit: str, consumption: num, previous: num, changePct: numOrNull, cost: num },
    });
    return record({ energy: use, water: use });
  })(),
  parking: record({ byHour: list(record({ hour, occupancyPct: numOrNull })) }),
  access: record({ granted: int, denied: int, byHour: list(record({ hour, granted: int, denied: int })) }),
  availability: record({
    pct: numOrNull,
    byKind: list(record({ kind: str, devices: int, pct: num })),
    devices: list(record({ device: str, kind: str, zone: str, pct: num })),
  }),
  patrol: record({
    scansDue: int,
    scansMade: int,
    completionPct: numOrNull,
    nights: list(
      record({
        route: str,
        night: date,
        checkpoints: int,
        scansDue: int,
        scansMade: int,
        completionPct: numOrNull,
        missed: list(record({ device: str, zone: str, rounds: list(int) })),
      }),
    ),
  }),
  lifts: record({
    availabilityPct: numOrNull,
    devices: list(record({ device: str, zone: str, availabilityPct: num, trips: num, trapped: int, trappedAt: list(dateTime) })),
  }),
  pumps: record({ devices: list(record({ device: str, zone: str, runHours: num, starts: num, dryRuns: int, pumpFaults: int })) }),
  lifeSafety: record({
    meanMinutesToAck: numOrNull,
    byType: list(record({ type: str, count: int, acknowledged: int, meanMinutesToAck: numOrNull })),
    incidents: list(
      record({
        type: str,
        device: str,
        zone: strOrNull,
        raisedAt: dateTime,
        acknowledgedAt: dateTimeOrNull,
        acknowledgedBy: strOrNull,
        minutesToAck: numOrNull,
      }),
    ),
  }),
  alarmHealth: record({
    benchmarks: record({
      source: str,
      perHourAcceptable: num,
      perHourManageable: num,
      peakPer10MinMax: int,
      floodAlarms: int,
      floodWindowMinutes: int,
      floodPctMax: num,
      topTenSharePctMax: num,
      chatterRaises: int,
      chatterWindowSeconds: int,
      chatteringMax: int,
      standingHours: int,
      standingFewerThan: int,
    }),
    days: list(
      record({
        date,
        hours: num,
        raised: int,
        silenced: int,
        perHour: numOrNull,
        peakPer10Min: int,
        floodMinutes: num,
        floodPct: numOrNull,
        topSources: list(record({ type: str, source: str, count: int, sharePct: num })),
        topTenSharePct: numOrNull,
        chattering: list(record({ type: str, source: str, raises: int, maxPerMinute: int })),
        standing: list(
          record({ id: str, type: str, source: str, severity: { type: 'string', enum: [...SEVERITIES] }, firstSeen: dateTime, hoursOpen: num }),
        ),
        criticalAck: record({ raised: int, acknowledged: int, unacknowledged: int, p50Seconds: numOrNull, p90Seconds: numOrNull }),
      }),
    ),
  }),
});

interface ReportQuery {
  site: string;
  period: Period;
  start?: string;
  format: 'json' | 'csv';
}

/** Service reports per site and period, as JSON or CSV; an operator only of their own sites. */
export function reportRoutes(app: FastifyInstance, deps: ReportRouteDeps): void {
  app.get<{ Querystring: ReportQuery }>(
    '/api/reports/service',
    {
      schema: {
        tags: ['reports'],
        summary: 'The service report of a site over a local day, week (from Monday) or month (from the 1st)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['site', 'period'],
          properties: {
            site: { type: 'string', pattern: SITE_RE.source },
            period: { type: 'string', enum: [...PERIODS] },
            start: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'YYYY-MM-DD, local; default: the start of the current period' },
            format: { type: 'string', enum: ['json', 'csv'], default: 'json' },
          },
        },
        response: {
          200: {
            description: 'The report: JSON, or CSV in long format (`section,key1,key2,metric,value`) as an attachment',
            content: { 'application/json': { schema: serviceReportSchema }, 'text/csv': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { site, period, start, format } = request.query;
      // Another site's figures do not exist for an operator, as its alarms and devices do not.
      assertVisible(request, site, 'site', site);
      const report = await deps.reports.build(site, period, start);
      if (format === 'json') return report;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${report.site}-${report.period}-${report.start}.csv"`)
        .send(serviceReportCsv(report));
    },
  );
}
