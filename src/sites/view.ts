/**
 * A site as the API shows it (contract §12): names in every language, plans as the URL that serves them with
 * their size, the duty list and the tariff. Never `channels` or `notify`: they hold webhook keys and secrets.
 */
import { inEveryLanguage, type Language } from '../shared/language.js';
import type { LoadedSite, Place } from './parse.js';
import { names } from './parse.js';

type Names = Record<Language, string>;
interface PlanView {
  url: string;
  width: number;
  height: number;
}

export interface SiteView {
  id: string;
  name: Names;
  language: Language;
  timezone: string;
  buildings: Array<{ id: string; name: Names; floors: Array<{ id: string; name: Names; plan?: PlanView }> }>;
  zones: Array<{ id: string; name: Names; building?: string; plan?: PlanView }>;
  duty: Array<{ match: Record<string, string[]>; name: Names; phone: string; during?: string }>;
  tariff?: { currency: string; energy: Array<{ from: string; to: string; price: number }> };
}

/** The site's JSON; `timeZone` is the gateway's, for a file that gives none. */
export function siteView(l: LoadedSite, timeZone: string): SiteView {
  const { site } = l;
  const plan = (p: Place | undefined): { plan?: PlanView } =>
    p?.plan ? { plan: { url: `/api/sites/${site.id}/plans/${encodeURIComponent(p.id)}?v=${p.plan.version}`, width: p.plan.width, height: p.plan.height } } : {};
  return {
    id: site.id,
    name: names(site.name, site.id),
    language: site.language,
    timezone: site.timezone ?? timeZone,
    buildings: site.buildings.map((b) => ({
      id: b.id,
      name: names(b.name, b.id),
      floors: b.floors.map((f) => ({ id: f.id, name: names(f.name, f.id), ...plan(l.places.get(f.id)) })),
    })),
    zones: site.zones.map((z) => ({ id: z.id, name: names(z.name, z.id), ...(z.building !== undefined ? { building: z.building } : {}), ...plan(l.places.get(z.id)) })),
    duty: site.duty.map((d) => ({
      match: Object.fromEntries(Object.entries(d.match).filter(([, v]) => v !== undefined)) as Record<string, string[]>,
      name: inEveryLanguage(d.name),
      phone: d.phone,
      ...(d.during !== undefined ? { during: d.during } : {}),
    })),
    ...(site.tariff ? { tariff: site.tariff } : {}),
  };
}
