import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expandSite, loadSite } from '../../../devices/site.js';
import { parseSite } from '../../../src/sites/parse.js';

const SITES_DIR = 'devices/demo-site';
const FILE = `${SITES_DIR}/demo.yaml`;

describe("the demo community's site file", () => {
  it('loads, with its plans, and names every zone a simulated device is in', async () => {
    const r = parseSite(parse(await readFile(FILE, 'utf8')), FILE, SITES_DIR);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const devices = expandSite(await loadSite('devices/sites/demo.yaml'));
    expect(new Set(devices.map((d) => d.site))).toStrictEqual(new Set([r.item.site.id]));
    const unknown = [...new Set(devices.map((d) => d.zone))].filter((z) => !r.item.places.has(z));
    expect(unknown).toStrictEqual([]);
    for (const place of r.item.places.values()) {
      expect(place.name['zh-CN'], place.id).not.toBe(place.id);
      expect(place.name.en, place.id).not.toBe(place.id);
    }
  });

  it("places every simulated device on its zone's plan", async () => {
    const r = parseSite(parse(await readFile(FILE, 'utf8')), FILE, SITES_DIR);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const devices = expandSite(await loadSite('devices/sites/demo.yaml'));
    const off = devices.filter((d) => {
      const plan = r.item.places.get(d.zone)?.plan;
      const p = d.position;
      return !plan || !p || p.x < 0 || p.y < 0 || p.x > plan.width || p.y > plan.height;
    });
    expect(off.map((d) => `${d.id} ${JSON.stringify(d.position)}`)).toStrictEqual([]);
  });

  it('puts two devices of one floor in different places, and the same device in the same place every time', async () => {
    const site = await loadSite('devices/sites/demo.yaml');
    const floor = expandSite(site).filter((d) => d.zone === 'b2-f3');
    const spots = floor.map((d) => `${d.position?.x},${d.position?.y}`);
    expect(new Set(spots).size).toBe(spots.length);
    expect(expandSite(site).filter((d) => d.zone === 'b2-f3').map((d) => d.position)).toStrictEqual(floor.map((d) => d.position));
    // The detectors in the corridor, the door controller at a stair door.
    expect(floor.filter((d) => d.kind === 'fire').every((d) => d.position!.y > 160 && d.position!.y < 240)).toBe(true);
    expect(floor.find((d) => d.kind === 'access')?.position).toStrictEqual({ x: 100, y: 200 });
  });
});
