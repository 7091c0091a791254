import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Alarm } from '../../../src/alarms/model.js';
import { Bus } from '../../../src/bus.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { SiteModel } from '../../../src/sites/model.js';
import { StateStore } from '../../../src/storage/state/store.js';

const log = createLogger('silent');
const SITE = 'maple-court';

function alarm(over: Partial<Alarm> = {}): Alarm {
  const now = new Date().toISOString();
  return {
    id: 'al-1',
    site: SITE,
    type: 'smoke',
    severity: 'major',
    state: 'active',
    acknowledged: false,
    source: 'smoke-1',
    device: 'smoke-1',
    kind: 'fire',
    zone: 'b1-f1',
    rule: 'smoke-high',
    message: 'Smoke at smoke-1',
    firstSeen: now,
    lastSeen: now,
    count: 1,
    ...over,
  };
}

const until = async (check: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 10));
  }
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the notifier', () => {
  let dir: string;
  let server: Server;
  let got: Array<{ path: string; body: { event: string; alarm: Alarm } }>;
  let store: StateStore;
  let bus: Bus;
  let notifier: Notifier | undefined;
  let sites: SiteModel | undefined;
  let open: Alarm[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'notifier-'));
    got = [];
    server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8').on('data', (c: string) => (raw += c));
      req.on('end', () => {
        got.push({ path: req.url ?? '', body: JSON.parse(raw) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await mkdir(join(dir, 'sites'));
    await writeFile(
      join(dir, 'sites', 'mc.yaml'),
      `id: ${SITE}
channels:
  - { id: crit, webhook: "http://127.0.0.1:${port}/crit" }
  - { id: all, webhook: "http://127.0.0.1:${port}/all" }
  - { id: late, webhook: "http://127.0.0.1:${port}/late" }
notify:
  - { match: { severity: [critical] }, channels: [crit] }
  - { channels: [all] }
  - { match: { severity: [critical] }, after: 600ms, channels: [late] }
`,
    );
    store = new StateStore(join(dir, 'data'));
    store.start();
    bus = new Bus(log);
    open = [];
  });
  afterEach(async () => {
    await notifier?.stop();
    notifier = undefined;
    sites?.stop();
    sites = undefined;
    store.stop();
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Notifier> {
    const model = new SiteModel({ dir: join(dir, 'sites'), log, debounceMs: 50, onChange: () => notifier?.sitesChanged() });
    sites = model;
    await model.start();
    notifier = new Notifier({
      bus,
      store,
      sites: model,
      settings: { from: 'gw@test', retryDelayMs: 50, retryForMs: 1000, timeoutMs: 1000 },
      timeZone: 'UTC',
      consoleUrl: () => 'http://desk',
      openAlarms: () => open,
      alarmOf: (id) => open.find((a) => a.id === id),
      log,
      metrics: new Metrics(),
    });
    await notifier.start();
    return notifier;
  }

  it('holds a silenced alarm and tells it when its silence ends', async () => {
    await start();
    const silenced = alarm({ silenced: 'si-1' });
    bus.emit('alarmRaised', { alarm: silenced });
    await pause(150);
    expect(got).toStrictEqual([]);
    const { silenced: _gone, ...unsilenced } = silenced;
    bus.emit('alarmChanged', { alarm: unsilenced, change: 'unsilenced' });
    await until(() => got.length === 1);
    expect(got[0]).toStrictEqual({ path: '/all', body: { event: 'raised', site: SITE, alarm: unsilenced } });
  });

  it('never holds a life-safety alarm, silence or not', async () => {
    await start();
    bus.emit('alarmRaised', { alarm: alarm({ silenced: 'si-1', lifeSafety: true, severity: 'critical' }) });
    await until(() => got.length === 2);
    expect(got.map((g) => g.path).sort()).toStrictEqual(['/all', '/crit']);
  });

  it('tells the entries a rising severity matches now, and no one twice', async () => {
    await start();
    const major = alarm();
    bus.emit('alarmRaised', { alarm: major });
    await until(() => got.length === 1);
    bus.emit('alarmChanged', { alarm: { ...major, severity: 'critical' }, change: 'escalated', previousSeverity: 'major' });
    await until(() => got.length === 2);
    await pause(100);
    expect(got.map((g) => [g.path, g.body.event, g.body.alarm.severity])).toStrictEqual([
      ['/all', 'raised', 'major'],
      ['/crit', 'raised', 'critical'],
    ]);
  });

  it('re-arms the escalations of the open alarms after a restart, and sends none twice', async () => {
    const waiting = alarm({ id: 'al-wait', severity: 'critical', firstSeen: new Date(Date.now() - 400).toISOString() });
    const done = alarm({ id: 'al-done', severity: 'critical', firstSeen: new Date(Date.now() - 5000).toISOString() });
    store.db
      .prepare("INSERT INTO alarm_notifications (alarm_id, channel, event, at, ok, attempts) VALUES ('al-done', 'late', 'escalated', ?, 1, 1)")
      .run(Date.now() - 4000);
    open = [waiting, done];
    const started = Date.now();
    await start();
    await until(() => got.length === 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await pause(300);
    expect(got.map((g) => [g.path, g.body.event, g.body.alarm.id])).toStrictEqual([['/late', 'escalated', 'al-wait']]);
  });

  it('follows an edit of the site file, and keeps the settings in force when the edit is wrong', async () => {
    const n = await start();
    const port = (server.address() as { port: number }).port;
    await writeFile(join(dir, 'sites', 'mc.yaml'), `id: ${SITE}\nchannels: [{ id: new, webhook: "http://127.0.0.1:${port}/new" }]\nnotify: [{ channels: [new] }]\n`);
    await until(() => n.sites.get(SITE)?.channels[0]?.id === 'new');
    await writeFile(join(dir, 'sites', 'mc.yaml'), `id: ${SITE}\nnotify: [{ channels: [missing] }]\n`);
    await pause(400);
    bus.emit('alarmRaised', { alarm: alarm() });
    await until(() => got.length === 1);
    expect(got[0].path).toBe('/new');
  });

  it('cancels the escalation of an alarm acknowledged in time', async () => {
    await start();
    const raised = alarm({ severity: 'critical' });
    open = [raised];
    bus.emit('alarmRaised', { alarm: raised });
    const acked = { ...raised, state: 'acknowledged' as const, acknowledged: true };
    open = [acked];
    bus.emit('alarmChanged', { alarm: acked, change: 'acknowledged' });
    await pause(900);
    expect(got.map((g) => [g.path, g.body.event]).sort()).toStrictEqual([
      ['/all', 'acknowledged'],
      ['/all', 'raised'],
      ['/crit', 'acknowledged'],
      ['/crit', 'raised'],
    ]);
  });
});
