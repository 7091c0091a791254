import type { KindName } from '../../src/devices/kinds/index.js';
import type { Random } from '../sim/random.js';

/** One device of a site, as the site description expands it. */
export interface DeviceSpec {
  id: string;
  kind: KindName;
  site: string;
  zone: string;
  name: string;
  /**
   * What the device is for, which the models and scenarios read: `corridor` `street` `carpark` lights, `door`
   * and `gate` controllers, `space` `fire-lane` and `lot` parking devices, `building` and `site` meters,
   * `detector`, `camera`.
   */
  role: string;
  /** Registered with the device (contract §5), so rules can match on them: role, building, floor... */
  tags: Record<string, string>;
  /** Sizes the model needs: `capacity` of a lot, `ratedW` of a lamp, `households` behind a meter. */
  params: Record<string, number>;
  /**
   * The device this one depends on, registered with it (the gateway folds a child's offline alarms into its
   * parent's): the distribution room whose mains feed it (site.ts MAINS_FED_KINDS). Absent: on its own.
   */
  parent?: string;
  /** Where it is on its floor's or zone's plan (devices/positions.ts), registered with it (contract §12). */
  position?: { x: number; y: number };
}

/** Where the site is: its time zone (for the daily curves) and position (for dusk and dawn). */
export interface SitePlace {
  timeZone: string;
  lat: number;
  lon: number;
}

export interface ModelContext {
  rng: Random;
  place: SitePlace;
}

/** A telemetry reading, exactly the fields of the kind's schema (src/devices/kinds). */
export type Telemetry = Record<string, number | boolean | string>;

/** An event as it goes on the wire, without `ts` (the runtime adds it). */
export interface SimEvent {
  type: string;
  [detail: string]: string | number | boolean;
}

export interface StepResult {
  /** Events that happened since the previous step, in order. */
  events: SimEvent[];
  /** The state changed in a way a real device reports at once (a fault, smoke rising): send telemetry now. */
  reportNow: boolean;
}

export type CommandResult = { ok: true } | { ok: false; error: string };

/** Faults a model can be put into; the scenarios (devices/scenarios.ts) pick the devices and start them. */
export const MODEL_FAULTS = [
  'fire', // fire detector: smoke and heat rise; with `origin` it also sends fire_alarm
  'fire-fault', // fire detector: a device fault
  'door-forced', // access: the door opens while locked, door_forced
  'door-held-open', // access: the door stays open, door_held_open after 30 s
  'denied-access', // access: someone tries a wrong card again and again
  'lamp-failure', // lighting: lamp_failure, draws no power while on
  'circuit-trip', // lighting: circuit_trip on the lamp with `origin`; every lamp on the circuit goes dark
  'meter-tamper', // energy: the register goes back, meter_tamper
  'phase-loss', // energy: phase_loss, a third of the load and one phase's voltage gone
  'video-loss', // camera: video_loss, 0 fps, 0 kbps
  'camera-tamper', // camera: tamper
  'intrusion', // camera: intrusion (at any hour: the scenario picks the time)
  'fire-lane', // parking fire-lane sensor: a car parks on the fire lane
  'barrier-fault', // parking lot gate: barrier_fault
  'checkpoint-skipped', // patrol: the guard walks past this checkpoint, no checkpoint_scan until it ends
  'patrol-tamper', // patrol: tamper
  'sos-call', // sos: call with the location; cancel when the fault ends
  'sos-fault', // sos: fault with a code, no calls can be placed
  'sos-tamper', // sos: tamper
  'leak', // environment: leak, waterLeak true until it ends
  'valve-fault', // environment: valve_fault, the irrigation valve stays shut and the soil dries
  'pollution', // environment: PM2.5 and PM10 well above the limits
  'night-noise', // environment: about 68 dB (works or a party: the scenario picks the hour)
  'bin-overfill', // waste: rubbish piled in beyond the schedule, full within ten minutes, not collected until it ends
  'bin-fire', // waste: the temperature climbs fast, fire
  'low-battery', // any battery device: the battery falls below 10 %
  'lift-trapped', // lift: stops between floors with a passenger inside, stopped_between_floors then passenger_trapped
  'lift-door-fault', // lift: door_fault again and again, the car stays at its floor
  'lift-out-of-service', // lift: mode out_of_service, the car answers no calls
  'lift-inspection', // lift: mode inspection (maintenance_start, maintenance_end)
  'lift-alarm-button', // lift: alarm_button from someone in the car; the car carries on as normal
  'lift-power-loss', // lift: power_loss, the car stops where it is, doors shut, no calls until it ends
  'lift-overspeed', // lift: overspeed, the safety gear stops the car between floors, fault E17, out of service
  'lift-fault', // lift: fault E30 from the controller, out of service, no calls until it ends
  'pump-fault', // water: pump_fault, the set loses control and the pressure drops
  'dry-run', // water: the tank runs dry (level near 0), dry_run, the pumps stop
  'water-leak', // water: leak, the flow stays up at night
  'pump-short-cycling', // water: the pumps start and stop every minute or two
  'tank-overflow', // water: the float valve sticks open, the tank fills to 100 % and overflow; above 95 % until it ends
  'water-contamination', // water: chlorine below 0.05 mg/L and turbidity above 1 NTU within about 10 minutes
  'chlorine-overdose', // water: the dosing pump sticks, chlorine above 2 mg/L within about 10 minutes
  'mains-loss', // power: mains_loss and generator_start, on the generator, fuel falling; mains_restored at the end
  'breaker-trip', // power: breaker_trip, the main breaker opens, no load
  'transformer-overheat', // power: the transformer's cooling fails, its temperature climbs past 130 °C
  'power-room-flooding', // power: flooding in the distribution room, humidity up
  'generator-fault', // power: generator_fault with a code; with the mains also out the essential loads go dark
  // Slow faults (devices/sim/decay.ts): they grow over days, then end in the failure event of the kind.
  'lamp-decay', // lighting: the LED driver draws more and more, then lamp_failure
  'pump-decay', // water: the pump draws more current at the same speed, then pump_fault
  'inlet-decay', // water: the tank's inlet clogs, the level falls day by day, then dry_run
  'leak-decay', // water: a leak in the riser grows (the night flow first), then leak
  'transformer-decay', // power: the cooling fails, the temperature climbs to 150 °C, then breaker_trip
] as const;
export type ModelFault = (typeof MODEL_FAULTS)[number];

export interface Fault {
  name: ModelFault;
  /** For faults that spread over several devices: the device where it starts, or one it spreads to. */
  role?: 'origin' | 'spread';
  /** For a slow fault (`*-decay`): simulated ms from now to the failure (default: the decay's own span). */
  spanMs?: number;
}

/**
 * A device's behaviour on simulated time. Pure: no I/O, no timers; the runtime calls it and publishes what it
 * returns, so the unit tests drive it with a ManualClock and a seeded Random.
 */
export interface DeviceModel {
  readonly spec: DeviceSpec;
  /** Advances the model to `now` (simulated ms); returns what happened since the previous step. */
  step(now: number): StepResult;
  /** The reading the device would send at `now` (after step). */
  telemetry(now: number): Telemetry;
  /** Obeys a command of contract §2 (`cmd`); the result goes back on `cmd/result`. */
  command(action: string, params: Record<string, unknown> | undefined, now: number): CommandResult;
  /** Starts a fault; false when it does not apply to this device. */
  startFault(fault: Fault, now: number): boolean;
  /** Ends a fault: the device recovers (the detector resets, the lamp is replaced...); false if it was not on. */
  endFault(name: ModelFault, now: number): boolean;
}

/** Rounds to `digits` decimals: devices report sensible precision, not 17 digits. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One step of an Ornstein–Uhlenbeck process: noise that wanders and decays, the same whatever `dt`. */
export function wander(rng: Random, x: number, dtMs: number, sd: number, tauMs: number): number {
  const keep = Math.exp(-dtMs / tauMs);
  return x * keep + sd * Math.sqrt(1 - keep * keep) * rng.normal();
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * A battery that declines slowly (about `yearsLife` from full to empty) with a little reading noise, and that a
 * `low-battery` fault drops to a few per cent.
 */
export class Battery {
  private level: number;
  private readonly perMs: number;

  constructor(
    private readonly rng: Random,
    yearsLife = 3,
  ) {
    this.level = rng.between(55, 100);
    this.perMs = 100 / (yearsLife * 365 * 86_400_000);
  }

  advance(ms: number): void {
    this.level = Math.max(0, this.level - ms * this.perMs);
  }

  /** A `low-battery` fault: the cell is nearly flat. */
  drain(): void {
    this.level = Math.min(this.level, this.rng.between(4, 8));
  }

  replace(): void {
    this.level = 100;
  }

  pct(): number {
    return round(clamp(this.level + this.rng.normal(0, 0.2), 0, 100), 0);
  }
}
