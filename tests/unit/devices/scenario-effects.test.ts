import { describe, expect, it } from 'vitest';
import { MODEL_FAULTS } from '../../../devices/models/index.js';
import { SCENARIOS } from '../../../devices/scenarios.js';
import { play, types } from './play.js';

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
