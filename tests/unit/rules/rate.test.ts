import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, useFakeTime } from './harness.js';

const RISE = `
- id: heat-rise
  match: { kind: fire }
  when: { telemetry: temperatureC, rise: 8.3, within: 1m }
  alarm: { type: heat_rise, severity: major, message: "{device} at {value} °C" }
`;

beforeEach(() => useFakeTime());
afterEach(() => vi.useRealTimers());

describe('rate', () => {
  it('raises when the value rose by more than `rise` compared with a reading within `within`', async () => {
    const h = harness(RISE);
    h.telemetry('fire-1', { temperatureC: 20 });
    await h.advance(30_000);
    h.telemetry('fire-1', { temperatureC: 25 });
    await h.advance(20_000);
    h.telemetry('fire-1', { temperatureC: 28.5 });
    expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 50_000]]);
    expect(h.actions.calls[0]).toMatchObject({ req: { value: 28.5, message: 'fire-1 at 28.5 °C' } });
  });

  it('raises nothing for a rise of exactly `rise`', async () => {
    const h = harness(RISE);
    h.telemetry('fire-1', { temperatureC: 20 });
    await h.advance(10_000);
    h.telemetry('fire-1', { temperatureC: 28.3 });
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('raises nothing when the lower reading is older than `within`', async () => {
    const h = harness(RISE);
    h.telemetry('fire-1', { temperatureC: 20 });
    await h.advance(60_001);
    h.telemetry('fire-1', { temperatureC: 30 });
    expect(h.actions.calls).toStrictEqual([]);
  });

  it('clears at the next reading that no longer rose enough', async () => {
    const h = harness(RISE);
    h.telemetry('fire-1', { temperatureC: 20 });
    await h.advance(10_000);
    h.telemetry('fire-1', { temperatureC: 30 });
    await h.advance(10_000);
    h.telemetry('fire-1', { temperatureC: 31 });
    await h.advance(55_000);
    h.telemetry('fire-1', { temperatureC: 31 });
    expect(h.actions.edges()).toStrictEqual([
      ['raise', 'fire-1', 10_000],
      ['clear', 'fire-1', 75_000],
    ]);
  });

  it('uses the devices’ timestamps and ignores a reading older than the last', async () => {
    const h = harness(RISE);
    const emit = (ts: number, temperatureC: number) =>
      h.bus.emit('telemetryAccepted', { site: 'maple-court', kind: 'fire', device: 'fire-1', zone: 'b1-f1', ts, fields: { temperatureC } });
    emit(1_000, 20);
    emit(200_000, 25);
    emit(100_000, 10);
    emit(230_000, 34);
    expect(h.actions.edges()).toStrictEqual([['raise', 'fire-1', 0]]);
  });

  it('raises on a fall', async () => {
    const h = harness(`
- id: register-back
  match: { kind: energy }
  when: { telemetry: energyKwh, fall: 1, within: 1h }
  autoClear: false
  alarm: { type: meter_register_back, severity: major }
`);
    h.telemetry('meter-1', { energyKwh: 1000 });
    await h.advance(600_000);
    h.telemetry('meter-1', { energyKwh: 1000.5 });
    await h.advance(600_000);
    h.telemetry('meter-1', { energyKwh: 998 });
    await h.advance(600_000);
    h.telemetry('meter-1', { energyKwh: 999 });
    expect(h.actions.edges()).toStrictEqual([['raise', 'meter-1', 1_200_000]]);
  });
});
