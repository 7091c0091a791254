// The operator's sites as the gateway describes them (GET /api/sites, contract §12): the names of buildings, floors
// and zones in the page's language, floor plans, the duty list and each site's time zone. A gateway without site
// files (or an older one) serves none: the console then names places by the alarm's `zoneName`, else the code.
import { ApiError, get, token } from './api.js';
import { language } from './i18n.js';
import { changed, store } from './store.js';

/** Reads the sites; a gateway that does not serve them (404) leaves the list empty. */
export async function loadSites() {
  try {
    const list = await get('/api/sites');
    store.sites = new Map(list.map((s) => [s.id, s]));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    store.sites = new Map();
  }
  changed();
}

/** A name given per language (`{ zh-CN, en }`) or as one text: the page's language, else the other one. */
export function named(name) {
  if (name === undefined || name === null) return undefined;
  if (typeof name === 'string') return name;
  return name[language()] ?? name['zh-CN'] ?? name.en;
}

export function siteName(id) {
  return named(store.sites.get(id)?.name) ?? id;
}

/** The site's IANA time zone; undefined (the browser's) when the site has no file or names none. */
export function siteTimeZone(id) {
  return store.sites.get(id)?.timezone || undefined;
}

/**
 * Where a zone is on its site: `{ building, place, plan }` with the building's and the floor's or zone's names in the
 * page's language and the plan (`{ url, width, height }`) when there is one; undefined when the site's file does not
 * know the zone.
 */
export function placeOf(siteId, zone) {
  const site = store.sites.get(siteId);
  if (!site || !zone) return undefined;
  for (const b of site.buildings ?? []) {
    const floor = (b.floors ?? []).find((f) => f.id === zone);
    if (floor) return { buildingId: b.id, building: named(b.name), place: named(floor.name), plan: floor.plan };
  }
  const z = (site.zones ?? []).find((x) => x.id === zone);
  if (!z) return undefined;
  const b = (site.buildings ?? []).find((x) => x.id === z.building);
  return { buildingId: b?.id, building: named(b?.name), place: named(z.name), plan: z.plan };
}

/** A zone in words: "3号楼 · 12层" from the site model, else the name the alarm carries (`zoneName`), else the code. */
export function placeText(siteId, zone, zoneName) {
  const p = placeOf(siteId, zone);
  if (p) return [p.building, p.place].filter(Boolean).join(' · ');
  return zoneName ?? zone ?? '—';
}

/** Minutes since midnight now in a time zone (the site's), on a 24-hour clock. */
function minutesNow(timeZone, now) {
  const parts = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...(timeZone ? { timeZone } : {}) }).formatToParts(now);
  const part = (type) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return part('hour') * 60 + part('minute');
}

/** Whether `during` ("22:00-06:00", "00:00-24:00"; absent: always) holds at a minute of the day; a window may span midnight. */
export function within(during, minute) {
  if (!during) return true;
  const m = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(during.trim());
  if (!m) return true;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  return from <= to ? minute >= from && minute < to : minute >= from || minute < to;
}

const matches = (want, value) => want === undefined || (Array.isArray(want) ? want : [want]).includes(value);

/**
 * Who to call for an alarm now: the site's duty entries whose `match` fields (kind, type, severity, zone, building:
 * each one value or a list, all given must hold) fit the alarm and whose `during` holds now in the site's time zone.
 */
export function dutyFor(alarm, now = new Date()) {
  const site = store.sites.get(alarm.site);
  if (!site?.duty) return [];
  const minute = minutesNow(siteTimeZone(alarm.site), now);
  const building = placeOf(alarm.site, alarm.zone)?.buildingId;
  return site.duty.filter((d) => {
    const m = d.match ?? {};
    return matches(m.kind, alarm.kind) && matches(m.type, alarm.type) && matches(m.severity, alarm.severity) &&
      matches(m.zone, alarm.zone) && matches(m.building, building) && within(d.during, minute);
  });
}

/** Object URLs of the plans fetched so far, by plan URL: a plan is fetched once per page load. */
const plans = new Map();

/** A plan's picture as an object URL: fetched with the operator's token (an <img> cannot send it). */
export function planImage(url) {
  if (!plans.has(url)) {
    plans.set(url, fetch(url, { headers: { authorization: `Bearer ${token()}` } }).then(async (res) => {
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
      return URL.createObjectURL(await res.blob());
    }).catch((err) => {
      // Not kept: the next look tries again (the gateway may be back).
      plans.delete(url);
      throw err;
    }));
  }
  return plans.get(url);
}
