import { describe, expect, it } from 'vitest';
import type { DeviceSpec, SimEvent } from '../../../../devices/models/model.js';
import { SosModel } from '../../../../devices/models/sos.js';
import { ManualClock } from '../../../../devices/sim/clock.js';
import { Random } from '../../../../devices/sim/random.js';
import { checkEvent, checkTelemetry } from '../../../../src/devices/kinds/index.js';

const PLACE = { timeZone: 'Asia/Shanghai', lat: 31.23, lon: 121.47 };
const MONDAY = Date.parse('2026-11-16T00:00:00+08:00');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const SPEC: DeviceSpec = {
  id: 'sos-carpark-01',
  kind: 'sos',
  site: 'demo',
  zone: 'carpark',
  name: 'call point carpark 1',
  role: 'call-point',
  tags: { role: 'call-point', location: 'car park level -1, pillar B4' },
  params: {},
};

function callPoint(seed = 5) {
  const clock = new ManualClock(MONDAY);
  return { clock, model: new SosModel(SPEC, { rng: new Random(seed), place: PLACE }, MONDAY) };
}

function events(model: SosModel, clock: ManualClock, durationMs: number, stepMs: number): SimEvent[] {
  const out: SimEvent[] = [];
  for (let t = 0; t < durationMs; t += stepMs) {
    const now = clock.advance(stepMs);
    out.push(...model.step(now).events);
    const reading = model.telemetry();
    expect(checkTelemetry('sos', reading)).toStrictEqual({ ok: true, value: reading });
  }
  return out;
}

describe('sos call point', () => {
  it('is practically never used in a simulated day', () => {
    let calls = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { clock, model } = callPoint(seed);
      calls += events(model, clock, DAY, 10 * MINUTE).filter((e) => e.type === 'call').length;
    }
    expect(calls).toBeLessThanOrEqual(1);
  });

  it('sees a few calls a year, each cancelled a few minutes later', () => {
    const { clock, model } = callPoint(3);
    const all = events(model, clock, 3 * 365 * DAY, HOUR);
    const calls = all.filter((e) => e.type === 'call');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(25);
    expect(all.filter((e) => e.type === 'cancel')).toHaveLength(calls.length);
    for (const e of all) expect(checkEvent('sos', e)).toStrictEqual({ ok: true, value: e });
  });
});

describe('sos faults', () => {
  it('sends a call with the location, and cancel when the fault ends', () => {
    const { clock, model } = callPoint();
    expect(model.startFault({ name: 'sos-call' }, clock.now())).toBe(true);
    expect(model.step(clock.advance(SECOND))).toStrictEqual({
      events: [{ type: 'call', location: 'car park level -1, pillar B4' }],
      reportNow: true,
    });
    expect(events(model, clock, HOUR, MINUTE)).toStrictEqual([]); // the call stays up
    expect(model.endFault('sos-call', clock.now())).toBe(true);
    expect(model.step(clock.advance(SECOND))).toStrictEqual({ events: [{ type: 'cancel' }], reportNow: true });
    expect(model.endFault('sos-call', clock.now())).toBe(false);
  });

  it('sends fault with a code and tamper', () => {
    const { clock, model } = callPoint();
    model.startFault({ name: 'sos-fault' }, clock.now());
    model.startFault({ name: 'sos-tamper' }, clock.now());
    const { events: sent } = model.step(clock.advance(SECOND));
    expect(sent.map((e) => e.type)).toStrictEqual(['fault', 'tamper']);
    for (const e of sent) expect(checkEvent('sos', e)).toStrictEqual({ ok: true, value: e });
    expect(model.endFault('sos-fault', clock.now())).toBe(true);
    expect(model.endFault('sos-tamper', clock.now())).toBe(true);
  });

  it('answers cancel, reports a flat battery and refuses faults of other kinds', () => {
    const { clock, model } = callPoint();
    model.startFault({ name: 'sos-call' }, clock.now());
    model.step(clock.advance(SECOND));
    expect(model.command('cancel', undefined, clock.now())).toStrictEqual({ ok: true });
    expect(model.step(clock.advance(SECOND)).events).toStrictEqual([{ type: 'cancel' }]);
    model.startFault({ name: 'low-battery' }, clock.now());
    expect(model.telemetry().batteryPct as number).toBeLessThan(10);
    expect(model.startFault({ name: 'leak' }, clock.now())).toBe(false);
    expect(model.command('ring', undefined, clock.now())).toStrictEqual({ ok: false, error: 'unknown action ring for sos' });
  });
});
