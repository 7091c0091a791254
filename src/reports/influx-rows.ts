/** Small helpers shared by the report figures that read InfluxDB rows. */
import { quoteIdent, quoteString } from '../storage/influx/query.js';

/** A row as InfluxQuery flattens it: `time`, the tags grouped by, and the columns. */
export type Row = Record<string, unknown>;

/**
 * Increase of each counter `fields` per device of `measurement` over [from, to): the sum of the positive steps
 * between consecutive readings. One query, one row per device.
 */
export function counterIncreaseQuery(measurement: string, fields: string[], site: string, from: number, to: number): string {
  const inner = fields.map((f) => `non_negative_difference(${quoteIdent(f)}) AS ${quoteIdent(f)}`).join(', ');
  const outer = fields.map((f) => `sum(${quoteIdent(f)}) AS ${quoteIdent(f)}`).join(', ');
  return (
    `SELECT ${outer} FROM (SELECT ${inner} FROM ${quoteIdent(measurement)} WHERE "site" = ${quoteString(site)} ` +
    `AND time >= ${from}ms AND time < ${to}ms GROUP BY "device") GROUP BY "device"`
  );
}

/** Rows by their `device` tag (Map.groupBy is Node 21+). */
export function byDevice(rows: Row[]): Map<string, Row[]> {
  const map = new Map<string, Row[]>();
  for (const r of rows) {
    const list = map.get(String(r.device));
    if (list) list.push(r);
    else map.set(String(r.device), [r]);
  }
  return map;
}

/** A finite number, else 0. */
export const numOr0 = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
