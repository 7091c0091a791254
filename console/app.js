// The console's shell: sign-in, navigation, the banner and sound of life-safety alarms, and the live store every page reads.
import { html, render, useEffect, useState } from '/vendor/htm-preact.js';
import { alarmingNow, enableSound, isMuted, mute, muteMs, startAlerting, unmute } from './alerting.js';
import { ApiError, api, forgetToken, follow, get, onForbidden, onUnauthorized, saveToken, token } from './api.js';
import { loadDefinitions, useDefinitions, defs } from './definitions.js';
import { errorText } from './errors.js';
import { clock, countdown, dateTime, duration, when } from './format.js';
import { forgetSnapshot, keepSnapshots, lastSnapshot, registerServiceWorker, restoreSnapshot } from './offline.js';
import { loadSites, placeText, siteTimeZone } from './sites.js';
import { LANGUAGES, label, language, setLanguage, t } from './i18n.js';
import { AlarmsPage, acknowledge, alarmText } from './pages/alarms.js';
import { AuditPage } from './pages/audit.js';
import { OperatorsPage } from './pages/operators.js';
import { DevicePage, DevicesPage } from './pages/devices.js';
import { EnergyPage } from './pages/energy.js';
import { ReportsPage } from './pages/reports.js';
import { RulesPage } from './pages/rules.js';
import { SilencesPage } from './pages/silences.js';
import { WorkOrdersPage } from './pages/workorders.js';
import { atLeast, can } from './roles.js';
import { awaitingAck, changed, isOpenAlarm, needsAck, putAlarm, sites, store, useNow, useStore } from './store.js';

/** A list the gateway may not serve (an older gateway): shown empty rather than stopping the console. */
const orEmpty = (path) => get(path).catch((err) => {
  if (err instanceof ApiError && err.status === 404) return [];
  throw err;
});

async function reload() {
  const [open, incidents, silences, pending, workOrders, devices] = await Promise.all([
    // Active, acknowledged, and the critical ones cleared but not yet acknowledged.
    get('/api/alarms?state=open'),
    orEmpty('/api/incidents?state=open'),
    orEmpty('/api/silences?state=active'),
    orEmpty('/api/silences?state=pending'),
    get('/api/workorders?limit=2000'),
    get('/api/devices'),
  ]);
  const alarms = open.filter(isOpenAlarm);
  store.alarms = new Map(alarms.map((a) => [a.id, a]));
  store.incidents = new Map(incidents.map(({ alarmList: _list, ...i }) => [i.id, i]));
  store.silences = new Map([...silences, ...pending].map((x) => [x.id, x]));
  store.workOrders = new Map(workOrders.map((w) => [w.id, w]));
  store.devices = new Map(devices.map((d) => [d.id, d]));
  // The sites' names, plans and duty lists: the pages fall back to zone codes while they are not there.
  await loadSites().catch((err) => console.warn('sites not loaded', err));
  store.dataAt = Date.now();
  store.live = true;
  store.lost = false;
  changed();
}

function onEvent(name, data) {
  if (name === 'alarm') {
    // A critical alarm its condition cleared before anyone acknowledged it stays until acknowledged.
    putAlarm(data.alarm);
    // Read out to a screen reader (the shell's aria-live region): what came in, and where.
    if (data.change === 'raised') store.announce = announcement(data.alarm);
  } else if (name === 'incident') {
    if (data.incident.state === 'closed') store.incidents.delete(data.incident.id);
    else store.incidents.set(data.incident.id, data.incident);
  } else if (name === 'silence') {
    store.silences.set(data.silence.id, data.silence);
  } else if (name === 'workorder') {
    store.workOrders.set(data.workOrder.id, data.workOrder);
  } else if (name === 'device') {
    const d = store.devices.get(data.device.id);
    // Whatever the event carries (online, lastSeen, unlockedAfterFire) over what the list said.
    if (d) store.devices.set(d.id, { ...d, ...data.device });
  }
  store.dataAt = Date.now();
  changed();
}

/** A new alarm in one sentence for a screen reader: severity, type, place and device. */
function announcement(a) {
  return t('alarms.announce', { severity: label('severity', a.severity), type: label('type', a.type, a.kind), place: placeText(a.site, a.zone, a.zoneName), device: a.device ?? a.source });
}

/** The tab's title when no alarm flashes in it: how many critical alarms wait for acknowledgement, and the console's name. */
function title() {
  const open = [...store.alarms.values()].filter((a) => a.severity === 'critical' && !a.silenced && needsAck(a)).length;
  return (open ? `(${open}) ` : '') + t('app.title');
}

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const fn = () => setHash(location.hash);
    addEventListener('hashchange', fn);
    return () => removeEventListener('hashchange', fn);
  }, []);
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { page: parts[0] || 'alarms', arg: parts[1] };
}

function SignIn({ onSignedIn }) {
  const [value, setValue] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState();
  const submit = async (e) => {
    e.preventDefault();
    setError(undefined);
    try {
      const me = await api('GET', '/api/me', undefined, { token: value.trim() });
      saveToken(value.trim(), remember);
      onSignedIn(me);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t('login.failed') : errorText(err));
    }
  };
  return html`<main class="signin">
    <form class="card" onSubmit=${submit}>
      <h1>${t('app.title')}</h1>
      <${LanguagePicker} />
      <label>${t('login.token')}
        <input name="token" type="password" autocomplete="current-password" required value=${value} onInput=${(e) => setValue(e.target.value)} />
      </label>
      <p class="help">${t('login.tokenHelp')}</p>
      <label class="inline"><input type="checkbox" checked=${remember} onChange=${(e) => setRemember(e.target.checked)} /> ${t('login.remember')}</label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button class="primary" type="submit">${t('login.submit')}</button>
    </form>
  </main>`;
}

function LanguagePicker() {
  const [, redraw] = useState(0);
  return html`<select class="lang" aria-label=${t('common.language')} value=${language()}
    onChange=${(e) => { setLanguage(e.target.value); redraw((n) => n + 1); changed(); }}>
    ${Object.keys(LANGUAGES).map((l) => html`<option value=${l}>${l === 'en' ? 'English' : '中文'}</option>`)}
  </select>`;
}

/**
 * Across every page while a life-safety or critical alarm is open and unacknowledged: the most urgent one (type,
 * zone, device, its sentence, when), acknowledge in one click, and the sound's mute with the time it has left.
 * Not an ARIA alert: its time ticks every second and a screen reader would read it out again and again; the shell's
 * live region announces each new alarm once.
 */
function Banner() {
  const s = useStore();
  useNow(1000);
  const now = Date.now();
  const [error, setError] = useState();
  const alarming = alarmingNow();
  if (alarming.length === 0) return null;
  const a = alarming[0];
  const sounding = alarming.some((x) => !isMuted(x, now));
  const muted = now < s.mute.until;
  const ack = async () => {
    const err = await acknowledge([a]);
    setError(errorText(err));
  };
  const message = alarmText(a);
  return html`<div class=${`banner critical flash${a.lifeSafety ? ' life-safety' : ''}`} role="region" aria-label=${t('alarms.newCritical')} data-banner-alarm=${a.id}
    data-sounding=${String(sounding)}>
    <a href="#/alarms"><strong>${t('alarms.newCritical')}</strong> · ${[...new Set([label('type', a.type, a.kind), a.zone && placeText(a.site, a.zone, a.zoneName), a.device ?? a.source])].filter(Boolean).join(' · ')}</a>
    ${a.test && html`<span class="badge test">${t('alarms.test')}</span>`}
    ${awaitingAck(a) && html`<span class="banner-state">${t('alarms.awaitingAck')}</span>`}
    ${message && html`<span class="banner-message">${message}</span>`}
    <time datetime=${a.firstSeen} title=${dateTime(a.firstSeen, siteTimeZone(a.site))}>${when(a.firstSeen, siteTimeZone(a.site), now)}</time>
    ${alarming.length > 1 && html`<span class="banner-more">${t('alarms.more', { n: alarming.length - 1 })}</span>`}
    <span class="banner-actions">
      ${can('POST /api/alarms/:id/ack') && html`<button class="primary" data-action="banner-ack" onClick=${ack}>${t('alarms.ack')}</button>`}
      ${sounding
        ? html`<button data-action="mute" onClick=${mute}>${t('sound.mute', { d: duration(muteMs()) })}</button>`
        : muted && html`<span class="muted-left" data-testid="muted">${t('sound.muted', { left: countdown(s.mute.until - now) })}</span>
            <button data-action="unmute" onClick=${unmute}>${t('sound.unmute')}</button>`}
      ${sounding && s.audioBlocked && html`<button data-action="enable-sound" onClick=${enableSound}>${t('sound.enable')}</button>`}
    </span>
    ${error && html`<span class="banner-error" role="status">${error}</span>`}
  </div>`;
}

/** The time zone of the signed-in person's sites when they share one (the times on the pages are theirs), else the browser's. */
function oneTimeZone() {
  const zones = new Set(sites().map(siteTimeZone));
  return zones.size === 1 ? [...zones][0] : undefined;
}

/** Says so, across the page, while the live stream is down and the console tries again; and how old the data shown is. */
function LiveBar() {
  const s = useStore();
  if (s.live || !s.lost) return null;
  return html`<div class="banner lost" role="status" data-testid="connection-lost">
    ${s.dataAt > 0 && html`<strong data-testid="offline">${t('offline.showing', { time: clock(new Date(s.dataAt).toISOString(), oneTimeZone()) })}</strong> `}
    ${t('live.lost')}</div>`;
}

function Shell({ onSignOut }) {
  const s = useStore();
  const { page, arg } = useRoute();
  const open = [...s.alarms.values()].filter((a) => !a.silenced).length;
  const silences = [...s.silences.values()].filter((x) => x.state === 'active').length;
  const nav = [
    ['alarms', t('nav.alarms'), open],
    ['workorders', t('nav.workorders')],
    ['devices', t('nav.devices')],
    ['rules', t('nav.rules')],
    ['silences', t('nav.silences'), silences],
    ['reports', t('nav.reports')],
    ['energy', t('nav.energy')],
    // The audit trail is the supervisors' and admins' (contract §15); the others do not see the entry.
    ...(atLeast('supervisor') ? [['audit', t('nav.audit')]] : []),
    ...(atLeast('admin') ? [['operators', t('nav.operators')]] : []),
  ];
  const body = {
    alarms: () => html`<${AlarmsPage} />`,
    workorders: () => html`<${WorkOrdersPage} />`,
    devices: () => (arg ? html`<${DevicePage} id=${arg} />` : html`<${DevicesPage} />`),
    rules: () => html`<${RulesPage} />`,
    silences: () => html`<${SilencesPage} key=${arg ?? ''} alarm=${arg} />`,
    reports: () => html`<${ReportsPage} />`,
    energy: () => html`<${EnergyPage} />`,
    audit: () => html`<${AuditPage} />`,
    operators: () => html`<${OperatorsPage} />`,
  }[page] ?? (() => html`<${AlarmsPage} />`);
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>${t('a11y.skip')}</a>
    <header class="top">
      <strong class="brand">${t('app.title')}</strong>
      <nav aria-label=${t('a11y.nav')}>
        ${nav.map(([id, name, count]) => html`<a href=${`#/${id}`} class=${page === id ? 'here' : ''} aria-current=${page === id ? 'page' : undefined}>
          ${name}${count ? html` <span class="count" aria-label=${t('a11y.count', { n: count })}>${count}</span>` : ''}</a>`)}
      </nav>
      <span class="tools">
        <span class=${s.live ? 'live on' : 'live off'} title=${s.live ? t('live.connected') : t('live.disconnected')}>
          ● ${s.live ? t('live.connected') : t('live.disconnected')}</span>
        <${LanguagePicker} />
        <span class="who">${s.me?.name}${s.me?.role && html` <span class="role" data-testid="role" data-role=${s.me.role}>${label('role', s.me.role)}</span>`}</span>
        <button class="link" onClick=${onSignOut}>${t('nav.logout')}</button>
      </span>
    </header>
    <${LiveBar} />
    <${Banner} />
    <div class="sr-only" aria-live="assertive" data-testid="announce">${s.announce}</div>
    <main class="page" id="main" tabindex="-1">${body()}</main>`;
}

/** Pause before asking for the definitions again when the gateway did not answer. */
const DEFINITIONS_RETRY_MS = 3000;

function App() {
  const [me, setMe] = useState();
  const [checked, setChecked] = useState(false);
  const [defined, setDefined] = useState(false);
  const [defsError, setDefsError] = useState();
  useEffect(() => {
    const back = () => { forgetToken(); forgetSnapshot(); setMe(undefined); };
    const off = onUnauthorized(back);
    // Refused for the role (it may have changed since sign-in): read it again, so the pages hide what it may not do.
    const offForbidden = onForbidden(() => get('/api/me').then((fresh) => {
      if (!store.me) return;
      store.me = fresh;
      changed();
    }, (err) => console.warn('role not read again', err)));
    registerServiceWorker();
    // Without a connection (not a refused token), the last data this tab showed, marked as old, rather than nothing.
    const offline = (err) => {
      const snap = !(err instanceof ApiError && err.status === 401) && lastSnapshot();
      if (snap?.me && snap.definitions && restoreSnapshot(snap)) {
        useDefinitions(snap.definitions);
        store.lost = true;
        setMe(snap.me);
      } else back();
    };
    if (token()) get('/api/me').then(setMe, offline).finally(() => setChecked(true));
    else setChecked(true);
    return () => { off(); offForbidden(); };
  }, []);
  useEffect(() => {
    if (!me) return undefined;
    store.me = me;
    // The definitions first: every page reads the kinds, severities and statuses from them.
    let stop;
    let retry;
    let cancelled = false;
    // Offline with kept definitions: the pages show the kept data; the live stream reloads all once it is back.
    const definitions = () => loadDefinitions().catch((err) => {
      if (!(err instanceof ApiError) && store.dataAt > 0) return undefined;
      throw err;
    });
    const start = () => definitions().then(
      () => {
        if (cancelled) return;
        setDefsError(undefined);
        setDefined(true);
        const quiet = startAlerting(title);
        const unfollow = follow({
          onEvent,
          onOpen: reload,
          onDown: () => { store.live = false; store.lost = true; changed(); },
        });
        const unkeep = keepSnapshots(defs);
        stop = () => { unfollow(); quiet(); unkeep(); };
      },
      (err) => {
        // A 401 has already sent the console back to the sign-in page; anything else is tried again.
        if (cancelled || (err instanceof ApiError && err.status === 401)) return;
        setDefsError(errorText(err));
        retry = setTimeout(start, DEFINITIONS_RETRY_MS);
      },
    );
    start();
    return () => {
      cancelled = true;
      clearTimeout(retry);
      stop?.();
      setDefined(false);
    };
  }, [me]);
  if (!checked) return null;
  if (!me) return html`<${SignIn} onSignedIn=${setMe} />`;
  if (!defined) return html`<main class="page"><p class=${defsError ? 'error' : 'muted'} role="status">${defsError ?? t('common.loading')}</p></main>`;
  return html`<${Shell} onSignOut=${() => { forgetToken(); forgetSnapshot(); store.me = undefined; setMe(undefined); }} />`;
}

render(html`<${App} />`, document.getElementById('app'));
