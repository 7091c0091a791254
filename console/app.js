// The console's shell: sign-in, navigation, and the live store every page reads.
import { html, render, useEffect, useState } from '/vendor/htm-preact.js';
import { ApiError, api, forgetToken, follow, get, onUnauthorized, saveToken, token } from './api.js';
import { loadDefinitions } from './definitions.js';
import { LANGUAGES, label, language, setLanguage, t } from './i18n.js';
import { AlarmsPage } from './pages/alarms.js';
import { DevicePage, DevicesPage } from './pages/devices.js';
import { ReportsPage } from './pages/reports.js';
import { RulesPage } from './pages/rules.js';
import { WorkOrdersPage } from './pages/workorders.js';
import { changed, store, useStore } from './store.js';

async function reload() {
  const [active, acknowledged, workOrders, devices] = await Promise.all([
    get('/api/alarms?state=active'),
    get('/api/alarms?state=acknowledged'),
    get('/api/workorders?limit=2000'),
    get('/api/devices'),
  ]);
  store.alarms = new Map([...active, ...acknowledged].map((a) => [a.id, a]));
  store.workOrders = new Map(workOrders.map((w) => [w.id, w]));
  store.devices = new Map(devices.map((d) => [d.id, d]));
  store.live = true;
  changed();
}

function onEvent(name, data) {
  if (name === 'alarm') {
    const { alarm, change } = data;
    const before = store.alarms.get(alarm.id);
    if (alarm.state === 'cleared') store.alarms.delete(alarm.id);
    else store.alarms.set(alarm.id, alarm);
    if (alarm.state === 'active' && alarm.severity === 'critical' && before?.severity !== 'critical' && change !== 'acknowledged') {
      alertCritical(alarm);
    }
    if (store.alert?.id === alarm.id && alarm.state !== 'active') store.alert = undefined;
  } else if (name === 'workorder') {
    store.workOrders.set(data.workOrder.id, data.workOrder);
  } else if (name === 'device') {
    const d = store.devices.get(data.device.id);
    if (d) store.devices.set(d.id, { ...d, online: data.device.online, lastSeen: data.device.lastSeen });
  }
  changed();
}

let audio;
/** A new critical alarm: the banner flashes, the tab's title says so, and (unless muted) three beeps sound. */
function alertCritical(alarm) {
  store.alert = alarm;
  if (!store.sound) return;
  try {
    audio ??= new AudioContext();
    for (let i = 0; i < 3; i++) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(audio.destination);
      const at = audio.currentTime + i * 0.4;
      osc.start(at);
      osc.stop(at + 0.25);
    }
  } catch (err) {
    // A browser that allows no sound before a click still shows the flashing banner.
    console.warn('alarm sound unavailable', err);
  }
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
      setError(err instanceof ApiError && err.status === 401 ? t('login.failed') : err.message);
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
  return html`<select class="lang" aria-label="language" value=${language()}
    onChange=${(e) => { setLanguage(e.target.value); redraw((n) => n + 1); changed(); }}>
    ${Object.keys(LANGUAGES).map((l) => html`<option value=${l}>${l === 'en' ? 'English' : '中文'}</option>`)}
  </select>`;
}

function Banner() {
  const { alert } = useStore();
  if (!alert) return null;
  return html`<div class="banner critical flash" role="alert" data-banner-alarm=${alert.id}>
    <a href="#/alarms" onClick=${() => { store.alert = undefined; changed(); }}>
      <strong>${t('alarms.newCritical')}</strong> · ${[...new Set([label('type', alert.type, alert.kind), alert.zone, alert.device ?? alert.source])].filter(Boolean).join(' · ')}
    </a>
  </div>`;
}

function Shell({ onSignOut }) {
  const s = useStore();
  const { page, arg } = useRoute();
  const openCritical = [...s.alarms.values()].filter((a) => a.severity === 'critical' && a.state === 'active').length;
  useEffect(() => {
    document.title = (openCritical ? `(${openCritical}) ` : '') + t('app.title');
  }, [openCritical, language()]);
  const nav = [
    ['alarms', t('nav.alarms'), s.alarms.size],
    ['workorders', t('nav.workorders')],
    ['devices', t('nav.devices')],
    ['rules', t('nav.rules')],
    ['reports', t('nav.reports')],
  ];
  const body = {
    alarms: () => html`<${AlarmsPage} />`,
    workorders: () => html`<${WorkOrdersPage} />`,
    devices: () => (arg ? html`<${DevicePage} id=${arg} />` : html`<${DevicesPage} />`),
    rules: () => html`<${RulesPage} />`,
    reports: () => html`<${ReportsPage} />`,
  }[page] ?? (() => html`<${AlarmsPage} />`);
  return html`
    <header class="top">
      <strong class="brand">${t('app.title')}</strong>
      <nav>
        ${nav.map(([id, name, count]) => html`<a href=${`#/${id}`} class=${page === id ? 'here' : ''}>
          ${name}${count ? html` <span class="count">${count}</span>` : ''}</a>`)}
      </nav>
      <span class="tools">
        <span class=${s.live ? 'live on' : 'live off'} title=${s.live ? t('live.connected') : t('live.disconnected')}>
          ● ${s.live ? t('live.connected') : t('live.disconnected')}</span>
        <label class="inline"><input type="checkbox" checked=${s.sound}
          onChange=${(e) => { store.sound = e.target.checked; localStorage.setItem('sound', store.sound ? 'on' : 'off'); changed(); }} /> ${t('nav.sound')}</label>
        <${LanguagePicker} />
        <span class="who">${s.me?.name}</span>
        <button class="link" onClick=${onSignOut}>${t('nav.logout')}</button>
      </span>
    </header>
    <${Banner} />
    <main class="page">${body()}</main>`;
}

/** Pause before asking for the definitions again when the gateway did not answer. */
const DEFINITIONS_RETRY_MS = 3000;

function App() {
  const [me, setMe] = useState();
  const [checked, setChecked] = useState(false);
  const [defined, setDefined] = useState(false);
  const [defsError, setDefsError] = useState();
  useEffect(() => {
    const back = () => { forgetToken(); setMe(undefined); };
    const off = onUnauthorized(back);
    if (token()) get('/api/me').then(setMe, back).finally(() => setChecked(true));
    else setChecked(true);
    return off;
  }, []);
  useEffect(() => {
    if (!me) return undefined;
    store.me = me;
    // The definitions first: every page reads the kinds, severities and statuses from them.
    let stop;
    let retry;
    let cancelled = false;
    const start = () => loadDefinitions().then(
      () => {
        if (cancelled) return;
        setDefsError(undefined);
        setDefined(true);
        stop = follow({
          onEvent,
          onOpen: reload,
          onDown: () => { store.live = false; changed(); },
        });
      },
      (err) => {
        // A 401 has already sent the console back to the sign-in page; anything else is tried again.
        if (cancelled || (err instanceof ApiError && err.status === 401)) return;
        setDefsError(err.message);
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
  return html`<${Shell} onSignOut=${() => { forgetToken(); store.me = undefined; setMe(undefined); }} />`;
}

render(html`<${App} />`, document.getElementById('app'));
