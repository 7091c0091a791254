/** setTimeout's longest delay; a longer one fires at once (Node warns and uses 1 ms). */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * One timer per id that fires at an epoch-ms deadline, however far off (delays past ~24.8 days are
 * chained). Setting an id again replaces its timer; a deadline in the past fires on the next turn.
 */
export class DueTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  set(id: string, at: number, fn: () => void): void {
    this.cancel(id);
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_DELAY_MS);
    const timer = setTimeout(() => {
      this.timers.delete(id);
      if (at - Date.now() > 0) this.set(id, at, fn);
      else fn();
    }, delay);
    // The parts that own these timers hold the process open themselves; a due date must not.
    timer.unref();
    this.timers.set(id, timer);
  }

  cancel(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  has(id: string): boolean {
    return this.timers.has(id);
  }

  get size(): number {
    return this.timers.size;
  }
}
