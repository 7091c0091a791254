// Open alarms by incident, life safety first, live: places by their building and floor names, the plan, what to do
// and whom to call beside the selected incident; acknowledge (one press, or a whole incident) apart from clear (asks
// for confirmation and a note); each alarm's history; the alarms silences hold back, apart.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { defs } from '../definitions.js';
import { errorText } from '../errors.js';
import { alarmOrder, dateTime, incidentOrder, num, when } from '../format.js';
import { inLanguage, label, language, t, valueLabel } from '../i18n.js';
import { can } from '../roles.js';
import { named, placeOf, placeText, siteName, siteTimeZone } from '../sites.js';
import { awaitingAck, changed, needsAck, putAlarm, sites, store, useNow, useStore } from '../store.js';
import { AlarmDialog, IncidentDetail, PredictionFacts, UnlockedDoors, unlockedDoors } from './alarm-detail.js';

/** Acknowledges alarms (no note) and keeps what the gateway answers; answers the first error, if any. */
export async function acknowledge(alarms) {
  const results = await Promise.allSettled(alarms.map((a) => api('POST', `/api/alarms/${encodeURIComponent(a.id)}/ack`, {})));
  for (const r of results) if (r.status === 'fulfilled') putAlarm(r.value);
  changed();
  return results.find((r) => r.status === 'rejected')?.reason;
}

/** An alarm's sentence in the page's language: `messages` (both languages), else `message` when it reads in it. */
export function alarmText(a) {
  return a.messages?.[language()] ?? (inLanguage(a.message) ? a.message : undefined);
}

/**
 * The open alarms as incident cards: an incident's alarms together (an alarm with no incident alone), the cards
 * with a life-safety alarm first, then by their highest severity, then the newest.
 */
function incidentCards(alarms) {
  const groups = new Map();
  for (const a of alarms) {
    const key = a.incident ?? `alarm:${a.id}`;
    if (!groups.has(key)) groups.set(key, { key, incident: a.incident ? store.incidents.get(a.incident) : undefined, alarms: [] });
    groups.get(key).alarms.push(a);
  }
  const cards = [...groups.values()];
  for (const g of cards) {
    g.alarms.sort(alarmOrder);
    g.lifeSafety = g.alarms.some((a) => a.lifeSafety === true);
  }
  return cards.sort(incidentOrder);
}

/** The filter's state values: awaiting acknowledgement stands for a cleared alarm still on the page. */
const stateOf = (a) => (awaitingAck(a) ? 'cleared' : a.state);

/** A building or floor option's value, and whether an alarm is in it. */
const inPlace = (value, a) => {
  const [type, site, id] = value.split('\u0000');
  if (a.site !== site) return false;
  return type === 'b' ? placeOf(a.site, a.zone)?.buildingId === id : a.zone === id;
};

export function AlarmsPage() {
  const s = useStore();
  // Every minute: the times' "3 min ago" moves on.
  useNow(60_000);
  const [site, setSite] = useState('');
  const [severity, setSeverity] = useState('');
  const [state, setState] = useState('');
  const [place, setPlace] = useState('');
  const [selected, setSelected] = useState();
  const all = [...s.alarms.values()];
  const shown = all.filter((a) => (!site || a.site === site) && (!severity || a.severity === severity) &&
    (!state || stateOf(a) === state) && (!place || inPlace(place, a)));
  const open = shown.filter((a) => !a.silenced);
  const held = shown.filter((a) => a.silenced).sort(alarmOrder);
  const cards = incidentCards(open);
  // The top card is open unless the desk chose another: the night shift sees the plan of the worst incident first.
  const current = cards.some((g) => g.key === selected) ? selected : cards[0]?.key;
  const doors = unlockedDoors(site);
  const fireShown = (x) => cards.some((g) => g.alarms.some((a) => a.site === x.site && (a.kind === 'fire' || a.type.includes('fire'))));
  return html`
    <section>
      <div class="bar filters">
        <h2>${t('alarms.title')} <span class="count">${open.length}</span></h2>
        <${SiteFilter} value=${site} onChange=${setSite} />
        <label class="filter">${t('alarms.severity')}
          <select name="severity" value=${severity} onChange=${(e) => setSeverity(e.target.value)}>
            <option value="">${t('common.all')}</option>
            ${defs().alarms.severities.map((v) => html`<option value=${v}>${label('severity', v)}</option>`)}
          </select></label>
        <label class="filter">${t('alarms.state')}
          <select name="state" value=${state} onChange=${(e) => setState(e.target.value)}>
            <option value="">${t('common.all')}</option>
            ${defs().alarms.states.map((v) => html`<option value=${v}>${v === 'cleared' ? t('alarms.awaitingAck') : t(`state.${v}`)}</option>`)}
          </select></label>
        <${PlaceFilter} site=${site} alarms=${all} value=${place} onChange=${setPlace} />
      </div>
      ${doors.length > 0 && !doors.every(fireShown) && html`<${UnlockedDoors} doors=${doors} />`}
      ${open.length === 0
        ? html`<p class="empty" data-testid="no-alarms">${t('alarms.empty')}</p>`
        : html`<ul class="incidents">${cards.map((g) => html`<${IncidentCard} key=${g.key} group=${g}
            open=${g.key === current} onToggle=${() => setSelected(g.key === current ? '' : g.key)} />`)}</ul>`}
      ${held.length > 0 && html`<details class="silenced-alarms" data-testid="silenced-alarms">
        <summary>${t('alarms.silencedSection')} (${held.length})</summary>
        <p class="help">${t('alarms.silencedHelp')}</p>
        <ul class="alarms">${held.map((a) => html`<${AlarmCard} key=${a.id} alarm=${a} />`)}</ul>
      </details>`}
      <${RecentlyCleared} site=${site} openCount=${s.alarms.size} />
    </section>`;
}

/** Building and floor (or zone) of the sites' files, else the zones the alarms name. */
function PlaceFilter({ site, alarms, value, onChange }) {
  const options = [];
  for (const x of store.sites.values()) {
    if (site && x.id !== site) continue;
    for (const b of x.buildings ?? []) {
      options.push([`b\u0000${x.id}\u0000${b.id}`, named(b.name)]);
      for (const f of b.floors ?? []) options.push([`z\u0000${x.id}\u0000${f.id}`, `${named(b.name)} · ${named(f.name)}`]);
    }
    for (const z of x.zones ?? []) options.push([`z\u0000${x.id}\u0000${z.id}`, placeText(x.id, z.id)]);
  }
  const known = new Set(options.map(([v]) => v));
  for (const a of alarms) {
    const v = `z\u0000${a.site}\u0000${a.zone}`;
    if (a.zone && (!site || a.site === site) && !known.has(v)) {
      known.add(v);
      options.push([v, placeText(a.site, a.zone, a.zoneName)]);
    }
  }
  if (options.length === 0) return null;
  return html`<label class="filter">${t('alarms.place')}
    <select name="place" value=${value} onChange=${(e) => onChange(e.target.value)}>
      <option value="">${t('common.all')}</option>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select></label>`;
}

/** One incident: what it is about at a glance (places, alarm types, times), its alarms, "acknowledge all", and its detail. */
function IncidentCard({ group: g, open, onToggle }) {
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const unacked = g.alarms.filter(needsAck);
  const top = g.alarms[0];
  const places = [...new Set(g.alarms.filter((a) => a.zone).map((a) => placeText(a.site, a.zone, a.zoneName)))];
  const first = g.alarms.reduce((m, a) => (a.firstSeen < m ? a.firstSeen : m), top.firstSeen);
  const last = g.alarms.reduce((m, a) => (a.lastSeen > m ? a.lastSeen : m), top.lastSeen);
  const types = [...new Set(g.alarms.map((a) => label('type', a.type, a.kind)))];
  const detailId = `detail-${g.key.replace(/[^\w-]/g, '_')}`;
  const ackAll = async () => {
    setBusy(true);
    const err = await acknowledge(unacked);
    setBusy(false);
    setError(errorText(err));
  };
  return html`<li class=${`incident sev-${top.severity}${g.lifeSafety ? ' life-safety' : ''}${unacked.length ? ' unacked' : ''}${open ? ' open' : ''}`}
    data-incident=${g.incident?.id ?? top.incident ?? ''} data-alarms=${g.alarms.length}>
    <div class="incident-head">
      <span class=${`badge sev-${top.severity}`}>${label('severity', top.severity)}</span>
      ${g.lifeSafety && html`<span class="badge life-safety">${t('alarms.lifeSafety')}</span>`}
      <strong>${types.join(' · ')}</strong>
      <span class="where" data-testid="incident-place">${[siteName(top.site), ...places].join(' · ')}</span>
      ${g.alarms.length > 1 && html`<span class="count">${t('alarms.incidentAlarms', { n: g.alarms.length })}</span>`}
      <span class="muted" title=${`${dateTime(first, siteTimeZone(top.site))} – ${dateTime(last, siteTimeZone(top.site))}`}>${when(first, siteTimeZone(top.site))}</span>
      <span class="head-actions">
        ${g.alarms.length > 1 && unacked.length > 0 && can('POST /api/alarms/:id/ack') && html`<button class="primary" data-action="ack-all" disabled=${busy} onClick=${ackAll}>
          ${t('alarms.ackAll')} (${unacked.length})</button>`}
        <button data-action="detail" aria-expanded=${String(open)} aria-controls=${detailId} onClick=${onToggle}>${t('alarms.detail')}</button>
      </span>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="incident-body">
      <ul class="alarms">${g.alarms.map((a) => html`<${AlarmCard} key=${a.id} alarm=${a} />`)}</ul>
      ${open && html`<div id=${detailId}><${IncidentDetail} alarms=${g.alarms} /></div>`}
    </div>
  </li>`;
}

export function SiteFilter({ value, onChange }) {
  const all = sites();
  if (all.length < 2) return null;
  return html`<label class="filter">${t('common.site')}
    <select name="site" value=${value} onChange=${(e) => onChange(e.target.value)}>
      <option value="">${t('common.all')}</option>
      ${all.map((x) => html`<option value=${x}>${siteName(x)}</option>`)}
    </select></label>`;
}

/** The linked work order's assignee and status, from the store (the live stream keeps it current). */
function WorkOrderFact({ id }) {
  const wo = store.workOrders.get(id);
  return html`<div data-testid="alarm-workorder"><dt>${t('alarms.workOrder')}</dt><dd>
    <a href="#/workorders">${wo ? (wo.titles?.[language()] ?? wo.title) : id}</a>
    ${wo && html` · ${wo.assignee ? t('alarms.assignedTo', { name: wo.assignee }) : t('alarms.unassigned')} · ${label('status', wo.status)}`}
  </dd></div>`;
}

/** Whether the alarm card offers "Silence…": a life-safety alarm is never silenced, whatever the role. */
const canSilence = (a) => can('POST /api/silences') && a.lifeSafety !== true && !a.silenced && a.state !== 'cleared' && Boolean(a.device);

/** One open alarm: its sentence in the page's language, where it is in words, its times, and its actions. */
function AlarmCard({ alarm: a }) {
  const [dialog, setDialog] = useState();
  const [showHistory, setShowHistory] = useState(false);
  const [error, setError] = useState();
  const waiting = awaitingAck(a);
  const silence = a.silenced && store.silences.get(a.silenced);
  const zone = siteTimeZone(a.site);
  const text = alarmText(a);
  const typeLabel = label('type', a.type, a.kind);
  const ack = async () => setError(errorText(await acknowledge([a])));
  return html`<li class=${`alarm sev-${a.severity} ${a.state}${waiting ? ' awaiting-ack' : ''}${a.lifeSafety ? ' life-safety' : ''}`}
    data-alarm=${a.id} data-type=${a.type} data-state=${a.state} data-awaiting-ack=${waiting ? 'true' : undefined}>
    <div class="alarm-head">
      <span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span>
      ${a.test && html`<span class="badge test" data-testid="test-badge">${t('alarms.test')}</span>`}
      <strong class="alarm-type" title=${a.messages ? undefined : a.message}>${typeLabel}</strong>
      <span class=${`state ${waiting ? 'awaiting' : a.state}`}>${waiting ? t('alarms.awaitingAck') : t(`state.${a.state}`)}</span>
      ${a.count > 1 && html`<span class="muted">×${a.count}</span>`}
    </div>
    ${text && html`<p class="alarm-message">${text}</p>`}
    ${a.suppressed > 0 && html`<p class="suppressed" data-suppressed=${a.suppressed}>${t('alarms.suppressed', { n: a.suppressed })}</p>`}
    ${a.silenced && html`<p class="help" data-silence=${a.silenced}>${t('alarms.silencedBy')}: ${silence ? silence.reason : a.silenced}</p>`}
    <dl class="facts">
      <div><dt>${t('common.site')}</dt><dd>${siteName(a.site)}</dd></div>
      <div><dt>${t('alarms.place')}</dt><dd data-testid="alarm-place" title=${a.zone}>${placeText(a.site, a.zone, a.zoneName)}</dd></div>
      <div><dt>${t('common.device')}</dt><dd>${a.device ? html`<a href=${`#/devices/${encodeURIComponent(a.device)}`}>${a.device}</a>` : a.source}</dd></div>
      ${a.value !== undefined && html`<div><dt>${t('alarms.value')}</dt><dd>${typeof a.value === 'number' ? num(a.value, 2) : typeof a.value === 'boolean' ? valueLabel('', a.value) : a.value}</dd></div>`}
      <${PredictionFacts} alarm=${a} zone=${zone} />
      <div><dt>${t('alarms.firstSeen')}</dt><dd title=${dateTime(a.firstSeen, zone)}><time datetime=${a.firstSeen}>${when(a.firstSeen, zone)}</time></dd></div>
      ${a.lastSeen !== a.firstSeen && html`<div><dt>${t('alarms.lastSeen')}</dt><dd title=${dateTime(a.lastSeen, zone)}><time datetime=${a.lastSeen}>${when(a.lastSeen, zone)}</time></dd></div>`}
      ${a.ackedBy && html`<div><dt>${t('alarms.ackedBy')}</dt><dd>${a.ackedBy} · ${when(a.ackedAt, zone)}</dd></div>`}
      ${a.workOrder && html`<${WorkOrderFact} id=${a.workOrder} />`}
    </dl>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      ${needsAck(a) && can('POST /api/alarms/:id/ack') && html`<button class="primary" data-action="ack" aria-label=${`${t('alarms.ack')}: ${typeLabel} · ${a.device ?? a.source}`} onClick=${ack}>${t('alarms.ack')}</button>
        <button data-action="ack-note" onClick=${() => setDialog('ack')}>${t('alarms.ackNote')}</button>`}
      ${a.state !== 'cleared' && can('POST /api/alarms/:id/clear') && html`<button class="danger" data-action="clear" onClick=${() => setDialog('clear')}>${t('alarms.clear')}</button>`}
      ${canSilence(a) && html`<button data-action="silence" onClick=${() => { location.hash = `#/silences/${encodeURIComponent(a.id)}`; }}>${t('alarms.silence')}</button>`}
      <button class="link" aria-expanded=${String(showHistory)} onClick=${() => setShowHistory(!showHistory)}>${t('alarms.history')}</button>
    </div>
    ${dialog && html`<${AlarmDialog} alarm=${a} action=${dialog} onClose=${() => setDialog(undefined)} />`}
    ${showHistory && html`<${AlarmHistory} id=${a.id} site=${a.site} version=${a.lastSeen + a.state} />`}
  </li>`;
}

function AlarmHistory({ id, site, version }) {
  const [rows, setRows] = useState();
  useEffect(() => {
    get(`/api/alarms/${encodeURIComponent(id)}/history`).then(setRows, (err) => setRows(err));
  }, [id, version]);
  if (!rows) return html`<p class="muted">${t('common.loading')}</p>`;
  if (rows instanceof Error) return html`<p class="error">${errorText(rows)}</p>`;
  return html`<ol class="history">
    ${rows.map((r) => html`<li>
      <time datetime=${r.at} title=${dateTime(r.at, siteTimeZone(site))}>${when(r.at, siteTimeZone(site))}</time>
      <strong>${label('transition', r.transition)}</strong>
      <span>${r.by}</span>
      ${r.transition !== 'raised' && r.alarm.severity && html`<span class=${`badge sev-${r.alarm.severity}`}>${label('severity', r.alarm.severity)}</span>`}
      ${r.note && html`<q>${r.note}</q>`}
    </li>`)}
  </ol>`;
}

function RecentlyCleared({ site, openCount }) {
  const [rows, setRows] = useState([]);
  useEffect(() => {
    const q = new URLSearchParams({ state: 'cleared', limit: '20' });
    if (site) q.set('site', site);
    get(`/api/alarms?${q}`).then(setRows, () => setRows([]));
  }, [site, openCount]);
  if (rows.length === 0) return null;
  return html`<details class="recent">
    <summary>${t('alarms.recent')} (${rows.length})</summary>
    <div class="scroll"><table>
      <tbody>
        ${rows.map((a) => html`<tr>
          <td><span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span></td>
          <td>${label('type', a.type, a.kind)}</td>
          <td>${placeText(a.site, a.zone, a.zoneName)} · ${a.source}</td>
          <td>${when(a.clearedAt, siteTimeZone(a.site))}</td>
          <td>${a.clearedBy ?? ''}</td>
          <td>${a.note ?? ''}</td>
        </tr>`)}
      </tbody>
    </table></div>
  </details>`;
}
