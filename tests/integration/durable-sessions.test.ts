import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, nextMessage, NO_INFLUX, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator } from '../helpers/operator.js';
import { registerOver, spawnGateway, type GatewayProcess } from '../helpers/process.js';

// contract §15 "Durable broker state": a real gateway stopped and started again on the same data dir.
const SITE = 'maple-court';
const DESK = 'security-desk-1';
const DOOR_RULE = `- id: door-forced
  match: { kind: access }
  when: { event: door_forced }
  alarm: { type: door_forced_alarm, severity: major, message: "Door {device} forced open" }
`;
const alarmTopic = (door: string) => `sc/${SITE}/alarms/major/door_forced_alarm/${door}`;

/**
 * Records every message a client receives from its creation: a session's queued messages follow the CONNACK at
 * once, often in the same read, so a listener added once `connect` resolved would miss them.
 */
const received = new WeakMap<MqttClient, Array<{ topic: string; payload: Buffer }>>();
function recording(client: MqttClient): MqttClient {
  const got: Array<{ topic: string; payload: Buffer }> = [];
  received.set(client, got);
  client.on('message', (topic, payload) => got.push({ topic, payload }));
  return client;
}

/** The alarm states (`''`: the retained alarm deleted) a recorded client received on `topic`, in order. */
function statesOf(client: MqttClient, topic: string): string[] {
  return (received.get(client) ?? [])
    .filter((m) => m.topic === topic)
    .map((m) => (m.payload.length === 0 ? '' : (JSON.parse(m.payload.toString()) as { state: string }).state));
}

describe('durable broker state across a gateway restart', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  let operator: { username: string; password: string };
  const doors: Record<string, { username: string; password: string }> = {};
  const clients: MqttClient[] = [];

  /** Stops the running gateway and starts another on the same data dir. */
  async function restart(): Promise<TestGateway> {
    await gw?.stop();
    gw = await startGateway({}, dataDir);
    return gw;
  }

  /** Whether the broker said it holds a session for each client [MQTT-3.2.2-2]. */
  const sessionPresent = new WeakMap<MqttClient, boolean>();

  function connect(opts: IClientOptions): Promise<MqttClient> {
    return new Promise((resolve, reject) => {
      const client = recording(mqtt.connect(gw!.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000, ...opts }));
      clients.push(client);
      client.once('connect', (connack) => {
        sessionPresent.set(client, connack.sessionPresent);
        resolve(client);
      });
      client.once('error', reject);
    });
  }

  /** The desk's persistent session: clean session off, a fixed client id. */
  const desk = () => connect({ ...operator, clientId: DESK, clean: false });

  /** Forces a door open: its rule raises an alarm; answers the alarm's id. */
  async function forceDoor(door: string): Promise<string> {
    const client = await connect({ ...doors[door], clientId: door });
    await client.publishAsync(`sc/${SITE}/access/${door}/event`, JSON.stringify({ type: 'door_forced' }), { qos: 1 });
    await client.endAsync();
    const alarm = await eventually(async () => ((await gw!.api('GET', `/api/alarms?site=${SITE}&state=open`)).body as Array<{ id: string; source: string }>).find((a) => a.source === door));
    return alarm.id;
  }

  /** The alarm states `client` received on `topic` since it connected, once `count` have come (bounded wait). */
  async function receive(client: MqttClient, topic: string, count: number): Promise<string[]> {
    await eventually(() => statesOf(client, topic).length >= count, 5000, 20);
    return statesOf(client, topic);
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-durable-'));
    await mkdir(join(dataDir, 'rules'), { recursive: true });
    await writeFile(join(dataDir, 'rules', 'door.yaml'), DOOR_RULE);
    gw = await startGateway({}, dataDir);
    for (const door of ['door-7', 'door-8', 'door-9']) doors[door] = await gw.register(door, 'access', SITE, 'gate');
    operator = (await createOperator(gw, 'desk', [SITE])).mqtt;
    // The desk subscribes once, at QoS 1, and goes away.
    const client = await desk();
    await client.subscribeAsync(`sc/${SITE}/alarms/#`, { qos: 1 });
    await client.endAsync();
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers what happened to an alarm while the desk was away, after a restart, without a new subscription', async () => {
    const id = await forceDoor('door-7');
    // Cleared while the desk is away: the gateway does not republish it at start, only the desk's queue holds it.
    expect((await gw!.api('POST', `/api/alarms/${id}/clear`, { note: 'closed again' })).status).toBe(200);
    await restart();
    const client = await desk();
    expect(sessionPresent.get(client)).toBe(true);
    // Raised, cleared (its final state), then its retained message deleted (an empty payload), in that order.
    expect(await receive(client, alarmTopic('door-7'), 3)).toStrictEqual(['active', 'cleared', '']);
    await client.endAsync();
  });

  it('delivers an alarm raised after a restart while the desk is still away', async () => {
    await restart();
    await forceDoor('door-8');
    const client = await desk();
    const got = await nextMessage(client, (topic) => topic === alarmTopic('door-8'));
    expect(JSON.parse(got.payload.toString())).toMatchObject({ type: 'door_forced_alarm', source: 'door-8', state: 'active' });
    await client.endAsync();
  });

  it("keeps a device's retained status over a restart", async () => {
    const door = await connect({ ...doors['door-9'], clientId: 'door-9' });
    await door.publishAsync(`sc/${SITE}/access/door-9/status`, 'online', { qos: 1, retain: true });
    await door.endAsync();
    await restart();
    const watcher = await connect({ ...operator, clientId: 'status-watcher' });
    const got = nextMessage(watcher, (topic) => topic === `sc/${SITE}/access/door-9/status`);
    await watcher.subscribeAsync(`sc/${SITE}/+/+/status`, { qos: 1 });
    const status = await got;
    expect({ payload: status.payload.toString(), retain: status.retain }).toStrictEqual({ payload: 'online', retain: true });
    await watcher.endAsync();
  });

  it("forgets a clean-session client's subscription at the restart", async () => {
    const clean = await connect({ ...operator, clientId: 'desk-clean', clean: true });
    await clean.subscribeAsync(`sc/${SITE}/alarms/#`, { qos: 1 });
    await clean.endAsync();
    await restart();
    // It comes back asking for its session: there is none [MQTT-3.2.2-3].
    const again = await connect({ ...operator, clientId: 'desk-clean', clean: false });
    expect(sessionPresent.get(again)).toBe(false);
    // Coming back with clean session off made it a persistent one: ended by a clean connection.
    await again.endAsync();
    await (await connect({ ...operator, clientId: 'desk-clean', clean: true })).endAsync();
  });

  it("refuses another operator's login with the desk's client id, leaving the desk's session as it was", async () => {
    const other = (await createOperator(gw!, 'intruder', [SITE])).mqtt;
    await expect(connectMqtt(gw!.mqttUrl, { ...other, clientId: DESK, clean: true })).rejects.toThrow(/identifier rejected/i);
    const client = await desk();
    expect(sessionPresent.get(client)).toBe(true);
    await client.endAsync();
  });
});

describe('durable broker state across a crash', () => {
  const ADMIN = 'durable-crash-admin-token-0123456789';
  let dataDir: string;
  let running: GatewayProcess | undefined;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-durable-crash-'));
    await mkdir(join(dataDir, 'rules'), { recursive: true });
    await writeFile(join(dataDir, 'rules', 'door.yaml'), DOOR_RULE);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await running?.terminate();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The QoS 1 messages queued in the state store, read as a second SQLite connection (WAL lets it read alongside). */
  const queuedOnDisk = () => {
    const db = new Database(join(dataDir, 'state.db'), { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM broker_outgoing').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const env = () => ({ DATA_DIR: dataDir, RULES_DIR: join(dataDir, 'rules'), ADMIN_TOKEN: ADMIN, INFLUX_URL: NO_INFLUX });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${running!.httpPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const mqttOf = async (opts: IClientOptions) => {
    const client = recording(mqtt.connect(`mqtt://127.0.0.1:${running!.mqttPort}`, { reconnectPeriod: 0, connectTimeout: 5000, ...opts }));
    clients.push(client);
    await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
    return client;
  };

  it('keeps the messages queued for a persistent session when the gateway is killed (SIGKILL)', async () => {
    running = await spawnGateway(env());
    const door = await registerOver(running, ADMIN, { id: 'door-7', kind: 'access', site: SITE, zone: 'gate' });
    const created = await api('POST', '/api/operators', { name: 'desk', sites: [SITE] });
    const operator = (JSON.parse(created.text) as { mqtt: { username: string; password: string } }).mqtt;
    const away = await mqttOf({ ...operator, clientId: DESK, clean: false });
    await away.subscribeAsync(`sc/${SITE}/alarms/#`, { qos: 1 });
    await away.endAsync();

    const device = await mqttOf({ ...door, clientId: 'door-7' });
    await device.publishAsync(`sc/${SITE}/access/door-7/event`, JSON.stringify({ type: 'door_forced' }), { qos: 1 });
    await device.endAsync();
    const alarms = async () => JSON.parse((await api('GET', `/api/alarms?site=${SITE}`)).text) as Array<{ id: string }>;
    const [alarm] = await eventually(async () => ((await alarms()).length > 0 ? await alarms() : undefined));
    expect((await api('POST', `/api/alarms/${alarm.id}/clear`, {})).status).toBe(200);
    // The raise, the final state and the deletion of the retained message wait in the desk's queue, on disk: the
    // queue is written at the end of the event loop's turn, so the metric (what is queued in memory) may run ahead.
    await eventually(async () => /^gateway_mqtt_queued_messages 3$/m.test((await api('GET', '/metrics')).text));
    await eventually(() => queuedOnDisk() === 3);
    await running.kill();

    running = await spawnGateway(env());
    const desk = await mqttOf({ ...operator, clientId: DESK, clean: false });
    await eventually(() => statesOf(desk, alarmTopic('door-7')).length >= 3, 5000, 20);
    expect(statesOf(desk, alarmTopic('door-7'))).toStrictEqual(['active', 'cleared', '']);
  });
});
