import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEVICES, harness, RecordingActions, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

const SILENT = `
- id: camera-offline
  match: { kind: camera }
  when: { absent: 2m }
  alarm: { type: camera_offline, severity: major }
`;

describe('absent', () => {
  it('raises after `absent` of silence and clears on the next message', async () => {
    const h = harness(SILENT);
    h.telemetry('cam-1', { fps: 25 });
    await h.advance(60_000);
    h.telemetry('cam-1', { fps: 25 });
    await h.advance(119_999);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([['raise', 'cam-1', 180_000]]);
    await h.advance(600_000);
    expect(h.actions.edges()).toHaveLength(1);
    h.event('cam-1', 'motion');
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'cam-1', 180_000],
      ['clear', 'cam-1', 780_000],
    ]);
    await h.advance(120_000);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'cam-1', 180_000],
      ['clear', 'cam-1', 780_000],
      ['raise', 'cam-1', 900_000],
    ]);
  });

  it('raises after the status went offline for `absent`, with the value offline, and clears on online', async () => {
    const h = harness(SILENT);
    h.telemetry('cam-1', { fps: 25 });
    await h.advance(100_000);
    h.status('cam-1', false);
    await h.advance(119_999);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.calls).toMatchObject([{ op: 'raise', at: T0 + 220_000, req: { source: 'cam-1', value: 'offline' } }]);
    h.status('cam-1', false);
    expect(h.actions.edges()).toHaveLength(1);
    h.status('cam-1', true);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'cam-1', 220_000],
      ['clear', 'cam-1', 220_000],
    ]);
  });

  it('counts from the registry’s lastSeen at attach, so a device silent before a restart is caught in time', async () => {
    const actions = new RecordingActions(DEVICES.map((d) => (d.id === 'cam-1' ? { ...d, online: false, lastSeen: T0 - 90_000 } : { ...d })));
    const h = harness(SILENT, { actions });
    await h.advance(29_999);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([['raise', 'cam-1', 30_000]]);
  });

  it('does not watch a device never seen until it first speaks', async () => {
    const h = harness(SILENT);
    await h.advance(3_600_000);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('is not reset by messages of other devices', async () => {
    const h = harness(`
- id: silent
  when: { absent: 1m }
  alarm: { type: silent, severity: minor }
`);
    h.telemetry('cam-1', { fps: 25 });
    h.telemetry('fire-1', { temperatureC: 20 });
    await h.advance(30_000);
    h.telemetry('fire-1', { temperatureC: 20 });
    await h.advance(30_000);
    expect(h.actions.edges()).toStrictEqual([['raise', 'cam-1', 60_000]]);
  });
});
