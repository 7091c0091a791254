import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmStore } from '../../../src/alarms/alarm-store.js';
import type { Alarm } from '../../../src/alarms/model.js';
import type { SiteDevice } from '../../../src/reports/availability.js';
import { lifeSafetyFigures } from '../../../src/reports/life-safety-figures.js';
import { StateStore } from '../../../src/storage/state/store.js';

/** Local (UTC+8) wall time as epoch ms. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const iso = (ms: number) => new Date(ms).toISOString();
const DAY = { site: 'birch-row', from: at('2025-11-04T00:00:00'), to: at('2025-11-05T00:00:00'), now: at('2025-11-06T00:00:00') };
const DEVICES: SiteDevice[] = [
  { id: 'sos-p1', kind: 'sos', zone: 'p1', tags: {}, createdAt: 0 },
  { id: 'lift-1', kind: 'lift', zone: 'b1-core', tags: {}, createdAt: 0 },
];

let dir: string;
let store: StateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'life-safety-'));
  store = new StateStore(dir);
  store.open();
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * An alarm raised at `raised` with an `acknowledged` transition at each of `acks` (the service would refuse a second;
 * the report must still take the first). Stored as cleared: the store keeps one open alarm per site, type and source.
 */
function alarm(id: string, type: string, device: string, kind: string | undefined, raised: string, acks: Array<[string, string]> = []): void {
  const alarms = new AlarmStore(store);
  const a: Alarm = {
    id,
    site: 'birch-row',
    type,
    severity: 'critical',
    state: 'cleared',
    // Stored closed (a cleared critical alarm nobody acknowledged would hold its key open).
    acknowledged: true,
    source: device,
    device,
    ...(kind ? { kind } : {}),
    rule: kind ? 'rule' : 'manual',
    message: type,
    firstSeen: iso(at(raised)),
    lastSeen: iso(at(raised)),
    count: 1,
  };
  alarms.insert({ alarm: a }, { transition: 'raised', at: at(raised), by: 'rule' });
  for (const [when, by] of acks) alarms.update({ alarm: a }, { transition: 'acknowledged', at: at(when), by });
}

describe('life-safety alarms', () => {
  it('lists emergency calls and trapped passengers with who acknowledged first and how soon', () => {
    alarm('a1', 'emergency_call', 'sos-p1', 'sos', '2025-11-04T21:00:00', [['2025-11-04T21:01:30', 'Desk'], ['2025-11-04T21:05:00', 'Other']]);
    alarm('a2', 'passenger_trapped', 'lift-1', 'lift', '2025-11-04T09:00:00', [['2025-11-04T09:04:30', 'Night desk']]);
    alarm('a3', 'passenger_trapped', 'lift-1', undefined, '2025-11-04T13:00:00'); // no kind on it: the registered device's
    expect(lifeSafetyFigures(store, DEVICES, DAY)).toStrictEqual({
      meanMinutesToAck: 3, // (1.5 + 4.5) / 2
      byType: [
        { type: 'emergency_call', count: 1, acknowledged: 1, meanMinutesToAck: 1.5 },
        { type: 'passenger_trapped', count: 2, acknowledged: 1, meanMinutesToAck: 4.5 },
      ],
      incidents: [
        { type: 'passenger_trapped', device: 'lift-1', zone: 'b1-core', raisedAt: '2025-11-04T01:00:00.000Z', acknowledgedAt: '2025-11-04T01:04:30.000Z', acknowledgedBy: 'Night desk', minutesToAck: 4.5 },
        { type: 'passenger_trapped', device: 'lift-1', zone: 'b1-core', raisedAt: '2025-11-04T05:00:00.000Z', acknowledgedAt: null, acknowledgedBy: null, minutesToAck: null },
        { type: 'emergency_call', device: 'sos-p1', zone: 'p1', raisedAt: '2025-11-04T13:00:00.000Z', acknowledgedAt: '2025-11-04T13:01:30.000Z', acknowledgedBy: 'Desk', minutesToAck: 1.5 },
      ],
    });
  });

  it('leaves out other alarm types, the type raised from another kind of device, and alarms raised outside the period', () => {
    alarm('b1', 'fire_alarm', 'sos-p1', 'sos', '2025-11-04T10:00:00');
    alarm('b2', 'emergency_call', 'smoke-1', 'fire', '2025-11-04T10:00:00');
    alarm('b3', 'emergency_call', 'sos-p1', 'sos', '2025-11-05T00:00:00');
    alarm('b4', 'emergency_call', 'sos-p1', 'sos', '2025-11-03T23:59:59');
    expect(lifeSafetyFigures(store, DEVICES, DAY).incidents).toStrictEqual([]);
  });
});
