// Work orders as a board by status: create one, assign it, move it along, see what is overdue; on a guard's phone
// first the orders assigned to the signed-in person ("mine").
import { html, useState } from '/vendor/htm-preact.js';
import { api } from '../api.js';
import { defs } from '../definitions.js';
import { errorText } from '../errors.js';
import { dateTime, priorityRank, when } from '../format.js';
import { label, language, t } from '../i18n.js';
import { placeText, siteName, siteTimeZone } from '../sites.js';
import { can } from '../roles.js';
import { changed, sites, store, useStore } from '../store.js';
import { SiteFilter } from './alarms.js';

/** The board's columns: every status but the final ones, which are listed below it. */
const columns = () => defs().workOrders.statuses.filter((s) => !defs().workOrders.final.includes(s));

/** A move's button: reopening a resolved order reads differently from starting work on it. */
const moveLabel = (from, to) => t(from === 'resolved' && to === 'in_progress' ? 'move.reopen' : `move.${to}`);
/** Suggested categories: the usual trades, and one per kind of equipment. */
const categories = () => ['repair', 'electrical', ...Object.keys(defs().kinds), 'cleaning', 'inspection'];

/** Urgent first, then the one due soonest. */
const order = (a, b) => priorityRank(a.priority) - priorityRank(b.priority) || a.dueAt.localeCompare(b.dueAt);

/** Assigned to the signed-in person: the assignee is the name the work order was given, matched to the operator's. */
const isMine = (w) => Boolean(store.me?.name) && w.assignee?.trim().toLowerCase() === store.me.name.trim().toLowerCase();

/** A phone starts with "mine" when there are any: a guard works their own orders; a desk starts with the whole board. */
const PHONE = () => matchMedia('(max-width: 720px)').matches;
/** The open orders assigned to the signed-in person. */
const myOpen = () => [...store.workOrders.values()].filter((w) => isMine(w) && !defs().workOrders.final.includes(w.status)).length;

function remember(wo) {
  store.workOrders.set(wo.id, wo);
  changed();
}

export function WorkOrdersPage() {
  const s = useStore();
  const [site, setSite] = useState('');
  const [overdueOnly, setOverdueOnly] = useState(false);
  const [mineOnly, setMineOnly] = useState(() => PHONE() && myOpen() > 0);
  const [creating, setCreating] = useState(false);
  const mine = myOpen();
  const all = [...s.workOrders.values()].filter((w) => (!site || w.site === site) && (!overdueOnly || w.overdue) && (!mineOnly || isMine(w)));
  const finished = all.filter((w) => defs().workOrders.final.includes(w.status)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return html`<section>
    <div class="bar">
      <h2>${t('wo.title')}</h2>
      <${SiteFilter} value=${site} onChange=${setSite} />
      <label class="inline"><input type="checkbox" name="mine" checked=${mineOnly} onChange=${(e) => setMineOnly(e.target.checked)} /> ${t('wo.mineOnly')} <span class="count">${mine}</span></label>
      <label class="inline"><input type="checkbox" checked=${overdueOnly} onChange=${(e) => setOverdueOnly(e.target.checked)} /> ${t('wo.overdueOnly')}</label>
      ${can('POST /api/workorders') && html`<button class="primary" data-action="new-workorder" onClick=${() => setCreating(!creating)}>${t('wo.new')}</button>`}
    </div>
    ${creating && html`<${CreateForm} onDone=${() => setCreating(false)} />`}
    <div class=${`board${mineOnly ? ' wo-mine' : ''}`} data-mine=${String(mineOnly)}>
      ${columns().map((status) => {
        const cards = all.filter((w) => w.status === status).sort(order);
        return html`<div class="column" data-status=${status}>
          <h3>${label('status', status)} <span class="count">${cards.length}</span></h3>
          ${cards.length === 0 ? html`<p class="empty">${t('wo.empty')}</p>` : cards.map((w) => html`<${Card} key=${w.id} wo=${w} />`)}
        </div>`;
      })}
    </div>
    ${finished.length > 0 && html`<details class="recent">
      <summary>${t('wo.finished')} (${finished.length})</summary>
      <div class="cards">${finished.slice(0, 50).map((w) => html`<${Card} key=${w.id} wo=${w} />`)}</div>
    </details>`}
  </section>`;
}

function Card({ wo }) {
  const [move, setMove] = useState();
  const [showHistory, setShowHistory] = useState(false);
  return html`<article class=${`wo prio-${wo.priority}${wo.overdue ? ' overdue' : ''}`} data-workorder=${wo.id} data-status=${wo.status}>
    <div class="wo-head">
      <span class=${`badge prio-${wo.priority}`}>${label('priority', wo.priority)}</span>
      <span class="muted">${label('category', wo.category)}</span>
      ${wo.overdue && html`<span class="badge overdue">${t('wo.overdue')}</span>`}
      ${wo.late && html`<span class="badge late" title=${t('wo.lateDue', { time: dateTime(wo.due, siteTimeZone(wo.site)) })}>${t('wo.late')}</span>`}
    </div>
    <strong class="wo-title">${wo.titles?.[language()] ?? wo.title}</strong>
    <dl class="facts">
      <div><dt>${t('common.site')}</dt><dd>${siteName(wo.site)}</dd></div>
      ${wo.zone && html`<div><dt>${t('alarms.place')}</dt><dd title=${wo.zone}>${placeText(wo.site, wo.zone, wo.zoneName)}</dd></div>`}
      ${wo.device && html`<div><dt>${t('common.device')}</dt><dd><a href=${`#/devices/${encodeURIComponent(wo.device)}`}>${wo.device}</a></dd></div>`}
      ${!defs().workOrders.settled.includes(wo.status) && html`<div><dt>${t('wo.due')}</dt><dd title=${dateTime(wo.dueAt, siteTimeZone(wo.site))}>${when(wo.dueAt, siteTimeZone(wo.site))}</dd></div>`}
      <div><dt>${t('wo.assignee')}</dt><dd>${wo.assignee ?? '—'}</dd></div>
    </dl>
    <div class="actions">
      ${can('PATCH /api/workorders/:id') && (defs().workOrders.transitions[wo.status] ?? []).map((to) => html`<button data-move=${to} class=${to === 'cancelled' ? 'link' : ''} onClick=${() => setMove(to)}>${moveLabel(wo.status, to)}</button>`)}
      <button class="link" aria-expanded=${String(showHistory)} onClick=${() => setShowHistory(!showHistory)}>${t('wo.history')}</button>
    </div>
    ${move && html`<${MoveForm} wo=${wo} to=${move} onDone=${() => setMove(undefined)} />`}
    ${showHistory && html`<ol class="history">
      ${wo.history.map((h) => html`<li>
        <time datetime=${h.at}>${when(h.at, siteTimeZone(wo.site))}</time> <span>${h.by}</span>
        ${h.status && html`<strong>${label('status', h.status)}</strong>`}
        ${h.assignee && html`<span>→ ${h.assignee}</span>`}
        ${h.note && html`<q>${h.note}</q>`}
      </li>`)}
    </ol>`}
  </article>`;
}

function MoveForm({ wo, to, onDone }) {
  const [assignee, setAssignee] = useState(wo.assignee ?? '');
  const [note, setNote] = useState('');
  const [error, setError] = useState();
  const submit = async (e) => {
    e.preventDefault();
    const body = { status: to };
    if (to === 'assigned' && assignee.trim()) body.assignee = assignee.trim();
    if (note.trim()) body.note = note.trim();
    try {
      remember(await api('PATCH', `/api/workorders/${encodeURIComponent(wo.id)}`, body));
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<form class="note" onSubmit=${submit}>
    ${to === 'assigned' && html`<label>${t('wo.assignee')}
      <input name="assignee" required maxlength="128" value=${assignee} onInput=${(e) => setAssignee(e.target.value)} /></label>`}
    <textarea name="note" rows="2" maxlength="2000" placeholder=${t('alarms.notePlaceholder')} aria-label=${t('common.note')}
      value=${note} onInput=${(e) => setNote(e.target.value)}></textarea>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button class="primary" type="submit" data-action="confirm">${moveLabel(wo.status, to)}</button>
      <button type="button" onClick=${onDone}>${t('common.cancel')}</button>
    </div>
  </form>`;
}

function CreateForm({ onDone }) {
  const mine = sites();
  const [f, setF] = useState({ site: mine[0] ?? '', title: '', category: 'repair', priority: 'normal', zone: '', description: '', assignee: '' });
  const [error, setError] = useState();
  const set = (name) => (e) => setF({ ...f, [name]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    const body = { site: f.site, title: f.title.trim(), category: f.category.trim(), priority: f.priority };
    for (const k of ['zone', 'description', 'assignee']) if (f[k].trim()) body[k] = f[k].trim();
    try {
      remember(await api('POST', '/api/workorders', body));
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<form class="card create" onSubmit=${submit} data-testid="create-workorder">
    <div class="grid">
      <label>${t('common.site')}<select name="site" value=${f.site} onChange=${set('site')}>${mine.map((x) => html`<option value=${x}>${siteName(x)}</option>`)}</select></label>
      <label>${t('wo.fieldTitle')}<input name="title" required maxlength="200" value=${f.title} onInput=${set('title')} /></label>
      <label>${t('wo.category')}<input name="category" required list="categories" pattern="[A-Za-z0-9][A-Za-z0-9_\\-]{0,63}" value=${f.category} onInput=${set('category')} /></label>
      <datalist id="categories">${categories().map((c) => html`<option value=${c}>${label('category', c)}</option>`)}</datalist>
      <label>${t('wo.priority')}<select name="priority" value=${f.priority} onChange=${set('priority')}>
        ${defs().workOrders.priorities.map((p) => html`<option value=${p}>${label('priority', p)}</option>`)}</select></label>
      <label>${t('common.zone')}<input name="zone" maxlength="64" value=${f.zone} onInput=${set('zone')} /></label>
      <label>${t('wo.assignee')}<input name="assignee" maxlength="128" value=${f.assignee} onInput=${set('assignee')} /></label>
    </div>
    <label>${t('wo.description')}<textarea name="description" rows="3" maxlength="4000" value=${f.description} onInput=${set('description')}></textarea></label>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button class="primary" type="submit" data-action="create">${t('wo.new')}</button>
      <button type="button" onClick=${onDone}>${t('common.cancel')}</button>
    </div>
  </form>`;
}
