/**
 * Issue 17, must show 4: the demo running (`npm run demo`, scripts/demo.ts, as a newcomer starts it), and in real
 * Chromium, in Chinese and in English, every page of the console with no raw key and no word of the other language's
 * table; a fire's detector marked on its floor plan with the instructions beside it; the 390 px layout without
 * sideways scrolling. Screenshots of every page in both languages go to docs/screenshots (`npm run screenshots`).
 */
import mqtt from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESK, PHONE, launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { startDemo, stopDemo, type Demo } from '../helpers/demo-process.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { foreignWords, latinWords, untranslated, visibleTexts } from '../helpers/page-words.js';

const LANGS = ['zh-CN', 'en'] as const;
/** Generous for a real browser on a busy 2-core machine; a page itself renders in well under a second. */
const UI_TIMEOUT = 15_000;
/** The demo stops by itself after this, should the test die before stopping it. */
const DEMO_DURATION = '5m';
/** How much of the top of each page the docs show. */
const DOCS_HEIGHT = 640;
/** Our own detector, registered on a floor with a plan, whose fire the desk must see marked. */
const DETECTOR = 'fire-e2e-01';

/** Waits until the page has drawn what it loads (no "loading" left in the main area), then a moment for the last paint. */
async function settled(page: Page): Promise<void> {
  await page.waitForSelector('main.page', { timeout: UI_TIMEOUT });
  await page.waitForFunction(() => {
    const main = document.querySelector('main.page');
    return main !== null && main.children.length > 0 && !/加载中|Loading/.test(main.textContent ?? '');
  }, undefined, { timeout: UI_TIMEOUT });
  await page.waitForTimeout(250);
}

describe('the console in both languages, with the demo running', () => {
  let influx: InfluxServer;
  let demo: Demo;
  let browser: Browser;
  let site = '';
  let fireZone = '';
  let units: string[] = [];
  let detector: { username: string; password: string };
  const pages: Array<{ name: string; hash: string; ready?: string; period?: string }> = [];

  beforeAll(async () => {
    influx = await startInflux();
    demo = await startDemo({ INFLUX_URL: influx.url }, DEMO_DURATION);
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${demo.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${demo.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };
    // Every device of the demo registered: the count stops growing.
    let devices: Array<{ id: string; kind: string; site: string; zone: string }> = [];
    for (let last = -1; devices.length === 0 || devices.length !== last; await new Promise((r) => setTimeout(r, 1000))) {
      last = devices.length;
      const res = await api('GET', '/api/devices');
      if (res.status !== 200) throw new Error(`GET /api/devices answered ${res.status} ${JSON.stringify(res.body)}`);
      devices = res.body;
    }
    site = devices[0].site;
    const definitions = (await api('GET', '/api/definitions')).body as { kinds: Record<string, { telemetry: Record<string, { unit?: string }> }> };
    units = [...new Set(Object.values(definitions.kinds).flatMap((k) => Object.values(k.telemetry).map((f) => f.unit)).filter((u): u is string => !!u))].flatMap(latinWords);
    // A floor with a plan for our detector; the demo's own timeline sets off its fire on another floor.
    const sites = await api('GET', '/api/sites');
    const floors = sites.status === 200 ? (sites.body as any[]).flatMap((s) => s.buildings.flatMap((b: any) => b.floors)).filter((f: any) => f.plan) : [];
    const floor = floors.find((f: any) => f.id !== 'b2-f3') ?? { id: 'b1-f2' };
    fireZone = floor.id;
    const position = floor.plan ? { x: Math.round(floor.plan.width / 2), y: Math.round(floor.plan.height / 2) } : undefined;
    let registered = await api('POST', '/api/devices', { id: DETECTOR, kind: 'fire', site, zone: fireZone, ...(position ? { position } : {}) });
    // A gateway that does not take positions yet: the detector without one (the plan check then says it is not marked).
    if (registered.status === 400 && position) registered = await api('POST', '/api/devices', { id: DETECTOR, kind: 'fire', site, zone: fireZone });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    detector = registered.body.mqtt;
    const client = await mqtt.connectAsync(demo.mqttUrl, { ...detector, protocolVersion: 4 });
    // A reading first, so the detector's page has charts to draw the rules' levels and the fire's mark on.
    await client.publishAsync(`sc/${site}/fire/${DETECTOR}/telemetry`, JSON.stringify({ smokeObscurationPct: 0.3, temperatureC: 22.5 }), { qos: 1 });
    await client.publishAsync(`sc/${site}/fire/${DETECTOR}/event`, JSON.stringify({ type: 'fire_alarm' }), { qos: 1 });
    await client.endAsync();

    pages.push(
      { name: 'alarms', hash: '#/alarms' },
      { name: 'workorders', hash: '#/workorders' },
      { name: 'devices', hash: '#/devices', ready: 'li[data-device]' },
      { name: 'rules', hash: '#/rules', ready: 'tr[data-rule]' },
      { name: 'silences', hash: '#/silences' },
      { name: 'report-day', hash: '#/reports', ready: '[data-testid="report"]' },
      { name: 'report-week', hash: '#/reports', ready: '[data-testid="report"]', period: 'week' },
      { name: 'report-month', hash: '#/reports', ready: '[data-testid="report"]', period: 'month' },
      // The admin's pages: the audit trail (the demo's own sign-ins and folder loads at least) and the operators.
      { name: 'audit', hash: '#/audit', ready: 'table.audit' },
      { name: 'operators', hash: '#/operators', ready: '[data-testid="operators"], [data-testid="no-operators"]' },
    );
    const kinds = [...new Set(devices.map((d) => d.kind))].sort();
    for (const kind of kinds) {
      const d = devices.filter((x) => x.kind === kind).sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))[0];
      pages.push({ name: `device-${kind}`, hash: `#/devices/${encodeURIComponent(d.id)}`, ready: 'section.device' });
    }
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopDemo(demo);
    await influx?.stop();
  });

  for (const lang of LANGS) {
    it(`shows every page in ${lang} with no raw key and no word of the other language, and the fire on its floor plan`, async () => {
      const { context, page, errors } = await openPage(browser, DESK);
      await context.addInitScript((l) => localStorage.setItem('lang', l), lang);
      const problems: string[] = [];
      const check = async (name: string) => {
        const words = await foreignWords(page, lang);
        // The units the gateway gives (lux, ppm) and the signed-in person's name are the same in both languages.
        for (const w of [...units, 'admin']) words.latin.add(w.toLowerCase());
        problems.push(...untranslated(await visibleTexts(page), lang, words).map((p) => `${name}: ${p}`));
        // The first screen of each page: what a person sees on opening it (and small enough for the docs).
        await screenshot(page, `languages-${name}-${lang}`, { docs: true, until: 'main > *, form.card', height: DOCS_HEIGHT })
          .catch((err: Error) => problems.push(`${name}: ${err.message}`));
      };
      try {
        await page.goto(demo.base);
        await page.waitForSelector('input[name="token"]', { timeout: UI_TIMEOUT });
        expect(await page.getAttribute('html', 'lang')).toBe(lang);
        await check('login');
        await page.fill('input[name="token"]', demo.token);
        await page.click('button[type="submit"]');
        await page.waitForSelector('header.top', { timeout: UI_TIMEOUT });
        for (const p of pages) {
          const t0 = Date.now();
          await page.goto(`${demo.base}/${p.hash}`);
          await settled(page).catch((err) => problems.push(`${p.name}: ${(err as Error).message.split('\n')[0]}`));
          if (process.env.E2E_TRACE) console.log(lang, p.name, Date.now() - t0);
          if (p.ready) await page.waitForSelector(p.ready, { timeout: UI_TIMEOUT });
          if (p.name === 'alarms') problems.push(...(await fireOnPlan(page, fireZone, site)).map((m) => `alarms: ${m}`));
          if (p.period) {
            await page.selectOption('select[name="period"]', p.period);
            await page.click('form.bar button[type="submit"]');
            await settled(page);
          }
          await check(p.name);
        }
        expect(problems).toStrictEqual([]);
        expect(errors).toStrictEqual([]);
      } finally {
        await context.close();
      }
    }, 60_000);
  }

  it("lists devices by building and floor in the site file's order, finds them by a floor's name, and charts a detector with its rules' levels and its fire, and flags the doors the fire left unlocked", async () => {
    const { context, page, errors } = await openPage(browser, DESK);
    try {
      await page.goto(demo.base);
      await page.fill('input[name="token"]', demo.token);
      await page.click('button[type="submit"]');
      await page.waitForSelector('header.top', { timeout: UI_TIMEOUT });
      await page.goto(`${demo.base}/#/devices`);
      await page.waitForSelector('li[data-device]', { timeout: UI_TIMEOUT });
      // Building 1 by its name, its floors 1 to 10 in order (f2 before f10), then its lobby, lifts and rooms.
      const b1 = page.locator(`details[data-site="${site}"][data-building="b1"]`);
      expect(await b1.locator('summary strong').textContent()).toContain('1号楼');
      const floors = (await b1.locator('.zone').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.zone))).filter((z) => /^b1-f\d+$/.test(z ?? ''));
      expect(floors).toStrictEqual(Array.from({ length: 10 }, (_, i) => `b1-f${i + 1}`));
      // Found by the floor's name in either language, words of the building and the floor together.
      for (const words of ['1号楼 10层', 'building 1 floor 10']) {
        await page.fill('input[name="search"]', words);
        await page.waitForFunction(() => [...document.querySelectorAll('.zone')].every((z) => (z as HTMLElement).dataset.zone === 'b1-f10'), undefined, { timeout: UI_TIMEOUT });
        expect(await page.locator('li[data-device]').count()).toBeGreaterThan(0);
      }

      await page.goto(`${demo.base}/#/devices/${DETECTOR}`);
      const smoke = page.locator('.chart[data-field="smokeObscurationPct"]');
      await smoke.locator('canvas').waitFor({ timeout: UI_TIMEOUT });
      // The levels of the default rules: smoke-high raises above 8 % and clears below 2 %, fire-confirmed takes 4 %.
      expect(await smoke.locator('.levels li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.level).sort())).toStrictEqual(['2', '4', '8']);
      expect(await smoke.locator('figcaption').textContent()).toBe('烟雾浓度 (%)');
      // The fire of this period, marked on the time axis and listed above the charts.
      await page.locator('[data-testid="period-alarms"] li').first().waitFor({ timeout: UI_TIMEOUT });
      expect(await page.textContent('[data-testid="period-alarms"]')).toContain('火警');
      expect(await page.textContent('[data-testid="device-place"]')).toContain('1号楼 · 1层');
      await screenshot(page, 'languages-detector-fire-zh-CN');

      // The detector reset: the fire alarm is no longer active, and the doors its rule released are still unlocked.
      const client = await mqtt.connectAsync(demo.mqttUrl, { ...detector, protocolVersion: 4 });
      await client.publishAsync(`sc/${site}/fire/${DETECTOR}/event`, JSON.stringify({ type: 'reset' }), { qos: 1 });
      await client.endAsync();
      await page.goto(`${demo.base}/#/devices`);
      const door = page.locator(`li[data-device^="access-${fireZone}-"] [data-testid="unlocked-after-fire"]`).first();
      await door.waitFor({ timeout: 25_000 });
      expect(await door.textContent()).toBe('门未重新上锁（火警后）');
      expect(await page.textContent('[data-testid="unlocked-count"]')).toMatch(/^\d+ 个门禁在火警后仍未重新上锁$/);
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('lays every page out in 390 px without sideways scrolling', async () => {
    const { context, page } = await openPage(browser, PHONE);
    const wide: string[] = [];
    try {
      await page.goto(demo.base);
      await page.fill('input[name="token"]', demo.token);
      await page.click('button[type="submit"]');
      await page.waitForSelector('header.top', { timeout: UI_TIMEOUT });
      for (const p of pages) {
        await page.goto(`${demo.base}/${p.hash}`);
        await settled(page);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        if (width > PHONE.width + 1) wide.push(`${p.name}: ${width} px`);
      }
      await screenshot(page, 'languages-phone-device', {});
      expect(wide).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});

/**
 * The alarm page, narrowed to the fire's floor: its detector marked on the plan, and what to do written beside it.
 * Answers what is missing, so the test goes on to the other pages and reports everything at once.
 */
async function fireOnPlan(page: Page, zone: string, site: string): Promise<string[]> {
  const missing: string[] = [];
  const place = page.locator('select[name="place"]');
  const option = `z\u0000${site}\u0000${zone}`;
  const offered = (await place.count()) > 0 && (await place.evaluate((el, v) => [...(el as HTMLSelectElement).options].some((o) => o.value === v), option));
  if (offered) await place.selectOption(option);
  const marked = page.locator(`[data-testid="plan"] [data-device="${DETECTOR}"][data-alarming="true"]`);
  if (!(await marked.waitFor({ timeout: 10_000 }).then(() => true, () => false))) missing.push(`the fire's detector ${DETECTOR} (${zone}) is not marked on a floor plan`);
  const instructions = page.locator('.instructions[data-type="fire_alarm"]');
  const text = await instructions.first().waitFor({ timeout: 2000 }).then(() => instructions.first().textContent(), () => '');
  if ((text ?? '').trim().length < 10) missing.push('no instructions for the fire alarm');
  return missing;
}
