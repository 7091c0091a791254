import { parseDuration } from '../src/config/duration.js';
import type { DeviceModel, DeviceSpec, ModelFault } from './models/model.js';

/**
 * Faults and scenarios as the command line and timeline files write them: `name:target[@at][+for]`, e.g.
 * `fire:b2-f3@30s+5m` (a fire in zone b2-f3, 30 s after the start, put out 5 minutes later). Times are real
 * time from the moment every device is connected. The target is a device id, a zone, a building or area id,
 * or the site; see `resolveTargets`.
 */

/** What a scenario does to the devices it picks. */
interface ScenarioDef {
  description: string;
  /** The model fault it starts, or a connection fault the runtime plays. */
  fault: ModelFault | 'silence' | 'drop';
  /** Which devices of the target it takes: `one`, `several` (first is the origin), or `all`. */
  spread: 'one' | 'several' | 'all';
  kinds: DeviceSpec['kind'][];
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
  'low-battery': { description: 'a battery device runs low', fault: 'low-battery', spread: 'one', kinds: ['access', 'parking', 'fire'], roles: ['door', 'gate', 'space', 'fire-lane', 'detector'] },
  silence: { description: 'a device drops out silently (connected, sends nothing)', fault: 'silence', spread: 'one', kinds: ['access', 'lighting', 'parking', 'energy', 'fire', 'camera'] },
  drop: { description: "a device's connection dies: the broker sends its offline last will", fault: 'drop', spread: 'one', kinds: ['access', 'lighting', 'parking', 'energy', 'fire', 'camera'] },
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

/** The fault a scenario starts on each of its devices (the first is the origin). */
export function faultOf(step: ScenarioStep): ScenarioDef['fault'] {
  return SCENARIOS[step.scenario].fault;
}

/**
 * Starts (or ends) a model fault on the models `resolveTargets` picked, the first as the origin; answers the
 * ids it acted on. `silence` and `drop` are the runtime's (devices/runtime/simulator.ts).
 */
export function applyFault(fault: ModelFault, models: readonly DeviceModel[], begin: boolean, now: number): string[] {
  return models
    .filter((m, i) => (begin ? m.startFault({ name: fault, role: i === 0 ? 'origin' : 'spread' }, now) : m.endFault(fault, now)))
    .map((m) => m.spec.id);
}
