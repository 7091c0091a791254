import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues, type KindName } from '../src/devices/kinds/index.js';
import { DEVICE_ID_RE, SITE_RE, ZONE_RE } from '../src/topics.js';
import type { DeviceSpec, SitePlace } from './models/model.js';
import { placeDevices } from './positions.js';
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
  /** Floors below ground the lifts serve (the car park), numbered -1, -2... */
  basements: z.number().int().min(0).max(9).default(0),
  /** Devices on every floor (zone `{id}-f{n}`). */
  perFloor: FloorSchema,
  /** Devices in the lobby (zone `{id}-lobby`): the entrance door, its camera and lights. */
  lobby: FloorSchema.default({ fire: 0, access: 0, lighting: 0, camera: 0 }),
  /** Households behind the building's meter (zone `{id}-power`): sizes its load. 0: no meter. */
  households: z.number().int().min(0).max(5000).default(0),
  /** Lift cars (zone `{id}-lift`), each with the emergency call point its car must have. */
  lifts: Count.default(0),
  /** A distribution room feeding the building (zone `{id}-power`), sized by its households. */
  powerRoom: z.boolean().default(false),
  /** Guard-tour checkpoints in the lobby, on the site's patrol route. */
  checkpoints: Count.default(0),
  /** Bins by the entrance (zone `{id}-yard`). */
  bins: Count.default(0),
});

const AreaSchema = z.strictObject({
  id: Id,
  name: z.string().max(64).optional(),
  /**
   * `carpark`: a lot with a gate counter, space sensors and fire-lane sensors; `street`: the estate's roads and
   * grounds; `plant`: a plant room (the pump room), lit like a corridor.
   */
  type: z.enum(['carpark', 'street', 'plant']),
  capacity: z.number().int().min(0).max(10_000).default(0),
  spaceSensors: Count.default(0),
  fireLaneSensors: Count.default(0),
  gates: Count.default(0),
  lighting: Count.default(0),
  camera: Count.default(0),
  fire: Count.default(0),
  /** Emergency call points (a car park's pillars, a street's help points). */
  sos: Count.default(0),
  /** Guard-tour checkpoints on the site's patrol route. */
  checkpoints: Count.default(0),
  /** Air, noise and soil stations with an irrigation valve. */
  environment: Count.default(0),
  bins: Count.default(0),
  /** Pump sets of the secondary water supply, each with its roof or ground tank, for the whole site's households. */
  water: Count.default(0),
});

/** The guard tour: every checkpoint of the site on one route, `minutesBetween` apart, a round every `roundMinutes`. */
const PatrolSchema = z.strictObject({
  route: Id.default('night-round'),
  roundMinutes: z.number().int().min(10).max(24 * 60).default(120),
  minutesBetween: z.number().min(0.5).max(60).default(3),
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
    patrol: PatrolSchema.default({ route: 'night-round', roundMinutes: 120, minutesBetween: 3 }),
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

/** The lamps of an area: their role (the lighting model's daily pattern) and rating. */
const AREA_LIGHTS = {
  carpark: { role: 'carpark', ratedW: 40 },
  street: { role: 'street', ratedW: 90 },
  plant: { role: 'corridor', ratedW: 18 },
} as const;

/** The site's devices, in a stable order (the same file always gives the same ids). */
export function expandSite(site: Site): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  const add: Add = (kind, zone, n, role, tags, params = {}, suffix = '') => {
    for (let i = 1; i <= n; i++) {
      const id = `${kind}-${zone}-${suffix}${pad(i)}`;
      if (!DEVICE_ID_RE.test(id) || !ZONE_RE.test(zone)) throw new SiteFileError(`device id ${id} is not a valid id`);
      out.push({ id, kind, site: site.site, zone, name: `${role} ${zone} ${i}`, role, tags: { role, ...tags }, params });
    }
  };
  const households = Math.max(1, site.buildings.reduce((sum, b) => sum + b.households, 0));
  for (const b of site.buildings) {
    const from = out.length;
    addBuilding(b, add);
    feedFromPowerRoom(out.slice(from));
  }
  for (const a of site.areas) {
    const tags = { area: a.id };
    if (a.type === 'carpark') {
      add('parking', a.id, a.gates, 'lot', tags, { capacity: a.capacity }, 'gate');
      add('parking', a.id, a.spaceSensors, 'space', tags, {}, 's');
      add('parking', a.id, a.fireLaneSensors, 'fire-lane', tags, {}, 'fl');
    }
    const light = AREA_LIGHTS[a.type];
    add('lighting', a.id, a.lighting, light.role, tags, { ratedW: light.ratedW });
    add('camera', a.id, a.camera, 'camera', tags);
    add('fire', a.id, a.fire, 'detector', tags);
    add('sos', a.id, a.sos, 'call-point', { ...tags, location: `${a.name ?? a.id} call point` });
    add('patrol', a.id, a.checkpoints, 'checkpoint', tags);
    add('environment', a.id, a.environment, 'station', tags);
    add('waste', a.id, a.bins, 'bin', tags);
    // A pump room serves the whole site: its tank and demand follow the households (about 0.5 m³ each).
    add('water', a.id, a.water, 'pump-set', tags, { households, tankM3: Math.max(20, Math.round(households * 0.5)), pumps: 3 });
  }
  if (site.siteMeter) add('energy', 'site-power', 1, 'site', {}, { households });
  putOnRoute(out, site.patrol);
  placeDevices(out, site.buildings.map((b) => b.id), new Map(site.areas.map((a) => [a.id, a.type])));
  return out;
}

type Add = (
  kind: KindName,
  zone: string,
  n: number,
  role: string,
  tags: Record<string, string>,
  params?: Record<string, number>,
  suffix?: string,
) => void;

function addBuilding(b: Building, add: Add): void {
  const lobby = `${b.id}-lobby`;
  const building = { building: b.id };
  add('access', lobby, b.lobby.access, 'door', { ...building, floor: '0' });
  add('camera', lobby, b.lobby.camera, 'camera', { ...building, floor: '0' });
  add('lighting', lobby, b.lobby.lighting, 'corridor', { ...building, floor: '0' }, { ratedW: 36 });
  add('fire', lobby, b.lobby.fire, 'detector', { ...building, floor: '0' });
  add('patrol', lobby, b.checkpoints, 'checkpoint', { ...building, floor: '0' });
  for (let f = 1; f <= b.floors; f++) {
    const zone = `${b.id}-f${f}`;
    const tags = { ...building, floor: String(f) };
    add('fire', zone, b.perFloor.fire, 'detector', tags);
    add('access', zone, b.perFloor.access, 'door', tags);
    add('lighting', zone, b.perFloor.lighting, 'corridor', tags, { ratedW: 18 });
    add('camera', zone, b.perFloor.camera, 'camera', tags);
  }
  // Each car and the emergency call point in it share the zone `{id}-lift` and their number.
  const lifts = `${b.id}-lift`;
  add('lift', lifts, b.lifts, 'car', building, { floors: b.floors, basements: b.basements });
  add('sos', lifts, b.lifts, 'lift-car', { ...building, location: `${b.name ?? b.id} lift car` });
  if (b.households > 0) add('energy', `${b.id}-power`, 1, 'building', building, { households: b.households });
  // A generator for the essential loads: about a quarter of the peak (1.8 kW a household).
  if (b.powerRoom) add('power', `${b.id}-power`, 1, 'room', building, { households: Math.max(1, b.households), generatorKw: Math.max(30, Math.round(b.households * 0.6)) });
  add('waste', `${b.id}-yard`, b.bins, 'bin', building);
}

/**
 * What a building's distribution room feeds from its mains, registered with the room's power device as their
 * `parent`: door controllers (their supply units and network switches are on the mains; the cell behind
 * `batteryPct` only holds the lock), corridor and lobby lights, cameras (PoE from the building's switches),
 * lift cars and the building's meter (powered from the line it measures). Not fed: fire detectors (the fire
 * alarm system has its own standby batteries and loop), the emergency call points in the lift cars (their own
 * battery, as the lift codes require), guard-tour checkpoints and bins (battery, reporting over the cellular
 * network): they stay online when the mains fail.
 */
export const MAINS_FED_KINDS: readonly KindName[] = ['access', 'lighting', 'camera', 'lift', 'energy'];

/** Gives a building's mains-fed devices its distribution room as their parent (a building without one: none). */
function feedFromPowerRoom(building: DeviceSpec[]): void {
  const room = building.find((d) => d.kind === 'power');
  if (!room) return;
  for (const d of building) if (MAINS_FED_KINDS.includes(d.kind)) d.parent = room.id;
}

/**
 * Every checkpoint of the site on the one patrol route, in the order of the file: the guard reaches the n-th
 * `minutesBetween × n` minutes into each round (wrapping when the route is longer than a round).
 */
function putOnRoute(devices: DeviceSpec[], patrol: Site['patrol']): void {
  let n = 0;
  for (const d of devices) {
    if (d.kind !== 'patrol') continue;
    // The route and round as tags too: the service report counts the scans due per round from them.
    d.tags = { ...d.tags, route: patrol.route, roundMinutes: String(patrol.roundMinutes) };
    d.params = { roundMinutes: patrol.roundMinutes, offsetMinutes: (n++ * patrol.minutesBetween) % patrol.roundMinutes };
  }
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
  // Each kind keeps its share (at least one device while there is room), taken evenly across the site so a
  // cut site still has every kind and zone type; the site's order is kept.
  const byKind = new Map<KindName, DeviceSpec[]>();
  for (const d of devices) byKind.set(d.kind, [...(byKind.get(d.kind) ?? []), d]);
  const shares = [...byKind].map(([kind, list]) => ({ kind, list, n: Math.max(1, Math.floor((list.length * count) / devices.length)) }));
  let over = shares.reduce((sum, s) => sum + s.n, 0) - count;
  for (const s of [...shares].sort((a, b) => b.n - a.n)) {
    const cut = Math.max(0, Math.min(over, s.n - 1));
    s.n -= cut;
    over -= cut;
  }
  // Rounding down leaves a few places: the largest kinds take them.
  const largest = [...shares].sort((a, b) => b.list.length - a.list.length);
  for (let i = 0, under = -over; under > 0; i = (i + 1) % largest.length) {
    if (largest[i].n < largest[i].list.length) (largest[i].n++, under--);
  }
  const kept = new Set(shares.flatMap((s) => Array.from({ length: s.n }, (_, i) => s.list[Math.floor((i * s.list.length) / s.n)])));
  const cut = devices.filter((d) => kept.has(d)).slice(0, count);
  // A device whose distribution room was cut away is on its own: it cannot be registered under a missing parent.
  const ids = new Set(cut.map((d) => d.id));
  return cut.map((d) => {
    if (d.parent === undefined || ids.has(d.parent)) return d;
    const { parent: _gone, ...alone } = d;
    return alone;
  });
}
