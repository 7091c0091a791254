import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlarmRaise } from '../../../src/alarms/model.js';
import { harnessPerTest } from './harness.js';

const T0 = Date.parse('2025-03-01T08:00:00.000Z');
const SITE = 'maple-court';

const FIRE: AlarmRaise = {
  site: SITE,
  type: 'fire_alarm',
  severity: 'major',
  source: 'fire-b1-01',
  device: 'fire-b1-01',
  kind: 'fire',
  zone: 'b1-f2',
  rule: 'fire-alarm',
  message: 'Fire alarm from fire-b1-01 in b1-f2',
  lifeSafety: true,
};
const FIRE_TOPIC = `sc/${SITE}/alarms/critical/fire_alarm/fire-b1-01`;

/** A device's absent alarm (topology suppression holds these back). */
const silent = (device: string, zone = 'b1-f3'): AlarmRaise => ({
  site: SITE,
  type: 'device_silent',
  severity: 'minor',
  source: device,
  device,
  kind: 'lighting',
  zone,
  rule: 'device-silent',
  message: `${device} silent`,
  suppressible: { afterMs: 60_000 },
});

const mainsLoss: AlarmRaise = {
  site: SITE,
  type: 'mains_loss',
  severity: 'critical',
  source: 'power-b1',
  device: 'power-b1',
  kind: 'power',
  zone: 'b1-power',
  rule: 'mains-loss',
  message: 'Mains lost at power-b1',
};

const h = harnessPerTest(T0);
const drain = () => h.drain();

describe('fire semantics', () => {
  it('raises a fire alarm critical at once, whatever its rule says', async () => {
    const { alarm } = h.alarms.raise(FIRE);
    expect(alarm).toMatchObject({ severity: 'critical', state: 'active', acknowledged: false, lifeSafety: true });
    expect((await drain()).map((p) => [p.topic, p.retain])).toStrictEqual([[FIRE_TOPIC, true]]);
  });

  it("keeps a fire alarm the detector reset before anyone acknowledged it retained, cleared and unacknowledged; the acknowledgement closes it", async () => {
    const { alarm } = h.alarms.raise(FIRE);
    await drain();
    h.alarms.clearByKey(FIRE, 'rule:fire-alarm');
    const [kept] = await drain();
    expect(kept).toMatchObject({ topic: FIRE_TOPIC, retain: true, body: { id: alarm.id, state: 'cleared', acknowledged: false } });
    expect(h.alarms.list({ state: 'open' }).map((a) => a.id)).toStrictEqual([alarm.id]);

    const acked = h.alarms.ack(alarm.id, 'Desk');
    expect(acked).toMatchObject({ state: 'cleared', acknowledged: true, ackedBy: 'Desk' });
    expect(await drain()).toStrictEqual([
      { topic: FIRE_TOPIC, retain: false, qos: 1, body: acked },
      { topic: FIRE_TOPIC, retain: true, qos: 1, body: '' },
    ]);
    expect(h.alarms.list({ state: 'open' })).toStrictEqual([]);
  });

  it('raises the same alarm again when the fire returns before anyone acknowledged it', () => {
    const first = h.alarms.raise(FIRE).alarm;
    h.alarms.clearByKey(FIRE, 'rule:fire-alarm');
    const again = h.alarms.raise(FIRE);
    expect(again.raised).toBe(false);
    expect(again.alarm).toMatchObject({ id: first.id, state: 'active', count: 2, acknowledged: false });
    expect(again.alarm.clearedAt).toBeUndefined();
  });

  it('lets an ordinary alarm clear as before', async () => {
    h.alarms.raise(silent('lamp-1'));
    await drain();
    h.alarms.clearByKey({ site: SITE, type: 'device_silent', source: 'lamp-1' }, 'rule:device-silent');
    expect((await drain()).map((p) => p.retain)).toStrictEqual([false, true]);
    expect(h.alarms.list({ state: 'open' })).toStrictEqual([]);
  });
});

describe('incidents', () => {
  it('groups alarms of one zone raised within 5 minutes, and starts a new incident after', () => {
    const a = h.alarms.raise(silent('lamp-1')).alarm;
    vi.setSystemTime(T0 + 4 * 60_000);
    const b = h.alarms.raise(silent('lamp-2')).alarm;
    vi.setSystemTime(T0 + 10 * 60_000);
    const c = h.alarms.raise(silent('lamp-3')).alarm;
    const d = h.alarms.raise(silent('lamp-4', 'b2-f1')).alarm;
    expect(b.incident).toBe(a.incident);
    expect(c.incident).not.toBe(a.incident);
    expect(d.incident).not.toBe(c.incident);
    expect(h.alarms.incidents.get(a.incident!)).toMatchObject({ state: 'open', alarms: [a.id, b.id], open: 2, counts: { device_silent: 2 } });
  });

  it('groups by parent, but never puts a fire into another incident than its zone', () => {
    h.devices.parents.set('lamp-1', 'power-b1');
    h.devices.parents.set('fire-b1-01', 'power-b1');
    const power = h.alarms.raise(mainsLoss).alarm;
    const lamp = h.alarms.raise({ ...silent('lamp-1'), type: 'lamp_fault', suppressible: undefined }).alarm;
    const fire = h.alarms.raise(FIRE).alarm;
    expect(lamp.incident).toBe(power.incident);
    expect(fire.incident).not.toBe(power.incident);
    expect(h.alarms.incidents.get(fire.incident!)).toMatchObject({ lifeSafety: true, severity: 'critical' });
  });

  it('publishes an open incident retained and closes it with its last alarm', async () => {
    const a = h.alarms.raise(silent('lamp-1')).alarm;
    await h.settled();
    const topic = `sc/${SITE}/incidents/${a.incident}`;
    expect(h.incidentPublishes.at(-1)).toMatchObject({ topic, retain: true, body: { state: 'open', open: 1 } });
    h.alarms.clear(a.id, 'Desk');
    await h.settled();
    expect(h.incidentPublishes.slice(-2)).toMatchObject([
      { topic, retain: false, body: { state: 'closed', open: 0 } },
      { topic, retain: true, body: '' },
    ]);
  });
});

describe('topology suppression', () => {
  beforeEach(() => {
    for (let i = 0; i < 3; i++) h.devices.parents.set(`lamp-${i}`, 'power-b1');
  });

  it("folds the silent alarms of a down parent's devices into the parent's alarm", async () => {
    const power = h.alarms.raise(mainsLoss).alarm;
    for (let i = 0; i < 3; i++) expect(h.alarms.raise(silent(`lamp-${i}`)).held).toBe(true);
    expect(h.alarms.get(power.id)).toMatchObject({ suppressed: 3 });
    expect(h.alarms.list({ state: 'open' }).map((a) => a.type)).toStrictEqual(['mains_loss']);
    await h.settled();
    expect(h.published.filter((p) => p.topic.includes('device_silent'))).toStrictEqual([]);
  });

  it('never holds back a life-safety alarm', () => {
    h.devices.parents.set('fire-b1-01', 'power-b1');
    h.devices.offline.add('power-b1');
    expect(h.alarms.raise(FIRE).raised).toBe(true);
  });

  it('raises the alarms of devices still silent after their own wait once the parent recovers, and not of those seen again', () => {
    h.alarms.raise(mainsLoss);
    for (let i = 0; i < 3; i++) h.alarms.raise(silent(`lamp-${i}`));
    vi.setSystemTime(T0 + 120_000);
    h.alarms.clearByKey(mainsLoss, 'rule:mains-loss');
    // The mains loss is critical: cleared, it awaits acknowledgement, but the power is back.
    vi.advanceTimersByTime(30_000);
    h.devices.lastSeen.set('lamp-0', Date.now());
    expect(h.alarms.list({ state: 'active' })).toStrictEqual([]);
    vi.advanceTimersByTime(31_000);
    expect(h.alarms.list({ state: 'active' }).map((a) => a.source).sort()).toStrictEqual(['lamp-1', 'lamp-2']);
  });

  it('holds back while the parent is offline and counts them on its own alarm when it comes', () => {
    h.devices.offline.add('power-b1');
    h.alarms.raise(silent('lamp-0'));
    h.alarms.raise(silent('lamp-1'));
    const parent = h.alarms.raise({ ...silent('power-b1', 'b1-power'), kind: 'power' }).alarm;
    expect(parent).toMatchObject({ suppressed: 2 });
  });
});

describe('silences', () => {
  it('stores an alarm raised under a silence without publishing it, and publishes it when the silence ends', async () => {
    const s = h.alarms.silences.create({ site: SITE, match: { zone: 'b1-f3' }, to: new Date(T0 + 60_000).toISOString(), reason: 'relamping' }, 'Desk');
    expect(s).toMatchObject({ state: 'active', createdBy: 'Desk' });
    const { alarm } = h.alarms.raise(silent('lamp-1'));
    expect(alarm.silenced).toBe(s.id);
    expect(await drain()).toStrictEqual([]);
    vi.advanceTimersByTime(60_000);
    const published = await drain();
    expect(published).toMatchObject([{ topic: `sc/${SITE}/alarms/minor/device_silent/lamp-1`, retain: true }]);
    expect(published[0].body.silenced).toBeUndefined();
  });

  it('never hides a fire alarm, and marks it as a test under a fire-test silence', async () => {
    h.alarms.silences.create({ site: SITE, match: { zone: 'b1-f2' }, to: new Date(T0 + 60_000).toISOString(), reason: 'detector test', fireTest: true }, 'Desk');
    const { alarm } = h.alarms.raise(FIRE);
    expect(alarm).toMatchObject({ severity: 'critical', test: true });
    expect(alarm.silenced).toBeUndefined();
    expect((await drain()).map((p) => p.topic)).toStrictEqual([FIRE_TOPIC]);
  });

  it('refuses a silence that names nothing, has no reason or ends in the past, naming the field', () => {
    const to = new Date(T0 + 60_000).toISOString();
    expect(() => h.alarms.silences.create({ site: SITE, match: {}, to, reason: 'x' }, 'Desk')).toThrow(/^match: must name at least one/);
    expect(() => h.alarms.silences.create({ site: SITE, match: { zone: 'a' }, to, reason: ' ' }, 'Desk')).toThrow(/^reason: must say why/);
    expect(() => h.alarms.silences.create({ site: SITE, match: { zone: 'a' }, to: new Date(T0 - 1).toISOString(), reason: 'x' }, 'Desk')).toThrow(/^to: /);
  });
});
