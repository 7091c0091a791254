import { wallClock } from '../shared/wall-clock.js';

/**
 * Telemetry summaries for headquarters (issue 6), computed in memory from `telemetryAccepted`: per site, kind
 * and zone, the messages, the devices reporting and min/mean/max of each numeric field. Memory grows with
 * site × kind × zone × field (and the ids of the devices reporting), never with the number of messages.
 */

/** One numeric field over a window; `count` is how many messages carried it (fields are optional). */
export interface FieldSummary {
  count: number;
  min: number;
  mean: number;
  max: number;
}

export interface ZoneSummary {
  zone: string;
  /** Telemetry messages accepted from the zone's devices of this kind. */
  messages: number;
  /** Distinct devices that sent at least one. */
  devices: number;
  fields: Record<string, FieldSummary>;
}

/** What goes to `{base}/{site}/summaries/{kind}/{hour}`: one kind of one site over one window. */
export interface KindSummary {
  site: string;
  kind: string;
  /** The window, ISO-8601 in the gateway's time zone (with its offset). */
  from: string;
  to: string;
  timeZone: string;
  /** Set when the gateway was not running for the whole window (it started or stopped inside it). */
  partial?: true;
  zones: ZoneSummary[];
}

interface FieldAcc {
  count: number;
  min: number;
  max: number;
  sum: number;
}

interface ZoneAcc {
  site: string;
  kind: string;
  zone: string;
  messages: number;
  devices: Set<string>;
  fields: Map<string, FieldAcc>;
}

/** The running window: `add()` per message, `drain()` at its end. */
export class SummaryWindow {
  private readonly zones = new Map<string, ZoneAcc>();

  /** Counts one accepted telemetry message; booleans and enum texts are not summarised (only numeric fields are). */
  add(site: string, kind: string, zone: string, device: string, fields: Readonly<Record<string, number | boolean | string>>): void {
    const key = `${site}\u0000${kind}\u0000${zone}`;
    let acc = this.zones.get(key);
    if (!acc) {
      acc = { site, kind, zone, messages: 0, devices: new Set(), fields: new Map() };
      this.zones.set(key, acc);
    }
    acc.messages++;
    acc.devices.add(device);
    for (const name in fields) {
      const v = fields[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const f = acc.fields.get(name);
      if (!f) acc.fields.set(name, { count: 1, min: v, max: v, sum: v });
      else {
        f.count++;
        f.sum += v;
        if (v < f.min) f.min = v;
        if (v > f.max) f.max = v;
      }
    }
  }

  /** True when nothing was added since the last drain. */
  get empty(): boolean {
    return this.zones.size === 0;
  }

  /** The window's summaries, one per site and kind (zones and fields sorted by name); empties the window. */
  drain(from: number, to: number, timeZone: string, partial: boolean): KindSummary[] {
    const byKind = new Map<string, KindSummary>();
    const accs = [...this.zones.values()].sort((a, b) => compare(a.site, b.site) || compare(a.kind, b.kind) || compare(a.zone, b.zone));
    this.zones.clear();
    for (const acc of accs) {
      const key = `${acc.site}\u0000${acc.kind}`;
      let s = byKind.get(key);
      if (!s) {
        s = { site: acc.site, kind: acc.kind, from: localIso(from, timeZone), to: localIso(to, timeZone), timeZone, zones: [] };
        if (partial) s.partial = true;
        byKind.set(key, s);
      }
      const fields: Record<string, FieldSummary> = {};
      for (const name of [...acc.fields.keys()].sort(compare)) {
        const f = acc.fields.get(name) as FieldAcc;
        fields[name] = { count: f.count, min: f.min, mean: f.sum / f.count, max: f.max };
      }
      s.zones.push({ zone: acc.zone, messages: acc.messages, devices: acc.devices.size, fields });
    }
    return [...byKind.values()];
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Milliseconds `timeZone` is ahead of UTC at the instant `ts` (to the second, as time zones are). */
export function zoneOffsetMs(ts: number, timeZone: string): number {
  const p = wallClock(ts, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(ts / 1000) * 1000;
}

/**
 * The first window boundary after `now`: windows of `intervalMs` aligned on local midnight in `timeZone`,
 * so hourly windows start on the local hour also where the offset is not whole hours (+05:30, +05:45).
 */
export function nextBoundary(now: number, intervalMs: number, timeZone: string): number {
  const at = (offset: number) => Math.floor((now + offset) / intervalMs) * intervalMs + intervalMs - offset;
  let next = at(zoneOffsetMs(now, timeZone));
  // Across a daylight-saving change the boundary's own offset is the one that counts.
  const offsetThere = zoneOffsetMs(next, timeZone);
  if (offsetThere !== zoneOffsetMs(now, timeZone)) next = at(offsetThere);
  return next > now ? next : next + intervalMs;
}

/** `2025-11-27T10:00:00+08:00`: an instant as local time in `timeZone` with its offset. */
export function localIso(ts: number, timeZone: string): string {
  const offset = zoneOffsetMs(ts, timeZone);
  const local = new Date(ts + offset).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const abs = Math.abs(offset) / 60_000;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${offset < 0 ? '-' : '+'}${hh}:${mm}`;
}

/** The window's start as it appears in the topic: UTC, to the second (`2025-11-27T02:00:00Z`). */
export function topicHour(ts: number): string {
  return `${new Date(ts).toISOString().slice(0, 19)}Z`;
}
