import { quoteIdent, quoteString, type InfluxQuery } from './query.js';

/** What a baseline asks of stored history: one device's field between two times, sampled per clock hour. */
export interface BaselineHistoryQuery {
  site: string;
  kind: string;
  device: string;
  field: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Readings per clock hour at most. */
  perHour: number;
  /** Only points whose other fields have these values (a rule's `where`: a lamp's power while it is on). */
  where?: Record<string, string | number | boolean>;
}

/** `"field" = value` for each `where` entry, values as InfluxQL literals. */
function whereClauses(where: BaselineHistoryQuery['where']): string[] {
  return Object.entries(where ?? {}).map(([k, v]) => `${quoteIdent(k)} = ${typeof v === 'string' ? quoteString(v) : String(v)}`);
}

/** The longest stretch one read covers (contract §13 baselines keep at most 52 weeks). */
const MAX_RANGE_MS = 366 * 86_400_000;
const MAX_PER_HOUR = 64;

/**
 * Seconds in a quarter hour, and the sub-intervals a quarter hour can be cut into (its divisors up to 18): UTC
 * quarter hours are quarter hours in every time zone (offsets are whole quarter hours), so an interval that
 * divides one never straddles a local hour.
 */
const QUARTER_S = 900;
const PER_QUARTER = [1, 2, 3, 4, 5, 6, 9, 10, 12, 15, 18];

/** The GROUP BY interval (seconds) for about `perHour` readings an hour: a divisor of the quarter hour. */
export function sampleIntervalSeconds(perHour: number): number {
  const want = Math.ceil(Math.min(MAX_PER_HOUR, Math.max(1, perHour)) / 4);
  return QUARTER_S / PER_QUARTER.find((k) => k >= want)!;
}

/**
 * The stored readings a baseline learns from (contract §13 `anomaly`), oldest first as [epoch ms, value]: the
 * first reading of each sub-interval of the quarter hour (about `perHour` an hour, rounded up to whole quarter
 * hours), so a month of minute readings comes back as a few thousand rows, not forty thousand. Each row carries
 * its sub-interval's start, which lies in the reading's own local hour and day. The sample is systematic, not
 * random: the same history gives the same baseline, so a backtest (POST /api/rules/test) is repeatable.
 */
export function baselineHistory(influx: InfluxQuery, failed?: (err: unknown, q: BaselineHistoryQuery, failures: number) => void) {
  const read = readBaselineHistory(influx);
  // A baseline falls back on live readings when InfluxDB is down: told at most once a minute, with the count since.
  let failures = 0;
  let toldAt = -Infinity;
  return async (q: BaselineHistoryQuery): Promise<Array<[number, number]>> => {
    try {
      return await read(q);
    } catch (err) {
      failures++;
      if (failed && Date.now() - toldAt >= 60_000) {
        failed(err, q, failures);
        failures = 0;
        toldAt = Date.now();
      }
      throw err;
    }
  };
}

function readBaselineHistory(influx: InfluxQuery) {
  return async (q: BaselineHistoryQuery): Promise<Array<[number, number]>> => {
    const from = Math.max(q.from, q.to - MAX_RANGE_MS);
    if (!(q.to > from)) return [];
    const interval = sampleIntervalSeconds(q.perHour);
    const where = [
      `${quoteIdent('device')} = ${quoteString(q.device)}`,
      `${quoteIdent('site')} = ${quoteString(q.site)}`,
      `time >= ${Math.floor(from)}ms`,
      `time < ${Math.ceil(q.to)}ms`,
      ...whereClauses(q.where),
    ].join(' AND ');
    const rows = await influx.query(`SELECT FIRST(${quoteIdent(q.field)}) AS v FROM ${quoteIdent(q.kind)} WHERE ${where} GROUP BY time(${interval}s) fill(none)`);
    const out: Array<[number, number]> = [];
    for (const r of rows) {
      const ts = Number(r.time);
      const v = typeof r.v === 'number' ? r.v : typeof r.v === 'boolean' ? Number(r.v) : NaN;
      if (Number.isFinite(ts) && Number.isFinite(v)) out.push([ts, v]);
    }
    return out;
  };
}
