import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/errors.js';
import {
  currentPeriodStart,
  isDate,
  localDate,
  localHour,
  periodRange,
  previousMonthStart,
  startOfLocalDay,
} from '../../../src/reports/period.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const span = (r: { from: number; to: number }) => (r.to - r.from) / HOUR;

describe('report periods', () => {
  it('runs a day from local midnight to local midnight', () => {
    const r = periodRange('day', '2025-11-04', 'Asia/Shanghai');
    expect({ ...r, from: iso(r.from), to: iso(r.to) }).toStrictEqual({
      period: 'day',
      start: '2025-11-04',
      from: '2025-11-03T16:00:00.000Z',
      to: '2025-11-04T16:00:00.000Z',
    });
  });

  it('makes the day clocks go forward 23 hours long and the day they go back 25 (Europe/Berlin)', () => {
    const spring = periodRange('day', '2026-03-29', 'Europe/Berlin');
    expect([iso(spring.from), iso(spring.to), span(spring)]).toStrictEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z', 23]);
    const autumn = periodRange('day', '2026-10-25', 'Europe/Berlin');
    expect([iso(autumn.from), iso(autumn.to), span(autumn)]).toStrictEqual(['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z', 25]);
  });

  it('gives the month of a DST change its local midnights at both ends', () => {
    const march = periodRange('month', '2026-03-01', 'Europe/Berlin');
    expect([iso(march.from), iso(march.to), span(march)]).toStrictEqual(['2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z', 31 * 24 - 1]);
    const october = periodRange('month', '2026-10-01', 'Europe/Berlin');
    expect([iso(october.from), iso(october.to), span(october)]).toStrictEqual(['2026-09-30T22:00:00.000Z', '2026-10-31T23:00:00.000Z', 31 * 24 + 1]);
    const week = periodRange('week', '2026-03-23', 'Europe/Berlin');
    expect([iso(week.from), iso(week.to), span(week)]).toStrictEqual(['2026-03-22T23:00:00.000Z', '2026-03-29T22:00:00.000Z', 7 * 24 - 1]);
  });

  it('runs a month into the next year in December', () => {
    const r = periodRange('month', '2025-12-01', 'Asia/Shanghai');
    expect([iso(r.from), iso(r.to)]).toStrictEqual(['2025-11-30T16:00:00.000Z', '2025-12-31T16:00:00.000Z']);
  });

  it('starts a day whose midnight a DST change skips at the first instant it has (America/Santiago, 01:00)', () => {
    expect(iso(startOfLocalDay('2026-09-06', 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
    expect(localDate(Date.parse('2026-09-06T03:59:59.999Z'), 'America/Santiago')).toBe('2026-09-05');
  });

  it('refuses a week that does not start on a Monday, naming start', () => {
    expect(() => periodRange('week', '2025-11-04', 'Asia/Shanghai')).toThrow(new ValidationError('start', 'a week starts on a Monday; 2025-11-04 is a Tuesday'));
    expect(periodRange('week', '2025-11-03', 'Asia/Shanghai').start).toBe('2025-11-03');
  });

  it('refuses a month that does not start on the 1st and a date that does not exist', () => {
    expect(() => periodRange('month', '2025-11-02', 'UTC')).toThrow('start: a month starts on the 1st; 2025-11-02 is not');
    expect(() => periodRange('day', '2025-02-29', 'UTC')).toThrow('start: "2025-02-29" is not a date (YYYY-MM-DD)');
    expect(isDate('2024-02-29')).toBe(true);
    expect(isDate('2025-13-01')).toBe(false);
    expect(isDate('2025-1-01')).toBe(false);
  });

  it('finds the current period in local time, not UTC', () => {
    // 2025-11-09T17:00Z is Monday 2025-11-10 01:00 in Shanghai, still Sunday in UTC.
    const now = Date.parse('2025-11-09T17:00:00Z');
    expect(currentPeriodStart('day', now, 'Asia/Shanghai')).toBe('2025-11-10');
    expect(currentPeriodStart('week', now, 'Asia/Shanghai')).toBe('2025-11-10');
    expect(currentPeriodStart('week', now, 'UTC')).toBe('2025-11-03');
    expect(currentPeriodStart('month', now, 'Asia/Shanghai')).toBe('2025-11-01');
  });

  it('finds last month, across a year end', () => {
    expect(previousMonthStart(Date.parse('2025-12-31T23:05:00Z'), 'Europe/Berlin')).toBe('2025-12-01');
    expect(previousMonthStart(Date.parse('2025-12-31T23:05:00Z'), 'UTC')).toBe('2025-11-01');
    expect(previousMonthStart(Date.parse('2026-03-15T12:00:00Z'), 'UTC')).toBe('2026-02-01');
  });

  it('gives the local hour, which repeats on the night clocks go back', () => {
    expect(localHour(Date.parse('2025-11-04T00:30:00Z'), 'Asia/Shanghai')).toBe(8);
    expect(localHour(Date.parse('2026-10-25T00:30:00Z'), 'Europe/Berlin')).toBe(2);
    expect(localHour(Date.parse('2026-10-25T01:30:00Z'), 'Europe/Berlin')).toBe(2);
  });
});
