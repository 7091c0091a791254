import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, ROUTE_ACCESS, roleAllows, type Role } from '../../src/api/access.js';
import { DESK, launchBrowser, openPage, screenshot } from '../helpers/browser.js';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { visibleTexts, type Lang } from '../helpers/page-words.js';

const SITE = 'role-court';
const DOOR = 'door-b1-f1-01';
const DETECTOR = 'fire-b1-f2-01';
/** Long enough for a real browser on a busy 2-core machine; the pages themselves answer in milliseconds. */
const UI_TIMEOUT = 20_000;

/** Whether `role` may call the route `key`, as the API's access table says: what the console must show. */
const may = (role: Role, key: string) => roleAllows(role, ROUTE_ACCESS[key].role as Role);

/** The role's words in the header, as console/i18n.js has them. */
const ROLE_WORDS: Record<Lang, Record<Role, string>> = {
  'zh-CN': { viewer: '查看员', guard: '保安', maintenance: '维修', supervisor: '主管', admin: '管理员' },
  en: { viewer: 'Viewer', guard: 'Guard', maintenance: 'Maintenance', supervisor: 'Supervisor', admin: 'Administrator' },
};

/**
 * Each role sees the controls it may use and no others (issue 19, must show 3, the console's side), in real Chromium
 * against a real gateway with the repository's rules: acknowledge, clear and silence on the alarms page, the banner's
 * acknowledge, work-order moves and creation, a door's commands, the rule test, silences (a guard's held to an hour),
 * and the audit trail's entry for supervisors and admins, where an acknowledgement made in the console is listed in
 * the page's language. A role taken away while signed in: the refusal is said in words and the controls go.
 */
describe('the console by role', () => {
  let gw: TestGateway;
  let browser: Browser;
  let base: string;
  const tokens = new Map<Role, string>();
  const ids = new Map<Role, string>();
  const names: Record<Role, string> = { viewer: 'Wang Viewer', guard: 'Li Guard', maintenance: 'Zhao Fixer', supervisor: 'Chen Boss', admin: 'admin' };
  let doorAlarm: string;
  let fireAlarm: string;

  beforeAll(async () => {
    gw = await startGateway({ RULES_DIR: resolve('rules') });
    base = `http://127.0.0.1:${gw.httpPort}`;
    tokens.set('admin', ADMIN_TOKEN);
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const res = await gw.api('POST', '/api/operators', { name: names[role], sites: [SITE], role });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.role).toBe(role);
      tokens.set(role, res.body.token);
      ids.set(role, res.body.id);
    }
    // A door forced (major, not life safety) and a fire alarm (life safety) stay open throughout.
    const door = await gw.connect(await gw.register(DOOR, 'access', SITE, 'b1-f1'));
    const detector = await gw.connect(await gw.register(DETECTOR, 'fire', SITE, 'b1-f2'));
    await door.publishAsync(`sc/${SITE}/access/${DOOR}/event`, JSON.stringify({ ts: Date.now(), type: 'door_forced' }), { qos: 1 });
    await detector.publishAsync(`sc/${SITE}/fire/${DETECTOR}/event`, JSON.stringify({ ts: Date.now(), type: 'fire_alarm' }), { qos: 1 });
    const open = await eventually(async () => {
      const list = (await gw.api('GET', '/api/alarms?state=open')).body as Array<{ id: string; type: string }>;
      return list.length >= 2 ? list : undefined;
    });
    doorAlarm = open.find((a) => a.type === 'door_forced')!.id;
    fireAlarm = open.find((a) => a.type === 'fire_alarm')!.id;
    const wo = await gw.api('POST', '/api/workorders', { site: SITE, title: 'Replace the lobby lamp', category: 'repair', priority: 'normal' });
    expect(wo.status).toBe(201);
    // A silence in force elsewhere on the site, so the silences page has one to end.
    const silence = await gw.api('POST', '/api/silences', { site: SITE, match: { zone: 'b9-f9' }, to: new Date(Date.now() + 3_600_000).toISOString(), reason: 'lobby works' });
    expect(silence.status).toBe(201);
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
  });

  async function signIn(page: Page, role: Role, lang: Lang) {
    await page.goto(base);
    await page.selectOption('select.lang', lang);
    await page.fill('input[name="token"]', tokens.get(role)!);
    await page.click('button[type="submit"]');
    await page.waitForSelector('.live.on', { timeout: UI_TIMEOUT });
  }

  const go = async (page: Page, hash: string, ready: string) => {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await page.waitForSelector(ready, { timeout: UI_TIMEOUT });
  };
  const shown = async (page: Page, selector: string) => (await page.locator(selector).count()) > 0;

  /** No text on the page is a raw key of console/i18n.js. */
  async function noRawKeys(page: Page) {
    const keys = (await visibleTexts(page)).filter(({ text }) => /^[a-z]+\.[a-zA-Z0-9_.]+$/.test(text)).map(({ text, where }) => `${text} at ${where}`);
    expect(keys).toStrictEqual([]);
  }

  /** What the role sees, page by page, against what the access table lets it call. */
  async function checkControls(page: Page, role: Role, lang: Lang) {
    expect(await page.textContent('[data-testid="role"]')).toBe(ROLE_WORDS[lang][role]);
    expect(await shown(page, 'nav a[href="#/audit"]')).toBe(may(role, 'GET /api/audit'));

    // Alarms: the fire alarm is never acknowledged in this test; the door alarm is, by the guard.
    await go(page, '#/alarms', `li.alarm[data-alarm="${fireAlarm}"]`);
    await page.waitForSelector(`li.alarm[data-alarm="${doorAlarm}"]`, { timeout: UI_TIMEOUT });
    const fire = `li.alarm[data-alarm="${fireAlarm}"]`;
    const door = `li.alarm[data-alarm="${doorAlarm}"]`;
    expect(await shown(page, `${fire} [data-action="ack"]`)).toBe(may(role, 'POST /api/alarms/:id/ack'));
    expect(await shown(page, `${fire} [data-action="ack-note"]`)).toBe(may(role, 'POST /api/alarms/:id/ack'));
    expect(await shown(page, '[data-action="banner-ack"]')).toBe(may(role, 'POST /api/alarms/:id/ack'));
    expect(await shown(page, `${door} [data-action="clear"]`)).toBe(may(role, 'POST /api/alarms/:id/clear'));
    expect(await shown(page, `${fire} [data-action="clear"]`)).toBe(may(role, 'POST /api/alarms/:id/clear'));
    // Silence: offered on the door's alarm to whoever may silence; a life-safety alarm is never offered it.
    expect(await shown(page, `${door} [data-action="silence"]`)).toBe(may(role, 'POST /api/silences'));
    expect(await shown(page, `${fire} [data-action="silence"]`)).toBe(false);
    // The incident's plan and instructions are everyone's.
    expect(await shown(page, `li.incident:has(${fire}) [data-action="detail"]`)).toBe(true);
    await noRawKeys(page);

    await go(page, '#/workorders', 'article.wo');
    expect(await shown(page, '[data-action="new-workorder"]')).toBe(may(role, 'POST /api/workorders'));
    expect(await shown(page, 'article.wo [data-move]')).toBe(may(role, 'PATCH /api/workorders/:id'));
    await noRawKeys(page);

    await go(page, `#/devices/${DOOR}`, '[data-testid="device-place"]');
    expect(await shown(page, '.commands [data-command="unlock"]')).toBe(may(role, 'POST /api/devices/:id/commands'));
    await noRawKeys(page);

    await go(page, '#/rules', 'tr[data-rule="door-forced"]');
    expect(await shown(page, '[data-action="test-rule"]')).toBe(may(role, 'POST /api/rules/test'));
    for (const what of ['rules', 'profiles', 'sites']) expect(await shown(page, `[data-action="reload-${what}"]`), what).toBe(may(role, `POST /api/${what}/reload`));
    if (may(role, 'POST /api/rules/reload')) {
      // The rules read again: said with how many are in force (the repository's, all valid).
      await page.click('[data-action="reload-rules"]');
      const rules = ((await gw.api('GET', '/api/rules')).body as unknown[]).length;
      await page.waitForSelector('[data-testid="reload-result"]', { timeout: UI_TIMEOUT });
      expect(await page.textContent('[data-testid="reload-result"]')).toBe(lang === 'en' ? `Reload rules: done, ${rules} in force` : `重新加载规则：完成，现行 ${rules} 项`);
    }
    await noRawKeys(page);

    await go(page, '#/silences', 'tr[data-silence]');
    expect(await shown(page, '[data-action="new-silence"]')).toBe(may(role, 'POST /api/silences'));
    expect(await shown(page, '[data-action="end-silence"]')).toBe(may(role, 'DELETE /api/silences/:id'));
    if (may(role, 'POST /api/silences')) {
      await page.click('[data-action="new-silence"]');
      const lengths = await page.locator('[data-testid="create-silence"] select[name="length"] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      if (role === 'guard') {
        // A guard silences for an hour at most: no longer lengths, no end time of their choosing, no fire test.
        expect(lengths.map(Number)).toStrictEqual([15, 30, 60].map((m) => m * 60_000));
        expect(await shown(page, '[data-testid="create-silence"] input[name="fireTest"]')).toBe(false);
        expect(await shown(page, '[data-testid="silence-limit"]')).toBe(true);
      } else {
        expect(lengths).toContain('until');
        expect(lengths).toContain(String(24 * 3_600_000));
        expect(await shown(page, '[data-testid="create-silence"] input[name="fireTest"]')).toBe(true);
      }
    }
    await noRawKeys(page);
  }

  for (const [role, lang] of [['viewer', 'zh-CN'], ['guard', 'en'], ['maintenance', 'zh-CN'], ['supervisor', 'zh-CN'], ['admin', 'en']] as Array<[Role, Lang]>) {
    it(`shows a ${role} the controls of the role and no others (${lang})`, async () => {
      const { page, context, errors } = await openPage(browser, DESK);
      try {
        await signIn(page, role, lang);
        await checkControls(page, role, lang);
        await screenshot(page, `roles-${role}-${lang}`);
        // No InfluxDB here: the door's page says its history is not available (503), which the browser logs itself.
        expect(errors.filter((e) => !/status of 503/.test(e))).toStrictEqual([]);
      } finally {
        await context.close();
      }
    }, 90_000);

    if (role === 'guard') {
      it('lets a guard silence the door from its alarm for up to an hour, and acknowledge it', async () => {
        const { page, context, errors } = await openPage(browser, DESK);
        try {
          await signIn(page, 'guard', 'en');
          const door = `li.alarm[data-alarm="${doorAlarm}"]`;
          await page.waitForSelector(door, { timeout: UI_TIMEOUT });
          // "Silence…" opens the silence form filled in for the alarm's site, device and type.
          await page.click(`${door} [data-action="silence"]`);
          const form = page.locator('[data-testid="create-silence"]');
          await form.waitFor({ timeout: UI_TIMEOUT });
          expect(await form.locator('input[name="devices"]').inputValue()).toBe(DOOR);
          expect(await form.locator('input[name="type"]').inputValue()).toBe('door_forced');
          await page.click('[data-testid="create-silence"] button[type="button"]');
          // The acknowledgement the audit trail lists below.
          await go(page, '#/alarms', door);
          await page.click(`${door} [data-action="ack"]`);
          await page.locator(`${door} [data-action="ack"]`).waitFor({ state: 'detached', timeout: UI_TIMEOUT });
          expect((await gw.api('GET', `/api/alarms/${doorAlarm}`)).body).toMatchObject({ ackedBy: names.guard });
          // The audit trail is not the guard's: the page says so in words (the server's reason beside them).
          await go(page, '#/audit', '.error');
          expect(await page.textContent('.error')).toMatch(/^You may not do this \(.+\)$/);
          // The browser logs the refused request itself; no script error.
          expect(errors.filter((e) => !/status of 403/.test(e))).toStrictEqual([]);
        } finally {
          await context.close();
        }
      }, 90_000);
    }
  }

  for (const [role, lang, words] of [['supervisor', 'zh-CN', '确认告警'], ['admin', 'en', 'Acknowledge alarm']] as Array<[Role, Lang, string]>) {
    it(`lists the guard's acknowledgement in the audit trail for the ${role}, in ${lang}`, async () => {
      const { page, context, errors } = await openPage(browser, DESK);
      try {
        await signIn(page, role, lang);
        await page.click('nav a[href="#/audit"]');
        const row = page.locator(`tr[data-audit-action="alarm.acknowledge"]:has(code:text-is("${doorAlarm}"))`);
        await row.waitFor({ timeout: UI_TIMEOUT });
        expect(await row.locator('[data-testid="audit-actor"]').textContent()).toBe(names.guard);
        expect(await row.locator('[data-testid="audit-action"]').textContent()).toBe(words);
        // Filtered by action and person: only that acknowledgement.
        await page.selectOption('[data-testid="audit-filters"] select[name="action"]', 'alarm.acknowledge');
        await page.fill('[data-testid="audit-filters"] input[name="actor"]', names.guard);
        await page.click('[data-action="audit-search"]');
        await page.waitForFunction(() => document.querySelectorAll('tr[data-audit]').length === 1, undefined, { timeout: UI_TIMEOUT });
        expect(await page.locator('tr[data-audit-action="alarm.acknowledge"]').count()).toBe(1);
        await screenshot(page, `roles-audit-${lang}`);
        // Nobody of that name: the empty state.
        await page.fill('[data-testid="audit-filters"] input[name="actor"]', 'nobody at all');
        await page.click('[data-action="audit-search"]');
        await page.waitForSelector('[data-testid="no-audit"]', { timeout: UI_TIMEOUT });
        await noRawKeys(page);
        expect(errors).toStrictEqual([]);
      } finally {
        await context.close();
      }
    }, 90_000);
  }

  it('hides the controls of a role taken away while signed in, after saying the gateway refused', async () => {
    const { page, context, errors } = await openPage(browser, DESK);
    try {
      await signIn(page, 'maintenance', 'zh-CN');
      await go(page, '#/workorders', 'article.wo [data-move]');
      // The administrator makes them a viewer meanwhile: the page still offers the moves until the gateway refuses one.
      expect((await gw.api('PATCH', `/api/operators/${ids.get('maintenance')}`, { role: 'viewer' })).status).toBe(200);
      await page.click('article.wo [data-move="in_progress"]');
      await page.click('article.wo form.note [data-action="confirm"]');
      // The refusal in the page's words, the gateway's reason (naming the role needed) beside them.
      await page.waitForSelector('article.wo form.note .error', { timeout: UI_TIMEOUT });
      expect(await page.textContent('article.wo form.note .error')).toMatch(/^无权进行此操作（.*maintenance.*）$/);
      // The console reads the role again and takes the moves away.
      await page.waitForSelector('article.wo [data-move]', { state: 'detached', timeout: UI_TIMEOUT });
      expect(await page.textContent('[data-testid="role"]')).toBe(ROLE_WORDS['zh-CN'].viewer);
      expect(await shown(page, '[data-action="new-workorder"]')).toBe(false);
      expect(errors.filter((e) => !/status of 403/.test(e))).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('lets the admin create an operator, change their role, issue and revoke a token, disable and delete them', async () => {
    const { page, context, errors } = await openPage(browser, DESK);
    const meWith = async (token: string) => (await gw.api('GET', '/api/me', undefined, token)).status;
    try {
      await signIn(page, 'admin', 'en');
      await page.click('nav a[href="#/operators"]');
      await page.waitForSelector(`tr[data-operator="${ids.get('viewer')}"]`, { timeout: UI_TIMEOUT });
      // A new operator: the token is shown once, and works.
      await page.click('[data-action="new-operator"]');
      const form = page.locator('[data-testid="create-operator"]');
      await form.locator('input[name="name"]').fill('Temp Worker');
      await form.locator('input[name="sites"]').fill(SITE);
      await form.locator('select[name="role"]').selectOption('maintenance');
      await form.locator('[data-action="create"]').click();
      const first = (await page.textContent('[data-testid="secret-token"]', { timeout: UI_TIMEOUT }))!;
      expect(await meWith(first)).toBe(200);
      await page.click('[data-action="secret-done"]');
      const temp = (((await gw.api('GET', '/api/operators')).body) as Array<{ id: string; name: string; role: string }>).find((o) => o.name === 'Temp Worker')!;
      expect(temp.role).toBe('maintenance');
      const row = page.locator(`tr[data-operator="${temp.id}"]`);
      // Its role changed from the list.
      await row.locator('select[name="role"]').selectOption('guard');
      await eventually(async () => ((await gw.api('GET', '/api/operators')).body as Array<{ id: string; role: string }>).find((o) => o.id === temp.id)?.role === 'guard' || undefined);
      // A second token, valid for a day, shown once; then revoked from the list: refused from then on.
      await row.locator('[data-action="tokens"]').click();
      await row.locator('select[name="lifetime"]').selectOption('1d');
      await row.locator('[data-action="new-token"]').click();
      const second = (await page.textContent('[data-testid="secret-token"]', { timeout: UI_TIMEOUT }))!;
      expect(second).not.toBe(first);
      expect(await meWith(second)).toBe(200);
      await page.click('[data-action="secret-done"]');
      await row.locator('[data-token] [data-action="revoke-token"]').nth(1).waitFor({ timeout: UI_TIMEOUT });
      const tokens = (await gw.api('GET', `/api/operators/${temp.id}/tokens`)).body as Array<{ id: string; expiresAt: string | null }>;
      const dayToken = tokens.find((x) => x.expiresAt !== null)!;
      await row.locator(`[data-token="${dayToken.id}"] [data-action="revoke-token"]`).click();
      await row.locator(`[data-token="${dayToken.id}"][data-revoked="true"]`).waitFor({ timeout: UI_TIMEOUT });
      expect(await meWith(second)).toBe(401);
      expect(await meWith(first)).toBe(200);
      // Disabled: its other token is refused too.
      await row.locator('[data-action="toggle-operator"]').click();
      await page.waitForSelector(`tr[data-operator="${temp.id}"][data-disabled="true"]`, { timeout: UI_TIMEOUT });
      expect(await meWith(first)).toBe(401);
      await screenshot(page, 'roles-operators-en');
      await noRawKeys(page);
      // Deleted, after asking.
      await row.locator('[data-action="delete-operator"]').click();
      await page.click('[data-testid="delete-operator-dialog"] [data-action="confirm"]');
      await row.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
      expect(((await gw.api('GET', '/api/operators')).body as Array<{ id: string }>).some((o) => o.id === temp.id)).toBe(false);
      expect(errors).toStrictEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('has words in both languages for every role and every action the audit trail records', async () => {
    const { page, context } = await openPage(browser, DESK);
    try {
      await page.goto(base);
      const console_ = (await page.evaluate("Promise.all([import('/console/i18n.js'), import('/console/roles.js')]).then(([i, r]) => ({ tables: i.LANGUAGES, roles: r.ROLES }))")) as { tables: Record<string, Record<string, string>>; roles: string[] };
      expect(console_.roles).toStrictEqual([...ROLES]);
      const actions = [...new Set(Object.values(ROUTE_ACCESS).flatMap((a) => (a.audit ? [a.audit] : [])))];
      for (const lang of ['zh-CN', 'en']) {
        const missing = [...ROLES.map((r) => `role.${r}`), ...actions.map((a) => `auditAction.${a}`)].filter((k) => !console_.tables[lang][k]);
        expect(missing, lang).toStrictEqual([]);
      }
    } finally {
      await context.close();
    }
  });
});
