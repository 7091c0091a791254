import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator } from '../helpers/operator.js';

const SITE = 'maple-court';
/** A plan someone could have written to attack the console: its script must never run. */
const HOSTILE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 400"><script>alert(document.cookie)</script><rect width="800" height="400"/></svg>';
const SITE_FILE = `
id: ${SITE}
name: { zh-CN: 枫林苑, en: Maple Court }
timezone: Asia/Shanghai
buildings:
  - id: b3
    name: { zh-CN: 3号楼, en: Building 3 }
    floors:
      - { id: b3-f12, name: { zh-CN: 12层, en: Floor 12 }, plan: plans/floor.svg }
zones:
  - { id: pump-room-1, name: { zh-CN: 1号水泵房, en: Pump room 1 }, building: b3 }
duty:
  - { match: { kind: fire }, name: { zh-CN: 消防控制室, en: Fire control room }, phone: "+86-21-5555-0119", during: "00:00-24:00" }
tariff: { currency: CNY, energy: [ { from: "08:00", to: "22:00", price: 0.62 }, { from: "22:00", to: "08:00", price: 0.31 } ] }
channels: [ { id: hook, webhook: "https://hooks.example.com/secret-path", secret: "a-secret-of-16-chars-at-least" } ]
notify: [ { channels: [hook] } ]
`;

const PLAN_PATH = `/api/sites/${SITE}/plans/b3-f12`;
/** The URL carries the file's version, so a browser never shows an old plan after the file changed. */
const PLAN = { url: expect.stringMatching(new RegExp(`^${PLAN_PATH}\\?v=[0-9a-z]+-[0-9a-z]+$`)), width: 800, height: 400 };
const SITE_JSON = {
  id: SITE,
  name: { 'zh-CN': '枫林苑', en: 'Maple Court' },
  language: 'zh-CN',
  timezone: 'Asia/Shanghai',
  buildings: [{ id: 'b3', name: { 'zh-CN': '3号楼', en: 'Building 3' }, floors: [{ id: 'b3-f12', name: { 'zh-CN': '12层', en: 'Floor 12' }, plan: PLAN }] }],
  zones: [{ id: 'pump-room-1', name: { 'zh-CN': '1号水泵房', en: 'Pump room 1' }, building: 'b3' }],
  duty: [{ match: { kind: ['fire'] }, name: { 'zh-CN': '消防控制室', en: 'Fire control room' }, phone: '+86-21-5555-0119', during: '00:00-24:00' }],
  tariff: { currency: 'CNY', energy: [{ from: '08:00', to: '22:00', price: 0.62 }, { from: '22:00', to: '08:00', price: 0.31 }] },
};

describe('sites: buildings, floors, plans and positions (contract §12)', () => {
  let dir: string;
  let gw: TestGateway;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sites-it-'));
    await mkdir(join(dir, 'sites', 'plans'), { recursive: true });
    await writeFile(join(dir, 'sites', 'plans', 'floor.svg'), HOSTILE_SVG);
    await writeFile(join(dir, 'sites', `${SITE}.yaml`), SITE_FILE);
    gw = await startGateway({ SITES_DIR: join(dir, 'sites') });
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the site with its names, plans, duty list and tariff, never its channels, and only to its operators', async () => {
    expect(await gw.api('GET', '/api/sites')).toStrictEqual({ status: 200, body: [SITE_JSON] });
    const desk = await createOperator(gw, 'Desk', [SITE]);
    const other = await createOperator(gw, 'Other', ['oak-park']);
    expect((await gw.api('GET', `/api/sites/${SITE}`, undefined, desk.token)).body).toStrictEqual(SITE_JSON);
    expect((await gw.api('GET', '/api/sites', undefined, other.token)).body).toStrictEqual([]);
    expect((await gw.api('GET', `/api/sites/${SITE}`, undefined, other.token)).status).toBe(404);
    expect((await gw.api('POST', '/api/sites/reload', undefined, desk.token)).status).toBe(403);
    const paths = Object.keys((await gw.api('GET', '/docs/openapi.json', undefined, null)).body.paths);
    expect(paths.filter((p) => p.startsWith('/api/sites'))).toStrictEqual(['/api/sites', '/api/sites/{id}', '/api/sites/reload', '/api/sites/{id}/plans/{place}']);
  });

  it('serves a plan as an image whose scripts cannot run', async () => {
    const res = await fetch(`http://127.0.0.1:${gw.httpPort}${PLAN_PATH}`, { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
    expect(res.headers.get('content-disposition')).toBe('attachment');
    expect(await res.text()).toBe(HOSTILE_SVG);
    expect((await gw.api('GET', `/api/sites/${SITE}/plans/pump-room-1`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${gw.httpPort}${PLAN_PATH}`)).status).toBe(401);
  });

  it('stores a device position, names its floor, and flags a zone the site file lacks', async () => {
    const placed = await gw.api('POST', '/api/devices', { id: 'smoke-12-1', kind: 'fire', site: SITE, zone: 'b3-f12', position: { x: 120.5, y: 200 } });
    expect(placed.status).toBe(201);
    const got = await gw.api('GET', '/api/devices/smoke-12-1');
    expect(got.body).toMatchObject({ zone: 'b3-f12', position: { x: 120.5, y: 200 }, zoneKnown: true, zoneName: '12层', buildingName: '3号楼' });
    await gw.register('smoke-x-1', 'fire', SITE, 'b9-f1');
    const lost = (await gw.api('GET', '/api/devices/smoke-x-1')).body;
    expect([lost.zoneKnown, lost.zoneName]).toStrictEqual([false, undefined]);
    await gw.register('smoke-o-1', 'fire', 'oak-park', 'b1-f1');
    expect((await gw.api('GET', '/api/devices/smoke-o-1')).body.zoneKnown).toBeUndefined();
    const off = await gw.api('POST', '/api/devices', { id: 'smoke-12-2', kind: 'fire', site: SITE, zone: 'b3-f12', position: { x: 900, y: 10 } });
    expect(off).toStrictEqual({ status: 400, body: { error: 'validation_failed', message: 'position.x: must be at most 800, the width of the plan of b3-f12' } });
  });

  it("names the floor and building of an alarm raised in a known zone, in the site's first language", async () => {
    const raise = { site: SITE, type: 'smoke', severity: 'major' as const, kind: 'fire', rule: 'fire-smoke', message: 'Smoke at {device}' };
    const known = gw.gateway.alarms.raise({ ...raise, source: 'smoke-12-1', device: 'smoke-12-1', zone: 'b3-f12' }).alarm;
    expect((await gw.api('GET', `/api/alarms/${known.id}`)).body).toMatchObject({ zone: 'b3-f12', zoneName: '12层', buildingName: '3号楼' });
    const lost = gw.gateway.alarms.raise({ ...raise, source: 'smoke-x-1', device: 'smoke-x-1', zone: 'b9-f1' }).alarm;
    expect((await gw.api('GET', `/api/alarms/${lost.id}`)).body).not.toHaveProperty('zoneName');
  });

  it('refuses a bad file on reload naming the file, the site and the field, and keeps the sites in force', async () => {
    await writeFile(join(dir, 'sites', `${SITE}.yaml`), SITE_FILE.replace('plan: plans/floor.svg', 'plan: plans/gone.svg'));
    const res = await gw.api('POST', '/api/sites/reload');
    const problem = `${join(dir, 'sites', `${SITE}.yaml`)}: site "${SITE}": buildings[0].floors[0].plan: plans/gone.svg does not exist`;
    expect(res).toStrictEqual({ status: 400, body: { error: 'validation_failed', message: problem, errors: [problem] } });
    expect((await gw.api('GET', `/api/sites/${SITE}`)).body).toStrictEqual(SITE_JSON);
    await writeFile(join(dir, 'sites', `${SITE}.yaml`), SITE_FILE.replace('language: zh-CN', '').replace('timezone: Asia/Shanghai', 'language: en\ntimezone: Asia/Shanghai'));
    expect(await gw.api('POST', '/api/sites/reload')).toStrictEqual({ status: 200, body: { ok: true, count: 1, sites: [SITE] } });
    expect((await gw.api('GET', '/api/devices/smoke-12-1')).body).toMatchObject({ zoneName: 'Floor 12', buildingName: 'Building 3' });
  });

  it('gives a redrawn plan a new address once the site is reloaded, so no browser keeps showing the old one', async () => {
    const planUrl = async () => (await gw.api('GET', `/api/sites/${SITE}`)).body.buildings[0].floors[0].plan.url as string;
    const before = await planUrl();
    const redrawn = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 400"><rect width="800" height="400" fill="#eee"/></svg>';
    await writeFile(join(dir, 'sites', 'plans', 'floor.svg'), redrawn);
    expect((await gw.api('POST', '/api/sites/reload')).status).toBe(200);
    const after = await planUrl();
    expect(after).not.toBe(before);
    const res = await fetch(`http://127.0.0.1:${gw.httpPort}${after}`, { headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' } });
    expect(await res.text()).toBe(redrawn);
  });
});
