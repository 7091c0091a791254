import cron from 'node-cron';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextCronRun } from '../../../src/rules/conditions/schedule.js';
import { harness, SITE, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

describe('schedule', () => {
  it('opens the weekly inspection work order on the cron, in the site’s time zone, once per site', async () => {
    // T0 is Monday 12:00 UTC, 13:00 in Paris: the next Monday 09:00 Paris is 7 days minus 4 hours away.
    const h = harness(
      `
- id: fire-inspection-weekly
  when: { schedule: "0 9 * * 1" }
  workOrder: { category: fire-inspection, priority: normal, title: "Weekly fire equipment inspection ({site})" }
`,
      { timeZone: 'Europe/Paris' },
    );
    const due = 7 * 86_400_000 - 4 * 3_600_000;
    await h.advance(due - 1);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.calls).toStrictEqual([
      {
        op: 'workOrder',
        at: T0 + due,
        req: {
          site: SITE,
          title: { 'zh-CN': `Weekly fire equipment inspection (${SITE})`, en: `Weekly fire equipment inspection (${SITE})` },
          category: 'fire-inspection',
          priority: 'normal',
          description: undefined,
          alarm: undefined,
          device: undefined,
          zone: undefined,
          rule: 'fire-inspection-weekly',
          by: 'rule:fire-inspection-weekly',
        },
      },
    ]);
    await h.advance(7 * 86_400_000);
    expect(h.actions.calls.map((c) => c.at - T0)).toStrictEqual([due, due + 7 * 86_400_000]);
  });

  it('raises an alarm from a schedule with the rule as source and never clears it', async () => {
    const h = harness(`
- id: hourly-check
  match: { site: [north-gate] }
  when: { schedule: "0 * * * *" }
  alarm: { type: check_due, severity: warning, message: "check due at {site} ({rule})" }
`);
    await h.advance(2 * 3_600_000);
    expect(h.actions.calls.map((c) => c.op === 'raise' && [c.at - T0, c.req.source, c.req.site, c.req.message, c.raised])).toStrictEqual([
      [3_600_000, 'hourly-check', 'north-gate', 'check due at north-gate (hourly-check)', true],
      [7_200_000, 'hourly-check', 'north-gate', 'check due at north-gate (hourly-check)', false],
    ]);
  });

  it('waits for a schedule further off than setTimeout can (a monthly test)', async () => {
    const h = harness(`
- id: monthly
  when: { schedule: "0 10 1 * *" }
  workOrder: { category: lighting, priority: normal }
`);
    await h.advance(40 * 86_400_000);
    expect(h.actions.calls.map((c) => new Date(c.at).toISOString())).toStrictEqual(['2025-02-01T10:00:00.000Z']);
  });

  it('stops firing once the engine stops', async () => {
    const h = harness(`
- id: minutely
  when: { schedule: "* * * * *" }
  workOrder: { category: test, priority: low }
`);
    await h.advance(60_000);
    h.engine.stop();
    await h.advance(600_000);
    expect(h.actions.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('finds the next run from any date, through node-cron’s matcher', () => {
    const task = cron.createTask('30 6 * * *', () => undefined, { timezone: 'Asia/Tokyo' });
    expect(new Date(nextCronRun(task, Date.parse('2025-03-01T00:00:00Z'))).toISOString()).toBe('2025-03-01T21:30:00.000Z');
    void task.destroy();
  });
});
