import { bump, localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import {
  Battery,
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
 * A bin with a fill sensor. It fills through the day (most in the evening, faster at weekends) and the truck
 * empties it at `COLLECTION_HOUR` on weekdays, so it is fullest on Sunday night. Its temperature follows the day
 * with the sun on the lid; a `bin-fire` makes it climb fast.
 */

/** Local hour of the weekday collection. */
export const COLLECTION_HOUR = 7;
/** Fill per day on a weekday; a weekend day fills `WEEKEND_FACTOR` times faster, %. */
const FILL_PER_DAY = 22;
/** An overfilled bin: rubbish piled in beyond the schedule (a move-out, bulky waste), % per minute. */
const OVERFILL_PER_MIN = 12;
const WEEKEND_FACTOR = 1.6;
/** A fire is reported when the bin passes this temperature, °C. */
export const FIRE_REPORT_C = 60;
/** How fast a bin fire heats the sensor, °C per minute, up to about 400 °C. */
const FIRE_HEAT_PER_MIN = 8;
const SUBSTEP_MS = 60_000;

const FAULTS: readonly ModelFault[] = ['bin-overfill', 'bin-fire', 'low-battery'];

/** Rubbish thrown away per hour (relative): little at night, a morning bump, most in the evening. */
function usage(hour: number): number {
  return 0.1 + 0.6 * bump(hour, 8, 1.5) + 0.5 * bump(hour, 12.5, 1.5) + 1.2 * bump(hour, 19.5, 2);
}
/** Normalises usage() to a day's total of 1. */
const USAGE_PER_DAY = Array.from({ length: 24 * 4 }, (_, i) => usage(i / 4) / 4).reduce((a, b) => a + b, 0);

export class WasteModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly battery: Battery;
  private readonly meanC: number;
  private last: number;
  private fill: number;
  private fullSent = false;
  private overfill = false;
  /** Heat of a fire above ambient, °C; undefined when there is none. */
  private fire: { heat: number; reported: boolean } | undefined;
  private lowBattery = false;
  private pending: SimEvent[] = [];
  private dirty = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.place = ctx.place;
    this.battery = new Battery(ctx.rng, 5);
    this.meanC = spec.params.meanC ?? 17;
    this.fill = this.rng.between(5, 40);
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
    return {
      fillPct: round(clamp(this.fill + this.rng.normal(0, 0.5), 0, 100), 0),
      temperatureC: round(this.ambient(now) + (this.fire?.heat ?? 0) + this.rng.normal(0, 0.2)),
      batteryPct: this.battery.pct(),
    };
  }

  /** `empty`: the bin was emptied by hand (an extra collection). */
  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    if (action !== 'empty') return { ok: false, error: `unknown action ${action} for waste` };
    this.advance(now);
    this.empty();
    return { ok: true };
  }

  /** `bin-overfill` (piled full within minutes, not collected until it ends), `bin-fire` (heat, then `fire`), `low-battery`. */
  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    if (fault.name === 'bin-overfill') {
      this.overfill = true;
    } else if (fault.name === 'bin-fire') {
      this.fire ??= { heat: 0, reported: false };
      this.dirty = true;
    } else {
      this.lowBattery = true;
      this.battery.drain();
      this.dirty = true;
    }
    return true;
  }

  /** The truck comes (and empties the bin), the fire is put out, the battery replaced. */
  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'bin-overfill' && this.overfill) {
      this.overfill = false;
      this.empty();
    } else if (name === 'bin-fire' && this.fire) {
      this.fire = undefined;
      this.dirty = true;
    } else if (name === 'low-battery' && this.lowBattery) {
      this.lowBattery = false;
      this.battery.replace();
      this.dirty = true;
    } else {
      return false;
    }
    return true;
  }

  /** Air temperature with the sun on the lid: coldest about 04:00, warmest about 15:00. */
  private ambient(now: number): number {
    const { hour } = localTime(now, this.place.timeZone);
    return this.meanC + 5 * Math.cos(((hour - 15) / 24) * 2 * Math.PI) + 3 * bump(hour, 14, 2.5);
  }

  private empty(): void {
    this.fill = this.rng.between(0, 3);
    this.fullSent = false;
    this.pending.push({ type: 'emptied' });
    this.dirty = true;
  }

  private advance(now: number): void {
    let t = this.last;
    if (now <= t) return;
    this.battery.advance(now - t);
    while (t < now) {
      const dt = Math.min(SUBSTEP_MS, now - t);
      const before = localTime(t, this.place.timeZone);
      const after = localTime(t + dt, this.place.timeZone);
      const rate = (FILL_PER_DAY * (before.weekend ? WEEKEND_FACTOR : 1) * usage(before.hour)) / USAGE_PER_DAY;
      const piled = this.overfill ? OVERFILL_PER_MIN * (dt / 60_000) : 0;
      this.fill = Math.min(100, this.fill + rate * (dt / 3_600_000) * this.rng.between(0.5, 1.5) + piled);
      if (this.fill >= 100 && !this.fullSent) {
        this.fullSent = true;
        this.pending.push({ type: 'full' });
        this.dirty = true;
      }
      const collection = !after.weekend && before.hour < COLLECTION_HOUR && after.hour >= COLLECTION_HOUR;
      if (collection && !this.overfill) this.empty();
      if (this.fire) {
        this.fire.heat = Math.min(400, this.fire.heat + FIRE_HEAT_PER_MIN * (dt / 60_000) * this.rng.between(0.7, 1.3));
        if (!this.fire.reported && this.ambient(t + dt) + this.fire.heat >= FIRE_REPORT_C) {
          this.fire.reported = true;
          this.pending.push({ type: 'fire' });
          this.dirty = true;
        }
      }
      t += dt;
    }
    this.last = now;
  }
}
