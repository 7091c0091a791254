/**
 * The energy and water use of a site (contract §13): reads the devices' register and power readings from InfluxDB
 * a batch of devices at a time, works out each device's figures (compute.ts), adds them up by site, building, zone
 * or device (group.ts) and puts names on the rows. Rows by device are yielded device by device, so a CSV of a
 * month of a thousand meters is written as it is worked out and never held whole.
 */
import { ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Tariff } from '../sites/tariff.js';
import type { InfluxQuery } from '../storage/influx/query.js';
import { bandTimeline } from './bands.js';
import { intervalStart, intervalsOf, isNightHour, spanIndex, type Interval, type Span } from './calendar.js';
import { deviceFigures, type DeviceFigures, type Frame } from './compute.js';
import { CLOSED_AFTER_MS, DayCache } from './day-cache.js';
import { assemble, hourFrame, splitDays } from './days.js';
import { GroupSum, type Figures } from './group.js';
import { groupsOf, type EnergyDevice, type EnergyGroup, type EnergyPlaces, type GroupBy } from './places.js';
import { ENERGY_KINDS, LOOKBACK_MS, readMeters, type EnergyKind } from './readings.js';

export { ENERGY_KINDS, LOOKBACK_MS, type EnergyKind };

/** One row of `GET /api/energy` (docs/api.md). */
export interface EnergyRow extends Figures {
  key: string;
  name: string;
  names: Record<'zh-CN' | 'en', string>;
  unit: string;
  currency?: string;
  device?: string;
  kind?: EnergyKind;
  zone?: string;
  building?: string;
}

export interface EnergyRequest {
  site: string;
  from: number;
  to: number;
  by: GroupBy;
  interval: Interval;
  kind: EnergyKind;
}

export interface EnergyServiceDeps {
  influx: InfluxQuery;
  /** The registered devices of a site. */
  devices(site: string): readonly EnergyDevice[];
  places: EnergyPlaces;
  /** Every site with devices: the ones whose last two months are worked out at start. */
  sites?(): readonly string[];
  log?: Logger;
  /**
   * Whether readings taken in still wait to be written to InfluxDB (the writer's spool while InfluxDB was away):
   * days are then worked out but not kept, since what InfluxDB answers may still lack them.
   */
  pending?(): boolean;
  /** Epoch ms; the wall clock unless a test gives another. */
  now?: () => number;
}

/** Devices read from InfluxDB per query: bounds the memory one request holds. */
const BATCH = 50;

/** A request made ready: its frame, its groups and the site's tariff. */
export interface EnergyPlan {
  request: EnergyRequest;
  frame: Frame;
  groups: EnergyGroup[];
  tariff?: Tariff;
  /** The local days that make up the range, when it is made of whole days (then day figures are kept). */
  days?: Span[];
}

/** Energy and water use per site, building, zone or device (docs/energy.md). */
export class EnergyService {
  readonly name = 'energy';
  readonly days = new DayCache();
  private stopped = false;
  private warming?: Promise<void>;

  constructor(private readonly deps: EnergyServiceDeps) {}

  /** Works out the current and the previous month of every site's meters in the background. */
  start(): void {
    this.stopped = false;
    this.warming = this.warm();
  }

  /** Stops the warm-up after the batch in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.warming;
  }

  /** A reading was taken in: a kept day it falls in no longer holds (a late reading changes the next step). */
  readingArrived(site: string, kind: string, device: string, ts: number): void {
    if (kind === 'energy' || kind === 'water') this.days.readingArrived(site, kind, device, ts);
  }

  /** When the warm-up in progress (or the last one) is over. */
  warmed(): Promise<void> {
    return this.warming ?? Promise.resolve();
  }

  /** The start of the local month `now` falls in, in the site's time zone: the default `from`. */
  monthStart(site: string, now: number): number {
    return intervalStart(now, '1M', this.deps.places.timeZone(site));
  }

  /** The intervals, groups and tariff of a request; how many rows it answers is `groups × frame.spans`. */
  plan(request: EnergyRequest): EnergyPlan {
    const { places } = this.deps;
    const timeZone = places.timeZone(request.site);
    const spans = intervalsOf(request.from, request.to, request.interval, timeZone);
    const range = { from: spans[0].from, to: spans[spans.length - 1].to };
    const hours = request.interval === '1h' ? spans : intervalsOf(range.from, range.to, '1h', timeZone);
    const tariff = request.kind === 'energy' ? places.tariff(request.site) : undefined;
    const frame: Frame = {
      spans,
      hours,
      nightHour: hours.map((h) => isNightHour(h.from, timeZone)),
      timeline: tariff && bandTimeline(range.from - LOOKBACK_MS, range.to, tariff, timeZone),
      bands: tariff?.energy.length ?? 0,
    };
    const devices = this.deps.devices(request.site).filter((d) => d.kind === request.kind);
    this.days.checkContext(request.site, request.kind, `${timeZone} ${JSON.stringify(tariff ?? null)}`);
    const days = intervalsOf(range.from, range.to, '1d', timeZone);
    const whole = days[0].from === range.from && days[days.length - 1].to === range.to;
    return { request, frame, groups: groupsOf(request.site, request.by, devices, places), tariff, ...(whole && { days }) };
  }

  /** The rows of a plan, ordered by key then interval; yielded group by group. */
  async *rows(plan: EnergyPlan): AsyncGenerator<EnergyRow> {
    const { groups, request } = plan;
    if (request.by === 'device') {
      // One device per group: each is worked out, written and dropped before the next batch is read.
      for (let i = 0; i < groups.length; i += BATCH) {
        const batch = groups.slice(i, i + BATCH);
        const figures = await this.read(plan, batch.flatMap((g) => g.devices));
        for (const g of batch) yield* this.groupRows(plan, g, [figures.get(g.devices[0].id)]);
      }
      return;
    }
    const sums = new Map(groups.map((g) => [g.key, new GroupSum(plan.frame)]));
    const groupOf = new Map(groups.flatMap((g) => g.devices.map((d) => [d.id, g.key] as const)));
    const devices = groups.flatMap((g) => g.devices).sort((a, b) => (a.id < b.id ? -1 : 1));
    const batches: EnergyDevice[][] = [];
    for (let i = 0; i < devices.length; i += BATCH) batches.push(devices.slice(i, i + BATCH));
    // The next batch is asked for while this one is worked out: InfluxDB and the computation overlap.
    let next = batches.length > 0 ? this.read(plan, batches[0]) : undefined;
    for (let i = 0; next; i++) {
      const current = next;
      next = i + 1 < batches.length ? this.read(plan, batches[i + 1]) : undefined;
      // Handled when its turn comes; a failure of this one must not leave the next one's unobserved.
      next?.catch(() => undefined);
      for (const [id, f] of await current) sums.get(groupOf.get(id) ?? '')?.add(f);
    }
    for (const g of groups) yield* this.rowsOf(plan, g, sums.get(g.key) ?? new GroupSum(plan.frame));
  }

  private *groupRows(plan: EnergyPlan, group: EnergyGroup, figures: Array<DeviceFigures | undefined>): Generator<EnergyRow> {
    const sum = new GroupSum(plan.frame);
    for (const f of figures) if (f) sum.add(f);
    yield* this.rowsOf(plan, group, sum);
  }

  private *rowsOf(plan: EnergyPlan, group: EnergyGroup, sum: GroupSum): Generator<EnergyRow> {
    const { kind, interval } = plan.request;
    const power = kind === 'energy';
    const head = { key: group.key, name: group.name, names: group.names, ...group.ids };
    const unit = ENERGY_KINDS[kind].unit;
    for (const f of sum.figures({ power, baseLoad: interval !== '1h', tariff: plan.tariff })) {
      const row: EnergyRow = { ...head, from: f.from, to: f.to, consumption: f.consumption, unit };
      if (f.peakDemandKw !== undefined) row.peakDemandKw = f.peakDemandKw;
      if (f.baseLoadKw !== undefined) row.baseLoadKw = f.baseLoadKw;
      if (f.cost !== undefined && plan.tariff) Object.assign(row, { cost: f.cost, currency: plan.tariff.currency, costBands: f.costBands });
      yield row;
    }
  }

  /**
   * The figures of each device of a batch over the plan's range: from the kept days where it has them, else from
   * one read of the days some device of the batch lacks (the closed ones are kept).
   */
  private async read(plan: EnergyPlan, devices: readonly EnergyDevice[]): Promise<Map<string, DeviceFigures>> {
    const { frame, request, days } = plan;
    const { site, kind } = request;
    if (!days) return this.readDirect(plan, devices);
    const lacking = (d: EnergyDevice) => days.map((day, k) => (this.days.get(site, kind, d.id, day.from) ? -1 : k)).filter((k) => k >= 0);
    const missing = devices.map((d) => ({ d, ks: lacking(d) })).filter((m) => m.ks.length > 0);
    const fresh = new Map<string, DeviceFigures[]>();
    let k0 = 0;
    if (missing.length > 0) {
      k0 = Math.min(...missing.map((m) => m.ks[0]));
      const k1 = Math.max(...missing.map((m) => m.ks[m.ks.length - 1]));
      const span = days.slice(k0, k1 + 1);
      const h0 = spanIndex(frame.hours, span[0].from);
      const h1 = span[span.length - 1].to >= frame.hours[frame.hours.length - 1].to ? frame.hours.length : spanIndex(frame.hours, span[span.length - 1].to);
      const hf = hourFrame(frame, h0, h1);
      const readings = await readMeters(this.deps.influx, site, kind, missing.map((m) => m.d.id), span[0].from, span[span.length - 1].to);
      const now = (this.deps.now ?? Date.now)();
      const keep = !this.deps.pending?.();
      for (const { d } of missing) {
        const r = readings.get(d.id);
        const perDay = splitDays(hf, deviceFigures(hf, r?.register ?? [], r?.power ?? [], r?.previous), span);
        perDay.forEach((f, j) => {
          if (keep && span[j].to + CLOSED_AFTER_MS <= now) this.days.put(site, kind, d.id, span[j].from, span[j].to, f);
        });
        fresh.set(d.id, perDay);
      }
    }
    const out = new Map<string, DeviceFigures>();
    for (const d of devices) {
      const mine = fresh.get(d.id);
      out.set(d.id, assemble(frame, days, days.map((day, k) => mine?.[k - k0] ?? this.days.get(site, kind, d.id, day.from))));
    }
    return out;
  }

  /** The figures of each device of a batch over a range not made of whole days (hours of a day), read afresh. */
  private async readDirect(plan: EnergyPlan, devices: readonly EnergyDevice[]): Promise<Map<string, DeviceFigures>> {
    const { frame, request } = plan;
    const ids = devices.map((d) => d.id);
    const readings = await readMeters(this.deps.influx, request.site, request.kind, ids, frame.spans[0].from, frame.spans[frame.spans.length - 1].to);
    const out = new Map<string, DeviceFigures>();
    for (const id of ids) {
      const r = readings.get(id);
      out.set(id, deviceFigures(frame, r?.register ?? [], r?.power ?? [], r?.previous));
    }
    return out;
  }

  /** The current and previous month of every site's meters, batch by batch, so that the first request is quick. */
  private async warm(): Promise<void> {
    const started = (this.deps.now ?? Date.now)();
    for (const site of this.deps.sites?.() ?? []) {
      for (const kind of Object.keys(ENERGY_KINDS) as EnergyKind[]) {
        const from = intervalStart(this.monthStart(site, started) - 1, '1M', this.deps.places.timeZone(site));
        const plan = this.plan({ site, from, to: started, by: 'device', interval: '1d', kind });
        const devices = plan.groups.flatMap((g) => g.devices);
        for (let i = 0; i < devices.length && !this.stopped; i += BATCH) {
          try {
            await this.read(plan, devices.slice(i, i + BATCH));
          } catch (err) {
            this.deps.log?.warn({ err, site, kind }, 'energy warm-up stopped: InfluxDB did not answer');
            return;
          }
        }
      }
    }
    this.deps.log?.info({ days: this.days.count, ms: (this.deps.now ?? Date.now)() - started }, 'energy figures worked out');
  }
}

/** A request's range checked: `from` before `to`, and not longer than `maxDays`. */
export function checkRange(from: number, to: number, maxDays: number): void {
  if (!(to > from)) throw new ValidationError('to', 'must be after from');
  if (to - from > maxDays * 86_400_000) throw new ValidationError('from', `the range may span at most ${maxDays} days`);
}
