/**
 * Where each simulated device is on its floor's or zone's plan (contract §12 `position`), in the units of the
 * demo site's drawn plans (devices/demo-site/plans/). Derived from the zone and the device's number in it, so the
 * same site always gives the same positions: fire detectors down the corridor, door controllers at the stair
 * doors, lamps along the corridor, lift cars at their shafts, parking sensors in the bays, street lamps along
 * the ring road. A plan's drawing and these numbers go together; tests/unit/sites/demo-site.test.ts checks that
 * every position falls on its plan.
 */
import type { DeviceSpec } from './models/model.js';

type Point = { x: number; y: number };
type Layout = 'floor' | 'lobby' | 'lift' | 'power' | 'yard' | 'carpark' | 'street' | 'plant' | 'site-power';

/** The sizes (viewBox) of the drawn plans: floor.svg and lobby.svg, carpark.svg, estate.svg, the two plant rooms. */
export const PLAN_SIZES = {
  floor: { width: 800, height: 400 },
  lobby: { width: 800, height: 400 },
  carpark: { width: 1000, height: 600 },
  estate: { width: 1200, height: 800 },
  plant: { width: 600, height: 400 },
} as const;

/** The spots of the estate plan by building (b1..b5 in the order of the site file): its entrance, its bin yard. */
const BUILDING_SPOTS: ReadonlyArray<{ yard: Point }> = [
  { yard: { x: 250, y: 345 } },
  { yard: { x: 530, y: 345 } },
  { yard: { x: 810, y: 345 } },
  { yard: { x: 250, y: 625 } },
  { yard: { x: 810, y: 625 } },
];

/** `n` points spread evenly on the segment from `a` to `b`, the `i`th (0-based). */
function along(a: Point, b: Point, i: number, n: number): Point {
  const t = (i + 0.5) / Math.max(1, n);
  return { x: round(a.x + (b.x - a.x) * t), y: round(a.y + (b.y - a.y) * t) };
}

const round = (v: number) => Math.round(v * 10) / 10;

/** The point `t` (0..1) of the way round the estate's ring road (a rectangle inside the estate's fence). */
function ringRoad(t: number, inset = 0): Point {
  const [x0, y0, x1, y1] = [90 + inset, 90 + inset, 1110 - inset, 710 - inset];
  const w = x1 - x0;
  const h = y1 - y0;
  let d = (((t % 1) + 1) % 1) * 2 * (w + h);
  if (d < w) return { x: round(x0 + d), y: y0 };
  d -= w;
  if (d < h) return { x: x1, y: round(y0 + d) };
  d -= h;
  if (d < w) return { x: round(x1 - d), y: y1 };
  return { x: x0, y: round(y1 - (d - w)) };
}

/** A residential floor (floor.svg): corridor y 160-240 between the stairs at x 20-100 and 700-780. */
function onFloor(d: DeviceSpec, i: number, n: number): Point {
  if (d.kind === 'access') return [{ x: 100, y: 200 }, { x: 700, y: 200 }][i % 2];
  if (d.kind === 'lighting') return along({ x: 100, y: 215 }, { x: 700, y: 215 }, i, n);
  if (d.kind === 'camera') return along({ x: 340, y: 170 }, { x: 460, y: 170 }, i, n);
  return along({ x: 100, y: 190 }, { x: 700, y: 190 }, i, n);
}

/** The ground floor (lobby.svg): the entrance at the bottom middle, the lift lobby above, the stairs either side. */
function inLobby(d: DeviceSpec, i: number, n: number): Point {
  if (d.kind === 'access') return [{ x: 400, y: 375 }, { x: 100, y: 200 }, { x: 700, y: 200 }][i % 3];
  if (d.kind === 'camera') return [{ x: 440, y: 340 }, { x: 400, y: 180 }, { x: 160, y: 300 }][i % 3];
  if (d.kind === 'lighting') return along({ x: 160, y: 260 }, { x: 640, y: 260 }, i, n);
  if (d.kind === 'patrol') return along({ x: 560, y: 320 }, { x: 640, y: 320 }, i, n);
  return along({ x: 300, y: 220 }, { x: 500, y: 220 }, i, n);
}

/** Lift cars and their call points at the shafts of lobby.svg (x 340-460, two shafts; more share them). */
function atLift(d: DeviceSpec, i: number): Point {
  return { x: [370, 430][i % 2], y: d.kind === 'sos' ? 145 : 120 };
}

/** The car park (carpark.svg): bays along the north and south walls, the aisle and its fire lane between. */
function inCarPark(d: DeviceSpec, i: number, n: number): Point {
  if (d.kind === 'parking' && d.role === 'lot') return { x: 60, y: 300 };
  if (d.kind === 'parking' && d.role === 'space') return { x: 190 + 60 * (i % 13), y: i % 26 < 13 ? 110 : 490 };
  if (d.kind === 'parking') return along({ x: 200, y: 300 }, { x: 900, y: 300 }, i, n);
  if (d.kind === 'lighting') return along({ x: 160, y: i % 2 === 0 ? 230 : 370 }, { x: 960, y: i % 2 === 0 ? 230 : 370 }, i, n);
  if (d.kind === 'camera') return [{ x: 170, y: 195 }, { x: 950, y: 195 }, { x: 170, y: 405 }, { x: 950, y: 405 }][i % 4];
  if (d.kind === 'sos') return along({ x: 400, y: 195 }, { x: 800, y: 195 }, i, n);
  if (d.kind === 'patrol') return [{ x: 120, y: 200 }, { x: 960, y: 550 }][i % 2];
  return along({ x: 200, y: 340 }, { x: 900, y: 340 }, i, n);
}

/** The estate's grounds (estate.svg): along the ring road, each kind at its own spacing so none lands on another. */
function onStreet(d: DeviceSpec, i: number, n: number): Point {
  const phase: Record<string, number> = { lighting: 0, camera: 0.06, patrol: 0.1, environment: 0.3, waste: 0.45, sos: 0.2 };
  return ringRoad((phase[d.kind] ?? 0.15) + i / Math.max(1, n), d.kind === 'lighting' ? -12 : 12);
}

/** A plant room (pump-room.svg and power-room.svg share its frame): the door at the left, the plant in the middle. */
function inPlant(d: DeviceSpec, i: number, n: number): Point {
  if (d.kind === 'lighting') return along({ x: 100, y: 60 }, { x: 500, y: 60 }, i, n);
  if (d.kind === 'fire') return along({ x: 200, y: 100 }, { x: 400, y: 100 }, i, n);
  if (d.kind === 'patrol') return { x: 70, y: 330 };
  if (d.kind === 'water' || d.kind === 'power') return { x: 300, y: 230 };
  if (d.kind === 'energy') return { x: 480, y: 200 };
  return along({ x: 150, y: 300 }, { x: 450, y: 300 }, i, n);
}

/** The layout a zone is drawn on, from the zone names site.ts gives. */
function layoutOf(zone: string, areas: ReadonlyMap<string, string>): Layout | undefined {
  const area = areas.get(zone);
  if (area === 'carpark' || area === 'street' || area === 'plant') return area;
  if (zone === 'site-power') return 'site-power';
  const m = /-(f\d+|lobby|lift|power|yard)$/.exec(zone);
  if (!m) return undefined;
  return m[1].startsWith('f') ? 'floor' : (m[1] as Layout);
}

/**
 * Sets `position` on every device of a site (in place): each device's number among the devices of its zone with
 * its kind and role decides where on the zone's plan it is. `buildings` are the site's building ids in order.
 */
export function placeDevices(devices: DeviceSpec[], buildings: readonly string[], areas: ReadonlyMap<string, string>): void {
  const groups = new Map<string, DeviceSpec[]>();
  for (const d of devices) {
    const key = `${d.zone}|${d.kind}|${d.role}`;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  for (const group of groups.values()) {
    group.forEach((d, i) => {
      const at = positionOf(d, i, group.length, buildings, areas);
      if (at) d.position = at;
    });
  }
}

function positionOf(d: DeviceSpec, i: number, n: number, buildings: readonly string[], areas: ReadonlyMap<string, string>): Point | undefined {
  switch (layoutOf(d.zone, areas)) {
    case 'floor':
      return onFloor(d, i, n);
    case 'lobby':
      return inLobby(d, i, n);
    case 'lift':
      return atLift(d, i);
    case 'power':
    case 'plant':
      return inPlant(d, i, n);
    case 'carpark':
      return inCarPark(d, i, n);
    case 'street':
      return onStreet(d, i, n);
    case 'yard': {
      const slot = Math.max(0, buildings.indexOf(d.zone.replace(/-yard$/, ''))) % BUILDING_SPOTS.length;
      const { yard } = BUILDING_SPOTS[slot];
      return { x: yard.x + 22 * i, y: yard.y };
    }
    case 'site-power':
      return { x: 1040, y: 760 };
    default:
      return undefined;
  }
}
