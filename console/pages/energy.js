// Energy and water for a site (GET /api/energy, contract §13): for a month, a year or a run of days, consumption per
// building, today against the same weekday of the last four weeks, the base load of each night, the cost per tariff
// band, the top consumers, and the figures as CSV. Days, hours and nights are the site's, in its time zone.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { ApiError, get, token } from '../api.js';
import { errorText } from '../errors.js';
import { num } from '../format.js';
import { language, t } from '../i18n.js';
import { named, siteName, siteTimeZone } from '../sites.js';
import { sites, store, useStore } from '../store.js';
import { BuildingBars, NightLine, TodayLines } from './energy-charts.js';
import { CostBands, money, rowName, sum, TOP, TopConsumers } from './energy-tables.js';

/** The two registers the page reads, with the unit it writes. */
const REGISTERS = { energy: { unit: 'kWh' }, water: { unit: 'm³' } };
const PERIODS = { month: 'energy.month', year: 'energy.year', days: 'energy.days' };
/** Weeks of the same weekday the baseline takes (contract §13 leaves it to us: four, as a month of history). */
const BASELINE_WEEKS = 4;
/** Night hours of the site's day: 00:00 to 05:00, as the API's base load. */
const NIGHT_HOURS = 5;
const pad = (n) => String(n).padStart(2, '0');

const formatters = new Map();
/** The calendar parts (year, month, day, hour, minute) of an instant in a time zone; absent: the browser's. */
function partsOf(ms, timeZone) {
  const key = timeZone ?? '';
  if (!formatters.has(key)) {
    formatters.set(key, new Intl.DateTimeFormat('en-GB', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) }));
  }
  return Object.fromEntries(formatters.get(key).formatToParts(ms).filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
}

/** `yyyy-mm-dd` of a calendar date; the day may overflow either way (0 is the last day of the month before). */
const dayKey = (year, month, day) => new Date(Date.UTC(year, month - 1, day)).toISOString().slice(0, 10);

/** The instant a calendar day begins at midnight in a time zone; the month and day may overflow (13 is next January). */
function midnight(year, month, day, timeZone) {
  const wall = Date.UTC(year, month - 1, day);
  let ms = wall;
  for (let i = 0; i < 2; i++) {
    const p = partsOf(ms, timeZone);
    ms -= Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - wall;
  }
  return ms;
}

/**
 * The chosen period as the API's `from`, `to` (ISO) and interval; undefined when the days are the wrong way round.
 * It ends with today (this month, for a year) at the latest: no empty days to come. A period all to come keeps its
 * first interval, which reads as nothing used.
 */
function rangeOf({ period, month, year, fromDay, toDay }, timeZone) {
  const now = partsOf(Date.now(), timeZone);
  const span = (from, to, interval) => {
    const last = interval === '1M' ? midnight(now.year, now.month + 1, 1, timeZone) : midnight(now.year, now.month, now.day + 1, timeZone);
    // The top meters of a month or a year are read per month: one row per meter, however many meters (the API
    // answers at most 50,000 rows of JSON); a run of days has to be read per day.
    return { from: new Date(from).toISOString(), to: new Date(Math.min(to, Math.max(last, from + 1))).toISOString(), interval, perMeter: period === 'days' ? '1d' : '1M' };
  };
  if (period === 'year') return span(midnight(Number(year), 1, 1, timeZone), midnight(Number(year) + 1, 1, 1, timeZone), '1M');
  if (period === 'days') {
    const [fy, fm, fd] = fromDay.split('-').map(Number);
    const [ty, tm, td] = toDay.split('-').map(Number);
    if (!(dayKey(fy, fm, fd) <= dayKey(ty, tm, td))) return undefined;
    return span(midnight(fy, fm, fd, timeZone), midnight(ty, tm, td + 1, timeZone), '1d');
  }
  const [y, m] = month.split('-').map(Number);
  return span(midnight(y, m, 1, timeZone), midnight(y, m + 1, 1, timeZone), '1d');
}

/** Whether the site has a device of `kind` registered now (the devices the console holds). */
function onSite(site, kind) {
  for (const d of store.devices.values()) if (d.site === site && d.kind === kind) return true;
  return false;
}

/** Reads everything the page shows for a site, register and period in one go; rejects with the first refusal. */
async function load(site, kind, range, timeZone) {
  const q = (by, interval, from = range.from, to = range.to) => `/api/energy?${new URLSearchParams({ site, kind, by, interval, from, to })}`;
  const now = partsOf(Date.now(), timeZone);
  const weeksAgo = new Date(midnight(now.year, now.month, now.day - 7 * BASELINE_WEEKS, timeZone)).toISOString();
  const [buildings, days, devices, hours, nights] = await Promise.all([
    get(q('building', range.interval)),
    get(q('site', '1d')),
    get(q('device', range.perMeter)),
    get(q('site', '1h', weeksAgo, new Date().toISOString())),
    // Water has no base load of its own in the API: the smallest night-time hour is read from the hours.
    kind === 'water' && range.interval === '1d' ? get(q('site', '1h')) : undefined,
  ]);
  return { buildings, days, devices, hours, nights };
}

export function EnergyPage() {
  useStore();
  const mine = sites();
  const [chosenSite, setSite] = useState('');
  const site = chosenSite || mine[0] || '';
  const timeZone = siteTimeZone(site);
  const [kind, setKind] = useState('energy');
  const [period, setPeriod] = useState('month');
  const [picked, setPicked] = useState({});
  const [data, setData] = useState();
  const now = partsOf(Date.now(), timeZone);
  // Until something is picked (or where a browser without a month or date picker was given something else): this
  // month, this year, and this month's days so far, in the site's calendar.
  const valid = (name, pattern) => (pattern.test(picked[name] ?? '') ? picked[name] : undefined);
  const sel = {
    period,
    month: valid('month', /^\d{4}-\d{2}$/) ?? `${now.year}-${pad(now.month)}`,
    year: picked.year || String(now.year),
    fromDay: valid('fromDay', /^\d{4}-\d{2}-\d{2}$/) ?? dayKey(now.year, now.month, 1),
    toDay: valid('toDay', /^\d{4}-\d{2}-\d{2}$/) ?? dayKey(now.year, now.month, now.day),
  };
  const range = rangeOf(sel, timeZone);
  const key = range && `${site} ${kind} ${range.from} ${range.to} ${range.interval}`;
  useEffect(() => {
    if (!site || !range) return undefined;
    let cancelled = false;
    load(site, kind, range, timeZone).then((value) => !cancelled && setData({ key, value }), (err) => !cancelled && setData({ key, value: err }));
    return () => { cancelled = true; };
  }, [key, timeZone]);
  // Another site's or period's figures are never shown while this one's load.
  const shown = data?.key === key ? data.value : undefined;
  const pick = (name) => (e) => setPicked({ ...picked, [name]: e.target.value });
  const years = Array.from({ length: 5 }, (_, i) => String(now.year - i));
  const unit = REGISTERS[kind].unit;
  // What is shown (site and start of the period) once it is: a test or a screen reader can wait for it.
  return html`<section class="energy" data-shown=${shown === undefined ? undefined : `${site} ${kind} ${range.from}`}>
    <form class="bar" onSubmit=${(e) => e.preventDefault()}>
      <h2>${t('energy.title')}</h2>
      <select name="site" aria-label=${t('common.site')} value=${site} onChange=${(e) => setSite(e.target.value)}>
        ${mine.map((x) => html`<option value=${x}>${siteName(x)}</option>`)}
      </select>
      <span class="segmented" role="group" aria-label=${t('energy.register')}>
        ${Object.keys(REGISTERS).map((k) => html`<button type="button" data-kind=${k} class=${k === kind ? 'on' : ''} aria-pressed=${String(k === kind)} onClick=${() => setKind(k)}>${t(`energy.kind.${k}`)}</button>`)}
      </span>
      <select name="period" aria-label=${t('energy.period')} value=${period} onChange=${(e) => setPeriod(e.target.value)}>
        ${Object.entries(PERIODS).map(([p, word]) => html`<option value=${p}>${t(word)}</option>`)}
      </select>
      ${period === 'month' && html`<input type="month" name="month" aria-label=${t('energy.month')} value=${sel.month} onChange=${pick('month')} />`}
      ${period === 'year' && html`<select name="year" aria-label=${t('energy.year')} value=${sel.year} onChange=${pick('year')}>${years.map((y) => html`<option value=${y}>${y}</option>`)}</select>`}
      ${period === 'days' && html`<input type="date" name="from" aria-label=${t('energy.from')} value=${sel.fromDay} onChange=${pick('fromDay')} />
        <input type="date" name="to" aria-label=${t('energy.to')} value=${sel.toDay} onChange=${pick('toDay')} />`}
      ${range && site && html`<${CsvLinks} site=${site} kind=${kind} range=${range} onError=${(err) => setData({ key, value: err })} />`}
    </form>
    ${!site ? html`<p class="empty" data-empty="meters">${t(`energy.noMeters.${kind}`)}</p>`
      : !range ? html`<p class="error" role="alert">${t('energy.badDays')}</p>`
      : shown === undefined ? html`<p class="muted">${t('common.loading')}</p>`
      : shown instanceof Error ? html`<p class="error" role="alert" data-testid="energy-error">${errorText(shown)}</p>`
      : html`<${Figures} site=${site} kind=${kind} unit=${unit} data=${shown} interval=${range.interval} timeZone=${timeZone} />`}
  </section>`;
}

/** Links to the figures as CSV (by building and by device) for the period shown, fetched with the token. */
function CsvLinks({ site, kind, range, onError }) {
  const url = (by) => `/api/energy?${new URLSearchParams({ site, kind, by, interval: range.interval, from: range.from, to: range.to, format: 'csv' })}`;
  const download = async (e, by) => {
    e.preventDefault();
    const res = await fetch(url(by), { headers: { authorization: `Bearer ${token()}` } });
    if (!res.ok) return onError(new ApiError(res.status, await res.json().catch(() => undefined)));
    const a = document.createElement('a');
    a.href = URL.createObjectURL(await res.blob());
    a.download = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? `${site}-${kind}-${by}.csv`;
    a.click();
    URL.revokeObjectURL(a.href);
    return undefined;
  };
  return html`<span class="csv">
    <a href=${url('building')} data-csv="building" onClick=${(e) => download(e, 'building')}>${t('energy.csvBuildings')}</a>
    <a href=${url('device')} data-csv="device" onClick=${(e) => download(e, 'device')}>${t('energy.csvDevices')}</a>
  </span>`;
}


function median(values) {
  const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}


function Kpi({ name, value, testid }) {
  return html`<div class="kpi" data-kpi=${testid}><span class="muted">${name}</span><strong>${value}</strong></div>`;
}

/** Everything shown once the figures are in: the totals, the charts, the cost and the top consumers. */
function Figures({ site, kind, unit, data, interval, timeZone }) {
  const { buildings, days, devices } = data;
  // The API answers a row per meter and interval (nothing used: 0); no rows at all: no meter of the kind.
  if (devices.length === 0 && !onSite(site, kind)) return html`<p class="empty" data-empty="meters">${t(`energy.noMeters.${kind}`)}</p>`;
  if (!days.some((r) => r.consumption > 0 || r.peakDemandKw !== undefined)) return html`<p class="empty" data-empty="data">${t('energy.noData')}</p>`;
  const total = sum(days, (r) => r.consumption);
  // The bands' costs added up, as the cost table below does (each is rounded to the cent): the two totals agree.
  const cost = days.some((r) => typeof r.cost === 'number') ? sum(days, (r) => (r.costBands ? sum(r.costBands, (b) => b.cost) : r.cost)) : undefined;
  const peak = days.reduce((m, r) => (typeof r.peakDemandKw === 'number' && (m === null || r.peakDemandKw > m) ? r.peakDemandKw : m), null);
  const tariff = store.sites.get(site)?.tariff;
  const currency = tariff?.currency ?? days.find((r) => r.currency)?.currency;
  return html`<div data-testid="energy">
    <div class="kpis">
      <${Kpi} testid="total" name=${t(`energy.total.${kind}`)} value=${`${num(total, 1)} ${unit}`} />
      ${cost !== undefined && html`<${Kpi} testid="cost" name=${t('energy.cost')} value=${money(cost, currency)} />`}
      ${kind === 'energy' && html`<${Kpi} testid="peak" name=${t('energy.peakDemand')} value=${peak === null ? '—' : `${num(peak, 1)} kW`} />`}
      ${kind === 'energy' && html`<${Kpi} testid="base" name=${t('energy.baseLoadMedian')} value=${`${num(median(days.map((r) => r.baseLoadKw)), 1)} kW`} />`}
    </div>
    <div class="two energy-grid">
      <section data-section="buildings">
        <h3>${t(`energy.byBuilding.${kind}`)}</h3>
        <${Buildings} site=${site} rows=${buildings} unit=${unit} interval=${interval} timeZone=${timeZone} />
      </section>
      <section data-section="today">
        <h3>${t('energy.today')}</h3>
        <${Today} rows=${data.hours} unit=${unit} timeZone=${timeZone} />
      </section>
      <section data-section="night">
        <${Night} kind=${kind} days=${days} hours=${data.nights} timeZone=${timeZone} />
      </section>
      <section data-section="cost">
        <h3>${t('energy.costBands')}</h3>
        <${CostBands} kind=${kind} days=${days} tariff=${tariff} />
      </section>
    </div>
    <section data-section="top">
      <h3>${t('energy.top', { n: TOP })}</h3>
      <${TopConsumers} site=${site} rows=${devices} unit=${unit} total=${total} currency=${currency} />
    </section>
  </div>`;
}

/** Bars per interval stacked by building, in the site file's order of buildings (those it lacks after them). */
function Buildings({ site, rows, unit, interval, timeZone }) {
  if (rows.length === 0) return html`<p class="empty">${t('energy.noData')}</p>`;
  const file = store.sites.get(site)?.buildings ?? [];
  const order = (k) => (file.findIndex((b) => b.id === k) + 1 || file.length + 1);
  const keys = [...new Set(rows.map((r) => r.key))].sort((a, b) => order(a) - order(b) || a.localeCompare(b));
  const xs = [...new Set(rows.map((r) => Date.parse(r.from) / 1000))].sort((a, b) => a - b);
  const series = keys.map((k) => {
    const mine = rows.filter((r) => r.key === k);
    const at = new Map(mine.map((r) => [Date.parse(r.from) / 1000, r.consumption]));
    // A building the site file does not name (or a site without a file) is shown by its code, as the reports do.
    const name = named(file.find((b) => b.id === k)?.name) ?? (rowName(mine[0]) === k ? html`<code>${k}</code>` : rowName(mine[0]));
    return { key: k, name, values: xs.map((x) => at.get(x) ?? null) };
  });
  return html`<${BuildingBars} xs=${xs} series=${series} unit=${unit} timeZone=${timeZone} monthly=${interval === '1M'} />
    <p class="help">${t(interval === '1M' ? 'energy.byBuildingHelpYear' : 'energy.byBuildingHelp')}</p>`;
}

/** Today's hours against the median of the same hour on the same weekday of the weeks before. */
function Today({ rows, unit, timeZone }) {
  const now = partsOf(Date.now(), timeZone);
  const byDay = new Map();
  for (const r of rows) {
    const p = partsOf(Date.parse(r.from), timeZone);
    const k = dayKey(p.year, p.month, p.day);
    if (!byDay.has(k)) byDay.set(k, new Array(24).fill(null));
    byDay.get(k)[p.hour] = r.consumption;
  }
  const todayKey = dayKey(now.year, now.month, now.day);
  const today = byDay.get(todayKey) ?? new Array(24).fill(null);
  // The API answers 0 for hours before the meters' first reading: a day with nothing at all used is a day not known.
  const before = Array.from({ length: BASELINE_WEEKS }, (_, i) => byDay.get(dayKey(now.year, now.month, now.day - 7 * (i + 1))))
    .filter((d) => d?.some((v) => v > 0));
  const baseline = Array.from({ length: 24 }, (_, h) => median(before.map((d) => d[h])));
  const weekday = new Date(`${todayKey}T12:00:00Z`).toLocaleDateString(language(), { weekday: 'long', timeZone: 'UTC' });
  // The hours over (the one under way would compare part of an hour with whole ones).
  const hours = today.map((v, h) => (v === null || h >= now.hour ? -1 : h)).filter((h) => h >= 0);
  const soFar = sum(hours, (h) => today[h]);
  const usual = sum(hours, (h) => baseline[h]);
  const change = usual > 0 ? `${soFar >= usual ? '+' : ''}${num((100 * (soFar - usual)) / usual, 0)} %` : '—';
  return html`
    ${before.length === 0 && html`<p class="help" data-empty="baseline">${t('energy.noBaseline', { weekday })}</p>`}
    <${TodayLines} today=${today} baseline=${baseline} unit=${unit} timeZone=${timeZone} baselineName=${t('energy.baselineSeries', { weekday, n: before.length })} />
    ${hours.length > 0 && before.length > 0 && html`<p class="help" data-testid="today-summary">${t('energy.todaySoFar', {
      hour: pad(Math.max(...hours) + 1), today: `${num(soFar, 1)} ${unit}`, baseline: `${num(usual, 1)} ${unit}`, change })}</p>`}`;
}

/** Energy: the base load of each night as the API gives it. Water: the smallest hour of each night, from the hours. */
function Night({ kind, days, hours, timeZone }) {
  if (kind === 'energy') {
    const xs = days.map((r) => Date.parse(r.from) / 1000);
    return html`<h3>${t('energy.baseLoad')}</h3>
      ${days.length === 0 ? html`<p class="empty">${t('energy.noData')}</p>` : html`<${NightLine} xs=${xs} values=${days.map((r) => r.baseLoadKw ?? null)} unit="kW" timeZone=${timeZone} name=${t('energy.baseLoad')} />`}
      <p class="help">${t('energy.baseLoadHelp')}</p>`;
  }
  if (!hours) return html`<h3>${t('energy.nightFlow')}</h3><p class="help">${t('energy.nightFlowMonths')}</p>`;
  const nights = new Map();
  for (const r of hours) {
    const p = partsOf(Date.parse(r.from), timeZone);
    if (p.hour >= NIGHT_HOURS) continue;
    const x = midnight(p.year, p.month, p.day, timeZone) / 1000;
    nights.set(x, Math.min(nights.get(x) ?? Infinity, r.consumption));
  }
  const xs = [...nights.keys()].sort((a, b) => a - b);
  return html`<h3>${t('energy.nightFlow')}</h3>
    ${xs.length === 0 ? html`<p class="empty">${t('energy.noData')}</p>` : html`<${NightLine} xs=${xs} values=${xs.map((x) => nights.get(x))} unit="m³/h" timeZone=${timeZone} name=${t('energy.nightFlow')} />`}
    <p class="help">${t('energy.nightFlowHelp')}</p>`;
}
