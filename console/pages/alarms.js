// Open alarms by incident, life safety first, live; acknowledge (one or a whole incident) and clear with a note;
// each alarm's history; the alarms silences hold back, apart.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { defs } from '../definitions.js';
import { ago, alarmOrder, dateTime, incidentOrder, num } from '../format.js';
import { inLanguage, label, t, valueLabel } from '../i18n.js';
import { awaitingAck, changed, needsAck, putAlarm, sites, store, useStore } from '../store.js';

/** Acknowledges alarms (no note) and keeps what the gateway answers; answers the first error, if any. */
export async function acknowledge(alarms) {
  const results = await Promise.allSettled(alarms.map((a) => api('POST', `/api/alarms/${encodeURIComponent(a.id)}/ack`, {})));
  for (const r of results) if (r.status === 'fulfilled') putAlarm(r.value);
  changed();
  return results.find((r) => r.status === 'rejected')?.reason;
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

export function AlarmsPage() {
  const s = useStore();
  const [site, setSite] = useState('');
  const [severity, setSeverity] = useState('');
  const shown = [...s.alarms.values()].filter((a) => (!site || a.site === site) && (!severity || a.severity === severity));
  const open = shown.filter((a) => !a.silenced);
  const held = shown.filter((a) => a.silenced).sort(alarmOrder);
  const cards = incidentCards(open);
  return html`
    <section>
      <div class="bar">
        <h2>${t('alarms.title')} <span class="count">${open.length}</span></h2>
        <${SiteFilter} value=${site} onChange=${setSite} />
        <select aria-label=${t('reports.type')} value=${severity} onChange=${(e) => setSeverity(e.target.value)}>
          <option value="">${t('common.all')}</option>
          ${defs().alarms.severities.map((v) => html`<option value=${v}>${label('severity', v)}</option>`)}
        </select>
      </div>
      ${open.length === 0
        ? html`<p class="empty" data-testid="no-alarms">${t('alarms.empty')}</p>`
        : html`<ul class="incidents">${cards.map((g) => html`<${IncidentCard} key=${g.key} group=${g} />`)}</ul>`}
      ${held.length > 0 && html`<details class="silenced-alarms" data-testid="silenced-alarms">
        <summary>${t('alarms.silencedSection')} (${held.length})</summary>
        <p class="help">${t('alarms.silencedHelp')}</p>
        <ul class="alarms">${held.map((a) => html`<${AlarmCard} key=${a.id} alarm=${a} />`)}</ul>
      </details>`}
      <${RecentlyCleared} site=${site} openCount=${s.alarms.size} />
    </section>`;
}

/** One incident: what it is about at a glance (zones, alarm types, times), its alarms inside, and "acknowledge all". */
function IncidentCard({ group: g }) {
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const unacked = g.alarms.filter(needsAck);
  const top = g.alarms[0];
  const zones = [...new Set(g.alarms.map((a) => a.zone).filter(Boolean))];
  const first = g.alarms.reduce((m, a) => (a.firstSeen < m ? a.firstSeen : m), top.firstSeen);
  const last = g.alarms.reduce((m, a) => (a.lastSeen > m ? a.lastSeen : m), top.lastSeen);
  const types = [...new Set(g.alarms.map((a) => label('type', a.type, a.kind)))];
  const ackAll = async () => {
    setBusy(true);
    const err = await acknowledge(unacked);
    setBusy(false);
    setError(err?.message);
  };
  return html`<li class=${`incident sev-${top.severity}${g.lifeSafety ? ' life-safety' : ''}${unacked.length ? ' unacked' : ''}`}
    data-incident=${g.incident?.id ?? top.incident ?? ''} data-alarms=${g.alarms.length}>
    <div class="incident-head">
      <span class=${`badge sev-${top.severity}`}>${label('severity', top.severity)}</span>
      ${g.lifeSafety && html`<span class="badge life-safety">${t('alarms.lifeSafety')}</span>`}
      <strong>${types.join(' · ')}</strong>
      <span class="muted">${[top.site, ...zones].join(' · ')}</span>
      ${g.alarms.length > 1 && html`<span class="count">${t('alarms.incidentAlarms', { n: g.alarms.length })}</span>`}
      <span class="muted" title=${`${dateTime(first)} – ${dateTime(last)}`}>${ago(first)}</span>
      ${g.alarms.length > 1 && unacked.length > 0 && html`<button class="primary" data-action="ack-all" disabled=${busy} onClick=${ackAll}>
        ${t('alarms.ackAll')} (${unacked.length})</button>`}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <ul class="alarms">${g.alarms.map((a) => html`<${AlarmCard} key=${a.id} alarm=${a} />`)}</ul>
  </li>`;
}

export function SiteFilter({ value, onChange }) {
  const all = sites();
  if (all.length < 2) return null;
  return html`<select aria-label=${t('common.site')} value=${value} onChange=${(e) => onChange(e.target.value)}>
    <option value="">${t('common.all')}</option>
    ${all.map((x) => html`<option value=${x}>${x}</option>`)}
  </select>`;
}

/**
 * One open alarm. The rule's own sentence (`message`) is in the language its author wrote: it shows when the page
 * is in that language, and otherwise only on hovering the alarm's type, so a Chinese page shows no English sentence.
 */
function AlarmCard({ alarm: a }) {
  const [action, setAction] = useState();
  const [showHistory, setShowHistory] = useState(false);
  const waiting = awaitingAck(a);
  const silence = a.silenced && store.silences.get(a.silenced);
  return html`<li class=${`alarm sev-${a.severity} ${a.state}${waiting ? ' awaiting-ack' : ''}${a.lifeSafety ? ' life-safety' : ''}`}
    data-alarm=${a.id} data-type=${a.type} data-state=${a.state} data-awaiting-ack=${waiting ? 'true' : undefined}>
    <div class="alarm-head">
      <span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span>
      ${a.test && html`<span class="badge test" data-testid="test-badge">${t('alarms.test')}</span>`}
      <strong class="alarm-type" title=${a.message}>${label('type', a.type, a.kind)}</strong>
      <span class=${`state ${waiting ? 'awaiting' : a.state}`}>${waiting ? t('alarms.awaitingAck') : t(`state.${a.state}`)}</span>
      ${a.count > 1 && html`<span class="muted">×${a.count}</span>`}
    </div>
    ${inLanguage(a.message) && html`<p class="alarm-message">${a.message}</p>`}
    ${a.suppressed > 0 && html`<p class="suppressed" data-suppressed=${a.suppressed}>${t('alarms.suppressed', { n: a.suppressed })}</p>`}
    ${a.silenced && html`<p class="help" data-silence=${a.silenced}>${t('alarms.silencedBy')}: ${silence ? silence.reason : a.silenced}</p>`}
    <dl class="facts">
      <div><dt>${t('common.site')}</dt><dd>${a.site}</dd></div>
      <div><dt>${t('common.zone')}</dt><dd>${a.zone ?? '—'}</dd></div>
      <div><dt>${t('common.device')}</dt><dd>${a.device ? html`<a href=${`#/devices/${encodeURIComponent(a.device)}`}>${a.device}</a>` : a.source}</dd></div>
      ${a.value !== undefined && html`<div><dt>${t('alarms.value')}</dt><dd>${typeof a.value === 'number' ? num(a.value, 2) : typeof a.value === 'boolean' ? valueLabel('', a.value) : a.value}</dd></div>`}
      <div><dt>${t('alarms.firstSeen')}</dt><dd title=${dateTime(a.firstSeen)}>${ago(a.firstSeen)}</dd></div>
      <div><dt>${t('alarms.lastSeen')}</dt><dd title=${dateTime(a.lastSeen)}>${ago(a.lastSeen)}</dd></div>
      ${a.ackedBy && html`<div><dt>${t('alarms.ackedBy')}</dt><dd>${a.ackedBy} · ${ago(a.ackedAt)}</dd></div>`}
      ${a.workOrder && html`<div><dt>${t('alarms.workOrder')}</dt><dd><a href="#/workorders">${a.workOrder}</a></dd></div>`}
    </dl>
    <div class="actions">
      ${needsAck(a) && html`<button class="primary" data-action="ack" onClick=${() => setAction('ack')}>${t('alarms.ack')}</button>`}
      ${a.state !== 'cleared' && html`<button data-action="clear" onClick=${() => setAction('clear')}>${t('alarms.clear')}</button>`}
      <button class="link" onClick=${() => setShowHistory(!showHistory)}>${t('alarms.history')}</button>
    </div>
    ${action && html`<${NoteForm} alarm=${a} action=${action} onDone=${() => setAction(undefined)} />`}
    ${showHistory && html`<${AlarmHistory} id=${a.id} version=${a.lastSeen + a.state} />`}
  </li>`;
}

function NoteForm({ alarm, action, onDone }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState();
  const submit = async (e) => {
    e.preventDefault();
    try {
      const body = note.trim() ? { note: note.trim() } : {};
      const updated = await api('POST', `/api/alarms/${encodeURIComponent(alarm.id)}/${action}`, body);
      // The live stream brings the same change; applying the answer now spares the wait.
      putAlarm(updated);
      changed();
      onDone();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form class="note" onSubmit=${submit}>
    <textarea name="note" rows="2" maxlength="2000" placeholder=${t('alarms.notePlaceholder')} aria-label=${t('common.note')}
      value=${note} onInput=${(e) => setNote(e.target.value)}></textarea>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button class="primary" type="submit" data-action="confirm">${action === 'ack' ? t('alarms.ack') : t('alarms.clear')}</button>
      <button type="button" onClick=${onDone}>${t('common.cancel')}</button>
    </div>
  </form>`;
}

function AlarmHistory({ id, version }) {
  const [rows, setRows] = useState();
  useEffect(() => {
    get(`/api/alarms/${encodeURIComponent(id)}/history`).then(setRows, (err) => setRows(err));
  }, [id, version]);
  if (!rows) return html`<p class="muted">${t('common.loading')}</p>`;
  if (rows instanceof Error) return html`<p class="error">${rows.message}</p>`;
  return html`<ol class="history">
    ${rows.map((r) => html`<li>
      <time title=${r.at}>${dateTime(r.at)}</time>
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
    <table>
      <tbody>
        ${rows.map((a) => html`<tr>
          <td><span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span></td>
          <td>${label('type', a.type, a.kind)}</td>
          <td>${a.source}</td>
          <td>${dateTime(a.clearedAt)}</td>
          <td>${a.clearedBy ?? ''}</td>
          <td>${a.note ?? ''}</td>
        </tr>`)}
      </tbody>
    </table>
  </details>`;
}
