// Operator accounts, for administrators: who may sign in, on which sites, with which role; disable, delete, and
// tokens (a new one is shown once, then only listed without its secret, and can be revoked).
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { Dialog } from '../dialog.js';
import { errorText } from '../errors.js';
import { dateTime } from '../format.js';
import { label, languageOf, t } from '../i18n.js';
import { ROLES, can } from '../roles.js';
import { siteName } from '../sites.js';
import { sites } from '../store.js';

/** Site ids as typed: separated by commas or spaces. */
const siteList = (text) => text.split(/[\s,，]+/).filter(Boolean);

export function OperatorsPage() {
  const [rows, setRows] = useState();
  const [error, setError] = useState();
  const [creating, setCreating] = useState(false);
  /** A secret just issued (`{ name, token, mqtt? }`): shown once, until dismissed. */
  const [secret, setSecret] = useState();
  const load = () => get('/api/operators').then(setRows, (err) => setError(errorText(err)));
  useEffect(() => { load(); }, []);
  const put = (o) => setRows((list) => list.map((x) => (x.id === o.id ? { ...x, ...o } : x)));
  return html`<section>
    <div class="bar">
      <h2>${t('operators.title')}${rows && html` <span class="count">${rows.length}</span>`}</h2>
      ${can('POST /api/operators') && html`<button class="primary" data-action="new-operator" onClick=${() => setCreating(!creating)}>${t('operators.new')}</button>`}
    </div>
    ${secret && html`<${Secret} secret=${secret} onClose=${() => setSecret(undefined)} />`}
    ${creating && html`<${CreateForm} onDone=${(created) => {
      setCreating(false);
      if (!created) return;
      setSecret({ name: created.name, token: created.token, mqtt: created.mqtt });
      load();
    }} />`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${!rows ? !error && html`<p class="muted">${t('common.loading')}</p>`
      : rows.length === 0 ? html`<p class="empty" data-testid="no-operators">${t('operators.empty')}</p>`
      : html`<div class="scroll"><table class="operators" data-testid="operators">
          <thead><tr>
            <th>${t('operators.name')}</th><th>${t('operators.role')}</th><th>${t('operators.sites')}</th>
            <th>${t('operators.created')}</th><th>${t('operators.state')}</th><th></th>
          </tr></thead>
          <tbody>${rows.map((o) => html`<${Row} key=${o.id} operator=${o} onChange=${put} onSecret=${setSecret}
            onDeleted=${() => setRows((list) => list.filter((x) => x.id !== o.id))} />`)}</tbody>
        </table></div>`}
  </section>`;
}

/** One operator: role and enabled state change at once; tokens and deletion on request. */
function Row({ operator: o, onChange, onSecret, onDeleted }) {
  const [error, setError] = useState();
  const [tokens, setTokens] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const patch = async (body) => {
    setError(undefined);
    try {
      onChange(await api('PATCH', `/api/operators/${encodeURIComponent(o.id)}`, body));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const mayChange = can('PATCH /api/operators/:id');
  return html`<tr data-operator=${o.id} data-disabled=${String(o.disabled === true)} class=${o.disabled ? 'muted' : ''}>
    <td><strong lang=${languageOf(o.name)}>${o.name}</strong> <code class="muted">${o.id}</code></td>
    <td>${mayChange
      ? html`<select name="role" aria-label=${t('operators.role')} value=${o.role} onChange=${(e) => patch({ role: e.target.value })}>
          ${ROLES.map((r) => html`<option value=${r}>${label('role', r)}</option>`)}</select>`
      : label('role', o.role)}</td>
    <td>${(o.sites ?? []).map((x) => siteName(x)).join(', ')}</td>
    <td>${dateTime(o.createdAt)}</td>
    <td>${o.disabled ? t('operators.disabled') : t('operators.active')}</td>
    <td class="actions">
      ${mayChange && html`<button data-action="toggle-operator" onClick=${() => patch({ disabled: !o.disabled })}>
        ${o.disabled ? t('operators.enable') : t('operators.disable')}</button>`}
      <button aria-expanded=${String(tokens)} data-action="tokens" onClick=${() => setTokens(!tokens)}>${t('operators.tokens')}</button>
      ${can('DELETE /api/operators/:id') && html`<button class="danger" data-action="delete-operator" onClick=${() => setDeleting(true)}>${t('operators.delete')}</button>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${tokens && html`<${Tokens} operator=${o} onSecret=${onSecret} />`}
      ${deleting && html`<${DeleteDialog} operator=${o} onClose=${() => setDeleting(false)} onDeleted=${onDeleted} />`}
    </td>
  </tr>`;
}

/** The lifetimes a new token may be given (`expiresIn`); empty: it does not expire. */
const LIFETIMES = ['1d', '30d', '365d', ''];

/** A token's state: revoked, expired, or valid (until when). */
function tokenState(x, now = Date.now()) {
  if (x.revokedAt) return t('operators.revoked', { at: dateTime(x.revokedAt) });
  if (x.expiresAt && Date.parse(x.expiresAt) <= now) return t('operators.expired', { at: dateTime(x.expiresAt) });
  return x.expiresAt ? t('operators.expires', { at: dateTime(x.expiresAt) }) : t('operators.noExpiry');
}

/** An operator's tokens, without their secrets (made, last used, state; revoke), and a new one (shown once). */
function Tokens({ operator: o, onSecret }) {
  const [list, setList] = useState();
  const [lifetime, setLifetime] = useState('30d');
  const [error, setError] = useState();
  const path = `/api/operators/${encodeURIComponent(o.id)}/tokens`;
  const load = () => get(path).then(setList, (err) => setError(errorText(err)));
  useEffect(() => { load(); }, [o.id]);
  const revoke = async (id) => {
    setError(undefined);
    try {
      const revoked = await api('DELETE', `${path}/${encodeURIComponent(id)}`);
      setList(list.map((x) => (x.id === id ? revoked : x)));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const issue = async () => {
    setError(undefined);
    try {
      const r = await api('POST', path, lifetime ? { expiresIn: lifetime } : {});
      onSecret({ name: o.name, token: r.token, expiresAt: r.expiresAt });
      load();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<div class="tokens" data-testid="tokens">
    ${can('POST /api/operators/:id/tokens') && html`<div class="actions">
      <label class="filter">${t('operators.lifetime')}<select name="lifetime" value=${lifetime} onChange=${(e) => setLifetime(e.target.value)}>
        ${LIFETIMES.map((l) => html`<option value=${l}>${t(`operators.lifetime.${l || 'none'}`)}</option>`)}</select></label>
      <button data-action="new-token" onClick=${issue}>${t('operators.newToken')}</button>
    </div>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${!list ? !error && html`<p class="muted">${t('common.loading')}</p>`
      : list.length === 0 ? html`<p class="muted">${t('operators.noTokens')}</p>`
      : html`<ul>${list.map((x) => html`<li data-token=${x.id} data-revoked=${String(Boolean(x.revokedAt))}>
          <code>${x.id}</code> · ${[`${t('operators.created')} ${dateTime(x.createdAt)}`,
            x.lastUsedAt ? t('operators.lastUsed', { at: dateTime(x.lastUsedAt) }) : t('operators.neverUsed'), tokenState(x)].join(' · ')}
          ${!x.revokedAt && can('DELETE /api/operators/:id/tokens/:tokenId') && html` <button class="link" data-action="revoke-token" onClick=${() => revoke(x.id)}>${t('operators.revoke')}</button>`}
        </li>`)}</ul>`}
  </div>`;
}

/** A secret shown once: the token (and MQTT credentials of a new operator) to hand over now. */
function Secret({ secret: s, onClose }) {
  return html`<div class="card secret" role="status" data-testid="secret">
    <p><strong>${t('operators.secretFor', { name: s.name })}</strong></p>
    <p class="help">${t('operators.secretOnce')}</p>
    <dl class="facts">
      <div><dt>${t('login.token')}</dt><dd><code data-testid="secret-token">${s.token}</code></dd></div>
      ${s.mqtt && html`<div><dt>${t('operators.mqttUser')}</dt><dd><code>${s.mqtt.username}</code></dd></div>
        <div><dt>${t('operators.mqttPassword')}</dt><dd><code>${s.mqtt.password}</code></dd></div>`}
      ${s.expiresAt && html`<div><dt>${t('operators.expiry')}</dt><dd>${dateTime(s.expiresAt)}</dd></div>`}
    </dl>
    <button data-action="secret-done" onClick=${onClose}>${t('operators.secretDone')}</button>
  </div>`;
}

function CreateForm({ onDone }) {
  const [f, setF] = useState({ name: '', sites: sites().join(', '), role: 'viewer' });
  const [error, setError] = useState();
  const set = (name) => (e) => setF({ ...f, [name]: e.target.value });
  const submit = async (e) => {
    e.preventDefault();
    try {
      onDone(await api('POST', '/api/operators', { name: f.name.trim(), sites: siteList(f.sites), role: f.role }));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<form class="card create" onSubmit=${submit} data-testid="create-operator">
    <div class="grid">
      <label>${t('operators.name')}<input name="name" required maxlength="128" value=${f.name} onInput=${set('name')} /></label>
      <label>${t('operators.sites')}<input name="sites" required value=${f.sites} onInput=${set('sites')} /></label>
      <label>${t('operators.role')}<select name="role" value=${f.role} onChange=${set('role')}>
        ${ROLES.map((r) => html`<option value=${r}>${label('role', r)}</option>`)}</select></label>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button class="primary" type="submit" data-action="create">${t('operators.create')}</button>
      <button type="button" onClick=${() => onDone(undefined)}>${t('common.cancel')}</button>
    </div>
  </form>`;
}

/** Deleting asks first: the operator's tokens and MQTT account stop working at once. */
function DeleteDialog({ operator: o, onClose, onDeleted }) {
  const [error, setError] = useState();
  const confirm = async () => {
    try {
      await api('DELETE', `/api/operators/${encodeURIComponent(o.id)}`);
      onClose();
      onDeleted();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<${Dialog} title=${t('operators.deleteTitle', { name: o.name })} onClose=${onClose} testid="delete-operator-dialog">
    <p class="help">${t('operators.deleteHelp')}</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button class="danger" data-action="confirm" onClick=${confirm}>${t('operators.delete')}</button>
      <button type="button" data-action="cancel" onClick=${onClose}>${t('common.cancel')}</button>
    </div>
  <//>`;
}
