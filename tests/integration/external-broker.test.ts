import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, nextMessage, startGateway, subscribeGranted, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { mosquittoPub } from '../helpers/mosquitto.js';
import { startMosquittoDynsec, type MosquittoProcess } from '../helpers/mosquitto-server.js';
import { startWorker, sumCounter, type TestWorker } from '../helpers/worker.js';
import { ExternalBroker } from '../../src/broker/external.js';
import { Failures } from '../../src/failures.js';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { Topics } from '../../src/topics.js';

const ADMIN = { username: 'gw-admin', password: 'gw-admin-password-0123' };
const SITE = 'maple-court';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Creds = { username: string; password: string };

/** The env of a gateway on `broker` (Mosquitto with dynamic security), storing into `db`. */
function brokerEnv(broker: MosquittoProcess, influx: InfluxServer, db: string, clientId: string): Record<string, string> {
  return {
    BROKER_URL: broker.url,
    BROKER_USERNAME: ADMIN.username,
    BROKER_PASSWORD: ADMIN.password,
    BROKER_CLIENT_ID: clientId,
    INFLUX_URL: influx.url,
    INFLUX_DB: db,
  };
}

/** A device's MQTT 5 client on Mosquitto, with its last will on its status topic (contract §2). */
function connectDevice(broker: MosquittoProcess, creds: Creds, statusTopic: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return connectMqtt(broker.url, {
    ...creds,
    protocolVersion: 5,
    clientId: `dev-${creds.username}`,
    will: { topic: statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
    ...opts,
  });
}

/** Commands straight to the dynamic-security plugin as its admin, answered in order. */
async function dynsec(broker: MosquittoProcess, commands: object[]): Promise<Array<Record<string, any>>> {
  const admin = await connectMqtt(broker.url, { ...ADMIN, protocolVersion: 5, clientId: 'test-admin' });
  try {
    await admin.subscribeAsync('$CONTROL/dynamic-security/v1/response');
    const answer = new Promise<Array<Record<string, any>>>((resolve) =>
      admin.once('message', (_t, p) => resolve((JSON.parse(p.toString()) as { responses: Array<Record<string, any>> }).responses)),
    );
    await admin.publishAsync('$CONTROL/dynamic-security/v1', JSON.stringify({ commands }), { qos: 1 });
    return await answer;
  } finally {
    await admin.endAsync(true);
  }
}

async function count(influx: InfluxServer, db: string, q: string): Promise<number> {
  const rows = await influx.query(q, db);
  return Number(rows[0]?.count ?? 0);
}

describe('the gateway as a client of Mosquitto with dynamic security', () => {
  const DB = 'external_single';
  let influx: InfluxServer;
  let broker: MosquittoProcess;
  let gw: TestGateway;
  let dataDir: string;
  const clients: MqttClient[] = [];
  const start = async () => {
    gw = await startGateway(brokerEnv(broker, influx, DB, 'gw-primary'), dataDir);
  };
  const device = async (id: string, kind: string) => {
    const creds = (await gw.register(id, kind, SITE, 'b1')) as Creds;
    const client = await connectDevice(broker, creds, `sc/${SITE}/${kind}/${id}/status`);
    clients.push(client);
    return { creds, client, topic: (suffix: string) => `sc/${SITE}/${kind}/${id}/${suffix}` };
  };

  beforeAll(async () => {
    [influx, broker] = await Promise.all([startInflux(), startMosquittoDynsec(ADMIN)]);
    dataDir = await mkdtemp(join(tmpdir(), 'external-gw-'));
    await start();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await gw?.stop();
    await broker?.stop();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('says the broker link is up and embeds no broker', async () => {
    expect(gw.mqttPort).toBe(0);
    const ready = await gw.api('GET', '/ready', undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.body.broker).toStrictEqual({ listening: true });
  });

  it('lets a device registered through the API connect with its credentials, and stores its telemetry', async () => {
    const meter = await device('meter-1', 'energy');
    await meter.client.publishAsync(meter.topic('status'), 'online', { qos: 1, retain: true });
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 5; i++) {
      await meter.client.publishAsync(meter.topic('telemetry'), JSON.stringify({ energyKwh: 100 + i, ts: t0 + i }), { qos: 1 });
    }
    await eventually(async () => (await count(influx, DB, `SELECT count(energyKwh) FROM energy WHERE device = 'meter-1'`)) === 5);
    const rows = await influx.query(`SELECT energyKwh, zone, site FROM energy WHERE device = 'meter-1' ORDER BY time LIMIT 1`, DB);
    expect(rows[0]).toMatchObject({ energyKwh: 100, zone: 'b1', site: SITE });
    const listed = await gw.api('GET', '/api/devices/meter-1');
    expect(listed.body).toMatchObject({ id: 'meter-1', online: true });
  });

  it('takes a device offline from the last will Mosquitto publishes for it', async () => {
    const cam = await device('cam-will', 'camera');
    await cam.client.publishAsync(cam.topic('status'), 'online', { qos: 1, retain: true });
    await eventually(async () => (await gw.api('GET', '/api/devices/cam-will')).body.online === true);
    cam.client.stream.destroy(); // no DISCONNECT: the broker publishes the will
    await eventually(async () => (await gw.api('GET', '/api/devices/cam-will')).body.online === false);
  });

  it('cuts a device deleted through the API off the broker, and refuses it afterwards', async () => {
    const lamp = await device('lamp-del', 'lighting');
    const closed = new Promise<void>((resolve) => lamp.client.once('close', () => resolve()));
    expect((await gw.api('DELETE', '/api/devices/lamp-del')).status).toBe(204);
    await closed;
    await expect(connectMqtt(broker.url, { ...lamp.creds, protocolVersion: 5 })).rejects.toMatchObject({ code: 135 });
  });

  it("refuses a device's publish on another device's topic (MQTT 5: PUBACK 135; 3.1.1: dropped) and stores nothing of it", async () => {
    const a = await device('door-a', 'access');
    await device('door-b', 'access');
    const foreign = `sc/${SITE}/access/door-b/telemetry`;
    await expect(a.client.publishAsync(foreign, JSON.stringify({ doorOpen: true }), { qos: 1 })).rejects.toMatchObject({ code: 135 });
    // A device may not publish on its own `cmd` either: that is the gateway's direction (contract §2).
    await expect(a.client.publishAsync(a.topic('cmd'), '{}', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    const v311 = await mosquittoPub(broker.port, a.creds, foreign, JSON.stringify({ locked: false }), ['-q', '1', '-i', 'door-a-311']);
    expect(v311.code).toBe(0);
    await a.client.publishAsync(a.topic('telemetry'), JSON.stringify({ locked: true }), { qos: 1 });
    await eventually(async () => (await count(influx, DB, `SELECT count(locked) FROM access WHERE device = 'door-a'`)) === 1);
    expect(await count(influx, DB, `SELECT count(*) FROM access WHERE device = 'door-b'`)).toBe(0);
  });

  it("refuses a device's subscription to another device's cmd, and grants its own", async () => {
    const c = await device('door-c', 'access');
    expect(await subscribeGranted(c.client, [`sc/${SITE}/access/door-b/cmd`])).toStrictEqual([135]);
    expect(await subscribeGranted(c.client, [`sc/${SITE}/access/+/cmd`])).toStrictEqual([135]);
    expect(await subscribeGranted(c.client, [c.topic('cmd')])).toStrictEqual([0]);
  });

  it("carries a command from the API to the device through Mosquitto and its result back", async () => {
    const lamp = await device('lamp-cmd', 'lighting');
    await lamp.client.subscribeAsync(lamp.topic('cmd'), { qos: 1 });
    lamp.client.on('message', (topic, payload) => {
      if (topic !== lamp.topic('cmd')) return;
      const cmd = JSON.parse(payload.toString()) as { id: string; action: string };
      void lamp.client.publishAsync(lamp.topic('cmd/result'), JSON.stringify({ id: cmd.id, ok: true, echo: cmd.action }), { qos: 1 });
    });
    const res = await gw.api('POST', '/api/devices/lamp-cmd/commands', { action: 'switch_on' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, echo: 'switch_on' });
  });

  it('gives an operator a read-only account on its sites', async () => {
    const created = await gw.api('POST', '/api/operators', { name: 'Desk', sites: [SITE] });
    expect(created.status).toBe(201);
    const op = await connectMqtt(broker.url, { ...created.body.mqtt, protocolVersion: 5 });
    clients.push(op);
    expect(await subscribeGranted(op, [`sc/${SITE}/alarms/#`, `sc/${SITE}/+/+/status`, 'sc/other-site/alarms/#', 'sc/#'])).toStrictEqual([0, 0, 135, 135]);
    await expect(op.publishAsync(`sc/${SITE}/alarms/x`, '{}', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    // What the gateway publishes reaches it through Mosquitto: here a rejection (contract §2).
    const meter = await device('meter-bad', 'energy');
    await op.subscribeAsync(`sc/${SITE}/gateway/#`);
    const rejected = nextMessage(op, (topic) => topic === `sc/${SITE}/gateway/rejected`);
    await meter.client.publishAsync(meter.topic('telemetry'), JSON.stringify({ energyKwh: -1 }), { qos: 1 });
    expect(JSON.parse((await rejected).payload.toString())).toMatchObject({ topic: meter.topic('telemetry'), device: 'meter-bad' });
  });

  it('keeps its session at the broker: QoS 1 messages sent while it is stopped are stored after its restart', async () => {
    const meter = await device('meter-queued', 'energy');
    await gw.stop();
    const t0 = Date.now() - 5_000;
    for (let i = 0; i < 3; i++) {
      await meter.client.publishAsync(meter.topic('telemetry'), JSON.stringify({ energyKwh: i, ts: t0 + i }), { qos: 1 });
    }
    await start();
    await eventually(async () => (await count(influx, DB, `SELECT count(energyKwh) FROM energy WHERE device = 'meter-queued'`)) === 3);
  });

  it('answers 409 for a device named like an account the gateway does not manage, and registers nothing', async () => {
    const res = await gw.api('POST', '/api/devices', { id: ADMIN.username, kind: 'fire', site: SITE, zone: 'b1' });
    expect(res.status).toBe(409);
    expect((await gw.api('GET', `/api/devices/${ADMIN.username}`)).status).toBe(404);
  });

  it("reconciles at start: removes accounts of devices gone, counts registered devices whose account is missing", async () => {
    await gw.stop();
    const answers = await dynsec(broker, [
      { command: 'createRole', rolename: 'device-ghost' },
      { command: 'createClient', username: 'ghost', password: 'ghost-password', textdescription: 'managed by the smart-community gateway', roles: [{ rolename: 'device-ghost' }] },
      { command: 'deleteClient', username: 'door-c' },
    ]);
    expect(answers.map((a) => a.error)).toStrictEqual([undefined, undefined, undefined]);
    await start();
    const after = await dynsec(broker, [{ command: 'getClient', username: 'ghost' }, { command: 'getRole', rolename: 'device-ghost' }, { command: 'getClient', username: 'door-a' }]);
    expect(after.map((a) => a.error)).toStrictEqual(['Client not found', 'Role not found', undefined]);
    const metrics = (await gw.api('GET', '/metrics', undefined, null)).body as string;
    expect(sumCounter(metrics, 'gateway_broker_accounts_missing')).toBe(1);
    expect(metrics).toContain('gateway_broker_accounts_missing{kind="device"} 1');
  });

  it('gives a device whose account went missing a new one with new credentials', async () => {
    await expect(connectMqtt(broker.url, { username: 'door-c', password: 'anything', protocolVersion: 5 })).rejects.toMatchObject({ code: 135 });
    const issued = await gw.api('POST', '/api/devices/door-c/credentials');
    expect(issued.status).toBe(200);
    expect(issued.body.mqtt.username).toBe('door-c');
    const door = await connectDevice(broker, issued.body.mqtt as Creds, `sc/${SITE}/access/door-c/status`);
    clients.push(door);
    await door.publishAsync(`sc/${SITE}/access/door-c/telemetry`, JSON.stringify({ doorOpen: false }), { qos: 1 });
    await eventually(async () => (await count(influx, DB, `SELECT count(doorOpen) FROM access WHERE device = 'door-c'`)) === 1);
    expect((await gw.api('GET', '/metrics', undefined, null)).body).toContain('gateway_broker_accounts_missing{kind="device"} 0');
  });

  it('answers 503 and registers nothing while the broker is away, and is not ready', async () => {
    await broker.stop();
    await eventually(async () => (await gw.api('GET', '/ready', undefined, null)).status === 503);
    const res = await gw.api('POST', '/api/devices', { id: 'lamp-late', kind: 'lighting', site: SITE, zone: 'b1' });
    expect(res.status).toBe(503);
    expect(res.body).toStrictEqual({ error: 'broker_unavailable', message: 'device lamp-late was not registered: the link to the MQTT broker is down; try again' });
    expect((await gw.api('GET', '/api/devices/lamp-late')).status).toBe(404);
  });
});

describe('the PUBACK to the broker', () => {
  let broker: MosquittoProcess;
  beforeAll(async () => {
    broker = await startMosquittoDynsec(ADMIN);
    // The test's publisher: the gateway's own rights are given by its account sync, which this test leaves out.
    await dynsec(broker, [
      { command: 'createRole', rolename: 'pub', acls: [{ acltype: 'publishClientSend', topic: 'sc/#', allow: true }] },
      { command: 'createClient', username: 'pub', password: 'pub-password', roles: [{ rolename: 'pub' }] },
    ]);
  });
  afterAll(async () => broker?.stop());

  it('waits until the message is safe: one still in hand when the link drops is sent again', async () => {
    const seen: string[] = [];
    let safe: Promise<void> = new Promise<void>(() => undefined); // the first delivery never becomes safe
    const origin = { site: SITE, kind: 'energy' as const, device: 'm-1', zone: 'b1' };
    const link = new ExternalBroker({
      config: { url: broker.url, ...ADMIN, clientId: 'puback-test', sessionExpirySec: 60, receiveMaximum: 10, accounts: 'none', accountTimeoutMs: 1000 },
      unusedPorts: { port: 0, wsPort: 0 },
      topics: new Topics('sc'),
      log: createLogger('silent'),
      metrics: new Metrics(),
      suffixes: ['telemetry'],
      ingest: (_o, _topic, _suffix, payload) => {
        seen.push(payload.toString());
        const result = { accepted: true, safe };
        safe = Promise.resolve();
        return result;
      },
      resolveTopic: () => ({ origin, prefix: `sc/${SITE}/energy/m-1/` }),
      unknownDevice: () => undefined,
      failures: new Failures(new Metrics(), createLogger('silent')),
    });
    await link.start();
    try {
      const pub = await connectMqtt(broker.url, { username: 'pub', password: 'pub-password', protocolVersion: 5 });
      await pub.publishAsync(`sc/${SITE}/energy/m-1/telemetry`, '{"energyKwh":1}', { qos: 1 });
      await pub.endAsync();
      await eventually(() => seen.length === 1);
      // Dropped as by a crash: no PUBACK went out, so the broker sends it again on the next connection.
      (link as unknown as { client: MqttClient }).client.stream.destroy();
      await eventually(() => seen.length === 2, 5000);
      expect(seen).toStrictEqual(['{"energyKwh":1}', '{"energyKwh":1}']);
      // Acknowledged the second time: a third connection brings nothing.
      await sleep(300);
      (link as unknown as { client: MqttClient }).client.stream.destroy();
      await sleep(1500);
      expect(seen).toHaveLength(2);
    } finally {
      await link.stop();
    }
  });
});

describe('ingest workers sharing the load of one Mosquitto with a primary', () => {
  const DB = 'external_shared';
  const DEVICES = 20;
  const PER_DEVICE = 100; // 97 telemetry and 3 door_forced events
  let influx: InfluxServer;
  let broker: MosquittoProcess;
  let primary: TestGateway;
  let rulesDir: string;
  const workers: TestWorker[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    [influx, broker] = await Promise.all([startInflux(), startMosquittoDynsec(ADMIN, ['max_queued_messages 100000'])]);
    rulesDir = await mkdtemp(join(tmpdir(), 'external-rules-'));
    await writeFile(
      join(rulesDir, 'forced.yaml'),
      `- id: forced-thrice
  match: { kind: access }
  when: { event: door_forced, count: 3, within: 1m }
  alarm: { type: door_forced_repeatedly, severity: major, message: "{device} forced 3 times" }
`,
    );
    primary = await startGateway({ ...brokerEnv(broker, influx, DB, 'gw-primary'), STORE_TELEMETRY: 'false', RULES_DIR: rulesDir });
    const workerEnv = (id: string) => ({
      ...brokerEnv(broker, influx, DB, id),
      BROKER_SHARE_GROUP: 'ingest',
      PRIMARY_URL: `http://127.0.0.1:${primary.httpPort}`,
    });
    // A worker needs no dynsec admin: an account with the `gateway` role the primary made is enough.
    const made = await dynsec(broker, [{ command: 'createClient', username: 'ingest', password: 'ingest-password', roles: [{ rolename: 'gateway' }] }]);
    expect(made[0].error).toBeUndefined();
    workers.push(
      await startWorker(workerEnv('gw-ingest-1')),
      await startWorker({ ...workerEnv('gw-ingest-2'), BROKER_USERNAME: 'ingest', BROKER_PASSWORD: 'ingest-password' }),
    );
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    for (const w of workers) await w.stop();
    await primary?.stop();
    await broker?.stop();
    await influx?.stop();
    if (rulesDir) await rm(rulesDir, { recursive: true, force: true });
  });

  it('stores each of 2,000 QoS 1 messages from 20 devices once, split between the workers, and raises each device\'s count rule once', async () => {
    const ids = Array.from({ length: DEVICES }, (_, i) => `door-${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      const creds = (await primary.register(id, 'access', SITE, `z-${id}`)) as Creds;
      clients.push(await connectDevice(broker, creds, `sc/${SITE}/access/${id}/status`));
    }
    const t0 = Date.now() - 50_000;
    const started = Date.now();
    await Promise.all(
      clients.map(async (client, d) => {
        const prefix = `sc/${SITE}/access/${ids[d]}/`;
        for (let i = 0; i < PER_DEVICE; i++) {
          const ts = t0 + i * 10;
          const body = i % 33 === 32 ? { type: 'door_forced', ts } : { batteryPct: i % 100, ts };
          await client.publishAsync(`${prefix}${'type' in body ? 'event' : 'telemetry'}`, JSON.stringify(body), { qos: 1 });
        }
      }),
    );
    const total = DEVICES * PER_DEVICE;
    const stored = async () => {
      const accepted = await Promise.all(workers.map((w) => w.counter('gateway_messages_accepted_total')));
      return accepted;
    };
    const accepted = await eventually(async () => {
      const a = await stored();
      return a[0] + a[1] === total ? a : undefined;
    }, 30_000);
    // Both workers took a share, and together exactly one store per message.
    expect(accepted[0]).toBeGreaterThan(0);
    expect(accepted[1]).toBeGreaterThan(0);
    expect(accepted[0] + accepted[1]).toBe(total);
    const primaryMetrics = (await primary.api('GET', '/metrics', undefined, null)).body as string;
    expect(sumCounter(primaryMetrics, 'gateway_messages_accepted_total')).toBe(total);
    // Every point in InfluxDB, per device, with the zone from the primary's registry.
    await eventually(async () => {
      const rows = await influx.query(`SELECT count(batteryPct) FROM access GROUP BY device`, DB);
      return rows.length === DEVICES && rows.every((r) => Number(r.count) === 97);
    }, 15_000);
    const events = await influx.query(`SELECT count("count") FROM events WHERE type = 'door_forced' GROUP BY device`, DB);
    expect(events.map((r) => Number(r.count))).toStrictEqual(Array(DEVICES).fill(3));
    expect((await influx.query(`SELECT batteryPct, zone FROM access WHERE device = 'door-07' LIMIT 1`, DB))[0]).toMatchObject({ zone: 'z-door-07' });
    // The rule state lives on the primary alone: each device's three events count together there.
    const alarms = await eventually(async () => {
      const res = (await primary.api('GET', '/api/alarms?type=door_forced_repeatedly')).body as Array<Record<string, any>>;
      return res.length === DEVICES ? res : undefined;
    });
    expect(alarms.map((a) => [a.device, a.count]).sort()).toStrictEqual(ids.map((id) => [id, 1]));
    expect(Date.now() - started).toBeLessThan(40_000);
  });

  it('shows a worker ready with its link up and the registry read, and only the system routes', async () => {
    const ready = await workers[0].get('/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ ready: true, broker: { listening: true }, stateStore: { usable: true } });
    expect((await workers[0].get('/api/devices')).status).toBe(404);
  });
});
