import { bump, localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import {
  type CommandResult,
  clamp,
  type DeviceModel,
  type DeviceSpec,
  type Fault,
  type ModelContext,
  type ModelFault,
  round,
  type SimEvent,
  type SitePlace,
  type StepResult,
  type Telemetry,
} from './model.js';

/**
 * An outdoor environment station with an irrigation valve: air (PM2.5/PM10 with the morning and evening traffic
 * peaks, CO2 near 420 ppm), noise (about 40 dB at night, 55–65 dB by day), temperature and humidity on daily
 * curves, and soil moisture that dries through the day and rises while the valve waters on its timetable.
 */

/** The valve opens at these local hours for `WATERING_MINUTES`. */
export const WATERING_HOURS = [6, 18] as const;
export const WATERING_MINUTES = 20;
/** Soil moisture gained per minute of watering, and lost per hour (more in the afternoon heat), %. */
const WATERING_GAIN_PER_MIN = 0.3;
const DRYING_PER_HOUR = 0.35;
/** Limits a `pollution` fault goes well above (China's 24 h grade II: PM2.5 75, PM10 150 µg/m³). */
export const PM25_LIMIT = 75;
export const PM10_LIMIT = 150;
const SUBSTEP_MS = 60_000;

const FAULTS: readonly ModelFault[] = ['leak', 'valve-fault', 'pollution', 'night-noise'];

/** Road traffic (1 ≈ the weekday morning peak). */
function traffic(hour: number, weekend: boolean): number {
  const scale = weekend ? 0.5 : 1;
  return 0.1 + scale * (bump(hour, 8, 1.3) + 0.9 * bump(hour, 18, 1.6)) + 0.3 * bump(hour, 13, 3);
}

/**
 * People about: 0 at night, 1 by day, with smooth edges around 06:30 and 21:30: a residential estate is quiet by
 * 22:00, when the night limit for noise (45 dB(A)) begins.
 */
function activity(hour: number): number {
  return 1 / (1 + Math.exp(-(hour - 6.5) * 3)) / (1 + Math.exp((hour - 21.5) * 4));
}

/** 1 at 15:00 (warmest), 0 at 03:00 (coldest). */
function warmth(hour: number): number {
  return (1 + Math.cos(((hour - 15) / 24) * 2 * Math.PI)) / 2;
}

export function isWatering(hour: number): boolean {
  return WATERING_HOURS.some((h) => hour >= h && hour < h + WATERING_MINUTES / 60);
}

export class EnvironmentModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly meanC: number;
  private readonly location: string;
  private last: number;
  private soil: number;
  private leak = false;
  private valveFault = false;
  private pollution = false;
  private nightNoise = false;
  /** The valve as commanded (`open`/`close`), overriding the timetable until `auto`. */
  private manual: boolean | undefined;
  private pending: SimEvent[] = [];
  private dirty = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.place = ctx.place;
    this.meanC = spec.params.meanC ?? 17;
    this.location = spec.tags.location ?? spec.name;
    this.soil = this.rng.between(32, 42);
    this.last = now;
  }

  step(now: number): StepResult {
    this.advance(now);
    const events = this.pending;
    this.pending = [];
    const reportNow = this.dirty;
    this.dirty = false;
    return { events, reportNow };
  }

  telemetry(now: number): Telemetry {
    const { hour, weekend } = localTime(now, this.place.timeZone);
    const rng = this.rng;
    const t = traffic(hour, weekend);
    const w = warmth(hour);
    let pm25 = Math.max(3, 12 + 28 * t + rng.normal(0, 2.5));
    let pm10 = pm25 * 1.7 + Math.max(0, rng.normal(6, 3));
    if (this.pollution) {
      pm25 = 110 + rng.between(0, 60);
      pm10 = pm25 * 1.8;
    }
    const noise = this.nightNoise ? 68 + rng.normal(0, 3) : 41 + 16 * activity(hour) + 5 * t + rng.normal(0, 1.2);
    return {
      temperatureC: round(this.meanC - 4 + 9 * w + rng.normal(0, 0.2)),
      humidityPct: round(clamp(82 - 30 * w + rng.normal(0, 1), 0, 100), 0),
      pm25Ugm3: round(pm25, 0),
      pm10Ugm3: round(pm10, 0),
      co2Ppm: round(415 + 30 * t + rng.normal(0, 4), 0),
      noiseDb: round(Math.max(20, noise)),
      waterLeak: this.leak,
      soilMoisturePct: round(clamp(this.soil, 0, 100)),
      valveOpen: this.valveOpen(hour),
    };
  }

  /** `open` and `close` the valve by hand; `auto` gives it back to the timetable. */
  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    if (action !== 'open' && action !== 'close' && action !== 'auto') {
      return { ok: false, error: `unknown action ${action} for environment` };
    }
    this.advance(now);
    this.manual = action === 'auto' ? undefined : action === 'open';
    this.dirty = true;
    return { ok: true };
  }

  /** `leak` (leak event, waterLeak), `valve-fault` (valve_fault, the valve stays shut), `pollution`, `night-noise`. */
  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    this.dirty = true;
    if (fault.name === 'leak') {
      if (!this.leak) this.pending.push({ type: 'leak', location: this.location });
      this.leak = true;
    } else if (fault.name === 'valve-fault') {
      if (!this.valveFault) this.pending.push({ type: 'valve_fault' });
      this.valveFault = true;
    } else if (fault.name === 'pollution') {
      this.pollution = true;
    } else {
      this.nightNoise = true;
    }
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'leak' && this.leak) this.leak = false;
    else if (name === 'valve-fault' && this.valveFault) this.valveFault = false;
    else if (name === 'pollution' && this.pollution) this.pollution = false;
    else if (name === 'night-noise' && this.nightNoise) this.nightNoise = false;
    else return false;
    this.dirty = true;
    return true;
  }

  private valveOpen(hour: number): boolean {
    if (this.valveFault) return false;
    return this.manual ?? isWatering(hour);
  }

  /** Soil moisture, minute by minute: drying with the warmth of the day, rising while the valve waters. */
  private advance(now: number): void {
    let t = this.last;
    if (now <= t) return;
    const wasOpen = this.valveOpen(localTime(t, this.place.timeZone).hour);
    while (t < now) {
      const dt = Math.min(SUBSTEP_MS, now - t);
      const hour = localTime(t + dt / 2, this.place.timeZone).hour;
      const drying = DRYING_PER_HOUR * (0.4 + 1.2 * warmth(hour)) * (dt / 3_600_000);
      const gain = this.valveOpen(hour) ? WATERING_GAIN_PER_MIN * (dt / 60_000) * (1 - this.soil / 100) * 1.6 : 0;
      this.soil = clamp(this.soil - drying + gain, 5, 95);
      t += dt;
    }
    this.last = now;
    // The valve opening or shutting is reported at once.
    if (this.valveOpen(localTime(now, this.place.timeZone).hour) !== wasOpen) this.dirty = true;
  }
}
