import type { Alarm } from '../../../src/alarms/model.js';

/** The alarm the notification tests tell people about: a detector's fire alarm. */
export const ALARM: Alarm = {
  id: 'al-1',
  site: 'maple-court',
  type: 'fire_alarm',
  severity: 'critical',
  state: 'active',
  acknowledged: false,
  source: 'smoke-b3-12',
  device: 'smoke-b3-12',
  kind: 'fire',
  zone: 'b3-f12',
  rule: 'fire-alarm',
  message: 'Fire alarm at smoke-b3-12',
  firstSeen: '2026-12-06T11:20:05.000Z',
  lastSeen: '2026-12-06T11:20:05.000Z',
  count: 1,
};
