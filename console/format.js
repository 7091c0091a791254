// Times, durations and orderings as the console shows them.
import { defs } from './definitions.js';
import { language } from './i18n.js';
import { needsAck } from './store.js';

/** 0 for the most severe, in the gateway's order; an unknown severity sorts last. */
export function severityRank(severity) {
  return rank(defs().alarms.severities, severity);
}

/** 0 for the most urgent, in the gateway's order; an unknown priority sorts last. */
export function priorityRank(priority) {
  return rank(defs().workOrders.priorities, priority);
}

function rank(list, value) {
  const i = list.indexOf(value);
  return i < 0 ? list.length : i;
}

/** A timestamp as date and time, to the second: in the browser's time zone, or in `timeZone` (a site's) when given. */
export function dateTime(iso, timeZone) {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(language(), { dateStyle: 'short', timeStyle: 'medium', hour12: false, ...(timeZone ? { timeZone } : {}) });
}

/**
 * A time on the 24-hour clock in a time zone (a site's; absent: the browser's): "14:03:12" today, with the date
 * before it on another day ("12/5 14:03:12", "12月5日 14:03:12").
 */
export function clock(iso, timeZone, now = Date.now()) {
  if (!iso) return '—';
  const zone = timeZone ? { timeZone } : {};
  const day = (d) => new Date(d).toLocaleDateString('en-CA', zone);
  const time = new Date(iso).toLocaleTimeString(language(), { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', ...zone });
  if (day(iso) === day(now)) return time;
  return `${new Date(iso).toLocaleDateString(language(), { month: 'numeric', day: 'numeric', ...zone })} ${time}`;
}

/** The time and how long ago beside it: "14:03:12（3分钟前）", "14:03:12 (3 min. ago)". Callers re-render each minute. */
export function when(iso, timeZone, now = Date.now()) {
  if (!iso) return '—';
  const rel = ago(iso, now, 'short');
  return language() === 'zh-CN' ? `${clock(iso, timeZone, now)}（${rel}）` : `${clock(iso, timeZone, now)} (${rel})`;
}

/** A local date `yyyy-mm-dd` (a report's night or day) in the current language's way, with its weekday. */
export function localDate(date) {
  if (!date) return '—';
  return new Date(`${date}T12:00:00Z`).toLocaleDateString(language(), { timeZone: 'UTC', month: 'short', day: 'numeric', weekday: 'short' });
}

/** How long ago, in the largest sensible unit ("3 min ago", "3 分钟前"). */
export function ago(iso, now = Date.now(), style = 'long') {
  if (!iso) return '—';
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  const fmt = new Intl.RelativeTimeFormat(language(), { numeric: 'auto', style });
  const a = Math.abs(s);
  if (a < 60) return fmt.format(s, 'second');
  if (a < 3600) return fmt.format(Math.round(s / 60), 'minute');
  if (a < 86400) return fmt.format(Math.round(s / 3600), 'hour');
  return fmt.format(Math.round(s / 86400), 'day');
}

/** A number in the current language's way, or a dash for none. */
export function num(n, digits = 1) {
  if (n === null || n === undefined) return '—';
  return n.toLocaleString(language(), { maximumFractionDigits: digits });
}

/** `yyyy-mm-ddThh:mm` in local time, as an `<input type="datetime-local">` wants it. */
export function localInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Open alarms in the order the desk works them: critical first, unacknowledged first, newest first. */
export function alarmOrder(a, b) {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    (needsAck(a) ? 0 : 1) - (needsAck(b) ? 0 : 1) ||
    b.lastSeen.localeCompare(a.lastSeen)
  );
}

/**
 * Incident cards (`{ alarms, lifeSafety }`, alarms already in `alarmOrder`) in the order the desk works them: any
 * life-safety alarm first, then the highest severity, then the newest.
 */
export function incidentOrder(a, b) {
  const newest = (g) => g.alarms.reduce((m, x) => (x.lastSeen > m ? x.lastSeen : m), '');
  const top = (g) => Math.min(...g.alarms.map((x) => severityRank(x.severity)));
  return (b.lifeSafety ? 1 : 0) - (a.lifeSafety ? 1 : 0) || top(a) - top(b) || newest(b).localeCompare(newest(a));
}

/** A time left as `h:mm:ss` (or `m:ss` under an hour); never negative. */
export function countdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const pad = (n) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** A length of time in words of the page's language ("2 minutes", "2分钟", "30 seconds"). */
export function duration(ms) {
  const s = Math.round(ms / 1000);
  const [value, unit] = s % 3600 === 0 && s > 0 ? [s / 3600, 'hour'] : s % 60 === 0 && s > 0 ? [s / 60, 'minute'] : [s, 'second'];
  return new Intl.NumberFormat(language(), { style: 'unit', unit, unitDisplay: 'long' }).format(value);
}

/** The building a zone belongs to: its part before the first `-` (`b2-f3` → `b2`). */
export function building(zone) {
  const i = zone.indexOf('-');
  return i > 0 ? zone.slice(0, i) : zone;
}
