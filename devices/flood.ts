import type { DeviceModel, DeviceSpec } from './models/model.js';
import { applyFault, parseScenario, resolveTargets, ScenarioError } from './scenarios.js';
import { Random } from './sim/random.js';

/**
 * The `mains-loss-flood` scenario as a plan: which device is the distribution room, which devices its mains
 * feed (its children, site.ts MAINS_FED_KINDS), and what happens when, in real ms after the mains fail. Pure:
 * the runtime (devices/runtime/simulator.ts) plays it, and the unit tests read it without a gateway.
 *
 *   0        the room's generator fails to start (generator_fault E05) and the mains fail (mains_loss); every
 *            device the room feeds loses power at once: its connection just dies, no DISCONNECT
 *   fire     a fire starts in one of the building's zones; its detectors are on their own batteries, still
 *            online, and the first sends fire_alarm when the smoke reaches 12 % (10 to 20 simulated seconds)
 *   outage   the mains return (mains_restored) and the fed devices come back, each after its own boot time
 */

/**
 * How a device that loses its power leaves the broker. `keepalive`: it just stops, as a real one does; its
 * socket stays open and silent until the broker's keepalive timeout (1.5 × the device's keepalive) closes it
 * and publishes its `offline` last will. `close`: its socket closes at once (as when its switch port goes down
 * with it), and the broker publishes the will at once. Either way no DISCONNECT, so the will is published.
 */
export type PowerLoss = 'keepalive' | 'close';
export const POWER_LOSSES: readonly PowerLoss[] = ['keepalive', 'close'];

export interface FloodOptions {
  /** When the fire starts, real ms after the mains fail (default 30 s, or half the outage if that is shorter than a minute). */
  fireAfterMs?: number;
  /** The fire's zone (default: the middle one of the building's zones with fire detectors). */
  fireZone?: string;
  /** How long the fire burns before its detectors reset (default: on until the simulator stops; the mains returning do not put it out). */
  fireForMs?: number;
  /** How long the mains stay out (default: until the scenario is ended, by `+for` or by the caller). */
  outageMs?: number;
  /** How the fed devices leave the broker (default `keepalive`). */
  loss?: PowerLoss;
  /** The fed devices come back within this long after the mains return, each after its own boot time (default 10 s). */
  bootSpreadMs?: number;
  /** Seed of the boot times (default 1). */
  seed?: number;
}

export type FloodAction = 'generator-fault' | 'mains-loss' | 'power-off' | 'fire' | 'fire-out' | 'mains-restored' | 'power-on';

export interface FloodStep {
  /** Real ms after the mains fail. */
  atMs: number;
  action: FloodAction;
  /** The devices it acts on: the room, the fed devices, or the fire's detectors (origin first). */
  devices: string[];
}

export interface FloodPlan {
  site: string;
  /** The building the room feeds (its `building` tag). */
  building?: string;
  /** The distribution room: the parent of every device in `fed`. */
  power: string;
  /** The devices the room's mains feed, in the site's order: all lose power at 0. */
  fed: string[];
  /** The building's devices on their own batteries (fire detectors, call points, checkpoints, bins): they stay online. */
  onBattery: string[];
  /** The fire; absent when the building has no fire detector. */
  fire?: { zone: string; origin: string; spread: string[]; atMs: number; forMs?: number };
  /** When the mains return; absent: when the scenario is ended. */
  outageMs?: number;
  loss: PowerLoss;
  /** Each fed device's boot time after the mains return (ms), in the order of `fed`. */
  bootMs: number[];
  /** Everything the plan does, in order; the return only when `outageMs` is known. */
  steps: FloodStep[];
}

const DEFAULT_FIRE_AFTER_MS = 30_000;
const DEFAULT_BOOT_SPREAD_MS = 10_000;

/**
 * The plan of a flood on `specs` (a site's devices, with their parents). `target` is the distribution room's
 * id, its building or zone, or the site's name (or nothing): then the room that feeds the most devices.
 */
export function planFlood(specs: readonly DeviceSpec[], target?: string, opts: FloodOptions = {}): FloodPlan {
  const power = floodRoom(specs, target);
  const building = power.tags.building;
  const fed = specs.filter((d) => d.parent === power.id).map((d) => d.id);
  if (fed.length === 0) throw new ScenarioError(`mains-loss-flood: ${power.id} feeds no device (a building's devices get its power room as parent)`);
  const onBattery = specs.filter((d) => building !== undefined && d.tags.building === building && d.id !== power.id && d.parent !== power.id).map((d) => d.id);
  for (const [name, value] of Object.entries({ fireAfterMs: opts.fireAfterMs, fireForMs: opts.fireForMs, outageMs: opts.outageMs, bootSpreadMs: opts.bootSpreadMs })) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) throw new ScenarioError(`mains-loss-flood: ${name}: expected ms ≥ 0, got ${value}`);
  }
  const loss = opts.loss ?? 'keepalive';
  if (!POWER_LOSSES.includes(loss)) throw new ScenarioError(`mains-loss-flood: loss: expected ${POWER_LOSSES.join(' or ')}, got ${String(loss)}`);
  const { outageMs } = opts;

  const steps: FloodStep[] = [
    // The controller reports its start failure with the mains loss: no generator_start, the essential loads go dark too.
    { atMs: 0, action: 'generator-fault', devices: [power.id] },
    { atMs: 0, action: 'mains-loss', devices: [power.id] },
    { atMs: 0, action: 'power-off', devices: fed },
  ];
  const fire = planFire(specs, power, opts, outageMs);
  if (fire) {
    steps.push({ atMs: fire.atMs, action: 'fire', devices: [fire.origin, ...fire.spread] });
    if (fire.forMs !== undefined) steps.push({ atMs: fire.atMs + fire.forMs, action: 'fire-out', devices: [fire.origin, ...fire.spread] });
  }
  const rng = new Random(opts.seed ?? 1).fork(`flood ${power.id}`);
  const spread = opts.bootSpreadMs ?? DEFAULT_BOOT_SPREAD_MS;
  const bootMs = fed.map(() => Math.round(rng.next() * spread));
  const plan: FloodPlan = { site: power.site, building, power: power.id, fed, onBattery, fire, outageMs, loss, bootMs, steps };
  if (outageMs !== undefined) steps.push(...restoreSteps(plan, outageMs));
  steps.sort((a, b) => a.atMs - b.atMs);
  return plan;
}

/**
 * What follows the mains' return at `atMs`: `mains-restored` from the room, then the fed devices coming back,
 * those that boot in the same millisecond together.
 */
export function restoreSteps(plan: FloodPlan, atMs: number): FloodStep[] {
  const byTime = new Map<number, string[]>();
  plan.fed.forEach((id, i) => byTime.set(plan.bootMs[i], [...(byTime.get(plan.bootMs[i]) ?? []), id]));
  const back = [...byTime].sort((a, b) => a[0] - b[0]).map(([boot, ids]): FloodStep => ({ atMs: atMs + boot, action: 'power-on', devices: ids }));
  return [{ atMs, action: 'mains-restored', devices: [plan.power] }, ...back];
}

/**
 * The models' side of a flood step, on the models of `step.devices`: the room's faults started or ended, the
 * fire started or put out. `power-off` and `power-on` are the connections' (the runtime's): nothing here.
 */
export function applyFloodStep(step: FloodStep, models: readonly DeviceModel[], now: number): void {
  switch (step.action) {
    case 'generator-fault':
    case 'mains-loss':
      applyFault(step.action, models, true, now);
      break;
    case 'mains-restored':
      applyFault('mains-loss', models, false, now);
      // The generator is repaired with the mains back: it sends nothing, and carries the next outage.
      applyFault('generator-fault', models, false, now);
      break;
    case 'fire':
    case 'fire-out':
      applyFault('fire', models, step.action === 'fire', now);
      break;
    case 'power-off':
    case 'power-on':
      break;
  }
}

/** The fire of a flood: in `opts.fireZone` or the middle one of the room's building's zones with detectors. */
function planFire(specs: readonly DeviceSpec[], room: DeviceSpec, opts: FloodOptions, outageMs: number | undefined): FloodPlan['fire'] {
  const building = room.tags.building;
  const detectors = specs.filter((d) => d.kind === 'fire' && (building === undefined ? d.zone === room.zone : d.tags.building === building));
  const zones = [...new Set(detectors.map((d) => d.zone))];
  if (opts.fireZone !== undefined && !zones.includes(opts.fireZone)) {
    throw new ScenarioError(`mains-loss-flood: fireZone: no fire detector of ${building ?? room.id} in zone ${opts.fireZone} (${zones.join(', ') || 'none'})`);
  }
  const zone = opts.fireZone ?? zones[Math.floor((zones.length - 1) / 2)];
  if (zone === undefined) return undefined;
  // The detectors the `fire` scenario would pick in that zone: the origin and up to three the smoke drifts to.
  const [origin, ...spread] = resolveTargets(parseScenario(`fire:${zone}`), detectors).map((d) => d.id);
  const half = outageMs !== undefined && outageMs < 2 * DEFAULT_FIRE_AFTER_MS ? Math.floor(outageMs / 2) : DEFAULT_FIRE_AFTER_MS;
  return { zone, origin, spread, atMs: opts.fireAfterMs ?? half, forMs: opts.fireForMs };
}

/** The distribution room `target` names (see planFlood). */
export function floodRoom(specs: readonly DeviceSpec[], target: string | undefined): DeviceSpec {
  const rooms = specs.filter((d) => d.kind === 'power');
  const named = target === undefined ? undefined : (rooms.find((r) => r.id === target) ?? rooms.find((r) => r.tags.building === target || r.zone === target));
  if (named) return named;
  if (target === undefined || specs.some((d) => d.site === target)) {
    const feeds = (room: DeviceSpec) => specs.reduce((n, d) => n + (d.parent === room.id ? 1 : 0), 0);
    const most = rooms.reduce<DeviceSpec | undefined>((best, r) => (best === undefined || feeds(r) > feeds(best) ? r : best), undefined);
    if (most) return most;
  }
  throw new ScenarioError(`mains-loss-flood: no distribution room (a power device) in ${target ?? 'the site'}`);
}
