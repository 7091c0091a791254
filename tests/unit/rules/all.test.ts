import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

const confirmed = (distinct: boolean) => `
- id: fire-confirmed
  match: { kind: fire }
  when:
    all:
      - { event: fire_alarm }
      - { telemetry: smokeObscurationPct, above: 4 }
    within: 2m
    per: zone
    distinct: ${distinct}
  alarm: { type: fire_confirmed, severity: critical, message: "Confirmed fire in {zone} ({device})" }
  workOrder: { category: fire, priority: urgent, title: "Confirmed fire in {zone}" }
`;

describe('all', () => {
  it('raises for the zone when two different detectors agree within `within`', async () => {
    const h = harness(confirmed(true));
    h.event('fire-1', 'fire_alarm');
    await h.advance(10_000);
    h.telemetry('fire-1', { smokeObscurationPct: 6 });
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(20_000);
    h.telemetry('fire-2', { smokeObscurationPct: 5 });
    expect(h.actions.calls).toStrictEqual([
      {
        op: 'raise',
        at: T0 + 30_000,
        raised: true,
        req: {
          site: 'maple-court',
          type: 'fire_confirmed',
          severity: 'critical',
          source: 'b1-f1',
          device: undefined,
          kind: 'fire',
          zone: 'b1-f1',
          rule: 'fire-confirmed',
          message: 'Confirmed fire in b1-f1 (fire-2)',
          messages: { 'zh-CN': 'Confirmed fire in b1-f1 (fire-2)', en: 'Confirmed fire in b1-f1 (fire-2)' },
          value: 5,
          escalate: undefined,
          at: T0 + 30_000,
        },
      },
      {
        op: 'workOrder',
        at: T0 + 30_000,
        req: {
          site: 'maple-court',
          title: { 'zh-CN': 'Confirmed fire in b1-f1', en: 'Confirmed fire in b1-f1' },
          category: 'fire',
          priority: 'urgent',
          description: undefined,
          alarm: 'alarm-1',
          device: undefined,
          zone: 'b1-f1',
          rule: 'fire-confirmed',
          by: 'rule:fire-confirmed',
        },
      },
    ]);
  });

  it('lets one device satisfy every part without `distinct`', async () => {
    const h = harness(confirmed(false));
    h.event('fire-1', 'fire_alarm');
    h.telemetry('fire-1', { smokeObscurationPct: 6 });
    expect(h.actions.edges()).toStrictEqual([['raise', 'b1-f1', 0]]);
  });

  it('raises nothing when the parts are further apart than `within`', async () => {
    const h = harness(confirmed(true));
    h.event('fire-1', 'fire_alarm');
    await h.advance(120_000);
    h.telemetry('fire-2', { smokeObscurationPct: 6 });
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('raises nothing when the parts are in different zones', async () => {
    const h = harness(confirmed(true));
    h.event('fire-1', 'fire_alarm');
    h.telemetry('fire-3', { smokeObscurationPct: 6 });
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('counts a threshold that held within `within` before, and clears when a needed part runs out', async () => {
    const h = harness(confirmed(true));
    h.telemetry('fire-2', { smokeObscurationPct: 6 });
    await h.advance(20_000);
    h.telemetry('fire-2', { smokeObscurationPct: 1 });
    await h.advance(90_000);
    h.event('fire-1', 'fire_alarm');
    expect(h.actions.edges()).toStrictEqual([['raise', 'b1-f1', 110_000]]);
    // The smoke reading ended at 20 s, so it counts until 140 s; the fire alarm until 230 s.
    await h.advance(29_999);
    expect(h.actions.edges()).toHaveLength(1);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'b1-f1', 110_000],
      ['clear', 'b1-f1', 140_000],
    ]);
  });
});
