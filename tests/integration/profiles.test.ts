import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { ACME_LIFT_YAML } from '../unit/profiles/fixtures.js';

const SITE = 'maple-court';
const DB = 'profiles_test';

interface Sample {
  topic: string;
  payload: unknown;
  expected: { device: string; telemetry?: Record<string, unknown>; events: Array<{ type: string }> };
}

/** Publishes on a topic the client may not use: the broker refuses it and closes the connection. */
async function refusedPublish(client: MqttClient, topic: string, payload: string): Promise<void> {
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  client.publish(topic, payload, { qos: 1 });
  await closed;
  client.end(true);
}

describe('device profiles and bridges against a real gateway, MQTT clients and InfluxDB', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let dir: string;
  const rejected: Array<{ device?: string; reason: string }> = [];

  beforeAll(async () => {
    influx = await startInflux();
    dir = await mkdtemp(join(tmpdir(), 'profiles-'));
    await cp('profiles', dir, { recursive: true });
    await writeFile(join(dir, 'acme.yaml'), ACME_LIFT_YAML);
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, PROFILES_DIR: dir, RULES_DIR: resolve('rules') });
    gw.gateway.bus.on('messageRejected', { name: 'test' }, (r) => {
      rejected.push({ device: r.device, reason: r.reason });
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
  });

  const rows = async (q: string) => influx.query(q, DB);

  it('lists the shipped profiles with their kind and source', async () => {
    const { body } = await gw.api('GET', '/api/profiles');
    const ids = body.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining(['acme-lift-ld200', 'zigbee2mqtt-aqara-sjcgq11lm', 'eastron-sdm120-modbus']));
    expect(body.find((p: { id: string }) => p.id === 'eastron-sdm120-modbus')).toMatchObject({ kind: 'energy', source: 'modbus' });
  });

  describe('a device publishing its vendor JSON', () => {
    let lift: MqttClient;
    let creds: { username: string; password: string };

    beforeAll(async () => {
      const res = await gw.api('POST', '/api/devices', { id: 'lift-7', kind: 'lift', site: SITE, zone: 'b7-lift', profile: 'acme-lift-ld200' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ profile: 'acme-lift-ld200', mqtt: { username: 'lift-7' } });
      creds = res.body.mqtt;
      lift = await gw.connect(creds);
    });

    it('stores the mapped reading as a native one, at the vendor time, and the device is online', async () => {
      const time = Math.floor(Date.now() / 1000) - 60;
      await lift.publishAsync('acme/lift-7/status', JSON.stringify({ time, data: { curFloor: 5, run: 1, load: 425, dir: 'U', fw: 'x' } }), { qos: 1 });
      const [row] = await eventually(async () => {
        const r = await rows(`SELECT * FROM "lift" WHERE "device" = 'lift-7'`);
        return r.length > 0 ? r : undefined;
      });
      expect(row).toMatchObject({ floor: 5, moving: true, loadPct: 42.5, direction: 'up', zone: 'b7-lift', site: SITE });
      expect(new Date(row.time as string).getTime()).toBe(time * 1000);
      expect((await gw.api('GET', '/api/devices/lift-7')).body).toMatchObject({ online: true, profile: 'acme-lift-ld200' });
    });

    it('raises the life-safety alarm from the mapped event, with the detail the profile maps', async () => {
      const trapped = JSON.stringify({ data: { curFloor: 3, run: 0, load: 100, dir: 'S' }, alarm: { code: 21 } });
      await lift.publishAsync('acme/lift-7/alarm', trapped, { qos: 1 });
      const alarm = await eventually(async () => (await gw.api('GET', `/api/alarms?site=${SITE}`)).body.find((a: any) => a.type === 'passenger_trapped'));
      expect(alarm).toMatchObject({ severity: 'critical', source: 'lift-7', device: 'lift-7' });
      const events = await eventually(async () => {
        const r = await rows(`SELECT * FROM "events" WHERE "device" = 'lift-7' AND "type" = 'passenger_trapped'`);
        return r.length > 0 ? r : undefined;
      });
      expect(events[0]).toMatchObject({ floor: 3 });
    });

    it('refuses a message naming the profile and the mapping, storing nothing of it', async () => {
      rejected.length = 0;
      await lift.publishAsync('acme/lift-7/status', JSON.stringify({ data: { curFloor: 4, dir: 'X' } }), { qos: 1 });
      await lift.publishAsync('acme/lift-7/status', JSON.stringify({ data: { curFloor: 4, load: 1800 } }), { qos: 1 });
      await lift.publishAsync('acme/lift-7/status', JSON.stringify({ fw: '1.2' }), { qos: 1 });
      await eventually(() => rejected.length >= 3 || undefined);
      expect(rejected.map((r) => r.reason)).toStrictEqual([
        expect.stringMatching(/^profile acme-lift-ld200: direction: .*"X".*map/),
        expect.stringMatching(/^profile acme-lift-ld200: loadPct: .*180/),
        expect.stringMatching(/^profile acme-lift-ld200: none of the mapped paths is present/),
      ]);
      expect(await rows(`SELECT * FROM "lift" WHERE "device" = 'lift-7' AND "floor" = 4`)).toStrictEqual([]);
    });

    it("may publish only on its profile's topics as itself: not another device's, not the native ones", async () => {
      const refused = () => gw.gateway.metrics.value('gateway_mqtt_refused_total', { what: 'publish', reason: 'foreign_topic' });
      const before = refused();
      await refusedPublish(await gw.connect(creds), 'acme/lift-8/status', JSON.stringify({ data: { curFloor: 9 } }));
      await refusedPublish(await gw.connect(creds), `sc/${SITE}/lift/lift-7/telemetry`, JSON.stringify({ floor: 9 }));
      expect(refused()).toBe(before + 2);
      expect(await rows(`SELECT * FROM "lift" WHERE "floor" = 9`)).toStrictEqual([]);
    });

    it("takes commands the vendor's way: its topic and payload, to itself only", async () => {
      expect((await lift.subscribeAsync('acme/lift-7/cmd', { qos: 1 })).map((g) => g.qos)).toStrictEqual([1]);
      await expect(lift.subscribeAsync('acme/lift-8/cmd', { qos: 1 })).rejects.toThrow(/Subscribe error/);
      const got = new Promise<{ topic: string; body: unknown }>((r) => lift.once('message', (topic, p) => r({ topic, body: JSON.parse(p.toString()) })));
      const res = await gw.api('POST', '/api/devices/lift-7/commands', { action: 'return_to_floor', params: { floor: 1 } });
      expect(res).toMatchObject({ status: 200, body: { ok: true } });
      expect(await got).toStrictEqual({ topic: 'acme/lift-7/cmd', body: { op: 'goto', floor: 1 } });
      const bad = await gw.api('POST', '/api/devices/lift-7/commands', { action: 'open_doors' });
      expect(bad).toMatchObject({ status: 400, body: { message: 'action: profile acme-lift-ld200: no command "open_doors" (return_to_floor)' } });
      const missing = await gw.api('POST', '/api/devices/lift-7/commands', { action: 'return_to_floor' });
      expect(missing.body.message).toMatch(/^action: profile acme-lift-ld200: command return_to_floor: .*floor/);
      const closed = new Promise<void>((r) => lift.once('close', () => r()));
      lift.end();
      await closed;
      const away = await gw.api('POST', '/api/devices/lift-7/commands', { action: 'return_to_floor', params: { floor: 2 } });
      expect(away.body).toMatchObject({ ok: false, error: 'lift-7 is not connected' });
      lift = await gw.connect(creds);
    });

    it('refuses a registration whose profile is missing, of another kind, or needs a bridge, naming the field', async () => {
      const reg = (body: object) => gw.api('POST', '/api/devices', { id: 'x-1', kind: 'lift', site: SITE, zone: 'z', ...body });
      expect((await reg({ profile: 'nope' })).body.message).toMatch(/^profile: no profile "nope" is loaded/);
      expect((await reg({ profile: 'zigbee2mqtt-aqara-sjcgq11lm' })).body.message).toMatch(/^profile: profile zigbee2mqtt-aqara-sjcgq11lm maps kind environment, not lift/);
      expect((await reg({ profile: 'acme-lift-ld200', modbus: { host: '127.0.0.1', unitId: 1 } })).body.message).toMatch(/^modbus: profile acme-lift-ld200 is an MQTT profile/);
      expect((await reg({ kind: 'energy', profile: 'eastron-sdm120-modbus' })).body.message).toMatch(/^modbus: required/);
    });
  });

  describe('shipped MQTT profiles map their documented sample payloads', async () => {
    const files = (await readdir('tests/fixtures/profiles')).filter((f) => f.endsWith('.sample.json'));
    const samples = await Promise.all(files.map(async (f) => ({ id: f.replace('.sample.json', ''), sample: JSON.parse(await readFile(join('tests/fixtures/profiles', f), 'utf8')) as Sample })));
    const mqtt = samples.filter((s) => s.sample.topic !== undefined);

    it.each(mqtt)('$id', async ({ id, sample }) => {
      const profile = (await gw.api('GET', '/api/profiles')).body.find((p: { id: string }) => p.id === id);
      const deviceFrom = Boolean(profile.definition.deviceFrom);
      const bridgeId = `br-${id}`.slice(0, 60).replace(/[^a-z0-9-]/g, '-');
      const bridge = await gw.api('POST', '/api/bridges', { id: bridgeId, site: SITE, profile: id });
      expect(bridge.status).toBe(201);
      const name = sample.expected.device;
      const deviceId = `d-${id}`.slice(0, 60).replace(/[^a-z0-9-]/g, '-');
      const reg = await gw.api('POST', '/api/devices', { id: deviceId, kind: profile.kind, site: SITE, zone: 'z1', profile: id, bridge: bridgeId, externalId: name });
      expect(reg.status, JSON.stringify(reg.body)).toBe(201);
      const client = await gw.connect(bridge.body.mqtt);
      await client.publishAsync(sample.topic, JSON.stringify(sample.payload), { qos: 1 });
      if (sample.expected.telemetry) {
        const [row] = await eventually(async () => {
          const r = await rows(`SELECT * FROM "${profile.kind}" WHERE "device" = '${deviceId}'`);
          return r.length > 0 ? r : undefined;
        });
        expect(row, deviceFrom ? 'named by the payload' : 'named by the topic').toMatchObject(sample.expected.telemetry);
      }
      const events = await rows(`SELECT * FROM "events" WHERE "device" = '${deviceId}'`);
      await eventually(async () => (await rows(`SELECT * FROM "events" WHERE "device" = '${deviceId}'`)).length >= sample.expected.events.length || undefined);
      expect(events.length === 0 ? [] : events.map((e) => e.type)).toEqual(expect.arrayContaining(sample.expected.events.map((e) => e.type)));
    });
  });

  describe('a bridge speaking for 1,000 devices', () => {
    let bridge: MqttClient;
    let creds: { username: string; password: string };
    const N = 1000;

    beforeAll(async () => {
      const res = await gw.api('POST', '/api/bridges', { id: 'z2m-east', site: SITE, profile: 'zigbee2mqtt-aqara-sjcgq11lm' });
      expect(res.status).toBe(201);
      for (let i = 0; i < N; i++) {
        const r = await gw.api('POST', '/api/devices', {
          id: `leak-${i}`,
          kind: 'environment',
          site: SITE,
          zone: `b${i % 10}-f1`,
          profile: 'zigbee2mqtt-aqara-sjcgq11lm',
          bridge: 'z2m-east',
          // Half are named by their zigbee friendly name, which is not a valid device id.
          ...(i % 2 === 0 ? { externalId: `Leak Sensor ${i}` } : {}),
        });
        if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      }
      creds = res.body.mqtt;
      bridge = await gw.connect(creds);
    }, 120_000);

    it('stores each device on its own and turns each online, over one connection', async () => {
      for (let i = 0; i < N; i++) {
        const name = i % 2 === 0 ? `Leak Sensor ${i}` : `leak-${i}`;
        bridge.publish(`zigbee2mqtt/${name}`, JSON.stringify({ water_leak: i === 7, battery: 90 }), { qos: 1 });
      }
      await eventually(async () => {
        const [r] = await rows(`SELECT count("waterLeak") FROM "environment" WHERE "device" =~ /^leak-/`);
        return Number(r?.count) === N || undefined;
      }, 30_000);
      const series = await rows(`SHOW TAG VALUES FROM "environment" WITH KEY = "device" WHERE "device" =~ /^leak-/`);
      expect(series).toHaveLength(N);
      const devices = (await gw.api('GET', `/api/devices?site=${SITE}&kind=environment`)).body.filter((d: any) => d.bridge === 'z2m-east');
      expect(devices).toHaveLength(N);
      expect(devices.every((d: any) => d.online)).toBe(true);
      const [listed] = (await gw.api('GET', '/api/bridges')).body.filter((b: any) => b.id === 'z2m-east');
      expect(listed).toMatchObject({ site: SITE, profiles: ['zigbee2mqtt-aqara-sjcgq11lm'], connected: true });
      // The one that leaked raised its own alarm, on its own zone.
      const alarm = await eventually(async () => (await gw.api('GET', `/api/alarms?site=${SITE}`)).body.find((a: any) => a.type === 'water_leak' && a.source === 'leak-7'));
      expect(alarm).toMatchObject({ zone: 'b7-f1' });
    }, 60_000);

    it('refuses and counts a message for a device not registered to it, and stores nothing', async () => {
      const unknown = () => gw.gateway.metrics.value('gateway_bridge_unknown_devices_total', { bridge: 'z2m-east' });
      const before = unknown();
      rejected.length = 0;
      await bridge.publishAsync('zigbee2mqtt/stranger', JSON.stringify({ water_leak: false }), { qos: 1 });
      await bridge.publishAsync('zigbee2mqtt/leak-0', JSON.stringify({ water_leak: false }), { qos: 1 }); // leak-0 is known as "Leak Sensor 0"
      await eventually(() => unknown() >= before + 2 || undefined);
      expect(rejected[0]?.reason).toMatch(/^unknown_device: bridge z2m-east has no device "stranger" registered/);
      expect(await rows(`SELECT * FROM "environment" WHERE "device" = 'stranger'`)).toStrictEqual([]);
    });

    it("cannot publish outside its profile topics: the gateway's own are refused, the vendor gateway's own chatter dropped", async () => {
      const refused = (reason: string) => gw.gateway.metrics.value('gateway_mqtt_refused_total', { what: 'publish', reason });
      const before = refused('foreign_topic');
      await refusedPublish(await gw.connect(creds), `sc/${SITE}/environment/leak-1/telemetry`, JSON.stringify({ waterLeak: true }));
      expect(refused('foreign_topic')).toBe(before + 1);
      // zigbee2mqtt's own state, another profile's topic: taken and dropped, the connection stays.
      const chatter = refused('bridge_chatter');
      await bridge.publishAsync('zigbee2mqtt/bridge/state', JSON.stringify({ state: 'online' }), { qos: 1 });
      await bridge.publishAsync('acme/lift-7/status', JSON.stringify({ data: { curFloor: 1 } }), { qos: 1 });
      expect(refused('bridge_chatter')).toBe(chatter + 2);
      expect(bridge.connected).toBe(true);
      expect(await rows(`SELECT * FROM "environment" WHERE "device" = 'leak-1' AND "waterLeak" = true`)).toStrictEqual([]);
      expect(await rows(`SELECT * FROM "lift" WHERE "device" = 'lift-7' AND "floor" = 1`)).toStrictEqual([]);
    });

    it('speaks for its devices alone: their own credentials open no connection', async () => {
      const res = await gw.api('POST', '/api/devices/leak-1/credentials');
      await expect(gw.connect(res.body.mqtt, { reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad username or password/i);
    });

    it('is deleted only once no device is registered behind it', async () => {
      const res = await gw.api('DELETE', '/api/bridges/z2m-east');
      expect(res).toMatchObject({ status: 409, body: { message: 'bridge z2m-east still has 1000 devices registered behind it; delete them first' } });
    });
  });

  it('refuses a broken profile file on reload as a whole, naming file, profile and field; the old profiles go on', async () => {
    await writeFile(join(dir, 'broken.yaml'), '- id: broken-one\n  kind: lift\n  source: mqtt\n  topics: ["b/{device}"]\n  telemetry:\n    floor: { path: "$.f", scale: "x" }\n');
    const res = await gw.api('POST', '/api/profiles/reload');
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/broken\.yaml: profile "broken-one": telemetry\.floor\.scale/);
    const lift = await gw.connect((await gw.api('POST', '/api/devices', { id: 'lift-9', kind: 'lift', site: SITE, zone: 'b9', profile: 'acme-lift-ld200' })).body.mqtt);
    await lift.publishAsync('acme/lift-9/status', JSON.stringify({ data: { curFloor: 2 } }), { qos: 1 });
    await eventually(async () => (await rows(`SELECT * FROM "lift" WHERE "device" = 'lift-9'`)).length > 0 || undefined);
  });
});
