import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, SITE, T0, useFakeTime } from './harness.js';

const SMOKE = `
- id: smoke-high
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 10s }
  alarm: { type: smoke_high, severity: major, message: "Smoke {value} % at {device} in {zone}" }
`;

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

describe('threshold', () => {
  it('raises smoke_high when smoke stays above 8 for 10s', async () => {
    const h = harness(SMOKE);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(9_999);
    expect(h.actions.calls).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.calls).toStrictEqual([
      {
        op: 'raise',
        at: T0 + 10_000,
        raised: true,
        req: {
          site: SITE,
          type: 'smoke_high',
          severity: 'major',
          source: 'fire-1',
          device: 'fire-1',
          kind: 'fire',
          zone: 'b1-f1',
          rule: 'smoke-high',
          message: 'Smoke 9 % at fire-1 in b1-f1',
          messages: { 'zh-CN': 'Smoke 9 % at fire-1 in b1-f1', en: 'Smoke 9 % at fire-1 in b1-f1' },
          value: 9,
          escalate: undefined,
          at: T0 + 10_000,
        },
      },
    ]);
  });

  it('raises nothing when the value is above for less than `for`', async () => {
    const h = harness(SMOKE);
    h.telemetry('fire-1', { smokeObscurationPct: 12 });
    await h.advance(5_000);
    h.telemetry('fire-1', { smokeObscurationPct: 3 });
    await h.advance(60_000);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('starts `for` again after a reading back inside', async () => {
    const h = harness(SMOKE);
    h.telemetry('fire-1', { smokeObscurationPct: 12 });
    await h.advance(8_000);
    h.telemetry('fire-1', { smokeObscurationPct: 1 });
    await h.advance(1_000);
    h.telemetry('fire-1', { smokeObscurationPct: 12 });
    await h.advance(9_999);
    expect(h.actions.edges()).toStrictEqual([]);
    await h.advance(1);
    expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 19_000]]);
  });

  it('is not above at exactly the threshold', async () => {
    const h = harness(SMOKE);
    h.telemetry('fire-1', { smokeObscurationPct: 8 });
    await h.advance(60_000);
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('does not raise again while still above, and clears when no longer above', async () => {
    const h = harness(SMOKE);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(10_000);
    h.telemetry('fire-1', { smokeObscurationPct: 20 });
    await h.advance(30_000);
    h.telemetry('fire-1', { smokeObscurationPct: 8 });
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'fire-1', 10_000],
      ['clear', 'fire-1', 40_000],
    ]);
    expect(h.actions.calls[1]).toStrictEqual({ op: 'clear', at: T0 + 40_000, key: { site: SITE, type: 'smoke_high', source: 'fire-1' }, rule: 'smoke-high' });
  });

  it('keeps each device apart', async () => {
    const h = harness(SMOKE);
    h.telemetry('fire-1', { smokeObscurationPct: 9 });
    await h.advance(5_000);
    h.telemetry('fire-2', { smokeObscurationPct: 9 });
    await h.advance(5_000);
    h.telemetry('fire-1', { smokeObscurationPct: 0 });
    await h.advance(5_000);
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'fire-1', 10_000],
      ['clear', 'fire-1', 10_000],
      ['raise', 'fire-2', 15_000],
    ]);
  });

  it('raises at once without `for`, and below a level with `below`', async () => {
    const h = harness(`
- id: lot-full
  match: { kind: energy }
  when: { telemetry: voltageV, below: 180 }
  alarm: { type: voltage_low, severity: major }
`);
    h.telemetry('meter-1', { voltageV: 180 });
    h.telemetry('meter-1', { voltageV: 179.5 });
    h.telemetry('meter-1', { voltageV: 230 });
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'meter-1', 0],
      ['clear', 'meter-1', 0],
    ]);
    // A rule without a message: the type at the source, in each language.
    expect(h.actions.calls[0]).toMatchObject({ req: { message: 'voltage_low（meter-1）', messages: { 'zh-CN': 'voltage_low（meter-1）', en: 'voltage_low at meter-1' } } });
  });

  describe('with hysteresis', () => {
    const HEAT = `
- id: heat
  match: { kind: fire }
  when: { telemetry: temperatureC, above: 57, clear: { below: 45, for: 5m } }
  alarm: { type: heat_high, severity: critical }
`;

    it('clears only once the value passes the clear level, held for clear.for', async () => {
      const h = harness(HEAT);
      h.telemetry('fire-1', { temperatureC: 60 });
      h.telemetry('fire-1', { temperatureC: 50 });
      await h.advance(600_000);
      expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 0]]);
      h.telemetry('fire-1', { temperatureC: 45 });
      await h.advance(600_000);
      expect(h.actions.edges()).toHaveLength(1);
      h.telemetry('fire-1', { temperatureC: 40 });
      await h.advance(299_999);
      expect(h.actions.edges()).toHaveLength(1);
      await h.advance(1);
      expect(h.actions.edges()).toStrictEqual([
        ['raise', 'fire-1', 0],
        ['clear', 'fire-1', 1_500_000],
      ]);
    });

    it('does not clear when the value comes back up before clear.for', async () => {
      const h = harness(HEAT);
      h.telemetry('fire-1', { temperatureC: 60 });
      h.telemetry('fire-1', { temperatureC: 40 });
      await h.advance(200_000);
      h.telemetry('fire-1', { temperatureC: 50 });
      await h.advance(600_000);
      expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 0]]);
    });
  });

  it('counts true as 1 and false as 0', async () => {
    const h = harness(`
- id: lane
  match: { kind: parking }
  when: { telemetry: occupied, above: 0, for: 2m }
  alarm: { type: fire_lane_occupied, severity: major }
`);
    h.actions.list.push({ id: 'bay-1', kind: 'parking', site: SITE, zone: 'lane', tags: {}, online: true, lastSeen: null });
    h.telemetry('bay-1', { occupied: true });
    await h.advance(120_000);
    h.telemetry('bay-1', { occupied: false });
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'bay-1', 120_000],
      ['clear', 'bay-1', 120_000],
    ]);
  });

  it('holds only while the `where` fields have their values', async () => {
    const h = harness(`
- id: lamp-no-power
  match: { kind: lighting }
  when: { telemetry: powerW, below: 1, where: { "on": true }, for: 5m }
  alarm: { type: lamp_no_power, severity: minor }
`);
    h.telemetry('lamp-1', { on: false, powerW: 0.4 });
    await h.advance(600_000);
    expect(h.actions.edges()).toStrictEqual([]);
    h.telemetry('lamp-1', { on: true });
    await h.advance(300_000);
    expect(h.actions.edges()).toStrictEqual([['raise', 'lamp-1', 900_000]]);
    h.telemetry('lamp-1', { on: false });
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'lamp-1', 900_000],
      ['clear', 'lamp-1', 900_000],
    ]);
  });
});
