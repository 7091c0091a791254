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
  type StepResult,
  type Telemetry,
} from './model.js';

/**
 * An emergency call point. Real calls are rare (a few a year: practically never in a simulated day); each is
 * cancelled a few minutes later by whoever answers it. The `sos-call` fault is the scenario's call, cancelled
 * when the fault ends.
 */

/** Calls a year at one call point, false alarms included. */
export const CALLS_PER_YEAR = 3;
/** How long a spontaneous call lasts before someone cancels it, ms. */
const CALL_MS: [number, number] = [2 * 60_000, 10 * 60_000];
const FAULT_CODES = ['E21', 'speaker', 'line'] as const;

const FAULTS: readonly ModelFault[] = ['sos-call', 'sos-fault', 'sos-tamper', 'low-battery'];

interface Timed {
  at: number;
  event: SimEvent;
}

export class SosModel implements DeviceModel {
  private readonly rng: Random;
  private readonly battery: Battery;
  private readonly location: string;
  private last: number;
  /** A call in progress: until when (a spontaneous one), or until the fault ends (Infinity). */
  private callUntil: number | undefined;
  private faulty = false;
  /** The call point's cover is off (tamper sent) until the fault ends. */
  private tampered = false;
  private lowBattery = false;
  private pending: Timed[] = [];
  private dirty = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.battery = new Battery(ctx.rng, 5);
    this.location = spec.tags.location ?? spec.name;
    this.last = now;
  }

  step(now: number): StepResult {
    this.advance(now);
    const events = this.pending.sort((a, b) => a.at - b.at).map((t) => t.event);
    this.pending = [];
    const reportNow = this.dirty;
    this.dirty = false;
    return { events, reportNow };
  }

  telemetry(): Telemetry {
    return { batteryPct: this.battery.pct() };
  }

  /** `cancel` ends a call in progress (the operator has answered it). */
  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    if (action !== 'cancel') return { ok: false, error: `unknown action ${action} for sos` };
    this.advance(now);
    if (this.callUntil !== undefined) this.cancel(now);
    return { ok: true };
  }

  startFault(fault: Fault, now: number): boolean {
    if (!FAULTS.includes(fault.name)) return false;
    this.advance(now);
    this.dirty = true;
    if (fault.name === 'sos-call') {
      if (this.callUntil === undefined) this.pending.push({ at: now, event: { type: 'call', location: this.location } });
      this.callUntil = Infinity;
    } else if (fault.name === 'sos-fault') {
      this.faulty = true;
      this.pending.push({ at: now, event: { type: 'fault', code: this.rng.pick(FAULT_CODES) } });
    } else if (fault.name === 'sos-tamper') {
      if (!this.tampered) this.pending.push({ at: now, event: { type: 'tamper' } });
      this.tampered = true;
    } else {
      this.lowBattery = true;
      this.battery.drain();
    }
    return true;
  }

  /** The call is answered and cancelled, the fault repaired, the battery replaced. */
  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'sos-call' && this.callUntil === Infinity) {
      this.cancel(now);
    } else if (name === 'sos-fault' && this.faulty) {
      this.faulty = false;
    } else if (name === 'sos-tamper' && this.tampered) {
      this.tampered = false;
    } else if (name === 'low-battery' && this.lowBattery) {
      this.lowBattery = false;
      this.battery.replace();
    } else {
      return false;
    }
    this.dirty = true;
    return true;
  }

  private cancel(at: number): void {
    this.callUntil = undefined;
    this.pending.push({ at, event: { type: 'cancel' } });
    this.dirty = true;
  }

  private advance(now: number): void {
    const from = this.last;
    if (now <= from) return;
    this.last = now;
    this.battery.advance(now - from);
    if (this.callUntil !== undefined && this.callUntil <= now) this.cancel(this.callUntil);
    // A faulty call point cannot place a call.
    if (this.faulty || this.callUntil !== undefined) return;
    if (this.rng.poisson(CALLS_PER_YEAR / (365 * 24), now - from) > 0) {
      const at = from + this.rng.next() * (now - from);
      this.pending.push({ at, event: { type: 'call', location: this.location } });
      this.dirty = true;
      this.callUntil = at + this.rng.between(...CALL_MS);
      if (this.callUntil <= now) this.cancel(this.callUntil);
    }
  }
}
