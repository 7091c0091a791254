/**
 * `{ event, missing, per: device }` (contract §9): holds for a device once `missing` has passed without the
 * event from it (a guard-tour checkpoint not scanned); stops holding when the event arrives, and counts again
 * from it. With `during`, only time inside the window counts toward `missing` (rules/window-time.ts): a
 * checkpoint last scanned by day, with `missing: 2h` and `during: 22:00-06:00`, is due at 00:00.
 *
 * What a device's count starts from: its last event as saved in the rule's state; else the moment the rule
 * first watched it (the attach that found it registered, or its first message for a device registered
 * later), saved too, so a restart or reload goes on counting instead of starting over. Time while the
 * gateway was down counts: nothing could have been scanned then (the broker is the gateway's).
 */
import { KINDS, type KindName } from '../../devices/kinds/index.js';
import type { MissingWhen } from '../schema.js';
import { afterTimeInside } from '../window-time.js';
import { asNumber, deviceSource, savedEntries, Timers } from './common.js';
import type { Condition, ConditionContext, OnChange, Origin, Source } from './types.js';

export { MissingSchema as schema } from '../schema.js';

interface DeviceState {
  src: Source;
  /** Clock time the count runs from: the device's last event, or when the rule first watched it. */
  since: number;
  holding: boolean;
}

const KEY = 'd:';

export const missing: Condition<MissingWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new Missing(ctx, when, onChange);
    run.restore();
    const unsubscribe = ctx.subscribe({
      events: { types: [when.event], on: (m) => run.event(m) },
      // A device registered after the attach is watched from its first sign of life.
      activity: (m) => run.seen(m),
      status: (m) => run.seen(m),
    });
    return () => {
      unsubscribe();
      run.timers.clear();
    };
  },
};

class Missing {
  readonly timers: Timers;
  private readonly devices = new Map<string, DeviceState>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: MissingWhen,
    private readonly onChange: OnChange,
  ) {
    this.timers = new Timers(ctx.clock);
  }

  /** The event: the device is no longer missing it, and the count starts again. */
  event(m: Origin): void {
    const now = this.ctx.clock.now();
    const d = this.devices.get(m.device) ?? this.watch(deviceSource(m), now);
    d.since = now;
    if (d.holding) {
      d.holding = false;
      this.onChange({ holds: false, source: d.src, at: now, trigger: m.device });
    }
    this.save(d);
    if (!this.timers.has(d.src.id)) this.arm(d);
  }

  /** Any other message or status: starts the count of a device the rule has not watched yet. */
  seen(m: Origin): void {
    if (this.devices.has(m.device) || !this.hasEvent(m.kind)) return;
    const d = this.watch(deviceSource(m), this.ctx.clock.now());
    this.save(d);
    this.arm(d);
  }

  private hasEvent(kind: string): boolean {
    const def = KINDS[kind as KindName] as (typeof KINDS)[KindName] | undefined;
    return def !== undefined && this.when.event in def.events;
  }

  private watch(src: Source, since: number): DeviceState {
    const d: DeviceState = { src, since, holding: false };
    this.devices.set(src.id, d);
    return d;
  }

  /** Lazy: an event only moves `since`; the timer, when it wakes early, sleeps again until the new due time. */
  private arm(d: DeviceState): void {
    const due = afterTimeInside(this.when.during, d.since, this.when.missingMs, this.ctx.timeZone);
    this.timers.set(d.src.id, due, () => {
      const now = this.ctx.clock.now();
      if (now < afterTimeInside(this.when.during, d.since, this.when.missingMs, this.ctx.timeZone)) return this.arm(d);
      d.holding = true;
      this.save(d);
      this.onChange({ holds: true, source: d.src, at: now, trigger: d.src.device });
    });
  }

  private save(d: DeviceState): void {
    this.ctx.state.set(KEY + d.src.id, { since: d.since, holding: d.holding });
  }

  /** Every registered device of a kind with the event, from its saved count, else from now (see the top). */
  restore(): void {
    const saved = new Map(savedEntries(this.ctx.state.initial, KEY));
    const now = this.ctx.clock.now();
    for (const dev of this.ctx.devices()) {
      if (!this.hasEvent(dev.kind)) continue;
      const s = saved.get(dev.id);
      const since = asNumber(s?.since);
      // The registry's view of where the device is now wins (it may have moved zone).
      const src: Source = { id: dev.id, site: dev.site, device: dev.id, kind: dev.kind, zone: dev.zone };
      const d = this.watch(src, since ?? now);
      d.holding = s?.holding === true;
      if (since === undefined) this.save(d);
      if (!d.holding) this.arm(d);
    }
  }
}
