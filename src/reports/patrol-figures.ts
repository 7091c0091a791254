/**
 * Guard-tour completion per route and night. A night runs 22:00–06:00 local and is named by the date it starts;
 * each checkpoint is due once per round slot (22:00, 22:00 + round, ...), and a scan counts once in its slot, so a
 * checkpoint scanned twice in one round does not make up for a round it was not scanned in.
 */
import { quoteString, type InfluxQuery } from '../storage/influx/query.js';
import type { SiteDevice } from './availability.js';
import { compare, pct, type MissedCheckpoint, type PatrolFigures, type PatrolNight, type ReportWindow } from './model.js';
import { addDays, localDate, startOfLocalDay, startOfLocalHour } from './period.js';

const MINUTE_MS = 60_000;
/** Site practice (rules/patrol.yaml): a round passes every checkpoint every 2 hours. */
export const DEFAULT_ROUND_MINUTES = 120;
/** The route of checkpoints registered without a `route` tag. */
export const SITE_ROUTE = 'site';
const NIGHT_STARTS = 22;
const NIGHT_ENDS = 6;

/** A patrol device as the figures need it. */
export interface Checkpoint {
  device: string;
  zone: string;
  route: string;
  roundMs: number;
  /** Epoch ms of its registration: no round that began before it is due. */
  createdAt: number;
}

/** A night: [from, to) in epoch ms, named by its local start date. */
export interface Night {
  night: string;
  from: number;
  to: number;
}

/** The site's patrol devices, with their route and round from their tags (`route`, `roundMinutes`). */
export function checkpointsOf(devices: SiteDevice[]): Checkpoint[] {
  return devices
    .filter((d) => d.kind === 'patrol')
    .map((d) => ({ device: d.id, zone: d.zone, route: d.tags.route || SITE_ROUTE, roundMs: roundMinutes(d.tags.roundMinutes) * MINUTE_MS, createdAt: d.createdAt }));
}

/** A `roundMinutes` tag as whole minutes above 0; anything else (absent, `abc`, `0`) is the default. */
function roundMinutes(tag: string | undefined): number {
  const n = tag !== undefined && /^\d+$/.test(tag) ? Number(tag) : 0;
  return n > 0 ? n : DEFAULT_ROUND_MINUTES;
}

/** The nights named by the local dates of the window, each 22:00 to 06:00 the next morning (7 or 9 h across a DST change). */
export function nightsOf(w: ReportWindow, timeZone: string): Night[] {
  const nights: Night[] = [];
  for (let date = localDate(w.from, timeZone); startOfLocalDay(date, timeZone) < w.to; date = addDays(date, 1)) {
    nights.push({ night: date, from: startOfLocalHour(date, NIGHT_STARTS, timeZone), to: startOfLocalHour(addDays(date, 1), NIGHT_ENDS, timeZone) });
  }
  return nights;
}

/**
 * The round slots of a checkpoint that are due in a night, 0-based: the whole rounds the night holds (8 h / 2 h = 4;
 * a part round left at the end is not due), less those begun before its registration or not over by `now`.
 */
export function dueSlots(night: Night, c: Checkpoint, now: number): number[] {
  const slots: number[] = [];
  const count = Math.floor((night.to - night.from) / c.roundMs);
  for (let k = 0; k < count; k++) {
    const start = night.from + k * c.roundMs;
    if (start >= c.createdAt && start + c.roundMs <= now) slots.push(k);
  }
  return slots;
}

/** The slot (0-based) a scan at `ts` falls in, or -1 outside the night. */
export function slotOf(night: Night, c: Checkpoint, ts: number): number {
  return ts >= night.from && ts < night.to ? Math.floor((ts - night.from) / c.roundMs) : -1;
}

/**
 * Completion per route and night from each checkpoint's scan times. A route and night with no round due (a night
 * not over, checkpoints registered later) has no row.
 */
export function patrolNights(checkpoints: Checkpoint[], scans: Map<string, number[]>, nights: Night[], now: number): PatrolNight[] {
  const routes = [...new Set(checkpoints.map((c) => c.route))].sort(compare);
  const rows: PatrolNight[] = [];
  for (const route of routes) {
    const members = checkpoints.filter((c) => c.route === route);
    for (const night of nights) {
      const row = routeNight(route, members, scans, night, now);
      if (row.scansDue > 0) rows.push(row);
    }
  }
  return rows;
}

function routeNight(route: string, members: Checkpoint[], scans: Map<string, number[]>, night: Night, now: number): PatrolNight {
  let scansDue = 0;
  let scansMade = 0;
  const missed: MissedCheckpoint[] = [];
  for (const c of members) {
    const due = dueSlots(night, c, now);
    const scanned = new Set((scans.get(c.device) ?? []).map((ts) => slotOf(night, c, ts)));
    const rounds = due.filter((k) => !scanned.has(k)).map((k) => k + 1);
    scansDue += due.length;
    scansMade += due.length - rounds.length;
    if (rounds.length > 0) missed.push({ device: c.device, zone: c.zone, rounds });
  }
  return { route, night: night.night, checkpoints: members.length, scansDue, scansMade, completionPct: pct(scansMade, scansDue), missed };
}

/**
 * The patrol figures: one query for every `checkpoint_scan` of the site from the first night's start to the last
 * night's end (or now), one row per scan.
 */
export async function patrolFigures(influx: InfluxQuery, timeZone: string, devices: SiteDevice[], w: ReportWindow): Promise<PatrolFigures> {
  const checkpoints = checkpointsOf(devices);
  const nights = nightsOf(w, timeZone);
  const from = nights[0]?.from ?? w.from;
  const to = Math.min(nights.at(-1)?.to ?? w.to, w.now);
  const scans = new Map<string, number[]>();
  if (checkpoints.length > 0 && from < to) {
    const rows = await influx.query(
      `SELECT "count" FROM "events" WHERE "site" = ${quoteString(w.site)} AND "kind" = 'patrol' AND "type" = 'checkpoint_scan' ` +
        `AND time >= ${from}ms AND time < ${to}ms GROUP BY "device"`,
    );
    for (const r of rows) {
      const list = scans.get(String(r.device)) ?? [];
      list.push(Number(r.time));
      scans.set(String(r.device), list);
    }
  }
  const rows = patrolNights(checkpoints, scans, nights, w.now);
  const scansDue = rows.reduce((a, r) => a + r.scansDue, 0);
  const scansMade = rows.reduce((a, r) => a + r.scansMade, 0);
  return { scansDue, scansMade, completionPct: pct(scansMade, scansDue), nights: rows };
}
