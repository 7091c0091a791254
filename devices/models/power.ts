import { decayFrom, severity, type Decay } from '../sim/decay.js';
import { localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import { householdKw } from './energy.js';
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
 * A distribution room: the transformer feeding `params.households` (default 300) households plus the common
 * services, its switchgear and a standby generator (`params.generatorKw`, default 250 kW) that carries the
 * essential loads (lifts, pumps, fire services, common lighting) when the mains fail. The load follows the
 * households' day (energy.ts); the transformer's temperature follows the load's losses with a lag of hours.
 * `voltageV` is the line-to-line voltage (400 V) and `currentA` the mean line current.
 */

const FAULTS: readonly ModelFault[] = ['mains-loss', 'breaker-trip', 'transformer-overheat', 'power-room-flooding', 'generator-fault', 'transformer-decay'];
/**
 * A class F dry-type transformer's temperature controller trips its breaker at 150 °C (rules/power.yaml alarms
 * at 130 °C): a failing cooling (`transformer-decay`) takes the winding there, and a little past it.
 */
const TRIP_C = 150;
const DECAY_END_C = TRIP_C + 2;
/** What the generator's controller reports when it fails: a start failure (no fuel pressure, a flat battery). */
const GENERATOR_FAULT_CODE = 'E05';
const SLICE_MS = 60_000;
const NOMINAL_V = 400;
/** Above the room at full load (K), and the oil's time constant (ms). */
const TRANSFORMER_RISE_K = 45;
const TRANSFORMER_TAU_MS = 2 * 3_600_000;
/** With the cooling failed: the rise it heads for and how fast. */
const OVERHEAT_RISE_K = 160;
const OVERHEAT_TAU_MS = 3_600_000;
/** Share of the load the generator carries, and its fuel use at full output (% of the tank per hour). */
const ESSENTIAL_SHARE = 0.25;
const FUEL_PCT_PER_HOUR_FULL = 12;
const PEAK_KW_PER_HOUSEHOLD = 1.8;
const COMMON_SHARE = 0.1;

export class PowerModel implements DeviceModel {
  private readonly rng: Random;
  private readonly timeZone: string;
  private readonly households: number;
  private readonly generatorKw: number;
  private readonly baseKw: number;
  private last: number;
  private powerKw: number;
  private transformerC: number;
  private humidity: number;
  private fuel: number;
  private loadNoise = 0;
  private voltNoise = 0;
  private roomNoise = 0;
  private breakerClosed = true;
  private mainsLost = false;
  private generatorFailed = false;
  private onGenerator = false;
  private readonly active = new Set<ModelFault>();
  /** The cooling failing (`transformer-decay`), and whether it has ended in the trip (ending it then repairs). */
  private decay: Decay | undefined;
  private decayFailed = false;
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
    this.generatorKw = Math.max(10, spec.params.generatorKw ?? 250);
    this.baseKw = this.rng.between(0.3, 0.45);
    this.last = now;
    this.powerKw = this.demandKw(now);
    this.transformerC = this.roomC() + TRANSFORMER_RISE_K * this.loadRatio() ** 2;
    this.humidity = this.rng.between(45, 60);
    this.fuel = this.rng.between(85, 100);
  }

  step(now: number): StepResult {
    this.advance(now);
    const result = { events: this.pending, reportNow: this.reportDue };
    this.pending = [];
    this.reportDue = false;
    return result;
  }

  telemetry(_now: number): Telemetry {
    const volts = this.volts();
    const pf = this.powerFactor();
    const current = volts > 0 ? (this.powerKw * 1000) / (Math.sqrt(3) * volts * pf) : 0;
    return {
      voltageV: round(volts, 1),
      currentA: round(current, 1),
      powerKw: round(this.powerKw, 1),
      powerFactor: round(pf, 3),
      transformerTempC: round(this.transformerTemp(), 1),
      roomTempC: round(this.roomC(), 1),
      humidityPct: round(clamp(this.humidity, 0, 100), 0),
      breakerClosed: this.breakerClosed,
      onGenerator: this.onGenerator,
      generatorFuelPct: round(clamp(this.fuel, 0, 100), 1),
    };
  }

  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    return { ok: false, error: `unknown action ${action} for power` };
  }

  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    if (fault.name === 'transformer-decay') {
      // Already failing: it goes on (a timeline played again does not repair the cooling).
      if (this.decay) return true;
      // Cooling failing again on a room repaired from its last trip: the breaker is closed first.
      if (this.decayFailed) this.endFault('breaker-trip', now);
      this.decayFailed = false;
      this.decay = decayFrom('transformer-decay', now, fault.spanMs);
      this.reportDue = true;
      return true;
    }
    if (this.active.has(fault.name)) return true;
    this.active.add(fault.name);
    this.reportDue = true;
    if (fault.name === 'mains-loss') {
      this.mainsLost = true;
      this.pending.push({ type: 'mains_loss' });
      // A failed generator does not start: the essential loads go dark with the rest.
      if (!this.generatorFailed) this.pending.push({ type: 'generator_start' });
    } else if (fault.name === 'generator-fault') {
      this.generatorFailed = true;
      this.pending.push({ type: 'generator_fault', code: GENERATOR_FAULT_CODE });
    } else if (fault.name === 'breaker-trip') {
      this.breakerClosed = false;
      this.pending.push({ type: 'breaker_trip', circuit: 'Q1' });
    } else if (fault.name === 'power-room-flooding') {
      this.pending.push({ type: 'flooding' });
    }
    this.onGenerator = this.mainsLost && !this.generatorFailed;
    this.powerKw = this.demandKw(now);
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'transformer-decay') {
      const had = this.decay !== undefined || this.decayFailed;
      if (this.decayFailed) this.endFault('breaker-trip', now);
      this.decay = undefined;
      this.decayFailed = false;
      return had;
    }
    if (!this.active.delete(name)) return false;
    this.reportDue = true;
    if (name === 'mains-loss') {
      this.mainsLost = false;
      this.pending.push({ type: 'mains_restored' });
    } else if (name === 'breaker-trip') {
      this.breakerClosed = true;
    } else if (name === 'generator-fault') {
      this.generatorFailed = false;
      // Repaired while the mains are still out: it starts and takes the essential loads.
      if (this.mainsLost) this.pending.push({ type: 'generator_start' });
    }
    this.onGenerator = this.mainsLost && !this.generatorFailed;
    this.powerKw = this.demandKw(now);
    return true;
  }

  private advance(now: number): void {
    while (this.last < now) {
      const dt = Math.min(SLICE_MS, now - this.last);
      this.last += dt;
      this.loadNoise = wander(this.rng, this.loadNoise, dt, 0.05, 10 * 60_000);
      this.voltNoise = wander(this.rng, this.voltNoise, dt, 1.5, 5 * 60_000);
      this.roomNoise = wander(this.rng, this.roomNoise, dt, 0.4, 30 * 60_000);
      this.powerKw = this.demandKw(this.last);
      const overheat = this.active.has('transformer-overheat');
      // Losses go with the square of the load; the oil follows them with a lag of hours.
      const rise = overheat ? OVERHEAT_RISE_K : TRANSFORMER_RISE_K * this.loadRatio() ** 2;
      const energised = !this.mainsLost && this.breakerClosed;
      const target = this.roomC() + (energised || overheat ? rise : 0);
      const tau = overheat ? OVERHEAT_TAU_MS : TRANSFORMER_TAU_MS;
      this.transformerC = target + (this.transformerC - target) * Math.exp(-dt / tau);
      if (this.decay && this.last >= this.decay.failAt) this.trip();
      const humidTarget = this.active.has('power-room-flooding') ? 97 : 52 + 5 * this.roomNoise;
      this.humidity += (humidTarget - this.humidity) * (1 - Math.exp(-dt / (20 * 60_000)));
      if (this.onGenerator) {
        this.fuel = Math.max(0, this.fuel - FUEL_PCT_PER_HOUR_FULL * (0.3 + 0.7 * (this.powerKw / this.generatorKw)) * (dt / 3_600_000));
      }
    }
  }

  /**
   * The winding's temperature: its normal life plus, while the cooling fails, a drift that takes it from there
   * to DECAY_END_C as the decay runs its course (severity 0 → 1).
   */
  private transformerTemp(): number {
    if (!this.decay) return this.transformerC;
    return this.transformerC + severity(this.decay, this.last) * (DECAY_END_C - this.transformerC);
  }

  /** The end of a cooling failure: past 150 °C the temperature controller opens the breaker. */
  private trip(): void {
    this.transformerC = this.transformerTemp();
    this.decay = undefined;
    this.decayFailed = true;
    this.startFault({ name: 'breaker-trip' }, this.last);
  }

  /** What the room delivers (kW): the community's curve, the essentials only on the generator, none tripped or dark. */
  private demandKw(at: number): number {
    if (!this.breakerClosed || this.dark()) return 0;
    const { hour, weekend } = localTime(at, this.timeZone);
    const kw = this.households * (1 + COMMON_SHARE) * householdKw(hour, weekend, this.baseKw) * (1 + this.loadNoise);
    const load = Math.max(0, kw);
    return this.onGenerator ? Math.min(this.generatorKw * 0.9, load * ESSENTIAL_SHARE) : load;
  }

  private loadRatio(): number {
    return clamp(this.powerKw / (this.households * PEAK_KW_PER_HOUSEHOLD), 0, 1.3);
  }

  /** Line-to-line voltage: 400 V sagging a few volts at the evening peak; the generator's regulator holds 400. */
  private volts(): number {
    if (this.dark()) return 0;
    if (!this.breakerClosed) return this.onGenerator ? NOMINAL_V : clamp(NOMINAL_V + 4 + this.voltNoise, 390, 415);
    if (this.onGenerator) return clamp(NOMINAL_V + this.voltNoise / 2, 392, 408);
    return clamp(NOMINAL_V + 4 - 10 * this.loadRatio() + this.voltNoise, 385, 415);
  }

  /** Neither the mains nor the generator: nothing to measure. */
  private dark(): boolean {
    return this.mainsLost && !this.onGenerator;
  }

  private powerFactor(): number {
    return clamp(0.87 + 0.05 * this.loadRatio(), 0.85, 0.95);
  }

  /** The room: about 24 °C, warmer in the afternoon and under load. */
  private roomC(): number {
    const { hour } = localTime(this.last, this.timeZone);
    return 23 + 2 * Math.sin(((hour - 9) * Math.PI) / 12) + 3 * this.loadRatio() + this.roomNoise;
  }
}
