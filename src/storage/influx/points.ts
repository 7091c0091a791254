/**
 * InfluxDB 1.x line protocol, built by hand: this runs once per accepted message, and plain string
 * concatenation with a regex pre-check is far cheaper than the `influx` package's generic serializer.
 * Layout per contract §7.
 */

const MEASUREMENT_SPECIAL = /[, \n\\]/;
const KEY_SPECIAL = /[,= \n\\]/;
const STRING_SPECIAL = /["\\\n]/;
const TRAILING_BACKSLASHES = /\\+$/;

/** Fields of one point: numbers are written as floats, strings quoted; undefined is skipped. */
export type FieldValues = Record<string, number | boolean | string | undefined>;

/** A measurement name with commas and spaces escaped. */
export function escapeMeasurement(name: string): string {
  if (!MEASUREMENT_SPECIAL.test(name)) return name;
  return cleanBackslashes(name).replace(/[, ]/g, '\\$&');
}

/** A tag key, tag value or field key with commas, equals signs and spaces escaped. */
export function escapeTag(value: string): string {
  if (!KEY_SPECIAL.test(value)) return value;
  return cleanBackslashes(value).replace(/[,= ]/g, '\\$&');
}

/**
 * Backslashes: InfluxDB 1.x keeps `\\` in names and tags as two characters (checked against influxd 1.6),
 * so doubling them would corrupt the value; inner ones are written as they are. A name ending in `\`
 * is refused by the parser whatever we do, so trailing backslashes are removed. A raw newline would end
 * the line (and break the newline-framed spool), so it becomes the two characters `\n`.
 */
function cleanBackslashes(value: string): string {
  return value.replace(TRAILING_BACKSLASHES, '').replace(/\n/g, '\\n');
}

/** A string field value, double-quoted, with `"` and `\` escaped and newlines written as `\n`. */
export function quoteFieldString(value: string): string {
  if (!STRING_SPECIAL.test(value)) return `"${value}"`;
  return `"${value.replace(/["\\]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}

/**
 * `key=value` pairs joined by commas, or '' when none. Numbers are always floats (no `i` suffix) so a
 * field never changes type between points; NaN and ±Infinity cannot be stored and are skipped.
 */
export function formatFields(fields: FieldValues): string {
  let out = '';
  for (const key in fields) {
    const value = fields[key];
    let text: string;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) continue;
      text = String(value);
    } else if (typeof value === 'boolean') {
      text = value ? 'true' : 'false';
    } else if (typeof value === 'string') {
      text = quoteFieldString(value);
    } else {
      continue;
    }
    out += `${out === '' ? '' : ','}${escapeTag(key)}=${text}`;
  }
  return out;
}

/** One line from the measurement and tag prefix (already escaped, sorted by key) and the fields. */
function line(prefix: string, fields: string, tsMs: number): string {
  if (fields === '') throw new Error(`point "${prefix}" has no fields`);
  return `${prefix} ${fields} ${formatTimestamp(tsMs)}`;
}

/** `,key=value` with the value escaped, or '' for an empty value: InfluxDB 1.x cannot parse an empty tag. */
function tag(key: string, value: string): string {
  const escaped = escapeTag(value);
  return escaped === '' ? '' : `,${key}=${escaped}`;
}

function measurement(name: string): string {
  const escaped = escapeMeasurement(name);
  if (escaped === '') throw new Error('point has an empty measurement');
  return escaped;
}

let cachedHigh = Number.NaN;
let cachedHighText = '';

/**
 * Epoch ms as an integer string. Turning a 13-digit number into a string costs ~100 ns (it is not a small
 * integer), so the digits above the last six, which change every ~17 minutes, are cached.
 */
export function formatTimestamp(tsMs: number): string {
  if (!Number.isFinite(tsMs)) throw new Error(`timestamp ${tsMs} is not epoch milliseconds`);
  const ms = Math.trunc(tsMs);
  if (ms < 1e6) return String(ms);
  const high = Math.floor(ms / 1e6);
  if (high !== cachedHigh) {
    cachedHigh = high;
    cachedHighText = String(high);
  }
  return cachedHighText + String(ms - high * 1e6).padStart(6, '0');
}

/** A device's telemetry series key: measurement = kind, tags device/site/zone sorted (contract §7). */
export function telemetrySeries(kind: string, site: string, device: string, zone: string): string {
  return measurement(kind) + tag('device', device) + tag('site', site) + tag('zone', zone);
}

/**
 * A telemetry point of a series from `telemetrySeries`, which callers may keep per device. An enum field's text
 * (a lift's `mode`) is a string field (contract §9).
 */
export function seriesLine(series: string, fields: Record<string, number | boolean | string>, tsMs: number): string {
  return line(series, formatFields(fields), tsMs);
}

/** A telemetry point: measurement = kind, tags device/site/zone (contract §7); timestamp in ms. */
export function telemetryLine(
  kind: string,
  site: string,
  device: string,
  zone: string,
  fields: Record<string, number | boolean | string>,
  tsMs: number,
): string {
  return seriesLine(telemetrySeries(kind, site, device, zone), fields, tsMs);
}

/** An event point in `events` with `count=1i` plus the scalar details (objects, null and undefined skipped). */
export function eventLine(
  site: string,
  kind: string,
  device: string,
  zone: string,
  type: string,
  details: Record<string, unknown>,
  tsMs: number,
): string {
  const scalars: FieldValues = {};
  for (const key in details) {
    const value = details[key];
    // `count` is ours (always 1i); a detail of the same name would write the field twice.
    if (key === 'count') continue;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') scalars[key] = value;
  }
  const rest = formatFields(scalars);
  const fields = rest === '' ? 'count=1i' : `count=1i,${rest}`;
  const tags = tag('device', device) + tag('kind', kind) + tag('site', site) + tag('type', type) + tag('zone', zone);
  return line(`events${tags}`, fields, tsMs);
}

/** An alarm state change in `alarms`: tags site/type/severity/source, fields state, id and value?. */
export function alarmLine(
  site: string,
  type: string,
  severity: string,
  source: string,
  fields: { state: string; id: string; value?: number },
  tsMs: number,
): string {
  const values: FieldValues = { state: fields.state, id: fields.id, value: fields.value };
  const tags = tag('severity', severity) + tag('site', site) + tag('source', source) + tag('type', type);
  return line(`alarms${tags}`, formatFields(values), tsMs);
}
