import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { DeviceSpec, Telemetry } from '../../../devices/models/index.js';
import { playVirtual } from '../../../devices/runtime/virtual-player.js';
import { isDecay, parseScenario, resolveTargets } from '../../../devices/scenarios.js';
import { DECAYS, decayFrom, planDecays, sensorNoise, severity, type DecayName } from '../../../devices/sim/decay.js';
import { expandSite, loadSite, placeOf } from '../../../devices/site.js';
import { checkEvent, checkTelemetry } from '../../../src/devices/kinds/index.js';
import { createLogger } from '../../../src/log.js';
import { parseRuleFile } from '../../../src/rules/loader.js';
import { simulateRules } from '../../../src/rules/simulate.js';

const site = await loadSite('devices/sites/demo.yaml');
const specs = expandSite(site);
const place = placeOf(site);
const spec = (id: string) => specs.find((s) => s.id === id)!;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A Monday midnight in the demo site's time zone. */
const START = Date.parse('2026-09-07T00:00:00+08:00');
const pack = parseRuleFile('rules/prediction.yaml', await readFile('rules/prediction.yaml', 'utf8')).rules.map((l) => l.rule);

/** Plays `device` healthy for `healthyDays`, then decaying over `spanDays`, until `untilDays`, a reading every `everyMs`. */
function decaying(device: DeviceSpec, name: DecayName, healthyDays: number, spanDays: number, untilDays: number, everyMs = 2 * 60_000) {
  const decay = decayFrom(name, START + healthyDays * DAY, spanDays * DAY);
  const played = playVirtual({ spec: device, place, seed: 7, from: START, until: START + untilDays * DAY, intervalMs: everyMs, decay });
  const failure = played.events.find((e) => e.type === DECAYS[name].failure);
  const readings = played.messages.filter((m) => m.telemetry).map((m): Telemetry & { at: number } => ({ ...(m.telemetry as Telemetry), at: m.ts }));
  return { decay, played, failure, readings };
}

/** The prediction pack's raises over `messages` of `device`, as the engine gives them. */
function warnings(device: DeviceSpec, messages: Parameters<typeof simulateRules>[1], until: number) {
  const d = { id: device.id, kind: device.kind, site: device.site, zone: device.zone, tags: device.tags, online: true, lastSeen: START };
  return simulateRules(pack, messages, [d], { timeZone: place.timeZone, from: START, until, log: createLogger('silent') }).flatMap((o) =>
    o.kind === 'raised' && !o.repeat ? [{ at: o.at, type: o.type }] : [],
  );
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('slow faults (devices/sim/decay.ts)', () => {
  it('grows from nothing at the onset to full at the failure, faster towards the end', () => {
    const d = decayFrom('pump-decay', 1000, 10_000);
    expect([0, 1000, 3500, 6000, 8500, 11_000, 20_000].map((t) => Number(severity(d, t).toFixed(4)))).toStrictEqual([0, 0, 0.0625, 0.25, 0.5625, 1, 1]);
  });

  it('plans the same decays for the same seed, whatever the order of the devices, and leaves the rest healthy', () => {
    const opts = { seed: 3, fraction: 0.25, from: START, spreadMs: 5 * DAY };
    const plan = planDecays(specs, opts);
    expect(planDecays([...specs].reverse(), opts).sort((a, b) => a.device.localeCompare(b.device))).toStrictEqual(
      [...plan].sort((a, b) => a.device.localeCompare(b.device)),
    );
    expect(new Set(plan.map((p) => p.device)).size).toBe(plan.length);
    const streetAndCarpark = specs.filter((s) => s.kind === 'lighting' && s.role !== 'corridor').length;
    expect(plan.filter((p) => p.name === 'lamp-decay')).toHaveLength(Math.round(streetAndCarpark * 0.25));
    for (const p of plan) {
      expect(p.onset).toBeGreaterThanOrEqual(START);
      expect(p.onset).toBeLessThan(START + 5 * DAY);
      expect(p.failAt - p.onset).toBe(DECAYS[p.name].spanMs);
    }
    expect(planDecays(specs, { ...opts, seed: 4 })).not.toStrictEqual(plan);
    expect(planDecays(specs, { ...opts, fraction: 0 })).toStrictEqual([]);
  });

  it('has sensor noise that depends only on seed, label and time, centred with a spread of about 1', () => {
    const xs = Array.from({ length: 4000 }, (_, i) => sensorNoise(1, 'x', i * 1000));
    expect(sensorNoise(1, 'x', 5_000_400)).toBe(sensorNoise(1, 'x', 5_000_900));
    expect(Math.abs(mean(xs))).toBeLessThan(0.06);
    expect(Math.sqrt(mean(xs.map((x) => x * x)))).toBeGreaterThan(0.9);
    expect(Math.sqrt(mean(xs.map((x) => x * x)))).toBeLessThan(1.1);
  });

  it('is a scenario whose +for is the time to the failure, on the lamps that have a driver worth watching', () => {
    const step = parseScenario('lamp-decay:street@10s+10m');
    expect(isDecay(step)).toBe(true);
    expect(isDecay(parseScenario('lamp-failure:street'))).toBe(false);
    expect(resolveTargets(step, specs).map((d) => d.id)).toStrictEqual(['lighting-street-01']);
    expect(resolveTargets(parseScenario('lamp-decay:b1-f2'), specs)).toStrictEqual([]);
  });
});

describe('each slow fault drifts, then ends in the failure event its kind already has', () => {
  it("lamp-decay: the driver draws up to 30 % more at full brightness, then lamp_failure and standby power", () => {
    const { failure, readings, played } = decaying(spec('lighting-street-05'), 'lamp-decay', 2, 4, 7);
    const full = (from: number, to: number) => readings.filter((r) => r.brightnessPct === 100 && r.at >= START + from * DAY && r.at < START + to * DAY).map((r) => r.powerW as number);
    expect(mean(full(5, 6)) / mean(full(0, 2))).toBeGreaterThan(1.2);
    expect(failure?.at).toBe(START + 6 * DAY);
    expect(readings.filter((r) => r.at > START + 6 * DAY && r.on).every((r) => (r.powerW as number) < 1)).toBe(true);
    for (const m of played.messages) {
      const checked = m.event ? checkEvent('lighting', { type: m.event.type, ...m.event.details }) : checkTelemetry('lighting', m.telemetry);
      expect(checked).toMatchObject({ ok: true });
    }
  });

  it('pump-decay: more current at the minimum night speed, then pump_fault', () => {
    const { failure, readings } = decaying(spec('water-pumps-01'), 'pump-decay', 2, 4, 7);
    const night = (day: number) => readings.filter((r) => r.pumpRunning && r.at >= START + day * DAY + HOUR && r.at < START + day * DAY + 4 * HOUR).map((r) => r.pumpCurrentA as number);
    expect(mean(night(5)) - mean(night(1))).toBeGreaterThan(2);
    expect(failure?.at).toBe(START + 6 * DAY);
  });

  it('inlet-decay: the tank cannot keep up and falls day by day, then dry_run with the tank nearly empty', () => {
    const { failure, readings } = decaying(spec('water-pumps-01'), 'inlet-decay', 1, 2, 6);
    expect(failure).toBeDefined();
    expect(failure!.at).toBeGreaterThan(START + 1 * DAY);
    const before = readings.filter((r) => r.at < failure!.at).at(-1)!;
    expect(before.levelPct).toBeLessThan(3.5);
    expect(Math.min(...readings.filter((r) => r.at < START + DAY).map((r) => r.levelPct as number))).toBeGreaterThan(60);
  });

  it('leak-decay: the night flow climbs towards 6 m³/h more, then leak', () => {
    const { failure, readings } = decaying(spec('water-pumps-01'), 'leak-decay', 2, 4, 7);
    const night = (day: number) => mean(readings.filter((r) => r.at >= START + day * DAY + 2 * HOUR && r.at < START + day * DAY + 4 * HOUR).map((r) => r.flowM3h as number));
    expect(night(5) - night(1)).toBeGreaterThan(3);
    expect(failure?.at).toBe(START + 6 * DAY);
  });

  it('transformer-decay: the winding climbs to 150 °C, then the breaker trips and it cools', () => {
    const { failure, readings } = decaying(spec('power-b1-power-01'), 'transformer-decay', 1, 3, 5);
    expect(failure?.at).toBe(START + 4 * DAY);
    const last = readings.filter((r) => r.at <= failure!.at).at(-1)!;
    expect(last.transformerTempC).toBeGreaterThan(150);
    expect(Math.max(...readings.filter((r) => r.at < START + DAY).map((r) => r.transformerTempC as number))).toBeLessThan(90);
    expect(readings.at(-1)).toMatchObject({ breakerClosed: false, powerKw: 0 });
    expect(readings.at(-1)!.transformerTempC).toBeLessThan(60);
  });
});

describe('the default prediction rules (rules/prediction.yaml) on the slow faults, in virtual time', () => {
  it('forecast a transformer reaching 130 °C hours before its breaker trips, and nothing while it was healthy', () => {
    const { failure, played } = decaying(spec('power-b1-power-01'), 'transformer-decay', 7, 3, 11);
    const raised = warnings(spec('power-b1-power-01'), played.messages, START + 11 * DAY);
    const first = raised.find((w) => w.type === 'transformer_temperature_rising');
    expect(raised.filter((w) => w.at < START + 7 * DAY)).toStrictEqual([]);
    expect(failure!.at - first!.at).toBeGreaterThan(2 * HOUR);
  });

  it('forecast a tank running dry before dry_run, and nothing while it was healthy', () => {
    const { failure, played } = decaying(spec('water-pumps-01'), 'inlet-decay', 7, 2, 12);
    const raised = warnings(spec('water-pumps-01'), played.messages, START + 12 * DAY);
    expect(raised.filter((w) => w.at < START + 7 * DAY)).toStrictEqual([]);
    const first = raised.find((w) => w.type === 'tank_level_falling');
    expect(failure!.at - first!.at).toBeGreaterThan(HOUR);
  });

  it("warn of an ageing lamp driver days before the lamp fails, learning the lamp's own power first", () => {
    const { failure, played } = decaying(spec('lighting-carpark-03'), 'lamp-decay', 14, 10, 26, 5 * 60_000);
    const raised = warnings(spec('lighting-carpark-03'), played.messages, START + 26 * DAY);
    expect(raised.filter((w) => w.at < START + 14 * DAY)).toStrictEqual([]);
    const first = raised.find((w) => w.type === 'lamp_driver_ageing');
    expect(failure!.at - first!.at).toBeGreaterThan(2 * DAY);
  });
});
