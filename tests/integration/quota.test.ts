import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator, watch } from '../helpers/operator.js';

const SITE = 'maple-court';
/** A short quota so the test is short: 50 messages a second, bursts of 20. */
const RATE = 50;
const BURST = 20;

const FIRE_RULE = `
- id: fire-alarm
  match: { kind: fire }
  when: { event: fire_alarm, clearOn: { event: reset } }
  alarm: { type: fire_alarm, severity: critical, message: "Fire alarm from {device} in {zone}" }
`;

let gw: TestGateway;
let rulesDir: string;
let desk: Awaited<ReturnType<typeof watch>>;

beforeAll(async () => {
  rulesDir = await mkdtemp(join(tmpdir(), 'quota-rules-'));
  await writeFile(join(rulesDir, 'fire.yaml'), FIRE_RULE);
  // The repository's profiles: a zigbee2mqtt bridge's leak sensors.
  gw = await startGateway({ DEVICE_MAX_RATE: String(RATE), DEVICE_MAX_BURST: String(BURST), RULES_DIR: rulesDir, PROFILES_DIR: 'profiles' });
  const operator = await createOperator(gw, 'desk', [SITE]);
  desk = await watch(gw, operator.mqtt, [`sc/${SITE}/gateway/rejected`]);
});

afterAll(async () => {
  await gw?.stop();
  await rm(rulesDir, { recursive: true, force: true });
});

const accepted = (kind: string, type: string) => gw.gateway.metrics.value('gateway_messages_accepted_total', { kind, type });

/** Publishes `n` messages at once and resolves once the client has written them all. */
async function burst(client: MqttClient, topic: string, n: number, body: (i: number) => unknown, qos: 0 | 1 = 0): Promise<number[]> {
  const acks: number[] = [];
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      client.publishAsync(topic, JSON.stringify(body(i)), { qos }).then(() => {
        acks.push(Date.now());
      }),
    ),
  );
  return acks;
}

describe('the per-device quota', () => {
  it("refuses a flooding device's QoS 0 excess with rate_limited, raises one device_flooding, and still passes its fire alarm", async () => {
    const fire = await gw.connect(await gw.register('fire-9', 'fire', SITE, 'b1-f3'));
    const calm = await gw.connect(await gw.register('env-1', 'environment', SITE, 'b1-f3'));
    const prefix = `sc/${SITE}/fire/fire-9`;

    // 1,000 readings at once: 100 a second over 10 s, twice the rate.
    await burst(fire, `${prefix}/telemetry`, 1000, (i) => ({ smokeObscurationPct: 0.4, temperatureC: 20 + (i % 10) / 10 }));
    // An ordinary event of it is over quota too; its own fire alarm right behind is not. Another device sends its
    // usual readings meanwhile.
    await fire.publishAsync(`${prefix}/event`, JSON.stringify({ type: 'fault', code: 'E1' }), { qos: 0 });
    await fire.publishAsync(`${prefix}/event`, JSON.stringify({ type: 'fire_alarm' }), { qos: 0 });
    await burst(calm, `sc/${SITE}/environment/env-1/telemetry`, 5, (i) => ({ temperatureC: 20 + i }));

    const fireAlarm = await eventually(async () => {
      const res = await gw.api('GET', `/api/alarms?site=${SITE}&type=fire_alarm`);
      return res.body.find((a: { source: string }) => a.source === 'fire-9');
    }, 5000, 50);
    expect(fireAlarm).toMatchObject({ type: 'fire_alarm', severity: 'critical', state: 'active', device: 'fire-9' });

    const flooding = await eventually(async () => {
      const list = (await gw.api('GET', `/api/alarms?site=${SITE}&type=device_flooding`)).body;
      return list.length > 0 && list;
    }, 5000, 50);
    expect(flooding).toHaveLength(1);
    expect(flooding[0]).toMatchObject({
      type: 'device_flooding',
      severity: 'warning',
      state: 'active',
      source: 'fire-9',
      device: 'fire-9',
      kind: 'fire',
      zone: 'b1-f3',
      rule: 'quota',
    });
    // In Chinese first (no site file), and in English beside it, with the same rate.
    const said = /^fire-9 sends ([\d.]+) messages a second, more than its quota of 50$/.exec(flooding[0].messages.en);
    expect(Number(said?.[1])).toBeGreaterThan(RATE);
    expect(flooding[0].message).toBe(`fire-9 每秒发送 ${said?.[1]} 条消息，超过其配额 50 条`);
    expect(flooding[0].messages['zh-CN']).toBe(flooding[0].message);

    // The excess is refused and counted, and told once on the rejected topic.
    const refused = gw.gateway.metrics.value('gateway_quota_messages_total', { outcome: 'refused' });
    expect(refused).toBeGreaterThan(900);
    expect(accepted('fire', 'telemetry') + refused).toBe(1001);
    expect(accepted('fire', 'event')).toBe(1);
    await eventually(() => desk.seen.length >= 1, 3000, 20);
    await new Promise((r) => setTimeout(r, 200));
    expect(desk.seen.map((m) => m.body)).toStrictEqual([
      {
        topic: `${prefix}/telemetry`,
        device: 'fire-9',
        reason: `rate_limited: more than ${RATE} messages a second (bursts of ${BURST}); QoS 0 messages over it are refused`,
      },
    ]);

    // The other device is not affected.
    await eventually(() => accepted('environment', 'telemetry') === 5, 3000, 20);
    const metrics = await gw.api('GET', '/metrics');
    expect(metrics.body).toContain(`gateway_quota_messages_total{outcome="refused"} ${refused}`);
  });

  it('gives each device behind a bridge its own quota', async () => {
    const res = await gw.api('POST', '/api/bridges', { id: 'z2m-west', site: SITE, profile: 'zigbee2mqtt-aqara-sjcgq11lm' });
    expect(res.status).toBe(201);
    for (const id of ['leak-a', 'leak-b']) {
      const r = await gw.api('POST', '/api/devices', { id, kind: 'environment', site: SITE, zone: 'b2-f1', profile: 'zigbee2mqtt-aqara-sjcgq11lm', bridge: 'z2m-west' });
      expect(r.status).toBe(201);
    }
    const bridge = await gw.connect(res.body.mqtt);
    desk.seen.splice(0);
    const before = accepted('environment', 'telemetry');
    const refusedBefore = gw.gateway.metrics.value('gateway_quota_messages_total', { outcome: 'refused' });
    const refused = () => gw.gateway.metrics.value('gateway_quota_messages_total', { outcome: 'refused' }) - refusedBefore;
    await burst(bridge, 'zigbee2mqtt/leak-a', 600, () => ({ water_leak: false, battery: 90 }));
    await burst(bridge, 'zigbee2mqtt/leak-b', 10, () => ({ water_leak: false, battery: 91 }));
    await eventually(() => accepted('environment', 'telemetry') - before + refused() === 610, 3000, 20);
    expect(refused()).toBeGreaterThan(500);
    // Only leak-a's messages were refused: leak-b, behind the same connection, has its own bucket.
    await eventually(() => desk.seen.length >= 1, 3000, 20);
    await new Promise((r) => setTimeout(r, 200));
    expect(desk.seen.map((m) => [m.body.device, m.body.reason.split(':')[0]])).toStrictEqual([['leak-a', 'rate_limited']]);
    const flooding = await eventually(async () => {
      const list = (await gw.api('GET', `/api/alarms?site=${SITE}&type=device_flooding`)).body;
      return list.some((a: { source: string }) => a.source === 'leak-a') && list;
    });
    expect(flooding.map((a: { source: string }) => a.source).sort()).toStrictEqual(['fire-9', 'leak-a']);
  });

  it('slows a QoS 1 device over its quota and acknowledges and stores every message', async () => {
    const water = await gw.connect(await gw.register('pump-1', 'water', SITE, 'b1-b2'));
    const started = Date.now();
    const acks = await burst(water, `sc/${SITE}/water/pump-1/telemetry`, 200, (i) => ({ levelPct: i % 100 }), 1);
    expect(acks).toHaveLength(200);
    expect(accepted('water', 'telemetry')).toBe(200);
    // The burst at once, the rest one token at a time: (200 - 20) / 50 a second = 3.6 s.
    const spread = Math.max(...acks) - started;
    expect(spread).toBeGreaterThan(((200 - BURST) / RATE) * 1000 - 500);
    expect(acks.filter((t) => t - started < 1000).length).toBeLessThan(100);
    expect(gw.gateway.metrics.value('gateway_quota_messages_total', { outcome: 'delayed' })).toBeGreaterThanOrEqual(150);
    // 20 a second over 10 s is within the rate: slowed, not flooding.
    const sources = (await gw.api('GET', `/api/alarms?site=${SITE}&type=device_flooding`)).body.map((a: { source: string }) => a.source);
    expect(sources).not.toContain('pump-1');
  }, 15_000);

  it('clears at restart the flooding alarm of a run that ended: its quota starts afresh', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'quota-restart-'));
    const env = { DEVICE_MAX_RATE: String(RATE), DEVICE_MAX_BURST: String(BURST) };
    try {
      let g = await startGateway(env, dir);
      const meter = await g.connect(await g.register('meter-7', 'energy', SITE, 'b1-b1'));
      await burst(meter, `sc/${SITE}/energy/meter-7/telemetry`, 1000, (i) => ({ energyKwh: i }));
      const open = async () => (await g.api('GET', `/api/alarms?site=${SITE}&type=device_flooding&state=open`)).body;
      expect(await eventually(async () => (await open()).length === 1)).toBe(true);
      await g.stop();
      g = await startGateway(env, dir);
      try {
        expect(await open()).toStrictEqual([]);
        const [cleared] = (await g.api('GET', `/api/alarms?site=${SITE}&type=device_flooding`)).body;
        expect(cleared).toMatchObject({ source: 'meter-7', state: 'cleared', clearedBy: 'rule:quota' });
      } finally {
        await g.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
