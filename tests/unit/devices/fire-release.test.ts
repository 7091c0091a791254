import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alarm } from '../../../src/alarms/model.js';
import { Bus } from '../../../src/bus.js';
import { FireRelease, type ReleasingActions } from '../../../src/devices/fire-release.js';
import { createLogger } from '../../../src/log.js';
import { StateStore } from '../../../src/storage/state/store.js';

const log = createLogger('silent');
const SITE = 'maple-court';
const door = (id: string) => ({ id, kind: 'access', site: SITE });

let dir: string;
let store: StateStore;
let bus: Bus;
/** Alarms the test says are still active (what the alarm service answers at start). */
let active: Set<string>;
let part: FireRelease;
let sent: string[];
let actions: ReleasingActions;
let nextAlarm: number;

function startPart(): void {
  part = new FireRelease({ bus, store, alarmActive: (id) => active.has(id), log });
  part.start();
  actions = part.observe<ReleasingActions>({
    raiseAlarm: () => ({ id: `a-${++nextAlarm}`, raised: true }),
    sendCommand: (device, action) => void sent.push(`${device.id}:${action}`),
  });
}

/** A rule raising its alarm, then sending its commands (rules/effects.ts). */
function fire(rule: string, kind: string, targets: Array<{ id: string; kind: string; site: string }>): string {
  const { id } = actions.raiseAlarm({ kind, rule });
  active.add(id);
  for (const t of targets) actions.sendCommand(t, t.kind === 'access' ? 'unlock' : 'on', undefined, rule);
  return id;
}

function cleared(id: string): void {
  active.delete(id);
  bus.emit('alarmCleared', { alarm: { id } as Alarm });
}

const locked = (device: string, value: boolean) =>
  bus.emit('telemetryAccepted', { site: SITE, kind: 'access', device, zone: 'b1-f2', ts: Date.now(), fields: { locked: value, doorOpen: false } });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fire-release-'));
  store = new StateStore(dir);
  store.start();
  bus = new Bus(log);
  active = new Set();
  sent = [];
  nextAlarm = 0;
  startPart();
});

afterEach(async () => {
  part.stop();
  store.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('doors left unlocked after a fire', () => {
  it('tells the bus (and so the console) each time the flag turns, and only then', () => {
    const told: unknown[] = [];
    bus.on('unlockedAfterFireChanged', told, (e) => void told.push(e));
    const first = fire('fire-alarm', 'fire', [door('door-1')]);
    locked('door-1', false);
    cleared(first);
    locked('door-1', false);
    const again = fire('fire-alarm', 'fire', [door('door-1')]);
    cleared(again);
    locked('door-1', true);
    expect(told).toStrictEqual([
      { site: SITE, device: 'door-1', unlockedAfterFire: true },
      { site: SITE, device: 'door-1', unlockedAfterFire: false },
      { site: SITE, device: 'door-1', unlockedAfterFire: true },
      { site: SITE, device: 'door-1', unlockedAfterFire: false },
    ]);
  });

  it('passes the commands on to the real actions', () => {
    fire('fire-alarm', 'fire', [door('door-1'), { id: 'lamp-1', kind: 'lighting', site: SITE }]);
    expect(sent).toStrictEqual(['door-1:unlock', 'lamp-1:on']);
  });

  it('flags a released door that reports unlocked once the fire alarm is cleared, until it reports locked', () => {
    const alarm = fire('fire-alarm', 'fire', [door('door-1')]);
    locked('door-1', false);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
    cleared(alarm);
    expect(part.unlockedAfterFire('door-1')).toBe(true);
    locked('door-1', false);
    expect(part.unlockedAfterFire('door-1')).toBe(true);
    locked('door-1', true);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
    // Locked again after the fire: a later opening is ordinary use, not the fire's doing.
    locked('door-1', false);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
  });

  it('flags a door that reports unlocked after the fire is over', () => {
    const alarm = fire('fire-alarm', 'fire', [door('door-1')]);
    cleared(alarm);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
    locked('door-1', false);
    expect(part.unlockedAfterFire('door-1')).toBe(true);
  });

  it('does not flag a door that locked itself again before the fire was over', () => {
    const alarm = fire('fire-alarm', 'fire', [door('door-1')]);
    locked('door-1', false);
    locked('door-1', true);
    cleared(alarm);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
  });

  it('waits for every fire alarm that released the door', () => {
    const first = fire('fire-alarm', 'fire', [door('door-1')]);
    const confirmed = fire('fire-confirmed', 'fire', [door('door-1')]);
    locked('door-1', false);
    cleared(first);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
    cleared(confirmed);
    expect(part.unlockedAfterFire('door-1')).toBe(true);
  });

  it('takes the flag back while a cleared fire alarm is raised again before anyone acknowledged it', () => {
    const alarm = fire('fire-alarm', 'fire', [door('door-1')]);
    locked('door-1', false);
    cleared(alarm);
    expect(part.unlockedAfterFire('door-1')).toBe(true);
    bus.emit('alarmChanged', { alarm: { id: alarm } as Alarm, change: 'reopened' });
    expect(part.unlockedAfterFire('door-1')).toBe(false);
  });

  it('forgets a door that reports locked after the fire, and one registered again under its id', () => {
    const alarm = fire('fire-alarm', 'fire', [door('door-1'), door('door-2')]);
    cleared(alarm);
    locked('door-1', true);
    locked('door-1', false);
    locked('door-2', false);
    expect(part.unlockedAfterFire('door-2')).toBe(true);
    bus.emit('deviceRegistered', { site: SITE, kind: 'access', device: 'door-2', zone: 'b1-f2' });
    expect([part.unlockedAfterFire('door-1'), part.unlockedAfterFire('door-2')]).toStrictEqual([false, false]);
  });

  it('ignores doors unlocked by rules of other alarms', () => {
    const alarm = fire('sos-call', 'sos', [door('door-1')]);
    locked('door-1', false);
    cleared(alarm);
    expect(part.unlockedAfterFire('door-1')).toBe(false);
  });

  it('keeps the flag over a restart, and knows a fire alarm cleared while it was down', () => {
    const done = fire('fire-alarm', 'fire', [door('door-1')]);
    locked('door-1', false);
    cleared(done);
    const stillBurning = fire('fire-alarm-b2', 'fire', [door('door-2')]);
    locked('door-2', false);
    part.stop();
    active.delete(stillBurning);
    startPart();
    expect([part.unlockedAfterFire('door-1'), part.unlockedAfterFire('door-2')]).toStrictEqual([true, true]);
    locked('door-1', true);
    part.stop();
    startPart();
    expect([part.unlockedAfterFire('door-1'), part.unlockedAfterFire('door-2')]).toStrictEqual([false, true]);
  });
});
