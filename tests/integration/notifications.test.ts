import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { createOperator, watch } from '../helpers/operator.js';

const SITE = 'maple-court';
const HOOK_SECRET = 'a-shared-secret-for-tests';
const DING_SECRET = 'SECding-secret-for-tests';

/** One request a receiver got. */
interface Got {
  path: string;
  url: URL;
  headers: IncomingMessage['headers'];
  raw: string;
  body: any;
  at: number;
}

/** A real HTTP receiver on loopback; `answer` decides each response (status, JSON body). */
async function receiver(answer: (got: Got, n: number) => [number, unknown] = () => [200, { ok: true }]) {
  const got: Got[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const g: Got = { path: req.url ?? '', url: new URL(req.url ?? '/', 'http://x'), headers: req.headers, raw, body: JSON.parse(raw), at: Date.now() };
      got.push(g);
      const [status, body] = answer(g, got.length);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { got, url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A server that takes connections and never answers: a hung receiver. */
async function blackHole() {
  const sockets: Socket[] = [];
  const server: TcpServer = createTcpServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A real SMTP listener (smtp-server) on loopback, without TLS or authentication. */
async function smtpListener() {
  const mails: Array<{ from: string; to: string[]; raw: string }> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        mails.push({ from: envelope.mailFrom ? envelope.mailFrom.address : '', to: envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.server.address() as { port: number };
  return { mails, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const RULES = `
- id: fire-alarm
  match: { kind: fire }
  when: { event: fire_alarm, clearOn: { event: reset } }
  alarm: { type: fire_alarm, severity: critical, message: "Fire alarm from {device} in {zone}" }
`;

describe('notifications to people not watching the screen (contract §16)', () => {
  let dir: string;
  let gw: TestGateway;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let robots: Awaited<ReturnType<typeof receiver>>;
  let escalations: Awaited<ReturnType<typeof receiver>>;
  let hung: Awaited<ReturnType<typeof blackHole>>;
  let smtp: Awaited<ReturnType<typeof smtpListener>>;
  let desk: Awaited<ReturnType<typeof createOperator>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'notify-'));
    [hook, flaky, robots, escalations, hung, smtp] = await Promise.all([
      receiver(),
      // Fails twice, then takes it: a receiver restarting.
      receiver((_g, n) => (n <= 2 ? [503, { error: 'starting' }] : [200, {}])),
      // WeCom and DingTalk robots answer errcode 0 when they took the message.
      receiver(() => [200, { errcode: 0, errmsg: 'ok' }]),
      receiver(),
      blackHole(),
      smtpListener(),
    ]);
    const refused = `http://127.0.0.1:${await freePort()}/hook`;
    await mkdir(join(dir, 'rules'));
    await mkdir(join(dir, 'sites'));
    await writeFile(join(dir, 'rules', 'fire.yaml'), RULES);
    await writeFile(
      join(dir, 'sites', `${SITE}.yaml`),
      `
id: ${SITE}
name: { zh-CN: 枫林苑, en: Maple Court }
channels:
  - { id: hook, webhook: "${hook.url}/sc?src=gw", secret: "${HOOK_SECRET}" }
  - { id: flaky, webhook: "${flaky.url}/flaky" }
  - { id: dead, webhook: "${refused}" }
  - { id: hung, webhook: "${hung.url}" }
  - { id: wecom, wecom: "${robots.url}/cgi-bin/webhook/send?key=k1", mention: ["13800000000"] }
  - { id: ding, dingtalk: "${robots.url}/robot/send?access_token=t1", secret: "${DING_SECRET}", mention: ["13900000000"] }
  - { id: mail, email: ["manager@example.com"] }
  - { id: esc, webhook: "${escalations.url}/esc" }
notify:
  - { match: { severity: [critical], zone: [z-main] }, channels: [dead, hung, hook, flaky, wecom, ding, mail] }
  - { match: { severity: [critical], zone: [z-esc] }, after: 2s, channels: [esc] }
`,
    );
    gw = await startGateway(
      {
        DATA_DIR: dir,
        RULES_DIR: join(dir, 'rules'),
        SITES_DIR: join(dir, 'sites'),
        SMTP_URL: smtp.url,
        NOTIFY_FROM: 'gateway@maple-court.example',
        CONSOLE_URL: 'https://desk.example.com',
        NOTIFY_RETRY_DELAY: '100ms',
        NOTIFY_RETRY_FOR: '5s',
        NOTIFY_TIMEOUT: '3s',
        TZ: 'Asia/Shanghai',
      },
      dir,
    );
    desk = await createOperator(gw, 'Desk', [SITE], 'guard');
  });
  afterAll(async () => {
    await gw?.stop();
    await Promise.all([hook, flaky, robots, escalations, hung, smtp].map((r) => r?.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function detector(id: string, zone: string): Promise<MqttClient> {
    return gw.connect(await gw.register(id, 'fire', SITE, zone));
  }

  it('tells every channel of a raised alarm, each its way, while dead and hung channels delay neither the alarm nor the others', async () => {
    const fire = await detector('smoke-1', 'z-main');
    const live = await watch(gw, desk.mqtt, [`sc/${SITE}/alarms/#`]);
    const sentAt = Date.now();
    await fire.publishAsync(`sc/${SITE}/fire/smoke-1/event`, JSON.stringify({ type: 'fire_alarm' }), { qos: 1 });
    const [published] = await live.take(1);
    expect(Date.now() - sentAt).toBeLessThan(1000);
    const alarm = published.body;
    expect(alarm).toMatchObject({ type: 'fire_alarm', severity: 'critical', zone: 'z-main', device: 'smoke-1' });

    // The signed webhook, within a second although `hung` holds its connection for 3 s and `dead` refuses.
    await eventually(() => hook.got.length >= 1, 2000, 20);
    const [raised] = hook.got;
    expect(raised.at - sentAt).toBeLessThan(1500);
    expect(raised.path).toBe('/sc?src=gw');
    expect(raised.body).toStrictEqual({ event: 'raised', site: SITE, alarm });
    expect(raised.headers['content-type']).toBe('application/json');
    expect(raised.headers['x-sc-signature']).toBe(`sha256=${createHmac('sha256', HOOK_SECRET).update(raised.raw).digest('hex')}`);

    // The robots: WeCom as text with the mentioned mobiles, DingTalk as signed markdown with at.atMobiles.
    await eventually(() => robots.got.length >= 2, 2000, 20);
    const wecom = robots.got.find((g) => g.url.pathname === '/cgi-bin/webhook/send')!;
    expect(wecom.url.searchParams.get('key')).toBe('k1');
    expect(wecom.body).toStrictEqual({ msgtype: 'text', text: { content: expect.stringContaining('【紧急】告警：Fire alarm from smoke-1 in z-main'), mentioned_mobile_list: ['13800000000'] } });
    expect(wecom.body.text.content).toContain(`https://desk.example.com/#/alarms/${alarm.id}`);
    const ding = robots.got.find((g) => g.url.pathname === '/robot/send')!;
    const timestamp = ding.url.searchParams.get('timestamp')!;
    expect(Math.abs(Number(timestamp) - Date.now())).toBeLessThan(5000);
    expect(ding.url.searchParams.get('access_token')).toBe('t1');
    expect(ding.url.searchParams.get('sign')).toBe(createHmac('sha256', DING_SECRET).update(`${timestamp}\n${DING_SECRET}`).digest('base64'));
    expect(ding.path).toContain(`sign=${encodeURIComponent(ding.url.searchParams.get('sign')!)}`);
    expect(ding.body).toStrictEqual({
      msgtype: 'markdown',
      markdown: { title: '【紧急】告警：Fire alarm from smoke-1 in z-main', text: expect.stringContaining('- 位置：z-main') },
      at: { atMobiles: ['13900000000'], isAtAll: false },
    });
    expect(ding.body.markdown.text).toContain('@13900000000');

    // The e-mail, through a real SMTP listener.
    await eventually(() => smtp.mails.length >= 1, 3000, 20);
    expect(smtp.mails[0]).toMatchObject({ from: 'gateway@maple-court.example', to: ['manager@example.com'] });
    expect(smtp.mails[0].raw).toMatch(/^Subject: \[critical\] Fire alarm from smoke-1 in z-main\r?$/m);

    // The flaky receiver got it at the third attempt; the dead and hung channels are recorded as failing.
    await eventually(async () => {
      const { body } = await gw.api('GET', `/api/alarms/${alarm.id}`, undefined, desk.token);
      const byChannel = Object.fromEntries(body.notifications.map((n: { channel: string }) => [n.channel, n]));
      return byChannel.flaky?.ok && byChannel.dead?.attempts >= 2 && byChannel.hung ? byChannel : undefined;
    }, 8000, 100);
    const { body } = await gw.api('GET', `/api/alarms/${alarm.id}`, undefined, desk.token);
    const of = (channel: string) => body.notifications.find((n: { channel: string }) => n.channel === channel);
    expect(of('flaky')).toStrictEqual({ channel: 'flaky', event: 'raised', at: expect.any(String), ok: true, attempts: 3 });
    expect(flaky.got.map((g) => g.body.event)).toStrictEqual(['raised', 'raised', 'raised']);
    expect(of('hook')).toStrictEqual({ channel: 'hook', event: 'raised', at: expect.any(String), ok: true, attempts: 1 });
    expect(of('mail')).toMatchObject({ ok: true, attempts: 1 });
    expect(of('dead')).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    expect(of('hung')).toMatchObject({ ok: false, error: 'no answer within 3000 ms' });

    // The webhook also hears the acknowledgement and the clear; the robots and the mail do not.
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, {}, desk.token)).status).toBe(200);
    await fire.publishAsync(`sc/${SITE}/fire/smoke-1/event`, JSON.stringify({ type: 'reset' }), { qos: 1 });
    await eventually(() => hook.got.length >= 3, 3000, 20);
    expect(hook.got.map((g) => [g.body.event, g.body.alarm.state])).toStrictEqual([
      ['raised', 'active'],
      ['acknowledged', 'acknowledged'],
      ['cleared', 'cleared'],
    ]);
    expect(robots.got).toHaveLength(2);
    expect(smtp.mails).toHaveLength(1);
  });

  it('escalates once an alarm still unacknowledged 2s after its raise, and not one acknowledged in time', async () => {
    const [left, answered] = await Promise.all([detector('smoke-2', 'z-esc'), detector('smoke-3', 'z-esc')]);
    const live = await watch(gw, desk.mqtt, [`sc/${SITE}/alarms/+/+/smoke-2`, `sc/${SITE}/alarms/+/+/smoke-3`]);
    await left.publishAsync(`sc/${SITE}/fire/smoke-2/event`, JSON.stringify({ type: 'fire_alarm' }), { qos: 1 });
    await answered.publishAsync(`sc/${SITE}/fire/smoke-3/event`, JSON.stringify({ type: 'fire_alarm' }), { qos: 1 });
    const alarms = (await live.take(2)).map((m) => m.body);
    const leftAlarm = alarms.find((a) => a.device === 'smoke-2');
    const answeredAlarm = alarms.find((a) => a.device === 'smoke-3');
    expect((await gw.api('POST', `/api/alarms/${answeredAlarm.id}/ack`, {}, desk.token)).status).toBe(200);

    await eventually(() => escalations.got.length >= 1, 4000, 20);
    const due = Date.parse(leftAlarm.firstSeen) + 2000;
    expect(escalations.got[0].at).toBeGreaterThanOrEqual(due);
    expect(escalations.got[0].at - due).toBeLessThan(1500);
    expect(escalations.got[0].body).toMatchObject({ event: 'escalated', site: SITE, alarm: { id: leftAlarm.id, severity: 'critical' } });
    // Nothing more: once per alarm, and none for the one acknowledged in time.
    await new Promise((r) => setTimeout(r, 700));
    expect(escalations.got.map((g) => g.body.alarm.id)).toStrictEqual([leftAlarm.id]);
    const { body } = await gw.api('GET', `/api/alarms/${leftAlarm.id}`, undefined, desk.token);
    expect(body.notifications).toStrictEqual([{ channel: 'esc', event: 'escalated', at: expect.any(String), ok: true, attempts: 1 }]);
    expect((await gw.api('GET', `/api/alarms/${answeredAlarm.id}`, undefined, desk.token)).body.notifications).toStrictEqual([]);
  });
});
