import { bump, localTime } from '../sim/local-time.js';
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
 * A door controller (role `door`) or a pedestrian gate (`gate`). Residents badge in as a Poisson process
 * that peaks when they leave for work and come home; a granted badge releases the lock and the door stands
 * open a few seconds, so sampled telemetry mostly shows it shut and locked.
 */

/** Badge attempts per hour at the 08:00 weekday peak: a lobby door, a floor door, an estate gate. */
export const PEAK_ATTEMPTS_PER_HOUR = { lobby: 45, floor: 6, gate: 80 } as const;
/** Residents whose credentials the door sees (credential ids `card-1001`...). */
const RESIDENTS = { lobby: 300, floor: 24, gate: 600 } as const;
/** Share of attempts refused: lost, expired and unregistered cards. */
export const DENIED_SHARE = 0.05;
/** How long a resident holds a released door open, ms. */
const PASSAGE_MS: [number, number] = [3_000, 8_000];
/** A forced door swings shut again after this long, ms. */
export const FORCED_OPEN_MS = 20_000;
/** door_held_open fires after the door has stood open this long, then again after each further period. */
export const HELD_OPEN_REPORT_MS = 30_000;
/** The `denied-access` burst: someone tries one unknown card six times in about a minute. */
const BURST_ATTEMPTS = 6;
const BURST_SPACING_MS = 10_000;

type Method = 'card' | 'face' | 'qr' | 'pin';
/** Cards and faces are how residents come in; QR codes are visitor passes, PINs the fallback. */
const METHOD_WEIGHTS: readonly [Method, number][] = [
  ['card', 0.5],
  ['face', 0.35],
  ['qr', 0.1],
  ['pin', 0.05],
];
const DENIED_REASONS: Record<Method, readonly string[]> = {
  card: ['unknown card', 'expired', 'outside schedule'],
  face: ['face not recognised', 'outside schedule'],
  qr: ['expired'],
  pin: ['wrong pin'],
};

const FAULTS: readonly ModelFault[] = ['door-forced', 'door-held-open', 'denied-access', 'low-battery'];

/** Relative attempt rate (1 ≈ the weekday 08:00 peak): commutes on weekdays, a flatter day at weekends. */
function trafficShape(hour: number, weekend: boolean): number {
  if (weekend) return 0.04 + 0.45 * bump(hour, 10, 2.5) + 0.5 * bump(hour, 17, 3);
  return 0.04 + bump(hour, 8, 1.2) + 0.85 * bump(hour, 18, 1.5) + 0.25 * bump(hour, 12.5, 2);
}

type DoorLocation = keyof typeof PEAK_ATTEMPTS_PER_HOUR;

/** A gate, the building's entrance (the lobby is floor 0), or a door on an upper floor. */
function locationOf(spec: DeviceSpec): DoorLocation {
  if (spec.role === 'gate') return 'gate';
  return spec.tags.floor === '0' ? 'lobby' : 'floor';
}

interface Timed {
  at: number;
  event: SimEvent;
}

export class AccessModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly battery: Battery;
  private readonly where: DoorLocation;
  private last: number;
  /** The lock as commanded: `unlock` keeps it open until `lock`. */
  private locked = true;
  /** Until when a resident's passage holds the door open (and the strike released). */
  private passageUntil = 0;
  private forcedUntil = 0;
  private forced = false;
  private held: { start: number; nextReport: number } | undefined;
  private burst: { method: Method; times: number[] } | undefined;
  private lowBattery = false;
  private pending: Timed[] = [];
  private dirty = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.place = ctx.place;
    this.battery = new Battery(ctx.rng, 2);
    this.where = locationOf(spec);
    this.last = now;
  }

  /** Advances to `now`: the attempts, bursts and held-open reminders since the last step, in order. */
  step(now: number): StepResult {
    this.advance(now);
    const events = this.pending.sort((a, b) => a.at - b.at).map((t) => t.event);
    this.pending = [];
    const reportNow = this.dirty;
    this.dirty = false;
    return { events, reportNow };
  }

  /** The door and lock as the controller senses them at `now`. */
  telemetry(now: number): Telemetry {
    const passing = now < this.passageUntil;
    return {
      doorOpen: passing || now < this.forcedUntil || this.held !== undefined,
      // A granted badge releases the strike while the resident walks through. A forced or held-open door
      // reports the lock as commanded (locked), which is what tells it from a normal passage.
      locked: this.locked && !passing,
      batteryPct: this.battery.pct(),
    };
  }

  /** `unlock` releases the door until `lock`; params are ignored. */
  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    if (action !== 'lock' && action !== 'unlock') return { ok: false, error: `unknown action ${action} for access` };
    this.advance(now);
    const locked = action === 'lock';
    if (locked !== this.locked) this.dirty = true;
    this.locked = locked;
    return { ok: true };
  }

  /** `door-forced`, `door-held-open`, `denied-access` (a burst of six) and `low-battery`. */
  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    this.dirty = true;
    if (fault.name === 'door-forced') {
      this.forced = true;
      this.forcedUntil = now + FORCED_OPEN_MS;
      this.pending.push({ at: now, event: { type: 'door_forced' } });
    } else if (fault.name === 'door-held-open') {
      this.held ??= { start: now, nextReport: now + HELD_OPEN_REPORT_MS };
    } else if (fault.name === 'denied-access') {
      this.startBurst(now);
    } else {
      this.lowBattery = true;
      this.battery.drain();
    }
    return true;
  }

  /** The door is shut again, the burst abandoned, or the battery replaced. */
  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'door-forced' && this.forced) {
      this.forced = false;
      this.forcedUntil = 0;
    } else if (name === 'door-held-open' && this.held) {
      this.held = undefined;
    } else if (name === 'denied-access' && this.burst) {
      this.burst = undefined;
    } else if (name === 'low-battery' && this.lowBattery) {
      this.lowBattery = false;
      this.battery.replace();
    } else {
      return false;
    }
    this.dirty = true;
    return true;
  }

  private startBurst(now: number): void {
    const times = Array.from({ length: BURST_ATTEMPTS }, (_, i) => now + i * BURST_SPACING_MS + this.rng.between(0, 4_000));
    this.burst = { method: 'card', times };
  }

  private advance(now: number): void {
    const from = this.last;
    if (now <= from) return;
    this.last = now;
    this.battery.advance(now - from);
    // The forced door swinging shut is a change a controller reports at once.
    if (this.forcedUntil > from && this.forcedUntil <= now) this.dirty = true;
    this.burstAttempts(now);
    this.heldOpenReminder(now);
    this.traffic(from, now);
  }

  /** The burst's attempts due by `now`; the fault stays on (quietly) until ended. */
  private burstAttempts(now: number): void {
    const burst = this.burst;
    if (!burst) return;
    while (burst.times.length > 0 && burst.times[0] <= now) {
      const at = burst.times.shift() as number;
      this.pending.push({ at, event: { type: 'access_denied', method: burst.method, reason: 'unknown card' } });
    }
  }

  /**
   * door_held_open after 30 s open, then every further 30 s with the seconds so far: at most one per step,
   * so a long step does not send a pile of reminders at once.
   */
  private heldOpenReminder(now: number): void {
    const held = this.held;
    if (!held || now < held.nextReport) return;
    const elapsed = now - held.start;
    this.pending.push({ at: now, event: { type: 'door_held_open', seconds: Math.floor(elapsed / 1000) } });
    held.nextReport = held.start + (Math.floor(elapsed / HELD_OPEN_REPORT_MS) + 1) * HELD_OPEN_REPORT_MS;
  }

  private traffic(from: number, now: number): void {
    const dt = now - from;
    const { hour, weekend } = localTime(from + dt / 2, this.place.timeZone);
    const n = this.rng.poisson(PEAK_ATTEMPTS_PER_HOUR[this.where] * trafficShape(hour, weekend), dt);
    const times = Array.from({ length: n }, () => from + this.rng.next() * dt).sort((a, b) => a - b);
    for (const at of times) this.attempt(at);
  }

  /** One resident at the door. An unlocked door is simply pushed open: nothing to badge, no event. */
  private attempt(at: number): void {
    if (!this.locked) {
      this.pass(at);
      return;
    }
    const method = this.pickMethod();
    if (this.rng.chance(DENIED_SHARE)) {
      this.pending.push({ at, event: { type: 'access_denied', method, reason: this.rng.pick(DENIED_REASONS[method]) } });
      return;
    }
    const credential = `${method}-${1000 + this.rng.int(1, RESIDENTS[this.where])}`;
    this.pending.push({ at, event: { type: 'access_granted', method, credential } });
    this.pass(at);
  }

  private pass(at: number): void {
    this.passageUntil = Math.max(this.passageUntil, at + this.rng.between(...PASSAGE_MS));
  }

  private pickMethod(): Method {
    let r = this.rng.next();
    for (const [method, weight] of METHOD_WEIGHTS) {
      r -= weight;
      if (r < 0) return method;
    }
    return 'card';
  }
}
