import { describe, expect, it } from 'vitest';
import type { SiteDevice } from '../../../src/reports/availability.js';
import { checkpointsOf, dueSlots, nightsOf, patrolNights, type Checkpoint, type Night } from '../../../src/reports/patrol-figures.js';
import { periodRange, startOfLocalHour } from '../../../src/reports/period.js';

const TZ = 'Asia/Shanghai';
/** Local (UTC+8) wall time as epoch ms. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const LATER = at('2030-01-01T00:00:00');

const NIGHT: Night = { night: '2025-11-04', from: at('2025-11-04T22:00:00'), to: at('2025-11-05T06:00:00') };
const checkpoint = (device: string, route = 'site', roundMinutes = 120): Checkpoint => ({
  device,
  zone: 'b1-lobby',
  route,
  roundMs: roundMinutes * 60_000,
  createdAt: at('2025-10-01T00:00:00'),
});
const device = (id: string, tags: Record<string, string> = {}, kind = 'patrol'): SiteDevice => ({ id, kind, zone: 'z', tags, createdAt: 0 });

describe('nights', () => {
  it('names each night of a day report by the date it starts, 22:00 to 06:00 the next morning', () => {
    const { from, to } = periodRange('day', '2025-11-04', TZ);
    expect(nightsOf({ site: 's', from, to, now: LATER }, TZ)).toStrictEqual([NIGHT]);
  });

  it('gives a week seven nights, the last ending after the week', () => {
    const { from, to } = periodRange('week', '2025-11-03', TZ);
    const nights = nightsOf({ site: 's', from, to, now: LATER }, TZ);
    expect(nights.map((n) => n.night)).toStrictEqual(['2025-11-03', '2025-11-04', '2025-11-05', '2025-11-06', '2025-11-07', '2025-11-08', '2025-11-09']);
    expect(nights.at(-1)?.to).toBe(at('2025-11-10T06:00:00'));
  });

  it('lasts 9 hours the night the clocks go back', () => {
    // Europe/Berlin goes back from 03:00 CEST to 02:00 CET on 2026-10-25.
    const night = { from: startOfLocalHour('2026-10-24', 22, 'Europe/Berlin'), to: startOfLocalHour('2026-10-25', 6, 'Europe/Berlin') };
    expect(night).toStrictEqual({ from: Date.parse('2026-10-24T20:00:00Z'), to: Date.parse('2026-10-25T05:00:00Z') });
  });
});

describe('round slots', () => {
  it('makes a checkpoint due four times a night with the default 2 h round', () => {
    expect(dueSlots(NIGHT, checkpoint('cp-1'), LATER)).toStrictEqual([0, 1, 2, 3]);
  });

  it('leaves out the part round at the end of the night', () => {
    // 8 h / 90 min = 5 whole rounds, 30 min left over.
    expect(dueSlots(NIGHT, checkpoint('cp-1', 'site', 90), LATER)).toStrictEqual([0, 1, 2, 3, 4]);
  });

  it('is not due for a round not yet over, nor for one begun before the checkpoint was registered', () => {
    expect(dueSlots(NIGHT, checkpoint('cp-1'), at('2025-11-05T02:30:00'))).toStrictEqual([0, 1]);
    expect(dueSlots(NIGHT, { ...checkpoint('cp-1'), createdAt: at('2025-11-04T23:00:00') }, LATER)).toStrictEqual([1, 2, 3]);
  });

  it('takes the route and round from the device tags, else one route `site` and 120 minutes', () => {
    const got = checkpointsOf([device('cp-1', { route: 'east', roundMinutes: '60' }), device('cp-2', { roundMinutes: 'soon' }), device('lift-1', {}, 'lift')]);
    expect(got.map((c) => [c.device, c.route, c.roundMs / 60_000])).toStrictEqual([
      ['cp-1', 'east', 60],
      ['cp-2', 'site', 120],
    ]);
  });
});

describe('completion per route and night', () => {
  it('counts a double scan once, so it does not hide the round that was missed', () => {
    const scans = new Map([
      ['cp-1', [at('2025-11-04T22:10:00'), at('2025-11-04T22:50:00'), at('2025-11-05T02:05:00'), at('2025-11-05T04:00:00')]],
      ['cp-2', [at('2025-11-04T22:12:00'), at('2025-11-05T00:12:00'), at('2025-11-05T02:12:00'), at('2025-11-05T04:12:00')]],
    ]);
    expect(patrolNights([checkpoint('cp-1'), checkpoint('cp-2')], scans, [NIGHT], LATER)).toStrictEqual([
      {
        route: 'site',
        night: '2025-11-04',
        checkpoints: 2,
        scansDue: 8,
        scansMade: 7,
        completionPct: 87.5,
        // 22:10 and 22:50 are both round 1; 04:00 exactly starts round 4.
        missed: [{ device: 'cp-1', zone: 'b1-lobby', rounds: [2] }],
      },
    ]);
  });

  it('ignores scans outside the night and reports each route apart, sorted', () => {
    const scans = new Map([['cp-w', [at('2025-11-04T21:59:59'), at('2025-11-05T06:00:00')]]]);
    const rows = patrolNights([checkpoint('cp-w', 'west'), checkpoint('cp-e', 'east', 240)], scans, [NIGHT], LATER);
    expect(rows.map((r) => [r.route, r.scansDue, r.scansMade, r.missed.map((m) => m.rounds)])).toStrictEqual([
      ['east', 2, 0, [[1, 2]]],
      ['west', 4, 0, [[1, 2, 3, 4]]],
    ]);
  });

  it('has no row for a night with nothing due yet', () => {
    expect(patrolNights([checkpoint('cp-1')], new Map(), [NIGHT], at('2025-11-04T23:59:00'))).toStrictEqual([]);
  });
});
