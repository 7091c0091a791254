import { localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import {
  Battery,
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
 * A smoke, heat and CO detector (role `detector`). At rest it reads a little smoke from dust in the chamber,
 * the room's temperature and almost no CO. A `fire` fault makes its readings approach a fire's levels
 * exponentially (exact for any step length), and an end of the fire lets them decay back.
 */

const DAY_MS = 86_400_000;
/** Dust settling in the optical chamber raises the clean-air reading by about 0.05 % a month. */
const DUST_DRIFT_PCT_PER_MS = 0.05 / (30 * DAY_MS);
/** Obscuration at which a typical photoelectric detector alarms. */
export const SMOKE_ALARM_PCT = 12;
/** A fixed-temperature heat detector's rating (UL 521 ordinary class). */
export const HEAT_ALARM_C = 57;
/** The code a `fire-fault` reports: optical chamber dirty (a panel's usual first maintenance fault). */
export const FIRE_FAULT_CODE = 'E03';
/** Above this much smoke over the clean-air reading a clearing room is still reported at every step. */
const CLEARING_PCT = 0.5;

const FAULTS: readonly ModelFault[] = ['fire', 'fire-fault', 'low-battery'];

interface Levels {
  smoke: number; // % obscuration over the clean-air reading
  heat: number; // °C over the room
  co: number; // ppm over the room
}

interface Growth {
  /** [min, max) of the level the fire settles at, per quantity. */
  peak: Record<keyof Levels, [number, number]>;
  /** Time constants (ms) of the approach. */
  tau: Levels;
}

/**
 * How a fire shows at the detector over it (`origin`: past 12 % in about 20 s, past 57 °C within about two
 * minutes) and at a neighbour the smoke drifts to (`spread`: 5–10 %, under the alarm level, within a minute or two).
 */
const GROWTH: Record<'origin' | 'spread', Growth> = {
  origin: { peak: { smoke: [25, 40], heat: [55, 75], co: [150, 400] }, tau: { smoke: 30_000, heat: 120_000, co: 60_000 } },
  spread: { peak: { smoke: [5, 10], heat: [2, 6], co: [10, 40] }, tau: { smoke: 60_000, heat: 300_000, co: 180_000 } },
};
/** Time constants (ms) of the room clearing once the fire is out: smoke vents in minutes, heat lingers. */
const DECAY: Levels = { smoke: 180_000, heat: 400_000, co: 300_000 };
const ZERO: Levels = { smoke: 0, heat: 0, co: 0 };
const KEYS = ['smoke', 'heat', 'co'] as const;

interface Fire {
  target: Levels;
  tau: Levels;
  /** fire_alarm is sent once per fire; a reset or the end of the fire re-arms it. */
  alarmed: boolean;
}

/** Moves `x` towards `target` over `dt` ms with time constant `tau`. */
function approach(x: number, target: number, dt: number, tau: number): number {
  return target + (x - target) * Math.exp(-dt / tau);
}

export class FireModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly battery: Battery;
  private readonly created: number;
  private readonly cleanSmokePct: number;
  private readonly roomMidC: number;
  private readonly roomSwingC: number;
  private readonly roomCoPpm: number;
  private last: number;
  private excess: Levels = { ...ZERO };
  private fire: Fire | undefined;
  private chamberFault = false;
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
    this.battery = new Battery(ctx.rng);
    this.created = now;
    this.last = now;
    this.cleanSmokePct = ctx.rng.between(0.02, 0.15);
    this.roomMidC = ctx.rng.between(21.5, 22.5);
    this.roomSwingC = ctx.rng.between(0.6, 1.4);
    this.roomCoPpm = ctx.rng.between(0.5, 1.5);
  }

  /** Advances to `now`; reports at every step while a fire develops or its smoke clears. */
  step(now: number): StepResult {
    this.advance(now);
    const events = this.pending;
    this.pending = [];
    const reportNow = this.dirty || this.fire !== undefined || this.excess.smoke > CLEARING_PCT;
    this.dirty = false;
    return { events, reportNow };
  }

  /** The reading at `now`, with the sensors' noise. */
  telemetry(now: number): Telemetry {
    const smokeNoise = 0.02 + 0.03 * this.excess.smoke;
    return {
      smokeObscurationPct: round(clamp(this.smokeLevel(now) + this.rng.normal(0, smokeNoise), 0, 100), 2),
      temperatureC: round(this.temperature(now) + this.rng.normal(0, 0.1), 1),
      coPpm: round(Math.max(0, this.roomCoPpm + this.excess.co + this.rng.normal(0, 0.4)), 0),
      batteryPct: this.battery.pct(),
    };
  }

  /** `test` sounds the detector (a `test` event), `reset` silences a fire (a `reset` event). */
  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    if (action === 'test') {
      this.pending.push({ type: 'test' });
      return { ok: true };
    }
    if (action === 'reset') {
      this.endFire();
      return { ok: true };
    }
    return { ok: false, error: `unknown action ${action} for fire` };
  }

  /** `fire` (origin by default, or spread), `fire-fault` and `low-battery`. */
  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    this.dirty = true;
    if (fault.name === 'fire') {
      this.fire ??= this.newFire(fault.role ?? 'origin');
    } else if (fault.name === 'fire-fault') {
      if (!this.chamberFault) this.pending.push({ type: 'fault', code: FIRE_FAULT_CODE });
      this.chamberFault = true;
    } else {
      this.lowBattery = true;
      this.battery.drain();
    }
    return true;
  }

  /** The fire is put out (a `reset` follows), the chamber cleaned, or the battery replaced. */
  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'fire' && this.fire) {
      this.endFire();
    } else if (name === 'fire-fault' && this.chamberFault) {
      this.chamberFault = false;
    } else if (name === 'low-battery' && this.lowBattery) {
      this.lowBattery = false;
      this.battery.replace();
    } else {
      return false;
    }
    this.dirty = true;
    return true;
  }

  private newFire(role: 'origin' | 'spread'): Fire {
    const growth = GROWTH[role];
    const target = { ...ZERO };
    for (const k of KEYS) target[k] = this.rng.between(...growth.peak[k]);
    return { target, tau: growth.tau, alarmed: false };
  }

  /** A panel reset: the fire (if any) is over and the detector says so, so the alarm can be cleared. */
  private endFire(): void {
    this.fire = undefined;
    this.pending.push({ type: 'reset' });
    this.dirty = true;
  }

  /** Moves the physics to `now` (exact for any step) and raises fire_alarm on the first crossing. */
  private advance(now: number): void {
    const dt = now - this.last;
    if (dt <= 0) return;
    this.last = now;
    this.battery.advance(dt);
    const target = this.fire?.target ?? ZERO;
    const tau = this.fire?.tau ?? DECAY;
    for (const k of KEYS) this.excess[k] = approach(this.excess[k], target[k], dt, tau[k]);
    const fire = this.fire;
    if (fire && !fire.alarmed && (this.smokeLevel(now) >= SMOKE_ALARM_PCT || this.temperature(now) >= HEAT_ALARM_C)) {
      fire.alarmed = true;
      this.pending.push({ type: 'fire_alarm' });
    }
  }

  private smokeLevel(now: number): number {
    return this.cleanSmokePct + (now - this.created) * DUST_DRIFT_PCT_PER_MS + this.excess.smoke;
  }

  /** The room's temperature, warmest mid-afternoon and coolest before dawn, plus any fire's heat. */
  private temperature(now: number): number {
    const { hour } = localTime(now, this.place.timeZone);
    return this.roomMidC + this.roomSwingC * Math.cos((2 * Math.PI * (hour - 16)) / 24) + this.excess.heat;
  }
}
