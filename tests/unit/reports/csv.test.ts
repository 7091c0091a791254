import { describe, expect, it } from 'vitest';
import { csvField, csvText, serviceReportCsv } from '../../../src/reports/csv.js';
import { ALARM_HEALTH_BENCHMARKS } from '../../../src/reports/alarm-health-figures.js';
import type { ServiceReport } from '../../../src/reports/model.js';

describe('CSV fields (RFC 4180)', () => {
  it('leaves a plain field as it is and writes null as an empty cell', () => {
    expect(csvField('fire_alarm')).toBe('fire_alarm');
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(0)).toBe('0');
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('');
  });

  it('quotes a field holding a comma, a quote, CR or LF, doubling its quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\rhere')).toBe('"cr\rhere"');
    expect(csvField('"')).toBe('""""');
  });

  it('ends every line with CRLF', () => {
    expect(csvText([['a', 1, null], ['b,c', 2, 'x']])).toBe('a,1,\r\n"b,c",2,x\r\n');
  });
});

const hours = <T>(f: (hour: number) => T) => Array.from({ length: 24 }, (_, hour) => f(hour));

const REPORT: ServiceReport = {
  site: 'maple-court',
  period: 'day',
  start: '2026-11-03',
  from: '2026-11-02T16:00:00.000Z',
  to: '2026-11-03T16:00:00.000Z',
  timeZone: 'Asia/Shanghai',
  generatedAt: '2026-11-04T01:00:00.000Z',
  alarms: {
    raised: 3,
    acknowledged: 1,
    cleared: 0,
    meanTimeToAckMinutes: 4.5,
    meanTimeToClearMinutes: null,
    byType: [{ type: 'fire_alarm', count: 3 }],
    bySeverity: [
      { severity: 'critical', count: 3 },
      { severity: 'major', count: 0 },
      { severity: 'minor', count: 0 },
      { severity: 'warning', count: 0 },
    ],
    byTypeAndSeverity: [{ type: 'fire_alarm', severity: 'critical', count: 3 }],
  },
  workOrders: {
    opened: 4,
    resolved: 4,
    overdue: 0,
    meanTimeToResolveMinutes: 30,
    slaCompliancePct: 75,
    byCategory: [{ category: 'electrical', opened: 4, resolved: 4, overdue: 0, meanTimeToResolveMinutes: 30, withinSla: 3, slaCompliancePct: 75 }],
  },
  energy: { totalKwh: 12.5, byBuildingDay: [{ building: 'tower "A", east', date: '2026-11-03', kwh: 12.5 }] },
  energyUse: { energy: [], water: [] },
  parking: { byHour: hours((hour) => ({ hour, occupancyPct: hour === 8 ? 55.2 : null })) },
  access: { granted: 2, denied: 0, byHour: hours((hour) => ({ hour, granted: hour === 7 ? 2 : 0, denied: 0 })) },
  availability: {
    pct: 50,
    byKind: [{ kind: 'energy', devices: 1, pct: 50 }],
    devices: [{ device: 'meter-1', kind: 'energy', zone: 'b1-f1', pct: 50 }],
  },
  patrol: {
    scansDue: 8,
    scansMade: 7,
    completionPct: 87.5,
    nights: [
      { route: 'east', night: '2026-11-03', checkpoints: 2, scansDue: 8, scansMade: 7, completionPct: 87.5, missed: [{ device: 'cp-2', zone: 'b1-f1', rounds: [3] }] },
    ],
  },
  lifts: {
    availabilityPct: 95,
    devices: [{ device: 'lift-1', zone: 'b1-core', availabilityPct: 95, trips: 120, trapped: 1, trappedAt: ['2026-11-03T02:00:00.000Z'] }],
  },
  pumps: { devices: [{ device: 'pump-1', zone: 'b1-b1', runHours: 6.5, starts: 12, dryRuns: 0, pumpFaults: 1 }] },
  lifeSafety: {
    meanMinutesToAck: 2.5,
    byType: [
      { type: 'emergency_call', count: 1, acknowledged: 1, meanMinutesToAck: 2.5 },
      { type: 'passenger_trapped', count: 1, acknowledged: 0, meanMinutesToAck: null },
    ],
    incidents: [
      { type: 'emergency_call', device: 'sos-1', zone: 'p1', raisedAt: '2026-11-03T01:00:00.000Z', acknowledgedAt: '2026-11-03T01:02:30.000Z', acknowledgedBy: 'Desk', minutesToAck: 2.5 },
      { type: 'passenger_trapped', device: 'lift-1', zone: 'b1-core', raisedAt: '2026-11-03T02:00:00.000Z', acknowledgedAt: null, acknowledgedBy: null, minutesToAck: null },
    ],
  },
  alarmHealth: {
    benchmarks: ALARM_HEALTH_BENCHMARKS,
    days: [
      {
        date: '2026-11-03',
        hours: 24,
        raised: 3,
        silenced: 0,
        perHour: 0.1,
        peakPer10Min: 3,
        floodMinutes: 0,
        floodPct: 0,
        topSources: [{ type: 'fire_alarm', source: 'smoke-1', count: 3, sharePct: 100 }],
        topTenSharePct: 100,
        chattering: [{ type: 'fire_alarm', source: 'smoke-1', raises: 3, maxPerMinute: 3 }],
        standing: [{ id: 'alm-1', type: 'low_battery', source: 'meter-1', severity: 'warning', firstSeen: '2026-11-01T00:00:00.000Z', hoursOpen: 64 }],
        criticalAck: { raised: 3, acknowledged: 1, unacknowledged: 2, p50Seconds: 270, p90Seconds: 270 },
      },
    ],
  },
};

describe('the service report as CSV', () => {
  const lines = serviceReportCsv(REPORT).split('\r\n');

  it('has one header and one row per figure, in long format', () => {
    expect(lines[0]).toBe('section,key1,key2,metric,value');
    expect(lines.at(-1)).toBe('');
    // 7 report + 5 alarm totals + 1 type + 4 severities + 1 pair + 5 work order totals + 6 per category
    // + 1 energy total + 1 building day + 24 parking + 2 access totals + 48 access hours + 1 + 2 + 1 availability
    // + 3 patrol totals + 4 route night + 1 missed round + 1 + 3 lift + 1 trapped + 4 pump + 1 + 2 × 3 types + 2 × 4 incidents
    // + 13 benchmarks + 8 day figures + 5 critical acks + 2 top source + 2 chattering + 2 standing
    expect(lines.length - 2).toBe(7 + 5 + 1 + 4 + 1 + 5 + 6 + 1 + 1 + 24 + 2 + 48 + 1 + 2 + 1 + 3 + 4 + 1 + 1 + 3 + 1 + 4 + 1 + 6 + 8 + 13 + 8 + 5 + 2 + 2 + 2);
  });

  it('writes each figure under its section and keys, null as an empty value', () => {
    expect(lines).toContain('report,,,site,maple-court');
    expect(lines).toContain('report,,,from,2026-11-02T16:00:00.000Z');
    expect(lines).toContain('alarms,,,meanTimeToClearMinutes,');
    expect(lines).toContain('alarms,fire_alarm,,count,3');
    expect(lines).toContain('alarms,,major,count,0');
    expect(lines).toContain('alarms,fire_alarm,critical,count,3');
    expect(lines).toContain('workOrders,electrical,,slaCompliancePct,75');
    expect(lines).toContain('energy,"tower ""A"", east",2026-11-03,kwh,12.5');
    expect(lines).toContain('parking,8,,occupancyPct,55.2');
    expect(lines).toContain('parking,9,,occupancyPct,');
    expect(lines).toContain('access,7,,granted,2');
    expect(lines).toContain('availability,energy,,devices,1');
    expect(lines).toContain('availability,energy,meter-1,pct,50');
  });

  it('writes patrol, lift, pump, life-safety and alarm-health figures under their sections', () => {
    for (const row of [
      'patrol,,,completionPct,87.5',
      'patrol,east,2026-11-03,checkpoints,2',
      'patrol,east,2026-11-03,scansMade,7',
      'patrol,2026-11-03,cp-2,missedRound,3',
      'lifts,,,availabilityPct,95',
      'lifts,lift-1,,trips,120',
      'lifts,lift-1,,trapped,1',
      'lifts,lift-1,,trappedAt,2026-11-03T02:00:00.000Z',
      'pumps,pump-1,,runHours,6.5',
      'pumps,pump-1,,pumpFaults,1',
      'lifeSafety,,,meanMinutesToAck,2.5',
      'lifeSafety,passenger_trapped,,meanMinutesToAck,',
      'lifeSafety,sos-1,2026-11-03T01:00:00.000Z,acknowledgedBy,Desk',
      'lifeSafety,lift-1,2026-11-03T02:00:00.000Z,minutesToAck,',
      'lifeSafety,lift-1,2026-11-03T02:00:00.000Z,type,passenger_trapped',
      'alarmHealth,benchmark,,source,ANSI/ISA-18.2-2016 Table 5 (after EEMUA 191)',
      'alarmHealth,benchmark,,perHourManageable,12',
      'alarmHealth,2026-11-03,,perHour,0.1',
      'alarmHealth,2026-11-03,,topTenSharePct,100',
      'alarmHealth,2026-11-03,,criticalUnacknowledged,2',
      'alarmHealth,2026-11-03,,criticalAckP90Seconds,270',
      'alarmHealth,2026-11-03,fire_alarm/smoke-1,topSharePct,100',
      'alarmHealth,2026-11-03,fire_alarm/smoke-1,chatterMaxPerMinute,3',
      'alarmHealth,2026-11-03,low_battery/meter-1,standingSince,2026-11-01T00:00:00.000Z',
      'alarmHealth,2026-11-03,low_battery/meter-1,standingHours,64',
    ]) {
      expect(lines).toContain(row);
    }
  });
});
