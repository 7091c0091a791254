/**
 * `{ all: [...], within, per: zone, distinct? }`: correlation per zone. Each part is satisfied by a device
 * while its threshold holds and for `within` after, or for `within` after its event; the zone holds while
 * every part has a satisfying device (different devices with `distinct`), so all of them happened within
 * `within` of each other. Stops holding when a satisfaction it needed runs out.
 */
import type { AllWhen, Scalar, SubWhen } from '../schema.js';
import { asNumber, asSource, beyond, detailsMatch, fieldsMatch, numeric, savedEntries, Timers, zoneKey, zoneSource } from './common.js';
import type { Condition, ConditionContext, EventMessage, OnChange, Source, TelemetryMessage } from './types.js';

export { AllSchema as schema } from '../schema.js';

/** A device satisfying a part since `start`, until `end` (undefined while a threshold still holds). */
interface Sat {
  start: number;
  end?: number;
}

interface Zone {
  src: Source;
  /** Per part, the devices satisfying it. */
  sats: Array<Map<string, Sat>>;
  holding: boolean;
}

const KEY = 'z:';

export const all: Condition<AllWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new All(ctx, when, onChange);
    run.restore();
    const thresholds = when.all.filter((s) => s.form === 'threshold');
    const fields = thresholds.flatMap((s) => [s.telemetry, ...Object.keys(s.where ?? {})]);
    const types = when.all.flatMap((s) => (s.form === 'event' ? [s.event] : []));
    const unsubscribe = ctx.subscribe({
      telemetry: fields.length > 0 ? { fields, on: (m) => run.telemetry(m) } : undefined,
      events: types.length > 0 ? { types, on: (m) => run.event(m) } : undefined,
    });
    return () => {
      unsubscribe();
      run.timers.clear();
    };
  },
};

class All {
  readonly timers: Timers;
  private readonly zones = new Map<string, Zone>();
  /** Latest telemetry values per device, for the threshold parts and their `where`. */
  private readonly values = new Map<string, Record<string, unknown>>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: AllWhen,
    private readonly onChange: OnChange,
  ) {
    this.timers = new Timers(ctx.clock);
  }

  telemetry(m: TelemetryMessage): void {
    const values = this.values.get(m.device) ?? {};
    Object.assign(values, m.fields);
    this.values.set(m.device, values);
    const zone = this.zone(m);
    const now = this.ctx.clock.now();
    let changed = false;
    this.when.all.forEach((part, i) => {
      if (part.form !== 'threshold') return;
      const out = fieldsMatch(part.where, values) && beyond(part.dir, numeric(values[part.telemetry]), part.level);
      const sat = zone.sats[i].get(m.device);
      if (out && (!sat || sat.end !== undefined)) zone.sats[i].set(m.device, { start: now });
      else if (!out && sat && sat.end === undefined) sat.end = now;
      else return;
      changed = true;
    });
    if (changed) this.evaluate(zone, m.device, m.fields[this.firstField(m)]);
  }

  event(m: EventMessage): void {
    const zone = this.zone(m);
    const now = this.ctx.clock.now();
    let changed = false;
    this.when.all.forEach((part, i) => {
      if (part.form !== 'event' || part.event !== m.type || !detailsMatch(part.where, m.details)) return;
      zone.sats[i].set(m.device, { start: now, end: now });
      changed = true;
    });
    if (changed) this.evaluate(zone, m.device, undefined);
  }

  private firstField(m: TelemetryMessage): string {
    const part = this.when.all.find((p): p is Extract<SubWhen, { form: 'threshold' }> => p.form === 'threshold' && p.telemetry in m.fields);
    return part?.telemetry ?? '';
  }

  private zone(o: { site: string; zone: string; kind: string; device: string }): Zone {
    const key = zoneKey(o);
    let z = this.zones.get(key);
    if (!z) {
      z = { src: zoneSource(o as Parameters<typeof zoneSource>[0]), sats: this.when.all.map(() => new Map()), holding: false };
      this.zones.set(key, z);
    }
    return z;
  }

  /** Drops what ran out, decides whether the zone holds, and wakes again when the next satisfaction runs out. */
  private evaluate(z: Zone, trigger: string | undefined, value: Scalar | undefined): void {
    const now = this.ctx.clock.now();
    let next = Infinity;
    for (const part of z.sats) {
      for (const [device, sat] of part) {
        const until = sat.end === undefined ? Infinity : sat.end + this.when.withinMs;
        if (until <= now) part.delete(device);
        else next = Math.min(next, until);
      }
    }
    const holds = assign(z.sats, 0, this.when.distinct ? new Set() : undefined);
    const key = zoneKey({ site: z.src.site, zone: z.src.id });
    if (next < Infinity) this.timers.set(key, next, () => this.evaluate(z, undefined, undefined));
    else this.timers.cancel(key);
    if (holds !== z.holding) {
      z.holding = holds;
      this.onChange({ holds, source: z.src, at: now, value, trigger });
    }
    this.save(key, z);
  }

  private save(key: string, z: Zone): void {
    const empty = !z.holding && z.sats.every((p) => p.size === 0);
    const sats = z.sats.map((p) => [...p].map(([device, s]) => [device, s.start, s.end ?? null]));
    this.ctx.state.set(KEY + key, empty ? undefined : { src: z.src, sats, holding: z.holding });
  }

  /** Recent satisfactions and holding flags saved before; what ran out meanwhile is dropped at once. */
  restore(): void {
    for (const [key, s] of savedEntries(this.ctx.state.initial, KEY)) {
      const src = asSource(s.src);
      if (!src || !Array.isArray(s.sats)) continue;
      const sats = this.when.all.map((_, i) => readSats((s.sats as unknown[])[i]));
      const z: Zone = { src, sats, holding: s.holding === true };
      this.zones.set(key, z);
      this.timers.set(key, this.ctx.clock.now(), () => this.evaluate(z, undefined, undefined));
    }
  }
}

/** True when parts i.. can each be given a device (a different one per part when `used` is a set). */
function assign(sats: Array<Map<string, Sat>>, i: number, used: Set<string> | undefined): boolean {
  if (i === sats.length) return true;
  for (const device of sats[i].keys()) {
    if (used?.has(device)) continue;
    used?.add(device);
    const ok = assign(sats, i + 1, used);
    used?.delete(device);
    if (ok) return true;
  }
  return false;
}

function readSats(v: unknown): Map<string, Sat> {
  const out = new Map<string, Sat>();
  if (!Array.isArray(v)) return out;
  for (const e of v) {
    if (!Array.isArray(e) || typeof e[0] !== 'string') continue;
    const start = asNumber(e[1]);
    if (start !== undefined) out.set(e[0], { start, end: asNumber(e[2]) });
  }
  return out;
}
