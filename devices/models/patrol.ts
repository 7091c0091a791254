import { localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import {
  Battery,
  type CommandResult,
  type DeviceModel,
  type DeviceSpec,
  type Fault,
  type ModelContext,
  type ModelFault,
  type SimEvent,
  type SitePlace,
  type StepResult,
  type Telemetry,
} from './model.js';

/**
 * A guard-tour checkpoint. A guard walks the route every `roundMinutes` (default 120) at night (22:00–06:00)
 * and every other round by day; this checkpoint is `offsetMinutes` into the round, and the guard reaches it a
 * minute or two late at most.
 */

export const DEFAULT_ROUND_MINUTES = 120;
/** How late a guard may reach the checkpoint after its place on the route, ms. */
export const SCAN_LATE_MS = 3 * 60_000;
/** The night shift: rounds every `roundMinutes`; by day only every other round. */
export const NIGHT_FROM = 22;
export const NIGHT_TO = 6;
const NIGHT_GUARDS = ['Wang Wei', 'Zhang Min', 'G-0712'] as const;
const DAY_GUARDS = ['Li Na', 'Chen Jie', 'G-0415'] as const;

const FAULTS: readonly ModelFault[] = ['checkpoint-skipped', 'patrol-tamper', 'low-battery'];

export function isNight(hour: number): boolean {
  return hour >= NIGHT_FROM || hour < NIGHT_TO;
}

interface Timed {
  at: number;
  event: SimEvent;
}

export class PatrolModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly battery: Battery;
  private readonly roundMs: number;
  private readonly offsetMs: number;
  private readonly route: string;
  private readonly nightGuard: string;
  private readonly dayGuard: string;
  private last: number;
  private skipped = false;
  /** The reader's case is open (tamper sent) until the fault ends. */
  private tampered = false;
  private lowBattery = false;
  /** Scans due once the guard arrives, and other events. */
  private pending: Timed[] = [];
  private dirty = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.place = ctx.place;
    this.battery = new Battery(ctx.rng, 4);
    this.roundMs = Math.max(10, spec.params.roundMinutes ?? DEFAULT_ROUND_MINUTES) * 60_000;
    this.offsetMs = ((spec.params.offsetMinutes ?? 0) * 60_000) % this.roundMs;
    this.route = spec.tags.route ?? `route-${spec.zone}`;
    this.nightGuard = this.rng.pick(NIGHT_GUARDS);
    this.dayGuard = this.rng.pick(DAY_GUARDS);
    this.last = now;
  }

  step(now: number): StepResult {
    this.advance(now);
    const due = this.pending.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    this.pending = this.pending.filter((t) => t.at > now);
    const reportNow = this.dirty;
    this.dirty = false;
    return { events: due.map((t) => t.event), reportNow };
  }

  telemetry(): Telemetry {
    return { batteryPct: this.battery.pct() };
  }

  /** A checkpoint takes no commands. */
  command(action: string, _params?: Record<string, unknown>, _now?: number): CommandResult {
    return { ok: false, error: `unknown action ${action} for patrol` };
  }

  /** `checkpoint-skipped` (no scans until it ends), `patrol-tamper` (one tamper event), `low-battery`. */
  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    if (fault.name === 'checkpoint-skipped') {
      this.skipped = true;
      // A guard already on the way to this checkpoint walks past it too.
      this.pending = this.pending.filter((t) => t.event.type !== 'checkpoint_scan');
    } else if (fault.name === 'patrol-tamper') {
      if (!this.tampered) this.pending.push({ at: now, event: { type: 'tamper' } });
      this.tampered = true;
      this.dirty = true;
    } else {
      this.lowBattery = true;
      this.battery.drain();
      this.dirty = true;
    }
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'checkpoint-skipped' && this.skipped) {
      this.skipped = false;
    } else if (name === 'patrol-tamper' && this.tampered) {
      this.tampered = false;
    } else if (name === 'low-battery' && this.lowBattery) {
      this.lowBattery = false;
      this.battery.replace();
      this.dirty = true;
    } else {
      return false;
    }
    return true;
  }

  private advance(now: number): void {
    const from = this.last;
    if (now <= from) return;
    this.last = now;
    this.battery.advance(now - from);
    if (this.skipped) return;
    // The round times are counted from local midnight of the day `from` falls in.
    const midnight = from - Math.round(localTime(from, this.place.timeZone).hour * 3_600_000);
    let k = Math.floor((from - midnight - this.offsetMs) / this.roundMs) + 1;
    for (let at = midnight + this.offsetMs + k * this.roundMs; at <= now; k++, at = midnight + this.offsetMs + k * this.roundMs) {
      if (at <= from) continue;
      const night = isNight(localTime(at, this.place.timeZone).hour);
      // By day only every other round (counted from midnight, so the pattern is the same each day).
      if (!night && Math.floor((at - midnight) / this.roundMs) % 2 !== 0) continue;
      const guard = night ? this.nightGuard : this.dayGuard;
      const arrive = at + this.rng.between(0, SCAN_LATE_MS);
      this.pending.push({ at: arrive, event: { type: 'checkpoint_scan', guard, route: this.route } });
    }
  }
}
