/**
 * `{ usage, every }` per device (contract §9): usage-based maintenance on a cumulative field. The count runs
 * from the first reading the rule sees of the device (its baseline); each time the field reaches another
 * multiple of `every` above it, the rule fires once, a pulse: it holds and at once stops holding, so each
 * firing is a new rising edge that opens its own work order (rules/effects.ts). A reading past several
 * multiples at once fires once. A reading below the one before (a replaced or reset meter) does not fire and
 * becomes the new baseline: from 10 with `every: 100`, the next firing is at 110.
 *
 * With `during`, a reading outside the window neither fires nor uses up its multiple: the first reading inside
 * the window fires for it (a maintenance due by night is opened in the morning, not lost).
 */
import { inWindow } from '../during.js';
import type { UsageWhen } from '../schema.js';
import { asNumber, deviceSource, savedEntries } from './common.js';
import type { Condition, ConditionContext, OnChange, TelemetryMessage } from './types.js';

export { UsageSchema as schema } from '../schema.js';

interface Counter {
  /** The value the count runs from. */
  base: number;
  /** Multiples of `every` above `base` already fired for. */
  reached: number;
  /** The latest reading, to tell a counter that went back. */
  last: number;
}

const KEY = 'd:';

/**
 * Readings are decimals (`runHours` 2000.1 - 0.1 is 1999.9999999999998): a shortfall this small relative
 * to the count of multiples is rounding, not usage.
 */
const EPSILON = 1e-9;

export const usage: Condition<UsageWhen> = {
  pulse: true,
  attach(ctx, when, onChange) {
    const run = new Usage(ctx, when, onChange);
    run.restore();
    return ctx.subscribe({ telemetry: { fields: [when.usage], on: (m) => run.reading(m) } });
  },
};

class Usage {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: UsageWhen,
    private readonly onChange: OnChange,
  ) {}

  reading(m: TelemetryMessage): void {
    const value = m.fields[this.when.usage];
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    const c = this.counters.get(m.device);
    if (!c || value < c.last) {
      // The first reading, or a counter that went back: count from here.
      this.set(m.device, { base: value, reached: 0, last: value });
      return;
    }
    // The same value again still fires a multiple held back by `during`.
    const changed = value !== c.last;
    c.last = value;
    const multiples = Math.floor((value - c.base) / this.when.every + EPSILON);
    const now = this.ctx.clock.now();
    const fires = multiples > c.reached && this.open(now);
    if (fires) c.reached = multiples;
    // Saved before acting: a firing is recorded even if an action fails.
    if (changed || fires) this.set(m.device, c);
    if (!fires) return;
    const src = deviceSource(m);
    this.onChange({ holds: true, source: src, at: now, value, trigger: m.device });
    this.onChange({ holds: false, source: src, at: now, value, trigger: m.device });
  }

  private open(now: number): boolean {
    return !this.when.during || inWindow(this.when.during, now, this.ctx.timeZone);
  }

  /** Written on every change (batched by RuleState, at most once a second per rule): a replaced meter must be told after a restart too. */
  private set(device: string, c: Counter): void {
    this.counters.set(device, c);
    this.ctx.state.set(KEY + device, { base: c.base, reached: c.reached, last: c.last, every: this.when.every });
  }

  /**
   * The baselines and multiples saved before a restart or reload. When the file changed `every` since, the
   * multiples already passed are counted anew in the new step, without firing for them.
   */
  restore(): void {
    for (const [device, s] of savedEntries(this.ctx.state.initial, KEY)) {
      const base = asNumber(s.base);
      let reached = asNumber(s.reached);
      const last = asNumber(s.last);
      if (base === undefined || reached === undefined || last === undefined) continue;
      if (s.every !== this.when.every) reached = Math.floor((last - base) / this.when.every + EPSILON);
      this.counters.set(device, { base, reached, last });
    }
  }
}
