// Devices by building and zone, online or offline, with their open alarms; a device's charts and commands.
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.js';
import uPlot from '/vendor/uplot.js';
import { api, get } from '../api.js';
import { defs } from '../definitions.js';
import { ago, alarmOrder, building, dateTime, num } from '../format.js';
import { detailLabel, eventLabel, fieldLabel, label, language, t, valueLabel } from '../i18n.js';
import { useStore } from '../store.js';
import { SiteFilter } from './alarms.js';

/** The commands each kind obeys (docs/integrators.md), as the buttons of a device page. */
const COMMANDS = {
  access: [{ action: 'unlock' }, { action: 'lock' }],
  lighting: [{ action: 'on' }, { action: 'off' }, { action: 'dim', pct: true }],
  parking: [{ action: 'barrier_open' }],
  energy: [],
  fire: [{ action: 'test' }, { action: 'reset' }],
  camera: [{ action: 'snapshot' }],
  // The kinds of contract §9 define no commands: their devices get none here.
};

/**
 * The fields a glance at a device shows first, each its latest value: where a lift car is and whether it can be
 * used, how full a water tank is and whether its pump runs, whether a power room runs on the mains or the
 * generator, what an air, noise or leak sensor reads, how full a bin is, and the battery of a checkpoint or
 * an emergency call point. Every text field (an enumeration) is shown there too, and not charted.
 */
const GLANCE = {
  lift: ['floor', 'direction', 'doorOpen', 'mode'],
  water: ['levelPct', 'pumpRunning', 'pressureMpa'],
  power: ['breakerClosed', 'onGenerator', 'generatorFuelPct', 'transformerTempC'],
  patrol: ['batteryPct'],
  sos: ['batteryPct'],
  environment: ['temperatureC', 'humidityPct', 'pm25Ugm3', 'pm10Ugm3', 'co2Ppm', 'noiseDb', 'waterLeak', 'soilMoisturePct', 'valveOpen'],
  waste: ['fillPct', 'temperatureC', 'batteryPct'],
};

/** The events a device page lists at most, newest first. */
const EVENTS_SHOWN = 10;

const buildingOf = (d) => d.tags?.building ?? building(d.zone);

export function DevicesPage() {
  const s = useStore();
  const [site, setSite] = useState('');
  const [kind, setKind] = useState('');
  const [state, setState] = useState('');
  const [text, setText] = useState('');
  const alarmsByDevice = new Map();
  for (const a of s.alarms.values()) if (a.device) alarmsByDevice.set(a.device, (alarmsByDevice.get(a.device) ?? 0) + 1);
  const q = text.trim().toLowerCase();
  const shown = [...s.devices.values()].filter(
    (d) =>
      (!site || d.site === site) &&
      (!kind || d.kind === kind) &&
      (!state || (state === 'online') === d.online) &&
      (!q || d.id.toLowerCase().includes(q) || (d.name ?? '').toLowerCase().includes(q) || d.zone.toLowerCase().includes(q)),
  );
  // site → building → zone → devices
  const tree = new Map();
  for (const d of shown.sort((a, b) => a.id.localeCompare(b.id))) {
    const key = `${d.site} · ${buildingOf(d)}`;
    if (!tree.has(key)) tree.set(key, new Map());
    const zones = tree.get(key);
    if (!zones.has(d.zone)) zones.set(d.zone, []);
    zones.get(d.zone).push(d);
  }
  const online = shown.filter((d) => d.online).length;
  return html`<section>
    <div class="bar">
      <h2>${t('devices.title')} <span class="muted">${t('devices.onlineOf', { online, total: shown.length })}</span></h2>
      <${SiteFilter} value=${site} onChange=${setSite} />
      <select aria-label=${t('common.kind')} value=${kind} onChange=${(e) => setKind(e.target.value)}>
        <option value="">${t('common.all')}</option>
        ${Object.keys(defs().kinds).map((k) => html`<option value=${k}>${label('kind', k)}</option>`)}
      </select>
      <select aria-label=${t('devices.online')} value=${state} onChange=${(e) => setState(e.target.value)}>
        <option value="">${t('common.all')}</option>
        <option value="online">${t('devices.online')}</option>
        <option value="offline">${t('devices.offline')}</option>
      </select>
      <input type="search" placeholder=${t('common.search')} aria-label=${t('common.search')} value=${text} onInput=${(e) => setText(e.target.value)} />
    </div>
    ${shown.length === 0 && html`<p class="empty" data-testid="no-devices">${t('devices.empty')}</p>`}
    ${[...tree].map(([b, zones]) => html`<details class="building" open>
      <summary><strong>${b}</strong></summary>
      ${[...zones].map(([zone, devices]) => html`<div class="zone">
        <h4>${zone} <span class="muted">${t('devices.onlineOf', { online: devices.filter((d) => d.online).length, total: devices.length })}</span></h4>
        <ul class="devices">
          ${devices.map((d) => html`<li data-device=${d.id}>
            <a href=${`#/devices/${encodeURIComponent(d.id)}`}>
              <span class=${d.online ? 'dot on' : 'dot off'} title=${d.online ? t('devices.online') : t('devices.offline')}></span>
              <span class="id">${d.name ?? d.id}</span>
              <span class="muted">${label('kind', d.kind)}</span>
              <span class="muted" title=${dateTime(d.lastSeen)}>${ago(d.lastSeen)}</span>
              ${alarmsByDevice.get(d.id) && html`<span class="badge sev-major">${alarmsByDevice.get(d.id)}</span>`}
            </a>
          </li>`)}
        </ul>
      </div>`)}
    </details>`)}
  </section>`;
}

const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 86_400_000 };

export function DevicePage({ id }) {
  const s = useStore();
  const [range, setRange] = useState('6h');
  const [rows, setRows] = useState();
  const [events, setEvents] = useState();
  const [fetched, setFetched] = useState();
  const device = s.devices.get(id) ?? fetched;
  useEffect(() => {
    if (!s.devices.has(id)) get(`/api/devices/${encodeURIComponent(id)}`).then(setFetched, (err) => setFetched(err));
  }, [id]);
  useEffect(() => {
    setRows(undefined);
    const to = Date.now();
    const q = new URLSearchParams({ from: new Date(to - RANGES[range]).toISOString(), to: new Date(to).toISOString() });
    get(`/api/devices/${encodeURIComponent(id)}/telemetry?${q}`).then(setRows, (err) => setRows(err));
    setEvents(undefined);
    q.set('limit', String(EVENTS_SHOWN));
    get(`/api/devices/${encodeURIComponent(id)}/events?${q}`).then(setEvents, () => setEvents([]));
  }, [id, range]);
  if (device instanceof Error) return html`<p class="error">${device.message}</p>`;
  if (!device) return html`<p class="muted">${t('common.loading')}</p>`;
  const alarms = [...s.alarms.values()].filter((a) => a.device === id).sort(alarmOrder);
  return html`<section class="device">
    <p><a href="#/devices">← ${t('device.back')}</a></p>
    <div class="bar">
      <h2><span class=${device.online ? 'dot on' : 'dot off'}></span> ${device.name ?? device.id}</h2>
      <span class="muted">${device.id} · ${label('kind', device.kind)} · ${device.site} · ${device.zone}</span>
      <span class="muted">${t('devices.lastSeen')}: ${dateTime(device.lastSeen)}</span>
    </div>
    ${alarms.length > 0 && html`<ul class="inline-alarms">${alarms.map((a) => html`<li>
      <a href="#/alarms"><span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span> ${label('type', a.type, a.kind)}</a></li>`)}</ul>`}
    <${Commands} device=${device} />
    ${Array.isArray(rows) && html`<${Glance} kind=${device.kind} rows=${rows} />`}
    ${Array.isArray(events) && html`<${Events} kind=${device.kind} events=${events} />`}
    <div class="bar">
      <h3>${t('device.telemetry')}</h3>
      <span class="segmented" role="group" aria-label=${t('device.range')}>
        ${Object.keys(RANGES).map((r) => html`<button class=${r === range ? 'on' : ''} onClick=${() => setRange(r)}>${r}</button>`)}
      </span>
    </div>
    ${rows === undefined ? html`<p class="muted">${t('common.loading')}</p>`
      : rows instanceof Error ? html`<p class="error">${rows.message}</p>`
      : html`<${Charts} kind=${device.kind} rows=${rows} />`}
  </section>`;
}

function Commands({ device }) {
  const [result, setResult] = useState();
  const [pct, setPct] = useState(50);
  const [busy, setBusy] = useState(false);
  const commands = COMMANDS[device.kind] ?? [];
  if (commands.length === 0) return null;
  const send = async (action, params) => {
    setBusy(true);
    setResult(undefined);
    try {
      const r = await api('POST', `/api/devices/${encodeURIComponent(device.id)}/commands`, params ? { action, params } : { action });
      setResult({ action, ok: r.ok, error: r.error });
    } catch (err) {
      setResult({ action, ok: false, error: err.message });
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="commands">
    <h3>${t('device.commands')}</h3>
    <div class="actions">
      ${commands.map((c) => c.pct
        ? html`<span class="dim"><input type="range" min="0" max="100" value=${pct} aria-label="%" onInput=${(e) => setPct(Number(e.target.value))} />
            <button disabled=${busy} data-command=${c.action} onClick=${() => send(c.action, { pct })}>${t(`cmd.${c.action}`)} ${pct}%</button></span>`
        : html`<button disabled=${busy} data-command=${c.action} onClick=${() => send(c.action)}>${t(`cmd.${c.action}`)}</button>`)}
    </div>
    ${result && html`<p class=${result.ok ? 'ok' : 'error'} role="status" data-testid="command-result">
      ${t(`cmd.${result.action}`)}: ${result.ok ? t('device.sent') : `${t('device.failed')} — ${result.error ?? ''}`}</p>`}
  </div>`;
}

/** The y axis as wide as its longest label (uPlot's own recipe), so `34,762.5` is not cut. */
function axisWidth(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((acc, v) => (v.length > acc.length ? v : acc), '');
  if (longest !== '') {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
}

/** The kind's telemetry fields as the definitions describe them (none for a kind the gateway does not serve). */
const telemetryOf = (kind) => defs().kinds[kind]?.telemetry ?? {};

/** A field's type: as the definitions say, else as its values are. */
function typeOf(telemetry, rows, field) {
  return telemetry[field]?.type ?? typeof rows.find((r) => r[field] !== undefined)?.[field];
}

/** The latest row's value of `field` in `rows`, with its time; undefined when no row has one. */
function latest(rows, field) {
  let found;
  for (const r of rows) if (r[field] !== undefined && (!found || r.time >= found.time)) found = r;
  return found && { value: found[field], time: found.time };
}

/** `Tank level (%)`: the field's word with the unit the definitions give. */
function caption(kind, field) {
  const unit = telemetryOf(kind)[field]?.unit;
  return unit ? `${fieldLabel(kind, field)} (${unit})` : fieldLabel(kind, field);
}

/** The latest value of the kind's glance fields and of every text field, in words. */
function Glance({ kind, rows }) {
  const telemetry = telemetryOf(kind);
  const fields = [...new Set([
    ...(GLANCE[kind] ?? []),
    ...Object.keys(telemetry).filter((f) => telemetry[f].type === 'string'),
    ...rows.flatMap((r) => Object.keys(r).filter((f) => f !== 'time' && typeof r[f] === 'string' && !telemetry[f])),
  // A field the device never sent in the range is left out (an air sensor has no valve), unless it sent nothing.
  ])].filter((f) => rows.length === 0 || latest(rows, f));
  if (fields.length === 0) return null;
  return html`<div class="glance" data-testid="glance">
    <h3>${t('device.latest')}</h3>
    <dl>${fields.map((f) => {
      const last = latest(rows, f);
      const unit = telemetry[f]?.unit;
      const text = !last ? t('device.noValue')
        : typeof last.value === 'number' ? `${num(last.value, 2)}${!unit ? '' : unit === '%' ? '%' : ` ${unit}`}`
        : valueLabel(f, last.value);
      return html`<div data-field=${f} title=${last ? dateTime(last.time) : ''}><dt>${fieldLabel(kind, f)}</dt><dd>${text}</dd></div>`;
    })}</dl>
  </div>`;
}

/** The device's latest events, newest first: when, what, and the details the definitions name, in words. */
function Events({ kind, events }) {
  if (events.length === 0) return null;
  const described = defs().kinds[kind]?.events ?? {};
  return html`<div class="events" data-testid="events">
    <h3>${t('device.events')}</h3>
    <table>
      <tbody>
        ${events.map((e) => {
          const details = Object.keys(described[e.type]?.details ?? {}).filter((d) => e[d] !== undefined);
          return html`<tr data-event=${e.type}>
            <td class="when" title=${dateTime(e.time)}>${dateTime(e.time)}</td>
            <td class="what">${eventLabel(kind, e.type)}</td>
            <td class="details">${details.map((d) => html`<span data-detail=${d}><span class="muted">${detailLabel(d)}</span> ${valueLabel(d, e[d])}</span>`)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

/** Time ticks in the page's language, 24-hour, with the date under the first tick of each day. */
function timeTicks(_self, splits) {
  let day;
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const time = d.toLocaleTimeString(language(), { hour: '2-digit', minute: '2-digit', hour12: false });
    const date = d.toLocaleDateString(language(), { month: 'numeric', day: 'numeric' });
    const text = date === day ? time : `${time}\n${date}`;
    day = date;
    return text;
  });
}

/** One chart per number or on/off field that has data, in the kind's order; booleans drawn as steps between 0 and 1. */
function Charts({ kind, rows }) {
  if (rows.length === 0) return html`<p class="empty">${t('device.noData')}</p>`;
  const telemetry = telemetryOf(kind);
  const order = Object.keys(telemetry);
  const rank = (f) => (order.includes(f) ? order.indexOf(f) : order.length);
  const fields = [...new Set(rows.flatMap((r) => Object.keys(r)))]
    .filter((f) => f !== 'time' && typeOf(telemetry, rows, f) !== 'string')
    .sort((a, b) => rank(a) - rank(b));
  return html`<div class="charts">${fields.map((f) => html`<${Chart} key=${f} field=${f} title=${caption(kind, f)} bounds=${telemetry[f]} rows=${rows} />`)}</div>`;
}

/**
 * The y range uPlot would choose, kept within the bounds the definitions give the field: a battery at a steady 88 %
 * is drawn on 0 to 100, never up to 150, and a power factor never above 1.
 */
function withinBounds(bounds) {
  return (_self, lo, hi) => {
    const [from, to] = uPlot.rangeNum(lo, hi, 0.1, true);
    return [bounds?.min !== undefined ? Math.max(from, bounds.min) : from, bounds?.max !== undefined ? Math.min(to, bounds.max) : to];
  };
}

function Chart({ field, title, bounds, rows }) {
  const ref = useRef();
  useEffect(() => {
    const points = rows.filter((r) => r[field] !== undefined);
    const bool = typeof points[0]?.[field] === 'boolean';
    const xs = points.map((r) => Date.parse(r.time) / 1000);
    const ys = points.map((r) => (bool ? (r[field] ? 1 : 0) : r[field]));
    const width = () => Math.max(280, ref.current.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 180,
        legend: { show: false },
        scales: { y: { range: bool ? [-0.1, 1.1] : withinBounds(bounds) } },
        series: [{}, { label: title, stroke: '#2563eb', width: 1.5, fill: 'rgba(37,99,235,0.08)', paths: bool ? uPlot.paths.stepped({ align: 1 }) : undefined }],
        // An on/off field's axis says its two states in words (停止 / 运行), not 0, 0.5 and 1.
        axes: [
          { values: timeTicks },
          bool ? { size: axisWidth, splits: () => [0, 1], values: (_self, splits) => splits.map((v) => valueLabel(field, v === 1)) } : { size: axisWidth },
        ],
      },
      [xs, ys],
      ref.current,
    );
    const resize = () => plot.setSize({ width: width(), height: 180 });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [field, title, bounds, rows, language()]);
  return html`<figure class="chart" data-field=${field}><figcaption>${title}</figcaption><div ref=${ref}></div></figure>`;
}
