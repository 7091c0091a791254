import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, subscribeGranted, type TestGateway } from '../helpers/gateway.js';
import { mosquittoSub } from '../helpers/mosquitto.js';

const SITE = 'maple-court';
const NEW_SITE = 'elm-yard';
const topic = (site: string) => `sc/${site}/gateway/definitions`;

const SMOKE_RULE = `- id: smoke-high
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8, for: 30s }
  alarm: { type: smoke_high, severity: major, message: "Smoke at {device}" }
`;
const DOOR_RULE = `- id: door-forced
  description: { zh-CN: 门被强行打开, en: A door forced open }
  match: { kind: access }
  when: { event: door_forced }
  alarm:
    type: door_forced_alarm
    severity: critical
    message: { zh-CN: "门 {device} 被强行打开", en: "Door {device} forced open" }
    instructions: { zh-CN: 派保安到现场查看并调取录像。, en: Send a guard and look at the camera recording. }
`;

interface Received {
  topic: string;
  body: any;
  retain: boolean;
  qos: number;
}

/** Every message `client` receives from now on. */
function collect(client: MqttClient): Received[] {
  const got: Received[] = [];
  client.on('message', (t, payload, packet) => got.push({ topic: t, body: JSON.parse(payload.toString()), retain: packet.retain, qos: packet.qos }));
  return got;
}

/** Subscribes at QoS 1 and insists it was granted. */
async function subscribe(client: MqttClient, filter: string): Promise<void> {
  expect((await client.subscribeAsync(filter, { qos: 1 })).map((g) => g.qos)).toStrictEqual([1]);
}

describe('the definitions document, over HTTP and retained on MQTT (contract §14)', () => {
  let gw: TestGateway;
  let dataDir: string;
  let rulesDir: string;
  let desk: { id: string; token: string; mqtt: { username: string; password: string } };
  let yard: { id: string; token: string; mqtt: { username: string; password: string } };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'definitions-'));
    rulesDir = join(dataDir, 'rule-files');
    await mkdir(rulesDir);
    await writeFile(join(rulesDir, 'smoke.yaml'), SMOKE_RULE);
    gw = await startGateway({ RULES_DIR: rulesDir }, dataDir);
    desk = (await gw.api('POST', '/api/operators', { name: 'Desk', sites: [SITE] })).body;
    yard = (await gw.api('POST', '/api/operators', { name: 'Yard desk', sites: [NEW_SITE] })).body;
    await gw.register('smoke-1', 'fire', SITE, 'b1-f1');
  });

  afterAll(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers any operator with the kinds, severities, work-order table and the alarm types of the rules in force; 401 without a token', async () => {
    const res = await gw.api('GET', '/api/definitions', undefined, desk.token);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.kinds)).toStrictEqual(['access', 'lighting', 'parking', 'energy', 'fire', 'camera', 'lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste']);
    expect(res.body.kinds.fire.telemetry.smokeObscurationPct).toStrictEqual({ type: 'number', unit: '%', min: 0, max: 100, integer: false });
    expect(res.body.kinds.lift.telemetry.mode).toStrictEqual({ type: 'string', values: ['normal', 'inspection', 'fire', 'out_of_service'] });
    expect(res.body.kinds.lift.events.passenger_trapped).toStrictEqual({ details: { floor: { type: 'number', integer: true, required: false } } });
    expect(res.body.lifeSafetyEvents).toStrictEqual([
      { kind: 'fire', type: 'fire_alarm' },
      { kind: 'sos', type: 'call' },
      { kind: 'lift', type: 'passenger_trapped' },
      { kind: 'lift', type: 'alarm_button' },
    ]);
    expect(res.body.alarms.severities).toStrictEqual(['critical', 'major', 'minor', 'warning']);
    expect(res.body.workOrders.transitions.resolved).toStrictEqual(['closed', 'in_progress']);
    expect(res.body.alarms.types.map((t: { type: string; rule: string }) => [t.type, t.rule])).toStrictEqual([
      ['smoke_high', 'smoke-high'],
      ['workorder_overdue', 'workorder_overdue'],
      ['device_flooding', 'quota'],
    ]);
    expect(await gw.api('GET', '/api/definitions', undefined, null)).toStrictEqual({
      status: 401,
      body: { error: 'unauthorized', message: 'missing "Authorization: Bearer <token>" header' },
    });
    expect((await gw.api('GET', '/api/definitions', undefined, 'not-a-token')).status).toBe(401);
    const docs = (await gw.api('GET', '/docs/openapi.json', undefined, null)).body;
    expect(docs.paths['/api/definitions'].get.tags).toStrictEqual(['definitions']);
    expect(Object.keys(docs.paths['/api/definitions'].get.responses['200'].content['application/json'].schema.properties)).toStrictEqual([
      'kinds',
      'lifeSafetyEvents',
      'alarms',
      'workOrders',
    ]);
  });

  it("retains on each site's topic, at QoS 1, exactly what the API answers; an operator of another site may not read it", async () => {
    const client = await gw.connect(desk.mqtt);
    const got = collect(client);
    expect(await subscribeGranted(client, [topic(NEW_SITE)])).toStrictEqual([128]);
    await subscribe(client, topic(SITE));
    await eventually(() => got.length === 1);
    const api = await gw.api('GET', '/api/definitions', undefined, desk.token);
    expect(got).toStrictEqual([{ topic: topic(SITE), body: api.body, retain: true, qos: 1 }]);
  });

  it('publishes to a site as soon as its first device is registered', async () => {
    const client = await gw.connect(yard.mqtt);
    const got = collect(client);
    await subscribe(client, topic(NEW_SITE));
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toStrictEqual([]);
    await gw.register('door-1', 'access', NEW_SITE, 'gate');
    await eventually(() => got.length === 1);
    expect(got[0]).toStrictEqual({ topic: topic(NEW_SITE), body: (await gw.api('GET', '/api/definitions')).body, retain: false, qos: 1 });
  });

  it('updates the retained message when a reload brings a new alarm type', async () => {
    const client = await gw.connect(desk.mqtt);
    const got = collect(client);
    await subscribe(client, topic(SITE));
    await eventually(() => got.length === 1);
    await writeFile(join(rulesDir, 'door.yaml'), DOOR_RULE);
    expect((await gw.api('POST', '/api/rules/reload')).body).toStrictEqual({ ok: true, rules: 2 });
    const updated = await eventually(() => got.find((m) => m.body.alarms.types.some((t: { type: string }) => t.type === 'door_forced_alarm')));
    // The template in the default language (zh-CN) as `message`, and every language beside it (issue 17).
    expect(updated.body.alarms.types).toContainEqual({
      type: 'door_forced_alarm',
      severity: 'critical',
      rule: 'door-forced',
      message: '门 {device} 被强行打开',
      messages: { 'zh-CN': '门 {device} 被强行打开', en: 'Door {device} forced open' },
      instructions: { 'zh-CN': '派保安到现场查看并调取录像。', en: 'Send a guard and look at the camera recording.' },
      description: { 'zh-CN': '门被强行打开', en: 'A door forced open' },
    });
    const api = (await gw.api('GET', '/api/definitions', undefined, desk.token)).body;
    expect(updated.body).toStrictEqual(api);

    // A subscriber arriving now is handed the new document, retained.
    const late = await gw.connect(desk.mqtt);
    const lateGot = collect(late);
    await subscribe(late, topic(SITE));
    await eventually(() => lateGot.length === 1);
    expect(lateGot[0]).toStrictEqual({ topic: topic(SITE), body: api, retain: true, qos: 1 });
  });

  it('retains it again for every site with a device after a restart, for an independent client too', async () => {
    await gw.stop();
    gw = await startGateway({ RULES_DIR: rulesDir }, dataDir);
    const api = (await gw.api('GET', '/api/definitions')).body;
    for (const [site, op] of [
      [SITE, desk],
      [NEW_SITE, yard],
    ] as const) {
      const sub = await mosquittoSub(gw.mqttPort, op.mqtt, topic(site), { seconds: 5, count: 1 });
      expect(sub.code).toBe(0);
      expect(sub.lines).toHaveLength(1);
      expect(sub.lines[0].startsWith(`${topic(site)} `)).toBe(true);
      expect(JSON.parse(sub.lines[0].slice(topic(site).length + 1))).toStrictEqual(api);
    }
  });
});
