import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRuleStateStore } from '../../../src/rules/state.js';
import { afterTimeInside, nextWindowChange, timeInside } from '../../../src/rules/window-time.js';
import { device, harness, RecordingActions, T0, useFakeTime } from './harness.js';

afterEach(() => vi.useRealTimers());

const HOUR = 3_600_000;
const MINUTE = 60_000;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

const CHECKPOINT = `
- id: checkpoint-missed
  match: { kind: access }
  when: { event: access_granted, missing: 2h }
  alarm: { type: checkpoint_missed, severity: major, message: "{device} not scanned" }
`;

const NIGHT_TOUR = `
- id: night-tour
  match: { kind: access }
  when: { event: access_granted, missing: 2h, during: "22:00-06:00" }
  alarm: { type: checkpoint_missed, severity: major }
`;

/** Raise and clear calls as [op, source, ISO time]. */
const edges = (actions: RecordingActions) =>
  actions.calls.flatMap((c): Array<[string, string, string]> =>
    c.op === 'raise' ? [['raise', c.req.source, iso(c.at)]] : c.op === 'clear' ? [['clear', c.key.source, iso(c.at)]] : [],
  );

const scan = (h: ReturnType<typeof harness>, id: string) => h.event(id, 'access_granted', { method: 'card' });

describe('missing', () => {
  it('raises when `missing` passes without the event, counting from the attach for a device never scanned', async () => {
    useFakeTime();
    const h = harness(CHECKPOINT);
    await h.advance(2 * HOUR - 1);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'door-1', 2 * HOUR],
      ['raise', 'door-2', 2 * HOUR],
    ]);
    expect(h.actions.calls[0]).toMatchObject({ req: { type: 'checkpoint_missed', source: 'door-1', device: 'door-1', zone: 'b1-f1', message: 'door-1 not scanned', rule: 'checkpoint-missed' } });
  });

  it('clears on the event and counts again from it, each device on its own', async () => {
    useFakeTime();
    const h = harness(CHECKPOINT);
    await h.advance(30 * MINUTE);
    scan(h, 'door-1');
    await h.advance(90 * MINUTE);
    expect(h.actions.edges()).toStrictEqual([['raise', 'door-2', 2 * HOUR]]);
    await h.advance(30 * MINUTE);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'door-2', 2 * HOUR],
      ['raise', 'door-1', 150 * MINUTE],
    ]);
    await h.advance(30 * MINUTE);
    scan(h, 'door-1');
    scan(h, 'door-1');
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'door-2', 2 * HOUR],
      ['raise', 'door-1', 150 * MINUTE],
      ['clear', 'door-1', 3 * HOUR],
    ]);
    await h.advance(2 * HOUR);
    expect(h.actions.edges().slice(3)).toStrictEqual([['raise', 'door-1', 5 * HOUR]]);
  });

  it('does not raise while the event keeps coming in time', async () => {
    useFakeTime();
    const h = harness(CHECKPOINT);
    for (let i = 0; i < 6; i++) {
      await h.advance(HOUR + 59 * MINUTE);
      scan(h, 'door-1');
      scan(h, 'door-2');
    }
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('watches only devices of kinds that have the event, and a device registered later from its first message', async () => {
    useFakeTime();
    const actions = new RecordingActions();
    const h = harness(
      `
- id: checkpoint-missed
  when: { event: access_granted, missing: 1h }
  alarm: { type: checkpoint_missed, severity: major }
`,
      { actions },
    );
    await h.advance(30 * MINUTE);
    actions.list.push(device('door-3', 'access', 'b3-f1'));
    h.telemetry('door-3', { locked: true });
    h.telemetry('cam-1', { fps: 25 });
    await h.advance(HOUR);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'door-1', HOUR],
      ['raise', 'door-2', HOUR],
      ['raise', 'door-3', 90 * MINUTE],
    ]);
  });

  it('takes `per: device` as the default it is', async () => {
    useFakeTime();
    const h = harness(CHECKPOINT.replace('missing: 2h', 'missing: 2h, per: device'));
    await h.advance(2 * HOUR);
    expect(h.actions.edges()).toHaveLength(2);
  });
});

describe('missing with during', () => {
  it('counts only time inside the window: nothing scanned since 22:00 raises at 00:00, and the window’s close clears it', async () => {
    useFakeTime(at('2025-01-06T12:00:00Z'));
    const h = harness(NIGHT_TOUR);
    await h.advance(at('2025-01-07T00:00:00Z') - Date.now() - 1);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(edges(h.actions)).toStrictEqual([
      ['raise', 'door-1', '2025-01-07T00:00:00.000Z'],
      ['raise', 'door-2', '2025-01-07T00:00:00.000Z'],
    ]);
    await h.advance(HOUR);
    scan(h, 'door-1');
    await h.advance(5 * HOUR);
    expect(edges(h.actions).slice(2)).toStrictEqual([
      ['clear', 'door-1', '2025-01-07T01:00:00.000Z'],
      ['raise', 'door-1', '2025-01-07T03:00:00.000Z'],
      ['clear', 'door-2', '2025-01-07T06:00:00.000Z'],
      ['clear', 'door-1', '2025-01-07T06:00:00.000Z'],
    ]);
  });

  it('keeps time counted before the window closed and adds to it when the window opens again', async () => {
    useFakeTime(at('2025-01-07T04:30:00Z'));
    const h = harness(NIGHT_TOUR);
    await h.advance(30 * MINUTE);
    scan(h, 'door-1');
    // door-2 has 1 h 30 counted by 06:00, door-1 1 h: the day adds nothing.
    await h.advance(at('2025-01-07T22:30:00Z') - Date.now() - 1);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(edges(h.actions)).toStrictEqual([['raise', 'door-2', '2025-01-07T22:30:00.000Z']]);
    await h.advance(30 * MINUTE);
    expect(edges(h.actions)).toStrictEqual([
      ['raise', 'door-2', '2025-01-07T22:30:00.000Z'],
      ['raise', 'door-1', '2025-01-07T23:00:00.000Z'],
    ]);
  });

  it('takes a scan by day as a scan: the count starts again from it', async () => {
    useFakeTime(at('2025-01-07T05:00:00Z'));
    const h = harness(NIGHT_TOUR.replace('kind: access', 'devices: [door-1]'));
    await h.advance(10 * HOUR);
    scan(h, 'door-1');
    await h.advance(at('2025-01-08T00:00:00Z') - Date.now());
    expect(edges(h.actions)).toStrictEqual([['raise', 'door-1', '2025-01-08T00:00:00.000Z']]);
  });

  it('counts a night that daylight saving makes an hour shorter as it is', async () => {
    // Europe/London, 30 March 2025: 01:00 GMT becomes 02:00 BST; the night 22:00-06:00 lasts 7 h.
    useFakeTime(at('2025-03-29T12:00:00Z'));
    const h = harness(NIGHT_TOUR.replace('missing: 2h', 'missing: 8h').replace('kind: access', 'devices: [door-1]'), { timeZone: 'Europe/London' });
    await h.advance(at('2025-03-30T22:00:00Z') - Date.now() - 1);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    // 7 h that night, then the eighth from 22:00 BST (21:00Z) the next evening.
    expect(edges(h.actions)).toStrictEqual([['raise', 'door-1', '2025-03-30T22:00:00.000Z']]);
  });

  it('counts a night that daylight saving makes an hour longer as it is', async () => {
    // Europe/London, 26 October 2025: 02:00 BST becomes 01:00 GMT; 22:00 BST (21:00Z) to 06:00 GMT lasts 9 h.
    useFakeTime(at('2025-10-25T12:00:00Z'));
    const h = harness(NIGHT_TOUR.replace('missing: 2h', 'missing: 510m').replace('kind: access', 'devices: [door-1]'), { timeZone: 'Europe/London' });
    await h.advance(at('2025-10-26T06:00:00Z') - Date.now());
    expect(edges(h.actions)).toStrictEqual([
      ['raise', 'door-1', '2025-10-26T05:30:00.000Z'],
      ['clear', 'door-1', '2025-10-26T06:00:00.000Z'],
    ]);
  });
});

describe('missing across a restart or reload', () => {
  it('resumes a count after detach and attach where it was', async () => {
    useFakeTime();
    const store = new MemoryRuleStateStore();
    const h = harness(CHECKPOINT, { state: store });
    await h.advance(30 * MINUTE);
    scan(h, 'door-1');
    await h.advance(30 * MINUTE);
    h.engine.stop();
    vi.setSystemTime(T0 + 90 * MINUTE);
    const h2 = harness(CHECKPOINT, { state: store, actions: h.actions });
    await h2.advance(30 * MINUTE - 1);
    expect(h2.actions.calls).toStrictEqual([]);
    await h2.advance(1);
    // From the attach before the restart (door-2) and from the scan (door-1), not from the restart.
    expect(h2.actions.edges()).toStrictEqual([['raise', 'door-2', 2 * HOUR]]);
    await h2.advance(30 * MINUTE);
    expect(h2.actions.edges()).toStrictEqual([
      ['raise', 'door-2', 2 * HOUR],
      ['raise', 'door-1', 150 * MINUTE],
    ]);
  });

  it('raises at once a count that ran out while the gateway was down, and does not raise again one already raised', async () => {
    useFakeTime();
    const store = new MemoryRuleStateStore();
    const h = harness(CHECKPOINT, { state: store });
    await h.advance(HOUR);
    scan(h, 'door-1');
    await h.advance(HOUR);
    expect(h.actions.edges()).toStrictEqual([['raise', 'door-2', 2 * HOUR]]);
    h.engine.stop();
    vi.setSystemTime(T0 + 5 * HOUR);
    const h2 = harness(CHECKPOINT, { state: store, actions: h.actions });
    await h2.advance(0);
    expect(h2.actions.edges()).toStrictEqual([
      ['raise', 'door-2', 2 * HOUR],
      ['raise', 'door-1', 5 * HOUR],
    ]);
    scan(h2, 'door-2');
    expect(h2.actions.edges().slice(2)).toStrictEqual([['clear', 'door-2', 5 * HOUR]]);
  });

  it('keeps time counted inside the window across a restart, and adds none for the day it was down', async () => {
    useFakeTime(at('2025-01-07T05:00:00Z'));
    const store = new MemoryRuleStateStore();
    const yaml = NIGHT_TOUR.replace('kind: access', 'devices: [door-1]');
    const h = harness(yaml, { state: store });
    await h.advance(30 * MINUTE);
    h.engine.stop();
    vi.setSystemTime(at('2025-01-07T12:00:00Z'));
    const h2 = harness(yaml, { state: store, actions: h.actions });
    await h2.advance(at('2025-01-07T23:00:00Z') - Date.now() - 1);
    expect(h2.actions.calls).toStrictEqual([]);
    await h2.advance(1);
    expect(edges(h2.actions)).toStrictEqual([['raise', 'door-1', '2025-01-07T23:00:00.000Z']]);
  });

  it('keeps counts through a reload of the rules', async () => {
    useFakeTime();
    const h = harness(CHECKPOINT);
    await h.advance(HOUR);
    h.engine.setRules(h.engine.loaded());
    await h.advance(HOUR);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'door-1', 2 * HOUR],
      ['raise', 'door-2', 2 * HOUR],
    ]);
  });
});

describe('time inside a window', () => {
  const NIGHT = { text: '22:00-06:00', start: 22 * 60, end: 6 * 60 };

  it('adds the parts of a span inside the window, across midnight and across days', () => {
    expect(timeInside(NIGHT, at('2025-01-06T12:00:00Z'), at('2025-01-07T12:00:00Z'), 'UTC')).toBe(8 * HOUR);
    expect(timeInside(NIGHT, at('2025-01-06T23:00:00Z'), at('2025-01-08T01:00:00Z'), 'UTC')).toBe(7 * HOUR + 3 * HOUR);
    expect(timeInside(undefined, 0, 5000, 'UTC')).toBe(5000);
  });

  it('finds when a span holds a given time inside the window', () => {
    expect(iso(afterTimeInside(NIGHT, at('2025-01-06T12:00:00Z'), 2 * HOUR, 'UTC'))).toBe('2025-01-07T00:00:00.000Z');
    expect(iso(afterTimeInside(NIGHT, at('2025-01-07T05:00:00Z'), 2 * HOUR, 'UTC'))).toBe('2025-01-07T23:00:00.000Z');
    expect(iso(afterTimeInside(NIGHT, at('2025-01-06T12:00:00Z'), 20 * HOUR, 'UTC'))).toBe('2025-01-09T02:00:00.000Z');
  });

  it('sees a window opened by the clocks jumping into it', () => {
    // 01:30-03:00 London on 30 March 2025: 01:30 never comes; the jump to 02:00 BST (01:00Z) opens it.
    const w = { text: '01:30-03:00', start: 90, end: 180 };
    expect(iso(nextWindowChange(w, at('2025-03-29T23:00:00Z'), 'Europe/London'))).toBe('2025-03-30T01:00:00.000Z');
    expect(iso(nextWindowChange(w, at('2025-03-30T01:00:00Z'), 'Europe/London'))).toBe('2025-03-30T02:00:00.000Z');
    expect(timeInside(w, at('2025-03-29T12:00:00Z'), at('2025-03-30T12:00:00Z'), 'Europe/London')).toBe(HOUR);
  });
});
