import { bump, localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import { MaintenanceVisits } from './maintenance-visits.js';
import {
  clamp,
  round,
  type CommandResult,
  type DeviceModel,
  type DeviceSpec,
  type Fault,
  type ModelContext,
  type ModelFault,
  type SimEvent,
  type StepResult,
  type Telemetry,
} from './model.js';

/**
 * One lift car answering hall calls. `params.floors` (default 18) landings above ground numbered 1..floors, and
 * `params.basements` (default 0) below it numbered -1..-basements (there is no floor 0). Calls come as a
 * Poisson process whose rate follows the day (a morning rush down to the lobby, an evening rush up from it);
 * each call is a door cycle at the pick-up floor, a run, and a door cycle at the destination. `trips` counts
 * the runs and `runHours` the motor's running time: both only rise. A maintainer comes every
 * `params.maintenanceDays` (default 14; 0: never) and puts the car in inspection mode for an hour or so.
 */

const FAULTS: readonly ModelFault[] = [
  'lift-trapped',
  'lift-door-fault',
  'lift-out-of-service',
  'lift-inspection',
  'lift-alarm-button',
  'lift-power-loss',
  'lift-overspeed',
  'lift-fault',
];
/** Faults that hold the car where it is, answering no calls, until they end. */
const HALTING: readonly ModelFault[] = ['lift-power-loss', 'lift-overspeed', 'lift-fault'];
/** Faults the controller reports as mode out_of_service: it takes the car out of service itself. */
const OUT_OF_SERVICE: readonly ModelFault[] = ['lift-out-of-service', 'lift-overspeed', 'lift-fault'];
/** The controller's codes: the safety gear set after an overspeed, and a drive fault. */
const SAFETY_GEAR_CODE = 'E17';
const CONTROLLER_CODE = 'E30';
/** Rated speed (m/s), storey height (m), and the time to accelerate and level (s) added to a run. */
const RATED_MPS = 1.75;
const STOREY_M = 3;
const START_STOP_S = 3;
/** How long the doors stay open for people to get in or out (s). */
const DOOR_MIN_S = 5;
const DOOR_MAX_S = 10;
/** How often a stuck door reports again (ms). */
const DOOR_FAULT_EVERY_MS: [number, number] = [60_000, 180_000];

type Phase = 'idle' | 'doors' | 'moving' | 'stopped';
type LiftMode = 'normal' | 'inspection' | 'out_of_service';

/** Hall calls per hour at local `hour`: few at night, rushes at about 07:45 and 18:30. */
export function callsPerHour(hour: number, weekend: boolean): number {
  if (weekend) return 3 + 25 * bump(hour, 10.5, 2) + 25 * bump(hour, 17.5, 2.5);
  return 2 + 55 * bump(hour, 7.75, 0.8) + 12 * bump(hour, 12.5, 1.5) + 45 * bump(hour, 18.5, 1.3);
}

export class LiftModel implements DeviceModel {
  private readonly rng: Random;
  private readonly timeZone: string;
  private readonly top: number;
  private readonly bottom: number;
  private last: number;
  private phase: Phase = 'idle';
  /** When the current phase ends (ms); idle ends with the next call. */
  private phaseEnd: number;
  private floor = 1;
  private from = 1;
  private to = 1;
  private moveStart = 0;
  /** After the doors close: the floor the passengers asked for, if they still have to be taken there. */
  private destination: number | undefined;
  private load = 0;
  private trips: number;
  private runMs: number;
  private mode: LiftMode = 'normal';
  private trapped = false;
  private doorFault = false;
  private nextDoorFault = 0;
  private readonly active = new Set<ModelFault>();
  private readonly visits: MaintenanceVisits;
  private pending: SimEvent[] = [];
  private reportDue = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.timeZone = ctx.place.timeZone;
    this.top = Math.max(2, Math.round(spec.params.floors ?? 18));
    this.bottom = -Math.max(0, Math.round(spec.params.basements ?? 0));
    this.last = now;
    // A car some years in service.
    this.trips = this.rng.int(50_000, 400_000);
    this.runMs = this.rng.between(2_000, 15_000) * 3_600_000;
    this.phaseEnd = this.nextCall(now);
    this.visits = new MaintenanceVisits(this.rng, this.timeZone, spec.params.maintenanceDays ?? 14, now);
  }

  step(now: number): StepResult {
    this.advance(now);
    const result = { events: this.pending, reportNow: this.reportDue };
    this.pending = [];
    this.reportDue = false;
    return result;
  }

  telemetry(_now: number): Telemetry {
    const moving = this.phase === 'moving';
    const direction = moving ? (this.to > this.from ? 'up' : 'down') : 'idle';
    return {
      floor: this.currentFloor(),
      moving,
      direction,
      doorOpen: this.phase === 'doors',
      mode: this.mode,
      loadPct: round(clamp(this.load, 0, 100), 0),
      speedMps: moving ? round(this.speed(), 2) : 0,
      trips: this.trips,
      runHours: round(this.runMs / 3_600_000, 1),
    };
  }

  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    return { ok: false, error: `unknown action ${action} for lift` };
  }

  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    if (this.active.has(fault.name)) return true;
    this.active.add(fault.name);
    this.reportDue = true;
    this.mode = this.modeNow();
    switch (fault.name) {
      case 'lift-trapped':
        // The car stops where it is, or just after leaving its floor, with someone inside.
        this.stopBetweenFloors(now);
        this.trapped = true;
        this.load = Math.max(this.load, this.rng.between(8, 25));
        this.pending.push({ type: 'stopped_between_floors', floor: this.floor });
        this.pending.push({ type: 'passenger_trapped', floor: this.floor });
        break;
      case 'lift-alarm-button':
        // A false alarm or a passenger feeling unwell: the car carries on as normal.
        this.pending.push({ type: 'alarm_button' });
        break;
      case 'lift-power-loss':
        // A moving car stops between landings on its brake; a standing one keeps its doors shut.
        if (this.phase === 'moving') this.stopBetweenFloors(now);
        else this.halt(now);
        this.pending.push({ type: 'power_loss' });
        break;
      case 'lift-overspeed':
        // The governor trips on a run and the safety gear grips the rails between landings.
        this.stopBetweenFloors(now);
        this.pending.push({ type: 'overspeed' }, { type: 'fault', code: SAFETY_GEAR_CODE });
        break;
      case 'lift-fault':
        this.settle(now);
        this.pending.push({ type: 'fault', code: CONTROLLER_CODE });
        break;
      case 'lift-door-fault':
        this.doorFault = true;
        this.settle(now);
        this.phase = 'doors';
        this.pending.push({ type: 'door_fault' });
        this.nextDoorFault = now + this.rng.between(...DOOR_FAULT_EVERY_MS);
        break;
      case 'lift-out-of-service':
        this.settle(now);
        break;
      default:
        this.settle(now);
        this.pending.push({ type: 'maintenance_start' });
    }
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (!this.active.delete(name)) return false;
    this.reportDue = true;
    if (name === 'lift-trapped') {
      // The rescue winds the car to the nearest landing and lets the passengers out.
      this.trapped = false;
      this.pending.push({ type: 'released' });
      this.startDoors(now, undefined);
    } else if (name === 'lift-door-fault') {
      this.doorFault = false;
      this.phase = 'idle';
      this.load = 0;
      this.phaseEnd = this.nextCall(now);
    } else if (HALTING.includes(name)) {
      this.mode = this.modeNow();
      if (this.trapped || this.doorFault || HALTING.some((f) => this.active.has(f))) return true;
      // Power back, or the maintainer has reset the controller (and released the safety gear): a car held
      // between landings levels to the nearest one and lets its passengers out.
      if (this.phase === 'stopped') this.startDoors(now, undefined);
      else if (this.phase === 'idle') this.phaseEnd = this.nextCall(now);
    } else {
      if (name === 'lift-inspection') this.pending.push({ type: 'maintenance_end' });
      this.mode = this.modeNow();
      if (this.mode === 'normal' && this.phase === 'idle') this.phaseEnd = this.nextCall(now);
    }
    return true;
  }

  /** The mode the controller reports while these faults last. */
  private modeNow(): LiftMode {
    if (this.active.has('lift-inspection')) return 'inspection';
    return OUT_OF_SERVICE.some((f) => this.active.has(f)) ? 'out_of_service' : 'normal';
  }

  /** Stops the car where it is (between landings), or just after it leaves its floor if it was standing. */
  private stopBetweenFloors(now: number): void {
    if (this.phase === 'moving') this.runMs += Math.max(0, now - this.moveStart);
    else {
      this.from = this.floor;
      this.to = this.floor < this.top ? this.next(this.floor, 1) : this.next(this.floor, -1);
    }
    this.floor = this.currentFloor();
    this.phase = 'stopped';
  }

  /** A standing car shuts its doors and waits, passengers out, answering nothing. */
  private halt(now: number): void {
    if (this.phase === 'stopped') return;
    this.settle(now);
  }

  /** Runs the car up to `now`, with the maintainer's visits due on the way (played as the inspection fault). */
  private advance(now: number): void {
    for (let visit = this.visits.due(now); visit; visit = this.visits.due(now)) {
      this.run(visit.at);
      if (visit.begin && this.active.size > 0) {
        // Broken down, or a maintainer already at work: the visit moves to the next morning.
        this.visits.postpone();
        continue;
      }
      this.visits.done();
      if (visit.begin) this.startFault({ name: 'lift-inspection' }, visit.at);
      else this.endFault('lift-inspection', visit.at);
    }
    this.run(now);
  }

  /** Runs the car's phases up to `now`. */
  private run(now: number): void {
    if (this.doorFault) {
      while (this.nextDoorFault <= now) {
        this.pending.push({ type: 'door_fault' });
        this.nextDoorFault += this.rng.between(...DOOR_FAULT_EVERY_MS);
      }
    }
    while (this.phaseEnd <= now && this.canRun()) {
      const at = this.phaseEnd;
      if (this.phase === 'idle') {
        // A hall call: go to the caller's floor (or open at once if the car is there).
        const [pickUp, target] = this.journey(at);
        this.load = 0;
        if (pickUp === this.floor) this.startDoors(at, target);
        else this.startMove(at, pickUp, target);
      } else if (this.phase === 'moving') {
        this.runMs += at - this.moveStart;
        this.trips++;
        this.floor = this.to;
        this.startDoors(at, this.destination);
      } else {
        // The doors close: take the passengers on, or wait for the next call.
        const target = this.destination;
        if (target !== undefined && target !== this.floor) {
          this.load = this.passengerLoad(at);
          this.startMove(at, target, undefined);
        } else {
          this.load = 0;
          this.phase = 'idle';
          this.phaseEnd = this.nextCall(at);
        }
      }
    }
    this.last = Math.max(this.last, now);
  }

  private canRun(): boolean {
    if (this.trapped || this.doorFault || HALTING.some((f) => this.active.has(f))) return false;
    return this.phase !== 'idle' || this.mode === 'normal';
  }

  /** Out of service or in inspection: the car finishes at a landing, doors closed, and answers nothing. */
  private settle(now: number): void {
    if (this.phase === 'moving') {
      this.runMs += Math.max(0, now - this.moveStart);
      this.floor = this.currentFloor();
    }
    this.phase = 'idle';
    this.destination = undefined;
    this.load = 0;
    this.phaseEnd = this.nextCall(now);
  }

  private startDoors(at: number, target: number | undefined): void {
    this.phase = 'doors';
    this.destination = target;
    this.phaseEnd = at + this.rng.between(DOOR_MIN_S, DOOR_MAX_S) * 1000;
  }

  private startMove(at: number, to: number, target: number | undefined): void {
    this.phase = 'moving';
    this.from = this.floor;
    this.to = to;
    this.moveStart = at;
    this.destination = target;
    this.phaseEnd = at + this.travelMs(this.from, to);
  }

  private travelMs(from: number, to: number): number {
    return ((this.storeys(from, to) * STOREY_M) / RATED_MPS + START_STOP_S) * 1000;
  }

  /** Landings between two floors (there is no floor 0). */
  private storeys(a: number, b: number): number {
    const gap = Math.abs(a - b);
    return a * b < 0 ? gap - 1 : gap;
  }

  /** The landing `dir` (±1) from `floor`, skipping 0. */
  private next(floor: number, dir: number): number {
    const n = floor + dir;
    return n === 0 ? n + dir : n;
  }

  /** The landing the car is at or last passed. */
  private currentFloor(): number {
    if (this.phase !== 'moving' && this.phase !== 'stopped') return this.floor;
    if (this.phase === 'stopped') return this.floor;
    const total = this.travelMs(this.from, this.to);
    const done = clamp((this.last - this.moveStart) / total, 0, 1);
    const passed = Math.floor(done * this.storeys(this.from, this.to));
    let f = this.from;
    const dir = this.to > this.from ? 1 : -1;
    for (let i = 0; i < passed; i++) f = this.next(f, dir);
    return f;
  }

  /** Speed (m/s) a little under rated while accelerating or levelling. */
  private speed(): number {
    const total = this.travelMs(this.from, this.to);
    const t = this.last - this.moveStart;
    const ramp = Math.min(t, total - t) / 1500;
    return RATED_MPS * clamp(ramp, 0.2, 1);
  }

  /** When the next hall call comes after `at` (exponential waiting at the rate of that hour). */
  private nextCall(at: number): number {
    const { hour, weekend } = localTime(at, this.timeZone);
    const rate = callsPerHour(hour, weekend);
    return at + Math.max(1000, (-Math.log(1 - this.rng.next()) / rate) * 3_600_000);
  }

  /** Pick-up and destination of a call: the morning goes down to the lobby, the evening up from it. */
  private journey(at: number): [number, number] {
    const { hour } = localTime(at, this.timeZone);
    const upper = () => this.rng.int(2, this.top);
    const down = 0.5 + 0.4 * bump(hour, 7.75, 1.2) - 0.4 * bump(hour, 18.5, 1.5);
    if (this.bottom < 0 && this.rng.chance(0.2)) {
      const basement = -this.rng.int(1, -this.bottom);
      return this.rng.chance(down) ? [upper(), basement] : [basement, upper()];
    }
    return this.rng.chance(down) ? [upper(), 1] : [1, upper()];
  }

  /** How full the car is (%): fuller in the rushes. */
  private passengerLoad(at: number): number {
    const { hour, weekend } = localTime(at, this.timeZone);
    const rush = weekend ? 0.3 : Math.max(bump(hour, 7.75, 0.8), bump(hour, 18.5, 1.3));
    return clamp(this.rng.between(8, 25) + rush * this.rng.between(20, 60), 0, 100);
  }
}
