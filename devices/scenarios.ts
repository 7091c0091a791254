import { parseDuration } from '../src/config/duration.js';
import { KIND_NAMES } from '../src/devices/kinds/index.js';
import type { DeviceModel, DeviceSpec, ModelFault } from './models/model.js';
import { DECAYS, isDecayName } from './sim/decay.js';

/**
 * Faults and scenarios as the command line and timeline files write them: `name:target[@at][+for]`, e.g.
 * `fire:b2-f3@30s+5m` (a fire in zone b2-f3, 30 s after the start, put out 5 minutes later). Times are real
 * time from the moment every device is connected. The target is a device id, a zone, a building or area id,
 * or the site; see `resolveTargets`.
 */

/** What a scenario does to the devices it picks. */
interface ScenarioDef {
  description: string;
  /**
   * The model fault it starts, a connection fault the runtime plays, or `flood`: a whole building losing its
   * mains, which the runtime plays from a plan (devices/flood.ts).
   */
  fault: ModelFault | 'silence' | 'drop' | 'flood';
  /** Which devices of the target it takes: `one`, `several` (first is the origin), or `all`. */
  spread: 'one' | 'several' | 'all';
  kinds: readonly DeviceSpec['kind'][];
  roles?: string[];
}

export const SCENARIOS = {
  fire: { description: 'fire in a zone: smoke rises in several detectors, one sends fire_alarm', fault: 'fire', spread: 'several', kinds: ['fire'] },
  'fire-fault': { description: 'a fire detector reports a fault', fault: 'fire-fault', spread: 'one', kinds: ['fire'] },
  'door-forced': { description: 'a door is forced open', fault: 'door-forced', spread: 'one', kinds: ['access'] },
  'door-held-open': { description: 'a door is held open', fault: 'door-held-open', spread: 'one', kinds: ['access'] },
  'denied-access': { description: 'repeated denied access at a door', fault: 'denied-access', spread: 'one', kinds: ['access'] },
  'lamp-failure': { description: 'a lamp fails: on, but drawing no power', fault: 'lamp-failure', spread: 'one', kinds: ['lighting'] },
  'circuit-trip': { description: "a lighting circuit trips: the zone's lamps go dark", fault: 'circuit-trip', spread: 'all', kinds: ['lighting'] },
  'meter-tamper': { description: 'meter tamper: the register goes back', fault: 'meter-tamper', spread: 'one', kinds: ['energy'] },
  'phase-loss': { description: 'a meter loses a phase', fault: 'phase-loss', spread: 'one', kinds: ['energy'] },
  'video-loss': { description: 'a camera loses video', fault: 'video-loss', spread: 'one', kinds: ['camera'] },
  'camera-tamper': { description: 'a camera is tampered with', fault: 'camera-tamper', spread: 'one', kinds: ['camera'] },
  intrusion: { description: 'a camera sees an intrusion', fault: 'intrusion', spread: 'one', kinds: ['camera'] },
  'fire-lane': { description: 'a car parks on the fire lane', fault: 'fire-lane', spread: 'one', kinds: ['parking'], roles: ['fire-lane'] },
  'barrier-fault': { description: 'a car park barrier faults', fault: 'barrier-fault', spread: 'one', kinds: ['parking'], roles: ['lot'] },
  'lift-trapped': { description: 'a lift stops between floors with a passenger inside (released when it ends)', fault: 'lift-trapped', spread: 'one', kinds: ['lift'] },
  'lift-door-fault': { description: "a lift's doors fault again and again, the car stays at its floor", fault: 'lift-door-fault', spread: 'one', kinds: ['lift'] },
  'lift-out-of-service': { description: 'a lift is taken out of service and answers no calls', fault: 'lift-out-of-service', spread: 'one', kinds: ['lift'] },
  'lift-inspection': { description: 'a lift is put in inspection mode (maintenance) and left there', fault: 'lift-inspection', spread: 'one', kinds: ['lift'] },
  'lift-alarm-button': { description: 'someone in a lift car presses the alarm button (a false alarm, or a passenger unwell)', fault: 'lift-alarm-button', spread: 'one', kinds: ['lift'] },
  'lift-power-loss': { description: 'a lift loses its supply: the car stops where it is, doors shut, until it ends', fault: 'lift-power-loss', spread: 'one', kinds: ['lift'] },
  'lift-overspeed': { description: 'a lift car overspeeds and the safety gear stops it: out of service until it ends', fault: 'lift-overspeed', spread: 'one', kinds: ['lift'] },
  'lift-fault': { description: "a lift's controller reports a fault and the car answers no calls until it ends", fault: 'lift-fault', spread: 'one', kinds: ['lift'] },
  'pump-fault': { description: 'a booster pump faults, the outlet pressure drops', fault: 'pump-fault', spread: 'one', kinds: ['water'] },
  'dry-run': { description: 'the tank runs dry and the pumps run dry', fault: 'dry-run', spread: 'one', kinds: ['water'] },
  'water-leak': { description: 'a leak in the pump room, the flow stays up at night', fault: 'water-leak', spread: 'one', kinds: ['water'] },
  'pump-short-cycling': { description: 'the pumps start and stop every minute or two', fault: 'pump-short-cycling', spread: 'one', kinds: ['water'] },
  'tank-overflow': { description: "a tank's float valve sticks open: the tank fills to the top and overflows", fault: 'tank-overflow', spread: 'one', kinds: ['water'] },
  'water-contamination': { description: 'the supply is contaminated: chlorine used up, cloudy water within about 10 minutes', fault: 'water-contamination', spread: 'one', kinds: ['water'] },
  'chlorine-overdose': { description: 'the chlorine dosing pump sticks: chlorine above 2 mg/L within about 10 minutes', fault: 'chlorine-overdose', spread: 'one', kinds: ['water'] },
  'mains-loss': { description: 'the mains fail: the generator starts and carries the essential loads', fault: 'mains-loss', spread: 'one', kinds: ['power'] },
  'breaker-trip': { description: "a distribution room's main breaker trips", fault: 'breaker-trip', spread: 'one', kinds: ['power'] },
  'transformer-overheat': { description: "a transformer's cooling fails, its temperature climbs past 130 °C", fault: 'transformer-overheat', spread: 'one', kinds: ['power'] },
  'power-room-flooding': { description: 'water on the floor of a distribution room', fault: 'power-room-flooding', spread: 'one', kinds: ['power'] },
  'generator-fault': { description: "a distribution room's standby generator fails (with the mains out, the essential loads go dark)", fault: 'generator-fault', spread: 'one', kinds: ['power'] },
  'checkpoint-skipped': { description: 'the guard walks past a checkpoint without scanning it', fault: 'checkpoint-skipped', spread: 'one', kinds: ['patrol'] },
  'patrol-tamper': { description: 'a checkpoint reader is tampered with', fault: 'patrol-tamper', spread: 'one', kinds: ['patrol'] },
  'sos-call': { description: 'someone presses an emergency call point (cancelled when it ends)', fault: 'sos-call', spread: 'one', kinds: ['sos'] },
  'sos-fault': { description: 'an emergency call point faults: no calls can be placed', fault: 'sos-fault', spread: 'one', kinds: ['sos'] },
  'sos-tamper': { description: 'an emergency call point is tampered with', fault: 'sos-tamper', spread: 'one', kinds: ['sos'] },
  leak: { description: 'a leak sensor outdoors gets wet', fault: 'leak', spread: 'one', kinds: ['environment'] },
  'valve-fault': { description: 'an irrigation valve stays shut and the soil dries', fault: 'valve-fault', spread: 'one', kinds: ['environment'] },
  pollution: { description: 'PM2.5 and PM10 well above the limits (works, a fire nearby)', fault: 'pollution', spread: 'one', kinds: ['environment'] },
  'night-noise': { description: 'about 68 dB (works or a party): above the limit at night', fault: 'night-noise', spread: 'one', kinds: ['environment'] },
  'bin-overfill': { description: 'rubbish piled in beyond the schedule: a bin full within minutes, emptied when it ends', fault: 'bin-overfill', spread: 'one', kinds: ['waste'] },
  'bin-fire': { description: 'a fire in a bin', fault: 'bin-fire', spread: 'one', kinds: ['waste'] },
  'low-battery': {
    description: 'a battery device runs low',
    fault: 'low-battery',
    spread: 'one',
    kinds: ['access', 'parking', 'fire', 'patrol', 'sos', 'waste'],
    roles: ['door', 'gate', 'space', 'fire-lane', 'detector', 'checkpoint', 'call-point', 'lift-car', 'bin'],
  },
  silence: { description: 'a device drops out silently (connected, sends nothing)', fault: 'silence', spread: 'one', kinds: KIND_NAMES },
  drop: { description: "a device's connection dies: the broker sends its offline last will", fault: 'drop', spread: 'one', kinds: KIND_NAMES },
  // Slow faults (devices/sim/decay.ts): `+for` is the time to the failure, compressing the decay's days into it.
  'lamp-decay': { description: DECAYS['lamp-decay'].description, fault: 'lamp-decay', spread: 'one', kinds: ['lighting'], roles: ['street', 'carpark'] },
  'pump-decay': { description: DECAYS['pump-decay'].description, fault: 'pump-decay', spread: 'one', kinds: ['water'] },
  'inlet-decay': { description: DECAYS['inlet-decay'].description, fault: 'inlet-decay', spread: 'one', kinds: ['water'] },
  'leak-decay': { description: DECAYS['leak-decay'].description, fault: 'leak-decay', spread: 'one', kinds: ['water'] },
  'transformer-decay': { description: DECAYS['transformer-decay'].description, fault: 'transformer-decay', spread: 'one', kinds: ['power'] },
  'mains-loss-flood': {
    description: "a building's mains fail, its generator does not start: every device its room feeds drops off at once; a fire 30 s in",
    fault: 'flood',
    spread: 'one',
    kinds: ['power'],
  },
} as const satisfies Record<string, ScenarioDef>;
export type ScenarioName = keyof typeof SCENARIOS;

/** Detectors a fire spreads to besides its origin. */
const FIRE_SPREAD = 3;

export interface ScenarioStep {
  scenario: ScenarioName;
  target: string;
  /** Real ms after the start. */
  atMs: number;
  /** Real ms until the fault ends; undefined: it lasts until the simulator stops. */
  forMs?: number;
  /** The text it was parsed from, for the log. */
  text: string;
}

export class ScenarioError extends Error {}

const STEP_RE = /^([a-z-]+):([A-Za-z0-9_-]+)(?:@([0-9.]+(?:ms|s|m|h)))?(?:\+([0-9.]+(?:ms|s|m|h)))?$/;

/** Parses `name:target[@at][+for]`; a bad one throws naming the part that is wrong. */
export function parseScenario(text: string): ScenarioStep {
  const m = STEP_RE.exec(text.trim());
  if (!m) throw new ScenarioError(`scenario "${text}": expected name:target[@at][+for], e.g. fire:b2-f3@30s+5m`);
  const [, name, target, at, lasts] = m;
  if (!isScenarioName(name)) throw new ScenarioError(`scenario "${text}": unknown scenario ${name} (${Object.keys(SCENARIOS).join(', ')})`);
  return { scenario: name, target, atMs: at ? parseDuration(at)! : 0, forMs: lasts ? parseDuration(lasts) : undefined, text: text.trim() };
}

export function isScenarioName(name: string): name is ScenarioName {
  return Object.hasOwn(SCENARIOS, name);
}

/**
 * The devices `step` acts on, in order (the first is the origin of a spreading fault): the target may be a
 * device id, a zone (`b2-f3`), a building or area id (`b2`, `carpark`) or the site's name.
 */
export function resolveTargets(step: ScenarioStep, devices: readonly DeviceSpec[]): DeviceSpec[] {
  const def: ScenarioDef = SCENARIOS[step.scenario];
  const fits = (d: DeviceSpec) => def.kinds.includes(d.kind) && (!def.roles || def.roles.includes(d.role));
  const byId = devices.find((d) => d.id === step.target);
  if (byId) return fits(byId) ? [byId] : [];
  const inTarget = devices.filter(
    (d) => fits(d) && (d.zone === step.target || d.tags.building === step.target || d.tags.area === step.target || d.site === step.target),
  );
  if (def.spread === 'one') return inTarget.slice(0, 1);
  if (def.spread === 'several') return inTarget.slice(0, 1 + FIRE_SPREAD);
  return inTarget;
}

/**
 * The fault a scenario starts on each of its devices (the first is the origin). A flood is no one fault: the
 * simulator's runtime plays it (`isFlood`), so asking for its fault throws.
 */
export function faultOf(step: ScenarioStep): ModelFault | 'silence' | 'drop' {
  const fault = SCENARIOS[step.scenario].fault;
  if (fault === 'flood') throw new ScenarioError(`scenario ${step.text}: a whole building's outage, played by the simulator's runtime, not one fault`);
  return fault;
}

/** The step is a flood (`mains-loss-flood`), which the runtime plays from its plan (devices/flood.ts). */
export function isFlood(step: ScenarioStep): boolean {
  return SCENARIOS[step.scenario].fault === 'flood';
}

/**
 * The step is a slow fault (`lamp-decay`...): its `+for` is the (real) time until the failure, not how long it
 * lasts; it lasts until the simulator stops.
 */
export function isDecay(step: ScenarioStep): boolean {
  return isDecayName(SCENARIOS[step.scenario].fault);
}

/**
 * Starts (or ends) a model fault on the models `resolveTargets` picked, the first as the origin; answers the
 * ids it acted on. `silence` and `drop` are the runtime's (devices/runtime/simulator.ts). `spanMs` is a slow
 * fault's simulated time to its failure (default: its natural span).
 */
export function applyFault(fault: ModelFault, models: readonly DeviceModel[], begin: boolean, now: number, spanMs?: number): string[] {
  return models
    .filter((m, i) => (begin ? m.startFault({ name: fault, role: i === 0 ? 'origin' : 'spread', spanMs }, now) : m.endFault(fault, now)))
    .map((m) => m.spec.id);
}
