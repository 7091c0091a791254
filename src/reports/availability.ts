import type { StateStore } from '../storage/state/store.js';
import { compare, pct, type AvailabilityFigures, type ReportWindow } from './model.js';
import { allOnMs, type Step } from './timeline.js';

/** A registered device as the report needs it. */
export interface SiteDevice {
  id: string;
  kind: string;
  zone: string;
  tags: Record<string, string>;
  /** Epoch ms of its registration. */
  createdAt: number;
}

/** The devices registered on `site` now, by id. */
export function siteDevices(store: StateStore, site: string): SiteDevice[] {
  const rows = store.db.prepare('SELECT id, kind, zone, tags, created_at FROM devices WHERE site = ? ORDER BY id').all(site) as Array<{
    id: string;
    kind: string;
    zone: string;
    tags: string;
    created_at: number;
  }>;
  return rows.map((r) => ({ id: r.id, kind: r.kind, zone: r.zone, tags: JSON.parse(r.tags) as Record<string, string>, createdAt: r.created_at }));
}

interface Uptime {
  device: SiteDevice;
  onlineMs: number;
  spanMs: number;
}

/** A device's span in the window: from the later of `from` and its registration to the earlier of `to` and now. */
export function spanOf(device: SiteDevice, w: ReportWindow): { start: number; end: number } {
  return { start: Math.max(w.from, device.createdAt), end: Math.min(w.to, w.now) };
}

/**
 * Reads a device's online/offline steps over [start, end) from `device_status_log`: the state at `start` (that of the
 * last entry at or before it; none: offline) and every change after it. The statements are prepared once per report.
 */
export function statusReader(store: StateStore): (device: string, start: number, end: number) => Step[] {
  const before = store.db.prepare('SELECT online FROM device_status_log WHERE device = ? AND at <= ? ORDER BY at DESC, rowid DESC LIMIT 1');
  const during = store.db.prepare('SELECT at, online FROM device_status_log WHERE device = ? AND at > ? AND at < ? ORDER BY at, rowid');
  return (device, start, end) => {
    const first = before.get(device, start) as { online: number } | undefined;
    const changes = during.all(device, start, end) as Array<{ at: number; online: number }>;
    return [{ at: start, on: first?.online === 1 }, ...changes.map((e) => ({ at: e.at, on: e.online === 1 }))];
  };
}

/**
 * Per device, the share of its span that it was online, from `device_status_log`. A device whose span is empty
 * (registered after it, or a period not begun) is left out. A kind's and the site's figure is total online time /
 * total span.
 */
export function availabilityFigures(store: StateStore, devices: SiteDevice[], w: ReportWindow): AvailabilityFigures {
  const steps = statusReader(store);
  const uptimes: Uptime[] = [];
  for (const device of devices) {
    const { start, end } = spanOf(device, w);
    if (start >= end) continue;
    uptimes.push({ device, onlineMs: allOnMs(start, end, [steps(device.id, start, end)]), spanMs: end - start });
  }
  const kinds = new Map<string, { devices: number; onlineMs: number; spanMs: number }>();
  let onlineMs = 0;
  let spanMs = 0;
  for (const u of uptimes) {
    const k = kinds.get(u.device.kind) ?? { devices: 0, onlineMs: 0, spanMs: 0 };
    k.devices += 1;
    k.onlineMs += u.onlineMs;
    k.spanMs += u.spanMs;
    kinds.set(u.device.kind, k);
    onlineMs += u.onlineMs;
    spanMs += u.spanMs;
  }
  return {
    pct: pct(onlineMs, spanMs),
    byKind: [...kinds]
      .sort(([a], [b]) => compare(a, b))
      .map(([kind, k]) => ({ kind, devices: k.devices, pct: pct(k.onlineMs, k.spanMs) ?? 0 })),
    devices: uptimes
      .sort((a, b) => a.onlineMs / a.spanMs - b.onlineMs / b.spanMs || compare(a.device.id, b.device.id))
      .map((u) => ({ device: u.device.id, kind: u.device.kind, zone: u.device.zone, pct: pct(u.onlineMs, u.spanMs) ?? 0 })),
  };
}
