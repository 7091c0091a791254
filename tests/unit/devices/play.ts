import { expect } from 'vitest';
import { createModel, type DeviceModel, type SimEvent, type Telemetry } from '../../../devices/models/index.js';
import { applyFault, faultOf, parseScenario, resolveTargets } from '../../../devices/scenarios.js';
import { ManualClock } from '../../../devices/sim/clock.js';
import { Random } from '../../../devices/sim/random.js';
import { expandSite, loadSite, placeOf } from '../../../devices/site.js';
import { checkEvent, checkTelemetry } from '../../../src/devices/kinds/index.js';

const site = await loadSite('devices/sites/demo.yaml');
const specs = expandSite(site);
/** A Wednesday afternoon in the site's time zone: corridor lamps on, people about. */
export const START = Date.parse('2026-11-25T14:00:00+08:00');

export interface Played {
  ids: string[];
  /** Each device's events, in order. */
  events: Map<string, SimEvent[]>;
  /** Each device's events with the simulated time of the step that returned them. */
  timed: Map<string, { at: number; event: SimEvent }[]>;
  /** Each device's readings at every step, when `trace` was asked for. */
  readings: Map<string, { at: number; reading: Telemetry }[]>;
  before: Map<string, Telemetry>;
  after: Map<string, Telemetry>;
}

export interface PlayOptions {
  /** Simulated start (ms); default START. */
  start?: number;
  /** Simulated ms between steps; default one second. */
  stepMs?: number;
  /** Seconds after the start at which the fault ends; default never. */
  endAfter?: number;
  /** Read every device's telemetry at every step (it draws on the models' random numbers, so it is asked for). */
  trace?: boolean;
}

/**
 * Plays `text` on fresh models of the demo site's devices it picks for `seconds` of simulated time, checking
 * every event (and the last reading, or every one traced) against the kind's schema.
 */
export function play(text: string, seconds = 120, opts: PlayOptions = {}): Played {
  const { start = START, stepMs = 1000, endAfter, trace = false } = opts;
  const step = parseScenario(text);
  const clock = new ManualClock(start);
  const root = new Random(42);
  const models: DeviceModel[] = resolveTargets(step, specs).map((s) => createModel(s, { rng: root.fork(s.id), place: placeOf(site) }, clock.now()));
  const perDevice = <T>() => new Map<string, T[]>(models.map((m) => [m.spec.id, []]));
  const timed = perDevice<{ at: number; event: SimEvent }>();
  const readings = perDevice<{ at: number; reading: Telemetry }>();
  const before = new Map(models.map((m) => [m.spec.id, m.telemetry(clock.now())]));
  const fault = faultOf(step);
  if (fault === 'silence' || fault === 'drop') throw new Error('a runtime scenario');
  const ids = applyFault(fault, models, true, clock.now());
  const end = start + seconds * 1000;
  let ended = endAfter === undefined;
  while (clock.now() < end) {
    clock.advance(Math.min(stepMs, end - clock.now()));
    const now = clock.now();
    if (!ended && now >= start + endAfter! * 1000) {
      applyFault(fault, models, false, now);
      ended = true;
    }
    for (const m of models) {
      for (const event of m.step(now).events) {
        expect(checkEvent(m.spec.kind, event)).toMatchObject({ ok: true });
        timed.get(m.spec.id)!.push({ at: now, event });
      }
      if (!trace) continue;
      const reading = m.telemetry(now);
      expect(checkTelemetry(m.spec.kind, reading)).toMatchObject({ ok: true });
      readings.get(m.spec.id)!.push({ at: now, reading });
    }
  }
  const after = new Map(models.map((m) => [m.spec.id, m.telemetry(clock.now())]));
  for (const m of models) expect(checkTelemetry(m.spec.kind, after.get(m.spec.id))).toMatchObject({ ok: true });
  const events = new Map([...timed].map(([id, list]) => [id, list.map((t) => t.event)]));
  return { ids, events, timed, readings, before, after };
}

/** The types of a device's events, in order. */
export const types = (p: Played, id: string) => p.events.get(id)!.map((e) => e.type);
