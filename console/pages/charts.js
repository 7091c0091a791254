// A device's telemetry charts: the unit on the value axis, the site's time on the time axis, the levels of the rules
// that watch the field drawn across, and the device's alarms of the period marked on the time axis.
import { html, useEffect, useRef } from '/vendor/htm-preact.js';
import uPlot from '/vendor/uplot.js';
import { defs } from '../definitions.js';
import { dateTime, num } from '../format.js';
import { fieldLabel, label, language, t, valueLabel } from '../i18n.js';
import { named as localised } from '../sites.js';

const HEIGHT = 200;
/** Colours of the alarm marks by severity (as the badges) and of the rule levels: raise red, clear green. */
const SEVERITY_COLOURS = { critical: '#b91c1c', major: '#ea580c', minor: '#ca8a04', warning: '#0891b2' };
const RAISE_COLOUR = '#dc2626';
const CLEAR_COLOUR = '#16a34a';

/** The kind's telemetry fields as the definitions describe them (none for a kind the gateway does not serve). */
export const telemetryOf = (kind) => defs().kinds[kind]?.telemetry ?? {};

/** A field's type: as the definitions say, else as its values are. */
export function typeOf(telemetry, rows, field) {
  return telemetry[field]?.type ?? typeof rows.find((r) => r[field] !== undefined)?.[field];
}

const asList = (v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** Whether a rule's `match` (contract §6) takes in the device: every criterion it gives holds. */
function covers(match = {}, d) {
  return (!match.kind || asList(match.kind).includes(d.kind))
    && (!match.site || asList(match.site).includes(d.site))
    && (!match.zone || asList(match.zone).includes(d.zone))
    && (!match.devices || match.devices.includes(d.id))
    && (!match.tags || Object.entries(match.tags).every(([k, v]) => d.tags?.[k] === v));
}

/** The threshold conditions of a `when`: itself when it is one, else those it combines (`all`). */
function thresholdConditions(when) {
  if (!when || typeof when !== 'object') return [];
  if (Array.isArray(when.all)) return when.all.flatMap(thresholdConditions);
  const simple = typeof when.telemetry === 'string' && (typeof when.above === 'number' || typeof when.below === 'number');
  return simple ? [when] : [];
}

/**
 * The levels the rules in force watch a device's field at: `{ value, op, clear, text, title }`, one for each
 * `above`/`below` and each simple clear level, named by the rule's alarm type (its description on hover).
 */
export function thresholdsFor(rules, device, field) {
  const out = [];
  for (const r of rules ?? []) {
    const d = r.definition ?? {};
    if (r.enabled === false || !covers(d.match, device)) continue;
    const name = d.alarm?.type ? label('type', d.alarm.type, device.kind) : r.id;
    const title = localised(r.description) ?? '';
    for (const c of thresholdConditions(d.when).filter((x) => x.telemetry === field)) {
      for (const op of ['above', 'below']) {
        if (typeof c[op] === 'number') out.push({ value: c[op], op, clear: false, text: `${name} ${op === 'above' ? '>' : '<'} ${num(c[op], 2)}`, title });
        if (typeof c.clear?.[op] === 'number') {
          out.push({ value: c.clear[op], op, clear: true, text: `${t('device.clearLevel', { name })} ${op === 'above' ? '>' : '<'} ${num(c.clear[op], 2)}`, title });
        }
      }
    }
  }
  return out;
}

/** The y axis as wide as its longest label (uPlot's own recipe), so `34,762.5` is not cut. */
export function axisWidth(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap + (axis.label ? axis.labelSize : 0);
  const longest = (values ?? []).reduce((acc, v) => (v.length > acc.length ? v : acc), '');
  if (longest !== '') {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
}

/** Time ticks in the page's language, 24-hour, in the site's time zone, with the date under the first tick of each day. */
function timeTicks(timeZone) {
  return (_self, splits) => {
    let day;
    return splits.map((s) => {
      const d = new Date(s * 1000);
      const time = d.toLocaleTimeString(language(), { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone });
      const date = d.toLocaleDateString(language(), { month: 'numeric', day: 'numeric', timeZone });
      const text = date === day ? time : `${time}\n${date}`;
      day = date;
      return text;
    });
  };
}

/**
 * The y range uPlot would choose, widened to show the rules' levels and kept within the bounds the definitions give
 * the field: a battery at a steady 88 % is drawn on 0 to 100, never up to 150, and a power factor never above 1.
 */
function withinBounds(bounds, levels) {
  return (_self, lo, hi) => {
    const all = [lo, hi, ...levels].filter((v) => Number.isFinite(v));
    const [from, to] = uPlot.rangeNum(Math.min(...all), Math.max(...all), 0.1, true);
    return [bounds?.min !== undefined ? Math.max(from, bounds.min) : from, bounds?.max !== undefined ? Math.min(to, bounds.max) : to];
  };
}

/** Draws the rule levels across the plot and the alarms as marks on the time axis (a uPlot draw hook). */
function overlay(levels, marks) {
  return (u) => {
    const { ctx, bbox } = u;
    const px = devicePixelRatio;
    ctx.save();
    ctx.font = `${11 * px}px system-ui, sans-serif`;
    ctx.lineWidth = px;
    for (const l of levels) {
      const y = Math.round(u.valToPos(l.value, 'y', true));
      if (y < bbox.top || y > bbox.top + bbox.height) continue;
      const colour = l.clear ? CLEAR_COLOUR : RAISE_COLOUR;
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.setLineDash(l.clear ? [2 * px, 3 * px] : [6 * px, 4 * px]);
      ctx.beginPath();
      ctx.moveTo(bbox.left, y);
      ctx.lineTo(bbox.left + bbox.width, y);
      ctx.stroke();
      // Raise levels named at the right, clear levels at the left: a pair close together (99 and 96) stays legible.
      ctx.textAlign = l.clear ? 'left' : 'right';
      ctx.fillText(l.text, l.clear ? bbox.left + 4 * px : bbox.left + bbox.width - 4 * px, y - 3 * px);
    }
    ctx.setLineDash([]);
    for (const m of marks) {
      const x = Math.round(u.valToPos(m.at, 'x', true));
      if (x < bbox.left || x > bbox.left + bbox.width) continue;
      const bottom = bbox.top + bbox.height;
      ctx.strokeStyle = SEVERITY_COLOURS[m.severity] ?? RAISE_COLOUR;
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
      // A small triangle on the time axis, so the mark reads as a moment even where the line is hidden by the data.
      ctx.beginPath();
      ctx.moveTo(x, bottom - 7 * px);
      ctx.lineTo(x - 5 * px, bottom);
      ctx.lineTo(x + 5 * px, bottom);
      ctx.fill();
    }
    ctx.restore();
  };
}

/**
 * One chart per number or on/off field that has data, in the kind's order; booleans drawn as steps between 0 and 1.
 * `rules`: the rules in force (their levels are drawn), `alarms`: the device's alarms raised in the period.
 */
export function Charts({ device, rows, rules, alarms, period, timeZone }) {
  if (rows.length === 0) return html`<p class="empty">${t('device.noData')}</p>`;
  const kind = device.kind;
  const telemetry = telemetryOf(kind);
  const order = Object.keys(telemetry);
  const rank = (f) => (order.includes(f) ? order.indexOf(f) : order.length);
  const fields = [...new Set(rows.flatMap((r) => Object.keys(r)))]
    .filter((f) => f !== 'time' && typeOf(telemetry, rows, f) !== 'string')
    .sort((a, b) => rank(a) - rank(b));
  const marks = (alarms ?? []).map((a) => ({ at: Date.parse(a.firstSeen) / 1000, severity: a.severity }));
  return html`<div class="charts">${fields.map((f) => html`<${Chart} key=${f} field=${f} name=${fieldLabel(kind, f)} unit=${telemetry[f]?.unit}
    bounds=${telemetry[f]} rows=${rows} levels=${thresholdsFor(rules, device, f)} marks=${marks} period=${period} timeZone=${timeZone} />`)}</div>`;
}

function Chart({ field, name, unit, bounds, rows, levels, marks, period, timeZone }) {
  const ref = useRef();
  const lang = language();
  const bool = typeof rows.find((r) => r[field] !== undefined)?.[field] === 'boolean';
  useEffect(() => {
    const points = rows.filter((r) => r[field] !== undefined);
    const xs = points.map((r) => Date.parse(r.time) / 1000);
    const ys = points.map((r) => (bool ? (r[field] ? 1 : 0) : r[field]));
    const width = () => Math.max(280, ref.current.clientWidth);
    const drawn = bool ? [] : levels;
    const plot = new uPlot(
      {
        width: width(),
        height: HEIGHT,
        legend: { show: false },
        // The whole period, so an alarm's mark sits where it happened even before the first reading.
        scales: { x: { time: true, range: () => [period.from / 1000, period.to / 1000] }, y: { range: bool ? [-0.1, 1.1] : withinBounds(bounds, drawn.map((l) => l.value)) } },
        series: [{}, { label: name, stroke: '#2563eb', width: 1.5, fill: 'rgba(37,99,235,0.08)', paths: bool ? uPlot.paths.stepped({ align: 1 }) : undefined }],
        ...(timeZone ? { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) } : {}),
        axes: [
          { values: timeTicks(timeZone), label: t('device.timeAxis', { tz: timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone }), labelSize: 20, labelFont: '12px system-ui, sans-serif' },
          // An on/off field's axis says its two states in words (停止 / 运行), not 0, 0.5 and 1.
          bool ? { size: axisWidth, splits: () => [0, 1], values: (_self, splits) => splits.map((v) => valueLabel(field, v === 1)) }
            : { size: axisWidth, ...(unit ? { label: unit, labelSize: 20, labelFont: '12px system-ui, sans-serif' } : {}) },
        ],
        hooks: { draw: [overlay(drawn, marks)] },
      },
      [xs, ys],
      ref.current,
    );
    const resize = () => plot.setSize({ width: width(), height: HEIGHT });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [field, name, unit, bounds, rows, levels.map((l) => l.text).join(), marks.length, period.from, timeZone, lang]);
  const title = unit ? `${name} (${unit})` : name;
  return html`<figure class="chart" data-field=${field}>
    <figcaption>${title}</figcaption>
    <div ref=${ref}></div>
    ${levels.length > 0 && !bool && html`<ul class="levels">
      ${levels.map((l) => html`<li data-level=${l.value} class=${l.clear ? 'clear' : 'raise'} title=${l.title}>${l.text}${unit ? ` ${unit}` : ''}</li>`)}
    </ul>`}
  </figure>`;
}

/** The device's alarms of the period under the charts: when (site time), severity and type. */
export function PeriodAlarms({ alarms, kind, timeZone }) {
  if (!alarms?.length) return null;
  return html`<div class="period-alarms" data-testid="period-alarms">
    <h4>${t('device.periodAlarms')}</h4>
    <ul>${alarms.map((a) => html`<li data-alarm=${a.id}>
      <span class="mark" style=${`background:${SEVERITY_COLOURS[a.severity] ?? RAISE_COLOUR}`}></span>
      <time datetime=${a.firstSeen}>${dateTime(a.firstSeen, timeZone)}</time>${' '}
      <span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span> ${label('type', a.type, kind)}</li>`)}</ul>
  </div>`;
}
