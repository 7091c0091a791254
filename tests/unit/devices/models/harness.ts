import { expect } from 'vitest';
import type { DeviceModel, SimEvent, Telemetry } from '../../../../devices/models/model.js';
import type { ManualClock } from '../../../../devices/sim/clock.js';
import { localTime } from '../../../../devices/sim/local-time.js';
import { checkEvent, checkTelemetry, type KindName } from '../../../../src/devices/kinds/index.js';

/** Where the model tests' sites are: the daily curves follow Shanghai's local time. */
export const SHANGHAI = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };

/** Steps `m` from `from` to `to` every `every` ms, collecting its readings (read as `R`) and events in order. */
export function runSteps<R = Telemetry>(m: DeviceModel, from: number, to: number, every: number): { readings: R[]; events: SimEvent[] } {
  const readings: R[] = [];
  const events: SimEvent[] = [];
  for (let t = from + every; t <= to; t += every) {
    events.push(...m.step(t).events);
    readings.push(m.telemetry(t) as R);
  }
  return { readings, events };
}

export interface Sample {
  at: number;
  hour: number;
  reading: Telemetry;
}

/**
 * Advances `clock` by `stepMs` for `durationMs`, stepping `model`; every reading and event must be one the
 * kind's schema accepts. Answers the readings with their local hour, and the events with their time.
 */
export function runChecked(kind: KindName, model: DeviceModel, clock: ManualClock, durationMs: number, stepMs: number) {
  const out = { samples: [] as Sample[], events: [] as { at: number; event: SimEvent }[] };
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    for (const event of model.step(now).events) out.events.push({ at: now, event });
    const reading = model.telemetry(now);
    expect(checkTelemetry(kind, reading)).toStrictEqual({ ok: true, value: reading });
    out.samples.push({ at: now, hour: localTime(now, SHANGHAI.timeZone).hour, reading });
  }
  for (const { event } of out.events) expect(checkEvent(kind, event)).toStrictEqual({ ok: true, value: event });
  return out;
}
