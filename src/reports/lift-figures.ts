/**
 * Per lift: availability (online and in mode `normal`), trips from the cumulative `trips` counter, and the
 * `passenger_trapped` events. Counters are summed in InfluxDB with `non_negative_difference`, so a counter that goes
 * back (controller replaced, counter reset) restarts from its new value and one row per lift comes back.
 */
import { quoteString, type InfluxQuery } from '../storage/influx/query.js';
import type { StateStore } from '../storage/state/store.js';
import { spanOf, statusReader, type SiteDevice } from './availability.js';
import { pct, type LiftFigure, type LiftFigures, type ReportWindow } from './model.js';
import { byDevice, counterIncreaseQuery, numOr0, type Row } from './influx-rows.js';
import { allOnMs, type Step } from './timeline.js';

/** How far before a period the last `mode` is looked for: a lift silent longer starts the period in no known mode. */
const MODE_LOOKBACK_MS = 31 * 86_400_000;

/** The lift's mode as on/off steps (on: `normal`), in time order: the last before the period, then one per minute read. */
export function modeSteps(before: Row | undefined, minutes: Row[]): Step[] {
  const steps: Step[] = [];
  // Without GROUP BY time, InfluxDB dates the aggregate at the query's lower bound; only the value counts here.
  if (before && typeof before.mode === 'string') steps.push({ at: -Infinity, on: before.mode === 'normal' });
  for (const r of [...minutes].sort((a, b) => Number(a.time) - Number(b.time))) {
    if (typeof r.mode === 'string') steps.push({ at: Number(r.time), on: r.mode === 'normal' });
  }
  return steps;
}

/** What InfluxDB holds for the site's lifts over the window, each by device. */
interface LiftRows {
  minutes: Map<string, Row[]>;
  before: Map<string, Row[]>;
  trips: Map<string, Row[]>;
  trapped: Map<string, Row[]>;
}

/** Four bounded queries for all lifts of the site: the mode per minute, the mode before, the trips, the trapped events. */
async function liftRows(influx: InfluxQuery, w: ReportWindow, end: number): Promise<LiftRows> {
  const site = quoteString(w.site);
  const rows = await Promise.all([
    // The mode is text, so it cannot be averaged: the last one read in each minute stands for that minute.
    influx.query(
      `SELECT last("mode") AS "mode" FROM "lift" WHERE "site" = ${site} AND time >= ${w.from}ms AND time < ${end}ms ` +
        `GROUP BY time(1m), "device" fill(none)`,
    ),
    // Looking back a bounded stretch, as for energy: an open-ended `time < from` reads every shard of the site's history.
    influx.query(
      `SELECT last("mode") AS "mode" FROM "lift" WHERE "site" = ${site} AND time < ${w.from}ms ` +
        `AND time >= ${w.from - MODE_LOOKBACK_MS}ms GROUP BY "device"`,
    ),
    influx.query(counterIncreaseQuery('lift', ['trips'], w.site, w.from, w.to)),
    influx.query(
      `SELECT "count" FROM "events" WHERE "site" = ${site} AND "kind" = 'lift' AND "type" = 'passenger_trapped' ` +
        `AND time >= ${w.from}ms AND time < ${w.to}ms GROUP BY "device"`,
    ),
  ]);
  const [minutes, before, trips, trapped] = rows.map(byDevice);
  return { minutes, before, trips, trapped };
}

/** Per lift over its span (as for availability): available while online and in mode `normal`; trips; trapped events. */
export async function liftFigures(influx: InfluxQuery, store: StateStore, devices: SiteDevice[], w: ReportWindow): Promise<LiftFigures> {
  const lifts = devices.filter((d) => d.kind === 'lift');
  const end = Math.min(w.to, w.now);
  if (lifts.length === 0 || end <= w.from) return { availabilityPct: null, devices: [] };
  const rows = await liftRows(influx, w, end);
  const status = statusReader(store);
  let availableMs = 0;
  let spanMs = 0;
  const figures: LiftFigure[] = [];
  for (const lift of lifts) {
    const { start, end: stop } = spanOf(lift, w);
    if (start >= stop) continue;
    const mode = modeSteps(rows.before.get(lift.id)?.[0], rows.minutes.get(lift.id) ?? []);
    const available = allOnMs(start, stop, [status(lift.id, start, stop), mode]);
    availableMs += available;
    spanMs += stop - start;
    const times = (rows.trapped.get(lift.id) ?? []).map((r) => Number(r.time)).sort((a, b) => a - b);
    figures.push({
      device: lift.id,
      zone: lift.zone,
      availabilityPct: pct(available, stop - start) ?? 0,
      trips: numOr0(rows.trips.get(lift.id)?.[0]?.trips),
      trapped: times.length,
      trappedAt: times.map((t) => new Date(t).toISOString()),
    });
  }
  return { availabilityPct: pct(availableMs, spanMs), devices: figures };
}
