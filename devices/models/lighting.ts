import { decayFrom, severity, type Decay } from '../sim/decay.js';
import { bump, isDark, localTime } from '../sim/local-time.js';
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
  type SitePlace,
  type StepResult,
  type Telemetry,
} from './model.js';

/**
 * A smart LED lamp on a controller node. Its schedule by role:
 * - `street`: on from civil dusk to civil dawn (a photocell's isDark), dimmed to 50 % from 00:00 to 05:00.
 * - `carpark`: the demo car park is underground, so no daylight: always on, 50 % from 00:00 to 06:00.
 * - `corridor`: always on at a 30 % standby level; a motion sensor raises it to 100 % for 60 s, and people
 *   pass most in the morning and the evening (lobbies far more than floors).
 * A command (`on`, `off`, `dim`) overrides the schedule until the next dusk or dawn, at most 12 h.
 */

const HOUR_MS = 3_600_000;
/** Rated power by role when the site gives no `ratedW` (W). */
const DEFAULT_RATED_W: Record<string, number> = { street: 90, carpark: 40, corridor: 18 };
/** Street lights dim to this in the small hours (%), from 00:00 to STREET_DIM_UNTIL_H. */
export const STREET_NIGHT_PCT = 50;
const STREET_DIM_UNTIL_H = 5;
export const CARPARK_NIGHT_PCT = 50;
const CARPARK_DIM_UNTIL_H = 6;
export const CORRIDOR_STANDBY_PCT = 30;
/** How long a corridor light stays at 100 % after the last motion, ms. */
const MOTION_HOLD_MS = 60_000;
/** Passers-by per hour at the evening peak: a lobby, a floor corridor. */
const MOTION_PEAK_PER_HOUR = { lobby: 60, floor: 10 } as const;
/** What the controller node and driver draw with the LEDs dark (W). */
export const STANDBY_W = 0.5;
/** A manual command holds at most this long when dusk and dawn do not come (polar summer), ms. */
export const OVERRIDE_MAX_MS = 12 * HOUR_MS;
const PCT_ERROR = 'params.pct: expected a number 0..100';

const FAULTS: readonly ModelFault[] = ['lamp-failure', 'circuit-trip', 'lamp-decay'];
/** An ageing LED driver (its capacitors drying out) draws this much more for the same light by the time it dies. */
const DRIVER_DRIFT = 0.3;

interface Level {
  on: boolean;
  pct: number;
  /** The corridor's motion sensor may raise the level to 100 %. */
  motion: boolean;
}

/** A manual setting, held until the daylight differs from when it was given. */
interface Override {
  level: Level;
  dark: boolean;
  until: number;
}

/** Relative corridor traffic (1 ≈ the evening peak): out in the morning, home in the evening. */
function motionShape(hour: number): number {
  return 0.03 + 0.6 * bump(hour, 7.5, 1.2) + bump(hour, 19.5, 2.2);
}

/** params.pct as a brightness: undefined when absent, NaN when not a number 0..100. */
function readPct(params: Record<string, unknown> | undefined): number | undefined {
  const pct = params?.pct;
  if (pct === undefined) return undefined;
  return typeof pct === 'number' && pct >= 0 && pct <= 100 ? pct : Number.NaN;
}

function levelKey(level: Level): string {
  return `${level.on}:${level.pct}`;
}

export class LightingModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly ratedW: number;
  /** Driver efficiency and LED tolerance: this lamp draws a few % more or less than rated. */
  private readonly driverFactor: number;
  private readonly nominalV: number;
  private last: number;
  private override: Override | undefined;
  private motionUntil = 0;
  private lampFailed = false;
  private circuitDead = false;
  /** A driver ageing (`lamp-decay`): the lamp fails at `decay.failAt`. */
  private decay: Decay | undefined;
  /** The lamp failed at the end of its decay (so ending the decay replaces it). */
  private decayFailed = false;
  /** The scheduled level last stepped through, so a switch or a dim is reported at once. */
  private reported: string;
  private pending: SimEvent[] = [];
  private dirty = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.place = ctx.place;
    this.ratedW = spec.params.ratedW ?? DEFAULT_RATED_W[spec.role] ?? 20;
    this.driverFactor = ctx.rng.between(0.96, 1.05);
    this.nominalV = ctx.rng.between(225, 230);
    this.last = now;
    this.reported = levelKey(this.wanted(now));
  }

  /** Advances to `now`; reports at once when the schedule switches or dims the lamp. */
  step(now: number): StepResult {
    this.advance(now);
    const key = levelKey(this.wanted(now));
    const reportNow = this.dirty || key !== this.reported;
    this.reported = key;
    this.dirty = false;
    const events = this.pending;
    this.pending = [];
    return { events, reportNow };
  }

  /** The controller reports the level it drives; the meter on the node shows whether the lamp draws it. */
  telemetry(now: number): Telemetry {
    const level = this.wanted(now);
    const pct = !level.on ? 0 : level.motion && now < this.motionUntil ? 100 : level.pct;
    const lit = level.on && !this.lampFailed;
    const ageing = this.decay ? 1 + DRIVER_DRIFT * severity(this.decay, now) : 1;
    const powerW = this.circuitDead ? 0 : (lit ? (this.ratedW * pct * this.driverFactor * ageing) / 100 : 0) + STANDBY_W;
    const noise = this.rng.normal(0, 0.01);
    return {
      on: level.on,
      brightnessPct: round(pct, 0),
      powerW: round(powerW * (1 + noise), 1),
      voltageV: this.circuitDead ? 0 : this.voltage(now),
    };
  }

  /** `on` (params.pct, default 100), `off`, `dim` (params.pct required). */
  command(action: string, params: Record<string, unknown> | undefined, now: number): CommandResult {
    if (action !== 'on' && action !== 'off' && action !== 'dim') {
      return { ok: false, error: `unknown action ${action} for lighting` };
    }
    const given = readPct(params);
    if (Number.isNaN(given) || (action === 'dim' && given === undefined)) return { ok: false, error: PCT_ERROR };
    this.advance(now);
    const pct = action === 'off' ? 0 : (given ?? 100);
    // A lamp set to 0 % is off: the controller does not report it on and dark.
    const level = { on: pct > 0, pct, motion: false };
    this.override = { level, dark: isDark(now, this.place.lat, this.place.lon), until: now + OVERRIDE_MAX_MS };
    this.dirty = true;
    return { ok: true };
  }

  /** `lamp-failure` (the LEDs are open-circuit) and `circuit-trip` (the breaker feeding the lamps). */
  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    this.dirty = true;
    if (fault.name === 'lamp-decay') {
      // Already ageing: it goes on (a timeline played again does not make the driver new).
      if (this.decay) return true;
      // A new driver that will age: a lamp that failed at the end of an earlier decay is replaced first.
      if (this.decayFailed) this.lampFailed = false;
      this.decayFailed = false;
      this.decay = decayFrom('lamp-decay', now, fault.spanMs);
      return true;
    }
    if (fault.name === 'lamp-failure') {
      if (!this.lampFailed) this.pending.push({ type: 'lamp_failure' });
      this.lampFailed = true;
    } else {
      // Only the lamp the scenario names `origin` (or a lone one) sends circuit_trip; the rest just go dark.
      if (!this.circuitDead && fault.role !== 'spread') this.pending.push({ type: 'circuit_trip' });
      this.circuitDead = true;
    }
    return true;
  }

  /** The lamp is replaced, or the breaker reset. */
  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'lamp-decay' && (this.decay || this.decayFailed)) {
      if (this.decayFailed) this.lampFailed = false;
      this.decay = undefined;
      this.decayFailed = false;
    } else if (name === 'lamp-failure' && this.lampFailed) {
      this.lampFailed = false;
    } else if (name === 'circuit-trip' && this.circuitDead) {
      this.circuitDead = false;
    } else {
      return false;
    }
    this.dirty = true;
    return true;
  }

  private advance(now: number): void {
    const from = this.last;
    if (now <= from) return;
    this.last = now;
    if (this.decay && now >= this.decay.failAt) {
      // The driver dies: the lamp reports its failure and draws only standby power from now on.
      this.decay = undefined;
      this.decayFailed = true;
      if (!this.lampFailed) this.pending.push({ type: 'lamp_failure' });
      this.lampFailed = true;
      this.dirty = true;
    }
    const o = this.override;
    if (o && (now >= o.until || isDark(now, this.place.lat, this.place.lon) !== o.dark)) this.override = undefined;
    if (this.spec.role === 'corridor') this.motion(from, now);
  }

  /**
   * Whether someone passed within the hold time before `now`: only the last MOTION_HOLD_MS of the step
   * matter, so the result does not depend on how long the step was.
   */
  private motion(from: number, now: number): void {
    const window = Math.min(now - from, MOTION_HOLD_MS);
    const { hour } = localTime(now, this.place.timeZone);
    const peak = MOTION_PEAK_PER_HOUR[this.spec.tags.floor === '0' ? 'lobby' : 'floor'];
    if (this.rng.poisson(peak * motionShape(hour), window) > 0) {
      const passed = now - window * this.rng.next();
      this.motionUntil = Math.max(this.motionUntil, passed + MOTION_HOLD_MS);
    }
  }

  /** The override, or the role's schedule. */
  private wanted(now: number): Level {
    if (this.override) return this.override.level;
    const { hour } = localTime(now, this.place.timeZone);
    switch (this.spec.role) {
      case 'street':
        if (!isDark(now, this.place.lat, this.place.lon)) return { on: false, pct: 0, motion: false };
        return { on: true, pct: hour < STREET_DIM_UNTIL_H ? STREET_NIGHT_PCT : 100, motion: false };
      case 'carpark':
        return { on: true, pct: hour < CARPARK_DIM_UNTIL_H ? CARPARK_NIGHT_PCT : 100, motion: false };
      default:
        return { on: true, pct: CORRIDOR_STANDBY_PCT, motion: true };
    }
  }

  /** Mains voltage at the lamp: sags a little at the evening peak, when the estate draws most. */
  private voltage(now: number): number {
    const { hour } = localTime(now, this.place.timeZone);
    const v = this.nominalV - 3 * bump(hour, 19.5, 2) + this.rng.normal(0, 0.8);
    return round(clamp(v, 220, 235), 1);
  }
}
