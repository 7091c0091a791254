import { authHeaders, ping, trimSlash } from './http.js';

/** Options of an InfluxQL client (InfluxDB 1.x HTTP API). */
export interface InfluxQueryOptions {
  url: string;
  db: string;
  username?: string;
  password?: string;
  timeoutMs: number;
}

interface Series {
  name?: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}

interface QueryResponse {
  error?: string;
  results?: Array<{ statement_id?: number; error?: string; series?: Series[] }>;
}

/** Reads from InfluxDB 1.x with InfluxQL; times come back as epoch milliseconds. */
export class InfluxQuery {
  constructor(private readonly options: InfluxQueryOptions) {}

  /** Runs `influxql` and flattens every series into rows of `{ time, ...tags, ...columns }`. */
  async query(influxql: string): Promise<Array<Record<string, unknown>>> {
    const { url, db, timeoutMs } = this.options;
    // POST /query accepts every statement (SELECT, SHOW and the mutating ones), so one path serves all.
    const body = new URLSearchParams({ q: influxql, db, epoch: 'ms' });
    let res: Response;
    try {
      res = await fetch(`${trimSlash(url)}/query`, {
        method: 'POST',
        body,
        headers: authHeaders(this.options),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new Error(`InfluxDB query failed: ${describe(err)}`, { cause: err });
    }
    const text = await res.text();
    const parsed = parseResponse(text, res.status);
    return flatten(parsed, influxql);
  }

  /** True when InfluxDB answers GET /ping with 204 within the timeout. */
  ping(): Promise<boolean> {
    return ping(this.options, this.options.timeoutMs);
  }
}

/** `name` as an InfluxQL identifier, double-quoted so any character is safe. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `value` as an InfluxQL string literal, single-quoted. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

function parseResponse(text: string, status: number): QueryResponse {
  let parsed: QueryResponse;
  try {
    parsed = JSON.parse(text) as QueryResponse;
  } catch (err) {
    throw new Error(`InfluxDB answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: err });
  }
  if (parsed.error) throw new Error(`InfluxDB query failed (${status}): ${parsed.error}`);
  if (status >= 300) throw new Error(`InfluxDB query failed with status ${status}`);
  return parsed;
}

function flatten(response: QueryResponse, influxql: string): Array<Record<string, unknown>> {
  const rows: Array<Record<string, unknown>> = [];
  for (const result of response.results ?? []) {
    if (result.error) throw new Error(`InfluxDB refused ${JSON.stringify(influxql.slice(0, 200))}: ${result.error}`);
    for (const series of result.series ?? []) {
      for (const values of series.values ?? []) {
        const row: Record<string, unknown> = { ...series.tags };
        series.columns.forEach((column, i) => {
          row[column] = values[i];
        });
        rows.push(row);
      }
    }
  }
  return rows;
}
