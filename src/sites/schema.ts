/**
 * A site file (contract §12): the site's names and first language, its time zone, its buildings with their floors,
 * the zones that are not floors, who is on duty for what, the energy tariff, and the notification part (§16).
 * This schema checks the file's own shape; the plans it names are checked against the disk by `parse.ts`.
 */
import { z } from 'zod';
import { SEVERITIES } from '../alarms/model.js';
import { DEFAULT_LANGUAGE, LANGUAGES, localisedSchema } from '../shared/language.js';
import { SITE_RE, ZONE_RE } from '../topics.js';
import { ChannelSchema, checkChannels, NotifyEntrySchema } from './notify-schema.js';
import { minuteOfDay, TariffSchema } from './tariff.js';

/** True when `name` is an IANA time zone this Node knows (`Asia/Shanghai`). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    // RangeError: not a time zone; the answer says so.
    return false;
  }
}

const Id = z.string().regex(ZONE_RE, 'must be 1-64 letters, digits, _ or -');
const Name = localisedSchema(z.string().min(1).max(128));
/** A plan file, relative to the site file's folder. */
const PlanPath = z.string().min(1).max(256);

const FloorSchema = z.strictObject({ id: Id, name: Name.optional(), plan: PlanPath.optional() });

const BuildingSchema = z.strictObject({
  id: Id,
  name: Name.optional(),
  floors: z.array(FloorSchema).max(200).default([]),
});

const ZoneSchema = z.strictObject({ id: Id, name: Name.optional(), building: Id.optional(), plan: PlanPath.optional() });

/** One value or a list of them, read as a list. */
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

const DutySchema = z.strictObject({
  /** Which alarms this person or desk is called for: every field given must hold (a list is any of its values). */
  match: z
    .strictObject({
      kind: oneOrMany(z.string().min(1).max(64)).optional(),
      type: oneOrMany(z.string().min(1).max(64)).optional(),
      severity: oneOrMany(z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` })).optional(),
      zone: oneOrMany(Id).optional(),
    })
    .default({}),
  name: Name,
  phone: z.string().regex(/^\+?[0-9][0-9 ()-]{2,31}$/, 'must be a phone number (digits, spaces, -, parentheses, a leading +)'),
  /** Local time of the site, `HH:MM-HH:MM`; a range past midnight (`18:00-08:00`) wraps. Absent: always. */
  during: z
    .string()
    .refine((s) => {
      const [from, to, extra] = s.split('-');
      const time = (t: string | undefined) => t !== undefined && !Number.isNaN(minuteOfDay(t));
      return extra === undefined && time(from) && time(to) && from !== to && from !== '24:00';
    }, 'must be HH:MM-HH:MM, e.g. 08:00-18:00 or 00:00-24:00')
    .optional(),
});

/** A site file as written; any key not listed here is refused (a typo would otherwise go unnoticed). */
export const SiteFileSchema = z
  .strictObject({
    id: z.string().regex(SITE_RE, 'is not a site name'),
    name: Name.optional(),
    /** The site's first language: alarm `message`, zone names, notifications. */
    language: z.enum(LANGUAGES, { error: `must be one of ${LANGUAGES.join(', ')}` }).default(DEFAULT_LANGUAGE),
    timezone: z.string().refine(isTimeZone, 'is not an IANA time zone (e.g. Asia/Shanghai)').optional(),
    buildings: z.array(BuildingSchema).max(500).default([]),
    zones: z.array(ZoneSchema).max(5000).default([]),
    duty: z.array(DutySchema).max(200).default([]),
    tariff: TariffSchema.optional(),
    channels: z.array(ChannelSchema).default([]),
    notify: z.array(NotifyEntrySchema).default([]),
  })
  .superRefine((site, ctx) => {
    checkChannels(site, ctx);
    checkIds(site, ctx);
  });

export type SiteFile = z.output<typeof SiteFileSchema>;
export type Duty = SiteFile['duty'][number];

/** Building ids unique; floor and zone ids unique across the site (a device's zone is one of them); zones in a known building. */
function checkIds(site: z.output<typeof SiteFileSchema>, ctx: z.RefinementCtx): void {
  const buildings = new Set<string>();
  site.buildings.forEach((b, i) => {
    if (buildings.has(b.id)) ctx.addIssue({ code: 'custom', path: ['buildings', i, 'id'], message: `building ${b.id} is listed twice` });
    buildings.add(b.id);
  });
  const places = new Map<string, string>();
  const claim = (id: string, path: (string | number)[]) => {
    const seen = places.get(id);
    if (seen) ctx.addIssue({ code: 'custom', path, message: `${id} is already used by ${seen}` });
    else places.set(id, path.slice(0, -1).map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1));
  };
  site.buildings.forEach((b, i) => b.floors.forEach((f, j) => claim(f.id, ['buildings', i, 'floors', j, 'id'])));
  site.zones.forEach((z, i) => {
    claim(z.id, ['zones', i, 'id']);
    if (z.building !== undefined && !buildings.has(z.building)) ctx.addIssue({ code: 'custom', path: ['zones', i, 'building'], message: `${z.building} is not a building of this site` });
  });
}
