import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

const DENIED = `
- id: denied-repeated
  match: { kind: access }
  when: { event: access_denied, count: 3, within: 2m }
  alarm: { type: denied_repeated, severity: minor }
`;

describe('event-count', () => {
  it('raises nothing for N-1 events inside the window', async () => {
    const h = harness(DENIED);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(30_000);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(300_000);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('raises on the Nth event inside the window, once', async () => {
    const h = harness(DENIED);
    for (let i = 0; i < 5; i++) {
      h.event('door-1', 'access_denied', { method: 'card' });
      await h.advance(10_000);
    }
    expect(h.actions.edges()).toStrictEqual([['raise', 'door-1', 20_000]]);
  });

  it('does not count an event that left the window exactly `within` ago', async () => {
    const h = harness(DENIED);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(60_000);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(60_000);
    h.event('door-1', 'access_denied', { method: 'card' });
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('clears the moment the oldest needed event leaves the window', async () => {
    const h = harness(DENIED);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(10_000);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(10_000);
    h.event('door-1', 'access_denied', { method: 'card' });
    await h.advance(50_000);
    h.event('door-1', 'access_denied', { method: 'card' });
    // The window holds 3 until the event at 10 s leaves at 130 s.
    await h.advance(59_999);
    expect(h.actions.edges()).toStrictEqual([['raise', 'door-1', 20_000]]);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'door-1', 20_000],
      ['clear', 'door-1', 130_000],
    ]);
  });

  it('counts per zone across devices, with the zone as the source', async () => {
    const h = harness(`
- id: denied-zone
  match: { kind: access }
  when: { event: access_denied, count: 2, within: 1m, per: zone }
  alarm: { type: denied_zone, severity: minor, message: "denied in {zone}, last at {device}" }
`);
    h.event('door-1', 'access_denied', { method: 'card' });
    h.event('door-2', 'access_denied', { method: 'card' });
    expect(h.actions.calls).toStrictEqual([]);
    h.actions.list.push({ id: 'door-3', kind: 'access', site: 'maple-court', zone: 'b1-f1', tags: {}, online: true, lastSeen: null });
    h.event('door-3', 'access_denied', { method: 'card' });
    expect(h.actions.calls).toMatchObject([
      { op: 'raise', req: { source: 'b1-f1', zone: 'b1-f1', device: undefined, message: 'denied in b1-f1, last at door-3' } },
    ]);
  });
});
