/**
 * `{ telemetry, above|below, for?, clear? }` per device (HA numeric_state): holds once the value has stayed
 * strictly beyond the level for `for` (a reading back inside cancels the timer); stops holding once it
 * passes back (the `clear` level, for `clear.for`, else simply no longer beyond).
 */
import type { Scalar, ThresholdWhen } from '../schema.js';
import { asNumber, asScalar, asSource, beyond, deviceSource, fieldsMatch, numeric, savedEntries, Timers } from './common.js';
import type { Condition, ConditionContext, OnChange, Source, TelemetryMessage } from './types.js';

export { ThresholdSchema as schema } from '../schema.js';

interface DeviceState {
  src: Source;
  value?: Scalar;
  /** Latest values of the `where` fields. */
  where: Record<string, unknown>;
  /** When the value went beyond the level (the `for` timer runs from here). */
  since?: number;
  holding: boolean;
  /** When the value passed back while holding (the `clear.for` timer runs from here). */
  clearSince?: number;
}

const KEY = 'd:';

export const threshold: Condition<ThresholdWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new Threshold(ctx, when, onChange);
    run.restore();
    const fields = [when.telemetry, ...Object.keys(when.where ?? {})];
    const unsubscribe = ctx.subscribe({ telemetry: { fields, on: (m) => run.reading(m) } });
    return () => {
      unsubscribe();
      run.timers.clear();
    };
  },
};

class Threshold {
  readonly timers: Timers;
  private readonly devices = new Map<string, DeviceState>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: ThresholdWhen,
    private readonly onChange: OnChange,
  ) {
    this.timers = new Timers(ctx.clock);
  }

  reading(m: TelemetryMessage): void {
    let d = this.devices.get(m.device);
    if (!d) {
      d = { src: deviceSource(m), where: {}, holding: false };
      this.devices.set(m.device, d);
    }
    const v = m.fields[this.when.telemetry];
    if (v !== undefined) d.value = v;
    if (this.when.where) for (const k in this.when.where) if (k in m.fields) d.where[k] = m.fields[k];
    this.evaluate(d);
  }

  private isBeyond(d: DeviceState): boolean {
    return fieldsMatch(this.when.where, d.where) && beyond(this.when.dir, numeric(d.value), this.when.level);
  }

  /** Passed back: the `where` no longer holds, or the value is past the clear level (strictly). */
  private passedBack(d: DeviceState): boolean {
    if (!fieldsMatch(this.when.where, d.where)) return true;
    const level = this.when.clear?.level;
    if (level === undefined) return d.value !== undefined && !this.isBeyond(d);
    return beyond(this.when.dir === 'above' ? 'below' : 'above', numeric(d.value), level);
  }

  private evaluate(d: DeviceState): void {
    const now = this.ctx.clock.now();
    if (!d.holding) {
      const out = this.isBeyond(d);
      if (out && d.since === undefined) {
        d.since = now;
        this.armRaise(d);
        this.save(d);
      } else if (!out && d.since !== undefined) {
        d.since = undefined;
        this.timers.cancel(d.src.id);
        this.save(d);
      }
      return;
    }
    const back = this.passedBack(d);
    if (back && d.clearSince === undefined) {
      d.clearSince = now;
      this.armClear(d);
      this.save(d);
    } else if (!back && d.clearSince !== undefined) {
      d.clearSince = undefined;
      this.timers.cancel(d.src.id);
      this.save(d);
    }
  }

  /** Raises at `since + for`: at once when `for` is 0, after a restart at the original due time. */
  private armRaise(d: DeviceState): void {
    const fire = () => {
      d.since = undefined;
      d.holding = true;
      this.save(d);
      this.onChange({ holds: true, source: d.src, at: this.ctx.clock.now(), value: d.value, trigger: d.src.device });
    };
    if (this.when.forMs === 0) fire();
    else this.timers.set(d.src.id, d.since! + this.when.forMs, fire);
  }

  private armClear(d: DeviceState): void {
    const fire = () => {
      d.clearSince = undefined;
      d.holding = false;
      this.save(d);
      this.onChange({ holds: false, source: d.src, at: this.ctx.clock.now(), value: d.value, trigger: d.src.device });
      // Past the clear level may already be beyond again when the clear level is the threshold itself.
      this.evaluate(d);
    };
    const forMs = this.when.clear?.forMs ?? 0;
    if (forMs === 0) fire();
    else this.timers.set(d.src.id, d.clearSince! + forMs, fire);
  }

  private save(d: DeviceState): void {
    const idle = !d.holding && d.since === undefined;
    this.ctx.state.set(KEY + d.src.id, idle ? undefined : { src: d.src, value: d.value, since: d.since, holding: d.holding, clearSince: d.clearSince });
  }

  /** Picks up the `for` timers and holding flags saved before a restart or reload. */
  restore(): void {
    for (const [id, s] of savedEntries(this.ctx.state.initial, KEY)) {
      const src = asSource(s.src);
      if (!src) continue;
      const d: DeviceState = { src, value: asScalar(s.value), where: {}, holding: s.holding === true, since: asNumber(s.since), clearSince: asNumber(s.clearSince) };
      // The `where` values are not saved: assume they held, as they did when the state was saved.
      if (this.when.where) Object.assign(d.where, this.when.where);
      this.devices.set(id, d);
      if (!d.holding && d.since !== undefined) this.armRaise(d);
      if (d.holding && d.clearSince !== undefined) this.armClear(d);
    }
  }
}
