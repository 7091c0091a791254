// A device's page: where it is, its state now, its commands, its latest events and its charts with the rules' levels
// and the alarms of the period.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { errorText } from '../errors.js';
import { defs } from '../definitions.js';
import { ago, alarmOrder, dateTime, num } from '../format.js';
import { detailLabel, eventLabel, fieldLabel, label, t, valueLabel } from '../i18n.js';
import { can } from '../roles.js';
import { useStore } from '../store.js';
import { Charts, PeriodAlarms, telemetryOf } from './charts.js';
import { deviceName, placeOf, useSites } from './places.js';
import { named as localised } from '../sites.js';

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

const RANGES = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 86_400_000 };

let rulesLoading;
/** The rules in force, read once per page load: the charts draw the levels they watch. */
function loadRules() {
  rulesLoading ??= get('/api/rules').catch(() => {
    rulesLoading = undefined;
    return [];
  });
  return rulesLoading;
}

/** A door a fire released and nobody has locked since (contract: `unlockedAfterFire`), as a badge. */
export function UnlockedBadge({ device }) {
  if (!device.unlockedAfterFire) return null;
  return html`<span class="badge unlocked" data-testid="unlocked-after-fire">${t('devices.unlockedAfterFire')}</span>`;
}

export function DevicePage({ id }) {
  const s = useStore();
  const sites = useSites();
  const [range, setRange] = useState('6h');
  const [period, setPeriod] = useState();
  const [rows, setRows] = useState();
  const [events, setEvents] = useState();
  const [periodAlarms, setPeriodAlarms] = useState([]);
  const [rules, setRules] = useState([]);
  const [fetched, setFetched] = useState();
  const device = s.devices.get(id) ?? fetched;
  useEffect(() => {
    // The list's entry lacks what only the device's own answer carries (zoneKnown): ask for it anyway.
    get(`/api/devices/${encodeURIComponent(id)}`).then(setFetched, (err) => setFetched(err));
    loadRules().then(setRules);
  }, [id]);
  useEffect(() => {
    setRows(undefined);
    const to = Date.now();
    const from = to - RANGES[range];
    setPeriod({ from, to });
    const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    get(`/api/devices/${encodeURIComponent(id)}/telemetry?${q}`).then(setRows, (err) => setRows(err));
    get(`/api/alarms?device=${encodeURIComponent(id)}&${q}`).then(setPeriodAlarms, () => setPeriodAlarms([]));
    setEvents(undefined);
    q.set('limit', String(EVENTS_SHOWN));
    get(`/api/devices/${encodeURIComponent(id)}/events?${q}`).then(setEvents, () => setEvents([]));
  }, [id, range]);
  if (device instanceof Error) return html`<p class="error" role="alert">${errorText(device)}</p>`;
  if (!device) return html`<p class="muted">${t('common.loading')}</p>`;
  const site = sites.get(device.site);
  const timeZone = site?.timezone;
  const place = placeOf(site, device);
  const zoneKnown = fetched && !(fetched instanceof Error) ? fetched.zoneKnown : undefined;
  const alarms = [...s.alarms.values()].filter((a) => a.device === id).sort(alarmOrder);
  const where = site ? [localised(site.name), place.known ? place.building.name : undefined, place.area.name] : [device.site, device.zone];
  return html`<section class="device">
    <p><a href="#/devices">← ${t('device.back')}</a></p>
    <div class="bar">
      <h2><span class=${device.online ? 'dot on' : 'dot off'} title=${device.online ? t('devices.online') : t('devices.offline')}></span> ${deviceName(device)}</h2>
      <${UnlockedBadge} device=${device} />
      <span class="muted" data-testid="device-place">${deviceName(device) === device.id ? '' : `${device.id} · `}${label('kind', device.kind)} · ${where.filter(Boolean).join(' · ')}${site && place.area.name !== device.zone ? html` <code>${device.zone}</code>` : ''}</span>
      <span class="muted">${t('devices.lastSeen')}: <time title=${device.lastSeen ?? ''}>${dateTime(device.lastSeen, timeZone)}</time> (${ago(device.lastSeen)})</span>
    </div>
    ${zoneKnown === false && html`<p class="help" data-testid="zone-unknown">${t('device.zoneUnknown', { zone: device.zone })}</p>`}
    ${alarms.length > 0 && html`<ul class="inline-alarms">${alarms.map((a) => html`<li>
      <a href="#/alarms"><span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span> ${label('type', a.type, a.kind)}</a></li>`)}</ul>`}
    <${Commands} device=${device} />
    ${Array.isArray(rows) && html`<${Glance} kind=${device.kind} rows=${rows} timeZone=${timeZone} />`}
    ${Array.isArray(events) && html`<${Events} kind=${device.kind} events=${events} timeZone=${timeZone} />`}
    <div class="bar">
      <h3>${t('device.telemetry')}</h3>
      <span class="segmented" role="group" aria-label=${t('device.range')}>
        ${Object.keys(RANGES).map((r) => html`<button class=${r === range ? 'on' : ''} aria-pressed=${String(r === range)} onClick=${() => setRange(r)}>${t(`device.range${r}`)}</button>`)}
      </span>
    </div>
    <${PeriodAlarms} alarms=${periodAlarms} kind=${device.kind} timeZone=${timeZone} />
    ${rows === undefined || !period ? html`<p class="muted">${t('common.loading')}</p>`
      : rows instanceof Error ? html`<p class="error" role="alert">${errorText(rows)}</p>`
      : html`<${Charts} device=${device} rows=${rows} rules=${rules} alarms=${periodAlarms} period=${period} timeZone=${timeZone} />`}
  </section>`;
}

function Commands({ device }) {
  const [result, setResult] = useState();
  const [pct, setPct] = useState(50);
  const [busy, setBusy] = useState(false);
  // Commands are the supervisors' and admins' (contract §15): the others see none.
  const commands = can('POST /api/devices/:id/commands') ? COMMANDS[device.kind] ?? [] : [];
  if (commands.length === 0) return null;
  const send = async (action, params) => {
    setBusy(true);
    setResult(undefined);
    try {
      const r = await api('POST', `/api/devices/${encodeURIComponent(device.id)}/commands`, params ? { action, params } : { action });
      setResult({ action, ok: r.ok, error: r.error });
    } catch (err) {
      setResult({ action, ok: false, error: errorText(err) });
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

/** The latest row's value of `field` in `rows`, with its time; undefined when no row has one. */
function latest(rows, field) {
  let found;
  for (const r of rows) if (r[field] !== undefined && (!found || r.time >= found.time)) found = r;
  return found && { value: found[field], time: found.time };
}

/** The latest value of the kind's glance fields and of every text field, in words. */
function Glance({ kind, rows, timeZone }) {
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
      return html`<div data-field=${f} title=${last ? dateTime(last.time, timeZone) : ''}><dt>${fieldLabel(kind, f)}</dt><dd>${text}</dd></div>`;
    })}</dl>
  </div>`;
}

/** The device's latest events, newest first: when, what, and the details the definitions name, in words. */
function Events({ kind, events, timeZone }) {
  if (events.length === 0) return null;
  const described = defs().kinds[kind]?.events ?? {};
  return html`<div class="events" data-testid="events">
    <h3>${t('device.events')}</h3>
    <table>
      <tbody>
        ${events.map((e) => {
          const details = Object.keys(described[e.type]?.details ?? {}).filter((d) => e[d] !== undefined);
          return html`<tr data-event=${e.type}>
            <td class="when" title=${e.time}>${dateTime(e.time, timeZone)}</td>
            <td class="what">${eventLabel(kind, e.type)}</td>
            <td class="details">${details.map((d) => html`<span data-detail=${d}><span class="muted">${detailLabel(d)}</span> ${valueLabel(d, e[d])}</span>`)}</td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

