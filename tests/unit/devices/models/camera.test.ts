import { describe, expect, it } from 'vitest';
import { CameraModel } from '../../../../devices/models/camera.js';
import type { DeviceSpec, SimEvent } from '../../../../devices/models/model.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { localTime } from '../../../../devices/sim/local-time.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const place = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Monday 2 March 2026, 00:00 in Shanghai. */
const MONDAY = Date.UTC(2026, 2, 1, 16);

function camera(seed = 7, tags: Record<string, string> = { building: 'b1', floor: '0' }): CameraModel {
  const spec: DeviceSpec = {
    id: 'camera-b1-lobby-01',
    kind: 'camera',
    site: 'demo',
    zone: 'b1-lobby',
    name: 'camera',
    role: 'camera',
    tags: { role: 'camera', ...tags },
    params: {},
  };
  return new CameraModel(spec, { rng: new Random(seed), place }, MONDAY);
}

type Reading = { recording: boolean; fps: number; bitrateKbps: number; storageFreePct: number };
const reading = (m: CameraModel, now: number) => m.telemetry(now) as Reading;

describe('camera model', () => {
  it('sends only readings and events the camera schema accepts over a day with every fault', () => {
    const m = camera();
    const clock = new ManualClock(MONDAY);
    const events: SimEvent[] = [];
    const faults = [
      [6, 'start', 'video-loss'],
      [7, 'end', 'video-loss'],
      [9, 'start', 'camera-tamper'],
      [10, 'end', 'camera-tamper'],
      [2, 'start', 'intrusion'],
      [3, 'end', 'intrusion'],
    ] as const;
    while (clock.now() < MONDAY + DAY) {
      const now = clock.advance(30_000);
      for (const [hour, what, name] of faults) {
        if (now !== MONDAY + hour * HOUR) continue;
        expect(what === 'start' ? m.startFault({ name }, now) : m.endFault(name, now)).toBe(true);
      }
      events.push(...m.step(now).events);
      const t = m.telemetry(now);
      expect(checkTelemetry('camera', t)).toStrictEqual({ ok: true, value: t });
    }
    for (const e of events) expect(checkEvent('camera', e)).toMatchObject({ ok: true });
    expect(events.filter((e) => e.type !== 'motion').map((e) => e.type)).toStrictEqual(['intrusion', 'video_loss', 'tamper']);
    expect(events.filter((e) => e.type === 'motion').length).toBeGreaterThan(50);
  });

  it('records at its configured rate and about 4 Mbit/s', () => {
    const m = camera(3);
    for (let t = MONDAY + 11 * HOUR; t < MONDAY + 12 * HOUR; t += MIN) {
      m.step(t);
      const r = reading(m, t);
      expect(r.recording).toBe(true);
      expect(r.fps).toBeGreaterThanOrEqual(24.8);
      expect(r.fps).toBeLessThanOrEqual(25.2);
      expect(r.bitrateKbps).toBeGreaterThan(3000);
      expect(r.bitrateKbps).toBeLessThan(5200);
    }
  });

  it('needs more bitrate at night in infrared than at noon', () => {
    const m = camera(4);
    const sums = { night: 0, noon: 0 };
    for (let d = 0; d < 5; d++) {
      for (const [hour, key] of [[2, 'night'], [12, 'noon']] as const) {
        for (let i = 0; i < 30; i++) {
          const t = MONDAY + d * DAY + hour * HOUR + i * MIN;
          m.step(t);
          sums[key] += reading(m, t).bitrateKbps;
        }
      }
    }
    const { night, noon } = sums;
    expect(night / noon).toBeGreaterThan(1.1);
    expect(night / noon).toBeLessThan(1.3);
  });

  it('loses free storage slowly, then holds at the loop-recording threshold', () => {
    const m = camera(5);
    const start = reading(m, MONDAY).storageFreePct;
    m.step(MONDAY + DAY);
    const lostInADay = start - reading(m, MONDAY + DAY).storageFreePct;
    expect(lostInADay).toBeGreaterThan(0.1 * 24 - 0.2);
    expect(lostInADay).toBeLessThan(0.3 * 24 + 0.2);
    let previous = reading(m, MONDAY + DAY).storageFreePct;
    for (let t = MONDAY + DAY + HOUR; t < MONDAY + 60 * DAY; t += HOUR) {
      m.step(t);
      const free = reading(m, t).storageFreePct;
      // Only the overwrite of the oldest footage frees space, and never much at once.
      expect(free - previous).toBeLessThan(1.6);
      previous = free;
    }
    expect(previous).toBeGreaterThanOrEqual(4.9);
    expect(previous).toBeLessThan(11.6);
  });

  it('sees motion far more often at 20:00 than at 03:00 over a week', () => {
    const m = camera(6);
    const byHour = new Array<number>(24).fill(0);
    for (let t = MONDAY + MIN; t <= MONDAY + 7 * DAY; t += MIN) {
      const motions = m.step(t).events.filter((e) => e.type === 'motion');
      byHour[Math.floor(localTime(t - 1, place.timeZone).hour)] += motions.length;
    }
    expect(byHour[20]).toBeGreaterThan(5 * Math.max(byHour[3], 1));
    expect(byHour[20]).toBeGreaterThan(7 * 10);
  });

  it('names a region the camera looks at in its motion events', () => {
    const lobby = camera(8);
    const outside = camera(8, { area: 'carpark' });
    lobby.step(MONDAY + DAY);
    outside.step(MONDAY + DAY);
    const regions = (m: CameraModel, t: number) => new Set(m.step(t).events.map((e) => e.region));
    expect([...regions(lobby, MONDAY + DAY + 20 * HOUR)].sort()).toStrictEqual(['entrance', 'lobby']);
    expect([...regions(outside, MONDAY + DAY + 20 * HOUR)].sort()).toStrictEqual(['driveway', 'entrance', 'perimeter']);
  });

  it('sends video_loss and reports 0 fps, 0 kbps, not recording until the video is back', () => {
    const m = camera(9);
    const t0 = MONDAY + 14 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'video-loss' }, t0)).toBe(true);
    expect(m.step(t0 + 1000)).toStrictEqual({ events: [{ type: 'video_loss' }], reportNow: true });
    const storage = reading(m, t0).storageFreePct;
    for (let t = t0 + MIN; t < t0 + 3 * HOUR; t += MIN) {
      // No picture, no motion detection, and no repeat of the event.
      expect(m.step(t).events).toStrictEqual([]);
      expect(m.telemetry(t)).toStrictEqual({ recording: false, fps: 0, bitrateKbps: 0, storageFreePct: storage });
    }
    expect(m.command('snapshot', undefined, t0 + 3 * HOUR)).toStrictEqual({ ok: false, error: 'no video' });
    expect(m.endFault('video-loss', t0 + 3 * HOUR)).toBe(true);
    expect(m.step(t0 + 3 * HOUR + 1000).reportNow).toBe(true);
    expect(reading(m, t0 + 3 * HOUR + 1000)).toMatchObject({ recording: true, fps: expect.closeTo(25, 0) });
    expect(m.endFault('video-loss', t0 + 4 * HOUR)).toBe(false);
  });

  it('sends tamper once when the lens is covered, and the bitrate collapses', () => {
    const m = camera(10);
    const t0 = MONDAY + 13 * HOUR;
    m.step(t0);
    const normal = reading(m, t0).bitrateKbps;
    expect(m.startFault({ name: 'camera-tamper' }, t0)).toBe(true);
    expect(m.step(t0 + 1000)).toStrictEqual({ events: [{ type: 'tamper' }], reportNow: true });
    for (let t = t0 + MIN; t < t0 + HOUR; t += MIN) expect(m.step(t).events).toStrictEqual([]);
    expect(reading(m, t0 + HOUR).bitrateKbps).toBeLessThan(normal * 0.3);
    expect(reading(m, t0 + HOUR).recording).toBe(true);
    expect(m.endFault('camera-tamper', t0 + HOUR)).toBe(true);
    expect(m.step(t0 + HOUR + 1000).reportNow).toBe(true);
    expect(reading(m, t0 + HOUR + 1000).bitrateKbps).toBeGreaterThan(normal * 0.7);
  });

  it('sends intrusion with its region once, at any hour', () => {
    const m = camera(11);
    const t0 = MONDAY + 3 * HOUR;
    m.step(t0);
    expect(m.startFault({ name: 'intrusion' }, t0)).toBe(true);
    const { events, reportNow } = m.step(t0 + 1000);
    expect(reportNow).toBe(true);
    expect(events).toStrictEqual([{ type: 'intrusion', region: expect.stringMatching(/^(entrance|lobby)$/) }]);
    const later: SimEvent[] = [];
    for (let t = t0 + MIN; t < t0 + 30 * MIN; t += MIN) later.push(...m.step(t).events);
    expect(later.filter((e) => e.type === 'intrusion')).toStrictEqual([]);
    // The intruder moves about in the picture.
    expect(later.filter((e) => e.type === 'motion' && e.region === events[0].region).length).toBeGreaterThan(5);
    expect(m.endFault('intrusion', t0 + HOUR)).toBe(true);
  });

  it('takes snapshots and refuses other commands, naming the action', () => {
    const m = camera();
    expect(m.command('snapshot', undefined, MONDAY)).toStrictEqual({ ok: true });
    expect(m.command('pan', { degrees: 10 }, MONDAY)).toStrictEqual({ ok: false, error: 'unknown action pan for camera' });
  });

  it('takes only the faults of a camera', () => {
    const m = camera();
    expect(m.startFault({ name: 'low-battery' }, MONDAY)).toBe(false);
    expect(m.startFault({ name: 'phase-loss' }, MONDAY)).toBe(false);
    expect(m.endFault('intrusion', MONDAY)).toBe(false);
  });
});
