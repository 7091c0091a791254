import { GatewayError } from '../errors.js';
import type { SitePlaces } from '../shared/language.js';
import type { InfluxQuery } from '../storage/influx/query.js';
import type { StateStore } from '../storage/state/store.js';
import { alarmFigures } from './alarm-figures.js';
import type { EnergyService } from '../energy/service.js';
import { alarmHealthFigures } from './alarm-health-figures.js';
import { energyUseFigures } from './energy-use-figures.js';
import { availabilityFigures, siteDevices } from './availability.js';
import { lifeSafetyFigures } from './life-safety-figures.js';
import { liftFigures } from './lift-figures.js';
import type { ReportWindow, ServiceReport } from './model.js';
import { patrolFigures } from './patrol-figures.js';
import { addDays, currentPeriodStart, periodRange, startOfLocalDay, type Period } from './period.js';
import { pumpFigures } from './pump-figures.js';
import { accessFigures, energyFigures, parkingFigures } from './telemetry-figures.js';
import { workOrderFigures } from './work-order-figures.js';

export interface ServiceReportsDeps {
  /** Alarms, work orders, devices and their status log. */
  store: StateStore;
  /** Energy, parking, access, patrol scans, lift and pump telemetry and events. */
  influx: InfluxQuery;
  /** The gateway's zone (TZ): periods, days and hours are local to it, unless the site's file gives its own. */
  timeZone: string;
  /** The site files: a site's `timezone` decides its report's days and hours (contract §12). */
  places?: Pick<SitePlaces, 'timeZone'>;
  /** Energy and water use per building (contract §13); absent: the report's `energyUse` lists none. */
  energy?: EnergyService;
  /** Epoch ms; the wall clock unless a test gives another. */
  now?: () => number;
}

/** Service reports of a site over a day, week or month (docs/reports.md). */
export class ServiceReports {
  constructor(private readonly deps: ServiceReportsDeps) {}

  /** The sites that have devices registered, by name. */
  sites(): string[] {
    const rows = this.deps.store.db.prepare('SELECT DISTINCT site FROM devices ORDER BY site').all() as Array<{ site: string }>;
    return rows.map((r) => r.site);
  }

  /**
   * The report of `site` over the `period` starting on local date `start` (default: the current one).
   * A bad `start` is a ValidationError naming it; InfluxDB not answering is `storage_unavailable` (503).
   */
  async build(site: string, period: Period, start?: string): Promise<ServiceReport> {
    const { store, influx } = this.deps;
    const timeZone = this.deps.places?.timeZone(site) ?? this.deps.timeZone;
    const now = (this.deps.now ?? Date.now)();
    const range = periodRange(period, start ?? currentPeriodStart(period, now, timeZone), timeZone);
    const w: ReportWindow = { site, from: range.from, to: range.to, now };
    const devices = siteDevices(store, site);
    let fromInflux;
    try {
      fromInflux = await Promise.all([
        energyFigures(influx, timeZone, devices, w),
        parkingFigures(influx, timeZone, w),
        accessFigures(influx, timeZone, w),
        patrolFigures(influx, timeZone, devices, w),
        liftFigures(influx, store, devices, w),
        pumpFigures(influx, devices, w),
        this.deps.energy ? energyUseFigures(this.deps.energy, w, previousStart(period, range.start, range.from, timeZone)) : { energy: [], water: [] },
      ]);
    } catch (err) {
      throw new GatewayError('storage_unavailable', 'the service report is unavailable: InfluxDB did not answer', { cause: err });
    }
    const [energy, parking, access, patrol, lifts, pumps, energyUse] = fromInflux;
    return {
      site,
      period,
      start: range.start,
      from: new Date(range.from).toISOString(),
      to: new Date(range.to).toISOString(),
      timeZone,
      generatedAt: new Date(now).toISOString(),
      alarms: alarmFigures(store, w),
      workOrders: workOrderFigures(store, w),
      energy,
      energyUse,
      parking,
      access,
      availability: availabilityFigures(store, devices, w),
      patrol,
      lifts,
      pumps,
      lifeSafety: lifeSafetyFigures(store, devices, w),
      alarmHealth: alarmHealthFigures(store, timeZone, w),
    };
  }
}

/** The first instant of the period before the one starting on local date `start` (at `from`). */
function previousStart(period: Period, start: string, from: number, timeZone: string): number {
  if (period === 'day') return startOfLocalDay(addDays(start, -1), timeZone);
  if (period === 'week') return startOfLocalDay(addDays(start, -7), timeZone);
  return startOfLocalDay(currentPeriodStart('month', from - 1, timeZone), timeZone);
}
