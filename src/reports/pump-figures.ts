/**
 * Per water device: pump run-hours and starts from the cumulative `runHours` and `starts` counters, and its
 * `dry_run` and `pump_fault` events.
 */
import { quoteString, type InfluxQuery } from '../storage/influx/query.js';
import type { SiteDevice } from './availability.js';
import { byDevice, counterIncreaseQuery, numOr0, type Row } from './influx-rows.js';
import { roundTo, type PumpFigures, type ReportWindow } from './model.js';

/** Two queries for all water devices of the site: the counters' increase and the event counts, one row each per device. */
export async function pumpFigures(influx: InfluxQuery, devices: SiteDevice[], w: ReportWindow): Promise<PumpFigures> {
  const pumps = devices.filter((d) => d.kind === 'water');
  if (pumps.length === 0) return { devices: [] };
  const [counters, events] = await Promise.all([
    influx.query(counterIncreaseQuery('water', ['runHours', 'starts'], w.site, w.from, w.to)),
    influx.query(
      `SELECT sum("count") AS "count" FROM "events" WHERE "site" = ${quoteString(w.site)} AND "kind" = 'water' ` +
        `AND ("type" = 'dry_run' OR "type" = 'pump_fault') AND time >= ${w.from}ms AND time < ${w.to}ms GROUP BY "device", "type"`,
    ),
  ]);
  const countersOf = byDevice(counters);
  const eventsOf = byDevice(events);
  return {
    devices: pumps.map((p) => {
      const c = countersOf.get(p.id)?.[0];
      const count = (type: 'dry_run' | 'pump_fault') => numOr0(eventsOf.get(p.id)?.find((r: Row) => r.type === type)?.count);
      return {
        device: p.id,
        zone: p.zone,
        runHours: roundTo(numOr0(c?.runHours), 1),
        starts: numOr0(c?.starts),
        dryRuns: count('dry_run'),
        pumpFaults: count('pump_fault'),
      };
    }),
  };
}
