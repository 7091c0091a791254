import { afterEach, describe, expect, it, vi } from 'vitest';
import { inWindow, localMinutes, nextBoundary } from '../../../src/rules/during.js';
import { harness, useFakeTime } from './harness.js';

afterEach(() => vi.useRealTimers());

const NIGHT = { text: '22:00-06:00', start: 22 * 60, end: 6 * 60 };
const at = (iso: string) => Date.parse(iso);

describe('during windows', () => {
  it('wraps midnight, with the start included and the end excluded', () => {
    expect(inWindow(NIGHT, at('2025-01-06T21:59:59Z'), 'UTC')).toBe(false);
    expect(inWindow(NIGHT, at('2025-01-06T22:00:00Z'), 'UTC')).toBe(true);
    expect(inWindow(NIGHT, at('2025-01-07T03:00:00Z'), 'UTC')).toBe(true);
    expect(inWindow(NIGHT, at('2025-01-07T06:00:00Z'), 'UTC')).toBe(false);
  });

  it('reads the site’s local time', () => {
    expect(localMinutes(at('2025-07-01T20:30:00Z'), 'Europe/Paris')).toBe(22 * 60 + 30);
    expect(inWindow(NIGHT, at('2025-07-01T20:30:00Z'), 'Europe/Paris')).toBe(true);
  });

  it('finds the next opening or closing', () => {
    expect(new Date(nextBoundary(NIGHT, at('2025-01-06T12:34:56Z'), 'UTC')).toISOString()).toBe('2025-01-06T22:00:00.000Z');
    expect(new Date(nextBoundary(NIGHT, at('2025-01-06T22:00:00Z'), 'UTC')).toISOString()).toBe('2025-01-07T06:00:00.000Z');
  });
});

describe('rules with during', () => {
  const INTRUSION = `
- id: intrusion-night
  match: { kind: camera }
  when: { event: intrusion, during: "22:00-06:00" }
  autoClear: false
  alarm: { type: intrusion, severity: critical }
`;

  it('raises nothing for an event outside the window', async () => {
    useFakeTime(at('2025-01-06T21:59:00Z'));
    const h = harness(INTRUSION);
    h.event('cam-1', 'intrusion');
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(60_000);
    expect(h.actions.calls).toStrictEqual([]);
    h.event('cam-1', 'intrusion');
    expect(h.actions.calls.map((c) => [c.op, new Date(c.at).toISOString()])).toStrictEqual([['raise', '2025-01-06T22:00:00.000Z']]);
  });

  const NIGHT_LOAD = `
- id: night-load-high
  match: { kind: energy }
  when: { telemetry: powerKw, above: 60, for: 1h, during: "01:00-05:00" }
  alarm: { type: night_load_high, severity: warning }
`;

  it('raises a condition already holding when the window opens, and clears it when the window closes', async () => {
    useFakeTime(at('2025-01-06T23:00:00Z'));
    const h = harness(NIGHT_LOAD);
    h.telemetry('meter-1', { powerKw: 80 });
    await h.advance(3_600_000);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(3_600_000);
    expect(h.actions.calls.map((c) => [c.op, new Date(c.at).toISOString()])).toStrictEqual([['raise', '2025-01-07T01:00:00.000Z']]);
    await h.advance(4 * 3_600_000);
    expect(h.actions.calls.map((c) => [c.op, new Date(c.at).toISOString()])).toStrictEqual([
      ['raise', '2025-01-07T01:00:00.000Z'],
      ['clear', '2025-01-07T05:00:00.000Z'],
    ]);
  });

  it('forgets a condition that stopped holding before the window opened', async () => {
    useFakeTime(at('2025-01-06T22:00:00Z'));
    const h = harness(NIGHT_LOAD);
    h.telemetry('meter-1', { powerKw: 80 });
    await h.advance(3_600_000);
    h.telemetry('meter-1', { powerKw: 20 });
    await h.advance(5 * 3_600_000);
    expect(h.actions.calls).toStrictEqual([]);
  });
});
