import { describe, expect, it, vi } from 'vitest';
import type { AlarmRaise } from '../../../src/alarms/model.js';
import { GatewayError } from '../../../src/errors.js';
import { harnessPerTest } from './harness.js';

const T0 = Date.parse('2025-03-01T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const SMOKE: AlarmRaise = {
  site: 'maple-court',
  type: 'smoke',
  severity: 'major',
  source: 'fire-b3-01',
  device: 'fire-b3-01',
  kind: 'fire',
  zone: 'b3-f12',
  rule: 'fire-smoke',
  message: 'Smoke 12% at fire-b3-01',
  value: 12,
};
const TOPIC = (severity: string) => `sc/maple-court/alarms/${severity}/smoke/fire-b3-01`;

const h = harnessPerTest(T0);
const drain = () => h.drain();

function expectIllegal(fn: () => unknown, message: string) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect({ code: (err as GatewayError).code, status: (err as GatewayError).statusCode, message: (err as Error).message }).toStrictEqual({
      code: 'illegal_transition',
      status: 409,
      message,
    });
    return;
  }
  throw new Error('expected an illegal transition');
}

describe('AlarmService.raise', () => {
  it('raises a new active alarm, stores it, writes its point and publishes it retained', async () => {
    const { alarm, raised } = h.alarms.raise(SMOKE);
    const expected = {
      id: alarm.id,
      site: 'maple-court',
      type: 'smoke',
      severity: 'major',
      state: 'active',
      acknowledged: false,
      source: 'fire-b3-01',
      device: 'fire-b3-01',
      kind: 'fire',
      zone: 'b3-f12',
      rule: 'fire-smoke',
      message: 'Smoke 12% at fire-b3-01',
      // A raise with one message says it in every language.
      messages: { 'zh-CN': 'Smoke 12% at fire-b3-01', en: 'Smoke 12% at fire-b3-01' },
      firstSeen: iso(T0),
      lastSeen: iso(T0),
      count: 1,
      value: 12,
      incident: alarm.incident,
    };
    expect(raised).toBe(true);
    expect(alarm.incident).toMatch(/^inc-/);
    expect(alarm).toStrictEqual(expected);
    expect(alarm.id).toMatch(/^alm-/);
    expect(h.alarms.get(alarm.id)).toStrictEqual(expected);
    expect(await drain()).toStrictEqual([{ topic: TOPIC('major'), retain: true, qos: 1, body: expected }]);
    expect(h.lines).toStrictEqual([
      `alarms,severity=major,site=maple-court,source=fire-b3-01,type=smoke state="active",id="${alarm.id}",value=12 ${T0}`,
    ]);
    expect(h.events).toStrictEqual([{ event: 'alarmRaised', data: { alarm: expected } }]);
  });

  it('takes firstSeen from the time of the fact behind it', () => {
    const { alarm } = h.alarms.raise({ ...SMOKE, at: T0 - 5000 });
    expect([alarm.firstSeen, alarm.lastSeen]).toStrictEqual([iso(T0 - 5000), iso(T0 - 5000)]);
  });

  it('bumps count, lastSeen, value and message of the open alarm instead of raising a second', async () => {
    const first = h.alarms.raise(SMOKE).alarm;
    await drain();
    vi.setSystemTime(T0 + 1000);
    const { alarm, raised } = h.alarms.raise({ ...SMOKE, value: 15, message: 'Smoke 15% at fire-b3-01' });
    const messages = { 'zh-CN': 'Smoke 15% at fire-b3-01', en: 'Smoke 15% at fire-b3-01' };
    const expected = { ...first, count: 2, lastSeen: iso(T0 + 1000), value: 15, message: 'Smoke 15% at fire-b3-01', messages };
    expect(raised).toBe(false);
    expect(alarm).toStrictEqual(expected);
    expect(h.alarms.list()).toStrictEqual([expected]);
    expect(await drain()).toStrictEqual([{ topic: TOPIC('major'), retain: true, qos: 1, body: expected }]);
    expect(h.lines).toHaveLength(1); // a bump is not a transition
    expect(h.events.at(-1)).toStrictEqual({ event: 'alarmChanged', data: { alarm: expected, change: 'bumped' } });
  });

  it('moves the retained message to the new severity topic when a raise changes the severity', async () => {
    const first = h.alarms.raise(SMOKE).alarm;
    await drain();
    const { alarm } = h.alarms.raise({ ...SMOKE, severity: 'critical' });
    expect(alarm).toStrictEqual({ ...first, severity: 'critical', count: 2 });
    expect(await drain()).toStrictEqual([
      { topic: TOPIC('major'), retain: true, qos: 1, body: '' },
      { topic: TOPIC('critical'), retain: true, qos: 1, body: alarm },
    ]);
    expect(h.lines[1]).toMatch(/^alarms,severity=critical,.* state="active"/);
    expect(h.alarms.transitions(alarm.id).map((t) => t.transition)).toStrictEqual(['raised', 'severity_changed']);
    expect(h.events.at(-1)).toStrictEqual({ event: 'alarmChanged', data: { alarm, change: 'severity_changed', previousSeverity: 'major' } });
  });

  it('keeps an acknowledged alarm acknowledged when it is raised again', () => {
    const { id } = h.alarms.raise(SMOKE).alarm;
    h.alarms.ack(id, 'Desk');
    const { alarm, raised } = h.alarms.raise(SMOKE);
    expect([raised, alarm.id, alarm.state, alarm.count]).toStrictEqual([false, id, 'acknowledged', 2]);
  });

  it('raises a new alarm once the previous one of the same key is cleared', () => {
    const first = h.alarms.raise(SMOKE).alarm;
    h.alarms.clear(first.id, 'Desk');
    const { alarm, raised } = h.alarms.raise(SMOKE);
    expect([raised, alarm.id !== first.id, alarm.count, alarm.state]).toStrictEqual([true, true, 1, 'active']);
  });

  it('refuses a type or source that would break the topic', () => {
    expect(() => h.alarms.raise({ ...SMOKE, type: 'smoke/#' })).toThrow('type: must be 1-64 letters, digits, _ or -');
    expect(() => h.alarms.raise({ ...SMOKE, source: '+' })).toThrow('source:');
  });
});

describe('AlarmService ack and clear', () => {
  it('acknowledges an active alarm, recording who, when and the note', async () => {
    const raised = h.alarms.raise(SMOKE).alarm;
    await drain();
    vi.setSystemTime(T0 + 60_000);
    const alarm = h.alarms.ack(raised.id, 'Desk', 'on my way');
    const expected = { ...raised, state: 'acknowledged', acknowledged: true, ackedBy: 'Desk', ackedAt: iso(T0 + 60_000), note: 'on my way' };
    expect(alarm).toStrictEqual(expected);
    expect(await drain()).toStrictEqual([{ topic: TOPIC('major'), retain: true, qos: 1, body: expected }]);
    expect(h.lines[1]).toBe(
      `alarms,severity=major,site=maple-court,source=fire-b3-01,type=smoke state="acknowledged",id="${raised.id}",value=12 ${T0 + 60_000}`,
    );
    expect(h.events.at(-1)).toStrictEqual({ event: 'alarmChanged', data: { alarm: expected, change: 'acknowledged' } });
  });

  it('clears an open alarm: the final JSON not retained, then the retained message deleted', async () => {
    const raised = h.alarms.raise(SMOKE).alarm;
    await drain();
    vi.setSystemTime(T0 + 90_000);
    const alarm = h.alarms.clear(raised.id, 'Desk', 'false alarm: dust');
    // A person's clear acknowledges it too (contract §11: their duty is done).
    const at = iso(T0 + 90_000);
    const expected = { ...raised, state: 'cleared', acknowledged: true, ackedBy: 'Desk', ackedAt: at, clearedBy: 'Desk', clearedAt: at, note: 'false alarm: dust' };
    expect(alarm).toStrictEqual(expected);
    expect(await drain()).toStrictEqual([
      { topic: TOPIC('major'), retain: false, qos: 1, body: expected },
      { topic: TOPIC('major'), retain: true, qos: 1, body: '' },
    ]);
    expect(h.alarms.openFor(SMOKE)).toBeUndefined();
    expect(h.events.at(-1)).toStrictEqual({ event: 'alarmCleared', data: { alarm: expected } });
  });

  it('clears an acknowledged alarm and keeps the note of the ack when the clear has none', () => {
    const { id } = h.alarms.raise(SMOKE).alarm;
    h.alarms.ack(id, 'Desk', 'on my way');
    expect(h.alarms.clear(id, 'Desk')).toMatchObject({ state: 'cleared', ackedBy: 'Desk', clearedBy: 'Desk', note: 'on my way' });
  });

  it('refuses to acknowledge an acknowledged or cleared alarm, and to clear a cleared one', () => {
    const { id } = h.alarms.raise(SMOKE).alarm;
    h.alarms.ack(id, 'Desk');
    expectIllegal(() => h.alarms.ack(id, 'Desk'), `alarm ${id} is already acknowledged`);
    h.alarms.clear(id, 'Desk');
    expectIllegal(() => h.alarms.ack(id, 'Desk'), `alarm ${id} is cleared and cannot be acknowledged`);
    expectIllegal(() => h.alarms.clear(id, 'Desk'), `alarm ${id} is already cleared`);
  });

  it('answers not_found for an unknown alarm', () => {
    for (const fn of [() => h.alarms.ack('alm-x', 'Desk'), () => h.alarms.clear('alm-x', 'Desk'), () => h.alarms.link('alm-x', 'wo-1')]) {
      expect(fn).toThrow('alarm "alm-x" does not exist');
    }
  });

  it('clears by key for a rule, and does nothing when no alarm of the key is open', () => {
    const { id } = h.alarms.raise(SMOKE).alarm;
    expect(h.alarms.clearByKey(SMOKE, 'rule:fire-smoke')).toMatchObject({ id, state: 'cleared', clearedBy: 'rule:fire-smoke' });
    expect(h.alarms.clearByKey(SMOKE, 'rule:fire-smoke')).toBeUndefined();
  });

  it('records every transition with who and the note', () => {
    const { id } = h.alarms.raise(SMOKE).alarm;
    h.alarms.raise(SMOKE);
    h.alarms.ack(id, 'Desk', 'seen');
    h.alarms.clear(id, 'Ana');
    expect(h.alarms.transitions(id).map(({ transition, by, note }) => ({ transition, by, note }))).toStrictEqual([
      { transition: 'raised', by: 'fire-smoke', note: undefined },
      { transition: 'acknowledged', by: 'Desk', note: 'seen' },
      { transition: 'cleared', by: 'Ana', note: undefined },
    ]);
  });

  it('links a work order to the alarm and republishes it', async () => {
    const raised = h.alarms.raise(SMOKE).alarm;
    await drain();
    const alarm = h.alarms.link(raised.id, 'wo-1');
    expect(alarm).toStrictEqual({ ...raised, workOrder: 'wo-1' });
    expect(await drain()).toStrictEqual([{ topic: TOPIC('major'), retain: true, qos: 1, body: alarm }]);
  });

  it('still changes the alarm when publishing fails', async () => {
    h.failPublish = true;
    const { alarm } = h.alarms.raise(SMOKE);
    await h.settled();
    expect(h.alarms.get(alarm.id)?.state).toBe('active');
    expect(h.alarms.ack(alarm.id, 'Desk').state).toBe('acknowledged');
    await h.settled();
    expect(h.published).toStrictEqual([]);
    h.failPublish = false;
    h.alarms.clear(alarm.id, 'Desk');
    expect((await drain()).map((p) => p.body === '')).toStrictEqual([false, true]);
  });
});

describe('AlarmService start and queries', () => {
  it('republishes every open alarm retained at start, and no cleared one', async () => {
    const active = h.alarms.raise(SMOKE).alarm;
    const acked = h.alarms.ack(h.alarms.raise({ ...SMOKE, source: 'fire-b3-02' }).alarm.id, 'Desk');
    h.alarms.clear(h.alarms.raise({ ...SMOKE, source: 'fire-b3-03' }).alarm.id, 'Desk');
    await drain();
    await h.alarms.stop();
    h.restart();
    h.alarms.start();
    expect(await drain()).toStrictEqual([
      { topic: TOPIC('major'), retain: true, qos: 1, body: active },
      { topic: 'sc/maple-court/alarms/major/smoke/fire-b3-02', retain: true, qos: 1, body: acked },
    ]);
  });

  it('lists alarms newest first, filtered by state, severity, site, type and sites', () => {
    const a = h.alarms.raise(SMOKE).alarm;
    vi.setSystemTime(T0 + 1000);
    const b = h.alarms.raise({ ...SMOKE, type: 'heat', severity: 'critical' }).alarm;
    vi.setSystemTime(T0 + 2000);
    const c = h.alarms.raise({ ...SMOKE, site: 'oak-park' }).alarm;
    const cleared = h.alarms.clear(a.id, 'Desk');
    const ids = (list: Array<{ id: string }>) => list.map((x) => x.id);
    expect(h.alarms.list()).toStrictEqual([c, b, cleared]);
    expect(ids(h.alarms.list({ state: 'active' }))).toStrictEqual([c.id, b.id]);
    expect(ids(h.alarms.list({ severity: 'critical' }))).toStrictEqual([b.id]);
    expect(ids(h.alarms.list({ site: 'maple-court', type: 'smoke' }))).toStrictEqual([a.id]);
    expect(ids(h.alarms.list({ sites: ['oak-park'] }))).toStrictEqual([c.id]);
    expect(ids(h.alarms.list({ site: 'maple-court', sites: ['oak-park'] }))).toStrictEqual([]);
    expect(ids(h.alarms.list({ sites: [] }))).toStrictEqual([]);
    expect(ids(h.alarms.list({ limit: 1 }))).toStrictEqual([c.id]);
  });

  it('finds the open alarm of a key', () => {
    const { alarm } = h.alarms.raise(SMOKE);
    expect(h.alarms.openFor({ site: 'maple-court', type: 'smoke', source: 'fire-b3-01' })).toStrictEqual(alarm);
    expect(h.alarms.openFor({ site: 'oak-park', type: 'smoke', source: 'fire-b3-01' })).toBeUndefined();
  });
});
