import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError, NotFoundError, ValidationError } from '../../errors.js';
import { INTERVALS, type Interval } from '../../energy/calendar.js';
import { GROUP_BYS, type GroupBy } from '../../energy/places.js';
import { checkRange, ENERGY_KINDS, type EnergyKind, type EnergyPlan, type EnergyRow, type EnergyService } from '../../energy/service.js';
import { csvField } from '../../reports/csv.js';
import { SITE_RE } from '../../topics.js';
import { visibleSites } from '../plugins/auth.js';
import { errorResponses } from './schemas.js';

export interface EnergyRouteDeps {
  energy: EnergyService;
  /** Whether a site exists: it has a site file or registered devices. */
  siteKnown(site: string): boolean;
}

/** Rows one JSON answer may hold; more is asked for as CSV, which streams, or with a longer interval. */
export const MAX_JSON_ROWS = 50_000;
/** The longest range one request may cover. */
export const MAX_RANGE_DAYS = 400;

interface EnergyQuery {
  site: string;
  from?: string;
  to?: string;
  by: GroupBy;
  interval: Interval;
  kind: EnergyKind;
  format: 'json' | 'csv';
}

const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const names = { type: 'object', properties: { 'zh-CN': str, en: str } } as const;
const rowSchema = {
  type: 'object',
  required: ['key', 'name', 'names', 'from', 'to', 'consumption', 'unit'],
  properties: {
    key: str,
    name: { type: 'string', description: "in the site's language" },
    names,
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    consumption: { type: 'number', description: 'kWh or m3, to 3 decimals' },
    unit: { type: 'string', enum: ['kWh', 'm3'] },
    peakDemandKw: { type: 'number', description: 'energy: the highest quarter-hour power' },
    baseLoadKw: { type: 'number', description: 'energy, 1d and 1M: the lowest hourly power between 00:00 and 05:00 site time' },
    cost: { type: 'number', description: "energy, when the site has a tariff: in the tariff's currency" },
    currency: str,
    costBands: {
      type: 'array',
      items: { type: 'object', properties: { from: str, to: str, price: num, consumption: num, cost: num } },
    },
    device: str,
    kind: { type: 'string', enum: Object.keys(ENERGY_KINDS) },
    zone: str,
    building: str,
  },
} as const;

/** `GET /api/energy` (contract §13): energy and water use per site, building, zone or device, as JSON or CSV. */
export function energyRoutes(app: FastifyInstance, deps: EnergyRouteDeps): void {
  app.get<{ Querystring: EnergyQuery }>(
    '/api/energy',
    {
      schema: {
        tags: ['energy'],
        summary: "Energy and water use of a site per local hour, day or month, by site, building, zone or device, with peak demand, base load and the tariff's cost",
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['site'],
          properties: {
            site: { type: 'string', pattern: SITE_RE.source },
            from: { type: 'string', description: 'ISO-8601 or epoch ms; default: the start of the current month, site time; rounded down to the interval' },
            to: { type: 'string', description: 'ISO-8601 or epoch ms; default: now; rounded up to the interval' },
            by: { type: 'string', enum: [...GROUP_BYS], default: 'building' },
            interval: { type: 'string', enum: [...INTERVALS], default: '1d' },
            kind: { type: 'string', enum: Object.keys(ENERGY_KINDS), default: 'energy' },
            format: { type: 'string', enum: ['json', 'csv'], default: 'json' },
          },
        },
        response: {
          200: {
            description: 'One row per key and interval, ordered by key then from; CSV (one line per row, a column per band) as an attachment',
            content: { 'application/json': { schema: { type: 'array', items: rowSchema } }, 'text/csv': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      assertOwnSite(request, q.site);
      if (!deps.siteKnown(q.site)) throw new NotFoundError('site', q.site);
      const now = Date.now();
      const to = parseTime('to', q.to) ?? now;
      const from = parseTime('from', q.from) ?? deps.energy.monthStart(q.site, now);
      checkRange(from, to, MAX_RANGE_DAYS);
      const plan = deps.energy.plan({ site: q.site, from, to, by: q.by, interval: q.interval, kind: q.kind });
      const count = plan.groups.length * plan.frame.spans.length;
      if (q.format === 'json' && count > MAX_JSON_ROWS) {
        throw new ValidationError(
          'interval',
          `the answer would hold ${count} rows (${plan.groups.length} × ${plan.frame.spans.length} intervals), more than ${MAX_JSON_ROWS} in JSON; ask for format=csv, a longer interval, a coarser by or a shorter range`,
        );
      }
      const rows = deps.energy.rows(plan);
      // The first row is read before answering: InfluxDB not answering is still a 503, not a cut-off file.
      const first = await readFirst(rows);
      if (q.format === 'json') {
        const all: EnergyRow[] = first.done ? [] : [first.value];
        for await (const row of guarded(rows)) all.push(row);
        return all;
      }
      const name = `${q.site}-${q.kind}-${q.by}-${q.interval}-${new Date(plan.frame.spans[0].from).toISOString().slice(0, 10)}.csv`;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(Readable.from(csvLines(plan, first, rows, request), { objectMode: false }));
    },
  );
}

/** An operator sees only their own sites' figures (403 for another site). */
function assertOwnSite(request: FastifyRequest, site: string): void {
  const sites = visibleSites(request);
  if (sites && !sites.includes(site)) throw new GatewayError('forbidden', `site: ${site} is not one of your sites`);
}

async function readFirst(rows: AsyncGenerator<EnergyRow>): Promise<IteratorResult<EnergyRow>> {
  try {
    return await rows.next();
  } catch (err) {
    throw unavailable(err);
  }
}

async function* guarded(rows: AsyncGenerator<EnergyRow>): AsyncGenerator<EnergyRow> {
  try {
    yield* rows;
  } catch (err) {
    throw unavailable(err);
  }
}

function unavailable(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('storage_unavailable', 'energy figures are unavailable: InfluxDB does not answer; the readings wait in the spool and nothing is lost', { cause: err });
}

/** The header, then one line per row as the rows are worked out (device by device for by=device). */
async function* csvLines(plan: EnergyPlan, first: IteratorResult<EnergyRow>, rows: AsyncGenerator<EnergyRow>, request: FastifyRequest): AsyncGenerator<string> {
  const bands = plan.tariff?.energy ?? [];
  const head = ['key', 'name', 'nameZh', 'nameEn', 'from', 'to', 'consumption', 'unit', 'peakDemandKw', 'baseLoadKw', 'cost', 'currency'];
  const bandHead = bands.flatMap((b) => [`consumption ${b.from}-${b.to}`, `cost ${b.from}-${b.to}`]);
  yield line([...head, ...bandHead]);
  if (first.done) return;
  try {
    yield csvRow(first.value, bands.length);
    for await (const row of rows) yield csvRow(row, bands.length);
  } catch (err) {
    // The answer has started: it is cut short, and the log says why.
    request.log.error({ err, url: request.url }, 'energy csv cut short');
    throw err;
  }
}

function csvRow(r: EnergyRow, bands: number): string {
  const cells = [r.key, r.name, r.names['zh-CN'], r.names.en, r.from, r.to, r.consumption, r.unit, r.peakDemandKw, r.baseLoadKw, r.cost, r.currency];
  for (let b = 0; b < bands; b++) cells.push(r.costBands?.[b]?.consumption, r.costBands?.[b]?.cost);
  return line(cells);
}

function line(cells: ReadonlyArray<string | number | undefined>): string {
  return `${cells.map((c) => csvField(c ?? null)).join(',')}\r\n`;
}

/** A time as epoch milliseconds or ISO-8601, or undefined when not given. */
function parseTime(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ValidationError(name, 'expected an ISO-8601 time or epoch milliseconds');
  return ms;
}
