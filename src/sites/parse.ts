/**
 * Reads one site file into what the site model holds: the validated file, its plans read from disk, and the index
 * of its places (floors and zones) that alarms look their names up in. Every problem names the file, the site and
 * the field (`sites/mc.yaml: site "maple-court": buildings[0].floors[2].plan: plans/f3.svg does not exist`).
 */
import type { ItemParse } from '../shared/watched-folder.js';
import { inEveryLanguage, inLanguage, type Language, type Localised, type PlaceNames } from '../shared/language.js';
import { readPlan, type Plan } from './plans.js';
import { SiteFileSchema, type SiteFile } from './schema.js';

/** A floor or a zone of a site: its names in every language, its building's, and its plan. */
export interface Place {
  id: string;
  /** Whether it is a building's floor or a zone of the site's own list. */
  floor: boolean;
  name: Record<Language, string>;
  building?: { id: string; name: Record<Language, string> };
  plan?: Plan;
  /** The names in the site's first language, as alarms and work orders carry them. */
  names: PlaceNames;
}

/** A site file as loaded. */
export interface LoadedSite {
  file: string;
  site: SiteFile;
  /** Floors and zones by id: the lookup made for each alarm. */
  places: ReadonlyMap<string, Place>;
}

/** `buildings[0].floors[2].plan` from a zod path. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out ? `${out}.${String(p)}` : String(p)), '');
}

/** Validates a site file read from `sitesDir` (its plans are read too, relative to the file). */
export function parseSite(raw: unknown, file: string, sitesDir: string): ItemParse<LoadedSite> {
  const id = typeof (raw as { id?: unknown } | null)?.id === 'string' ? ` site ${JSON.stringify((raw as { id: string }).id)}:` : '';
  const problem = (field: string, message: string) => `${file}:${id} ${field || '(file)'}: ${message}`;
  const r = SiteFileSchema.safeParse(raw);
  if (!r.success) return { ok: false, errors: r.error.issues.map((i) => problem(fieldPath(i.path), i.message)) };
  const site = r.data;
  const errors: string[] = [];
  // Floors drawn alike share a plan: each file is read once per load.
  const reads = new Map<string, ReturnType<typeof readPlan>>();
  const plan = (rel: string | undefined, field: string): Plan | undefined => {
    if (rel === undefined) return undefined;
    const read = reads.get(rel) ?? readPlan(sitesDir, file, rel);
    reads.set(rel, read);
    if (read.ok) return read.plan;
    errors.push(problem(field, read.message));
    return undefined;
  };
  const places = new Map<string, Place>();
  const buildings = new Map(site.buildings.map((b) => [b.id, { id: b.id, name: names(b.name, b.id) }]));
  site.buildings.forEach((b, i) =>
    b.floors.forEach((f, j) => {
      const at = plan(f.plan, `buildings[${i}].floors[${j}].plan`);
      places.set(f.id, place(site.language, { id: f.id, floor: true, name: names(f.name, f.id), building: buildings.get(b.id), plan: at }));
    }),
  );
  site.zones.forEach((z, i) => {
    const at = plan(z.plan, `zones[${i}].plan`);
    const building = z.building === undefined ? undefined : buildings.get(z.building);
    places.set(z.id, place(site.language, { id: z.id, floor: false, name: names(z.name, z.id), building, plan: at }));
  });
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, item: { file, site, places } };
}

/** A name in every language; a place without one is called by its id. */
export function names(text: Localised | undefined, id: string): Record<Language, string> {
  return inEveryLanguage(text ?? id);
}

function place(language: Language, p: Omit<Place, 'names'>): Place {
  const names: PlaceNames = { zoneName: inLanguage(p.name, language), ...(p.building ? { buildingName: inLanguage(p.building.name, language) } : {}) };
  return { ...(p.plan ? p : withoutPlan(p)), names: Object.freeze(names) };
}

function withoutPlan(p: Omit<Place, 'names'>): Omit<Place, 'names'> {
  const { plan: _none, ...rest } = p;
  return rest;
}
