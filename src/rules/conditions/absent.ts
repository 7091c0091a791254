/**
 * `{ absent }` per device: holds when nothing at all came from the device for the duration, or its status
 * went offline that long ago; stops holding at its next message or `online`. Starts from the registry's
 * `lastSeen` at attach, so a device silent since before a restart is caught when its time is up, not a
 * full duration after the restart. Timers are lazy: a message only moves `last`; the timer, when it wakes
 * early, sleeps again until `last + absent`.
 */
import type { AbsentWhen } from '../schema.js';
import { asNumber, deviceSource, savedEntries, Timers } from './common.js';
import type { Condition, ConditionContext, OnChange, Origin, Source, StatusMessage } from './types.js';

export { AbsentSchema as schema } from '../schema.js';

interface DeviceState {
  src: Source;
  /** Clock time of the device's last message or status change. */
  last: number;
  /** Since when its status says offline. */
  offline?: number;
  holding: boolean;
}

const KEY = 'd:';

export const absent: Condition<AbsentWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new Absent(ctx, when, onChange);
    run.restore();
    const unsubscribe = ctx.subscribe({ activity: (m) => run.activity(m), status: (m) => run.status(m) });
    return () => {
      unsubscribe();
      run.timers.clear();
      run.saveAll();
    };
  },
};

class Absent {
  readonly timers: Timers;
  private readonly devices = new Map<string, DeviceState>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: AbsentWhen,
    private readonly onChange: OnChange,
  ) {
    this.timers = new Timers(ctx.clock);
  }

  /** A message (telemetry, event, command result) or `online`: the device is there. */
  activity(m: Origin): void {
    const now = this.ctx.clock.now();
    const d = this.device(m, now);
    d.last = now;
    if (d.offline !== undefined) {
      d.offline = undefined;
      this.save(d);
    }
    if (d.holding) {
      d.holding = false;
      this.save(d);
      this.onChange({ holds: false, source: d.src, at: now, trigger: d.src.device });
    }
    if (!this.timers.has(d.src.id)) this.arm(d);
  }

  /** `offline` starts the count (it is the device's last word); it does not clear a silence already raised. */
  status(m: StatusMessage): void {
    if (m.online) return this.activity(m);
    const now = this.ctx.clock.now();
    const d = this.device(m, now);
    if (d.offline !== undefined) return;
    d.offline = now;
    if (!d.holding) {
      d.last = now;
      if (!this.timers.has(d.src.id)) this.arm(d);
    }
    this.save(d);
  }

  private device(o: Origin, now: number): DeviceState {
    let d = this.devices.get(o.device);
    if (!d) {
      d = { src: deviceSource(o), last: now, holding: false };
      this.devices.set(o.device, d);
    }
    return d;
  }

  private arm(d: DeviceState): void {
    this.timers.set(d.src.id, d.last + this.when.absentMs, () => {
      const now = this.ctx.clock.now();
      if (now - d.last < this.when.absentMs) return this.arm(d);
      d.holding = true;
      this.save(d);
      this.onChange({ holds: true, source: d.src, at: now, value: d.offline !== undefined ? 'offline' : undefined, trigger: d.src.device });
    });
  }

  private save(d: DeviceState): void {
    this.ctx.state.set(KEY + d.src.id, { src: d.src, last: d.last, offline: d.offline, holding: d.holding });
  }

  /** At detach: `last` moves with every message, so it is written only now (and the registry keeps lastSeen). */
  saveAll(): void {
    for (const d of this.devices.values()) this.save(d);
  }

  /**
   * Devices the registry has seen, from the later of their `lastSeen` and the saved state. A device never
   * seen is not watched until it first speaks (it may not be installed yet).
   */
  restore(): void {
    const saved = new Map(savedEntries(this.ctx.state.initial, KEY));
    for (const dev of this.ctx.devices()) {
      const s = saved.get(dev.id);
      const last = Math.max(dev.lastSeen ?? -Infinity, asNumber(s?.last) ?? -Infinity);
      if (last === -Infinity) continue;
      // The registry's view of where the device is now wins over the saved one (it may have moved zone).
      const src: Source = { id: dev.id, site: dev.site, device: dev.id, kind: dev.kind, zone: dev.zone };
      const d: DeviceState = { src, last, offline: asNumber(s?.offline), holding: s?.holding === true };
      this.devices.set(dev.id, d);
      if (!d.holding) this.arm(d);
    }
  }
}
