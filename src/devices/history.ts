import { GatewayError, ValidationError } from '../errors.js';
import { quoteIdent, quoteString, type InfluxQuery } from '../storage/influx/query.js';
import { KINDS } from './kinds/index.js';
import type { DeviceRecord } from './registry.js';

export interface HistoryRange {
  field?: string;
  from?: string;
  to?: string;
  limit?: number;
}

const DAY_MS = 86_400_000;

/** What the writer's disk spool holds while InfluxDB is away (contract §7). */
export interface SpoolHeld {
  points: number;
  bytes: number;
}

/**
 * The 503 of a history that InfluxDB did not answer, saying plainly what the gateway does meanwhile: the
 * readings are not lost, they wait in the spool (issue 17: a newcomer without InfluxDB sees this first).
 */
export function storageUnavailable(what: string, cause: unknown, spool?: SpoolHeld): GatewayError {
  const held = spool ? ` (${spool.points} point${spool.points === 1 ? '' : 's'}, ${formatBytes(spool.bytes)} spooled so far)` : '';
  return new GatewayError(
    'storage_unavailable',
    `${what} is unavailable: InfluxDB does not answer; the gateway keeps the readings in its spool until it does${held}, and nothing is lost`,
    { cause },
  );
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A device's telemetry from InfluxDB (contract §5, §7): rows of `{ time, ...fields }`, oldest first. */
export async function telemetryHistory(influx: InfluxQuery, device: DeviceRecord, range: HistoryRange, spool?: () => SpoolHeld) {
  const fields = KINDS[device.kind].fields;
  if (range.field !== undefined && !fields.includes(range.field)) {
    throw new ValidationError('field', `not a ${device.kind} field (${fields.join(', ')})`);
  }
  const to = parseTime('to', range.to, Date.now());
  const from = parseTime('from', range.from, to - DAY_MS);
  if (from > to) throw new ValidationError('from', 'must not be after to');
  const columns = (range.field ? [range.field] : fields).map(quoteIdent).join(', ');
  const q =
    `SELECT ${columns} FROM ${quoteIdent(device.kind)} WHERE "device" = ${quoteString(device.id)} ` +
    `AND time >= ${from}ms AND time <= ${to}ms ORDER BY time ASC LIMIT ${range.limit ?? 10_000}`;
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await influx.query(q);
  } catch (err) {
    throw storageUnavailable('telemetry history', err, spool?.());
  }
  return rows.map((row) => {
    const out: Record<string, unknown> = { time: new Date(row.time as number).toISOString() };
    for (const f of range.field ? [range.field] : fields) if (row[f] !== null && row[f] !== undefined) out[f] = row[f];
    return out;
  });
}

/** The columns of an `events` row that are not the event's details: tags, and the `count=1i` every point carries. */
const EVENT_COLUMNS = new Set(['time', 'count', 'device', 'kind', 'site', 'zone', 'type']);

/**
 * A device's events from InfluxDB (measurement `events`): rows of `{ time, type, ...details }`, newest first,
 * `limit` of them (default 100), over the last 24 hours unless `from`/`to` say otherwise.
 */
export async function eventHistory(influx: InfluxQuery, device: DeviceRecord, range: Omit<HistoryRange, 'field'>, spool?: () => SpoolHeld) {
  const to = parseTime('to', range.to, Date.now());
  const from = parseTime('from', range.from, to - DAY_MS);
  if (from > to) throw new ValidationError('from', 'must not be after to');
  const q =
    `SELECT * FROM "events" WHERE "device" = ${quoteString(device.id)} ` +
    `AND time >= ${from}ms AND time <= ${to}ms ORDER BY time DESC LIMIT ${range.limit ?? 100}`;
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await influx.query(q);
  } catch (err) {
    throw storageUnavailable('event history', err, spool?.());
  }
  return rows.map((row) => {
    const out: Record<string, unknown> = { time: new Date(row.time as number).toISOString(), type: row.type };
    for (const [k, v] of Object.entries(row)) if (!EVENT_COLUMNS.has(k) && v !== null && v !== undefined) out[k] = v;
    return out;
  });
}

/** A time as epoch milliseconds or ISO-8601. */
function parseTime(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ValidationError(name, 'expected epoch milliseconds or an ISO-8601 time');
  return ms;
}
