// A rule's condition and targets in the operator's language ("烟雾遮蔽率 > 8 %，持续 10秒"), from the rule as its file
// writes it (contract §6). A form this console has no words for is shown as the file writes it.
import { defs } from '../definitions.js';
import { num } from '../format.js';
import { eventLabel, fieldLabel, label, language, t, valueLabel } from '../i18n.js';

const UNITS = { ms: 'millisecond', s: 'second', m: 'minute', h: 'hour', d: 'day' };

/** "10s", "5m", "15d" in words of the page's language ("10 seconds", "5分钟"); anything else as written. */
export function durationWords(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(String(text));
  if (!m) return String(text);
  return new Intl.NumberFormat(language(), { style: 'unit', unit: UNITS[m[2]], unitDisplay: 'long' }).format(Number(m[1]));
}

const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const kindsOf = (match) => asList(match?.kind);

/** A field with a value and its unit ("8 %", "57 °C"), the unit from the definitions of the rule's kind. */
function amount(kinds, field, value) {
  const unit = kinds.map((k) => defs().kinds[k]?.telemetry?.[field]?.unit).find(Boolean);
  return unit ? `${num(value, 3)} ${unit}` : num(value, 3);
}

/** `above`/`below` of a field as "> 8 %" / "< 15 %". */
function levels(kinds, field, c) {
  return [c.above !== undefined && `> ${amount(kinds, field, c.above)}`, c.below !== undefined && `< ${amount(kinds, field, c.below)}`].filter(Boolean).join(' ');
}

/** Words for the parts every form may carry: `for`, `where`, `during`, `per`, `within`. */
function extras(kinds, w) {
  return [
    w.for && t('rules.w.for', { d: durationWords(w.for) }),
    w.where && t('rules.w.where', { cond: Object.entries(w.where).map(([f, v]) => `${fieldLabel(kinds[0], f)} = ${valueLabel(f, v)}`).join(', ') }),
    w.during && t('rules.w.during', { range: w.during }),
    w.distinct && t('rules.w.distinct'),
  ].filter(Boolean);
}

/** The condition of a `when` in words; undefined for a form without words here. */
export function whenWords(when, match) {
  const kinds = kindsOf(match);
  const kind = kinds[0];
  const w = when ?? {};
  let head;
  if (Array.isArray(w.all)) {
    const parts = w.all.map((x) => whenWords(x, match));
    if (parts.some((p) => p === undefined)) return undefined;
    head = parts.join(t('rules.w.and'));
    if (w.within) head = t('rules.w.allWithin', { all: head, d: durationWords(w.within) });
  } else if (w.telemetry && w.forecast) {
    // contract §13: a trend that reaches a level within a horizon.
    head = t('rules.w.forecast', { field: fieldLabel(kind, w.telemetry), level: levels(kinds, w.telemetry, w.forecast), d: durationWords(w.forecast.within), over: durationWords(w.over) });
  } else if (w.telemetry && w.anomaly) {
    const by = ['hourOfDay', 'hourOfWeek'].includes(w.anomaly.by) ? w.anomaly.by : 'none';
    head = t('rules.w.anomaly', { field: fieldLabel(kind, w.telemetry), z: num(w.anomaly.z, 1), by: t(`rules.w.by.${by}`), d: durationWords(w.anomaly.baseline) });
  } else if (w.telemetry && (w.above !== undefined || w.below !== undefined)) {
    head = `${fieldLabel(kind, w.telemetry)} ${levels(kinds, w.telemetry, w)}`;
  } else if (w.telemetry && (w.rise !== undefined || w.fall !== undefined)) {
    head = t(w.rise !== undefined ? 'rules.w.rise' : 'rules.w.fall', { field: fieldLabel(kind, w.telemetry), v: amount(kinds, w.telemetry, w.rise ?? w.fall), d: durationWords(w.within) });
  } else if (w.event && w.missing) {
    head = t('rules.w.missing', { event: eventLabel(kind, w.event), d: durationWords(w.missing) });
  } else if (w.event && w.count) {
    head = t('rules.w.count', { event: eventLabel(kind, w.event), n: w.count, d: durationWords(w.within) });
  } else if (w.event) {
    head = eventLabel(kind, w.event);
  } else if (w.absent) {
    head = t('rules.w.absent', { d: durationWords(w.absent) });
  } else if (w.schedule) {
    head = t('rules.w.schedule', { cron: w.schedule });
  } else if (w.usage) {
    head = t('rules.w.usage', { field: fieldLabel(kind, w.usage), n: num(w.every, 0) });
  } else {
    return undefined;
  }
  const parts = [head, ...extras(kinds, { ...w, within: undefined })];
  if (w.clear && w.telemetry) {
    parts.push(t('rules.w.clear', { cond: [levels(kinds, w.telemetry, w.clear), w.clear.for && t('rules.w.for', { d: durationWords(w.clear.for) })].filter(Boolean).join(' ') }));
  }
  if (w.clearOn?.event) parts.push(t('rules.w.clearOn', { event: eventLabel(kind, w.clearOn.event) }));
  return parts.join(t('rules.w.sep'));
}

/** Which devices a rule or a command takes: kinds in words, the zone (the triggering one: "the same zone"), devices, tags. */
export function matchWords(match) {
  if (!match) return t('rules.w.everyDevice');
  const zone = (z) => (z === '{zone}' ? t('rules.w.sameZone') : z);
  const parts = [
    kindsOf(match).map((k) => label('kind', k)).join(t('reports.listSep')),
    asList(match.zone).map(zone).join(t('reports.listSep')),
    asList(match.devices).join(', '),
    Object.entries(match.tags ?? {}).map(([k, v]) => `${k}=${v}`).join(', '),
  ].filter(Boolean);
  return parts.length ? parts.join(' · ') : t('rules.w.everyDevice');
}
