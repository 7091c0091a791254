import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmStore } from '../../../src/alarms/alarm-store.js';
import type { Alarm, Severity } from '../../../src/alarms/model.js';
import { ALARM_HEALTH_BENCHMARKS, alarmHealthFigures, percentileSeconds, windowLoad } from '../../../src/reports/alarm-health-figures.js';
import { StateStore } from '../../../src/storage/state/store.js';

const TZ = 'Asia/Shanghai';
const SITE = 'oak-hill';
/** Local (UTC+8) wall time as epoch ms. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const iso = (ms: number) => new Date(ms).toISOString();
const MIN = 60_000;

let dir: string;
let store: StateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'alarm-health-'));
  store = new StateStore(dir);
  store.open();
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

interface Spec {
  severity?: Severity;
  /** Cleared by its condition (acknowledged stays as it was). */
  cleared?: string;
  /** Cleared by a person: acknowledged with it, no `acknowledged` transition. */
  clearedByPerson?: string;
  acked?: string;
  silenced?: string;
}

let seq = 0;
/** An alarm through its store, each transition at its (local) time. */
function alarm(type: string, source: string, raised: string, s: Spec = {}): void {
  const alarms = new AlarmStore(store);
  const t0 = at(raised);
  let a: Alarm = {
    id: `alm-${String(++seq).padStart(3, '0')}`,
    site: SITE,
    type,
    severity: s.severity ?? 'major',
    state: 'active',
    acknowledged: false,
    source,
    device: source,
    rule: 'test',
    message: type,
    firstSeen: iso(t0),
    lastSeen: iso(t0),
    count: 1,
    ...(s.silenced ? { silenced: s.silenced } : {}),
  };
  alarms.insert({ alarm: a }, { transition: 'raised', at: t0, by: 'test' });
  if (s.acked) {
    a = { ...a, state: 'acknowledged', acknowledged: true, ackedBy: 'Desk', ackedAt: iso(at(s.acked)) };
    alarms.update({ alarm: a }, { transition: 'acknowledged', at: at(s.acked), by: 'Desk' });
  }
  if (s.cleared) {
    a = { ...a, state: 'cleared', clearedBy: 'test', clearedAt: iso(at(s.cleared)) };
    alarms.update({ alarm: a }, { transition: 'cleared', at: at(s.cleared), by: 'test' });
  }
  if (s.clearedByPerson) {
    a = { ...a, state: 'cleared', acknowledged: true, clearedBy: 'Desk', clearedAt: iso(at(s.clearedByPerson)) };
    alarms.update({ alarm: a }, { transition: 'cleared', at: at(s.clearedByPerson), by: 'Desk' });
  }
}

/** A raise of (type, source) at each of `times` (local), each cleared by its condition 5 s later. */
function raisesOf(type: string, source: string, times: string[]): void {
  for (const t of times) alarm(type, source, t, { cleared: local(iso(at(t) + 5000)) });
}

/**
 * Tuesday 2025-11-04, local. Every figure below is worked out by hand.
 * - 08:00:00–08:05:30: node-01..node-12 go offline 30 s apart (12 raises): the 11th, at 08:05:00, makes 11 in the last
 *   10 minutes, a flood; at 08:10:00 the first drops out (11 left), at 08:10:30 the second (10): 5.5 minutes in flood.
 * - door-7 raised at 14:00:00, 14:00:20, 14:00:50 (3 within 50 s: chattering) and 16:00:00; door-8 at 15:00:00,
 *   15:00:30, 15:01:00 (the first and third exactly 60 s apart: never 3 in a minute, not chattering).
 * - Critical: smoke-1 acknowledged after 20 s, sos-1 after 60 s, smoke-3 cleared by a person after 120 s (that
 *   acknowledges it), pump-1 never: p50 60 s, p90 120 s, 1 unacknowledged.
 * - door-9 raised under a silence: counted apart, in none of the other figures.
 * - Standing at 24:00: meter-3 (since 11-02 20:00, active: 52 h) and smoke-2 (critical, since 11-03 09:00, cleared by
 *   its condition at 09:10 but never acknowledged: still open, 39 h). Not: meter-5 (open 26 h but cleared at 12:00)
 *   and meter-4 (raised 11-04 01:00: 23 h).
 */
function constructedDay(): void {
  alarm('low_battery', 'meter-3', '2025-11-02T20:00:00');
  alarm('fire_alarm', 'smoke-2', '2025-11-03T09:00:00', { severity: 'critical', cleared: '2025-11-03T09:10:00' });
  alarm('low_battery', 'meter-5', '2025-11-03T10:00:00', { cleared: '2025-11-04T12:00:00' });
  alarm('low_battery', 'meter-4', '2025-11-04T01:00:00');
  for (let i = 0; i < 12; i++) {
    const t = iso(at('2025-11-04T08:00:00') + i * 30_000);
    alarm('device_offline', `node-${String(i + 1).padStart(2, '0')}`, local(t), { cleared: '2025-11-04T09:00:00' });
  }
  alarm('fire_alarm', 'smoke-1', '2025-11-04T09:00:00', { severity: 'critical', acked: '2025-11-04T09:00:20', cleared: '2025-11-04T09:30:00' });
  alarm('emergency_call', 'sos-1', '2025-11-04T10:00:00', { severity: 'critical', acked: '2025-11-04T10:01:00' });
  alarm('fire_alarm', 'smoke-3', '2025-11-04T11:00:00', { severity: 'critical', clearedByPerson: '2025-11-04T11:02:00' });
  alarm('pump_fault', 'pump-1', '2025-11-04T12:00:00', { severity: 'critical' });
  alarm('door_forced', 'door-9', '2025-11-04T13:00:00', { silenced: 'sil-1', cleared: '2025-11-04T13:30:00' });
  raisesOf('door_held', 'door-7', ['2025-11-04T14:00:00', '2025-11-04T14:00:20', '2025-11-04T14:00:50', '2025-11-04T16:00:00']);
  raisesOf('door_held', 'door-8', ['2025-11-04T15:00:00', '2025-11-04T15:00:30', '2025-11-04T15:01:00']);
  // Another site's flood is not this one's.
  for (let i = 0; i < 12; i++) {
    new AlarmStore(store).insert(
      { alarm: { id: `other-${i}`, site: 'elm-park', type: 'device_offline', severity: 'major', state: 'active', acknowledged: false, source: `n-${i}`, rule: 'test', message: 'x', firstSeen: iso(at('2025-11-04T08:00:00') + i), lastSeen: iso(at('2025-11-04T08:00:00') + i), count: 1 } },
      { transition: 'raised', at: at('2025-11-04T08:00:00') + i, by: 'test' },
    );
  }
}

/** An ISO instant as local (UTC+8) wall time without zone, for `at`. */
function local(isoTime: string): string {
  return iso(Date.parse(isoTime) + 8 * 3_600_000).slice(0, 19);
}

const share = (type: string, source: string, count: number, sharePct: number) => ({ type, source, count, sharePct });

describe('alarm-system health of a day', () => {
  it('measures load, flood, top sources, chattering, standing alarms and critical acknowledge times', () => {
    constructedDay();
    const w = { site: SITE, from: at('2025-11-04T00:00:00'), to: at('2025-11-05T00:00:00'), now: at('2025-11-06T00:00:00') };
    const h = alarmHealthFigures(store, TZ, w);
    expect(h.benchmarks).toBe(ALARM_HEALTH_BENCHMARKS);
    expect(h.benchmarks).toMatchObject({ perHourAcceptable: 6, perHourManageable: 12, floodAlarms: 10, floodWindowMinutes: 10 });
    expect(h.benchmarks.source).toMatch(/ISA-18\.2/);
    expect(h.days).toStrictEqual([
      {
        date: '2025-11-04',
        hours: 24,
        // 1 meter-4 + 12 nodes + 4 critical + 4 door-7 + 3 door-8
        raised: 24,
        silenced: 1,
        perHour: 1,
        peakPer10Min: 12,
        floodMinutes: 5.5,
        floodPct: 0.4, // 5.5 / 1440
        topSources: [
          share('door_held', 'door-7', 4, 16.7),
          share('door_held', 'door-8', 3, 12.5),
          ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => share('device_offline', `node-0${n}`, 1, 4.2)),
        ],
        topTenSharePct: 62.5, // 15 of 24
        chattering: [{ type: 'door_held', source: 'door-7', raises: 4, maxPerMinute: 3 }],
        standing: [
          { id: 'alm-001', type: 'low_battery', source: 'meter-3', severity: 'major', firstSeen: iso(at('2025-11-02T20:00:00')), hoursOpen: 52 },
          { id: 'alm-002', type: 'fire_alarm', source: 'smoke-2', severity: 'critical', firstSeen: iso(at('2025-11-03T09:00:00')), hoursOpen: 39 },
        ],
        criticalAck: { raised: 4, acknowledged: 3, unacknowledged: 1, p50Seconds: 60, p90Seconds: 120 },
      },
    ]);
  });

  it('stops at now: the day in progress is counted to now and later days are left out', () => {
    constructedDay();
    const w = { site: SITE, from: at('2025-11-03T00:00:00'), to: at('2025-11-10T00:00:00'), now: at('2025-11-05T06:00:00') };
    const days = alarmHealthFigures(store, TZ, w).days;
    expect(days.map((d) => [d.date, d.hours, d.raised])).toStrictEqual([
      ['2025-11-03', 24, 2],
      ['2025-11-04', 24, 24],
      ['2025-11-05', 6, 0],
    ]);
    // At 24:00 on 11-03 meter-3 had been open 28 h; smoke-2 only 15 h.
    expect(days[0].standing.map((s) => [s.source, s.hoursOpen])).toStrictEqual([['meter-3', 28]]);
    // At now (06:00): meter-4 has passed 24 h too (29 h).
    expect(days[2].standing.map((s) => [s.source, s.hoursOpen])).toStrictEqual([
      ['meter-3', 58],
      ['smoke-2', 45],
      ['meter-4', 29],
    ]);
    expect(days[2]).toMatchObject({ perHour: 0, peakPer10Min: 0, floodMinutes: 0, floodPct: 0, topSources: [], topTenSharePct: null, chattering: [] });
    expect(days[2].criticalAck).toStrictEqual({ raised: 0, acknowledged: 0, unacknowledged: 0, p50Seconds: null, p90Seconds: null });
    // A period not begun by now has no days.
    expect(alarmHealthFigures(store, TZ, { ...w, now: at('2025-11-02T12:00:00') }).days).toStrictEqual([]);
  });

  it('counts a flood that runs over midnight in both days, and the day the clocks change has 23 hours', () => {
    // 11 raises from 23:55:00, 20 s apart (the last at 23:58:20): in flood from 23:58:20 until 00:05:00, when the
    // first is 10 minutes old.
    for (let i = 0; i < 11; i++) alarm('device_offline', `node-${i}`, local(iso(at('2025-11-03T23:55:00') + i * 20_000)));
    const w = { site: SITE, from: at('2025-11-03T00:00:00'), to: at('2025-11-05T00:00:00'), now: at('2025-11-06T00:00:00') };
    const [d3, d4] = alarmHealthFigures(store, TZ, w).days;
    expect([d3.raised, d3.peakPer10Min, d3.floodMinutes]).toStrictEqual([11, 11, 1.7]); // 23:58:20 → 24:00
    expect([d4.raised, d4.peakPer10Min, d4.floodMinutes]).toStrictEqual([0, 11, 5]);
    const berlin = alarmHealthFigures(store, 'Europe/Berlin', {
      site: SITE,
      from: Date.parse('2026-03-28T23:00:00Z'),
      to: Date.parse('2026-03-29T22:00:00Z'),
      now: Date.parse('2026-04-01T00:00:00Z'),
    });
    expect(berlin.days.map((d) => [d.date, d.hours])).toStrictEqual([['2026-03-29', 23]]);
  });
});

describe('the sliding window and the percentiles', () => {
  it('counts a raise from its instant until the window has passed it', () => {
    const t0 = 1_000_000;
    const ten = 10 * MIN;
    // Exactly 11 at one instant: in flood for the whole window, then not.
    const same = Array.from({ length: 11 }, () => t0);
    expect(windowLoad(same, t0 - ten, t0 + 2 * ten, ten, 10)).toStrictEqual({ peak: 11, overMs: ten });
    // 10 are never a flood; a raise exactly 10 minutes after another does not share its window.
    const spaced = [...Array.from({ length: 10 }, () => t0), t0 + ten];
    expect(windowLoad(spaced, t0, t0 + 3 * ten, ten, 10)).toStrictEqual({ peak: 10, overMs: 0 });
    expect(windowLoad([], t0, t0 + ten, ten, 10)).toStrictEqual({ peak: 0, overMs: 0 });
  });

  it('takes the nearest rank', () => {
    expect(percentileSeconds([], 50)).toBeNull();
    expect(percentileSeconds([20_000], 90)).toBe(20);
    expect(percentileSeconds([1000, 2000, 3000, 4000], 50)).toBe(2);
    expect(percentileSeconds([1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000], 90)).toBe(9);
  });
});
