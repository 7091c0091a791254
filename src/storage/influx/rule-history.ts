import type { KindName, TelemetryFields } from '../../devices/kinds/index.js';
import type { DeviceMessage, HistoryNeed } from '../../devices/kinds/messages.js';
import { quoteIdent, quoteString, type InfluxQuery } from './query.js';

/** Rows per measurement a rule test reads at most. */
const RULE_TEST_ROW_LIMIT = 200_000;

/**
 * The history a rule test reads, limited to `sites` when the caller sees only those (an operator): a rule
 * limited to other sites reads nothing.
 */
export function ruleHistory(influx: InfluxQuery, sites?: readonly string[]) {
  return (need: HistoryNeed, from: number, to: number) =>
    fetchRuleHistory(influx, { ...need, sites: sites ? (need.sites ?? sites).filter((s) => sites.includes(s)) : need.sites }, from, to, RULE_TEST_ROW_LIMIT);
}

const TAGS = new Set(['time', 'site', 'device', 'zone', 'kind', 'type', 'count']);

/**
 * Reads the messages `need` names between `from` and `to` (epoch ms) from InfluxDB, oldest first, at most
 * `limit` per measurement; `truncated` says the limit was hit (the test then covers less than asked).
 */
export async function fetchRuleHistory(
  influx: InfluxQuery,
  need: HistoryNeed,
  from: number,
  to: number,
  limit: number,
): Promise<{ messages: DeviceMessage[]; truncated: boolean }> {
  const range = `time >= ${from}ms AND time <= ${to}ms`;
  const scope = [range, inList('site', need.sites), inList('device', need.devices)].filter(Boolean).join(' AND ');
  const messages: DeviceMessage[] = [];
  let truncated = false;
  if (need.everything || need.fields.length > 0) {
    for (const kind of need.kinds) {
      // `*` brings the tags along; a field list must name them.
      const fields = need.everything ? '*' : `${need.fields.map(quoteIdent).join(', ')}, "site", "device", "zone"`;
      const rows = await influx.query(`SELECT ${fields} FROM ${quoteIdent(kind)} WHERE ${scope} ORDER BY time ASC LIMIT ${limit}`);
      truncated ||= rows.length >= limit;
      for (const r of rows) messages.push({ ...origin(r, kind), telemetry: values(r) as TelemetryFields });
    }
  }
  if (need.everything || need.events.length > 0) {
    const types = need.everything ? '' : ` AND ${inList('type', need.events)}`;
    const kinds = inList('kind', need.kinds);
    const rows = await influx.query(`SELECT * FROM "events" WHERE ${scope} AND ${kinds}${types} ORDER BY time ASC LIMIT ${limit}`);
    truncated ||= rows.length >= limit;
    for (const r of rows) messages.push({ ...origin(r, r.kind as KindName), event: { type: String(r.type), details: values(r) } });
  }
  messages.sort((a, b) => a.ts - b.ts);
  return { messages, truncated };
}

function origin(r: Record<string, unknown>, kind: KindName) {
  return { ts: Number(r.time), device: String(r.device), kind, site: String(r.site), zone: String(r.zone) };
}

/** The row's field values, without tags and without the nulls of fields this point did not carry. */
function values(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!TAGS.has(k) && v !== null && v !== undefined) out[k] = v;
  return out;
}

function inList(tag: string, values: readonly string[] | undefined): string {
  if (!values || values.length === 0) return '';
  return `(${values.map((v) => `${quoteIdent(tag)} = ${quoteString(v)}`).join(' OR ')})`;
}
