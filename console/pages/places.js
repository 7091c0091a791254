// Where a device is, in words: its building and floor (or zone) from the site files (GET /api/sites, contract §12),
// in the operator's language; the zone's code when the site has no file. The pages re-render through useStore
// when the shell has read the sites.
import { building as buildingCode } from '../format.js';
import { inLanguage, language, t } from '../i18n.js';
import { named as localised } from '../sites.js';
import { store } from '../store.js';

/** The site files by id (read by the shell, console/sites.js); empty until then, and without site files. */
export function useSites() {
  return store.sites ?? new Map();
}

/**
 * What a device is called on the page: its name when given per language or written in the page's language (a name
 * the simulator writes in English is not shown on a Chinese page), else its id.
 */
export function deviceName(d) {
  if (d.name && typeof d.name === 'object') return localised(d.name) ?? d.id;
  return d.name && inLanguage(d.name) ? d.name : d.id;
}

/** Every language's form of a text, for search. */
const everyForm = (text) => (text && typeof text === 'object' ? Object.values(text) : text ? [text] : []);

/**
 * A device's building and area (a floor, or a zone that is not a floor) as the device list groups them, each with a
 * key, its words in the page's language, every form of them (search), and a rank (the site file's order).
 * A zone the site file lacks goes to "Other" with its code; a site with no file groups by the zone's code.
 */
export function placeOf(site, device) {
  const zone = device.zone;
  if (!site) {
    const code = device.tags?.building ?? buildingCode(zone);
    return { building: { key: code, name: code, names: [code], rank: 0 }, area: { key: zone, name: zone, names: [zone], rank: 0 }, known: true };
  }
  const buildings = site.buildings ?? [];
  const named = (b, rank) => ({ key: b.id, name: localised(b.name), names: everyForm(b.name), rank });
  for (const [bi, b] of buildings.entries()) {
    const fi = (b.floors ?? []).findIndex((f) => f.id === zone);
    if (fi >= 0) {
      const f = b.floors[fi];
      return { building: named(b, bi), area: { key: f.id, name: localised(f.name), names: everyForm(f.name), rank: fi, plan: f.plan }, known: true };
    }
  }
  const zi = (site.zones ?? []).findIndex((z) => z.id === zone);
  if (zi >= 0) {
    const z = site.zones[zi];
    const bi = buildings.findIndex((b) => b.id === z.building);
    const building = bi >= 0 ? named(buildings[bi], bi) : { key: '~grounds', name: t('devices.grounds'), names: [], rank: buildings.length };
    return { building, area: { key: z.id, name: localised(z.name), names: everyForm(z.name), rank: 1000 + zi, plan: z.plan }, known: true };
  }
  return {
    building: { key: '~other', name: t('devices.other'), names: [], rank: buildings.length + 1 },
    area: { key: zone, name: zone, names: [], rank: 2000 },
    known: false,
  };
}

/** Natural order in the page's language: f2 before f10, lift-2 before lift-10. */
export function naturalCompare(a, b) {
  if (collator?.resolvedLanguage !== language()) collator = { resolvedLanguage: language(), compare: new Intl.Collator(language(), { numeric: true, sensitivity: 'base' }).compare };
  return collator.compare(a, b);
}
let collator;
