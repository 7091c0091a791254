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

/**
 * A three-phase meter behind a building (role `building`) or at the site's transformer (role `site`), sized by
 * `params.households`. The load follows a residential day in the site's time zone; `energyKwh` integrates it
 * and only ever rises, except when someone tampers with the meter.
 *
 * The telemetry has one `voltageV` for three phases: it reports the LOWEST phase-to-neutral voltage, so a lost
 * phase shows as 0 V. `currentA` is the mean of the three phase currents (a lost phase carries none), which
 * keeps P = 3 × V × I × pf true with V the voltage of the live phases.
 */

const PHASES = ['L1', 'L2', 'L3'] as const;
type Phase = (typeof PHASES)[number];

/** Nominal phase-to-neutral voltage (V) at no load; it sags about 2 V at full evening load. */
const NOMINAL_V = 231;
const SAG_V = 2;
/** Relative sd of the load's noise, and how long (ms) a deviation lasts (kettles, lifts, air conditioners). */
const LOAD_NOISE_SD = 0.06;
const LOAD_NOISE_TAU_MS = 10 * 60_000;
const VOLT_NOISE_SD = 0.8;
const VOLT_NOISE_TAU_MS = 5 * 60_000;
/** The register is integrated in slices of at most this many ms, so a long step still follows the curve. */
const SLICE_MS = 5 * 60_000;
/** A household's diversified evening peak (kW), to turn power into a load ratio for sag and power factor. */
const PEAK_KW_PER_HOUSEHOLD = 1.8;
/** The site meter also feeds lifts, pumps and common lighting: about a tenth on top of the households. */
const SITE_COMMON_SHARE = 0.1;

/** Demand of one household (kW) at local `hour`: night base, a morning and a larger evening peak. */
export function householdKw(hour: number, weekend: boolean, baseKw: number): number {
  if (weekend) {
    // People sleep in and stay at home: a later, flatter morning, more at midday, a slightly earlier evening.
    return baseKw + 0.35 * bump(hour, 9.5, 1.3) + 0.3 * bump(hour, 13, 2.5) + 0.95 * bump(hour, 19.5, 1.8);
  }
  return baseKw + 0.5 * bump(hour, 7.6, 0.6) + 0.1 * bump(hour, 13, 2.5) + 1.1 * bump(hour, 20, 1.6);
}

export class EnergyModel implements DeviceModel {
  private readonly rng: Random;
  private readonly timeZone: string;
  private readonly households: number;
  /** Night base load per household (kW): fridges, standby, routers. */
  private readonly baseKw: number;
  /** How much this building draws against the average (bigger flats, more air conditioning...). */
  private readonly scale: number;
  private last: number;
  private registerKwh: number;
  private powerKw: number;
  private loadNoise = 0;
  private voltNoise = 0;
  private lostPhase: Phase | undefined;
  private tampered = false;
  private pending: SimEvent[] = [];
  private reportDue = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.timeZone = ctx.place.timeZone;
    this.households = Math.max(1, spec.params.households ?? 1);
    this.baseKw = this.rng.between(0.3, 0.45);
    this.scale = this.rng.between(0.85, 1.15) * (spec.role === 'site' ? 1 + SITE_COMMON_SHARE : 1);
    this.last = now;
    // A meter some years in service: about 1,500 kWh per household on the register.
    this.registerKwh = this.households * this.rng.between(1200, 1800);
    this.powerKw = this.demandKw(now);
  }

  step(now: number): StepResult {
    this.advance(now);
    const result = { events: this.pending, reportNow: this.reportDue };
    this.pending = [];
    this.reportDue = false;
    return result;
  }

  telemetry(_now: number): Telemetry {
    const liveV = this.liveVoltage();
    const pf = this.powerFactor();
    const currentA = (this.powerKw * 1000) / (3 * liveV * pf);
    return {
      energyKwh: round(this.registerKwh, 1),
      powerKw: round(this.powerKw, 2),
      voltageV: round(this.lostPhase ? 0 : liveV, 1),
      currentA: round(currentA, 1),
      powerFactor: round(pf, 3),
    };
  }

  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    return { ok: false, error: `unknown action ${action} for energy` };
  }

  startFault(fault: Fault, now: number): boolean {
    if (fault.name !== 'meter-tamper' && fault.name !== 'phase-loss') return false;
    this.advance(now);
    if (fault.name === 'meter-tamper') {
      if (this.tampered) return true;
      this.tampered = true;
      // Someone winds the register back: it goes down once, then counts on from the lower value.
      this.registerKwh *= 1 - this.rng.between(0.05, 0.2);
      this.pending.push({ type: 'meter_tamper' });
    } else {
      if (this.lostPhase) return true;
      this.lostPhase = this.rng.pick(PHASES);
      this.powerKw = this.demandKw(now);
      this.pending.push({ type: 'phase_loss', phase: this.lostPhase });
    }
    this.reportDue = true;
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'meter-tamper' && this.tampered) {
      // The register keeps the value it was wound back to: the meter only counts on.
      this.tampered = false;
      return true;
    }
    if (name === 'phase-loss' && this.lostPhase) {
      this.lostPhase = undefined;
      this.powerKw = this.demandKw(now);
      this.reportDue = true;
      return true;
    }
    return false;
  }

  /** Integrates the register and moves the readings on to `now`, in slices so the curve is followed. */
  private advance(now: number): void {
    while (this.last < now) {
      const dt = Math.min(SLICE_MS, now - this.last);
      this.last += dt;
      this.loadNoise = wander(this.rng, this.loadNoise, dt, LOAD_NOISE_SD, LOAD_NOISE_TAU_MS);
      this.voltNoise = wander(this.rng, this.voltNoise, dt, VOLT_NOISE_SD, VOLT_NOISE_TAU_MS);
      const before = this.powerKw;
      this.powerKw = this.demandKw(this.last);
      // Trapezoid: the mean of the power at both ends of the slice, times its hours.
      this.registerKwh += ((before + this.powerKw) / 2) * (dt / 3_600_000);
    }
  }

  /** Power drawn at `at` (kW): the households' curve with this building's scale and noise. */
  private demandKw(at: number): number {
    const { hour, weekend } = localTime(at, this.timeZone);
    const kw = this.households * this.scale * householdKw(hour, weekend, this.baseKw) * (1 + this.loadNoise);
    // With a phase gone, what hangs on it is dark: a third of the load.
    return Math.max(0, kw) * (this.lostPhase ? 2 / 3 : 1);
  }

  /** Between 0 (idle) and about 1 (the evening peak). */
  private loadRatio(): number {
    return clamp(this.powerKw / (this.households * PEAK_KW_PER_HOUSEHOLD), 0, 1.2);
  }

  /** The phase-to-neutral voltage of the phases still live (V): 230 ± 3, lower under load. */
  private liveVoltage(): number {
    return clamp(NOMINAL_V - SAG_V * this.loadRatio() + this.voltNoise, 227, 233);
  }

  /** Mostly resistive and electronic loads: 0.92 at night, up to 0.97 with the evening's heating and cooking. */
  private powerFactor(): number {
    return clamp(0.925 + 0.045 * this.loadRatio(), 0.92, 0.97);
  }
}
