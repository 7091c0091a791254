/**
 * `{ event, count, within, per }`: a sliding window per device or zone. Holds when `count` events are inside
 * the last `within` (count - 1 raise nothing); stops holding the moment the oldest of them leaves it.
 */
import type { EventCountWhen } from '../schema.js';
import { asNumber, asSource, detailsMatch, deviceSource, savedEntries, Timers, zoneKey, zoneSource } from './common.js';
import type { Condition, ConditionContext, EventMessage, OnChange, Source } from './types.js';

export { EventCountSchema as schema } from '../schema.js';

interface Window {
  src: Source;
  /** Times of the newest events, oldest first; never more than `count` (older ones cannot matter). */
  times: number[];
  holding: boolean;
  trigger?: string;
}

const KEY = 's:';

export const eventCount: Condition<EventCountWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new EventCount(ctx, when, onChange);
    run.restore();
    const unsubscribe = ctx.subscribe({ events: { types: [when.event], on: (m) => run.event(m) } });
    return () => {
      unsubscribe();
      run.timers.clear();
    };
  },
};

class EventCount {
  readonly timers: Timers;
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: EventCountWhen,
    private readonly onChange: OnChange,
  ) {
    this.timers = new Timers(ctx.clock);
  }

  event(m: EventMessage): void {
    if (!detailsMatch(this.when.where, m.details)) return;
    const perZone = this.when.per === 'zone';
    const key = perZone ? zoneKey(m) : m.device;
    let w = this.windows.get(key);
    if (!w) {
      w = { src: perZone ? zoneSource(m) : deviceSource(m), times: [], holding: false };
      this.windows.set(key, w);
    }
    const now = this.ctx.clock.now();
    this.prune(w, now);
    w.times.push(now);
    if (w.times.length > this.when.count) w.times.shift();
    w.trigger = m.device;
    if (!w.holding && w.times.length >= this.when.count) {
      w.holding = true;
      this.onChange({ holds: true, source: w.src, at: now, value: w.times.length, trigger: m.device });
    }
    if (w.holding) this.arm(key, w);
    this.save(key, w);
  }

  /** An event exactly `within` old has left the window: it covers (now - within, now]. */
  private prune(w: Window, now: number): void {
    while (w.times.length > 0 && w.times[0] <= now - this.when.withinMs) w.times.shift();
  }

  /** While holding: wakes when the oldest of the newest `count` events leaves the window. */
  private arm(key: string, w: Window): void {
    const enough = w.times.length >= this.when.count;
    // Fewer than `count` (the rule changed since the state was saved): check at once.
    const due = enough ? w.times[w.times.length - this.when.count] + this.when.withinMs : this.ctx.clock.now();
    this.timers.set(key, due, () => {
      const now = this.ctx.clock.now();
      this.prune(w, now);
      if (w.times.length >= this.when.count) return this.arm(key, w);
      w.holding = false;
      this.save(key, w);
      this.onChange({ holds: false, source: w.src, at: now, value: w.times.length, trigger: w.trigger });
    });
  }

  private save(key: string, w: Window): void {
    if (w.times.length === 0 && !w.holding) this.windows.delete(key);
    this.ctx.state.set(KEY + key, w.times.length === 0 && !w.holding ? undefined : { src: w.src, times: w.times, holding: w.holding });
  }

  /** Windows and holding flags saved before a restart: a holding window clears when its oldest event leaves. */
  restore(): void {
    for (const [key, s] of savedEntries(this.ctx.state.initial, KEY)) {
      const src = asSource(s.src);
      const times = Array.isArray(s.times) ? s.times.map(asNumber).filter((t): t is number => t !== undefined) : [];
      if (!src) continue;
      const w: Window = { src, times: times.slice(-this.when.count), holding: s.holding === true };
      this.windows.set(key, w);
      if (w.holding) this.arm(key, w);
    }
  }
}
