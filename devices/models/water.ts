import { sensorNoise } from '../sim/decay.js';
import { bump, localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
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
  wander,
} from './model.js';
import { Wear } from './wear.js';

/**
 * A secondary water supply: a tank (`params.tankM3`, default 150 m³) refilled from the mains through a float
 * valve, and a variable-speed booster set of `params.pumps` (default 3) pumps holding the outlet at 0.35 MPa
 * for `params.households` (default 300). The demand follows the day (morning and evening peaks); at night the
 * set sleeps and a pressure vessel carries the little demand, a pump waking when the pressure sags. `volumeM3`,
 * `starts` and `runHours` only rise.
 */

const FAULTS: readonly ModelFault[] = [
  'pump-fault',
  'dry-run',
  'water-leak',
  'pump-short-cycling',
  'tank-overflow',
  'water-contamination',
  'chlorine-overdose',
  'pump-decay',
  'inlet-decay',
  'leak-decay',
];
/** A worn bearing's friction: this much more current at the same speed (A) by the time the pump trips. */
const PUMP_WEAR_A = 6;
/** The current transformer's own scatter (relative sd). */
const CURRENT_NOISE = 0.01;
/** A leak in the riser grows to this (m³/h) when it is found: the `water-leak` fault's steady loss. */
const LEAK_M3H = 6;
/** The slow faults and the fault each ends in. */
const DECAY_FAILURE = { 'pump-decay': 'pump-fault', 'inlet-decay': 'dry-run', 'leak-decay': 'water-leak' } as const;
type WaterDecay = keyof typeof DECAY_FAILURE;
const SLICE_MS = 10_000;
const SET_MPA = 0.35;
/** The set sleeps below this demand (m³/h) once the vessel is charged, and wakes below WAKE_MPA. */
const SLEEP_FLOW = 1.5;
const WAKE_MPA = 0.3;
const CHARGED_MPA = 0.37;
/** A pump's capacity at 50 Hz (m³/h). */
const PUMP_M3H = 30;
const MIN_RUN_MS = 90_000;
/** The float valve's refill rate (m³/h), opening below 90 % and closing at 98 %. */
const REFILL_M3H = 45;
/** How fast chlorine and turbidity follow a change in the water (ms): a sample line and a well-mixed tank. */
const QUALITY_TAU_MS = 3 * 60_000;
/** GB 5749-2022 limits the faults cross: chlorine 0.05–2 mg/L, turbidity 1 NTU. */
const CONTAMINATED_CHLORINE: [number, number] = [0, 0.04];
const CONTAMINATED_NTU: [number, number] = [1.5, 4];
const OVERDOSE_CHLORINE: [number, number] = [2.3, 3.5];

/** Litres per hour a household draws at local `hour`. */
export function householdLph(hour: number, weekend: boolean): number {
  const morning = weekend ? bump(hour, 9, 1.5) : bump(hour, 7.2, 0.9);
  return 4 + 45 * morning + 15 * bump(hour, 12.3, 1) + 50 * bump(hour, 20, 1.6);
}

export class WaterModel implements DeviceModel {
  private readonly rng: Random;
  private readonly timeZone: string;
  private readonly households: number;
  private readonly tankM3: number;
  private readonly pumps: number;
  private last: number;
  private levelM3: number;
  private refilling = false;
  private pressure = SET_MPA;
  private flow = 0;
  private volume: number;
  private running = 0;
  private runStart = 0;
  private starts: number;
  private runMs: number;
  private freq = 0;
  private noise = 0;
  private chlorine: number;
  private chlorineNoise = 0;
  private turbNoise = 0;
  /** What the analyser reads, following the water's quality with a lag. */
  private chlorineMgL: number;
  private turbidityNtu = 0.2;
  private overflowSent = false;
  private readonly active = new Set<ModelFault>();
  /** Slow faults in progress, and those that have ended in their failure. */
  private readonly wear = new Wear<WaterDecay>(DECAY_FAILURE);
  private pending: SimEvent[] = [];
  private reportDue = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.timeZone = ctx.place.timeZone;
    this.households = Math.max(1, spec.params.households ?? 300);
    this.tankM3 = Math.max(5, spec.params.tankM3 ?? 150);
    this.pumps = Math.max(2, Math.round(spec.params.pumps ?? 3));
    this.last = now;
    this.levelM3 = this.tankM3 * this.rng.between(0.7, 0.95);
    this.volume = this.households * this.rng.between(100, 300);
    this.starts = this.rng.int(5_000, 40_000);
    this.runMs = this.rng.between(5_000, 30_000) * 3_600_000;
    this.chlorine = this.rng.between(0.35, 0.45);
    this.chlorineMgL = this.chlorine;
    this.flow = this.demand(now);
  }

  step(now: number): StepResult {
    this.advance(now);
    const result = { events: this.pending, reportNow: this.reportDue };
    this.pending = [];
    this.reportDue = false;
    return result;
  }

  telemetry(_now: number): Telemetry {
    const load = this.freq / 50;
    const wear = PUMP_WEAR_A * this.wear.severity('pump-decay', this.last);
    const scatter = 1 + CURRENT_NOISE * sensorNoise(0, `${this.spec.id}/pumpCurrentA`, this.last, SLICE_MS);
    const current = this.running > 0 ? ((this.running - 1) * 22 + 4 + 18 * load ** 3 + wear) * scatter : 0;
    return {
      levelPct: round(clamp((this.levelM3 / this.tankM3) * 100, 0, 100), 1),
      pressureMpa: round(Math.max(0, this.pressure), 3),
      flowM3h: round(Math.max(0, this.flow), 2),
      volumeM3: round(this.volume, 2),
      pumpRunning: this.running > 0,
      pumpCurrentA: round(current, 1),
      frequencyHz: round(this.freq, 1),
      runHours: round(this.runMs / 3_600_000, 2),
      starts: this.starts,
      chlorineMgL: round(Math.max(0, this.chlorineMgL), 2),
      turbidityNtu: round(Math.max(0, this.turbidityNtu), 2),
      temperatureC: round(16 + 2 * Math.sin((localTime(this.last, this.timeZone).hour - 9) * (Math.PI / 12)), 1),
    };
  }

  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    return { ok: false, error: `unknown action ${action} for water` };
  }

  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    if (this.wear.knows(fault.name)) {
      // Wear starting again on a set repaired from its last failure.
      const repair = this.wear.start(fault.name, now, fault.spanMs);
      if (repair) this.active.delete(repair);
      this.reportDue = true;
      return true;
    }
    if (this.active.has(fault.name)) return true;
    this.active.add(fault.name);
    this.reportDue = true;
    if (fault.name === 'pump-fault') {
      this.pending.push({ type: 'pump_fault', pump: 'P1', code: 'E21' });
      if (this.running > 0) this.stopPumps(now);
    } else if (fault.name === 'dry-run') {
      // The mains feed fails and the tank is drawn down to the suction: the pumps would run dry.
      this.levelM3 = this.tankM3 * this.rng.between(0.005, 0.02);
      this.pending.push({ type: 'dry_run' });
      if (this.running > 0) this.stopPumps(now);
    } else if (fault.name === 'water-leak') {
      this.pending.push({ type: 'leak', location: 'riser' });
    } else if (fault.name === 'tank-overflow') {
      // The float valve stuck open a while ago: by the time anyone looks the tank is close to the top.
      this.levelM3 = Math.max(this.levelM3, this.tankM3 * this.rng.between(0.96, 0.98));
    }
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (this.wear.knows(name)) {
      const { had, repair } = this.wear.end(name);
      if (repair) this.active.delete(repair);
      this.reportDue = true;
      return had;
    }
    if (!this.active.delete(name)) return false;
    this.reportDue = true;
    if (name === 'tank-overflow') this.overflowSent = false;
    return true;
  }

  private advance(now: number): void {
    while (this.last < now) {
      const dt = Math.min(SLICE_MS, now - this.last);
      this.last += dt;
      this.slice(this.last, dt);
    }
  }

  /**
   * A slow fault that has run its course ends in its failure, the fault the scenarios start at once. The tank
   * runs dry when it is empty, however long the clogging took; the others fail at the end of their span.
   */
  private failDecays(at: number): void {
    const due = this.wear.fail((name, d) => (name === 'inlet-decay' ? this.levelM3 < this.tankM3 * 0.03 && at > d.onset : at >= d.failAt));
    for (const fault of due) this.startFault({ name: fault }, at);
  }

  private slice(at: number, dt: number): void {
    const h = dt / 3_600_000;
    if (this.wear.size > 0) this.failDecays(at);
    this.noise = wander(this.rng, this.noise, dt, 0.08, 15 * 60_000);
    this.chlorineNoise = wander(this.rng, this.chlorineNoise, dt, 0.03, 3_600_000);
    this.turbNoise = wander(this.rng, this.turbNoise, dt, 0.03, 30 * 60_000);
    this.quality(dt);
    const dry = this.active.has('dry-run');
    // The tank: the float valve refills it unless the mains feed has failed, or it is stuck open.
    const level = this.levelM3 / this.tankM3;
    if (level < 0.9) this.refilling = true;
    if (level > 0.98) this.refilling = false;
    // A clogging strainer lets less and less through.
    const inflow = (this.refilling || this.active.has('tank-overflow')) && !dry ? REFILL_M3H * (1 - this.wear.severity('inlet-decay', at)) : 0;

    const demand = this.demand(at);
    const broken = this.active.has('pump-fault');
    const cycling = this.active.has('pump-short-cycling');
    if (dry || this.levelM3 < this.tankM3 * 0.03) {
      // Dry-run protection: nothing to pump.
      if (this.running > 0) this.stopPumps(at);
      this.pressure = Math.max(0.02, this.pressure - 0.02 * (dt / 10_000));
      this.flow = Math.min(demand, 0.5) * (this.pressure / SET_MPA);
    } else if (broken) {
      // The faulty duty pump is out and the set runs the standby at a fixed speed: the pressure is not held.
      if (this.running === 0) this.startPump(at, 'P2');
      this.freq = 42;
      this.pressure = clamp(0.22 - demand / 400 + 0.005 * this.rng.normal(), 0.12, 0.24);
      this.flow = demand * 0.85;
    } else if (this.running === 0) {
      // Asleep: the vessel carries the demand and its pressure sags (fast with a waterlogged vessel).
      this.flow = demand;
      const sag = cycling ? 0.03 : 0.0005 + demand * 0.0005;
      this.pressure -= sag * (dt / 10_000);
      if (this.pressure < WAKE_MPA || demand > SLEEP_FLOW * 2) this.startPump(at);
    } else {
      const want = clamp(Math.ceil(demand / (PUMP_M3H * 0.9)), 1, this.pumps - 1);
      while (this.running < want) this.startPump(at);
      while (this.running > want && demand < (this.running - 1) * PUMP_M3H * 0.7) this.stopPump(this.running);
      this.freq = clamp(30 + 20 * (demand / (this.running * PUMP_M3H)), 30, 50);
      this.pressure = SET_MPA + 0.006 * this.rng.normal();
      this.flow = demand;
      const ranFor = at - this.runStart;
      if (cycling ? ranFor >= 25_000 : demand < SLEEP_FLOW && ranFor >= MIN_RUN_MS) {
        // Demand low: charge the vessel and sleep.
        this.pressure = CHARGED_MPA;
        this.stopPumps(at);
      }
    }
    if (this.running > 0) this.runMs += dt;
    // Above the top the overflow pipe takes the excess: the level stays at 100 %.
    const full = this.levelM3 + (inflow - this.flow) * h >= this.tankM3;
    this.levelM3 = clamp(this.levelM3 + (inflow - this.flow) * h, 0, this.tankM3);
    this.volume += this.flow * h;
    if (full && this.active.has('tank-overflow') && !this.overflowSent) {
      this.overflowSent = true;
      this.reportDue = true;
      this.pending.push({ type: 'overflow' });
    }
  }

  /**
   * Chlorine and turbidity as the analyser reads them, following the water with a lag of minutes: the dosing
   * keeps 0.2–0.6 mg/L and clear water; contamination uses up the chlorine and clouds the water; a stuck dosing
   * pump overdoses it.
   */
  private quality(dt: number): void {
    let chlorine = clamp(this.chlorine + this.chlorineNoise, 0.2, 0.6);
    let turbidity = clamp(0.2 + this.turbNoise, 0.05, 0.5);
    if (this.active.has('water-contamination')) {
      chlorine = clamp(0.02 + this.chlorineNoise / 3, ...CONTAMINATED_CHLORINE);
      turbidity = clamp(2.5 + 10 * this.turbNoise, ...CONTAMINATED_NTU);
    }
    if (this.active.has('chlorine-overdose')) chlorine = clamp(2.8 + 5 * this.chlorineNoise, ...OVERDOSE_CHLORINE);
    const keep = Math.exp(-dt / QUALITY_TAU_MS);
    this.chlorineMgL = chlorine + (this.chlorineMgL - chlorine) * keep;
    this.turbidityNtu = turbidity + (this.turbidityNtu - turbidity) * keep;
  }

  /** Outlet demand (m³/h): the households' curve with noise, plus a leak's steady loss. */
  private demand(at: number): number {
    const { hour, weekend } = localTime(at, this.timeZone);
    const base = (this.households * householdLph(hour, weekend) * (1 + this.noise)) / 1000;
    const leak = this.active.has('water-leak') ? LEAK_M3H : LEAK_M3H * this.wear.severity('leak-decay', at);
    return Math.max(0, base) + leak;
  }

  private startPump(at: number, label = `P${this.running + 1}`): void {
    if (this.running === 0) this.runStart = at;
    this.running++;
    this.starts++;
    this.freq = Math.max(this.freq, 30);
    this.pending.push({ type: 'pump_start', pump: label });
  }

  private stopPump(n: number): void {
    this.running = n - 1;
    this.pending.push({ type: 'pump_stop', pump: `P${n}` });
  }

  private stopPumps(_at: number): void {
    while (this.running > 0) this.stopPump(this.running);
    this.freq = 0;
  }
}
