// Open alarms, critical first, live; acknowledge and clear with a note; each alarm's history.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { defs } from '../definitions.js';
import { ago, alarmOrder, dateTime, num } from '../format.js';
import { inLanguage, label, t, valueLabel } from '../i18n.js';
import { changed, sites, store, useStore } from '../store.js';

export function AlarmsPage() {
  const s = useStore();
  const [site, setSite] = useState('');
  const [severity, setSeverity] = useState('');
  const open = [...s.alarms.values()]
    .filter((a) => (!site || a.site === site) && (!severity || a.severity === severity))
    .sort(alarmOrder);
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
        : html`<ul class="alarms">${open.map((a) => html`<${AlarmCard} key=${a.id} alarm=${a} />`)}</ul>`}
      <${RecentlyCleared} site=${site} openCount=${s.alarms.size} />
    </section>`;
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
  return html`<li class=${`alarm sev-${a.severity} ${a.state}`} data-alarm=${a.id} data-type=${a.type} data-state=${a.state}>
    <div class="alarm-head">
      <span class=${`badge sev-${a.severity}`}>${label('severity', a.severity)}</span>
      <strong class="alarm-type" title=${a.message}>${label('type', a.type, a.kind)}</strong>
      <span class=${`state ${a.state}`}>${t(`state.${a.state}`)}</span>
      ${a.count > 1 && html`<span class="muted">×${a.count}</span>`}
    </div>
    ${inLanguage(a.message) && html`<p class="alarm-message">${a.message}</p>`}
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
      ${a.state === 'active' && html`<button class="primary" data-action="ack" onClick=${() => setAction('ack')}>${t('alarms.ack')}</button>`}
      <button data-action="clear" onClick=${() => setAction('clear')}>${t('alarms.clear')}</button>
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
      if (updated.state === 'cleared') store.alarms.delete(updated.id);
      else store.alarms.set(updated.id, updated);
      if (store.alert?.id === updated.id) store.alert = undefined;
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
