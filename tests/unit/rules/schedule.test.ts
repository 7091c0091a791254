import cron from 'node-cron';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lastCronRunBetween, nextCronRun } from '../../../src/rules/conditions/schedule.js';
import { MemoryRuleStateStore } from '../../../src/rules/state.js';
import { harness, rules, SITE, T0, useFakeTime } from './harness.js';

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

describe('schedule firings missed while the gateway was down (contract §15)', () => {
  const DAILY = `
- id: morning-round
  match: { site: [maple-court] }
  when: { schedule: "0 8 * * *" }
  alarm: { type: round_due, severity: warning }
  workOrder: { category: patrol, priority: normal, title: "Morning round" }
`;
  const DAY = 86_400_000;
  /** Tuesday 7 January 2025, 08:00 UTC: the first due time after T0. */
  const TUESDAY_8 = Date.parse('2025-01-07T08:00:00Z');

  /** Runs the rules from T0 for `ms`, stops the gateway, and answers the state it left. */
  async function runThenStop(yaml: string, ms: number): Promise<MemoryRuleStateStore> {
    const state = new MemoryRuleStateStore();
    const h = harness(yaml, { state });
    await h.advance(ms);
    h.engine.stop();
    return state;
  }

  /** Starts the gateway again at `at` on the state a former run left. */
  async function startAt(at: number, yaml: string, state: MemoryRuleStateStore) {
    vi.setSystemTime(at);
    const h = harness(yaml, { state });
    await h.advance(0);
    return h;
  }

  it('fires once at start, late, with the time it was due, in its work order and its alarm', async () => {
    const state = await runThenStop(DAILY, 3_600_000);
    const restart = TUESDAY_8 + 2 * 3_600_000;
    const h = await startAt(restart, DAILY, state);
    expect(h.actions.calls.map((c) => (c.op === 'raise' ? [c.op, c.at, c.req.late, c.req.due] : c.op === 'workOrder' ? [c.op, c.at, c.req.due] : [c.op]))).toStrictEqual([
      ['raise', restart, true, '2025-01-07T08:00:00.000Z'],
      ['workOrder', restart, '2025-01-07T08:00:00.000Z'],
    ]);
  });

  it('fires only once for the last due time however long the downtime', async () => {
    const state = await runThenStop(DAILY, 3_600_000);
    const h = await startAt(TUESDAY_8 + 3 * DAY + 60_000, DAILY, state);
    expect(h.actions.calls.filter((c) => c.op === 'workOrder').map((c) => c.op === 'workOrder' && c.req.due)).toStrictEqual(['2025-01-10T08:00:00.000Z']);
  });

  it('does not fire when nothing came due while it was down', async () => {
    const state = await runThenStop(DAILY, 3_600_000);
    const h = await startAt(TUESDAY_8 - 60_000, DAILY, state);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(60_000);
    expect(h.actions.calls.map((c) => c.op === 'workOrder' && c.req.due)).toStrictEqual([false, undefined]);
  });

  it('does not fire late for a rule added while the gateway was down', async () => {
    const state = await runThenStop(`
- id: other
  when: { schedule: "0 8 * * *" }
  workOrder: { category: patrol, priority: low }
`, 3_600_000);
    const h = await startAt(TUESDAY_8 + 3_600_000, DAILY, state);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('does not fire late for a rule whose schedule changed while the gateway was down', async () => {
    const state = await runThenStop(DAILY, 3_600_000);
    const h = await startAt(TUESDAY_8 + 3_600_000, DAILY.replace('0 8 * * *', '30 8 * * *'), state);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('does not fire late when a rule disabled for a while is enabled again by a reload', async () => {
    const state = new MemoryRuleStateStore();
    const h = harness(DAILY, { state });
    await h.advance(3_600_000);
    h.engine.setRules(rules(DAILY.replace('when:', 'enabled: false\n  when:')));
    await h.advance(DAY);
    h.engine.setRules(rules(DAILY));
    await h.advance(0);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('counts from its last heartbeat after a crash', async () => {
    const state = new MemoryRuleStateStore();
    const h = harness(DAILY, { state });
    // Ran until Tuesday 07:00, then killed: its last heartbeat is the last word (no detach).
    await h.advance(TUESDAY_8 - 3_600_000 - T0);
    const left = structuredClone(state.data);
    h.engine.stop();
    state.data.clear();
    for (const [rule, map] of left) state.data.set(rule, map);
    const restart = TUESDAY_8 + 30 * 60_000;
    const again = await startAt(restart, DAILY, state);
    expect(again.actions.calls.map((c) => c.op === 'workOrder' && c.req.due).filter(Boolean)).toStrictEqual(['2025-01-07T08:00:00.000Z']);
  });

  it('finds the last due time in a long gap with a few look-ups', () => {
    const task = cron.createTask('*/5 * * * * *', () => undefined, { timezone: 'UTC' });
    const from = Date.parse('2025-01-01T00:00:00Z');
    expect(new Date(lastCronRunBetween(task, from, from + 30 * DAY + 7_000)!).toISOString()).toBe('2025-01-31T00:00:05.000Z');
    expect(lastCronRunBetween(task, from, from + 4_000)).toBeUndefined();
    void task.destroy();
  });
});
