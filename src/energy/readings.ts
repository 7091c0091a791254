/**
 * A batch of meters' readings from InfluxDB (contract §7 layout: one measurement per kind, tags site/device/zone):
 * the register and power readings of a range in time order, and each meter's last register reading before it.
 */
import { quoteIdent, quoteString, type InfluxQuery } from '../storage/influx/query.js';
import type { Reading } from './compute.js';

export const ENERGY_KINDS = { energy: { field: 'energyKwh', unit: 'kWh' }, water: { field: 'volumeM3', unit: 'm3' } } as const;
export type EnergyKind = keyof typeof ENERGY_KINDS;

/** How far before a range the last register reading is looked for; a meter silent longer starts afresh. */
export const LOOKBACK_MS = 31 * 86_400_000;

/** One meter's readings of a range. */
export interface MeterReadings {
  register: Reading[];
  power: Reading[];
  previous?: Reading;
}

/**
 * The readings of `devices` (ids) of `site` in [from, to). Grouped by device, not by zone: a meter moved to another
 * zone keeps one register. The last reading before `from` is asked for newest first with LIMIT 1 per device, so
 * InfluxDB reads back only as far as it must.
 */
export async function readMeters(influx: InfluxQuery, site: string, kind: EnergyKind, devices: readonly string[], from: number, to: number): Promise<Map<string, MeterReadings>> {
  const field = ENERGY_KINDS[kind].field;
  const power = kind === 'energy';
  const where = `"site" = ${quoteString(site)} AND "device" =~ /^(?:${devices.map(escapeRegex).join('|')})$/`;
  const [before, rows] = await Promise.all([
    influx.query(
      `SELECT ${quoteIdent(field)} FROM ${quoteIdent(kind)} WHERE ${where} AND time < ${from}ms AND time >= ${from - LOOKBACK_MS}ms ` +
        `GROUP BY "device" ORDER BY time DESC LIMIT 1`,
    ),
    influx.query(`SELECT ${quoteIdent(field)}${power ? ', "powerKw"' : ''} FROM ${quoteIdent(kind)} WHERE ${where} AND time >= ${from}ms AND time < ${to}ms GROUP BY "device"`),
  ]);
  const out = new Map<string, MeterReadings>(devices.map((d) => [d, { register: [], power: [] }]));
  for (const r of before) {
    const m = out.get(String(r.device));
    if (m && typeof r[field] === 'number') m.previous = { t: Number(r.time), v: r[field] };
  }
  for (const r of rows) {
    const m = out.get(String(r.device));
    if (!m) continue;
    const t = Number(r.time);
    if (typeof r[field] === 'number') m.register.push({ t, v: r[field] });
    if (typeof r.powerKw === 'number') m.power.push({ t, v: r.powerKw });
  }
  return out;
}

/** A device id as a literal inside an InfluxQL regex (`/` ends the regex, so it is escaped too). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
