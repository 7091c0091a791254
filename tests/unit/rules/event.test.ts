import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, SITE, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

const FIRE_ALARM = `
- id: fire-alarm
  match: { kind: fire }
  when: { event: fire_alarm, clearOn: { event: reset } }
  alarm: { type: fire_alarm, severity: major, message: "Fire alarm from {device} in {zone}", escalate: { after: 1m, to: critical } }
  commands:
    - { match: { kind: access, zone: "{zone}" }, action: unlock }
`;

describe('event', () => {
  it('raises on the event and calls raiseAlarm again on a repeat, which only bumps', async () => {
    const h = harness(FIRE_ALARM);
    h.event('fire-1', 'fire_alarm');
    await h.advance(5_000);
    h.event('fire-1', 'fire_alarm');
    const raises = h.actions.calls.filter((c) => c.op === 'raise');
    expect(raises.map((c) => [c.at - T0, c.raised])).toStrictEqual([
      [0, true],
      [5_000, false],
    ]);
    expect(raises[0]).toMatchObject({
      req: { site: SITE, type: 'fire_alarm', source: 'fire-1', message: 'Fire alarm from fire-1 in b1-f1', escalate: { afterMs: 60_000, to: 'critical' } },
    });
  });

  it('sends the commands once, when the alarm is newly raised', async () => {
    const h = harness(FIRE_ALARM);
    h.event('fire-1', 'fire_alarm');
    h.event('fire-1', 'fire_alarm');
    expect(h.actions.calls.filter((c) => c.op === 'command')).toStrictEqual([{ op: 'command', at: T0, device: 'door-1', action: 'unlock' }]);
  });

  it('never clears by itself, and clears on the clearOn event from the same device only', async () => {
    const h = harness(FIRE_ALARM);
    h.event('fire-1', 'fire_alarm');
    await h.advance(3_600_000);
    h.event('fire-2', 'reset');
    expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 0]]);
    h.event('fire-1', 'reset');
    h.event('fire-1', 'reset');
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'fire-1', 0],
      ['clear', 'fire-1', 3_600_000],
    ]);
  });

  it('raises only for events whose details match `where`', async () => {
    const h = harness(`
- id: denied-by-card
  match: { kind: access }
  when: { event: access_denied, where: { method: [card, pin] } }
  alarm: { type: access_denied, severity: warning }
`);
    h.event('door-1', 'access_denied', { method: 'face' });
    h.event('door-1', 'access_denied', { method: 'pin' });
    expect(h.actions.edges()).toStrictEqual([['raise', 'door-1', 0]]);
  });

  it('ignores events of kinds the rule does not match', async () => {
    const h = harness(`
- id: tamper
  match: { kind: access }
  when: { event: tamper }
  alarm: { type: tamper, severity: major }
`);
    h.event('cam-1', 'tamper');
    expect(h.actions.calls).toStrictEqual([]);
  });
});
