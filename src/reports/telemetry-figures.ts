/**
 * The report's figures from InfluxDB (contract §7 layout): energy per building and local day, parking
 * occupancy and access events per local hour. Buckets are cut in the gateway's zone with `tz()`, so a day
 * is a local day (23 or 25 hours on a DST change) and an hour a local hour.
 */
import { quoteString, type InfluxQuery } from '../storage/influx/query.js';
import type { SiteDevice } from './availability.js';
import { compare, HOURS, roundTo, type AccessFigures, type EnergyFigures, type ParkingFigures, type ReportWindow } from './model.js';
import { localDate, localHour } from './period.js';

type Row = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** `time >= from AND time < to`, in ms. */
const between = (w: ReportWindow) => `time >= ${w.from}ms AND time < ${w.to}ms`;

/** The building of an energy meter: its `building` tag, else its zone up to the first `-` (`b2-f3` → `b2`). */
export function buildingOf(zone: string, tags: Record<string, string> | undefined): string {
  return tags?.building || zone.split('-')[0];
}

/** How far before a period the last register reading is looked for: a meter silent longer counts as new. */
const ENERGY_LOOKBACK_MS = 31 * 86_400_000;

/**
 * Energy per building and local day from the cumulative `energyKwh` register: a meter's consumption on a
 * day is its last reading of the day minus its last reading before (the day's first reading when it has
 * none in the 31 days before the period); a negative difference (register reset, meter replaced) counts 0. A day on which none of a
 * building's meters sent a reading has no row: what was used then is counted on the next day with one.
 */
export async function energyFigures(influx: InfluxQuery, timeZone: string, devices: SiteDevice[], w: ReportWindow): Promise<EnergyFigures> {
  const site = quoteString(w.site);
  const [days, before] = await Promise.all([
    influx.query(
      `SELECT first("energyKwh") AS "first", last("energyKwh") AS "last" FROM "energy" WHERE "site" = ${site} AND ${between(w)} ` +
        `GROUP BY time(1d), "device", "zone" fill(none) tz(${quoteString(timeZone)})`,
    ),
    // Looking back a bounded stretch: an open-ended `time < from` reads every shard of the site's history.
    influx.query(
      `SELECT last("energyKwh") AS "last" FROM "energy" WHERE "site" = ${site} AND time < ${w.from}ms ` +
        `AND time >= ${w.from - ENERGY_LOOKBACK_MS}ms GROUP BY "device", "zone"`,
    ),
  ]);
  const meterKey = (r: Row) => `${String(r.device)}\u0000${String(r.zone)}`;
  const previous = new Map<string, number>();
  for (const r of before) {
    const last = num(r.last);
    if (last !== undefined) previous.set(meterKey(r), last);
  }
  const tagsOf = new Map(devices.map((d) => [d.id, d.tags]));
  const kwh = new Map<string, { building: string; date: string; kwh: number }>();
  const ordered = [...days].sort((a, b) => compare(meterKey(a), meterKey(b)) || Number(a.time) - Number(b.time));
  for (const r of ordered) {
    const first = num(r.first);
    const last = num(r.last);
    if (first === undefined || last === undefined) continue;
    const key = meterKey(r);
    const used = Math.max(0, last - (previous.get(key) ?? first));
    previous.set(key, last);
    const building = buildingOf(String(r.zone ?? ''), tagsOf.get(String(r.device)));
    const date = localDate(Number(r.time), timeZone);
    const cell = kwh.get(`${building}\u0000${date}`) ?? { building, date, kwh: 0 };
    cell.kwh += used;
    kwh.set(`${building}\u0000${date}`, cell);
  }
  const cells = [...kwh.values()].sort((a, b) => compare(a.building, b.building) || compare(a.date, b.date));
  const total = cells.reduce((sum, c) => sum + c.kwh, 0);
  return { totalKwh: roundTo(total, 3), byBuildingDay: cells.map((c) => ({ ...c, kwh: roundTo(c.kwh, 3) })) };
}

/**
 * Parking occupancy by local hour from the lot counters: per hour bucket, 100 × Σ(mean capacity − mean
 * freeSpaces) / Σ mean capacity over the lots that sent both in it (occupied kept within 0..capacity), then
 * the mean of those buckets per hour of the day; null for an hour without any.
 */
export async function parkingFigures(influx: InfluxQuery, timeZone: string, w: ReportWindow): Promise<ParkingFigures> {
  const rows = await influx.query(
    `SELECT mean("capacity") AS "capacity", mean("freeSpaces") AS "freeSpaces" FROM "parking" WHERE "site" = ${quoteString(w.site)} ` +
      `AND ${between(w)} GROUP BY time(1h), "device" fill(none) tz(${quoteString(timeZone)})`,
  );
  const buckets = new Map<number, { occupied: number; capacity: number }>();
  for (const r of rows) {
    const capacity = num(r.capacity);
    const free = num(r.freeSpaces);
    if (capacity === undefined || free === undefined || capacity <= 0) continue;
    const b = buckets.get(Number(r.time)) ?? { occupied: 0, capacity: 0 };
    b.occupied += Math.min(capacity, Math.max(0, capacity - free));
    b.capacity += capacity;
    buckets.set(Number(r.time), b);
  }
  const byHour = HOURS.map(() => [] as number[]);
  for (const [time, b] of buckets) byHour[localHour(time, timeZone)].push((100 * b.occupied) / b.capacity);
  return {
    byHour: byHour.map((pcts, hour) => ({
      hour,
      occupancyPct: pcts.length === 0 ? null : roundTo(pcts.reduce((a, c) => a + c, 0) / pcts.length, 1),
    })),
  };
}

/** `access_granted` and `access_denied` events (field `count`) per local hour of the day, summed over the period. */
export async function accessFigures(influx: InfluxQuery, timeZone: string, w: ReportWindow): Promise<AccessFigures> {
  const rows = await influx.query(
    `SELECT sum("count") AS "count" FROM "events" WHERE "site" = ${quoteString(w.site)} AND "kind" = 'access' ` +
      `AND ("type" = 'access_granted' OR "type" = 'access_denied') AND ${between(w)} ` +
      `GROUP BY time(1h), "type" fill(none) tz(${quoteString(timeZone)})`,
  );
  const byHour = HOURS.map((hour) => ({ hour, granted: 0, denied: 0 }));
  for (const r of rows) {
    const count = num(r.count) ?? 0;
    const h = byHour[localHour(Number(r.time), timeZone)];
    if (r.type === 'access_granted') h.granted += count;
    else h.denied += count;
  }
  return {
    granted: byHour.reduce((a, h) => a + h.granted, 0),
    denied: byHour.reduce((a, h) => a + h.denied, 0),
    byHour,
  };
}
