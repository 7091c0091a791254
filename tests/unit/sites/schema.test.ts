import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { SiteModel } from '../../../src/sites/model.js';
import { parseSite } from '../../../src/sites/parse.js';
import { pngSize, svgSize } from '../../../src/sites/plans.js';

const log = createLogger('silent');
const SVG = '<?xml version="1.0"?>\n<!-- <svg viewBox="0 0 1 1"> in a comment is not the root -->\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 400"></svg>\n';

/** A PNG's signature and IHDR chunk: all the loader reads of it. */
function png(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  return b;
}

const SITE = {
  id: 'maple-court',
  name: { 'zh-CN': '枫林苑', en: 'Maple Court' },
  timezone: 'Asia/Shanghai',
  buildings: [{ id: 'b3', name: { 'zh-CN': '3号楼', en: 'Building 3' }, floors: [{ id: 'b3-f1', name: { 'zh-CN': '1层', en: 'Floor 1' } }] }],
  zones: [{ id: 'pump-room-1', name: { 'zh-CN': '1号水泵房', en: 'Pump room 1' }, building: 'b3' }],
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sites-'));
  await mkdir(join(dir, 'sites', 'plans'), { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const problems = (raw: unknown) => {
  const r = parseSite(raw, join(dir, 'sites', 'mc.yaml'), join(dir, 'sites'));
  return r.ok ? [] : r.errors.map((e) => e.replace(join(dir, 'sites', 'mc.yaml'), 'mc.yaml'));
};

describe('a site file', () => {
  it('names the file, the site and the field of each problem', () => {
    expect(problems({ ...SITE, timezone: 'Mars/Olympus' })).toStrictEqual(['mc.yaml: site "maple-court": timezone: is not an IANA time zone (e.g. Asia/Shanghai)']);
    expect(problems({ ...SITE, zones: [{ id: 'b3-f1', building: 'b9' }] })).toStrictEqual([
      'mc.yaml: site "maple-court": zones[0].id: b3-f1 is already used by buildings[0].floors[0]',
      'mc.yaml: site "maple-court": zones[0].building: b9 is not a building of this site',
    ]);
    expect(problems({ ...SITE, duty: [{ name: 'Desk', phone: '+86-21-5555-0100', during: '8-18' }] })).toStrictEqual([
      'mc.yaml: site "maple-court": duty[0].during: must be HH:MM-HH:MM, e.g. 08:00-18:00 or 00:00-24:00',
    ]);
    expect(problems({ ...SITE, floors: [] })[0]).toMatch(/^mc\.yaml: site "maple-court": \(file\): Unrecognized key/);
  });

  it('takes a tariff whose bands cover the day once, and refuses an overlap or a gap', () => {
    const tariff = (energy: unknown[]) => problems({ ...SITE, tariff: { currency: 'CNY', energy } });
    expect(tariff([{ from: '08:00', to: '22:00', price: 0.62 }, { from: '22:00', to: '08:00', price: 0.31 }])).toStrictEqual([]);
    expect(tariff([{ from: '00:00', to: '24:00', price: 0.5 }])).toStrictEqual([]);
    expect(tariff([{ from: '08:00', to: '22:00', price: 0.62 }, { from: '21:00', to: '08:00', price: 0.31 }])).toStrictEqual([
      'mc.yaml: site "maple-court": tariff.energy[1]: overlaps energy[0] at 21:00',
    ]);
    expect(tariff([{ from: '08:00', to: '22:00', price: 0.62 }, { from: '23:00', to: '08:00', price: 0.31 }])).toStrictEqual([
      'mc.yaml: site "maple-court": tariff.energy: the bands must cover the whole day; 22:00-23:00 has no price',
    ]);
    expect(tariff([{ from: '00:00', to: '24:00', price: -1 }])).toStrictEqual(['mc.yaml: site "maple-court": tariff.energy[0].price: must be 0 or more']);
  });

  it('reads the size of its SVG and PNG plans, and refuses a plan that is missing, outside the folder or not an image', async () => {
    await writeFile(join(dir, 'sites', 'plans', 'f1.svg'), SVG);
    await writeFile(join(dir, 'sites', 'plans', 'pumps.png'), png(640, 480));
    await writeFile(join(dir, 'outside.svg'), SVG);
    await symlink(join(dir, 'outside.svg'), join(dir, 'sites', 'plans', 'link.svg'));
    await writeFile(join(dir, 'sites', 'plans', 'fake.png'), SVG);
    const floors = (plan: string) => [{ id: 'b3-f1', plan: 'plans/f1.svg' }, { id: 'b3-f2' }, { id: 'b3-f3', plan }];
    const r = parseSite({ ...SITE, zones: [{ id: 'pumps', plan: 'plans/pumps.png' }], buildings: [{ id: 'b3', floors: floors('plans/f1.svg') }] }, join(dir, 'sites', 'mc.yaml'), join(dir, 'sites'));
    expect(r.ok && r.item.places.get('b3-f3')?.plan).toMatchObject({ type: 'svg', width: 800, height: 400 });
    expect(r.ok && r.item.places.get('pumps')?.plan).toMatchObject({ type: 'png', width: 640, height: 480 });
    const refused = (plan: string) => problems({ ...SITE, buildings: [{ id: 'b3', floors: floors(plan) }] });
    expect(refused('plans/f3.svg')).toStrictEqual(['mc.yaml: site "maple-court": buildings[0].floors[2].plan: plans/f3.svg does not exist']);
    expect(refused('../outside.svg')).toStrictEqual(['mc.yaml: site "maple-court": buildings[0].floors[2].plan: ../outside.svg is outside the sites folder']);
    expect(refused('plans/link.svg')).toStrictEqual(['mc.yaml: site "maple-court": buildings[0].floors[2].plan: plans/link.svg is outside the sites folder']);
    expect(refused('plans/fake.png')).toStrictEqual(['mc.yaml: site "maple-court": buildings[0].floors[2].plan: plans/fake.png: is not a PNG image']);
  });

  it('reads an SVG size from width and height when it has no viewBox', () => {
    expect(svgSize('<svg width="300px" height="200">')).toStrictEqual({ width: 300, height: 200 });
    expect(svgSize('<svg width="30%" height="200">')).toBe('has neither a viewBox nor a width and height in px');
    expect(pngSize(png(0, 10))).toBe('has no size');
  });
});

describe('the site model', () => {
  it('answers names in the first language, time zones, and keeps the model in force when a reload finds a bad file', async () => {
    await writeFile(join(dir, 'sites', 'mc.yaml'), JSON.stringify({ ...SITE, language: 'en' }));
    const sites = new SiteModel({ dir: join(dir, 'sites'), log, timeZone: 'Europe/Berlin', debounceMs: 10_000 });
    expect(await sites.start()).toStrictEqual({ ok: true, count: 1 });
    expect(sites.place('maple-court', 'b3-f1')).toStrictEqual({ zoneName: 'Floor 1', buildingName: 'Building 3' });
    expect(sites.place('maple-court', 'pump-room-1')).toStrictEqual({ zoneName: 'Pump room 1', buildingName: 'Building 3' });
    expect(sites.place('maple-court', 'nowhere')).toStrictEqual({});
    expect(sites.knowsZone('maple-court', 'nowhere')).toBe(false);
    expect(sites.knowsZone('elsewhere', 'b3-f1')).toBeUndefined();
    expect([sites.language('maple-court'), sites.language('elsewhere')]).toStrictEqual(['en', 'zh-CN']);
    expect([sites.timeZone('maple-court'), sites.timeZone('elsewhere')]).toStrictEqual(['Asia/Shanghai', 'Europe/Berlin']);
    await writeFile(join(dir, 'sites', 'mc.yaml'), JSON.stringify({ ...SITE, language: 'en', zones: [{ id: 'x', building: 'nope' }] }));
    const reload = await sites.reload();
    sites.stop();
    expect(reload.ok).toBe(false);
    expect(sites.place('maple-court', 'pump-room-1').zoneName).toBe('Pump room 1');
  });
});
