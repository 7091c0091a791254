// Devices by site, building and floor (the site files' names, in the operator's language), online or offline, with
// their open alarms and the doors a fire left unlocked; natural order (f2 before f10), searchable. The device's own
// page is in device.js.
import { html, useEffect, useState } from '/vendor/htm-preact.js';
import { get } from '../api.js';
import { defs } from '../definitions.js';
import { ago, dateTime } from '../format.js';
import { LANGUAGES, label, t } from '../i18n.js';
import { changed, store, useStore } from '../store.js';
import { SiteFilter } from './alarms.js';
import { UnlockedBadge } from './device.js';
import { deviceName, naturalCompare, placeOf, useSites } from './places.js';
import { named as localised } from '../sites.js';

export { DevicePage } from './device.js';

/** Everything a search may find a device by: id, name, kind (code and words), zone and building (codes, both languages), tags. */
function searchText(d, place) {
  const kindWords = Object.values(LANGUAGES).map((table) => table[`kind.${d.kind}`]);
  return [
    d.id, ...(d.name && typeof d.name === 'object' ? Object.values(d.name) : [d.name]), d.kind, ...kindWords, d.zone, d.zoneName, d.buildingName,
    place.building.key, ...place.building.names, ...place.area.names,
    // "Building 1 Floor 10", "1号楼 10层": a place as one phrase in each language.
    ...place.building.names.map((b, i) => `${b} ${place.area.names[i] ?? ''}`),
    ...Object.entries(d.tags ?? {}).flat(),
  ].filter(Boolean).join('\n').toLowerCase();
}

/** Whether `phrase` is in `hay` and not followed by a digit: "floor 1" is not "floor 10". */
function hasPhrase(hay, phrase) {
  for (let i = hay.indexOf(phrase); i >= 0; i = hay.indexOf(phrase, i + 1)) if (!/\d/.test(hay.charAt(i + phrase.length))) return true;
  return false;
}

/** Whether every word of a search is found somewhere in what a device is found by ("3号楼 门禁", "b2 fire"). */
function found(words, hay) {
  return words.every((w) => hay.includes(w));
}

/** The devices as site → building → area → devices, each level in the site file's order, devices in natural order. */
function group(devices, sites) {
  const tree = new Map();
  for (const { d, place } of devices) {
    const site = sites.get(d.site);
    const bKey = `${d.site}\n${place.building.key}`;
    if (!tree.has(bKey)) {
      const siteName = site ? localised(site.name) : d.site;
      tree.set(bKey, { key: bKey, site: d.site, building: place.building.key, title: `${siteName} · ${place.building.name}`, rank: place.building.rank, areas: new Map() });
    }
    const areas = tree.get(bKey).areas;
    if (!areas.has(place.area.key)) areas.set(place.area.key, { ...place.area, devices: [] });
    areas.get(place.area.key).devices.push(d);
  }
  const byRank = (a, b) => a.rank - b.rank || naturalCompare(a.name ?? a.title, b.name ?? b.title);
  return [...tree.values()]
    .sort((a, b) => naturalCompare(a.site, b.site) || byRank(a, b))
    .map((b) => ({ ...b, areas: [...b.areas.values()].sort(byRank).map((a) => ({ ...a, devices: a.devices.sort((x, y) => naturalCompare(x.id, y.id)) })) }));
}

export function DevicesPage() {
  const s = useStore();
  useEffect(() => {
    const refresh = () => get('/api/devices').then((list) => {
      store.devices = new Map(list.map((d) => [d.id, d]));
      changed();
    }, (err) => console.warn('devices not refreshed', err)); // the list stays as the shell read it
    // Once on opening; then the live stream keeps it (online, offline, a door left unlocked after a fire).
    refresh();
  }, []);
  const sites = useSites();
  const [site, setSite] = useState('');
  const [kind, setKind] = useState('');
  const [state, setState] = useState('');
  const [text, setText] = useState('');
  const alarmsByDevice = new Map();
  for (const a of s.alarms.values()) if (a.device && !a.silenced) alarmsByDevice.set(a.device, (alarmsByDevice.get(a.device) ?? 0) + 1);
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const candidates = [...s.devices.values()]
    .filter((d) => (!site || d.site === site) && (!kind || d.kind === kind) && (!state || (state === 'online') === d.online))
    .map((d) => ({ d, place: placeOf(sites.get(d.site), d) }))
    .map((x) => ({ ...x, hay: searchText(x.d, x.place) }));
  const phrase = words.join(' ');
  // The search as one phrase first ("building 1 floor 10"), else every word anywhere ("b2 fire").
  const byPhrase = words.length > 1 ? candidates.filter((x) => hasPhrase(x.hay, phrase)) : [];
  const shown = words.length === 0 ? candidates : byPhrase.length > 0 ? byPhrase : candidates.filter((x) => found(words, x.hay));
  const groups = group(shown, sites);
  const online = shown.filter(({ d }) => d.online).length;
  const unlocked = shown.filter(({ d }) => d.unlockedAfterFire).length;
  return html`<section>
    <div class="bar">
      <h2>${t('devices.title')} <span class="muted">${t('devices.onlineOf', { online, total: shown.length })}</span></h2>
      <${SiteFilter} value=${site} onChange=${setSite} />
      <select aria-label=${t('common.kind')} value=${kind} onChange=${(e) => setKind(e.target.value)}>
        <option value="">${t('devices.allKinds')}</option>
        ${Object.keys(defs().kinds).map((k) => html`<option value=${k}>${label('kind', k)}</option>`)}
      </select>
      <select aria-label=${t('devices.state')} value=${state} onChange=${(e) => setState(e.target.value)}>
        <option value="">${t('devices.allStates')}</option>
        <option value="online">${t('devices.online')}</option>
        <option value="offline">${t('devices.offline')}</option>
      </select>
      <input type="search" name="search" placeholder=${t('devices.searchHelp')} aria-label=${t('common.search')} value=${text} onInput=${(e) => setText(e.target.value)} />
    </div>
    ${unlocked > 0 && html`<p class="banner-note unlocked" role="status" data-testid="unlocked-count">${t('devices.unlockedCount', { n: unlocked })}</p>`}
    ${shown.length === 0 && html`<p class="empty" data-testid="no-devices">${t('devices.empty')}</p>`}
    ${groups.map((b) => html`<details class="building" open data-site=${b.site} data-building=${b.building}>
      <summary><strong>${b.title}</strong> <span class="muted">${t('devices.onlineOf', { online: b.areas.flatMap((a) => a.devices).filter((d) => d.online).length, total: b.areas.reduce((n, a) => n + a.devices.length, 0) })}</span></summary>
      ${b.areas.map((area) => html`<div class="zone" data-zone=${area.key}>
        <h4>${area.name === area.key ? html`<code>${area.key}</code>` : html`${area.name} <code class="muted">${area.key}</code>`}${' '}
          <span class="muted">${t('devices.onlineOf', { online: area.devices.filter((d) => d.online).length, total: area.devices.length })}</span></h4>
        <ul class="devices">
          ${area.devices.map((d) => html`<li data-device=${d.id}>
            <a href=${`#/devices/${encodeURIComponent(d.id)}`}>
              <span class=${d.online ? 'dot on' : 'dot off'} title=${d.online ? t('devices.online') : t('devices.offline')}></span>
              <span class="sr-only">${d.online ? t('devices.online') : t('devices.offline')}</span>
              <span class="id">${deviceName(d)}</span>
              <span class="muted">${label('kind', d.kind)}</span>
              <span class="muted" title=${dateTime(d.lastSeen, sites.get(d.site)?.timezone)}>${ago(d.lastSeen)}</span>
              ${alarmsByDevice.get(d.id) && html`<span class="badge sev-major" title=${t('devices.openAlarms')}>${alarmsByDevice.get(d.id)}</span>`}
              <${UnlockedBadge} device=${d} />
            </a>
          </li>`)}
        </ul>
      </div>`)}
    </details>`)}
  </section>`;
}
