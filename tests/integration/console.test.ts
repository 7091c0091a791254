import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

/** Reads a server-sent event stream into `events` until aborted. */
function readStream(url: string, token: string) {
  const events: Array<{ event: string; data: any }> = [];
  const controller = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    let buffer = '';
    const decoder = new TextDecoder();
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  return { events, close: () => (controller.abort(), done) };
}

/** Every script of the console, by its path under console/. */
function consoleScripts(): Map<string, string> {
  const scripts = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.js')) scripts.set(relative('console', path), readFileSync(path, 'utf8'));
    }
  };
  walk('console');
  return scripts;
}

/** The key paths the console reads from the definitions: `defs().workOrders.transitions[...]` → `workOrders.transitions`. */
function definitionReads(scripts: Map<string, string>): Set<string> {
  const reads = new Set<string>();
  for (const text of scripts.values()) for (const m of text.matchAll(/\bdefs\(\)((?:\.[A-Za-z_$][\w$]*)+)/g)) reads.add(m[1].slice(1));
  return reads;
}

/** Where `path` leaves the document's objects (an array's method such as `includes` is not a key); undefined when every key exists. */
function missingKey(doc: unknown, path: string): string | undefined {
  let at: unknown = doc;
  for (const key of path.split('.')) {
    if (Array.isArray(at)) return undefined;
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return key;
    at = (at as Record<string, unknown>)[key];
  }
  return undefined;
}

/**
 * The console's words (console/i18n.js) as the browser loads them, with the little of a browser it touches at
 * load and on a language switch; `done` puts the globals back.
 */
async function loadWords() {
  const stored = new Map<string, string>();
  vi.stubGlobal('localStorage', { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => stored.set(k, v) });
  vi.stubGlobal('document', { documentElement: { lang: '' } });
  const i18n = await import(pathToFileURL(resolve('console/i18n.js')).href);
  return { ...i18n, done: () => vi.unstubAllGlobals() };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Literal copies of a served list: two of its names side by side in an array (`['open', 'assigned']`), a rank
 * table (`{ critical: 0, major: 1 }`), or an either-or test (`s === 'closed' || s === 'cancelled'`).
 */
function hardCodedCopies(text: string, names: readonly string[]): string[] {
  const n = `(?:${names.map(escape).join('|')})`;
  const patterns = [
    new RegExp(`(['"])${n}\\1\\s*,\\s*(['"])${n}\\2`, 'g'),
    new RegExp(`\\b${n}\\s*:\\s*-?\\d+\\s*,\\s*${n}\\s*:`, 'g'),
    new RegExp(`===\\s*(['"])${n}\\1[^\\n]*?\\|\\|[^\\n]*?===\\s*(['"])${n}\\2`, 'g'),
  ];
  return patterns.flatMap((re) => [...text.matchAll(re)].map((m) => m[0]));
}

describe('the console is served by the gateway', () => {
  let gw: TestGateway;
  let base: string;
  let a: { token: string };
  let b: { token: string };

  beforeAll(async () => {
    gw = await startGateway();
    base = `http://127.0.0.1:${gw.httpPort}`;
    a = (await gw.api('POST', '/api/operators', { name: 'Desk A', sites: ['site-a'] })).body;
    b = (await gw.api('POST', '/api/operators', { name: 'Desk B', sites: ['site-b'] })).body;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('serves the page at / without a token, with a content security policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('/console/app.js');
  });

  it('serves every module the console imports, and nothing else', async () => {
    const dir = 'console';
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk : (p: string) => files.push(p))(join(d, e.name));
    };
    walk(dir);
    const wanted = new Set<string>();
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const url = `/console/${relative(dir, file)}`;
      wanted.add(url);
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^import .* from '([^']+)';$/gm)) {
        wanted.add(spec.startsWith('/') ? spec : new URL(spec, `http://x${url}`).pathname);
      }
    }
    expect(wanted).toContain('/vendor/htm-preact.js');
    for (const path of wanted) {
      const res = await fetch(`${base}${path}`);
      expect([path, res.status, res.headers.get('content-type')]).toStrictEqual([path, 200, 'text/javascript; charset=utf-8']);
    }
    expect((await fetch(`${base}/vendor/uplot.css`)).status).toBe(200);
    const missing = await fetch(`${base}/console/../package.json`);
    expect(missing.status).toBe(404);
    expect((await fetch(`${base}/console/nothing.js`)).status).toBe(404);
  });

  it('reads from the definitions only what GET /api/definitions serves', async () => {
    const res = await gw.api('GET', '/api/definitions', undefined, a.token);
    expect(res.status).toBe(200);
    const scripts = consoleScripts();
    const reads = definitionReads(scripts);
    // The pages do read the definitions: the scan would otherwise prove nothing.
    for (const path of ['kinds', 'alarms.severities', 'workOrders.priorities', 'workOrders.statuses', 'workOrders.transitions', 'workOrders.settled', 'workOrders.final']) {
      expect([path, [...reads].some((r) => r === path || r.startsWith(`${path}.`))]).toStrictEqual([path, true]);
    }
    expect([...reads].filter((path) => missingKey(res.body, path) !== undefined)).toStrictEqual([]);
    // Read in place, never through an alias the scan could not follow.
    const aliased = [...scripts].filter(([file, text]) => file !== 'definitions.js' && /\bdefs\(\)(?!\.)/.test(text)).map(([file]) => file);
    expect(aliased).toStrictEqual([]);
    expect(missingKey(res.body, 'workOrders.nothing')).toBe('nothing');
  });

  it('keeps no copy of the kinds, severities, priorities or statuses the definitions serve', async () => {
    const doc = (await gw.api('GET', '/api/definitions')).body;
    const lists = { kinds: Object.keys(doc.kinds), severities: doc.alarms.severities, priorities: doc.workOrders.priorities, statuses: doc.workOrders.statuses };
    // The detector catches the copies the console used to keep.
    expect(hardCodedCopies("const KINDS = ['access', 'lighting', 'parking'];", lists.kinds)).toHaveLength(1);
    expect(hardCodedCopies('export const SEVERITY_RANK = { critical: 0, major: 1, minor: 2 };', lists.severities)).toHaveLength(1);
    expect(hardCodedCopies("all.filter((w) => w.status === 'closed' || w.status === 'cancelled')", lists.statuses)).toHaveLength(1);
    expect(hardCodedCopies("t(from === 'resolved' && to === 'in_progress' ? 'move.reopen' : `move.${to}`)", lists.statuses)).toStrictEqual([]);
    const copies = [...consoleScripts()].flatMap(([file, text]) =>
      Object.entries(lists).flatMap(([list, names]) => hardCodedCopies(text, names).map((m) => `${file}: ${list}: ${m}`)),
    );
    expect(copies).toStrictEqual([]);
  });

  it('names every kind, telemetry field, enumerated value and event type the definitions serve, in both languages', async () => {
    const doc = (await gw.api('GET', '/api/definitions')).body;
    const kinds = doc.kinds as Record<
      string,
      { telemetry: Record<string, { values?: string[] }>; events: Record<string, { details: Record<string, { values?: string[] }> }> }
    >;
    // The kinds of contract §9 are served: the check covers them.
    expect(Object.keys(kinds)).toEqual(expect.arrayContaining(['lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste']));
    const words = await loadWords();
    try {
      const missing: string[] = [];
      for (const [lang, dict] of Object.entries(words.LANGUAGES as Record<string, Record<string, string>>)) {
        // A kind's own word (`field.water.temperatureC`) or the shared one, as fieldLabel() and label() look them up.
        const has = (...keys: string[]) => keys.some((k) => Object.hasOwn(dict, k) && dict[k].trim() !== '');
        for (const [kind, d] of Object.entries(kinds)) {
          if (!has(`kind.${kind}`)) missing.push(`${lang} kind.${kind}`);
          for (const [field, f] of Object.entries(d.telemetry)) {
            if (!has(`field.${kind}.${field}`, `field.${field}`)) missing.push(`${lang} field.${field} (${kind})`);
            for (const value of f.values ?? []) if (!has(`value.${field}.${value}`)) missing.push(`${lang} value.${field}.${value} (${kind})`);
          }
          for (const [type, e] of Object.entries(d.events)) {
            if (!has(`event.${kind}.${type}`, `event.${type}`)) missing.push(`${lang} event.${type} (${kind})`);
            // The details a device page lists with each event (a guard's name, a leak's location).
            for (const [detail, f] of Object.entries(e.details)) {
              if (!has(`detail.${detail}`)) missing.push(`${lang} detail.${detail} (${kind} ${type})`);
              for (const value of f.values ?? []) if (!has(`value.${detail}.${value}`)) missing.push(`${lang} value.${detail}.${value} (${kind} ${type})`);
            }
          }
        }
      }
      expect(missing).toStrictEqual([]);
      // The Chinese kind names are Chinese, not the English ones copied.
      const zh = words.LANGUAGES['zh-CN'] as Record<string, string>;
      expect(Object.keys(kinds).filter((k) => !/\p{Script=Han}/u.test(zh[`kind.${k}`]))).toStrictEqual([]);

      // The pages' lookups: a kind's own word first, an alarm type named as an event takes the event's word.
      expect(words.language()).toBe('zh-CN');
      expect([words.label('kind', 'lift'), words.fieldLabel('water', 'temperatureC'), words.fieldLabel('environment', 'temperatureC')]).toStrictEqual(['电梯', '水温', '温度']);
      expect([words.label('type', 'passenger_trapped'), words.label('type', 'fire', 'waste'), words.label('type', 'fire_alarm')]).toStrictEqual(['电梯困人', '垃圾桶起火', '火警']);
      expect([words.valueLabel('direction', 'up'), words.valueLabel('pumpRunning', true), words.valueLabel('moving', false)]).toStrictEqual(['上行', '运行', '停止']);
      expect([words.eventLabel('patrol', 'checkpoint_scan'), words.eventLabel('waste', 'fire'), words.detailLabel('guard'), words.valueLabel('onGenerator', true)]).toStrictEqual([
        '巡更打卡',
        '垃圾桶起火',
        '巡更人员',
        '发电机',
      ]);
      // A rule's own sentence shows only on a page in its language.
      expect([words.inLanguage('Emergency call from sos-1 (b1)'), words.inLanguage('紧急呼叫：1 号楼大堂')]).toStrictEqual([false, true]);
      words.setLanguage('en');
      expect([words.label('kind', 'water'), words.fieldLabel('lift', 'doorOpen'), words.valueLabel('mode', 'out_of_service'), words.label('type', 'call', 'sos')]).toStrictEqual([
        'Water supply',
        'Car door',
        'Out of service',
        'Emergency call',
      ]);
      expect(words.inLanguage('Emergency call from sos-1 (b1)')).toBe(true);
    } finally {
      words.done();
    }
  });

  it('says who a token belongs to', async () => {
    expect((await gw.api('GET', '/api/me', undefined, a.token)).body).toMatchObject({ id: expect.any(String), role: 'viewer', name: 'Desk A', sites: ['site-a'], allowed: [] });
    expect((await gw.api('GET', '/api/me')).body).toMatchObject({ role: 'admin', name: 'admin', allowed: expect.arrayContaining(['POST /api/operators']) });
    expect((await gw.api('GET', '/api/me', undefined, null)).status).toBe(401);
  });

  it("streams alarm, work order and device changes of the operator's own sites only", async () => {
    expect((await fetch(`${base}/api/events`)).status).toBe(401);
    const sa = readStream(`${base}/api/events`, a.token);
    const sb = readStream(`${base}/api/events`, b.token);
    const admin = readStream(`${base}/api/events`, ADMIN_TOKEN);
    try {
      await eventually(() => [sa, sb, admin].every((s) => s.events.some((e) => e.event === 'ready')));
      const { alarms, workOrders } = gw.gateway;
      const alarm = alarms.raise({ site: 'site-a', type: 'door_forced', severity: 'major', source: 'door-1', rule: 'manual', message: 'Door forced' }).alarm;
      alarms.ack(alarm.id, 'Desk A', 'on my way');
      workOrders.create({ site: 'site-a', title: 'Fix the door', category: 'access', priority: 'high', by: 'Desk A' });
      alarms.clear(alarm.id, 'Desk A');
      await gw.register('lamp-b1', 'lighting', 'site-b', 'b1');
      const lamp = await gw.connect(await gw.register('lamp-b2', 'lighting', 'site-b', 'b1'));
      await lamp.publishAsync('sc/site-b/lighting/lamp-b2/status', 'online', { qos: 1, retain: true });
      await eventually(() => sb.events.some((e) => e.event === 'device'));
      await eventually(() => sa.events.filter((e) => e.event !== 'ready').length >= 7);

      expect(sa.events.map((e) => [e.event, e.data.change, e.data.alarm?.state ?? e.data.workOrder?.status ?? e.data.incident?.state])).toStrictEqual([
        ['ready', undefined, undefined],
        ['alarm', 'raised', 'active'],
        ['incident', 'opened', 'open'],
        ['alarm', 'acknowledged', 'acknowledged'],
        ['incident', 'updated', 'open'],
        ['workorder', 'created', 'open'],
        ['alarm', 'cleared', 'cleared'],
        ['incident', 'closed', 'closed'],
      ]);
      expect(sb.events.map((e) => [e.event, e.data.change, e.data.device?.id])).toStrictEqual([
        ['ready', undefined, undefined],
        ['device', 'online', 'lamp-b2'],
      ]);
      expect(admin.events.filter((e) => e.event !== 'ready')).toHaveLength(8);
      await lamp.endAsync();
    } finally {
      await Promise.all([sa.close(), sb.close(), admin.close()]);
    }
  });
});
