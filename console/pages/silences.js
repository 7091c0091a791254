// Silences: maintenance and test windows that hold a zone's, devices', kind's or alarm type's alarms back from the
// topics and the desk's sound, with who made them, why, and the time they have left. Life-safety alarms are never held.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { api, get } from '../api.js';
import { errorText } from '../errors.js';
import { defs } from '../definitions.js';
import { countdown, dateTime, duration, localInput } from '../format.js';
import { label, t } from '../i18n.js';
import { GUARD_SILENCE_MAX_MS, can, limitedSilences } from '../roles.js';
import { placeText, siteName } from '../sites.js';
import { changed, sites, store, useNow, useStore } from '../store.js';
import { SiteFilter } from './alarms.js';

const MIN = 60_000;
/** The lengths the form offers; "until" takes a time instead. */
const DURATIONS = [15 * MIN, 30 * MIN, 60 * MIN, 120 * MIN, 240 * MIN, 480 * MIN, 1440 * MIN];

/** Keeps a silence as the gateway last described it. */
export function putSilence(silence) {
  store.silences.set(silence.id, silence);
  changed();
}

/** The silences page; `alarm` (an open alarm's id, from its card's "Silence…") opens the form filled in for it. */
export function SilencesPage({ alarm }) {
  const s = useStore();
  useNow(1000);
  const now = Date.now();
  const [site, setSite] = useState('');
  const [creating, setCreating] = useState(Boolean(alarm) && can('POST /api/silences'));
  const [ended, setEnded] = useState([]);
  const all = [...s.silences.values()].filter((x) => !site || x.site === site);
  const current = all.filter((x) => x.state !== 'ended').sort((a, b) => a.to.localeCompare(b.to));
  const endedIds = new Set(all.filter((x) => x.state === 'ended').map((x) => x.id));
  useEffect(() => {
    get('/api/silences?state=ended').then((rows) => setEnded(rows), () => setEnded([]));
  }, [endedIds.size]);
  const past = [...new Map([...ended, ...all.filter((x) => x.state === 'ended')].map((x) => [x.id, x])).values()]
    .filter((x) => !site || x.site === site)
    .sort((a, b) => (b.endedAt ?? b.to).localeCompare(a.endedAt ?? a.to))
    .slice(0, 20);
  return html`<section>
    <div class="bar">
      <h2>${t('silences.title')} <span class="count">${current.length}</span></h2>
      <${SiteFilter} value=${site} onChange=${setSite} />
      ${can('POST /api/silences') && html`<button class="primary" data-action="new-silence" onClick=${() => setCreating(!creating)}>${t('silences.new')}</button>`}
    </div>
    <p class="help">${t('silences.help')}</p>
    ${creating && html`<${CreateForm} alarm=${alarm && store.alarms.get(alarm)} onDone=${() => setCreating(false)} />`}
    ${current.length === 0
      ? html`<p class="empty" data-testid="no-silences">${t('silences.empty')}</p>`
      : html`<table class="silences">
          <thead><tr>
            <th>${t('common.site')}</th><th>${t('silences.match')}</th><th>${t('silences.reason')}</th><th>${t('silences.createdBy')}</th>
            <th>${t('silences.remaining')}</th><th></th>
          </tr></thead>
          <tbody>${current.map((x) => html`<${Row} key=${x.id} silence=${x} now=${now} />`)}</tbody>
        </table>`}
    ${past.length > 0 && html`<details class="recent">
      <summary>${t('silences.ended')} (${past.length})</summary>
      <table class="silences">
        <tbody>${past.map((x) => html`<tr data-silence=${x.id} data-state="ended">
          <td>${siteName(x.site)}</td><td>${matchText(x.site, x.match)}</td><td>${x.reason}</td><td>${x.createdBy}</td>
          <td>${dateTime(x.from)} – ${dateTime(x.endedAt ?? x.to)}</td><td>${x.endedBy ?? ''}</td>
        </tr>`)}</tbody>
      </table>
    </details>`}
  </section>`;
}

/** What a silence holds back, in words: "Zone Building 1 · Floor 2 · Kind Door". */
function matchText(site, m) {
  return [
    m.zone && `${t('common.zone')} ${placeText(site, m.zone)}`,
    m.devices && `${t('common.device')} ${m.devices.join(', ')}`,
    m.kind && `${t('common.kind')} ${label('kind', m.kind)}`,
    m.type && `${t('silences.type')} ${label('type', m.type)}`,
  ].filter(Boolean).join(' · ');
}

function Row({ silence: x, now }) {
  const [error, setError] = useState();
  const pending = x.state === 'pending';
  const left = new Date(pending ? x.from : x.to).getTime() - now;
  const end = async () => {
    try {
      putSilence(await api('DELETE', `/api/silences/${encodeURIComponent(x.id)}`));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<tr data-silence=${x.id} data-state=${x.state}>
    <td>${siteName(x.site)}</td>
    <td>${matchText(x.site, x.match)}${x.fireTest && html` <span class="badge test">${t('silences.fireTestBadge')}</span>`}</td>
    <td>${x.reason}</td>
    <td>${x.createdBy}<div class="help">${dateTime(x.createdAt)}</div></td>
    <td class="remaining" title=${`${dateTime(x.from)} – ${dateTime(x.to)}`}>
      ${pending ? t('silences.startsIn', { left: countdown(left) }) : html`<span data-testid="remaining">${countdown(left)}</span>`}
    </td>
    <td>
      ${can('DELETE /api/silences/:id') && html`<button data-action="end-silence" onClick=${end}>${t('silences.end')}</button>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </td>
  </tr>`;
}

/** The lengths the signed-in role may choose: a guard's silences last an hour at most (contract §15). */
const lengths = () => (limitedSilences() ? DURATIONS.filter((ms) => ms <= GUARD_SILENCE_MAX_MS) : DURATIONS);

/** A new silence; `alarm` (optional, never a life-safety one) fills in its site, device and type. */
function CreateForm({ alarm, onDone }) {
  const mine = sites();
  const limited = limitedSilences();
  const [f, setF] = useState({ site: alarm?.site ?? mine[0] ?? '', zone: '', devices: alarm?.device ?? '', kind: '', type: alarm?.type ?? '', length: String(60 * MIN), to: '', from: '', reason: '', fireTest: false });
  const [error, setError] = useState();
  const set = (name) => (e) => setF({ ...f, [name]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const zones = [...new Set([...store.devices.values()].filter((d) => d.site === f.site).map((d) => d.zone))].sort();
  const submit = async (e) => {
    e.preventDefault();
    setError(undefined);
    const match = {};
    if (f.zone.trim()) match.zone = f.zone.trim();
    const devices = f.devices.split(/[\s,，]+/).filter(Boolean);
    if (devices.length) match.devices = devices;
    if (f.kind) match.kind = f.kind;
    if (f.type.trim()) match.type = f.type.trim();
    if (Object.keys(match).length === 0) return setError(t('silences.needMatch'));
    const from = f.from ? new Date(f.from).getTime() : Date.now();
    const to = f.length === 'until' ? new Date(f.to).getTime() : from + Number(f.length);
    if (!Number.isFinite(to) || to <= from) return setError(t('silences.badTime'));
    const body = { site: f.site, match, to: new Date(to).toISOString(), reason: f.reason.trim() };
    if (f.from) body.from = new Date(from).toISOString();
    if (f.fireTest) body.fireTest = true;
    try {
      putSilence(await api('POST', '/api/silences', body));
      onDone();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return html`<form class="card create" onSubmit=${submit} data-testid="create-silence">
    <div class="grid">
      <label>${t('common.site')}<select name="site" value=${f.site} onChange=${set('site')}>${mine.map((x) => html`<option value=${x}>${siteName(x)}</option>`)}</select></label>
      <label>${t('common.zone')}<input name="zone" list="silence-zones" maxlength="64" value=${f.zone} onInput=${set('zone')} /></label>
      <datalist id="silence-zones">${zones.map((z) => html`<option value=${z} />`)}</datalist>
      <label>${t('silences.devices')}<input name="devices" maxlength="4000" value=${f.devices} onInput=${set('devices')} /></label>
      <label>${t('common.kind')}<select name="kind" value=${f.kind} onChange=${set('kind')}>
        <option value="">${t('common.all')}</option>
        ${Object.keys(defs().kinds).map((k) => html`<option value=${k}>${label('kind', k)}</option>`)}
      </select></label>
      <label>${t('silences.type')}<input name="type" maxlength="64" pattern="[A-Za-z0-9_\\-]{1,64}" value=${f.type} onInput=${set('type')} /></label>
      <label>${t('silences.from')}<input name="from" type="datetime-local" value=${f.from} min=${localInput(Date.now())} onInput=${set('from')} /></label>
      <label>${t('silences.duration')}<select name="length" value=${f.length} onChange=${set('length')}>
        ${lengths().map((ms) => html`<option value=${String(ms)}>${duration(ms)}</option>`)}
        ${!limited && html`<option value="until">${t('silences.until')}</option>`}
      </select></label>
      ${f.length === 'until' && html`<label>${t('silences.to')}<input name="to" type="datetime-local" required value=${f.to} onInput=${set('to')} /></label>`}
    </div>
    <label>${t('silences.reason')}<textarea name="reason" rows="2" required maxlength="500" value=${f.reason} onInput=${set('reason')}></textarea></label>
    ${!limited && html`<label class="inline"><input type="checkbox" name="fireTest" checked=${f.fireTest} onChange=${set('fireTest')} /> ${t('silences.fireTest')}</label>`}
    <p class="help">${t('silences.lifeSafety')}</p>
    ${limited && html`<p class="help" data-testid="silence-limit">${t('silences.guardLimit', { d: duration(GUARD_SILENCE_MAX_MS) })}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button class="primary" type="submit" data-action="create">${t('silences.create')}</button>
      <button type="button" onClick=${onDone}>${t('common.cancel')}</button>
    </div>
  </form>`;
}
