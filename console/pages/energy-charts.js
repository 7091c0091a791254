// The energy page's charts (uPlot, as the device charts): consumption per building as stacked bars, today's hours
// against the same weekday's baseline, and the base load of each night. Each has a legend in HTML beside it, so what
// the canvas shows can also be read (and found) as text.
import { html, useEffect, useRef } from '/vendor/htm-preact.js';
import uPlot from '/vendor/uplot.js';
import { num } from '../format.js';
import { language, t } from '../i18n.js';
import { axisWidth } from './charts.js';

const HEIGHT = 220;
/** Opaque colours, one per building in the site file's order: a bar's colour is exactly its building's. */
export const BUILDING_COLOURS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
const TODAY_COLOUR = '#1d4ed8';
const BASELINE_COLOUR = '#6b7280';
const AXIS_LABEL = { labelSize: 20, labelFont: '12px system-ui, sans-serif' };

/** A uPlot chart as wide as its box (280 px at least), redrawn when `deps` change and resized with the window. */
function Plot({ options, data, deps }) {
  const ref = useRef();
  useEffect(() => {
    const width = () => Math.max(280, ref.current.clientWidth);
    const plot = new uPlot({ width: width(), height: HEIGHT, legend: { show: false }, ...options }, data, ref.current);
    const resize = () => plot.setSize({ width: width(), height: HEIGHT });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [...deps, language()]);
  return html`<div ref=${ref}></div>`;
}

/** Date ticks in the page's language and the site's time zone: days ("12/5", "12月5日"), or months for a year. */
function dateTicks(timeZone, monthly) {
  const style = monthly ? { year: 'numeric', month: 'short' } : { month: 'numeric', day: 'numeric' };
  return (_self, splits) => splits.map((s) => new Date(s * 1000).toLocaleDateString(language(), { ...style, timeZone }));
}

/** The x range of bars centred on their interval's start, with half a step to spare on each side. */
function barRange(xs) {
  const step = xs.length > 1 ? Math.min(...xs.slice(1).map((x, i) => x - xs[i])) : 86_400;
  return () => [xs[0] - step / 2, xs[xs.length - 1] + step / 2];
}

/**
 * Consumption per building and interval, stacked: each series is drawn as the sum of its building and those before
 * it, the largest first, so each building shows as its own coloured part of the bar. `series`: `[{ key, name,
 * values }]` on the intervals `xs` (epoch seconds); a name is a text or markup (a code).
 */
export function BuildingBars({ xs, series, unit, timeZone, monthly }) {
  const sums = [];
  let running = xs.map(() => 0);
  for (const s of series) {
    running = running.map((v, i) => v + (s.values[i] ?? 0));
    sums.push(running);
  }
  const drawn = series.map((s, i) => ({ s, values: sums[i], colour: BUILDING_COLOURS[i % BUILDING_COLOURS.length] })).reverse();
  const bars = uPlot.paths.bars({ size: [0.7, 48], align: 0 });
  const options = {
    scales: { x: { time: true, range: barRange(xs) }, y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.05 : 1] } },
    series: [{}, ...drawn.map((d) => ({ label: typeof d.s.name === 'string' ? d.s.name : d.s.key, stroke: d.colour, fill: d.colour, width: 0, paths: bars, points: { show: false } }))],
    ...(timeZone ? { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) } : {}),
    axes: [{ values: dateTicks(timeZone, monthly) }, { size: axisWidth, label: unit, ...AXIS_LABEL }],
  };
  const data = [xs, ...drawn.map((d) => d.values)];
  return html`<figure class="chart energy-chart" data-chart="buildings" data-buildings=${series.map((s) => s.key).join(',')}>
    <${Plot} options=${options} data=${data} deps=${[xs.join(), series.map((s) => `${s.key}:${s.values.join()}`).join(';'), unit, timeZone, monthly]} />
    <ul class="legend">${series.map((s, i) => html`<li data-building=${s.key} data-colour=${BUILDING_COLOURS[i % BUILDING_COLOURS.length]}>
      <span class="swatch" style=${`background:${BUILDING_COLOURS[i % BUILDING_COLOURS.length]}`}></span>${s.name}
      <strong>${num(s.values.reduce((a, v) => a + (v ?? 0), 0), 1)} ${unit}</strong></li>`)}</ul>
  </figure>`;
}

/** Hours 0 to 23 as "00:00" ... "23:00". */
const hourTicks = (_self, splits) => splits.map((h) => `${String(h).padStart(2, '0')}:00`);

/** Today's consumption per hour so far (a line) against the baseline per hour (dashed). Values are null where unknown. */
export function TodayLines({ today, baseline, unit, timeZone, baselineName }) {
  const hours = Array.from({ length: 24 }, (_, h) => h);
  const options = {
    scales: { x: { time: false, range: [0, 23] }, y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
    series: [
      {},
      { label: t('energy.todaySeries'), stroke: TODAY_COLOUR, width: 2, fill: 'rgba(29,78,216,0.08)', points: { show: true, size: 5 } },
      { label: baselineName, stroke: BASELINE_COLOUR, width: 1.5, dash: [6, 4], points: { show: false } },
    ],
    axes: [
      { values: hourTicks, incrs: [1, 2, 3, 4, 6], label: t('energy.hourAxis', { tz: timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone }), ...AXIS_LABEL },
      { size: axisWidth, label: unit, ...AXIS_LABEL },
    ],
  };
  return html`<figure class="chart energy-chart" data-chart="today">
    <${Plot} options=${options} data=${[hours, today, baseline]} deps=${[today.join(), baseline.join(), unit, baselineName]} />
    <ul class="legend">
      <li data-series="today"><span class="swatch line" style=${`border-color:${TODAY_COLOUR}`}></span>${t('energy.todaySeries')}</li>
      <li data-series="baseline"><span class="swatch line dashed" style=${`border-color:${BASELINE_COLOUR}`}></span>${baselineName}</li>
    </ul>
  </figure>`;
}

/** The base load of each night (or the smallest night-time hour of water) as a line with its points. */
export function NightLine({ xs, values, unit, timeZone, name }) {
  const options = {
    scales: { x: { time: true, range: barRange(xs) }, y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.15 : 1] } },
    series: [{}, { label: name, stroke: '#7c3aed', width: 2, points: { show: true, size: 6 }, spanGaps: false }],
    ...(timeZone ? { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone) } : {}),
    axes: [{ values: dateTicks(timeZone, false) }, { size: axisWidth, label: unit, ...AXIS_LABEL }],
  };
  return html`<figure class="chart energy-chart" data-chart="night">
    <${Plot} options=${options} data=${[xs, values]} deps=${[xs.join(), values.join(), unit, timeZone, name]} />
  </figure>`;
}
