/**
 * Time for the rule engine: the real clock (setTimeout, faked by vitest's fake timers in unit tests) or a
 * virtual one that `simulateRule` advances message by message. Conditions only ever see this interface.
 */

/** Cancels a timer; calling it again, or after the timer ran, does nothing. */
export type Cancel = () => void;

export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Runs `fn` at epoch ms `due`; a due time in the past runs it as soon as possible. */
  at(due: number, fn: () => void): Cancel;
}

/** setTimeout's longest delay (about 24.8 days); longer waits are taken in steps (a monthly cron is longer). */
const MAX_DELAY = 2 ** 31 - 1;

/** The wall clock. Timers are unref'd: the gateway's lifecycle, not a pending rule timer, decides when to exit. */
export const realClock: Clock = {
  now: () => Date.now(),
  at(due, fn) {
    let handle: NodeJS.Timeout | undefined;
    const arm = () => {
      const delay = due - Date.now();
      handle = delay > MAX_DELAY ? setTimeout(arm, MAX_DELAY) : setTimeout(fn, Math.max(0, delay));
      handle.unref();
    };
    arm();
    return () => clearTimeout(handle);
  },
};

interface VirtualTimer {
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to, running the timers due on the way in order (ties by creation). */
export class VirtualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly heap: VirtualTimer[] = [];

  constructor(start: number) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  at(due: number, fn: () => void): Cancel {
    const timer: VirtualTimer = { due: Math.max(due, this.current), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Moves to `time`, running every timer due until then (also those the timers themselves set). */
  advanceTo(time: number): void {
    for (;;) {
      const next = this.heap[0];
      if (!next || next.due > time) break;
      this.pop();
      if (next.cancelled) continue;
      this.current = Math.max(this.current, next.due);
      next.fn();
    }
    this.current = Math.max(this.current, time);
  }

  /** Timers still waiting (for tests and the simulator's end). */
  get pending(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  private before(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l], h[m])) m = l;
      if (r < h.length && this.before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
