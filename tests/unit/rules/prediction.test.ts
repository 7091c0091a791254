/**
 * The §13 forecast and anomaly conditions end to end through the rule engine on a virtual clock (simulateRule,
 * the code path of the live engine and of POST /api/rules/test), and their alarms in the alarm service.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../../src/bus.js';
import { createLogger } from '../../../src/log.js';
import type { RuleDevice } from '../../../src/rules/actions.js';
import { VirtualClock } from '../../../src/rules/clock.js';
import type { HistoryQuery, HistoryReading } from '../../../src/rules/conditions/types.js';
import { RuleEngine } from '../../../src/rules/engine.js';
import { simulateRule, type SimMessage, type SimOutcome } from '../../../src/rules/simulate.js';
import { MemoryRuleStateStore } from '../../../src/rules/state.js';
import { DAY_MEAN_FLOW, driftReadings, flowReadings } from '../../fixtures/prediction-data.js';
import { harnessPerTest } from '../alarms/harness.js';
import { RecordingActions, rules } from './harness.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const SITE = 'maple-court';
const TZ = 'Asia/Shanghai';
/** Monday 2 November 2026, 00:00 in Shanghai. */
const MONDAY = Date.parse('2026-11-01T16:00:00Z');

const TRANSFORMER = rules(`
- id: transformer-hot-soon
  match: { kind: power }
  when: { telemetry: transformerTempC, forecast: { above: 85, within: 2h }, over: 1h }
  alarm: { type: transformer_hot_soon, severity: major, message: "{device} reaches 85 °C soon ({value} °C now)" }
`)[0];

const LEAK = rules(`
- id: night-leak
  match: { kind: water }
  when: { telemetry: flowM3h, anomaly: { baseline: 7d, by: hourOfDay, z: 4 }, for: 30m }
  alarm: { type: flow_anomaly, severity: major }
`)[0];

const tx = (rows: Array<[number, number]>): SimMessage[] =>
  rows.map(([ts, v]) => ({ ts, site: SITE, kind: 'power', device: 'tx-1', zone: 'b1', telemetry: { transformerTempC: v } }));
const flow = (rows: Array<[number, number]>, device = 'wm-1'): SimMessage[] =>
  rows.map(([ts, v]) => ({ ts, site: SITE, kind: 'water', device, zone: 'b1', telemetry: { flowM3h: v } }));
const WATER: RuleDevice[] = [{ id: 'wm-1', kind: 'water', site: SITE, zone: 'b1', tags: {}, online: true, lastSeen: null }];
const raised = (out: SimOutcome[]) => out.filter((o) => o.kind === 'raised');

/** A history reader over generated readings, as the gateway's InfluxDB reader answers (a sample per hour). */
function reader(rows: Array<[number, number]>, asked: HistoryQuery[] = []): (q: HistoryQuery) => HistoryReading[] {
  return (q) => {
    asked.push(q);
    return rows.filter(([ts], i) => ts >= q.from && ts < q.to && i % 4 === 0);
  };
}

describe('forecast', () => {
  it('raises with an eta within 10 % of the true crossing on a linear drift, and republishes the eta as it moves', () => {
    // 50 °C rising 6 °C an hour with ±0.3 °C noise: 85 °C at 5 h 50 min.
    const rows = driftReadings({ from: MONDAY, count: 6 * 60, everyMs: 60_000, start: 50, slopePerHour: 6, sigma: 0.3, seed: 11 });
    const truth = MONDAY + (35 / 6) * HOUR;
    const out = simulateRule(TRANSFORMER, tx(rows), [], { timeZone: TZ });
    const first = raised(out);
    expect(first).toHaveLength(1);
    const r = first[0] as Extract<SimOutcome, { kind: 'raised' }>;
    const left = truth - r.at;
    // Raised when the crossing came within the 2 h horizon, not before.
    expect(left).toBeGreaterThan(1.8 * HOUR);
    expect(left).toBeLessThanOrEqual(2.2 * HOUR);
    expect(Math.abs(Date.parse(r.eta!) - truth)).toBeLessThan(0.1 * left);
    expect(r).toMatchObject({ site: SITE, type: 'transformer_hot_soon', source: 'tx-1', value: rows.find(([ts]) => ts === r.at)![1] });
    const updates = out.filter((o) => o.kind === 'updated') as Array<Extract<SimOutcome, { kind: 'updated' }>>;
    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) expect(Math.abs(Date.parse(u.eta!) - truth)).toBeLessThan(0.15 * Math.max(truth - u.at, HOUR));
    expect(out.filter((o) => o.kind === 'cleared')).toStrictEqual([]);
  });

  it('clears once the trend turns away, and does not raise before it has 10 readings over a quarter of `over`', () => {
    const up = driftReadings({ from: MONDAY, count: 60, everyMs: 60_000, start: 75, slopePerHour: 6, sigma: 0, seed: 1 });
    expect(simulateRule(TRANSFORMER, tx(up.slice(0, 9)), [], { timeZone: TZ })).toStrictEqual([]);
    const down = driftReadings({ from: MONDAY + HOUR, count: 60, everyMs: 60_000, start: 81, slopePerHour: -6, sigma: 0, seed: 1 });
    const out = simulateRule(TRANSFORMER, tx([...up, ...down]), [], { timeZone: TZ });
    const edges = out.filter((o) => o.kind !== 'updated');
    expect(edges.map((o) => o.kind)).toStrictEqual(['raised', 'cleared']);
    // 10 readings, and a quarter of `over` from the first: at 15 minutes.
    expect(edges[0].at).toBe(MONDAY + 15 * 60_000);
    // A line through the last hour turns down only once enough of the fall is in it; then an eighth of an hour.
    expect(edges[1].at).toBeGreaterThan(MONDAY + HOUR);
    expect(edges[1].at).toBeLessThan(MONDAY + 2 * HOUR);
  });

  it('holds while the value is already past the level: a forecast that came true does not clear', () => {
    const rows = driftReadings({ from: MONDAY, count: 120, everyMs: 60_000, start: 80, slopePerHour: 6, sigma: 0, seed: 1 });
    const out = simulateRule(TRANSFORMER, tx(rows), [], { timeZone: TZ });
    expect(out.map((o) => o.kind).filter((k) => k !== 'updated')).toStrictEqual(['raised']);
  });

  it('keeps its window and what holds across a restart', () => {
    const store = new MemoryRuleStateStore();
    const log = createLogger('silent');
    const devices: RuleDevice[] = [{ id: 'tx-1', kind: 'power', site: SITE, zone: 'b1', tags: {}, online: true, lastSeen: null }];
    const run = (rows: Array<[number, number]>) => {
      const clock = new VirtualClock(rows[0][0]);
      const bus = new Bus(log);
      const actions = new RecordingActions(devices.map((d) => ({ ...d })));
      const engine = new RuleEngine({ bus, actions, log, timeZone: TZ, clock, state: store });
      engine.setRules([TRANSFORMER]);
      engine.start();
      for (const m of tx(rows)) {
        clock.advanceTo(m.ts);
        bus.emit('telemetryAccepted', { site: m.site, kind: m.kind, device: m.device, zone: m.zone, ts: m.ts, fields: m.telemetry! });
      }
      engine.stop();
      return actions.calls.filter((c) => c.op === 'raise' || c.op === 'clear');
    };
    // 70 °C rising 6 an hour: 85 at 2 h 30 min. Stopped after 20 minutes, started again 10 minutes later.
    const rows = driftReadings({ from: MONDAY, count: 60, everyMs: 60_000, start: 70, slopePerHour: 6, sigma: 0, seed: 1 });
    expect(run(rows.slice(0, 20))).toStrictEqual([]);
    // The first reading after the restart rests on the 20 before it: 10 minutes later would be too soon afresh.
    const after = run(rows.slice(30, 40));
    expect(after.map((c) => c.op)).toStrictEqual(['raise']);
    expect((after[0] as { req: { eta?: string; value?: unknown } }).req).toMatchObject({ value: rows[30][1], eta: new Date(MONDAY + 2.5 * HOUR).toISOString() });
    // Holding is kept too: going on raises nothing new.
    expect(run(rows.slice(40, 60))).toStrictEqual([]);
  });

  it('with `during`, raises at the opening with the latest eta, and only updates it inside the window', () => {
    const [rule] = rules(`
- id: transformer-hot-soon-day
  match: { kind: power }
  when: { telemetry: transformerTempC, forecast: { above: 85, within: 2h }, over: 1h, during: "08:00-20:00" }
  alarm: { type: transformer_hot_soon, severity: major }
`);
    // From 06:00 local, 70 °C rising 6 an hour (with a little noise): 85 °C at 08:30, inside 2 h from 06:30.
    const rows = driftReadings({ from: MONDAY + 6 * HOUR, count: 150, everyMs: 60_000, start: 70, slopePerHour: 6, sigma: 0.2, seed: 5 });
    const out = simulateRule(rule, tx(rows), [], { timeZone: TZ });
    const first = out[0] as Extract<SimOutcome, { kind: 'raised' }>;
    expect(first).toMatchObject({ kind: 'raised', at: MONDAY + 8 * HOUR });
    expect(Math.abs(Date.parse(first.eta!) - (MONDAY + 8.5 * HOUR))).toBeLessThan(3 * 60_000);
    expect(out.slice(1).every((o) => o.kind === 'updated' && o.at > MONDAY + 8 * HOUR)).toBe(true);
  });

  it('raises nothing on noise around a flat line: 0 alarms in 20 simulated weeks', () => {
    let alarms = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const rows = driftReadings({ from: MONDAY, count: 7 * 1440, everyMs: 60_000, start: 55, slopePerHour: 0, sigma: 1.5, seed });
      alarms += raised(simulateRule(TRANSFORMER, tx(rows), [], { timeZone: TZ })).length;
    }
    expect(alarms).toBe(0);
  });
});

describe('anomaly', () => {
  const history = flowReadings({ from: MONDAY - WEEK, minutes: 7 * 1440, seed: 1, offsetHours: 8 });
  /** Thursday 02:00 in Shanghai of the tested week: the leak starts. */
  const leakFrom = MONDAY + 3 * DAY + 2 * HOUR;
  const leak = { flow: 0.1 * DAY_MEAN_FLOW, at: (ts: number) => ts >= leakFrom };

  it('learns the daily profile from history and flags a night leak of 10 % of the day flow, with expected and z', () => {
    const week = flowReadings({ from: MONDAY, minutes: 7 * 1440, seed: 2, offsetHours: 8, leak });
    const out = simulateRule(LEAK, flow(week), WATER, { timeZone: TZ, from: MONDAY, history: reader(history) });
    const first = raised(out)[0] as Extract<SimOutcome, { kind: 'raised' }>;
    // Raised after the 30 minutes of `for`, in the night it began.
    expect(first.at - leakFrom).toBeGreaterThanOrEqual(30 * 60_000);
    expect(first.at - leakFrom).toBeLessThan(HOUR);
    expect(first.expected).toBeGreaterThan(0.3);
    expect(first.expected).toBeLessThan(0.5);
    expect(first.z).toBeGreaterThan(4);
    expect(first.value).toBeCloseTo(first.expected! + 0.42, 0);
  });

  it('stays quiet on a normal week, and raises nothing before the slot holds 3 days of history', () => {
    let alarms = 0;
    for (let seed = 2; seed <= 6; seed++) {
      const week = flowReadings({ from: MONDAY, minutes: 7 * 1440, seed, offsetHours: 8 });
      alarms += raised(simulateRule(LEAK, flow(week), WATER, { timeZone: TZ, from: MONDAY, history: reader(history) })).length;
    }
    expect(alarms).toBe(0);
    // No history: the slots learn from the live readings; a leak in the third night is not flagged (its slot
    // holds 2 whole nights), one in the fourth is.
    const nights = (from: number) => (ts: number) => ts >= from && (ts - MONDAY) % DAY < 5 * HOUR && (ts - MONDAY) % DAY >= HOUR;
    const third = flowReadings({ from: MONDAY, minutes: 3 * 1440, seed: 2, offsetHours: 8, leak: { flow: 0.42, at: nights(MONDAY + 2 * DAY) } });
    expect(raised(simulateRule(LEAK, flow(third), WATER, { timeZone: TZ, from: MONDAY }))).toStrictEqual([]);
    const fourth = flowReadings({ from: MONDAY, minutes: 7 * 1440, seed: 2, offsetHours: 8, leak: { flow: 0.42, at: nights(MONDAY + 3 * DAY) } });
    const out = raised(simulateRule(LEAK, flow(fourth), WATER, { timeZone: TZ, from: MONDAY }));
    expect(out.length).toBeGreaterThan(0);
    expect(out[0].at).toBeGreaterThan(MONDAY + 3 * DAY + HOUR);
    expect(out[0].at).toBeLessThan(MONDAY + 3 * DAY + 5 * HOUR);
  });

  it('holds through each night of a leak that goes on, and learns none of it while it holds', () => {
    // A leak of 10 % of the day flow from Monday 00:00 on, day and night, for four days: by day it hides in the
    // demand (within z), at night it stands out. Some night readings fall within z by chance; were they learned,
    // the night's baseline would creep up and the alarm would clear while the leak still runs.
    const leaking = flowReadings({ from: MONDAY, minutes: 4 * 1440, seed: 12, offsetHours: 8, leak: { flow: 0.1 * DAY_MEAN_FLOW, at: () => true } });
    const out = simulateRule(LEAK, flow(leaking), WATER, { timeZone: TZ, from: MONDAY, history: reader(history) });
    const localHour = (at: number) => ((at - MONDAY) % DAY) / HOUR;
    const raises = out.filter((o) => o.kind === 'raised');
    const clears = out.filter((o) => o.kind === 'cleared');
    // Raised every night, in the small hours; cleared only once the morning demand hides the leak.
    expect(raises.map((o) => Math.floor((o.at - MONDAY) / DAY))).toStrictEqual([0, 1, 2, 3]);
    expect(raises.every((o) => localHour(o.at) < 5)).toBe(true);
    expect(clears).toHaveLength(4);
    expect(clears.every((o) => localHour(o.at) >= 5.5 && localHour(o.at) < 8)).toBe(true);
  });

  const store = new MemoryRuleStateStore();
  /** The live engine on a virtual clock over `rows` of `device` (registered only then when it is not wm-1). */
  const run = (from: number, rows: Array<[number, number]>, history?: (q: HistoryQuery) => HistoryReading[], device = 'wm-1') => {
    const log = createLogger('silent');
    const clock = new VirtualClock(from);
    const bus = new Bus(log);
    const actions = new RecordingActions(WATER.map((d) => ({ ...d })));
    const engine = new RuleEngine({ bus, actions, log, timeZone: TZ, clock, state: store, history });
    engine.setRules([LEAK]);
    engine.start();
    if (device !== 'wm-1') actions.list.push({ ...WATER[0], id: device });
    for (const m of flow(rows, device)) {
      clock.advanceTo(m.ts);
      bus.emit('telemetryAccepted', { site: m.site, kind: m.kind, device: m.device, zone: m.zone, ts: m.ts, fields: m.telemetry! });
    }
    engine.stop();
    return actions.calls;
  };

  it('reads the history of the covered devices at start, and of a device that first reports later when it reports', () => {
    const asked: HistoryQuery[] = [];
    const late = MONDAY + 2 * DAY;
    run(MONDAY, flowReadings({ from: late, minutes: 60, seed: 3, offsetHours: 8 }), reader(history, asked), 'wm-2');
    expect(asked.map((q) => [q.device, q.field, q.to - q.from, q.to])).toStrictEqual([
      ['wm-1', 'flowM3h', WEEK, MONDAY],
      ['wm-2', 'flowM3h', WEEK, late],
    ]);
    expect(asked[0].perHour).toBeGreaterThanOrEqual(1);
    store.data.clear();
  });

  it('keeps its baseline across a restart, with no history to read after it', () => {
    // Before the restart: an hour of normal readings, the baseline read from history.
    expect(run(MONDAY, flowReadings({ from: MONDAY, minutes: 60, seed: 4, offsetHours: 8 }), reader(history))).toStrictEqual([]);
    // After it: no history reader at all, a leak at night is still measured against the week before.
    const calls = run(leakFrom - HOUR, flowReadings({ from: leakFrom - HOUR, minutes: 3 * 60, seed: 5, offsetHours: 8, leak }));
    const raises = calls.filter((c) => c.op === 'raise');
    expect(raises).toHaveLength(1);
    expect(raises[0]).toMatchObject({ op: 'raise', req: { type: 'flow_anomaly', source: 'wm-1' } });
    expect((raises[0] as { req: { z?: number } }).req.z).toBeGreaterThan(4);
  });
});

describe('forecast and anomaly alarms in the alarm service', () => {
  const T0 = Date.parse('2026-11-02T08:00:00.000Z');
  const h = harnessPerTest(T0);
  const RAISE = { site: SITE, type: 'transformer_hot_soon', severity: 'major' as const, source: 'tx-1', device: 'tx-1', kind: 'power', rule: 'transformer-hot-soon', message: 'hot soon', value: 78.2 };

  it('stores and publishes eta, expected and z, and republishes an updated eta without raising again', async () => {
    const { alarm } = h.alarms.raise({ ...RAISE, eta: '2026-11-02T10:00:00.000Z' });
    expect(alarm).toMatchObject({ eta: '2026-11-02T10:00:00.000Z', count: 1 });
    await h.drain();
    const updated = h.alarms.updateOpen({ site: SITE, type: RAISE.type, source: 'tx-1' }, { value: 79.9, eta: '2026-11-02T09:40:00.000Z' })!;
    expect(updated).toStrictEqual({ ...alarm, value: 79.9, eta: '2026-11-02T09:40:00.000Z' });
    expect(h.alarms.get(alarm.id)).toStrictEqual(updated);
    const published = await h.drain();
    expect(published.map((p) => [p.topic, p.retain, p.body])).toStrictEqual([[`sc/${SITE}/alarms/major/transformer_hot_soon/tx-1`, true, updated]]);
    expect(h.events.filter((e) => e.event === 'alarmChanged').map((e) => (e.data as { change: string }).change)).toStrictEqual(['updated']);
    expect(h.alarms.transitions(alarm.id).map((t) => t.transition)).toStrictEqual(['raised']);
    const anomaly = h.alarms.raise({ ...RAISE, type: 'flow_anomaly', value: 0.84, expected: 0.41, z: 5.93 }).alarm;
    expect(anomaly).toMatchObject({ value: 0.84, expected: 0.41, z: 5.93 });
    expect(anomaly.eta).toBeUndefined();
  });
});
