import { createHmac } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, nextMessage, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startMosquitto, type MosquittoServer } from '../helpers/mosquitto.js';

const SITE = 'maple-court';
const GATEWAY_ID = 'gw-maple-court';
const OPS_SECRET = 'hq-ops-hmac-secret-0123456789';
const INTRUDER_SECRET = 'intruder-hmac-secret-0123456789';
/** Mosquitto passwords of the three kinds of account. */
const USERS = { [GATEWAY_ID]: 'gw-password', 'hq-ops': 'ops-password', 'hq-intruder': 'intruder-password' };
const OUTAGE_MS = 30_000;

interface Received {
  topic: string;
  body: Record<string, any>;
}

/** The canonical form written by hand: keys already in order, so JSON.stringify is canonical. */
function sign(message: Record<string, unknown>, secret: string): string {
  const sorted = Object.fromEntries(Object.entries(message).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHmac('sha256', secret).update(JSON.stringify(sorted)).digest('hex');
}

describe('upstream link to headquarters (issue 6)', () => {
  let hq: MosquittoServer;
  let dataDir: string;
  let gw: TestGateway;
  let env: Record<string, string>;
  /** hq-ops's persistent session: it gets what the gateway sent while it was away too. */
  let ops: MqttClient;
  const received: Received[] = [];

  const metric = (name: string, labels?: Record<string, string>) => gw.gateway.metrics.value(name, labels);
  // The subscriber also sees the commands headquarters publishes, which carry no seq.
  const lastSeq = () => Math.max(0, ...received.flatMap((r) => (typeof r.body.seq === 'number' ? [r.body.seq] : [])));

  beforeAll(async () => {
    // The shipped example ACL, plus an account the central broker lets publish commands by mistake.
    const acl = `${await readFile(new URL('../../mosquitto/hq/aclfile', import.meta.url), 'utf8')}
user hq-intruder
topic read hq/#
topic write hq/+/commands
`;
    hq = await startMosquitto({ users: USERS, acl });
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-upstream-'));
    env = {
      UPSTREAM_URL: `mqtt://127.0.0.1:${hq.port}`,
      UPSTREAM_USERNAME: GATEWAY_ID,
      UPSTREAM_PASSWORD: USERS[GATEWAY_ID],
      UPSTREAM_CLIENT_ID: GATEWAY_ID,
      UPSTREAM_SITES: SITE,
      UPSTREAM_TRUSTED: `hq-ops:${OPS_SECRET}`,
      UPSTREAM_SUMMARY_INTERVAL: '2s',
    };
    gw = await startGateway(env, dataDir);
    // Not connectMqtt(): that one ends the client at its first error, and this one must outlive the outage.
    ops = mqtt.connect(`mqtt://127.0.0.1:${hq.port}`, {
      username: 'hq-ops',
      password: USERS['hq-ops'],
      clientId: 'hq-ops-desk',
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 250,
    });
    ops.on('error', () => undefined); // refused connects while headquarters is down; it keeps trying
    await new Promise((resolve) => ops.once('connect', resolve));
    ops.on('message', (topic, payload) => received.push({ topic, body: JSON.parse(payload.toString()) }));
    await ops.subscribeAsync(`hq/${SITE}/#`, { qos: 1 });
    await eventually(() => gw.gateway.readiness().upstream?.connected, 10_000);
  });

  afterAll(async () => {
    await ops?.endAsync(true);
    await gw?.stop();
    await hq?.remove();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('forwards alarm and work order changes to hq/{site}/... with a seq', async () => {
    const { alarm } = gw.gateway.alarms.raise({ site: SITE, type: 'smoke_high', severity: 'major', source: 'smoke-1', rule: 'manual', message: 'Smoke' });
    const wo = gw.gateway.workOrders.create({ site: SITE, title: 'Check smoke-1', category: 'fire', priority: 'high', by: 'admin' });
    const alarmMsg = await eventually(() => received.find((r) => r.topic === `hq/${SITE}/alarms/${alarm.id}`));
    expect(alarmMsg.body).toStrictEqual({ seq: expect.any(Number), gateway: GATEWAY_ID, at: expect.any(String), change: 'raised', alarm: JSON.parse(JSON.stringify(alarm)) });
    const woMsg = await eventually(() => received.find((r) => r.topic === `hq/${SITE}/workorders/${wo.id}`));
    expect(woMsg.body).toStrictEqual({ seq: alarmMsg.body.seq + 1, gateway: GATEWAY_ID, at: expect.any(String), change: 'created', workOrder: JSON.parse(JSON.stringify(wo)) });
    expect(gw.gateway.readiness().upstream).toStrictEqual({ connected: true, queued: 0 });
  });

  it('delivers every alarm change of a 30 s outage, in order, across a restart of the gateway', async () => {
    await eventually(() => gw.gateway.readiness().upstream?.queued === 0);
    const before = lastSeq();
    const changes: Array<[string, string]> = [];
    const raiseAndClear = (g: TestGateway, i: number) => {
      const { alarm } = g.gateway.alarms.raise({ site: SITE, type: 'door_forced', severity: 'major', source: `door-${i}`, rule: 'manual', message: `Door ${i}` });
      g.gateway.alarms.clear(alarm.id, 'test');
      changes.push([alarm.id, 'raised'], [alarm.id, 'cleared']);
    };
    await hq.stop();
    const outageStart = Date.now();
    await eventually(() => gw.gateway.readiness().upstream?.connected === false);
    for (let i = 0; i < 10; i++) raiseAndClear(gw, i);
    await eventually(() => gw.gateway.readiness().upstream?.queued === 20);
    // The gateway stops and starts again while headquarters is still away: the queue is on disk.
    await gw.stop();
    gw = await startGateway(env, dataDir);
    expect(gw.gateway.readiness().upstream).toStrictEqual({ connected: false, queued: 20 });
    for (let i = 10; i < 20; i++) raiseAndClear(gw, i);
    await eventually(() => gw.gateway.readiness().upstream?.queued === 40);
    while (Date.now() - outageStart < OUTAGE_MS) await new Promise((r) => setTimeout(r, 100));
    expect(metric('gateway_upstream_connected')).toBe(0);
    await hq.start();
    const restored = Date.now();
    await eventually(() => new Set(received.filter((r) => r.body.seq > before).map((r) => r.body.seq)).size >= 40, 20_000);
    const deliveredIn = Date.now() - restored;
    // Headquarters drops repeats by seq (at least once); what is left is every change, in order, seq without gaps.
    const bySeq = new Map<number, Received>();
    for (const r of received) if (r.body.seq > before && !bySeq.has(r.body.seq)) bySeq.set(r.body.seq, r);
    const delivered = [...bySeq.values()];
    expect(delivered.map((r) => r.body.seq)).toStrictEqual(Array.from({ length: 40 }, (_, i) => before + 1 + i));
    expect(delivered.map((r) => [r.body.alarm.id, r.body.change])).toStrictEqual(changes);
    expect(delivered.every((r) => r.topic === `hq/${SITE}/alarms/${r.body.alarm.id}`)).toBe(true);
    await eventually(() => gw.gateway.readiness().upstream?.queued === 0);
    expect(metric('gateway_upstream_dropped_total', { class: 'event', reason: 'bound' })).toBe(0);
    console.log(`upstream outage: ${Date.now() - outageStart} ms in all, the 40 changes at headquarters ${deliveredIn} ms after it came back`);
  }, 90_000);

  it('carries out only commands signed by a trusted account, once, and sends the result to headquarters', async () => {
    const creds = await gw.register('door-1', 'access', SITE, 'b1-lobby');
    const door = await gw.connect(creds);
    const cmds: Array<Record<string, any>> = [];
    door.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      cmds.push(cmd);
      void door.publishAsync(`sc/${SITE}/access/door-1/cmd/result`, JSON.stringify({ id: cmd.id, ok: true }), { qos: 1 });
    });
    await door.subscribeAsync(`sc/${SITE}/access/door-1/cmd`, { qos: 1 });
    // After a reconnect of the link its subscription is made again; wait for it to be there.
    await eventually(() => gw.gateway.readiness().upstream?.connected);
    const intruder = await connectMqtt(`mqtt://127.0.0.1:${hq.port}`, { username: 'hq-intruder', password: USERS['hq-intruder'] });
    const topic = `hq/${SITE}/commands`;
    const command = (id: string, by: string, ts = Date.now()) => ({ id, site: SITE, device: 'door-1', action: 'unlock', params: { seconds: 5 }, by, ts });
    try {
      const own = command('c-intruder-1', 'hq-intruder');
      await intruder.publishAsync(topic, JSON.stringify({ ...own, sig: sign(own, INTRUDER_SECRET) }), { qos: 1 });
      const forged = command('c-intruder-2', 'hq-ops');
      await intruder.publishAsync(topic, JSON.stringify({ ...forged, sig: sign(forged, INTRUDER_SECRET) }), { qos: 1 });
      await intruder.publishAsync(topic, JSON.stringify(command('c-intruder-3', 'hq-ops')), { qos: 1 });
      const old = command('c-old', 'hq-ops', Date.now() - 10 * 60_000);
      await ops.publishAsync(topic, JSON.stringify({ ...old, sig: sign(old, OPS_SECRET) }), { qos: 1 });
      await eventually(() => metric('gateway_upstream_commands_total', { outcome: 'untrusted' }) === 3 && metric('gateway_upstream_commands_total', { outcome: 'stale' }) === 1);
      expect(cmds).toStrictEqual([]);

      const trusted = command('c-ops-1', 'hq-ops');
      const message = JSON.stringify({ ...trusted, sig: sign(trusted, OPS_SECRET) });
      await ops.publishAsync(topic, message, { qos: 1 });
      const result = await eventually(() => received.find((r) => r.topic === `hq/${SITE}/commands/result` && r.body.id === 'c-ops-1'));
      expect(cmds).toStrictEqual([{ id: expect.any(String), action: 'unlock', params: { seconds: 5 } }]);
      expect(result.body).toStrictEqual({
        seq: expect.any(Number),
        gateway: GATEWAY_ID,
        at: expect.any(String),
        id: 'c-ops-1',
        device: 'door-1',
        action: 'unlock',
        by: 'hq-ops',
        ok: true,
        result: { id: cmds[0].id, ok: true },
      });

      // The same message again, as someone who recorded it would send it.
      await intruder.publishAsync(topic, message, { qos: 1 });
      await eventually(() => metric('gateway_upstream_commands_total', { outcome: 'replayed' }) === 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(cmds).toHaveLength(1);
      expect(metric('gateway_upstream_commands_total', { outcome: 'ok' })).toBe(1);
    } finally {
      await intruder.endAsync(true);
    }
  });

  it('sends a summary per window with the count, devices, min, mean and max of the telemetry', async () => {
    const smoke = await gw.connect(await gw.register('smoke-1', 'fire', SITE, 'b3-f12'));
    // Just after a 2 s boundary, so the three readings fall in one window.
    while (Date.now() % 2000 < 100 || Date.now() % 2000 > 600) await new Promise((r) => setTimeout(r, 10));
    const windowStart = Date.now() - (Date.now() % 2000);
    const summaryAt = nextMessage(ops, (t) => t.startsWith(`hq/${SITE}/summaries/fire/`), 10_000);
    for (const [temperatureC, smokeObscurationPct] of [[20, 1], [22, 2], [27, 3]]) {
      await smoke.publishAsync(`sc/${SITE}/fire/smoke-1/telemetry`, JSON.stringify({ temperatureC, smokeObscurationPct }), { qos: 1 });
    }
    const msg = await summaryAt;
    const hour = `${new Date(windowStart).toISOString().slice(0, 19)}Z`;
    expect(msg.topic).toBe(`hq/${SITE}/summaries/fire/${hour}`);
    const body = JSON.parse(msg.payload.toString());
    expect(body).toStrictEqual({
      seq: expect.any(Number),
      gateway: GATEWAY_ID,
      at: expect.any(String),
      summary: {
        site: SITE,
        kind: 'fire',
        from: expect.any(String),
        to: expect.any(String),
        timeZone: gw.gateway.config.timeZone,
        zones: [
          {
            zone: 'b3-f12',
            messages: 3,
            devices: 1,
            fields: {
              smokeObscurationPct: { count: 3, min: 1, mean: 2, max: 3 },
              temperatureC: { count: 3, min: 20, mean: 23, max: 27 },
            },
          },
        ],
      },
    });
    expect(Date.parse(body.summary.from)).toBe(windowStart);
    expect(Date.parse(body.summary.to)).toBe(windowStart + 2000);
  });

  it('resends from the first message not acknowledged when the link drops mid-burst: repeats only, no new message below a seen seq', async () => {
    await eventually(() => gw.gateway.readiness().upstream?.queued === 0);
    const from = received.length;
    const before = lastSeq();
    for (let i = 0; i < 300; i++) {
      const { alarm } = gw.gateway.alarms.raise({ site: SITE, type: 'lamp_failure', severity: 'minor', source: `lamp-${i}`, rule: 'manual', message: `Lamp ${i}` });
      gw.gateway.alarms.clear(alarm.id, 'test');
      if (i === 150) {
        // Headquarters goes away while the gateway has messages in flight.
        await eventually(() => received.length - from > 20, 5000, 1);
        await hq.stop();
      }
    }
    await hq.start();
    const burst = () => received.slice(from).map((r) => r.body.seq as number).filter((seq) => seq > before);
    await eventually(() => new Set(burst()).size >= 600, 20_000);
    const seqs = burst();
    expect([...new Set(seqs)]).toStrictEqual(Array.from({ length: 600 }, (_, i) => before + 1 + i));
    let highest = 0;
    const seen = new Set<number>();
    const newBelowHighest = seqs.filter((seq) => {
      const late = seq < highest && !seen.has(seq);
      seen.add(seq);
      highest = Math.max(highest, seq);
      return late;
    });
    expect(newBelowHighest).toStrictEqual([]);
    console.log(`upstream mid-burst drop: 600 changes, ${seqs.length - 600} repeats at headquarters`);
  }, 60_000);
});
