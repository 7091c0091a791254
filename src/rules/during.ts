/**
 * `during: "22:00-06:00"` (contract §6, site local time): the rule holds only while its condition holds
 * inside the window. A pulse (event, schedule tick) outside it is dropped. A lasting condition that starts
 * holding outside it is raised when the window opens if it still holds then, and one raised inside it is
 * cleared when the window closes (it is held back until the next opening, should it still hold).
 */
import type { Cancel, Clock } from './clock.js';
import { asRecord, asSource } from './conditions/common.js';
import type { Change, OnChange } from './conditions/types.js';
import type { Window } from './schema.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight in `timeZone`. */
export function localMinutes(ts: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  let h = 0;
  let m = 0;
  for (const p of f.formatToParts(ts)) {
    if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
  }
  return h * 60 + m;
}

/** Start included, end excluded; an end before the start wraps midnight. */
export function inWindow(w: Window, ts: number, timeZone: string): boolean {
  const m = localMinutes(ts, timeZone);
  return w.start < w.end ? m >= w.start && m < w.end : m >= w.start || m < w.end;
}

/**
 * The next opening or closing after `ts`. Zone offsets are whole minutes, so local minutes start with UTC
 * ones; on a DST change day the guess may be an hour off, and the gate re-checks when it wakes.
 */
export function nextBoundary(w: Window, ts: number, timeZone: string): number {
  const m = localMinutes(ts, timeZone);
  const ahead = (b: number) => (b - m + 1440) % 1440 || 1440;
  return ts - (ts % 60_000) + Math.min(ahead(w.start), ahead(w.end)) * 60_000;
}

const KEY = '~during';

export interface GateOptions {
  window: Window;
  pulse: boolean;
  clock: Clock;
  timeZone: string;
  state: { readonly initial: ReadonlyMap<string, unknown>; set(key: string, state: unknown): void };
}

/** Wraps `onChange` with the window; answers the wrapped function and a detach for its boundary timer. */
export function gate(opts: GateOptions, onChange: OnChange): { onChange: OnChange; detach: () => void } {
  if (opts.pulse) {
    // A pulse raises only inside the window; a clear (an event's clearOn) always goes through.
    const open = () => inWindow(opts.window, opts.clock.now(), opts.timeZone);
    return { onChange: (c) => (!c.holds || open() ? onChange(c) : undefined), detach: () => undefined };
  }
  const g = new LastingGate(opts, onChange);
  return { onChange: (c) => g.change(c), detach: () => g.detach() };
}

/** The window over a lasting condition: which sources it let through, and which it holds back. */
class LastingGate {
  private readonly raised = new Map<string, Change>();
  private readonly pending = new Map<string, Change>();
  private cancel?: Cancel;

  constructor(
    private readonly opts: GateOptions,
    private readonly onChange: OnChange,
  ) {
    restore(opts.state.initial.get(KEY), this.raised, this.pending);
    // Restored state may be on the wrong side of a boundary passed while the gateway was down: check at once.
    const now = opts.clock.now();
    this.arm(this.raised.size + this.pending.size > 0 ? now : nextBoundary(opts.window, now, opts.timeZone));
  }

  change(c: Change): void {
    const k = `${c.source.site}/${c.source.id}`;
    if (c.update) return this.update(k, c);
    if (c.holds && !this.open()) {
      this.pending.set(k, c);
      return this.save();
    }
    if (c.holds) {
      this.pending.delete(k);
      this.raised.set(k, c);
    } else if (this.pending.delete(k)) {
      return this.save();
    } else {
      // Raised, or unknown after a restart without state: clear it either way (a clear of nothing is a no-op).
      this.raised.delete(k);
    }
    this.save();
    this.onChange(c);
  }

  /**
   * A forecast's eta moved while it holds (contract §13): passed on when its alarm is up; kept as the raise to
   * come when it waits for the window. Either way what is kept is a raise, so an opening raises it.
   */
  private update(k: string, c: Change): void {
    const { update: _update, ...raise } = c;
    const into = this.raised.has(k) ? this.raised : this.pending.has(k) ? this.pending : undefined;
    if (!into) return;
    into.set(k, raise);
    this.save();
    if (into === this.raised) this.onChange(c);
  }

  detach(): void {
    this.cancel?.();
  }

  private open(): boolean {
    return inWindow(this.opts.window, this.opts.clock.now(), this.opts.timeZone);
  }

  /** At an opening, raises what waited; at a closing, clears what was raised and keeps it waiting. */
  private boundary(): void {
    const now = this.opts.clock.now();
    const holds = this.open();
    const [from, to] = holds ? [this.pending, this.raised] : [this.raised, this.pending];
    for (const [k, c] of from) {
      from.delete(k);
      to.set(k, c);
      this.onChange({ ...c, holds, at: now });
    }
    this.save();
    this.arm(nextBoundary(this.opts.window, now, this.opts.timeZone));
  }

  private arm(due: number): void {
    this.cancel = this.opts.clock.at(due, () => this.boundary());
  }

  private save(): void {
    const empty = this.raised.size + this.pending.size === 0;
    this.opts.state.set(KEY, empty ? undefined : { raised: [...this.raised.values()], pending: [...this.pending.values()] });
  }
}

function restore(saved: unknown, raised: Map<string, Change>, pending: Map<string, Change>): void {
  const r = asRecord(saved);
  const read = (list: unknown, into: Map<string, Change>) => {
    if (!Array.isArray(list)) return;
    for (const item of list) {
      const c = asRecord(item);
      const source = asSource(c?.source);
      if (c && source && typeof c.at === 'number') into.set(`${source.site}/${source.id}`, { ...(c as unknown as Change), source });
    }
  };
  read(r?.raised, raised);
  read(r?.pending, pending);
}
