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
    desk = (await gw.api('POST', '/api/operators', { name: 'security desk', sites: [SITE], role: 'supervisor' })).body;
    other = (await gw.api('POST', '/api/operators', { name: 'other desk', sites: [OTHER], role: 'supervisor' })).body;
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

      // Acknowledge with a note (a plain acknowledge takes one press and no note).
      await card.locator('[data-action="ack-note"]').click();
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

  describe('the new kinds', () => {
    /** A site of its own, so the alarms page shows only what these devices raise. */
    const GARDEN = 'east-garden';
    const LANGS = ['zh-CN', 'en'] as const;
    type Lang = (typeof LANGS)[number];
    type Words = Record<Lang, string>;
    const MIN = 60_000;

    /**
     * One device of each new kind, as a site would have it: what it sends (six readings ten minutes apart, the last
     * one now, and its events), and what the desk sees on its page in each language: the latest values at a glance
     * with their words, the charts titled with their units, text fields never charted, its events and its alarms.
     */
    interface Case {
      kind: string;
      id: string;
      zone: string;
      /** The reading `i` steps (of ten minutes) before now. */
      reading(i: number): Record<string, unknown>;
      events?: Array<{ minutesAgo: number; type: string; details?: Record<string, unknown> }>;
      glance: Record<string, { label: Words; value: Words }>;
      /** Fields left out of the glance: this device never sends them. */
      notAtGlance?: string[];
      captions: Record<string, Words>;
      notCharted?: string[];
      /** The newest event's word and a detail's word and value, as the events list shows them. */
      event?: { type: string; word: Words; detail?: { name: string; text: Words } };
      /** An open alarm the page lists, by its type's word. */
      alarm?: Words;
    }
    const w = (zh: string, en: string): Words => ({ 'zh-CN': zh, en });
    const CASES: Case[] = [
      {
        kind: 'lift',
        id: 'lift-b2-01',
        zone: 'b2-lift',
        reading: (i) => ({ floor: 6 - i, moving: i > 0, direction: i > 0 ? 'up' : 'idle', doorOpen: i === 0, mode: 'normal', loadPct: 20 + i * 3, speedMps: i > 0 ? 1.5 : 0 }),
        glance: {
          floor: { label: w('楼层', 'Floor'), value: w('6', '6') },
          direction: { label: w('运行方向', 'Direction'), value: w('停梯', 'Idle') },
          doorOpen: { label: w('轿门', 'Car door'), value: w('开', 'Open') },
          mode: { label: w('运行模式', 'Mode'), value: w('正常', 'Normal') },
        },
        captions: { speedMps: w('运行速度 (m/s)', 'Speed (m/s)'), loadPct: w('载重率 (%)', 'Load (%)'), floor: w('楼层', 'Floor') },
        notCharted: ['direction', 'mode'],
      },
      {
        kind: 'water',
        id: 'water-b2-01',
        zone: 'b2-basement',
        reading: (i) => ({ levelPct: 80 - i, pressureMpa: 0.42, pumpRunning: i % 2 === 0, flowM3h: 12.5 + i, frequencyHz: 42 + i, chlorineMgL: 0.35, turbidityNtu: 0.4, temperatureC: 16.5 }),
        glance: {
          levelPct: { label: w('水箱液位', 'Tank level'), value: w('80%', '80%') },
          pumpRunning: { label: w('水泵状态', 'Pump'), value: w('运行', 'Running') },
          pressureMpa: { label: w('供水压力', 'Supply pressure'), value: w('0.42 MPa', '0.42 MPa') },
        },
        captions: { pressureMpa: w('供水压力 (MPa)', 'Supply pressure (MPa)'), flowM3h: w('瞬时流量 (m³/h)', 'Flow (m³/h)'), temperatureC: w('水温 (°C)', 'Water temperature (°C)') },
      },
      {
        kind: 'power',
        id: 'power-b2-01',
        zone: 'b2-power-room',
        reading: (i) => ({
          voltageV: 398 + i, currentA: 420 - i * 10, powerKw: 262 - i * 6, powerFactor: 0.93, transformerTempC: 70 - i * 0.5, roomTempC: 27, humidityPct: 55,
          breakerClosed: true, onGenerator: false, generatorFuelPct: 96,
        }),
        glance: {
          breakerClosed: { label: w('总开关', 'Main breaker'), value: w('合闸', 'Closed') },
          onGenerator: { label: w('供电来源', 'Supply'), value: w('市电', 'Mains') },
          generatorFuelPct: { label: w('发电机油位', 'Generator fuel'), value: w('96%', '96%') },
          transformerTempC: { label: w('变压器温度', 'Transformer temperature'), value: w('70 °C', '70 °C') },
        },
        captions: { transformerTempC: w('变压器温度 (°C)', 'Transformer temperature (°C)'), powerKw: w('有功功率 (kW)', 'Active power (kW)'), onGenerator: w('供电来源', 'Supply') },
      },
      {
        kind: 'patrol',
        id: 'patrol-b2-gate',
        zone: 'b2-gate',
        reading: () => ({ batteryPct: 88 }),
        events: [
          { minutesAgo: 42, type: 'checkpoint_scan', details: { guard: 'G-0731', route: 'N1' } },
          { minutesAgo: 2, type: 'checkpoint_scan', details: { guard: 'G-0731', route: 'N1' } },
        ],
        glance: { batteryPct: { label: w('电池电量', 'Battery'), value: w('88%', '88%') } },
        captions: { batteryPct: w('电池电量 (%)', 'Battery (%)') },
        event: { type: 'checkpoint_scan', word: w('巡更打卡', 'Checkpoint scanned'), detail: { name: 'guard', text: w('巡更人员 G-0731', 'Guard G-0731') } },
      },
      {
        kind: 'sos',
        id: 'sos-b2-carpark',
        zone: 'b2-carpark',
        reading: () => ({ batteryPct: 93 }),
        // The call comes while the desk watches the alarms page (below).
        glance: { batteryPct: { label: w('电池电量', 'Battery'), value: w('93%', '93%') } },
        captions: { batteryPct: w('电池电量 (%)', 'Battery (%)') },
        event: { type: 'call', word: w('紧急呼叫', 'Emergency call'), detail: { name: 'location', text: w('位置 P1-017', 'Location P1-017') } },
        alarm: w('紧急呼叫', 'Emergency call'),
      },
      {
        kind: 'environment',
        id: 'env-b2-garden',
        zone: 'b2-garden',
        // An air and noise station: no leak sensor, no valve.
        reading: (i) => ({ temperatureC: 24.5 - i * 0.4, humidityPct: 58 + i, pm25Ugm3: 35 - i, pm10Ugm3: 61 - i * 2, co2Ppm: 520 + i * 6, noiseDb: 44 }),
        glance: {
          temperatureC: { label: w('温度', 'Temperature'), value: w('24.5 °C', '24.5 °C') },
          humidityPct: { label: w('湿度', 'Humidity'), value: w('58%', '58%') },
          pm25Ugm3: { label: w('PM2.5', 'PM2.5'), value: w('35 µg/m³', '35 µg/m³') },
          noiseDb: { label: w('噪声', 'Noise'), value: w('44 dB', '44 dB') },
        },
        notAtGlance: ['waterLeak', 'valveOpen', 'soilMoisturePct'],
        captions: { pm25Ugm3: w('PM2.5 (µg/m³)', 'PM2.5 (µg/m³)'), co2Ppm: w('二氧化碳浓度 (ppm)', 'CO₂ (ppm)'), noiseDb: w('噪声 (dB)', 'Noise (dB)') },
      },
      {
        kind: 'waste',
        id: 'waste-b2-01',
        zone: 'b2-bin-store',
        reading: (i) => ({ fillPct: 96 - i * 9, temperatureC: 18, batteryPct: 76 }),
        events: [{ minutesAgo: 0, type: 'full' }],
        glance: {
          fillPct: { label: w('满溢度', 'Fill level'), value: w('96%', '96%') },
          temperatureC: { label: w('温度', 'Temperature'), value: w('18 °C', '18 °C') },
          batteryPct: { label: w('电池电量', 'Battery'), value: w('76%', '76%') },
        },
        captions: { fillPct: w('满溢度 (%)', 'Fill level (%)') },
        event: { type: 'full', word: w('垃圾桶满溢', 'Bin full') },
        alarm: w('垃圾桶满溢', 'Bin full'),
      },
    ];

    let garden: { name: string; token: string };
    let sos: Awaited<ReturnType<TestGateway['connect']>>;
    /** Words of Latin letters a Chinese page may show: ids, sites, zones, guards' badges and the units of the definitions. */
    const asIs = new Set<string>(['PM']);

    const allowAsIs = (...names: string[]) => {
      for (const name of names) for (const m of name.matchAll(/[A-Za-z]+/g)) asIs.add(m[0]);
    };

    beforeAll(async () => {
      garden = (await gw.api('POST', '/api/operators', { name: 'garden desk', sites: [GARDEN], role: 'supervisor' })).body;
      const now = Date.now();
      for (const c of CASES) {
        const client = await gw.connect(await gw.register(c.id, c.kind, GARDEN, c.zone));
        if (c.kind === 'sos') sos = client;
        for (let i = 5; i >= 0; i--) {
          await client.publishAsync(`sc/${GARDEN}/${c.kind}/${c.id}/telemetry`, JSON.stringify({ ts: now - i * 10 * MIN, ...c.reading(i) }), { qos: 1 });
        }
        for (const e of c.events ?? []) {
          await client.publishAsync(`sc/${GARDEN}/${c.kind}/${c.id}/event`, JSON.stringify({ ts: now - e.minutesAgo * MIN, type: e.type, ...e.details }), { qos: 1 });
        }
        allowAsIs(c.id, c.zone, GARDEN, 'G-0731', 'N1', 'P1-017');
      }
      const doc = (await gw.api('GET', '/api/definitions')).body;
      for (const kind of Object.values(doc.kinds) as Array<{ telemetry: Record<string, { unit?: string }> }>) {
        for (const f of Object.values(kind.telemetry)) allowAsIs(f.unit ?? '');
      }
      for (const c of CASES) {
        const field = Object.keys(c.glance)[0];
        await eventually(async () => (await gw.api('GET', `/api/devices/${c.id}/telemetry?field=${field}`)).body.length >= 6, 30_000, 500);
        if (c.events) await eventually(async () => (await gw.api('GET', `/api/devices/${c.id}/events`)).body.length >= c.events!.length, 30_000, 500);
      }
    }, 90_000);

    /** Opens the console signed in to the garden's desk (or the desk of `token`), in `lang`. */
    async function desk(lang: Lang, token = garden.token) {
      const a = await openPage(browser, DESK);
      await signIn(a.page, base, token);
      if (lang === 'en') await a.page.selectOption('header select.lang', 'en');
      expect(await a.page.getAttribute('html', 'lang')).toBe(lang);
      return a;
    }

    /** What a reader of `lang` would stumble on in the page's main part: English words on a Chinese page, Chinese on an English one. */
    async function foreignWords(page: Page, lang: Lang): Promise<string[]> {
      const text = await page.innerText('main');
      if (lang === 'en') return [...text.matchAll(/\p{Script=Han}+/gu)].map((m) => m[0]);
      return [...text.matchAll(/[A-Za-z]{2,}/g)].map((m) => m[0]).filter((word) => !asIs.has(word));
    }

    it('raises an emergency call live on the alarms page, critical and named in Chinese and in English', async () => {
      const a = await desk('zh-CN');
      try {
        // The full bin's alarm is open already; the call comes while the desk watches.
        const bin = a.page.locator('[data-type="bin_full"][data-state="active"]');
        await bin.waitFor({ timeout: UI_TIMEOUT });
        await sos.publishAsync(`sc/${GARDEN}/sos/sos-b2-carpark/event`, JSON.stringify({ ts: Date.now(), type: 'call', location: 'P1-017' }), { qos: 1 });
        const call = a.page.locator('[data-type="emergency_call"][data-state="active"]');
        await call.waitFor({ timeout: UI_TIMEOUT });
        // Critical first, with the flashing banner naming it.
        expect(await a.page.locator('li.alarm').first().getAttribute('data-type')).toBe('emergency_call');
        expect(await call.locator('.badge').first().textContent()).toBe('紧急');
        expect(await call.locator('.alarm-type').textContent()).toBe('紧急呼叫');
        expect(await bin.locator('.alarm-type').textContent()).toBe('垃圾桶满溢');
        const banner = a.page.locator('.banner.critical');
        await banner.waitFor({ timeout: UI_TIMEOUT });
        expect(await banner.textContent()).toContain('新的紧急告警 · 紧急呼叫 · b2-carpark · sos-b2-carpark');
        // The rule's English sentence (its message) is not shown on the Chinese page; work-order ids are.
        allowAsIs(...(await gw.api('GET', `/api/workorders?site=${GARDEN}`)).body.map((wo: { id: string }) => wo.id));
        expect(await foreignWords(a.page, 'zh-CN')).toStrictEqual([]);
        expect(await banner.textContent()).not.toMatch(/[A-Za-z]{3,} [A-Za-z]{3,}/);
        await screenshot(a.page, 'desk-alarms-sos-zh-CN', { docs: true });

        await a.page.selectOption('header select.lang', 'en');
        expect(await call.locator('.badge').first().textContent()).toBe('Critical');
        expect(await call.locator('.alarm-type').textContent()).toBe('Emergency call');
        expect(await banner.textContent()).toContain('New critical alarm · Emergency call · b2-carpark · sos-b2-carpark');
        // On the English page the rule's own sentence is shown too.
        expect(await call.locator('.alarm-message').textContent()).toBe('Emergency call from sos-b2-carpark (b2-carpark)');
        expect(await bin.locator('.alarm-type').textContent()).toBe('Bin full');
        expect(await foreignWords(a.page, 'en')).toStrictEqual([]);
        await screenshot(a.page, 'desk-alarms-sos-en', { docs: true });

        // The call opened an urgent work order for the security team.
        const alarm = (await gw.api('GET', `/api/alarms/${await call.getAttribute('data-alarm')}`)).body;
        expect(alarm).toMatchObject({ severity: 'critical', kind: 'sos', device: 'sos-b2-carpark', rule: 'sos-call' });
        expect((await gw.api('GET', `/api/workorders/${alarm.workOrder}`)).body).toMatchObject({ priority: 'urgent', category: 'security' });
        expect(a.errors).toStrictEqual([]);
      } finally {
        await a.context.close();
      }
    }, 90_000);

    for (const lang of LANGS) {
      it(`shows each new kind's device page in ${lang}: its latest values in words, its numbers charted with units, its events and alarms`, async () => {
        const a = await desk(lang);
        try {
          // The devices filter names every new kind.
          await a.page.click('a[href="#/devices"]');
          const filter = await a.page.textContent(`select[aria-label="${lang === 'en' ? 'Kind' : '类型'}"]`);
          const kindWords = lang === 'en'
            ? ['Lift', 'Water supply', 'Power room', 'Patrol checkpoint', 'Emergency call point', 'Environment', 'Waste bin']
            : ['电梯', '二次供水', '配电房', '巡更点', '紧急呼叫点', '环境监测', '垃圾桶'];
          for (const word of kindWords) expect(filter).toContain(word);
          await a.page.waitForSelector(`[data-device="${CASES[0].id}"]`, { timeout: UI_TIMEOUT });
          expect(await a.page.locator('[data-device]').count()).toBe(CASES.length);

          for (const c of CASES) {
            await a.page.goto(`${base}/#/devices/${c.id}`);
            const first = Object.keys(c.captions)[0];
            await a.page.waitForSelector(`.chart[data-field="${first}"] canvas`, { timeout: UI_TIMEOUT });
            const glance = a.page.locator('[data-testid="glance"]');
            for (const [field, { label, value }] of Object.entries(c.glance)) {
              expect([c.kind, field, await glance.locator(`[data-field="${field}"] dt`).textContent()]).toStrictEqual([c.kind, field, label[lang]]);
              expect([c.kind, field, await glance.locator(`[data-field="${field}"] dd`).textContent()]).toStrictEqual([c.kind, field, value[lang]]);
            }
            for (const field of c.notAtGlance ?? []) expect([c.kind, field, await glance.locator(`[data-field="${field}"]`).count()]).toStrictEqual([c.kind, field, 0]);
            for (const [field, caption] of Object.entries(c.captions)) {
              expect([c.kind, await a.page.textContent(`.chart[data-field="${field}"] figcaption`)]).toStrictEqual([c.kind, caption[lang]]);
            }
            // Text fields are words at a glance, never a chart.
            for (const field of c.notCharted ?? []) expect([c.kind, field, await a.page.locator(`.chart[data-field="${field}"]`).count()]).toStrictEqual([c.kind, field, 0]);
            if (c.event) {
              const row = a.page.locator('[data-testid="events"] tr').first();
              await row.waitFor({ timeout: UI_TIMEOUT });
              expect([c.kind, await row.getAttribute('data-event'), await row.locator('.what').textContent()]).toStrictEqual([c.kind, c.event.type, c.event.word[lang]]);
              if (c.event.detail) expect(await row.locator(`[data-detail="${c.event.detail.name}"]`).textContent()).toBe(c.event.detail.text[lang]);
            } else {
              expect([c.kind, await a.page.locator('[data-testid="events"]').count()]).toStrictEqual([c.kind, 0]);
            }
            if (c.alarm) expect([c.kind, await a.page.textContent('.inline-alarms')]).toStrictEqual([c.kind, expect.stringContaining(c.alarm[lang])]);
            // None of the new kinds takes a command.
            expect(await a.page.locator('.commands').count()).toBe(0);
            expect([c.kind, await foreignWords(a.page, lang)]).toStrictEqual([c.kind, []]);
            await screenshot(a.page, `desk-device-${c.kind}-${lang}`, { docs: true });
          }
          expect(a.errors).toStrictEqual([]);
        } finally {
          await a.context.close();
        }
      }, 120_000);
    }

    it('fits a checkpoint\'s page, its scans listed, on a phone', async () => {
      const p = await openPage(browser, PHONE);
      try {
        await signIn(p.page, base, garden.token);
        await p.page.goto(`${base}/#/devices/patrol-b2-gate`);
        await p.page.locator('[data-testid="events"] tr[data-event="checkpoint_scan"]').first().waitFor({ timeout: UI_TIMEOUT });
        await p.page.waitForSelector('.chart canvas', { timeout: UI_TIMEOUT });
        expect(await p.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
        await screenshot(p.page, 'phone-device-patrol');
        expect(p.errors).toStrictEqual([]);
      } finally {
        await p.context.close();
      }
    }, 60_000);

    describe('in the service report', () => {
      /** A site of its own: two checkpoints on one route, a lift, a pump set and a call point. */
      const OAK = 'oak-yard';
      const DAY = 24 * 60 * MIN;
      let oak: { name: string; token: string };
      /** The local date of today at the gateway, and of the night two days before (over, whatever the time now). */
      let today: string;
      let night: string;
      const dayBefore = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) - days * DAY).toISOString().slice(0, 10);
      const report = async (start?: string) =>
        (await gw.api('GET', `/api/reports/service?site=${OAK}&period=day${start ? `&start=${start}` : ''}`, undefined, oak.token)).body;

      beforeAll(async () => {
        oak = (await gw.api('POST', '/api/operators', { name: 'Night desk', sites: [OAK], role: 'supervisor' })).body;
        const clients = new Map<string, Awaited<ReturnType<TestGateway['connect']>>>();
        const creds = new Map<string, { username: string; password: string }>();
        const devices = [
          { id: 'cp-oak-gate', kind: 'patrol', zone: 'oak-gate', tags: { route: 'perimeter' } },
          { id: 'cp-oak-garage', kind: 'patrol', zone: 'oak-garage', tags: { route: 'perimeter' } },
          { id: 'lift-oak-a', kind: 'lift', zone: 'oak-core' },
          { id: 'pump-oak-1', kind: 'water', zone: 'oak-basement' },
          { id: 'sos-oak-p1', kind: 'sos', zone: 'oak-p1' },
        ];
        for (const d of devices) {
          const res = await gw.api('POST', '/api/devices', { ...d, site: OAK });
          expect(res.status).toBe(201);
          creds.set(d.id, res.body.mqtt);
          allowAsIs(d.id, d.zone);
        }
        // The checkpoints were registered days ago and have been online since: a round is due only from a
        // checkpoint's registration on (as tests/integration/reports.test.ts does).
        for (const d of devices.filter((x) => x.kind === 'patrol')) {
          gw.gateway.store.db.prepare('UPDATE devices SET created_at = ? WHERE id = ?').run(Date.now() - 4 * DAY, d.id);
          gw.gateway.registry.setOnline(d.id, true, Date.now() - 4 * DAY);
        }
        gw.gateway.registry.flush();
        for (const d of devices) clients.set(d.id, await gw.connect(creds.get(d.id)));
        const publish = (id: string, suffix: 'telemetry' | 'event', payload: Record<string, unknown>) => {
          const d = devices.find((x) => x.id === id)!;
          return clients.get(id)!.publishAsync(`sc/${OAK}/${d.kind}/${id}/${suffix}`, JSON.stringify(payload), { qos: 1 });
        };
        const first = await report();
        today = first.start;
        night = dayBefore(today, 2);
        // The night starts at 22:00 local and has four rounds of two hours; the garage's third is missed.
        const nightStart = Date.parse((await report(night)).from) + 22 * 60 * MIN;
        for (const [id, minutes] of [['cp-oak-gate', [5, 125, 245, 365]], ['cp-oak-garage', [12, 131, 372]]] as const) {
          for (const m of minutes) await publish(id, 'event', { ts: nightStart + m * MIN, type: 'checkpoint_scan', guard: 'G-0731' });
        }
        // Today: the lift's trips and the pump set's counters rising, a dry run; readings a few seconds old.
        const now = Date.now();
        const since = (s: number) => Math.max(Date.parse(first.from), now - s * 1000);
        for (const [s, trips] of [[40, 1200], [20, 1230], [1, 1264]]) await publish('lift-oak-a', 'telemetry', { ts: since(s), mode: 'normal', trips });
        for (const [s, runHours, starts] of [[40, 812, 300], [1, 814.5, 306]]) await publish('pump-oak-1', 'telemetry', { ts: since(s), runHours, starts, levelPct: 72 });
        await publish('pump-oak-1', 'event', { ts: since(30), type: 'dry_run' });
        // An emergency call the desk acknowledges, and a trapped passenger it has not yet.
        await publish('sos-oak-p1', 'event', { ts: now, type: 'call', location: 'P1-023' });
        await publish('lift-oak-a', 'event', { ts: now, type: 'passenger_trapped', floor: 3 });
        const alarms = await eventually(async () => {
          const list = (await gw.api('GET', `/api/alarms?site=${OAK}`, undefined, oak.token)).body as Array<{ id: string; type: string }>;
          return list.some((a) => a.type === 'emergency_call') && list.some((a) => a.type === 'passenger_trapped') ? list : undefined;
        }, 30_000, 250);
        // A few seconds to answer the call, as a desk would.
        await new Promise((r) => setTimeout(r, 4000));
        const call = alarms.find((a) => a.type === 'emergency_call')!;
        expect((await gw.api('POST', `/api/alarms/${call.id}/ack`, { note: 'Guard on the way' }, oak.token)).status).toBe(200);
        await eventually(async () => (await report(night)).patrol.scansMade === 7, 30_000, 500);
        await eventually(async () => (await report()).pumps.devices[0]?.dryRuns === 1 && (await report()).lifts.devices[0]?.trips === 64, 30_000, 500);
        // The page's own Latin words on a Chinese page: the SLA figure, the CSV button, kWh, the alarm-health standards.
        allowAsIs(OAK, oak.name, 'perimeter', first.timeZone, 'SLA', 'CSV', 'kWh', 'ANSI', 'ISA', 'EEMUA');
      }, 90_000);

      /** The report page of the oak desk in `lang`, for `start` (today's when not given). */
      async function reportPage(page: Page, start?: string) {
        await page.click('a[href="#/reports"]');
        if (start) {
          await page.waitForSelector('[data-testid="report"]', { timeout: UI_TIMEOUT });
          await page.fill('input[name="start"]', start);
          await page.click('.report form button[type="submit"]');
        }
        await page.waitForSelector('[data-testid="report"]', { timeout: UI_TIMEOUT });
      }

      const REPORT_WORDS = {
        lifeSafety: w('紧急呼叫与电梯困人', 'Emergency calls and trapped passengers'),
        call: w('紧急呼叫', 'Emergency call'),
        trapped: w('电梯困人', 'Passenger trapped'),
        notAcked: w('未确认', 'Not acknowledged'),
        patrol: w('巡更完成情况', 'Guard rounds'),
        noneDue: w('本期还没有已结束的巡更轮次', 'No guard rounds over yet in this period'),
        round3: w('第 3 轮', 'round 3'),
        quiet: w('本期没有紧急呼叫或电梯困人', 'No emergency calls or trapped passengers in this period'),
        hours: w('2.5 小时', '2.5 h'),
        alarmHealth: w('告警系统健康度', 'Alarm-system health'),
      };

      for (const lang of LANGS) {
        it(`shows life-safety calls, lifts, pumps and guard rounds with real figures in ${lang}`, async () => {
          const a = await desk(lang, oak.token);
          const words = (k: keyof typeof REPORT_WORDS) => REPORT_WORDS[k][lang];
          try {
            // Today: the call acknowledged by the desk, the trapped passenger not yet, the oldest first.
            await reportPage(a.page);
            const ls = a.page.locator('[data-section="lifeSafety"]');
            await ls.locator('tr[data-incident]').nth(1).waitFor({ timeout: UI_TIMEOUT });
            expect(await ls.locator('h3').textContent()).toContain(words('lifeSafety'));
            const call = ls.locator('tr[data-incident="emergency_call"]');
            expect(await call.textContent()).toContain(words('call'));
            expect(await call.textContent()).toContain('Night desk');
            // Acknowledged some seconds after the call: a tenth of a minute or so, in the page's words.
            expect(await call.locator('td.n').textContent()).toMatch(lang === 'en' ? /^\d+(\.\d)? min$/ : /^\d+(\.\d)? 分钟$/);
            const trapped = ls.locator('tr[data-incident="passenger_trapped"]');
            expect(await trapped.textContent()).toContain(words('trapped'));
            expect(await trapped.locator('.badge').textContent()).toBe(words('notAcked'));
            // By type: one call, acknowledged; one trapped passenger, not.
            expect(await ls.locator('tr[data-type="emergency_call"] td.n').allTextContents()).toStrictEqual(['1', '1', expect.stringMatching(/^\d+(\.\d)? /)]);
            expect(await ls.locator('tr[data-type="passenger_trapped"] td.n').allTextContents()).toStrictEqual(['1', '0', '—']);
            // The lift's trips and its trapped passenger; the pump set's run time, starts and dry run.
            expect(await a.page.locator('[data-section="lifts"] tr[data-lift="lift-oak-a"] td.n').nth(1).textContent()).toBe('64');
            expect(await a.page.locator('[data-section="lifts"] tr[data-lift="lift-oak-a"] td.n').nth(2).textContent()).toMatch(/^1/);
            expect(await a.page.locator('[data-section="pumps"] tr[data-pump="pump-oak-1"] td.n').allTextContents()).toStrictEqual([words('hours'), '6', '1', '0']);
            // Alarm-system health, today so far: of the two critical alarms the call is acknowledged, the trapped passenger not.
            const health = a.page.locator(`[data-section="alarmHealth"] tr[data-day="${today}"]`);
            expect(await a.page.locator('[data-section="alarmHealth"] h3').textContent()).toBe(words('alarmHealth'));
            expect(await health.locator('td.n').nth(7).textContent()).toBe('1 / 2');
            // Tonight's rounds are not over: said so, not a row of zeros.
            expect(await a.page.locator('[data-section="patrol"] [data-empty]').textContent()).toBe(words('noneDue'));
            expect(await foreignWords(a.page, lang)).toStrictEqual([]);
            await screenshot(a.page, `desk-report-full-${lang}`);
            await screenshot(a.page, `desk-report-${lang}`, { docs: true, until: '[data-section="pumps"]', height: 900 });

            // The night two days ago: the garage's third round missed, 7 of 8 scans made.
            await reportPage(a.page, night);
            const row = a.page.locator(`[data-section="patrol"] tr[data-route="perimeter"][data-night="${night}"]`);
            await row.waitFor({ timeout: UI_TIMEOUT });
            expect(await a.page.locator('[data-section="patrol"] h3').textContent()).toContain(words('patrol'));
            expect(await row.locator('td.n').allTextContents()).toStrictEqual(['2', '8', '7', '87.5 %']);
            expect(await row.locator('[data-missed]').count()).toBe(1);
            expect(await row.locator('[data-missed="cp-oak-garage"]').textContent()).toContain(words('round3'));
            expect(await a.page.locator('[data-section="lifeSafety"] [data-empty]').textContent()).toBe(words('quiet'));
            expect(await foreignWords(a.page, lang)).toStrictEqual([]);
            await screenshot(a.page, `desk-report-patrol-full-${lang}`);
            await screenshot(a.page, `desk-report-patrol-${lang}`, { docs: true, until: '[data-section="pumps"]', height: 1000 });
            expect(a.errors).toStrictEqual([]);
          } finally {
            await a.context.close();
          }
        }, 90_000);
      }
    });
  });

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
      // The detector's fire_alarm of the first test is in stored history: the replay raises it again (in the page's words).
      expect(await a.page.textContent('[data-testid="rule-test-result"]')).toContain('产生告警');
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
