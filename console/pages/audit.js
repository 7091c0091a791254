// The audit trail, for supervisors and admins: who did what, when, from where, to what, and what changed
// (`GET /api/audit`, newest first), filtered by person, action, target and a time range.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { get } from '../api.js';
import { errorText } from '../errors.js';
import { dateTime } from '../format.js';
import { LANGUAGES, label, languageOf, t } from '../i18n.js';
import { siteName } from '../sites.js';

/** How many entries one page of the trail shows; "Older" reads the next ones. */
const PAGE = 200;
/** Longest a change's value is shown before it is cut (the whole is on hovering). */
const VALUE_CHARS = 60;

/** The actions the console has words for (`auditAction.*` in console/i18n.js): the filter's choices. */
const ACTIONS = Object.keys(LANGUAGES.en).filter((k) => k.startsWith('auditAction.')).map((k) => k.slice('auditAction.'.length));

/** An action in words (`alarm.acknowledge` → "Acknowledge alarm"); one the console has no word for, from its name. */
export const actionLabel = (action) => label('auditAction', action);

/** Who did it: an operator's name as recorded; the admin token and the gateway itself in words. */
const actorLabel = (actor) => (actor === 'admin' ? t('audit.actorAdmin') : actor === 'system' ? t('audit.actorSystem') : actor);

/** One value of a change in a line: text as written, anything else as JSON, cut to VALUE_CHARS. */
function valueText(value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS - 1)}…` : text;
}

/** What changed, compactly: `status=assigned · assignee=Li` (the whole JSON on hovering). */
function Changes({ changes }) {
  if (changes === undefined || changes === null) return null;
  if (typeof changes !== 'object') return html`<code>${valueText(changes)}</code>`;
  const entries = Object.entries(changes);
  if (entries.length === 0) return null;
  return html`<code class="changes" title=${JSON.stringify(changes, null, 1)}>${entries.map(([k, v]) => `${k}=${valueText(v)}`).join(' · ')}</code>`;
}

/** The filters as the query string of `GET /api/audit`; the times of the inputs are the browser's. */
function query(f, before) {
  const q = new URLSearchParams({ limit: String(PAGE) });
  for (const k of ['actor', 'action', 'target']) if (f[k].trim()) q.set(k, f[k].trim());
  if (f.from) q.set('from', new Date(f.from).toISOString());
  const to = before ?? (f.to ? new Date(f.to).toISOString() : undefined);
  if (to) q.set('to', to);
  return q;
}

const EMPTY = { actor: '', action: '', target: '', from: '', to: '' };

export function AuditPage() {
  const [f, setF] = useState(EMPTY);
  const [applied, setApplied] = useState(EMPTY);
  const [rows, setRows] = useState();
  const [more, setMore] = useState(false);
  const [error, setError] = useState();
  useEffect(() => {
    let cancelled = false;
    setError(undefined);
    get(`/api/audit?${query(applied)}`).then(
      (list) => {
        if (cancelled) return;
        setRows(list);
        setMore(list.length >= PAGE);
      },
      (err) => !cancelled && setError(errorText(err)),
    );
    return () => { cancelled = true; };
  }, [applied]);
  const older = async () => {
    try {
      const list = await get(`/api/audit?${query(applied, rows[rows.length - 1].at)}`);
      // `to` may take the last one shown again: keep each entry once.
      const seen = new Set(rows.map((r) => r.id));
      setRows([...rows, ...list.filter((r) => !seen.has(r.id))]);
      setMore(list.length >= PAGE);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const set = (name) => (e) => setF({ ...f, [name]: e.target.value });
  const submit = (e) => {
    e.preventDefault();
    setApplied({ ...f });
  };
  return html`<section>
    <div class="bar"><h2>${t('audit.title')}${rows && html` <span class="count">${rows.length}${more ? '+' : ''}</span>`}</h2></div>
    <p class="help">${t('audit.help')}</p>
    <form class="bar filters" onSubmit=${submit} data-testid="audit-filters">
      <label class="filter">${t('audit.actor')}<input name="actor" maxlength="128" value=${f.actor} onInput=${set('actor')} /></label>
      <label class="filter">${t('audit.action')}
        <select name="action" value=${f.action} onChange=${set('action')}>
          <option value="">${t('common.all')}</option>
          ${ACTIONS.map((a) => html`<option value=${a}>${actionLabel(a)}</option>`)}
        </select></label>
      <label class="filter">${t('audit.target')}<input name="target" maxlength="128" value=${f.target} onInput=${set('target')} /></label>
      <label class="filter">${t('audit.from')}<input name="from" type="datetime-local" value=${f.from} onInput=${set('from')} /></label>
      <label class="filter">${t('audit.to')}<input name="to" type="datetime-local" value=${f.to} onInput=${set('to')} /></label>
      <button class="primary" type="submit" data-action="audit-search">${t('common.search')}</button>
      <button type="button" data-action="audit-reset" onClick=${() => { setF(EMPTY); setApplied(EMPTY); }}>${t('audit.reset')}</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${!rows ? !error && html`<p class="muted">${t('common.loading')}</p>`
      : rows.length === 0 ? html`<p class="empty" data-testid="no-audit">${t('audit.empty')}</p>`
      : html`<div class="scroll"><table class="audit" data-testid="audit">
          <thead><tr>
            <th>${t('audit.at')}</th><th>${t('audit.actor')}</th><th>${t('audit.action')}</th><th>${t('audit.target')}</th>
            <th>${t('common.site')}</th><th>${t('audit.changes')}</th><th>${t('audit.source')}</th>
          </tr></thead>
          <tbody>${rows.map((r) => html`<tr data-audit=${r.id} data-audit-action=${r.action}>
            <td><time datetime=${r.at}>${dateTime(r.at)}</time></td>
            <td data-testid="audit-actor" lang=${r.actor === 'admin' || r.actor === 'system' ? undefined : languageOf(r.actor)}>${actorLabel(r.actor)}</td>
            <td data-testid="audit-action">${actionLabel(r.action)}</td>
            <td>${r.target && html`<code>${r.target}</code>`}</td>
            <td>${r.site ? siteName(r.site) : ''}</td>
            <td><${Changes} changes=${r.changes} /></td>
            <td>${r.source === 'file' ? t('audit.sourceFile') : r.source && html`<code>${r.source}</code>`}</td>
          </tr>`)}</tbody>
        </table></div>`}
    ${rows && more && html`<button data-action="audit-older" onClick=${older}>${t('audit.older')}</button>`}
  </section>`;
}
