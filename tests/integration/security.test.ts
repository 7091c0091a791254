import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, nextMessage, startGateway, subscribeGranted, type TestGateway } from '../helpers/gateway.js';
import { mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js';

const SITE = 'maple-court';

describe('MQTT security (contract §3)', () => {
  let gw: TestGateway;
  let door: { username: string; password: string };
  let lamp: { username: string; password: string };
  let desk: { username: string; password: string };
  let otherDesk: { username: string; password: string };

  beforeAll(async () => {
    gw = await startGateway();
    door = await gw.register('door-1', 'access', SITE, 'b1');
    lamp = await gw.register('lamp-1', 'lighting', SITE, 'b1');
    desk = (await gw.api('POST', '/api/operators', { name: 'Desk', sites: [SITE] })).body.mqtt;
    otherDesk = (await gw.api('POST', '/api/operators', { name: 'Elsewhere', sites: ['oak-park'] })).body.mqtt;
  });
  afterAll(() => gw.stop());

  const refusals = async (what: string, reason: string) => {
    const text = (await gw.api('GET', '/metrics', undefined, null)).body as string;
    const line = text.split('\n').find((l) => l.startsWith(`gateway_mqtt_refused_total{reason="${reason}",what="${what}"}`));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  it('refuses a wrong password, and counts it', async () => {
    await expect(connectMqtt(gw.mqttUrl, { username: 'door-1', password: 'guess' })).rejects.toThrow(/Bad username or password/i);
    const pub = await mosquittoPub(gw.mqttPort, { username: 'door-1', password: 'guess' }, `sc/${SITE}/access/door-1/telemetry`, '{}');
    expect(pub.code).not.toBe(0);
    expect(await refusals('connect', 'bad_credentials')).toBeGreaterThanOrEqual(2);
  });

  it('refuses an anonymous client', async () => {
    await expect(connectMqtt(gw.mqttUrl)).rejects.toThrow(/Not authorized/i);
    const pub = await mosquittoPub(gw.mqttPort, {}, `sc/${SITE}/access/door-1/telemetry`, '{"locked":true}');
    expect(pub.code).not.toBe(0);
    expect(await refusals('connect', 'anonymous')).toBeGreaterThanOrEqual(2);
  });

  it('disconnects a device publishing under another device, and stores nothing of it', async () => {
    const client = await gw.connect(door);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(`sc/${SITE}/lighting/lamp-1/telemetry`, JSON.stringify({ on: true }), { qos: 1 });
    await closed;
    expect(await refusals('publish', 'foreign_topic')).toBe(1);
    expect(gw.gateway.metrics.value('gateway_messages_accepted_total', { kind: 'lighting', type: 'telemetry' })).toBe(0);
  });

  it('refuses a device subscribing outside its own cmd topic, and grants its own', async () => {
    const client = await gw.connect(door);
    const granted = await subscribeGranted(client, [`sc/${SITE}/access/door-1/cmd`, `sc/${SITE}/lighting/lamp-1/cmd`, `sc/${SITE}/#`]);
    expect(granted).toStrictEqual([0, 128, 128]);
    const sub = await mosquittoSub(gw.mqttPort, lamp, `sc/${SITE}/access/door-1/cmd`, { seconds: 2 });
    expect(sub.stderr).toMatch(/denied/i);
  });

  it('delivers a retained status only to those who may read it', async () => {
    const device = await gw.connect(door);
    await device.publishAsync(`sc/${SITE}/access/door-1/status`, 'online', { qos: 1, retain: true });
    // A retained payload that is not a status is refused and not kept: the last valid state stays.
    await device.publishAsync(`sc/${SITE}/access/door-1/status`, 'on fire', { qos: 1, retain: true });

    const allowed = await mosquittoSub(gw.mqttPort, desk, `sc/${SITE}/+/+/status`, { seconds: 3, count: 1 });
    expect(allowed.lines).toStrictEqual([`sc/${SITE}/access/door-1/status online`]);

    const foreign = await mosquittoSub(gw.mqttPort, otherDesk, `sc/${SITE}/+/+/status`, { seconds: 2 });
    expect(foreign.lines).toStrictEqual([]);
    const otherDevice = await mosquittoSub(gw.mqttPort, lamp, `sc/${SITE}/access/door-1/status`, { seconds: 2 });
    expect(otherDevice.lines).toStrictEqual([]);
    expect(await refusals('subscribe', 'foreign_filter')).toBeGreaterThanOrEqual(3);
  });

  it('refuses an operator that publishes', async () => {
    const op = await gw.connect(desk);
    const closed = new Promise<void>((resolve) => op.once('close', () => resolve()));
    op.publish(`sc/${SITE}/alarms/critical/fire/x`, '{}', { qos: 1 });
    await closed;
    expect(await refusals('publish', 'operator_publish')).toBe(1);
  });

  it('lets an operator follow rejections of its site live', async () => {
    const op = await gw.connect(desk);
    await op.subscribeAsync(`sc/${SITE}/gateway/rejected`);
    const device = await gw.connect(lamp);
    const got = nextMessage(op, (t) => t === `sc/${SITE}/gateway/rejected`);
    device.publish(`sc/${SITE}/lighting/lamp-1/telemetry`, JSON.stringify({ brightnessPct: 150 }));
    expect(JSON.parse((await got).payload.toString())).toStrictEqual({
      topic: `sc/${SITE}/lighting/lamp-1/telemetry`,
      device: 'lamp-1',
      reason: 'brightnessPct: must be at most 100',
    });
    await eventually(() => gw.gateway.metrics.value('gateway_messages_rejected_total', { kind: 'lighting' }) >= 1);
  });
});

describe('anonymous mode, turned on explicitly', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ MQTT_ALLOW_ANONYMOUS: 'true' });
    await gw.register('lamp-a', 'lighting', SITE, 'path');
  });
  afterAll(() => gw.stop());

  it('keeps only the status retained, never telemetry, events or refused payloads', async () => {
    const device = await gw.connect();
    const topic = (suffix: string) => `sc/${SITE}/lighting/lamp-a/${suffix}`;
    await device.publishAsync(topic('status'), 'online', { qos: 1, retain: true });
    await device.publishAsync(topic('telemetry'), JSON.stringify({ on: true }), { qos: 1, retain: true });
    await device.publishAsync(topic('event'), JSON.stringify({ type: 'lamp_failure' }), { qos: 1, retain: true });
    await device.publishAsync(topic('telemetry'), 'not json', { qos: 1, retain: true });
    // The device topics only: the gateway keeps its own definitions retained under sc/{site}/gateway/.
    const all = await mosquittoSub(gw.mqttPort, {}, `sc/${SITE}/lighting/#`, { seconds: 2 });
    expect(all.lines).toStrictEqual([`${topic('status')} online`]);
  });

  it('refuses an anonymous command to a device, and anything outside device topics', async () => {
    const device = await gw.connect();
    await device.subscribeAsync(`sc/${SITE}/lighting/lamp-a/cmd`);
    const received: string[] = [];
    device.on('message', (t) => received.push(t));
    for (const topic of [`sc/${SITE}/lighting/lamp-a/cmd`, `sc/${SITE}/alarms/critical/fire/x`]) {
      const intruder = await gw.connect();
      const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
      intruder.publish(topic, JSON.stringify({ id: '1', action: 'off' }), { qos: 1 });
      await closed;
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toStrictEqual([]);
  });

  it('refuses messages for a device that is not registered', async () => {
    const client = await gw.connect();
    await client.publishAsync(`sc/${SITE}/fire/ghost/telemetry`, JSON.stringify({ coPpm: 1 }), { qos: 1 });
    expect(gw.gateway.metrics.value('gateway_messages_accepted_total', { kind: 'fire', type: 'telemetry' })).toBe(0);
    expect(gw.gateway.metrics.value('gateway_messages_rejected_total', { kind: 'fire' })).toBe(1);
  });
});
