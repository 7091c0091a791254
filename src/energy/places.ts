/**
 * Which group each device is added to, and the group's names. A device's zone is a floor of a building or a zone
 * of the site file (which may name its building); a zone the file does not know, or a site without a file, falls
 * back on the device's `building` tag and then on the zone id up to its first `-` (`b2-f3` → `b2`), as the service
 * report does. Names are the site file's, in the site's language (`name`) and in both (`names`); without one, the id.
 */
import type { LoadedSite } from '../sites/parse.js';
import type { Tariff } from '../sites/tariff.js';
import { inEveryLanguage, type Language } from '../shared/language.js';

export const GROUP_BYS = ['site', 'building', 'zone', 'device'] as const;
export type GroupBy = (typeof GROUP_BYS)[number];

/** What the energy figures need of a registered device. */
export interface EnergyDevice {
  id: string;
  kind: string;
  site: string;
  zone: string;
  name?: string;
  tags: Record<string, string>;
}

/** What the energy figures need of the site model. */
export interface EnergyPlaces {
  loaded(site: string): LoadedSite | undefined;
  timeZone(site: string): string;
  language(site: string): Language;
  tariff(site: string): Tariff | undefined;
}

/** A row key of the answer and the devices added up under it. */
export interface EnergyGroup {
  key: string;
  name: string;
  names: Record<Language, string>;
  /** `device`+`kind`, `zone` or `building`, by what the rows are keyed on. */
  ids: { device?: string; kind?: 'energy' | 'water'; zone?: string; building?: string };
  devices: EnergyDevice[];
}

const both = (text: string): Record<Language, string> => ({ 'zh-CN': text, en: text });

/**
 * The building a device counts in. A zone the site file knows outside every building (a pump room, the estate's
 * substation) counts as a building of its own, under its id and names.
 */
export function buildingOf(device: EnergyDevice, site: LoadedSite | undefined): string {
  const place = site?.places.get(device.zone);
  if (place) return place.building?.id ?? device.zone;
  return device.tags.building || device.zone.split('-')[0];
}

/** The devices grouped by `by`, ordered by key. */
export function groupsOf(siteId: string, by: GroupBy, devices: readonly EnergyDevice[], places: EnergyPlaces): EnergyGroup[] {
  const site = places.loaded(siteId);
  const language = places.language(siteId);
  const groups = new Map<string, EnergyGroup>();
  for (const d of devices) {
    const key = by === 'site' ? siteId : by === 'device' ? d.id : by === 'zone' ? d.zone : buildingOf(d, site);
    let g = groups.get(key);
    if (!g) {
      const names = namesOf(by, key, d, site);
      g = { key, name: names[language], names, ids: idsOf(by, key, d), devices: [] };
      groups.set(key, g);
    }
    g.devices.push(d);
  }
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

function idsOf(by: GroupBy, key: string, d: EnergyDevice): EnergyGroup['ids'] {
  if (by === 'device') return { device: d.id, kind: d.kind as 'energy' | 'water' };
  if (by === 'zone') return { zone: key };
  if (by === 'building') return { building: key };
  return {};
}

function namesOf(by: GroupBy, key: string, d: EnergyDevice, site: LoadedSite | undefined): Record<Language, string> {
  if (by === 'device') return both(d.name ?? d.id);
  if (by === 'site') return site?.site.name === undefined ? both(key) : inEveryLanguage(site.site.name);
  if (by === 'zone') return site?.places.get(key)?.name ?? both(key);
  const building = site?.site.buildings.find((b) => b.id === key);
  if (building?.name !== undefined) return inEveryLanguage(building.name);
  return site?.places.get(key)?.name ?? both(key);
}

