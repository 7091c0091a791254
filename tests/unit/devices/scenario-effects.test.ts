import { describe, expect, it } from 'vitest';
import { checkEvent, checkTelemetry } from '../../../src/devices/kinds/index.js';
import { createModel, MODEL_FAULTS, type DeviceModel, type SimEvent, type Telemetry } from '../../../devices/models/index.js';
import { applyFault, faultOf, parseScenario, resolveTargets, SCENARIOS } from '../../../devices/scenarios.js';
import { ManualClock } from '../../../devices/sim/clock.js';
import { Random } from '../../../devices/sim/random.js';
import { expandSite, loadSite, placeOf } from '../../../devices/site.js';

const site = await loadSite('devices/sites/demo.yaml');
const specs = expandSite(site);
/** A Wednesday afternoon in the site's time zone: corridor lamps on, people about. */
const START = Date.parse('2026-11-25T14:00:00+08:00');

interface Played {
  ids: string[];
  events: Map<string, SimEvent[]>;
  before: Map<string, Telemetry>;
  after: Map<string, Telemetry>;
}

/** Plays `text` on fresh models of its targets for `seconds` of simulated time, one step a second. */
function play(text: string, seconds = 120): Played {
  const step = parseScenario(text);
  const clock = new ManualClock(START);
  const root = new Random(42);
  const models: DeviceModel[] = resolveTargets(step, specs).map((s) => createModel(s, { rng: root.fork(s.id), place: placeOf(site) }, clock.now()));
  const events = new Map<string, SimEvent[]>(models.map((m) => [m.spec.id, []]));
  const before = new Map(models.map((m) => [m.spec.id, m.telemetry(clock.now())]));
  const fault = faultOf(step);
  if (fault === 'silence' || fault === 'drop') throw new Error('a runtime scenario');
  const ids = applyFault(fault, models, true, clock.now());
  for (let s = 0; s < seconds; s++) {
    clock.advance(1000);
    for (const m of models) {
      const out = m.step(clock.now());
      events.get(m.spec.id)!.push(...out.events);
      for (const e of out.events) expect(checkEvent(m.spec.kind, e)).toMatchObject({ ok: true });
    }
  }
  const after = new Map(models.map((m) => [m.spec.id, m.telemetry(clock.now())]));
  for (const m of models) expect(checkTelemetry(m.spec.kind, after.get(m.spec.id))).toMatchObject({ ok: true });
  return { ids, events, before, after };
}

const types = (p: Played, id: string) => p.events.get(id)!.map((e) => e.type);

describe('each scenario produces the telemetry and events it names', () => {
  it('fire: the origin sends fire_alarm once, smoke rises in the others without an alarm', () => {
    const p = play('fire:b1-f2');
    expect(p.ids).toStrictEqual(['fire-b1-f2-01', 'fire-b1-f2-02']);
    expect(types(p, 'fire-b1-f2-01').filter((t) => t === 'fire_alarm')).toHaveLength(1);
    expect(p.after.get('fire-b1-f2-01')!.smokeObscurationPct).toBeGreaterThan(12);
    expect(types(p, 'fire-b1-f2-02')).not.toContain('fire_alarm');
    expect(p.after.get('fire-b1-f2-02')!.smokeObscurationPct).toBeGreaterThan(2);
  });

  it('fire-fault: a fault event with its code', () => {
    expect(play('fire-fault:b3-f1').events.get('fire-b3-f1-01')).toContainEqual({ type: 'fault', code: 'E03' });
  });

  it('door-forced: door_forced, and the door reads open while locked', () => {
    const p = play('door-forced:access-b2-f4-01', 10);
    expect(types(p, 'access-b2-f4-01')).toContain('door_forced');
    expect(p.after.get('access-b2-f4-01')).toMatchObject({ doorOpen: true, locked: true });
  });

  it('door-held-open: door_held_open with the seconds, the door open', () => {
    const p = play('door-held-open:b1-f5', 65);
    const held = p.events.get('access-b1-f5-01')!.filter((e) => e.type === 'door_held_open');
    expect(held.map((e) => e.seconds)).toStrictEqual([30, 60]);
    expect(p.after.get('access-b1-f5-01')).toMatchObject({ doorOpen: true });
  });

  it('denied-access: six denials within about a minute', () => {
    const p = play('denied-access:access-b4-f2-01', 60);
    expect(p.events.get('access-b4-f2-01')!.filter((e) => e.type === 'access_denied' && e.reason === 'unknown card')).toHaveLength(6);
  });

  it('lamp-failure: lamp_failure, then on but drawing no power', () => {
    const p = play('lamp-failure:b1-f1');
    expect(types(p, 'lighting-b1-f1-01')).toStrictEqual(['lamp_failure']);
    expect(p.after.get('lighting-b1-f1-01')).toMatchObject({ on: true });
    expect(p.after.get('lighting-b1-f1-01')!.powerW).toBeLessThan(1);
  });

  it("circuit-trip: circuit_trip from one lamp, every lamp of the zone dead", () => {
    const p = play('circuit-trip:b2-f2');
    expect(p.ids).toStrictEqual(['lighting-b2-f2-01', 'lighting-b2-f2-02']);
    expect(types(p, 'lighting-b2-f2-01')).toStrictEqual(['circuit_trip']);
    expect(types(p, 'lighting-b2-f2-02')).toStrictEqual([]);
    for (const id of p.ids) expect(p.after.get(id)).toMatchObject({ powerW: 0, voltageV: 0 });
  });

  it('meter-tamper: meter_tamper, and the register reads less than before', () => {
    const p = play('meter-tamper:b1', 5);
    expect(types(p, 'energy-b1-power-01')).toStrictEqual(['meter_tamper']);
    expect(p.after.get('energy-b1-power-01')!.energyKwh).toBeLessThan(p.before.get('energy-b1-power-01')!.energyKwh as number);
  });

  it('phase-loss: phase_loss naming the phase, the lowest phase voltage at 0', () => {
    const p = play('phase-loss:site-power', 5);
    expect(p.events.get('energy-site-power-01')).toStrictEqual([{ type: 'phase_loss', phase: expect.stringMatching(/^L[123]$/) }]);
    expect(p.after.get('energy-site-power-01')).toMatchObject({ voltageV: 0 });
  });

  it('video-loss: video_loss, 0 fps and not recording', () => {
    const p = play('video-loss:street', 5);
    expect(types(p, 'camera-street-01')).toStrictEqual(['video_loss']);
    expect(p.after.get('camera-street-01')).toMatchObject({ fps: 0, bitrateKbps: 0, recording: false });
  });

  it('camera-tamper: tamper, and the bitrate collapses', () => {
    const p = play('camera-tamper:camera-b1-lobby-02', 5);
    expect(types(p, 'camera-b1-lobby-02')).toContain('tamper');
    expect(p.after.get('camera-b1-lobby-02')!.bitrateKbps).toBeLessThan((p.before.get('camera-b1-lobby-02')!.bitrateKbps as number) / 2);
  });

  it('intrusion: an intrusion event with its region', () => {
    const p = play('intrusion:carpark', 5);
    expect(p.events.get('camera-carpark-01')).toContainEqual({ type: 'intrusion', region: expect.any(String) });
  });

  it('fire-lane: the fire-lane sensor reads occupied', () => {
    const p = play('fire-lane:carpark', 5);
    expect(p.before.get('parking-carpark-fl01')).toMatchObject({ occupied: false });
    expect(p.after.get('parking-carpark-fl01')).toMatchObject({ occupied: true });
  });

  it('barrier-fault: barrier_fault from the gate', () => {
    expect(types(play('barrier-fault:carpark', 5), 'parking-carpark-gate01')).toContain('barrier_fault');
  });

  it('low-battery: the battery falls below 10 %', () => {
    const p = play('low-battery:fire-b5-f1-02', 5);
    expect(p.after.get('fire-b5-f1-02')!.batteryPct).toBeLessThan(10);
  });

  it('has a scenario for every fault a model can be put into', () => {
    const started = new Set(Object.values(SCENARIOS).map((d) => d.fault));
    expect(MODEL_FAULTS.filter((f) => !started.has(f))).toStrictEqual([]);
  });
});
