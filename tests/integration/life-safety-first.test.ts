/**
 * Contract §11 against a real gateway and real MQTT clients: a fire alarm is critical at once and waits for its
 * acknowledgement; a power room's mains loss folds the silent devices behind it into one alarm and one incident,
 * with a fire inside it kept apart; a silence keeps a zone's alarms off the topics until it ends, never a fire's.
 */
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator, retainedNow, watch } from '../helpers/operator.js';

const SITE = 'maple-court';
const CHILDREN = 300;

let gw: TestGateway;
let desk: Awaited<ReturnType<typeof createOperator>>;
let fire: MqttClient;
let power: MqttClient;

const event = (client: MqttClient, kind: string, device: string, type: string) =>
  client.publishAsync(`sc/${SITE}/${kind}/${device}/event`, JSON.stringify({ type }), { qos: 1 });
const alarmsOf = async (query: string) => (await gw.api('GET', `/api/alarms?${query}`)).body as any[];

beforeAll(async () => {
  gw = await startGateway({ RULES_DIR: join(import.meta.dirname, '../fixtures/rules-life-safety') });
  desk = await createOperator(gw, 'desk', [SITE], 'supervisor');
  fire = await gw.connect(await gw.register('fire-b1-f2-01', 'fire', SITE, 'b1-f2'));
  power = await gw.connect(await gw.register('power-b1', 'power', SITE, 'b1-power'));
}, 30_000);

afterAll(async () => {
  await gw?.stop();
});

describe('fire semantics', () => {
  it('raises the first fire alarm critical, keeps it retained as cleared and unacknowledged after a reset, and deletes it on acknowledgement', async () => {
    const w = await watch(gw, desk.mqtt, [`sc/${SITE}/alarms/#`]);
    await event(fire, 'fire', 'fire-b1-f2-01', 'fire_alarm');
    const [raised] = await w.take(1);
    expect(raised).toMatchObject({ topic: `sc/${SITE}/alarms/critical/fire_alarm/fire-b1-f2-01`, body: { severity: 'critical', state: 'active', acknowledged: false } });

    await event(fire, 'fire', 'fire-b1-f2-01', 'reset');
    const [cleared] = await w.take(1);
    expect(cleared.body).toMatchObject({ id: raised.body.id, state: 'cleared', acknowledged: false });
    const retained = await retainedNow(gw, desk.mqtt, [`sc/${SITE}/alarms/#`]);
    expect(retained.map((m) => [m.body.id, m.body.state, m.body.acknowledged])).toStrictEqual([[raised.body.id, 'cleared', false]]);

    const ack = await gw.api('POST', `/api/alarms/${raised.body.id}/ack`, { note: 'detector checked' }, desk.token);
    expect(ack).toMatchObject({ status: 200, body: { state: 'cleared', acknowledged: true, ackedBy: 'desk' } });
    await eventually(async () => (await retainedNow(gw, desk.mqtt, [`sc/${SITE}/alarms/#`])).length === 0, 5000);
    await w.client.endAsync();
  });
});

describe('a mains loss with 300 devices behind it, and a fire in the middle', () => {
  it('gives one incident whose alarm counts the silent devices, no alarm per device, and the fire as an incident of its own', async () => {
    // The devices the power room feeds, registered behind it, each connected and heard from once.
    const lamps: MqttClient[] = [];
    for (let i = 0; i < CHILDREN; i++) {
      const id = `lamp-b1-${i}`;
      const res = await gw.api('POST', '/api/devices', { id, kind: 'lighting', site: SITE, zone: `b1-f${(i % 10) + 1}`, parent: 'power-b1' });
      expect(res.status).toBe(201);
      const lamp = await connectMqtt(gw.mqttUrl, { ...res.body.mqtt, reconnectPeriod: 0 });
      await lamp.publishAsync(`sc/${SITE}/lighting/${id}/status`, 'online', { qos: 1 });
      lamps.push(lamp);
    }
    await event(power, 'power', 'power-b1', 'mains_loss');
    const mains = await eventually(async () => (await alarmsOf('type=mains_loss&state=active'))[0], 5000);
    // The power is gone: every connection behind it drops at once, without a word.
    for (const lamp of lamps) lamp.stream.destroy();
    await eventually(async () => (await gw.api('GET', `/api/alarms/${mains.id}`)).body.suppressed === CHILDREN, 15_000, 200);
    expect(await alarmsOf('type=device_silent')).toStrictEqual([]);

    await event(fire, 'fire', 'fire-b1-f2-01', 'fire_alarm');
    const fireAlarm = await eventually(async () => (await alarmsOf('type=fire_alarm&state=active'))[0], 5000);
    const incidents = (await gw.api('GET', `/api/incidents?state=open&site=${SITE}`)).body as any[];
    expect(incidents.map((i) => [i.lifeSafety, i.severity, i.alarms.length])).toStrictEqual([
      [true, 'critical', 1],
      [false, 'critical', 1],
    ]);
    expect(incidents[0].alarms).toStrictEqual([fireAlarm.id]);
    expect(incidents[1].alarmList[0]).toMatchObject({ id: mains.id, suppressed: CHILDREN });
    const retained = await retainedNow(gw, desk.mqtt, [`sc/${SITE}/incidents/#`]);
    expect(retained.map((m) => m.body.id).sort()).toStrictEqual(incidents.map((i) => i.id).sort());
  }, 60_000);

  it('lets the devices still silent raise their own alarms after their own wait once the power is back', async () => {
    await event(power, 'power', 'power-b1', 'mains_restored');
    await eventually(async () => (await alarmsOf('type=device_silent&state=active&limit=1000')).length === CHILDREN, 15_000, 250);
  }, 30_000);
});

describe('silences', () => {
  it("keeps a zone's alarms off the topics until the silence ends, then publishes them, and never hides a fire", async () => {
    const lamp = await gw.connect(await gw.register('lamp-b2-01', 'lighting', SITE, 'b2-f1'));
    const detector = await gw.connect(await gw.register('fire-b2-01', 'fire', SITE, 'b2-f1'));
    const w = await watch(gw, desk.mqtt, [`sc/${SITE}/alarms/+/lamp_failure/#`, `sc/${SITE}/alarms/+/fire_alarm/fire-b2-01`]);
    const to = new Date(Date.now() + 3000).toISOString();
    const made = await gw.api('POST', '/api/silences', { site: SITE, match: { zone: 'b2-f1' }, to, reason: 'relamping the lobby' }, desk.token);
    expect(made).toMatchObject({ status: 201, body: { state: 'active', createdBy: 'desk', reason: 'relamping the lobby' } });

    await event(lamp, 'lighting', 'lamp-b2-01', 'lamp_failure');
    const held = await eventually(async () => (await alarmsOf('type=lamp_failure'))[0], 5000);
    expect(held.silenced).toBe(made.body.id);
    await event(detector, 'fire', 'fire-b2-01', 'fire_alarm');
    const [fireSeen] = await w.take(1);
    expect(fireSeen.body).toMatchObject({ type: 'fire_alarm', severity: 'critical' });
    expect(fireSeen.body.silenced).toBeUndefined();

    const [published] = await w.take(1);
    expect(published.body).toMatchObject({ id: held.id, type: 'lamp_failure', state: 'active' });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(to));
    expect(published.body.silenced).toBeUndefined();
    expect((await gw.api('GET', `/api/silences?site=${SITE}`)).body[0]).toMatchObject({ id: made.body.id, state: 'ended' });
  }, 20_000);

  it('refuses a silence of a site the operator does not have, and one without a reason, naming the field', async () => {
    const to = new Date(Date.now() + 60_000).toISOString();
    expect((await gw.api('POST', '/api/silences', { site: 'oak-park', match: { zone: 'x' }, to, reason: 'r' }, desk.token)).status).toBe(403);
    const bad = await gw.api('POST', '/api/silences', { site: SITE, match: { zone: 'x' }, to, reason: ' ' }, desk.token);
    expect(bad).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^reason: /) } });
  });
});
