/** Helpers the conditions share: comparisons, `where` filters, sources, per-source timers, state guards. */
import type { Cancel, Clock } from '../clock.js';
import type { Scalar } from '../schema.js';
import type { Origin, Source } from './types.js';

/** A reading as a number: booleans count as 1 and 0 (`occupied above 0`). */
export function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

/** Strictly beyond: a value exactly at the level is neither above nor below it. */
export function beyond(dir: 'above' | 'below', value: number | undefined, level: number): boolean {
  if (value === undefined) return false;
  return dir === 'above' ? value > level : value < level;
}

/** True when every `where` field has the given value among the device's latest values. */
export function fieldsMatch(where: Record<string, Scalar> | undefined, values: Record<string, unknown>): boolean {
  if (!where) return true;
  for (const key in where) if (values[key] !== where[key]) return false;
  return true;
}

/** True when every `where` detail of an event has one of the allowed values. */
export function detailsMatch(where: Record<string, Scalar[]> | undefined, details: Record<string, unknown>): boolean {
  if (!where) return true;
  for (const key in where) if (!where[key].includes(details[key] as Scalar)) return false;
  return true;
}

export function deviceSource(o: Origin): Source {
  return { id: o.device, site: o.site, device: o.device, kind: o.kind, zone: o.zone };
}

/** A zone-level source (contract §4: the zone is the source of a zone-level alarm). */
export function zoneSource(o: Origin): Source {
  return { id: o.zone, site: o.site, kind: o.kind, zone: o.zone };
}

/** Zones are named per site, so a zone's key carries its site. */
export const zoneKey = (o: { site: string; zone: string }) => `${o.site}/${o.zone}`;

/** One timer per key; setting a key again replaces its timer. */
export class Timers {
  private readonly cancels = new Map<string, Cancel>();

  constructor(private readonly clock: Clock) {}

  set(key: string, due: number, fn: () => void): void {
    this.cancel(key);
    this.cancels.set(
      key,
      this.clock.at(due, () => {
        this.cancels.delete(key);
        fn();
      }),
    );
  }

  has(key: string): boolean {
    return this.cancels.has(key);
  }

  cancel(key: string): void {
    const cancel = this.cancels.get(key);
    if (!cancel) return;
    this.cancels.delete(key);
    cancel();
  }

  clear(): void {
    for (const cancel of this.cancels.values()) cancel();
    this.cancels.clear();
  }
}

// Saved state comes back from a store as plain JSON: read it defensively and drop what does not fit.

export function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function asScalar(v: unknown): Scalar | undefined {
  return typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : undefined;
}

export function asSource(v: unknown): Source | undefined {
  const r = asRecord(v);
  if (!r || typeof r.id !== 'string' || typeof r.site !== 'string') return undefined;
  const text = (x: unknown) => (typeof x === 'string' ? x : undefined);
  return { id: r.id, site: r.site, device: text(r.device), kind: text(r.kind), zone: text(r.zone) };
}

/** The saved entries whose key starts with `prefix`, as records. */
export function* savedEntries(initial: ReadonlyMap<string, unknown>, prefix: string): Generator<[string, Record<string, unknown>]> {
  for (const [key, value] of initial) {
    const r = asRecord(value);
    if (key.startsWith(prefix) && r) yield [key.slice(prefix.length), r];
  }
}

/**
 * Whether a large saved state (a forecast's window, a baseline) is due to be written again: `everyMs` since the
 * last write and 10 readings since, or 72 × `everyMs` whatever the readings. A device reporting every hour does
 * not rewrite kilobytes at every reading (a crash loses at most a few of its readings); a stop writes whatever
 * is left (the conditions' detach).
 */
export function dueForSave(unsaved: number, savedAt: number, now: number, everyMs: number): boolean {
  if (unsaved === 0 || now - savedAt < everyMs) return false;
  return unsaved >= 10 || now - savedAt >= 72 * everyMs;
}
