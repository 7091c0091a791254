/**
 * Issue 18, must show 5: the energy page in real Chromium, in Chinese and in English, against a real gateway and a
 * real InfluxDB holding two months of 15-minute meter readings for three buildings of a site with a tariff. What a
 * person sees: a coloured part of each bar for each building, the top consumer by name, the cost per band as the API
 * computes it, no raw key or word of the other language, no script error; on a phone, no sideways scrolling; and the
 * empty states (no meters, no tariff, InfluxDB away). Screenshots go to docs/screenshots (`npm run screenshots`).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { telemetryLine } from '../../src/storage/influx/points.js';
import { DESK, PHONE, launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { foreignWords, untranslated, visibleTexts, type Lang } from '../helpers/page-words.js';

const LANGS: Lang[] = ['zh-CN', 'en'];
const SITE = 'energy-court';
/** A site with a meter and no tariff, and one with no meter at all. */
const PLAIN = 'plain-court';
const QUIET = 'quiet-court';
/** Asia/Shanghai keeps +08:00 all year: the site's month is easy to write down here. */
const TZ = 'Asia/Shanghai';
const OFFSET = '+08:00';
const DB = 'smart_community';
/** Long enough for a real browser on a busy 2-core machine. */
const UI_TIMEOUT = 30_000;
/** The window the docs' screenshots are taken in, and how much of the page they show. */
const DOCS_SIZE = { width: 1160, height: 860 };
const QUARTER_HOUR = 15 * 60_000;
/** The bars' colours by building, in the site file's order (console/pages/energy-charts.js). */
const COLOURS = ['#2563eb', '#ea580c', '#16a34a'];
/** Each building's main meter, and how much more than building 1 it draws: building 3 uses most. */
const METERS = [
  { id: 'b1-meter', zone: 'b1-power', name: '1号楼总表', scale: 1 },
  { id: 'b2-meter', zone: 'b2-power', name: '2号楼总表', scale: 1.6 },
  { id: 'b3-meter', zone: 'b3-power', name: '3号楼总表', scale: 2.3 },
];
const WATER = { id: 'b2-water', zone: 'b2-power' };
const NAMES: Record<Lang, string[]> = { 'zh-CN': ['1号楼', '2号楼', '3号楼'], en: ['Building 1', 'Building 2', 'Building 3'] };

function siteFile(id: string, tariff: boolean): string {
  return [
    `id: ${id}`,
    `name: { zh-CN: ${id === SITE ? '能源苑' : id === PLAIN ? '朴素苑' : '静苑'}, en: ${id === SITE ? 'Energy Court' : id === PLAIN ? 'Plain Court' : 'Quiet Court'} }`,
    `timezone: ${TZ}`,
    'buildings:',
    ...[1, 2, 3].map((n) => `  - { id: b${n}, name: { zh-CN: ${n}号楼, en: Building ${n} }, floors: [] }`),
    'zones:',
    ...[1, 2, 3].map((n) => `  - { id: b${n}-power, name: { zh-CN: ${n}号楼配电房, en: Building ${n} power room }, building: b${n} }`),
    ...(tariff
      ? ['tariff:', '  currency: CNY', '  energy:',
        '    - { from: "08:00", to: "11:00", price: 1.05 }',
        '    - { from: "11:00", to: "18:00", price: 0.66 }',
        '    - { from: "18:00", to: "21:00", price: 1.05 }',
        '    - { from: "21:00", to: "22:00", price: 0.66 }',
        '    - { from: "22:00", to: "08:00", price: 0.3 }']
      : []),
  ].join('\n');
}

/**
 * A building's power at a moment (kW): a night base, a morning and an evening peak, more at weekends, a day's own
 * weather (a fixed pseudo-random factor per day) and a little noise.
 */
function powerKw(scale: number, ms: number): number {
  const local = new Date(ms + 8 * 3_600_000);
  const hour = local.getUTCHours() + local.getUTCMinutes() / 60;
  const dayNumber = Math.floor(local.getTime() / 86_400_000);
  const noise = (((Math.sin(dayNumber * 12.9898) * 43758.5453) % 1) + 1) % 1;
  const weather = 0.85 + 0.3 * noise;
  const weekend = [0, 6].includes(local.getUTCDay()) ? 1.2 : 1;
  const day = Math.exp(-(((hour - 10) / 3) ** 2)) * 30 + Math.exp(-(((hour - 19.5) / 2) ** 2)) * 45;
  return scale * (8 + day * weekend * weather + ((ms / QUARTER_HOUR) % 7) * 0.3);
}

/** Building 2's water meter: a flow of about 0.3 m³/h at night and up to 2.5 m³/h at the morning and evening peaks. */
function waterReadings(from: number, now: number): string[] {
  const lines: string[] = [];
  let volume = 5000;
  for (let ts = from; ts <= now; ts += QUARTER_HOUR) {
    const flow = Math.round(((powerKw(1, ts) - 8) / 30 + 0.3) * 1000) / 1000;
    volume += flow / 4;
    lines.push(telemetryLine('water', SITE, WATER.id, WATER.zone, { volumeM3: Math.round(volume * 1000) / 1000, flowM3h: flow }, ts));
  }
  return lines;
}

/** 15-minute readings of every meter from `from` to now, as line protocol the gateway writes (contract §7). */
function readings(site: string, meters: typeof METERS, from: number, now: number): string[] {
  const lines: string[] = [];
  for (const m of meters) {
    let register = 1000 * m.scale;
    for (let ts = from; ts <= now; ts += QUARTER_HOUR) {
      const kw = powerKw(m.scale, ts);
      register += kw / 4;
      lines.push(telemetryLine('energy', site, m.id, m.zone, { energyKwh: Math.round(register * 1000) / 1000, powerKw: Math.round(kw * 1000) / 1000 }, ts));
    }
  }
  return lines;
}

/** `yyyy-mm` of the month before this one, in the site's calendar. */
function lastMonth(): string {
  const local = new Date(Date.now() + 8 * 3_600_000);
  const d = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}

/** A month of the site's calendar as the API's `from` and `to`. */
function monthRange(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number);
  const next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 7);
  return { from: new Date(`${month}-01T00:00:00${OFFSET}`).toISOString(), to: new Date(`${next}-01T00:00:00${OFFSET}`).toISOString() };
}

/** The page's figures as numbers: "¥1,234.56", "CN¥1,234.56", "1,234.5". */
const figure = (text: string | null) => Number((text ?? '').replace(/[^\d.-]/g, ''));

describe('the energy page in a real browser', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let dataDir: string;
  let browser: Browser;
  let base: string;
  let desk: { token: string };

  beforeAll(async () => {
    influx = await startInflux();
    dataDir = await mkdtemp(join(tmpdir(), 'console-energy-'));
    await mkdir(join(dataDir, 'sites'), { recursive: true });
    await writeFile(join(dataDir, 'sites', `${SITE}.yaml`), siteFile(SITE, true));
    await writeFile(join(dataDir, 'sites', `${PLAIN}.yaml`), siteFile(PLAIN, false));
    await writeFile(join(dataDir, 'sites', `${QUIET}.yaml`), siteFile(QUIET, false));
    gw = await startGateway({ INFLUX_URL: influx.url }, dataDir);
    base = `http://127.0.0.1:${gw.httpPort}`;
    for (const m of METERS) expect((await gw.api('POST', '/api/devices', { id: m.id, kind: 'energy', site: SITE, zone: m.zone, name: m.name })).status).toBe(201);
    expect((await gw.api('POST', '/api/devices', { id: WATER.id, kind: 'water', site: SITE, zone: WATER.zone })).status).toBe(201);
    const plain = { id: 'plain-meter', zone: 'b1-power', name: '朴素苑总表', scale: 1 };
    expect((await gw.api('POST', '/api/devices', { id: plain.id, kind: 'energy', site: PLAIN, zone: plain.zone })).status).toBe(201);
    desk = (await gw.api('POST', '/api/operators', { name: 'energy-desk', sites: [SITE, PLAIN, QUIET], role: 'supervisor' })).body;
    // From a day before last month began (site time) to now, on quarter hours.
    const now = Math.floor(Date.now() / QUARTER_HOUR) * QUARTER_HOUR;
    const from = Date.parse(`${lastMonth()}-01T00:00:00${OFFSET}`) - 86_400_000;
    await influx.query(`CREATE DATABASE ${DB}`);
    const lines = [...readings(SITE, METERS, from, now), ...waterReadings(from, now), ...readings(PLAIN, [plain], now - 3 * 86_400_000, now)];
    for (let i = 0; i < lines.length; i += 5000) {
      const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines.slice(i, i + 5000).join('\n') });
      expect(res.status).toBe(204);
    }
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const signIn = async (page: Page) => {
    await page.goto(base);
    await page.fill('input[name="token"]', desk.token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('header.top', { timeout: UI_TIMEOUT });
  };
  /** Opens the page on a site and a month, and waits until its figures (or what it says instead) are drawn. */
  const open = async (page: Page, site: string, month?: string) => {
    await page.goto(`${base}/#/energy`);
    await page.waitForSelector('section.energy select[name="site"]', { timeout: UI_TIMEOUT });
    await page.selectOption('select[name="site"]', site);
    if (month) await page.fill('input[name="month"]', month);
    const shown = month ? `${site} energy ${new Date(`${month}-01T00:00:00${OFFSET}`).toISOString()}` : `${site} energy `;
    await page.waitForSelector(`section.energy[data-shown${month ? '' : '^'}="${shown}"]`, { timeout: UI_TIMEOUT });
  };
  const api = async (query: Record<string, string>) => {
    const res = await gw.api('GET', `/api/energy?${new URLSearchParams({ site: SITE, kind: 'energy', ...query })}`, undefined, desk.token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Array<Record<string, any>>;
  };

  for (const lang of LANGS) {
    it(`shows last month in ${lang}: a bar part per building, the top consumer, the cost per band as the API's, every word translated`, async () => {
      const { context, page, errors } = await openPage(browser, DESK);
      await context.addInitScript((l) => localStorage.setItem('lang', l), lang);
      try {
        await signIn(page);
        const month = lastMonth();
        await open(page, SITE, month);
        await page.locator('[data-chart="buildings"] canvas').first().waitFor({ timeout: UI_TIMEOUT });
        await page.locator('[data-chart="today"] canvas').first().waitFor({ timeout: UI_TIMEOUT });
        // Four weeks of history: today's hours over (once one is) are set against the same weekday's.
        expect(await page.locator('[data-testid="today-summary"]').isVisible()).toBe(new Date(Date.now() + 8 * 3_600_000).getUTCHours() >= 1);
        expect(await page.locator('[data-empty="baseline"]').count()).toBe(0);

        // A legend entry per building, by its name in the page's language, and each building's colour on the bars.
        const chart = page.locator('[data-chart="buildings"]');
        expect(await chart.getAttribute('data-buildings')).toBe('b1,b2,b3');
        const legend = await chart.locator('.legend li').evaluateAll((els) => els.map((e) => ({ key: (e as HTMLElement).dataset.building, text: e.textContent ?? '' })));
        expect(legend.map((l) => l.key)).toStrictEqual(['b1', 'b2', 'b3']);
        legend.forEach((l, i) => expect(l.text).toContain(NAMES[lang][i]));
        const painted = await chart.locator('canvas').evaluate((canvas, colours) => {
          const c = canvas as HTMLCanvasElement;
          const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
          const rgb = colours.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
          const counts = rgb.map(() => 0);
          for (let p = 0; p < data.length; p += 4) rgb.forEach(([r, g, b], i) => { if (data[p] === r && data[p + 1] === g && data[p + 2] === b) counts[i]++; });
          return counts;
        }, COLOURS);
        for (const [i, n] of painted.entries()) expect(n, `pixels of building ${i + 1}'s colour`).toBeGreaterThan(500);

        // The month's totals per building as the API gives them.
        const { from, to } = monthRange(month);
        const buildings = await api({ by: 'building', interval: '1d', from, to });
        for (const [i, key] of ['b1', 'b2', 'b3'].entries()) {
          const total = buildings.filter((r) => r.key === key).reduce((a, r) => a + r.consumption, 0);
          expect(Math.abs(figure(await chart.locator(`li[data-building="${key}"] strong`).textContent()) - total), key).toBeLessThanOrEqual(0.05 + 1e-9);
          expect(total, key).toBeGreaterThan(0);
          if (i > 0) expect(total).toBeGreaterThan(buildings.filter((r) => r.key === `b${i}`).reduce((a, r) => a + r.consumption, 0));
        }

        // The top consumer first, by name (a Chinese name shows on the Chinese page; the English one shows the id), linked.
        const first = page.locator('table.top-consumers tbody tr').first();
        expect(await first.getAttribute('data-device')).toBe('b3-meter');
        expect(await first.locator('a').textContent()).toBe(lang === 'zh-CN' ? '3号楼总表' : 'b3-meter');
        expect(await first.locator('a').getAttribute('href')).toBe('#/devices/b3-meter');
        expect(await page.locator('table.top-consumers tbody tr').count()).toBe(3);

        // The cost per band: the month's days as the API gives them, summed per band.
        const days = await api({ by: 'site', interval: '1d', from, to });
        const bands = new Map<string, { consumption: number; cost: number }>();
        for (const d of days) {
          for (const b of d.costBands ?? []) {
            const x = bands.get(`${b.from}-${b.to}`) ?? { consumption: 0, cost: 0 };
            x.consumption += b.consumption;
            x.cost += b.cost;
            bands.set(`${b.from}-${b.to}`, x);
          }
        }
        expect([...bands.keys()].sort()).toStrictEqual(['08:00-11:00', '11:00-18:00', '18:00-21:00', '21:00-22:00', '22:00-08:00']);
        for (const [band, x] of bands) {
          const row = page.locator(`table.cost-bands tr[data-band="${band}"]`);
          expect(Math.abs(figure(await row.locator('[data-value="cost"]').textContent()) - x.cost), `${band} cost`).toBeLessThanOrEqual(0.005 + 1e-9);
          expect(Math.abs(figure(await row.locator('[data-value="consumption"]').textContent()) - x.consumption), `${band} kWh`).toBeLessThanOrEqual(0.05 + 1e-9);
        }
        const totalCost = [...bands.values()].reduce((a, x) => a + x.cost, 0);
        expect(Math.abs(figure(await page.textContent('table.cost-bands [data-value="total-cost"]')) - totalCost)).toBeLessThanOrEqual(0.005 + 1e-9);
        expect(await page.locator('table.cost-bands .badge').allTextContents()).toContain(lang === 'zh-CN' ? '峰' : 'Peak');

        // Every word in the page's language, and no script error.
        const words = await foreignWords(page, lang);
        // The units are written alike in both languages.
        words.latin.add('kwh');
        expect(untranslated(await visibleTexts(page), lang, words)).toStrictEqual([]);
        // The CSV link answers the same rows as the page's by building, one line each after the header.
        const csv = await page.evaluate(async (href) => {
          const res = await fetch(href, { headers: { authorization: `Bearer ${sessionStorage.getItem('token')}` } });
          return { type: res.headers.get('content-type'), lines: (await res.text()).trim().split('\r\n').length };
        }, (await page.getAttribute('a[data-csv="building"]', 'href'))!);
        expect(csv).toStrictEqual({ type: 'text/csv; charset=utf-8', lines: buildings.length + 1 });

        // For the docs: a narrower window, nothing focused.
        await page.setViewportSize(DOCS_SIZE);
        await page.locator('input[name="month"]').blur();
        await page.waitForTimeout(300);
        await screenshot(page, `energy-${lang}`, { docs: true, until: '.energy-grid', height: DOCS_SIZE.height });
        expect(errors).toStrictEqual([]);
      } finally {
        await context.close();
      }
    }, 90_000);
  }

  it('switches to water: the building with a meter in m³, the smallest night use, and no cost', async () => {
    const { context, page, errors } = await openPage(browser, DESK);
    await context.addInitScript(() => localStorage.setItem('lang', 'en'));
    try {
      await signIn(page);
      const month = lastMonth();
      await open(page, SITE, month);
      await page.click('button[data-kind="water"]');
      await page.waitForSelector(`section.energy[data-shown="${SITE} water ${monthRange(month).from}"]`, { timeout: UI_TIMEOUT });
      await page.locator('[data-chart="buildings"] canvas').waitFor({ timeout: UI_TIMEOUT });
      const chart = page.locator('[data-chart="buildings"]');
      expect(await chart.getAttribute('data-buildings')).toBe('b2');
      const shown = await chart.locator('li[data-building="b2"]').textContent();
      expect(shown).toContain('Building 2');
      expect(shown).toContain('m³');
      const rows = await api({ kind: 'water', by: 'building', interval: '1d', ...monthRange(month) });
      const used = rows.reduce((a, r) => a + r.consumption, 0);
      expect(used).toBeGreaterThan(0);
      expect(Math.abs(figure(await chart.locator('li[data-building="b2"] strong').textContent()) - used)).toBeLessThanOrEqual(0.05 + 1e-9);
      await page.locator('[data-chart="night"] canvas').waitFor({ timeout: UI_TIMEOUT });
      expect(await page.textContent('section[data-section="night"] h3')).toBe('Smallest night use (m³/h)');
      expect(await page.textContent('section[data-section="cost"]')).toContain('The tariff applies to electricity only');
      expect(await page.locator('table.top-consumers tbody tr').first().getAttribute('data-device')).toBe(WATER.id);
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('reads a year per month and a run of days per day, with the same totals as the API', async () => {
    const { context, page, errors } = await openPage(browser, DESK);
    await context.addInitScript(() => localStorage.setItem('lang', 'en'));
    try {
      await signIn(page);
      await open(page, SITE);
      const local = new Date(Date.now() + 8 * 3_600_000);
      const year = String(local.getUTCFullYear());
      await page.selectOption('select[name="period"]', 'year');
      await page.selectOption('select[name="year"]', year);
      const yearFrom = new Date(`${year}-01-01T00:00:00${OFFSET}`).toISOString();
      await page.waitForSelector(`section.energy[data-shown="${SITE} energy ${yearFrom}"]`, { timeout: UI_TIMEOUT });
      const months = await api({ by: 'building', interval: '1M', from: yearFrom, to: new Date().toISOString() });
      const b3 = months.filter((r) => r.key === 'b3').reduce((a, r) => a + r.consumption, 0);
      expect(b3).toBeGreaterThan(0);
      expect(Math.abs(figure(await page.textContent('[data-chart="buildings"] li[data-building="b3"] strong')) - b3)).toBeLessThanOrEqual(0.05 + 1e-9);
      expect(await page.textContent('section[data-section="buildings"] .help')).toBe('One bar per month, one colour per building, stacked.');

      // The seven days before today.
      const day = (back: number) => new Date(local.getTime() - back * 86_400_000).toISOString().slice(0, 10);
      await page.selectOption('select[name="period"]', 'days');
      await page.fill('input[name="from"]', day(7));
      await page.fill('input[name="to"]', day(1));
      const daysFrom = new Date(`${day(7)}T00:00:00${OFFSET}`).toISOString();
      await page.waitForSelector(`section.energy[data-shown="${SITE} energy ${daysFrom}"]`, { timeout: UI_TIMEOUT });
      const days = await api({ by: 'building', interval: '1d', from: daysFrom, to: new Date(`${day(0)}T00:00:00${OFFSET}`).toISOString() });
      expect(new Set(days.map((r) => r.from)).size).toBe(7);
      const b1 = days.filter((r) => r.key === 'b1').reduce((a, r) => a + r.consumption, 0);
      expect(Math.abs(figure(await page.textContent('[data-chart="buildings"] li[data-building="b1"] strong')) - b1)).toBeLessThanOrEqual(0.05 + 1e-9);
      // The days the wrong way round are refused on the page, before any request.
      await page.fill('input[name="from"]', day(1));
      await page.fill('input[name="to"]', day(7));
      expect(await page.textContent('section.energy [role="alert"]')).toBe('The last day cannot be before the first');
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('says so when a site has no meters or no tariff, in both languages, and lays out in 390 px without sideways scrolling', async () => {
    const { context, page, errors } = await openPage(browser, PHONE);
    try {
      await signIn(page);
      await open(page, SITE);
      await page.locator('[data-chart="buildings"] canvas').first().waitFor({ timeout: UI_TIMEOUT });
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width + 1);
      await screenshot(page, 'energy-phone');
      const said: Record<string, string> = {};
      for (const lang of LANGS) {
        await page.evaluate((l) => localStorage.setItem('lang', l), lang);
        await page.reload();
        await page.waitForSelector('header.top', { timeout: UI_TIMEOUT });
        await open(page, QUIET);
        said[`${lang} meters`] = (await page.locator('[data-empty="meters"]').textContent()) ?? '';
        await open(page, PLAIN);
        await page.locator('[data-testid="energy"]').waitFor({ timeout: UI_TIMEOUT });
        said[`${lang} tariff`] = (await page.locator('[data-empty="tariff"]').textContent()) ?? '';
        expect(await page.locator('[data-kpi="cost"]').count()).toBe(0);
      }
      expect(said['zh-CN meters']).toContain('本小区没有电表');
      expect(said['en meters']).toContain('No energy meters on this site');
      expect(said['zh-CN tariff']).toContain('没有设置电价');
      expect(said['en tariff']).toContain('sets no tariff');
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('explains that the history database is not answering while InfluxDB is away', async () => {
    const { context, page } = await openPage(browser, DESK);
    await context.addInitScript(() => localStorage.setItem('lang', 'en'));
    try {
      await signIn(page);
      await influx.kill();
      await open(page, SITE);
      expect(await page.locator('[data-testid="energy-error"]').textContent()).toContain('The history database (InfluxDB) is not answering');
    } finally {
      await context.close();
      await influx.restart();
    }
  }, 60_000);
});
