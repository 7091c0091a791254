import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESK, PHONE, launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

const SITE = 'night-court';
const FLOOR = 'b3-f12';
const TZ = 'Asia/Shanghai';
/** Long enough for a real browser on a busy 2-core machine; the live update itself takes milliseconds. */
const UI_TIMEOUT = 20_000;

/** `HH:MM` in the site's time zone, `hours` from now: a duty window that surely does not hold now. */
function siteClock(hours: number): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: TZ }).format(Date.now() + hours * 3_600_000);
}

/** The site file and its plan, in the folder the test gateway reads its site files from (tests/helpers/gateway.ts). */
async function writeSite(sitesDir: string): Promise<void> {
  await mkdir(join(sitesDir, 'plans'), { recursive: true });
  await writeFile(join(sitesDir, 'plans', `${FLOOR}.svg`),
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 200" width="400" height="200"><rect x="5" y="5" width="390" height="190" fill="#fff" stroke="#333" stroke-width="4"/><line x1="200" y1="5" x2="200" y2="195" stroke="#333" stroke-width="2"/></svg>');
  await writeFile(join(sitesDir, `${SITE}.yaml`), [
    `id: ${SITE}`,
    'name: { zh-CN: 夜巡苑, en: Night Court }',
    `timezone: ${TZ}`,
    'buildings:',
    '  - id: b3',
    '    name: { zh-CN: 3号楼, en: Building 3 }',
    '    floors:',
    `      - { id: ${FLOOR}, name: { zh-CN: 12层, en: Floor 12 }, plan: plans/${FLOOR}.svg }`,
    'duty:',
    '  - { match: { kind: [fire] }, name: { zh-CN: 消防控制室, en: Fire control room }, phone: "+86-21-5555-0119", during: "00:00-24:00" }',
    // Off duty now: not listed.
    `  - { match: { kind: fire }, name: { zh-CN: 白班主管, en: Day supervisor }, phone: "+86-21-5555-0100", during: "${siteClock(2)}-${siteClock(3)}" }`,
    // Another kind's: not listed for a fire.
    '  - { match: { kind: lift }, name: { zh-CN: 电梯维保, en: Lift service }, phone: "+86-21-5555-0200" }',
  ].join('\n'));
}

/**
 * The night shift's alarm page in real Chromium against a real gateway with the repository's rules and a site file
 * with a floor plan: names instead of codes, the plan with the detector marked, what to do and whom to call, clear
 * kept apart (a note required), acknowledge by keyboard, the guard's phone at 390 px, and the last data offline.
 */
describe('the night shift works a fire on the alarm page', () => {
  let gw: TestGateway;
  let dataDir: string;
  let browser: Browser;
  let base: string;
  let desk: { name: string; token: string };
  const detectors: MqttClient[] = [];
  let door: MqttClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'console-night-'));
    await writeSite(join(dataDir, 'sites'));
    gw = await startGateway({ RULES_DIR: resolve('rules') }, dataDir);
    base = `http://127.0.0.1:${gw.httpPort}`;
    desk = (await gw.api('POST', '/api/operators', { name: 'night desk', sites: [SITE], role: 'supervisor' })).body;
    for (const [id, x, y] of [['smoke-12-01', 120, 80], ['smoke-12-02', 300, 120]] as const) {
      const res = await gw.api('POST', '/api/devices', { id, kind: 'fire', site: SITE, zone: FLOOR, position: { x, y } });
      expect(res.status).toBe(201);
      detectors.push(await gw.connect(res.body.mqtt));
    }
    // The floor's door: the fire rule unlocks it.
    const res = await gw.api('POST', '/api/devices', { id: 'door-12-01', kind: 'access', site: SITE, zone: FLOOR, position: { x: 200, y: 190 } });
    door = await gw.connect(res.body.mqtt);
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const fire = (i: number) =>
    detectors[i].publishAsync(`sc/${SITE}/fire/smoke-12-0${i + 1}/event`, JSON.stringify({ ts: Date.now(), type: 'fire_alarm' }), { qos: 1 });
  const report = (client: MqttClient, topic: string, body: object) => client.publishAsync(`sc/${SITE}/${topic}`, JSON.stringify({ ts: Date.now(), ...body }), { qos: 1 });
  const signIn = async (page: Page) => {
    await page.goto(base);
    await page.fill('input[name="token"]', desk.token);
    await page.click('button[type="submit"]');
    await page.waitForSelector('.live.on', { timeout: UI_TIMEOUT });
  };

  it('names the floor, marks the detector on its plan, says what to do and whom to call; clear needs a note; Enter acknowledges', async () => {
    const { page, context, errors } = await openPage(browser, DESK);
    try {
      await signIn(page);
      expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
      await fire(0);
      const card = page.locator('li.alarm[data-type="fire_alarm"]');
      await card.waitFor({ timeout: UI_TIMEOUT });
      expect(await card.locator('[data-testid="alarm-place"]').textContent()).toBe('3号楼 · 12层');
      expect(await page.locator('[data-testid="incident-place"]').first().textContent()).toBe('夜巡苑 · 3号楼 · 12层');
      expect(await card.locator('time').first().textContent()).toMatch(/^\d{2}:\d{2}:\d{2}（.+）$/);
      // A screen reader hears it come in.
      expect(await page.locator('[aria-live="assertive"][data-testid="announce"]').textContent()).toBe('新告警：紧急，火警，3号楼 · 12层，smoke-12-01');

      // The top incident is open: its floor's plan, fetched with the token, with the detector marked and the other faint.
      const plan = page.locator(`[data-testid="plan"][data-zone="${FLOOR}"]`);
      await plan.locator('image').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
      expect(await plan.locator('image').getAttribute('href')).toMatch(/^blob:/);
      expect(await plan.locator('[data-device="smoke-12-01"]').getAttribute('data-alarming')).toBe('true');
      expect(await plan.locator('[data-device="smoke-12-02"]').getAttribute('data-alarming')).toBeNull();
      expect(await plan.locator('figcaption').textContent()).toBe('3号楼 · 12层 平面图');
      expect(await page.locator('.instructions[data-type="fire_alarm"]').textContent()).toContain('立即确认');
      const duty = page.locator('[data-testid="duty"]');
      expect(await duty.textContent()).toContain('消防控制室');
      expect(await duty.textContent()).not.toContain('白班主管');
      expect(await duty.textContent()).not.toContain('电梯维保');
      expect(await duty.locator('a.call').getAttribute('href')).toBe('tel:+862155550119');
      await screenshot(page, 'desk-night-fire-zh-CN', { docs: true });

      // Clear asks first, and wants a note: without one nothing is cleared; Escape closes and gives focus back.
      await card.locator('[data-action="clear"]').click();
      const dialog = page.locator('[data-testid="clear-dialog"]');
      await dialog.waitFor();
      await dialog.locator('[data-action="confirm"]').click();
      expect(await dialog.locator('.error').textContent()).toBe('请填写处理结果后再清除。');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
      expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.action)).toBe('clear');
      const alarmId = await card.getAttribute('data-alarm');
      expect((await gw.api('GET', `/api/alarms/${alarmId}`)).body.state).toBe('active');

      // The keyboard alone: Tab from the top of the page reaches the alarm's acknowledge, Enter acknowledges.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      let reached = false;
      for (let i = 0; i < 80 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.action === 'ack');
      }
      expect(reached).toBe(true);
      expect(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)).not.toBe('none');
      await page.keyboard.press('Enter');
      await page.locator(`[data-alarm="${alarmId}"][data-state="acknowledged"]`).waitFor({ timeout: UI_TIMEOUT });

      // In English, the same place in English.
      await page.selectOption('select.lang', 'en');
      expect(await card.locator('[data-testid="alarm-place"]').textContent()).toBe('Building 3 · Floor 12');
      expect(await page.getAttribute('html', 'lang')).toBe('en');
      expect(await card.locator('time').first().textContent()).toMatch(/^\d{2}:\d{2}:\d{2} \(.+\)$/);
      expect(await page.locator('[data-testid="duty"]').textContent()).toContain('Fire control room');
      await screenshot(page, 'desk-night-fire-en', { docs: true });
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("works on the guard's phone at 390 px: acknowledge, my work orders, and the last data when offline", async () => {
    const { page, context, errors } = await openPage(browser, PHONE);
    try {
      const wo = (await gw.api('POST', '/api/workorders', { site: SITE, title: '12层检查烟感', category: 'fire', priority: 'high', zone: FLOOR, assignee: 'night desk' })).body;
      await signIn(page);
      await fire(1);
      const card = page.locator('li.alarm[data-type="fire_alarm"][data-state="active"]');
      await card.waitFor({ timeout: UI_TIMEOUT });
      const noSideScroll = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
      expect(await noSideScroll()).toBe(true);
      const ack = card.locator('[data-action="ack"]');
      expect((await ack.boundingBox())!.height).toBeGreaterThanOrEqual(44);
      await ack.tap();
      await page.locator('li.alarm[data-type="fire_alarm"][data-state="active"]').waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      await screenshot(page, 'phone-night-alarms', { docs: true, until: 'li.incident li.alarm:first-child' });

      // My work orders, with their moves as buttons.
      await page.click('a[href="#/workorders"]');
      const mine = page.locator(`[data-workorder="${wo.id}"]`);
      await mine.waitFor({ timeout: UI_TIMEOUT });
      expect(await page.locator('input[name="mine"]').isChecked()).toBe(true);
      expect(await noSideScroll()).toBe(true);
      await mine.locator('[data-move="in_progress"]').tap();
      await mine.locator('[data-action="confirm"]').tap();
      await page.locator(`[data-workorder="${wo.id}"][data-status="in_progress"]`).waitFor({ timeout: UI_TIMEOUT });

      // A device's state, from the alarm's link.
      await page.click('a[href="#/alarms"]');
      await page.locator('li.alarm a[href="#/devices/smoke-12-01"]').tap();
      await page.waitForSelector('[data-testid="device-place"]', { timeout: UI_TIMEOUT });
      expect(await noSideScroll()).toBe(true);

      // The app's files are kept by the service worker, the data by the page: offline, both come back, marked as old.
      await page.click('a[href="#/alarms"]');
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.waitForTimeout(1500);
      await context.setOffline(true);
      await page.reload();
      const offline = page.locator('[data-testid="offline"]');
      await offline.waitFor({ timeout: UI_TIMEOUT });
      expect(await offline.textContent()).toMatch(/^离线——显示 \d{2}:\d{2}:\d{2} 的数据。$/);
      expect(await page.locator('li.alarm[data-type="fire_alarm"]').count()).toBe(2);
      await page.locator('[data-testid="plan"] image').waitFor({ state: 'attached', timeout: UI_TIMEOUT });
      expect(await noSideScroll()).toBe(true);
      await screenshot(page, 'phone-night-offline', { docs: true, until: 'li.incident li.alarm:first-child' });
      // Back online: the live data again, at once.
      await context.setOffline(false);
      await offline.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      // Offline, the page's failed requests are logged by the browser as errors: only the script errors count here.
      expect(errors.filter((e) => e.startsWith('pageerror'))).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('lists a door the fire left unlocked once the fire is over, until it is locked again', async () => {
    const { page, context, errors } = await openPage(browser, DESK);
    try {
      await signIn(page);
      // The fire rule unlocked the floor's door (above); it still says so, and the detectors reset.
      await report(door, 'access/door-12-01/telemetry', { locked: false });
      await report(detectors[0], 'fire/smoke-12-01/event', { type: 'reset' });
      await report(detectors[1], 'fire/smoke-12-02/event', { type: 'reset' });
      // The gateway flags it (src/devices/fire-release.ts); the alarm page reads the doors again every 10 s.
      await eventually(async () => (await gw.api('GET', '/api/devices/door-12-01')).body.unlockedAfterFire, UI_TIMEOUT);
      const listed = page.locator('[data-testid="unlocked-doors"] [data-device="door-12-01"]');
      await listed.waitFor({ timeout: UI_TIMEOUT });
      expect(await listed.textContent()).toBe('door-12-01 · 3号楼 · 12层');
      await report(door, 'access/door-12-01/telemetry', { locked: true });
      await listed.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
