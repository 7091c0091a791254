/**
 * The mains-loss flood (issue 16) without a gateway: which devices a distribution room feeds (their `parent`),
 * the plan of the flood (who goes dark, when the fire comes, when the mains return), and the room's and the
 * detectors' models played through it on simulated time.
 */
import { describe, expect, it } from 'vitest';
import { applyFloodStep, planFlood, type FloodPlan } from '../../../devices/flood.js';
import { createModel, type DeviceModel, type SimEvent } from '../../../devices/models/index.js';
import { parentsFirst } from '../../../devices/runtime/registrar.js';
import { isFlood, parseScenario, ScenarioError } from '../../../devices/scenarios.js';
import { ManualClock } from '../../../devices/sim/clock.js';
import { Random } from '../../../devices/sim/random.js';
import { expandSite, loadSite, MAINS_FED_KINDS, placeOf, scaleSite } from '../../../devices/site.js';
import { checkEvent } from '../../../src/devices/kinds/index.js';

const demoSite = await loadSite('devices/sites/demo.yaml');
const demo = expandSite(demoSite);
const towerSite = await loadSite('tests/fixtures/sites/flood.yaml');
const tower = expandSite(towerSite);
const START = Date.parse('2026-11-25T20:00:00+08:00');

describe('devices fed by a distribution room', () => {
  it("gives every mains-fed device of a building its room as parent, and none to the battery devices", () => {
    for (const d of demo.filter((s) => ['b1', 'b2', 'b3', 'b4'].includes(s.tags.building))) {
      const fed = MAINS_FED_KINDS.includes(d.kind);
      expect(d.parent, d.id).toBe(fed ? `power-${d.tags.building}-power-01` : undefined);
    }
    // Fire detectors, the call points in the lift cars, checkpoints and bins keep their own batteries.
    expect(demo.filter((d) => d.parent !== undefined && ['fire', 'sos', 'patrol', 'waste', 'power'].includes(d.kind))).toStrictEqual([]);
    // The clubhouse has no room of its own, and the outdoor areas hang on no room.
    expect(demo.filter((d) => d.parent !== undefined && (d.tags.building === 'b5' || d.tags.area !== undefined))).toStrictEqual([]);
    expect(demo.filter((d) => d.parent === 'power-b1-power-01')).toHaveLength(39);
  });

  it('keeps the parents of copied buildings their own, and drops a parent the cut left out', () => {
    const grown = scaleSite(demoSite, 800);
    expect(grown.find((d) => d.id === 'lift-b1x2-lift-01')?.parent).toBe('power-b1x2-power-01');
    const ids = new Set(grown.map((d) => d.id));
    for (const size of [20, 100, 800]) {
      const cut = scaleSite(demoSite, size);
      const kept = new Set(cut.map((d) => d.id));
      expect(cut.filter((d) => d.parent !== undefined && !kept.has(d.parent)), `${size}`).toStrictEqual([]);
    }
    expect([...ids].length).toBe(800);
  });

  it('registers the rooms before the devices they feed', () => {
    const waves = parentsFirst(tower);
    expect(waves.map((w) => w.length)).toStrictEqual([53, 300]);
    expect(waves[0].map((d) => d.id)).toContain('power-t1-power-01');
    expect(waves[1].every((d) => d.parent === 'power-t1-power-01')).toBe(true);
    // A parent left out of the list (registered earlier) does not hold its children back.
    expect(parentsFirst(tower.filter((d) => d.kind !== 'power')).length).toBe(1);
  });
});

describe('the plan of a mains-loss flood', () => {
  it('takes 300 devices of the tower offline at once, and keeps its detectors and call points online', () => {
    const plan = planFlood(tower, undefined, { outageMs: 120_000 });
    expect(plan).toMatchObject({ site: 'flood-site', building: 't1', power: 'power-t1-power-01', loss: 'keepalive', outageMs: 120_000 });
    expect(plan.fed).toHaveLength(300);
    expect(new Set(plan.fed.map((id) => tower.find((d) => d.id === id)!.kind))).toStrictEqual(new Set(['access', 'lighting', 'camera', 'lift', 'energy']));
    expect(plan.onBattery.filter((id) => id.startsWith('fire-'))).toHaveLength(49);
    expect(plan.onBattery.filter((id) => id.startsWith('sos-'))).toHaveLength(3);
    // All at the first instant: the generator fails to start, the mains go, the fed devices go dark together.
    expect(plan.steps.slice(0, 3)).toStrictEqual([
      { atMs: 0, action: 'generator-fault', devices: ['power-t1-power-01'] },
      { atMs: 0, action: 'mains-loss', devices: ['power-t1-power-01'] },
      { atMs: 0, action: 'power-off', devices: plan.fed },
    ]);
  });

  it('starts the fire 30 s in, in the middle floor, at a detector that stays online', () => {
    const plan = planFlood(tower, 't1', { outageMs: 120_000 });
    expect(plan.fire).toStrictEqual({ zone: 't1-f12', origin: 'fire-t1-f12-01', spread: ['fire-t1-f12-02'], atMs: 30_000, forMs: undefined });
    expect(plan.fed).not.toContain(plan.fire!.origin);
    expect(plan.steps.find((s) => s.action === 'fire')).toStrictEqual({ atMs: 30_000, action: 'fire', devices: ['fire-t1-f12-01', 'fire-t1-f12-02'] });
    // Configurable: its time and zone; in a short outage it comes halfway through.
    expect(planFlood(tower, 't1', { fireAfterMs: 5000, fireZone: 't1-lobby' }).fire).toMatchObject({ zone: 't1-lobby', origin: 'fire-t1-lobby-01', atMs: 5000 });
    expect(planFlood(tower, 't1', { outageMs: 20_000 }).fire!.atMs).toBe(10_000);
  });

  it('restores the mains when the outage ends, and brings every fed device back within the boot spread', () => {
    const plan = planFlood(tower, 'power-t1-power-01', { outageMs: 60_000, bootSpreadMs: 5000 });
    const restored = plan.steps.findIndex((s) => s.action === 'mains-restored');
    expect(plan.steps[restored]).toStrictEqual({ atMs: 60_000, action: 'mains-restored', devices: ['power-t1-power-01'] });
    const back = plan.steps.filter((s) => s.action === 'power-on');
    expect(plan.steps.slice(restored + 1)).toStrictEqual(back);
    expect(back.flatMap((s) => s.devices).sort()).toStrictEqual([...plan.fed].sort());
    expect(back.every((s) => s.atMs >= 60_000 && s.atMs <= 65_000)).toBe(true);
    // The same seed, the same boot times; without an outage the return waits for the caller.
    expect(planFlood(tower, 't1', { outageMs: 60_000, bootSpreadMs: 5000 }).steps).toStrictEqual(plan.steps);
    expect(planFlood(tower).steps.map((s) => s.action)).toStrictEqual(['generator-fault', 'mains-loss', 'power-off', 'fire']);
  });

  it('plays on the demo site: the room feeding the most devices, or the one named', () => {
    expect(planFlood(demo, 'demo')).toMatchObject({ power: 'power-b1-power-01', building: 'b1', fire: { zone: 'b1-f5' } });
    const b3 = planFlood(demo, 'b3-power');
    expect(b3).toMatchObject({ power: 'power-b3-power-01', fire: { zone: 'b3-f4', origin: 'fire-b3-f4-01' } });
    expect(b3.fed.every((id) => demo.find((d) => d.id === id)!.tags.building === 'b3')).toBe(true);
  });

  it('refuses a target without a room, a fire zone without detectors and a negative time, naming them', () => {
    expect(() => planFlood(demo, 'b5')).toThrow(/no distribution room \(a power device\) in b5/);
    expect(() => planFlood(demo, 'b1', { fireZone: 'b2-f3' })).toThrow(/fireZone: no fire detector of b1 in zone b2-f3/);
    expect(() => planFlood(demo, 'b1', { fireAfterMs: -1 })).toThrow(ScenarioError);
    expect(() => planFlood(demo, 'b1', { loss: 'unplug' as never })).toThrow(/loss: expected keepalive or close/);
  });

  it('is a scenario of the command line, played by the runtime', () => {
    const step = parseScenario('mains-loss-flood:b1@10s+2m');
    expect(step).toMatchObject({ scenario: 'mains-loss-flood', target: 'b1', atMs: 10_000, forMs: 120_000 });
    expect(isFlood(step)).toBe(true);
  });
});

describe("the room's and the detectors' models through the flood", () => {
  /** Plays the plan's model side on fresh models, a step a second, real time = simulated time. */
  function play(plan: FloodPlan, seconds: number) {
    const clock = new ManualClock(START);
    const root = new Random(5);
    const ids = [plan.power, plan.fire!.origin, ...plan.fire!.spread];
    const models = new Map<string, DeviceModel>(
      ids.map((id) => [id, createModel(tower.find((d) => d.id === id)!, { rng: root.fork(id), place: placeOf(towerSite) }, START)]),
    );
    const events: Array<{ s: number; device: string; event: SimEvent }> = [];
    const volts: number[] = [];
    const pending = [...plan.steps];
    for (let s = 0; s <= seconds; s++) {
      clock.set(START + s * 1000);
      while (pending.length > 0 && pending[0].atMs <= s * 1000) {
        const step = pending.shift()!;
        applyFloodStep(step, step.devices.flatMap((id) => models.get(id) ?? []), clock.now());
      }
      for (const [id, m] of models) {
        for (const event of m.step(clock.now()).events) {
          const kind = tower.find((d) => d.id === id)!.kind;
          expect(checkEvent(kind, event).ok, `${id} ${event.type}`).toBe(true);
          events.push({ s, device: id, event });
        }
      }
      volts.push(models.get(plan.power)!.telemetry(clock.now()).voltageV as number);
    }
    return { events, volts };
  }

  it('sends mains_loss without a generator start, one fire_alarm in the middle, and mains_restored at the end', () => {
    const plan = planFlood(tower, 't1', { outageMs: 90_000 });
    const { events, volts } = play(plan, 100);
    const room = events.filter((e) => e.device === plan.power).map((e) => [e.s, e.event.type]);
    expect(room).toStrictEqual([
      [0, 'generator_fault'],
      [0, 'mains_loss'],
      [90, 'mains_restored'],
    ]);
    // Dark while the mains are out: the generator never carried the essential loads.
    expect(volts.slice(0, 90).every((v) => v === 0)).toBe(true);
    expect(volts[95]).toBeGreaterThan(380);
    const alarms = events.filter((e) => e.event.type === 'fire_alarm');
    expect(alarms.map((e) => e.device)).toStrictEqual([plan.fire!.origin]);
    // The smoke reaches the alarm level within about 20 s of the fire's start.
    expect(alarms[0].s).toBeGreaterThanOrEqual(30);
    expect(alarms[0].s).toBeLessThanOrEqual(55);
  });
});
