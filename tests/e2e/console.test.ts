import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../devices/runtime/simulator.js';
import { parseScenario } from '../../devices/scenarios.js';
import { loadSite } from '../../devices/site.js';
import { DESK, PHONE, launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const SITE = 'small-site';
const OTHER = 'other-site';
/** Long enough for a real browser on a busy 2-core machine; the live update itself takes milliseconds. */
const UI_TIMEOUT = 20_000;

/** Signs in with a token on the console's own page, as an operator would. */
async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(base);
  await page.fill('input[name="token"]', token);
  await page.click('button[type="submit"]');
  await page.waitForSelector('header.top', { timeout: UI_TIMEOUT });
  await page.waitForSelector('.live.on', { timeout: UI_TIMEOUT });
}

describe('the operator console in a real browser', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let sim: Simulator;
  let browser: Browser;
  let base: string;
  let desk: { name: string; token: string };
  let other: { name: string; token: string };

  beforeAll(async () => {
    influx = await startInflux();
    gw = await startGateway({ RULES_DIR: resolve('rules'), INFLUX_URL: influx.url, COMMAND_TIMEOUT: '5s' });
    base = `http://127.0.0.1:${gw.httpPort}`;
    sim = new Simulator({
      site: await loadSite('tests/fixtures/sites/small.yaml'),
      apiUrl: base,
      mqttUrl: gw.mqttUrl,
      token: ADMIN_TOKEN,
      stateFile: join(await mkdtemp(join(tmpdir(), 'console-')), 'state.json'),
      intervalMs: 1000,
      // Twenty times faster: the fire develops over seconds instead of minutes.
      speed: 20,
      seed: 5,
    });
    await sim.start();
    desk = (await gw.api('POST', '/api/operators', { name: 'security desk', sites: [SITE] })).body;
    other = (await gw.api('POST', '/api/operators', { name: 'other desk', sites: [OTHER] })).body;
    await gw.register('fire-other-01', 'fire', OTHER, 'x1-f1');
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.stop();
    await gw?.stop();
    await influx?.stop();
  });

  it('shows a fire live, takes the ack and the work order through to resolved; the other site sees none of it', async () => {
    const a = await openPage(browser, DESK);
    const b = await openPage(browser, DESK);
    try {
      await signIn(a.page, base, desk.token);
      await signIn(b.page, base, other.token);
      // Chinese is the default language.
      expect(await a.page.getAttribute('html', 'lang')).toBe('zh-CN');
      expect(await a.page.textContent('header nav')).toContain('告警');
      await a.page.waitForSelector('[data-testid="no-alarms"]');

      expect(sim.apply(parseScenario('fire:b1-f2'), true)).toHaveLength(3);

      // The confirmed fire appears without a reload, with the flashing banner.
      const card = a.page.locator('[data-type="fire_confirmed"][data-state="active"]');
      await card.waitFor({ timeout: 30_000 });
      await a.page.waitForSelector('.banner.critical.flash');
      const alarmId = await card.getAttribute('data-alarm');
      // Critical first: the confirmed fire sits above the detector's own (major) alarm.
      expect(await a.page.locator('li.alarm').first().getAttribute('data-type')).toBe('fire_confirmed');
      await screenshot(a.page, 'desk-alarms');

      await card.locator('[data-action="ack"]').click();
      await card.locator('textarea[name="note"]').fill('Guard sent to b1-f2');
      await card.locator('[data-action="confirm"]').click();
      await a.page.waitForSelector(`[data-alarm="${alarmId}"][data-state="acknowledged"]`, { timeout: UI_TIMEOUT });
      // The acknowledged alarm's banner is gone (the fire developing may raise another critical alarm meanwhile).
      expect(await a.page.locator(`.banner.critical[data-banner-alarm="${alarmId}"]`).count()).toBe(0);
      const acked = (await gw.api('GET', `/api/alarms/${alarmId}`)).body;
      expect(acked).toMatchObject({ state: 'acknowledged', ackedBy: 'security desk', note: 'Guard sent to b1-f2' });

      // Its history shows the raise and the ack with the note.
      await a.page.locator(`[data-alarm="${alarmId}"] button.link`).click();
      await a.page.waitForSelector(`[data-alarm="${alarmId}"] .history q`, { timeout: UI_TIMEOUT });
      expect(await a.page.textContent(`[data-alarm="${alarmId}"] .history`)).toContain('Guard sent to b1-f2');

      // The work order the confirmed fire opened, moved along the board to resolved.
      const woId: string = acked.workOrder;
      expect(woId).toBeTruthy();
      await a.page.click('a[href="#/workorders"]');
      const wo = a.page.locator(`[data-workorder="${woId}"]`);
      await a.page.locator(`.column[data-status="open"] [data-workorder="${woId}"]`).waitFor({ timeout: UI_TIMEOUT });
      await wo.locator('[data-move="assigned"]').click();
      await wo.locator('input[name="assignee"]').fill('Wang Wei');
      await wo.locator('[data-action="confirm"]').click();
      await a.page.locator(`.column[data-status="assigned"] [data-workorder="${woId}"]`).waitFor({ timeout: UI_TIMEOUT });
      await wo.locator('[data-move="in_progress"]').click();
      await wo.locator('[data-action="confirm"]').click();
      await a.page.locator(`.column[data-status="in_progress"] [data-workorder="${woId}"]`).waitFor({ timeout: UI_TIMEOUT });
      await wo.locator('[data-move="resolved"]').click();
      await wo.locator('textarea[name="note"]').fill('False alarm: burnt toast');
      await wo.locator('[data-action="confirm"]').click();
      await a.page.locator(`.column[data-status="resolved"] [data-workorder="${woId}"]`).waitFor({ timeout: UI_TIMEOUT });
      const resolved = (await gw.api('GET', `/api/workorders/${woId}`)).body;
      expect(resolved).toMatchObject({ status: 'resolved', assignee: 'Wang Wei' });
      expect(resolved.history.map((h: { status?: string; by: string }) => [h.status, h.by]).slice(-3)).toStrictEqual([
        ['assigned', 'security desk'],
        ['in_progress', 'security desk'],
        ['resolved', 'security desk'],
      ]);
      await screenshot(a.page, 'desk-workorders');

      // The other site's operator, signed in the whole time, saw none of it.
      await b.page.waitForSelector('[data-testid="no-alarms"]');
      expect(await b.page.locator('li.alarm').count()).toBe(0);
      await b.page.click('a[href="#/workorders"]');
      await b.page.waitForSelector('.board');
      expect(await b.page.locator('[data-workorder]').count()).toBe(0);
      await b.page.click('a[href="#/devices"]');
      await b.page.waitForSelector('[data-device="fire-other-01"]');
      expect(await b.page.locator('[data-device]').count()).toBe(1);
      expect((await gw.api('GET', `/api/alarms/${alarmId}`, undefined, other.token)).status).toBe(404);
      await screenshot(b.page, 'desk-other-site-devices');

      expect([...a.errors, ...b.errors]).toStrictEqual([]);
    } finally {
      await a.context.close();
      await b.context.close();
    }
  }, 120_000);

  it("draws a device's telemetry from InfluxDB and sends it commands", async () => {
    const a = await openPage(browser, DESK);
    try {
      await signIn(a.page, base, desk.token);
      // The simulator has been sending every second since the start: enough points for a chart.
      await eventually(async () => (await gw.api('GET', '/api/devices/fire-b1-f1-01/telemetry?field=smokeObscurationPct')).body.length >= 3, 30_000, 500);
      await a.page.goto(`${base}/#/devices/fire-b1-f1-01`);
      await a.page.waitForSelector('.chart[data-field="smokeObscurationPct"] canvas', { timeout: UI_TIMEOUT });
      expect(await a.page.locator('.chart').count()).toBeGreaterThanOrEqual(3);
      await screenshot(a.page, 'desk-device-charts');

      await a.page.goto(`${base}/#/devices/lighting-b1-f1-01`);
      await a.page.click('[data-command="off"]');
      await a.page.waitForSelector('[data-testid="command-result"].ok', { timeout: UI_TIMEOUT });
      expect(sim.device('lighting-b1-f1-01')!.model.telemetry(sim.clock.now()).on).toBe(false);
      await a.page.click('[data-command="on"]');
      await eventually(() => sim.device('lighting-b1-f1-01')!.model.telemetry(sim.clock.now()).on === true, UI_TIMEOUT);
      expect(a.errors).toStrictEqual([]);
    } finally {
      await a.context.close();
    }
  }, 90_000);

  it('shows a lift and a water pump set at a glance, their text fields as words, their numbers charted', async () => {
    // Devices of the kinds of contract §9, written to by hand: the simulator has none of them yet.
    const lift = await gw.connect(await gw.register('lift-b1-01', 'lift', SITE, 'b1-lift'));
    const pump = await gw.connect(await gw.register('water-b1-01', 'water', SITE, 'b1-basement'));
    const now = Date.now();
    for (let i = 5; i >= 0; i--) {
      const ts = now - i * 60_000;
      await lift.publishAsync(`sc/${SITE}/lift/lift-b1-01/telemetry`, JSON.stringify({
        ts, floor: 6 - i, moving: i > 0, direction: i > 0 ? 'up' : 'idle', doorOpen: i === 0, mode: 'normal', loadPct: 20 + i, speedMps: i > 0 ? 1.5 : 0,
      }), { qos: 1 });
      await pump.publishAsync(`sc/${SITE}/water/water-b1-01/telemetry`, JSON.stringify({
        ts, levelPct: 80 - i, pressureMpa: 0.42, pumpRunning: i % 2 === 0, flowM3h: 12.5 + i,
      }), { qos: 1 });
    }
    await eventually(async () => (await gw.api('GET', '/api/devices/lift-b1-01/telemetry?field=floor')).body.length >= 6, 30_000, 500);
    await eventually(async () => (await gw.api('GET', '/api/devices/water-b1-01/telemetry?field=levelPct')).body.length >= 6, 30_000, 500);

    const a = await openPage(browser, DESK);
    try {
      await signIn(a.page, base, desk.token);
      // The devices filter names the new kinds in Chinese.
      await a.page.click('a[href="#/devices"]');
      expect(await a.page.textContent('select[aria-label="类型"]')).toContain('电梯');
      await a.page.goto(`${base}/#/devices/lift-b1-01`);
      await a.page.waitForSelector('.chart[data-field="floor"] canvas', { timeout: UI_TIMEOUT });
      const glance = a.page.locator('[data-testid="glance"]');
      expect(await glance.locator('[data-field="floor"] dd').textContent()).toBe('6');
      expect(await glance.locator('[data-field="direction"] dd').textContent()).toBe('停梯');
      expect(await glance.locator('[data-field="doorOpen"] dd').textContent()).toBe('开');
      expect(await glance.locator('[data-field="mode"] dd').textContent()).toBe('正常');
      // Text fields are words at a glance, never a chart.
      expect(await a.page.locator('.chart[data-field="direction"], .chart[data-field="mode"]').count()).toBe(0);
      expect(await a.page.textContent('.chart[data-field="speedMps"] figcaption')).toBe('运行速度 (m/s)');
      await screenshot(a.page, 'desk-device-lift');

      await a.page.goto(`${base}/#/devices/water-b1-01`);
      await a.page.waitForSelector('.chart[data-field="levelPct"] canvas', { timeout: UI_TIMEOUT });
      expect(await glance.locator('[data-field="levelPct"] dd').textContent()).toBe('80%');
      expect(await glance.locator('[data-field="pumpRunning"] dd').textContent()).toBe('运行');
      expect(await a.page.textContent('.chart[data-field="pressureMpa"] figcaption')).toBe('供水压力 (MPa)');
      // No commands: the contract defines none for these kinds.
      expect(await a.page.locator('.commands').count()).toBe(0);
      await screenshot(a.page, 'desk-device-water');
      expect(a.errors).toStrictEqual([]);
    } finally {
      await a.context.close();
    }
  }, 90_000);

  it('shows the service report, and the rule test', async () => {
    const a = await openPage(browser, DESK);
    try {
      await signIn(a.page, base, desk.token);
      await a.page.click('a[href="#/reports"]');
      await a.page.waitForSelector('[data-testid="report"]', { timeout: UI_TIMEOUT });
      expect(await a.page.textContent('[data-testid="report"]')).toContain(SITE);
      await screenshot(a.page, 'desk-report');

      await a.page.click('a[href="#/rules"]');
      await a.page.locator('tr[data-rule="fire-alarm"] [data-action="test-rule"]').click();
      await a.page.click('form.ruletest button[type="submit"]');
      await a.page.waitForSelector('[data-testid="rule-test-result"]', { timeout: UI_TIMEOUT });
      // The detector's fire_alarm of the first test is in stored history: the replay raises it again.
      expect(await a.page.textContent('[data-testid="rule-test-result"]')).toContain('raised');
      await screenshot(a.page, 'desk-rules');
      expect(a.errors).toStrictEqual([]);
    } finally {
      await a.context.close();
    }
  }, 60_000);

  it('works on a phone, in English, down to a repair request entered by hand', async () => {
    const p = await openPage(browser, PHONE);
    try {
      await signIn(p.page, base, desk.token);
      await p.page.selectOption('header select.lang', 'en');
      expect(await p.page.getAttribute('html', 'lang')).toBe('en');
      expect(await p.page.textContent('header nav')).toContain('Alarms');
      await p.page.waitForSelector('li.alarm');
      await screenshot(p.page, 'phone-alarms');
      await p.page.click('a[href="#/workorders"]');
      await p.page.waitForSelector('[data-workorder]');
      // A resident's repair request, entered by hand on the phone.
      await p.page.click('[data-action="new-workorder"]');
      const form = p.page.locator('[data-testid="create-workorder"]');
      await form.locator('input[name="title"]').fill('Water leak in the b1-f1 corridor');
      await form.locator('input[name="category"]').fill('repair');
      await form.locator('select[name="priority"]').selectOption('high');
      await form.locator('input[name="zone"]').fill('b1-f1');
      await form.locator('textarea[name="description"]').fill('Reported by the resident of 1-102');
      await form.locator('[data-action="create"]').click();
      const card = p.page.locator('.column[data-status="open"] [data-workorder]', { hasText: 'Water leak in the b1-f1 corridor' });
      await card.waitFor({ timeout: UI_TIMEOUT });
      const created = (await gw.api('GET', `/api/workorders/${await card.getAttribute('data-workorder')}`)).body;
      expect(created).toMatchObject({ site: SITE, category: 'repair', priority: 'high', zone: 'b1-f1', status: 'open', description: 'Reported by the resident of 1-102' });
      expect(created.history[0].by).toBe('security desk');
      await screenshot(p.page, 'phone-workorders');
      await p.page.goto(`${base}/#/devices/energy-b1-power-01`);
      await p.page.waitForSelector('.chart canvas', { timeout: UI_TIMEOUT });
      await screenshot(p.page, 'phone-device-charts');
      await p.page.click('a[href="#/reports"]');
      await p.page.waitForSelector('[data-testid="report"]', { timeout: UI_TIMEOUT });
      await screenshot(p.page, 'phone-report');
      // Nothing is wider than the phone's screen.
      expect(await p.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      expect(p.errors).toStrictEqual([]);
    } finally {
      await p.context.close();
    }
  }, 60_000);
});
