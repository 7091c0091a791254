import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const SITE = 'maple-court';
const DB = 'rules_test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the rule engine against a real gateway, MQTT clients and InfluxDB', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let dataDir: string;
  let rulesDir: string;
  let testStart: number;
  let lamp: MqttClient;
  const creds: Record<string, { username: string; password: string }> = {};
  const clients: Record<string, MqttClient> = {};

  const alarms = async (type: string) => (await gw.api('GET', `/api/alarms?type=${type}`)).body as Array<Record<string, any>>;
  const open = async (type: string) => (await alarms(type)).filter((a) => a.state !== 'cleared');
  const publish = (device: string, kind: string, suffix: string, body: unknown) =>
    clients[device].publishAsync(`sc/${SITE}/${kind}/${device}/${suffix}`, JSON.stringify(body), { qos: 1 });
  const start = async () => {
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, RULES_DIR: rulesDir }, dataDir);
  };

  beforeAll(async () => {
    influx = await startInflux();
    dataDir = await mkdtemp(join(tmpdir(), 'rules-gw-'));
    rulesDir = join(dataDir, 'rules');
    await cp('tests/fixtures/rules-live', rulesDir, { recursive: true });
    await start();
    for (const [id, kind] of [['fire-1', 'fire'], ['fire-2', 'fire'], ['door-1', 'access'], ['cam-1', 'camera'], ['fire-3', 'fire']] as const) {
      creds[id] = await gw.register(id, kind, SITE, 'b1-f1');
      clients[id] = await gw.connect(creds[id]);
    }
    // Not closed by gw.stop() before the gateway stops: connected until the gateway goes down, as a real lamp.
    creds['lamp-1'] = await gw.register('lamp-1', 'lighting', SITE, 'b1-f1');
    lamp = await connectMqtt(gw.mqttUrl, { ...creds['lamp-1'], reconnectPeriod: 0 });
    testStart = Date.now();
  });
  afterAll(async () => {
    await lamp?.endAsync(true);
    await gw?.stop();
    await influx?.stop();
  });

  it('raises nothing for a value exactly at the threshold, or above it for less than `for`', async () => {
    await publish('fire-1', 'fire', 'telemetry', { temperatureC: 50 });
    await sleep(1300);
    await publish('fire-1', 'fire', 'telemetry', { temperatureC: 55 });
    await sleep(500);
    await publish('fire-1', 'fire', 'telemetry', { temperatureC: 45 });
    await sleep(1000);
    expect(await alarms('temp_high')).toStrictEqual([]);
  });

  it('raises once when the value stays above the threshold for `for`, and clears when it falls back', async () => {
    const sent = Date.now();
    await publish('fire-1', 'fire', 'telemetry', { temperatureC: 51 });
    const [alarm] = await eventually(async () => ((await open('temp_high')).length === 1 ? open('temp_high') : undefined));
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    expect(alarm).toMatchObject({ site: SITE, type: 'temp_high', severity: 'major', state: 'active', source: 'fire-1', device: 'fire-1', zone: 'b1-f1', rule: 'temp-high', message: 'fire-1 at 51 °C in b1-f1', count: 1 });
    await publish('fire-1', 'fire', 'telemetry', { temperatureC: 52 });
    await sleep(300);
    expect(await open('temp_high')).toHaveLength(1);
    await publish('fire-1', 'fire', 'telemetry', { temperatureC: 30 });
    await eventually(async () => ((await open('temp_high')).length === 0 ? true : undefined));
    expect((await alarms('temp_high')).map((a) => a.state)).toStrictEqual(['cleared']);
  });

  it('raises nothing for N-1 events in the window, and raises on the Nth', async () => {
    await publish('door-1', 'access', 'event', { type: 'access_denied', method: 'card' });
    await publish('door-1', 'access', 'event', { type: 'access_denied', method: 'card' });
    await sleep(500);
    expect(await alarms('denied_repeated')).toStrictEqual([]);
    await publish('door-1', 'access', 'event', { type: 'access_denied', method: 'card' });
    await eventually(async () => ((await open('denied_repeated')).length === 1 ? true : undefined));
  });

  it('bumps count and lastSeen on a repeated event instead of making a second alarm', async () => {
    await publish('door-1', 'access', 'event', { type: 'tamper' });
    const [first] = await eventually(async () => ((await open('door_tamper')).length === 1 ? open('door_tamper') : undefined));
    await sleep(20);
    await publish('door-1', 'access', 'event', { type: 'tamper' });
    const [second] = await eventually(async () => {
      const list = await open('door_tamper');
      return list.length === 1 && list[0].count === 2 ? list : undefined;
    });
    expect(second.id).toBe(first.id);
    expect(Date.parse(second.lastSeen)).toBeGreaterThan(Date.parse(first.lastSeen));
  });

  it('raises on a rise of more than the amount within the window, and clears at the next reading that is not', async () => {
    await publish('fire-3', 'fire', 'telemetry', { temperatureC: 20 });
    await publish('fire-3', 'fire', 'telemetry', { temperatureC: 30 });
    await sleep(300);
    expect(await alarms('temp_rise')).toStrictEqual([]); // a rise of exactly 10 is not more than 10
    await publish('fire-3', 'fire', 'telemetry', { temperatureC: 31 });
    const [alarm] = await eventually(async () => ((await open('temp_rise')).length === 1 ? open('temp_rise') : undefined));
    expect(alarm).toMatchObject({ source: 'fire-3', value: 31, message: 'fire-3 rising, now 31 °C' });
    await sleep(5100); // the readings of the rise leave the window
    await publish('fire-3', 'fire', 'telemetry', { temperatureC: 31 });
    await eventually(async () => ((await open('temp_rise')).length === 0 ? true : undefined));
  });

  it('raises for a device silent for the `absent` duration and clears when it speaks again', async () => {
    await publish('cam-1', 'camera', 'telemetry', { fps: 25 });
    await sleep(1000);
    expect(await open('camera_silent')).toStrictEqual([]);
    await eventually(async () => ((await open('camera_silent')).length === 1 ? true : undefined), 5000);
    await publish('cam-1', 'camera', 'telemetry', { fps: 25 });
    await eventually(async () => ((await open('camera_silent')).length === 0 ? true : undefined));
  });

  it('refuses a broken rule file by file, rule id and field, and keeps the rules in force firing', async () => {
    const before = (await gw.api('GET', '/api/rules')).body;
    await writeFile(join(rulesDir, 'broken.yaml'), '- id: smoke-x\n  match: { kind: fire }\n  when: { telemetry: smokeObscurationPct, above: 10, for: "five minutes" }\n  alarm: { type: smoke, severity: major }\n');
    const res = await gw.api('POST', '/api/rules/reload');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    expect(res.body.message).toMatch(/broken\.yaml.*smoke-x.*when\.for/);
    expect((await gw.api('GET', '/api/rules')).body).toStrictEqual(before);
    await publish('fire-2', 'fire', 'telemetry', { temperatureC: 70 });
    await eventually(async () => ((await open('temp_high')).some((a) => a.source === 'fire-2') ? true : undefined));
    await rm(join(rulesDir, 'broken.yaml'));
  });

  it('finds in stored history, with the rule test, the alarms the live engine raised', async () => {
    const live = (await alarms('temp_high')).filter((a) => a.source === 'fire-1');
    expect(live).toHaveLength(1);
    const res = await gw.api('POST', '/api/rules/test', { id: 'temp-high', from: new Date(testStart).toISOString(), to: new Date().toISOString() });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ rule: 'temp-high', truncated: false });
    const fire1 = res.body.outcomes.filter((o: { source: string }) => o.source === 'fire-1');
    expect(fire1.map((o: { kind: string }) => o.kind)).toStrictEqual(['raised', 'cleared']);
    // The live alarm was raised by a timer a few ms after the replay's exact moment.
    expect(Math.abs(Date.parse(fire1[0].at) - Date.parse(live[0].firstSeen))).toBeLessThan(250);
    expect(Math.abs(Date.parse(fire1[1].at) - Date.parse(live[0].clearedAt))).toBeLessThan(250);
    expect(fire1[0]).toMatchObject({ value: 51, message: 'fire-1 at 51 °C in b1-f1' });
    const counted = await gw.api('POST', '/api/rules/test', { id: 'denied-repeated', from: new Date(testStart).toISOString(), to: new Date().toISOString() });
    expect(counted.body.outcomes.filter((o: { kind: string }) => o.kind === 'raised')).toHaveLength(1);
  });

  it('refuses a rule test without a rule, or with a broken one, naming the field', async () => {
    const range = { from: new Date(testStart).toISOString(), to: new Date().toISOString() };
    expect((await gw.api('POST', '/api/rules/test', range)).body).toStrictEqual({ error: 'validation_failed', message: 'body: give either id (a rule in force) or rule (a rule to try)' });
    const bad = await gw.api('POST', '/api/rules/test', { ...range, rule: { id: 'try', when: { telemetry: 'temperatureC', above: 'hot' }, alarm: { type: 't', severity: 'major' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/rule "try": when\.above: must be a number/);
  });

  it('keeps open alarms, open work orders and half-elapsed `for` and `absent` timers across a restart', async () => {
    const tamper = (await open('door_tamper'))[0];
    const order = (await gw.api('POST', '/api/workorders', { site: SITE, title: 'Fix the lobby door', category: 'access', priority: 'high' })).body;
    await lamp.publishAsync(`sc/${SITE}/lighting/lamp-1/telemetry`, JSON.stringify({ on: true }), { qos: 1 });
    const lampAt = Date.now();
    await publish('fire-1', 'fire', 'telemetry', { coPpm: 150 });
    const coAt = Date.now();
    await sleep(1500);
    await gw.stop();
    await start();
    const restartedAt = Date.now();
    // The lamp stays away: coming back online is a sign of life that would end its silence.
    for (const id of Object.keys(clients)) clients[id] = await gw.connect(creds[id]);
    await eventually(async () => ((await open('co_high')).length === 1 ? true : undefined), 6000, 50);
    const coRaised = Date.now();
    // Due 3 s after the reading, that is about 1.5 s after the restart; a fresh timer would take 3 s more.
    expect(coRaised - coAt).toBeGreaterThanOrEqual(2900);
    expect(coRaised - restartedAt).toBeLessThan(2500);
    await eventually(async () => ((await open('lamp_silent')).length === 1 ? true : undefined), 6000, 50);
    const lampRaised = Date.now();
    expect(lampRaised - lampAt).toBeGreaterThanOrEqual(3900);
    expect(lampRaised - restartedAt).toBeLessThan(3500);
    expect((await open('door_tamper')).map((a) => a.id)).toStrictEqual([tamper.id]);
    expect((await gw.api('GET', `/api/workorders/${order.id}`)).body).toMatchObject({ id: order.id, status: 'open', title: 'Fix the lobby door' });
  });
});
