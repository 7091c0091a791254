import { describe, expect, it } from 'vitest';
import { csvField, csvText, serviceReportCsv } from '../../../src/reports/csv.js';
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
  parking: { byHour: hours((hour) => ({ hour, occupancyPct: hour === 8 ? 55.2 : null })) },
  access: { granted: 2, denied: 0, byHour: hours((hour) => ({ hour, granted: hour === 7 ? 2 : 0, denied: 0 })) },
  availability: {
    pct: 50,
    byKind: [{ kind: 'energy', devices: 1, pct: 50 }],
    devices: [{ device: 'meter-1', kind: 'energy', zone: 'b1-f1', pct: 50 }],
  },
};

describe('the service report as CSV', () => {
  const lines = serviceReportCsv(REPORT).split('\r\n');

  it('has one header and one row per figure, in long format', () => {
    expect(lines[0]).toBe('section,key1,key2,metric,value');
    expect(lines.at(-1)).toBe('');
    // 7 report + 5 alarm totals + 1 type + 4 severities + 1 pair + 5 work order totals + 6 per category
    // + 1 energy total + 1 building day + 24 parking + 2 access totals + 48 access hours + 1 + 2 + 1 availability
    expect(lines.length - 2).toBe(7 + 5 + 1 + 4 + 1 + 5 + 6 + 1 + 1 + 24 + 2 + 48 + 1 + 2 + 1);
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
});
