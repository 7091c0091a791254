import { decayFrom, severity, type Decay, type DecayName } from '../sim/decay.js';
import type { ModelFault } from './model.js';

/**
 * The slow faults (devices/sim/decay.ts) going on in one model, each with the fault it ends in, and those that
 * have ended in it (so that ending the slow fault then repairs the failure too).
 */
export class Wear<N extends DecayName> {
  private readonly going = new Map<N, Decay>();
  private readonly failed = new Set<N>();

  constructor(private readonly failures: Readonly<Record<N, ModelFault>>) {}

  /** This model wears this way. */
  knows(name: string): name is N {
    return Object.hasOwn(this.failures, name);
  }

  get size(): number {
    return this.going.size;
  }

  /**
   * Starts wearing at `now`, failing `spanMs` later; nothing when it already goes on (a timeline played again
   * does not make the part new). Answers the failure fault to repair first, when it had already failed.
   */
  start(name: N, now: number, spanMs?: number): ModelFault | undefined {
    if (this.going.has(name)) return undefined;
    this.going.set(name, decayFrom(name, now, spanMs));
    return this.failed.delete(name) ? this.failures[name] : undefined;
  }

  /** Stops it: `had` when it went on or had failed, `repair` the failure fault to end when it had failed. */
  end(name: N): { had: boolean; repair?: ModelFault } {
    const failed = this.failed.delete(name);
    const had = this.going.delete(name) || failed;
    return { had, ...(failed ? { repair: this.failures[name] } : {}) };
  }

  /** How far it has gone at `at` (0 when it does not go on). */
  severity(name: N, at: number): number {
    const d = this.going.get(name);
    return d ? severity(d, at) : 0;
  }

  /** The slow faults `due` says have run their course, now failed: answers the faults to start. */
  fail(due: (name: N, decay: Decay) => boolean): ModelFault[] {
    const now: ModelFault[] = [];
    for (const [name, d] of [...this.going]) {
      if (!due(name, d)) continue;
      this.going.delete(name);
      this.failed.add(name);
      now.push(this.failures[name]);
    }
    return now;
  }
}
