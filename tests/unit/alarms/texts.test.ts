import { describe, expect, it } from 'vitest';
import type { AlarmRaise } from '../../../src/alarms/model.js';
import type { SitePlaces } from '../../../src/shared/language.js';
import { harnessPerTest } from './harness.js';

const T0 = Date.parse('2025-03-01T08:00:00.000Z');
const h = harnessPerTest(T0);

const MESSAGES = { 'zh-CN': 'fire-b3-01（b3-f12）烟雾 12%', en: 'Smoke 12% at fire-b3-01 (b3-f12)' };
const SMOKE: AlarmRaise = {
  site: 'maple-court',
  type: 'smoke',
  severity: 'major',
  source: 'fire-b3-01',
  device: 'fire-b3-01',
  kind: 'fire',
  zone: 'b3-f12',
  rule: 'fire-smoke',
  message: MESSAGES['zh-CN'],
  messages: MESSAGES,
  value: 12,
};

/** maple-court's file is in English and knows floor b3-f12; oak-park has none. */
const PLACES: SitePlaces = {
  language: (site) => (site === 'maple-court' ? 'en' : 'zh-CN'),
  place: (site, zone) => (site === 'maple-court' && zone === 'b3-f12' ? { zoneName: 'Floor 12', buildingName: 'Building 3' } : {}),
  timeZone: () => 'Asia/Shanghai',
};

describe('alarm texts', () => {
  it('says the message in Chinese by default and carries it in every language', async () => {
    const { alarm } = h.alarms.raise(SMOKE);
    expect([alarm.message, alarm.messages, alarm.zoneName, alarm.buildingName]).toStrictEqual([MESSAGES['zh-CN'], MESSAGES, undefined, undefined]);
    const [published] = await h.drain();
    expect(published.body).toStrictEqual(alarm);
  });

  it("says the message in the site's first language, with the names of its zone and building", async () => {
    h.places = PLACES;
    const { alarm } = h.alarms.raise(SMOKE);
    expect(alarm).toMatchObject({ message: MESSAGES.en, messages: MESSAGES, zone: 'b3-f12', zoneName: 'Floor 12', buildingName: 'Building 3' });
    expect(h.alarms.get(alarm.id)).toStrictEqual(alarm);
    const other = h.alarms.raise({ ...SMOKE, site: 'oak-park' }).alarm;
    expect([other.message, other.zoneName, other.buildingName]).toStrictEqual([MESSAGES['zh-CN'], undefined, undefined]);
    await h.drain();
  });

  it('takes the texts of each raise again when it bumps the open alarm', async () => {
    h.places = PLACES;
    h.alarms.raise(SMOKE);
    const bumped = { 'zh-CN': 'fire-b3-01（b3-f12）烟雾 15%', en: 'Smoke 15% at fire-b3-01 (b3-f12)' };
    const { alarm, raised } = h.alarms.raise({ ...SMOKE, value: 15, message: bumped['zh-CN'], messages: bumped });
    expect([raised, alarm.count, alarm.message, alarm.messages]).toStrictEqual([false, 2, bumped.en, bumped]);
    await h.drain();
  });

  it('reads an alarm stored before it had messages and names', () => {
    const { alarm } = h.alarms.raise({ ...SMOKE, messages: undefined });
    const { messages: _m, ...old } = alarm;
    h.store.db.prepare('UPDATE alarms SET body = ? WHERE id = ?').run(JSON.stringify(old), alarm.id);
    expect(h.alarms.get(alarm.id)).toStrictEqual(old);
    expect(h.alarms.list({ state: 'open' })).toStrictEqual([old]);
  });
});
