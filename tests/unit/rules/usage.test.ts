import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRuleStateStore } from '../../../src/rules/state.js';
import { inLanguage } from '../../../src/shared/language.js';
import { harness, RecordingActions, SITE, T0, useFakeTime } from './harness.js';

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

const SERVICE = `
- id: meter-service
  match: { kind: energy }
  when: { usage: energyKwh, every: 100 }
  workOrder: { category: energy, priority: normal, title: "Service {device} at {value} kWh" }
`;

/** Work orders opened, as [device, title]. */
const orders = (actions: RecordingActions) => actions.calls.flatMap((c): Array<[string | undefined, string]> => (c.op === 'workOrder' ? [[c.req.device, inLanguage(c.req.title, 'en')]] : []));

/** Sends each reading of `meter` one second apart. */
async function readings(h: ReturnType<typeof harness>, meter: string, values: number[]): Promise<void> {
  for (const v of values) {
    h.telemetry(meter, { energyKwh: v, powerKw: 3 });
    await h.advance(1000);
  }
}

describe('usage', () => {
  it('fires once each time the field reaches another multiple of `every` above its first reading', async () => {
    const h = harness(SERVICE);
    await readings(h, 'meter-1', [1000, 1050, 1099.9]);
    expect(h.actions.calls).toStrictEqual([]);
    await readings(h, 'meter-1', [1100, 1100, 1150, 1199]);
    expect(orders(h.actions)).toStrictEqual([['meter-1', 'Service meter-1 at 1100 kWh']]);
    await readings(h, 'meter-1', [1201]);
    expect(orders(h.actions)).toStrictEqual([
      ['meter-1', 'Service meter-1 at 1100 kWh'],
      ['meter-1', 'Service meter-1 at 1201 kWh'],
    ]);
    expect(h.actions.calls[0]).toStrictEqual({
      op: 'workOrder',
      at: T0 + 3000,
      req: {
        site: SITE,
        // A title written once says the same in every language.
        title: { 'zh-CN': 'Service meter-1 at 1100 kWh', en: 'Service meter-1 at 1100 kWh' },
        category: 'energy',
        priority: 'normal',
        description: undefined,
        alarm: undefined,
        device: 'meter-1',
        zone: 'b1',
        rule: 'meter-service',
        by: 'rule:meter-service',
      },
    });
  });

  it('fires once for a reading that passes several multiples at once', async () => {
    const h = harness(SERVICE);
    await readings(h, 'meter-1', [1000, 1350, 1399, 1400]);
    expect(orders(h.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 1350 kWh', 'Service meter-1 at 1400 kWh']);
  });

  it('does not fire on a counter that went back, and counts again from its new value', async () => {
    const h = harness(SERVICE);
    await readings(h, 'meter-1', [1000, 1100, 10, 109]);
    expect(orders(h.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 1100 kWh']);
    await readings(h, 'meter-1', [110]);
    expect(orders(h.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 1100 kWh', 'Service meter-1 at 110 kWh']);
  });

  it('counts each device on its own', async () => {
    const h = harness(SERVICE);
    await readings(h, 'meter-1', [0]);
    await readings(h, 'meter-2', [50]);
    await readings(h, 'meter-1', [100]);
    await readings(h, 'meter-2', [100, 149, 150]);
    expect(orders(h.actions)).toStrictEqual([
      ['meter-1', 'Service meter-1 at 100 kWh'],
      ['meter-2', 'Service meter-2 at 150 kWh'],
    ]);
  });

  it('takes decimal readings at their value', async () => {
    // 100.1 - 0.1 is 99.99999999999999 in binary floating point.
    const h = harness(SERVICE);
    await readings(h, 'meter-1', [0.1, 100.05, 100.1]);
    expect(orders(h.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 100.1 kWh']);
  });

  it('ignores messages without the field', async () => {
    const h = harness(SERVICE);
    await readings(h, 'meter-1', [1000]);
    h.telemetry('meter-1', { powerKw: 3 });
    await readings(h, 'meter-1', [1100]);
    expect(orders(h.actions)).toHaveLength(1);
  });

  it('raises and clears its alarm at each firing, so each firing opens its own work order', async () => {
    const h = harness(`
- id: pump-service
  match: { kind: energy }
  when: { usage: energyKwh, every: 100 }
  alarm: { type: service_due, severity: warning, message: "{device} due at {value}" }
  workOrder: { category: maintenance, priority: low }
`);
    await readings(h, 'meter-1', [0, 100, 200]);
    expect(h.actions.calls.map((c) => c.op)).toStrictEqual(['raise', 'workOrder', 'clear', 'raise', 'workOrder', 'clear']);
    expect(h.actions.calls[3]).toMatchObject({ req: { type: 'service_due', source: 'meter-1', value: 200, message: 'meter-1 due at 200' }, raised: true });
  });
});

describe('usage with during', () => {
  it('holds back a multiple reached outside the window until the first reading inside it', async () => {
    useFakeTime(Date.parse('2025-01-06T17:00:00Z'));
    const h = harness(SERVICE.replace('every: 100 }', 'every: 100, during: "08:00-18:00" }'));
    await readings(h, 'meter-1', [0, 50]);
    await h.advance(2 * 3_600_000);
    await readings(h, 'meter-1', [120, 250]);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(Date.parse('2025-01-07T08:00:00Z') - Date.now());
    await readings(h, 'meter-1', [250, 260]);
    expect(h.actions.calls.map((c) => [c.op, new Date(c.at).toISOString()])).toStrictEqual([['workOrder', '2025-01-07T08:00:00.000Z']]);
  });
});

describe('usage across a restart or reload', () => {
  it('keeps the baseline and the multiples reached', async () => {
    const store = new MemoryRuleStateStore();
    const h = harness(SERVICE, { state: store });
    await readings(h, 'meter-1', [1000, 1100, 1150]);
    h.engine.stop();
    vi.setSystemTime(Date.now() + 60_000);
    const h2 = harness(SERVICE, { state: store, actions: h.actions });
    await readings(h2, 'meter-1', [1160, 1199, 1200]);
    expect(orders(h2.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 1100 kWh', 'Service meter-1 at 1200 kWh']);
  });

  it('keeps a new baseline from a counter that went back', async () => {
    const store = new MemoryRuleStateStore();
    const h = harness(SERVICE, { state: store });
    await readings(h, 'meter-1', [1000, 10]);
    h.engine.stop();
    const h2 = harness(SERVICE, { state: store, actions: h.actions });
    await readings(h2, 'meter-1', [100, 110]);
    expect(orders(h2.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 110 kWh']);
  });

  it('fires nothing for multiples passed before the rule’s step was changed', async () => {
    const store = new MemoryRuleStateStore();
    const h = harness(SERVICE, { state: store });
    await readings(h, 'meter-1', [0, 150]);
    h.engine.stop();
    const h2 = harness(SERVICE.replace('every: 100', 'every: 50'), { state: store, actions: h.actions });
    await readings(h2, 'meter-1', [160, 199, 200]);
    expect(orders(h2.actions).map(([, t]) => t)).toStrictEqual(['Service meter-1 at 150 kWh', 'Service meter-1 at 200 kWh']);
  });
});
