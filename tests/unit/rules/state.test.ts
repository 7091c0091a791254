import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRuleStateStore, SqliteRuleStateStore, type RuleStateStore } from '../../../src/rules/state.js';
import { StateStore } from '../../../src/storage/state/store.js';
import { DEVICES, harness, RecordingActions, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

const SMOKE = `
- id: smoke-high
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 10m }
  alarm: { type: smoke_high, severity: major }
`;

/** Stops the engine as the gateway does, then starts a new one on the same store `downMs` later. */
async function restart(h: ReturnType<typeof harness>, yaml: string, store: RuleStateStore, downMs: number, actions = h.actions) {
  h.engine.stop();
  vi.setSystemTime(Date.now() + downMs);
  return harness(yaml, { state: store, actions });
}

describe('condition state across a restart', () => {
  it('fires a half-elapsed `for` at its original due time, not a full `for` after the restart', async () => {
    const store = new MemoryRuleStateStore();
    const h = harness(SMOKE, { state: store });
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(4 * 60_000);
    const h2 = await restart(h, SMOKE, store, 2 * 60_000);
    await h2.advance(4 * 60_000 - 1);
    expect(h2.actions.calls).toStrictEqual([]);
    await h2.advance(1);
    expect(h2.actions.edges()).toStrictEqual([['raise', 'fire-1', 600_000]]);
  });

  it('fires at once a `for` that fell due while the gateway was down', async () => {
    const store = new MemoryRuleStateStore();
    const h = harness(SMOKE, { state: store });
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(60_000);
    const h2 = await restart(h, SMOKE, store, 3_600_000);
    await h2.advance(0);
    expect(h2.actions.edges()).toStrictEqual([['raise', 'fire-1', 3_660_000]]);
  });

  it('clears after a restart an alarm raised before it', async () => {
    const store = new MemoryRuleStateStore();
    const h = harness(SMOKE, { state: store });
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(600_000);
    const h2 = await restart(h, SMOKE, store, 60_000);
    h2.telemetry('fire-1', { smokeObscurationPct: 9 });
    h2.telemetry('fire-1', { smokeObscurationPct: 1 });
    expect(h2.actions.edges()).toStrictEqual([
      ['raise', 'fire-1', 600_000],
      ['clear', 'fire-1', 660_000],
    ]);
  });

  it('keeps absent’s last activity, so a silence half over before the restart ends on time', async () => {
    const store = new MemoryRuleStateStore();
    const yaml = `
- id: camera-offline
  match: { kind: camera }
  when: { absent: 10m }
  alarm: { type: camera_offline, severity: major }
`;
    // The registry has not seen the camera (lastSeen null): only the rule's own state knows.
    const h = harness(yaml, { state: store });
    h.telemetry('cam-1', { fps: 25 });
    await h.advance(4 * 60_000);
    const h2 = await restart(h, yaml, store, 2 * 60_000, new RecordingActions(DEVICES.map((d) => (d.id === 'cam-1' ? { ...d, lastSeen: T0 - 3_600_000 } : { ...d }))));
    await h2.advance(4 * 60_000 - 1);
    expect(h2.actions.calls).toStrictEqual([]);
    await h2.advance(1);
    expect(h2.actions.edges()).toStrictEqual([['raise', 'cam-1', 600_000]]);
  });

  it('keeps an event-count window', async () => {
    const store = new MemoryRuleStateStore();
    const yaml = `
- id: denied
  match: { kind: access }
  when: { event: access_denied, count: 3, within: 2m }
  alarm: { type: denied, severity: minor }
`;
    const h = harness(yaml, { state: store });
    h.event('door-1', 'access_denied', { method: 'card' });
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(2_000);
    const h2 = await restart(h, yaml, store, 10_000);
    h2.event('door-1', 'access_denied', { method: 'card' });
    expect(h2.actions.edges()).toStrictEqual([['raise', 'door-1', 12_000]]);
    await h2.advance(108_000);
    expect(h2.actions.edges()).toStrictEqual([
      ['raise', 'door-1', 12_000],
      ['clear', 'door-1', 120_000],
    ]);
  });

  it('writes state at most once a second per rule, and at stop', async () => {
    const store = new MemoryRuleStateStore();
    const save = vi.spyOn(store, 'save');
    const h = harness(SMOKE, { state: store });
    for (let i = 0; i < 10; i++) {
      h.telemetry(`fire-${(i % 3) + 1}`, { smokeObscurationPct: i % 2 === 0 ? 9 : 1 });
      await h.advance(100);
    }
    expect(save).toHaveBeenCalledTimes(1);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    h.engine.stop();
    expect(save).toHaveBeenCalledTimes(2);
  });
});

describe('the SQLite rule state store', () => {
  let dir: string;
  let db: StateStore;

  beforeEach(async () => {
    vi.useRealTimers();
    dir = await mkdtemp(join(tmpdir(), 'rule-state-'));
    db = new StateStore(dir);
    db.open();
  });
  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('saves, loads, deletes and forgets removed rules', () => {
    const store = new SqliteRuleStateStore(() => db.db);
    store.save('a', new Map<string, unknown>([['d:fire-1', { since: 5, holding: false }], ['d:fire-2', { holding: true }]]));
    store.save('b', new Map<string, unknown>([['z:x', { sats: [[], []] }]]));
    store.save('a', new Map<string, unknown>([['d:fire-2', undefined]]));
    expect(store.load('a')).toStrictEqual(new Map([['d:fire-1', { since: 5, holding: false }]]));
    store.retain(['a']);
    expect(store.load('b')).toStrictEqual(new Map());
    expect(store.load('a').size).toBe(1);
  });
});
