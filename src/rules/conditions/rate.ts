/**
 * `{ telemetry, rise|fall, within }` per device: holds when a reading is more than `rise` above (or `fall`
 * below) some reading of the last `within`, by the devices' own timestamps; stops holding at the next
 * reading that is not. A monotonic queue keeps only the readings that can still be the window's lowest
 * (rise) or highest (fall), so each reading costs O(1) however long the window.
 */
import type { RateWhen, Scalar } from '../schema.js';
import { asSource, deviceSource, fieldsMatch, numeric, savedEntries } from './common.js';
import type { Condition, ConditionContext, OnChange, Source, TelemetryMessage } from './types.js';

export { RateSchema as schema } from '../schema.js';

interface DeviceState {
  src: Source;
  /** [ts, value], oldest first; values increasing (rise) or decreasing (fall). */
  queue: Array<[number, number]>;
  head: number;
  lastTs: number;
  where: Record<string, unknown>;
  holding: boolean;
}

const KEY = 'd:';

export const rate: Condition<RateWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new Rate(ctx, when, onChange);
    run.restore();
    const fields = [when.telemetry, ...Object.keys(when.where ?? {})];
    return ctx.subscribe({ telemetry: { fields, on: (m) => run.reading(m) } });
  },
};

class Rate {
  private readonly devices = new Map<string, DeviceState>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: RateWhen,
    private readonly onChange: OnChange,
  ) {}

  reading(m: TelemetryMessage): void {
    let d = this.devices.get(m.device);
    if (!d) {
      d = { src: deviceSource(m), queue: [], head: 0, lastTs: -Infinity, where: {}, holding: false };
      this.devices.set(m.device, d);
    }
    if (this.when.where) for (const k in this.when.where) if (k in m.fields) d.where[k] = m.fields[k];
    const v = numeric(m.fields[this.when.telemetry]);
    // A reading older than the last one (a replay, a clock step back) would break the window's order.
    if (v === undefined || m.ts < d.lastTs) return;
    d.lastTs = m.ts;
    const holds = fieldsMatch(this.when.where, d.where) && this.exceeds(d, m.ts, v);
    this.push(d, m.ts, v);
    if (holds !== d.holding) this.edge(d, holds, v);
  }

  /** Compares with the window's extreme after dropping the readings older than `within`. */
  private exceeds(d: DeviceState, ts: number, v: number): boolean {
    const oldest = ts - this.when.withinMs;
    while (d.head < d.queue.length && d.queue[d.head][0] < oldest) d.head++;
    if (d.head > 64 && d.head * 2 > d.queue.length) {
      d.queue = d.queue.slice(d.head);
      d.head = 0;
    }
    if (d.head >= d.queue.length) return false;
    const extreme = d.queue[d.head][1];
    return this.when.dir === 'rise' ? v - extreme > this.when.amount : extreme - v > this.when.amount;
  }

  private push(d: DeviceState, ts: number, v: number): void {
    const rise = this.when.dir === 'rise';
    // A newer reading at least as low (rise) makes older higher ones useless as the window's minimum.
    while (d.queue.length > d.head) {
      const last = d.queue[d.queue.length - 1][1];
      if (rise ? last < v : last > v) break;
      d.queue.pop();
    }
    d.queue.push([ts, v]);
  }

  private edge(d: DeviceState, holds: boolean, value: Scalar): void {
    d.holding = holds;
    this.ctx.state.set(KEY + d.src.id, holds ? { src: d.src } : undefined);
    this.onChange({ holds, source: d.src, at: this.ctx.clock.now(), value, trigger: d.src.device });
  }

  /** Holding flags only: the window refills from the next readings. */
  restore(): void {
    for (const [id, s] of savedEntries(this.ctx.state.initial, KEY)) {
      const src = asSource(s.src);
      if (src) this.devices.set(id, { src, queue: [], head: 0, lastTs: -Infinity, where: {}, holding: true });
    }
  }
}
