import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues, type KindName } from '../src/devices/kinds/index.js';
import { DEVICE_ID_RE, SITE_RE, ZONE_RE } from '../src/topics.js';
import type { DeviceSpec, SitePlace } from './models/model.js';
import { isTimeZone } from './sim/local-time.js';

/**
 * A site description: buildings with floors, and outdoor areas (car parks, streets), with how many devices
 * of each kind they hold. `expandSite` turns it into the device list. See devices/sites/demo.yaml.
 */

const Count = z.number().int().min(0).max(1000);
const Id = z.string().regex(/^[a-z0-9][a-z0-9-]{0,23}$/, 'lowercase letters, digits and -, up to 24');

const FloorSchema = z.strictObject({
  fire: Count.default(0),
  access: Count.default(0),
  lighting: Count.default(0),
  camera: Count.default(0),
});

const BuildingSchema = z.strictObject({
  id: Id,
  name: z.string().max(64).optional(),
  floors: z.number().int().min(1).max(99),
  /** Devices on every floor (zone `{id}-f{n}`). */
  perFloor: FloorSchema,
  /** Devices in the lobby (zone `{id}-lobby`): the entrance door, its camera and lights. */
  lobby: FloorSchema.default({ fire: 0, access: 0, lighting: 0, camera: 0 }),
  /** Households behind the building's meter (zone `{id}-power`): sizes its load. 0: no meter. */
  households: z.number().int().min(0).max(5000).default(0),
});

const AreaSchema = z.strictObject({
  id: Id,
  name: z.string().max(64).optional(),
  /** `carpark`: a lot with a gate counter, space sensors and fire-lane sensors; `street`: lights and cameras. */
  type: z.enum(['carpark', 'street']),
  capacity: z.number().int().min(0).max(10_000).default(0),
  spaceSensors: Count.default(0),
  fireLaneSensors: Count.default(0),
  gates: Count.default(0),
  lighting: Count.default(0),
  camera: Count.default(0),
  fire: Count.default(0),
});

export const SiteSchema = z
  .strictObject({
    site: z.string().regex(SITE_RE, 'lowercase letters, digits and -, up to 32'),
    name: z.string().max(128).optional(),
    timeZone: z.string().refine(isTimeZone, 'not a time zone name (e.g. Asia/Shanghai)'),
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    /** A meter for the whole site at the transformer (zone `site-power`), when true. */
    siteMeter: z.boolean().default(true),
    buildings: z.array(BuildingSchema).default([]),
    areas: z.array(AreaSchema).default([]),
  })
  .refine((s) => new Set([...s.buildings.map((b) => b.id), ...s.areas.map((a) => a.id)]).size === s.buildings.length + s.areas.length, {
    message: 'building and area ids must be unique',
    path: ['buildings'],
  });
export type Site = z.infer<typeof SiteSchema>;
type Building = z.infer<typeof BuildingSchema>;

export class SiteFileError extends Error {}

/** Reads and validates a site file (YAML or JSON); a bad one is refused with the file and the field. */
export async function loadSite(path: string): Promise<Site> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new SiteFileError(`${path}: ${(err as Error).message}`, { cause: err });
  }
  const result = SiteSchema.safeParse(raw);
  if (!result.success) throw new SiteFileError(`${path}: ${describeIssues(result.error)}`);
  return result.data;
}

export function placeOf(site: Site): SitePlace {
  return { timeZone: site.timeZone, lat: site.lat, lon: site.lon };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The site's devices, in a stable order (the same file always gives the same ids). */
export function expandSite(site: Site): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  const add = (kind: KindName, zone: string, n: number, role: string, tags: Record<string, string>, params: Record<string, number> = {}, suffix = '') => {
    for (let i = 1; i <= n; i++) {
      const id = `${kind}-${zone}-${suffix}${pad(i)}`;
      if (!DEVICE_ID_RE.test(id) || !ZONE_RE.test(zone)) throw new SiteFileError(`device id ${id} is not a valid id`);
      out.push({ id, kind, site: site.site, zone, name: `${role} ${zone} ${i}`, role, tags: { role, ...tags }, params });
    }
  };
  for (const b of site.buildings) addBuilding(b, add);
  for (const a of site.areas) {
    const tags = { area: a.id };
    if (a.type === 'carpark') {
      add('parking', a.id, a.gates, 'lot', tags, { capacity: a.capacity }, 'gate');
      add('parking', a.id, a.spaceSensors, 'space', tags, {}, 's');
      add('parking', a.id, a.fireLaneSensors, 'fire-lane', tags, {}, 'fl');
    }
    add('lighting', a.id, a.lighting, a.type === 'carpark' ? 'carpark' : 'street', tags, { ratedW: a.type === 'carpark' ? 40 : 90 });
    add('camera', a.id, a.camera, 'camera', tags);
    add('fire', a.id, a.fire, 'detector', tags);
  }
  if (site.siteMeter) {
    const households = site.buildings.reduce((sum, b) => sum + b.households, 0);
    add('energy', 'site-power', 1, 'site', {}, { households: Math.max(households, 1) });
  }
  return out;
}

type Add = (kind: KindName, zone: string, n: number, role: string, tags: Record<string, string>, params?: Record<string, number>) => void;

function addBuilding(b: Building, add: Add): void {
  const lobby = `${b.id}-lobby`;
  add('access', lobby, b.lobby.access, 'door', { building: b.id, floor: '0' });
  add('camera', lobby, b.lobby.camera, 'camera', { building: b.id, floor: '0' });
  add('lighting', lobby, b.lobby.lighting, 'corridor', { building: b.id, floor: '0' }, { ratedW: 36 });
  add('fire', lobby, b.lobby.fire, 'detector', { building: b.id, floor: '0' });
  for (let f = 1; f <= b.floors; f++) {
    const zone = `${b.id}-f${f}`;
    const tags = { building: b.id, floor: String(f) };
    add('fire', zone, b.perFloor.fire, 'detector', tags);
    add('access', zone, b.perFloor.access, 'door', tags);
    add('lighting', zone, b.perFloor.lighting, 'corridor', tags, { ratedW: 18 });
    add('camera', zone, b.perFloor.camera, 'camera', tags);
  }
  if (b.households > 0) add('energy', `${b.id}-power`, 1, 'building', { building: b.id }, { households: b.households });
}

/**
 * The site grown or cut to `count` devices: buildings are copied (b1 → b1x2, b1x3...) until there are enough,
 * then the list is cut, taking devices across the whole site so every kind stays.
 */
export function scaleSite(site: Site, count: number): DeviceSpec[] {
  let grown = site;
  let devices = expandSite(grown);
  for (let copy = 2; devices.length < count && site.buildings.length > 0; copy++) {
    grown = { ...grown, buildings: [...grown.buildings, ...site.buildings.map((b) => ({ ...b, id: `${b.id}x${copy}` }))] };
    devices = expandSite(grown);
  }
  if (devices.length <= count) return devices;
  // Keep an even spread: every n-th device, so a cut site still has every kind and zone type.
  const step = devices.length / count;
  return Array.from({ length: count }, (_, i) => devices[Math.floor(i * step)]);
}
