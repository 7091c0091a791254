import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, nextMessage, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { logLines } from '../helpers/log-lines.js';

const SITE = 'maple-court';
const DB = 'hostile_test';
const REJECTED = `sc/${SITE}/gateway/rejected`;


describe('no message can stop the gateway (issue 12)', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let dir: string;
  let desk: MqttClient;
  const logs = logLines();
  const clients: Record<string, MqttClient> = {};

  const failures = async (stage: string) => {
    const text = (await gw.api('GET', '/metrics')).body as string;
    const m = new RegExp(`^gateway_message_failures_total\\{stage="${stage}"\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  const stored = (device: string, field: string) => influx.query(`SELECT "${field}" FROM "energy" WHERE "device" = '${device}'`, DB);

  beforeAll(async () => {
    influx = await startInflux();
    dir = await mkdtemp(join(tmpdir(), 'hostile-'));
    await mkdir(join(dir, 'rules'));
    await writeFile(
      join(dir, 'rules', 'power.yaml'),
      '- id: power-high\n  match: { kind: energy }\n  when: { telemetry: powerKw, above: 100 }\n  alarm: { type: power_high, severity: major, message: "{device} at {value} kW" }\n',
    );
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, RULES_DIR: join(dir, 'rules'), LOG_LEVEL: 'info' }, dir, logs.log);
    for (const [id, kind] of [['meter-1', 'energy'], ['meter-2', 'energy'], ['lamp-1', 'lighting']] as const) {
      clients[id] = await gw.connect(await gw.register(id, kind, SITE, 'b1'));
    }
    desk = await gw.connect((await gw.api('POST', '/api/operators', { name: 'desk', sites: [SITE] })).body.mqtt);
    await desk.subscribeAsync([REJECTED, `sc/${SITE}/alarms/#`]);
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('counts and logs a message whose alarm publish throws, and handles the next message from that device', async () => {
    const broker = gw.gateway.broker as unknown as { publish: (...args: unknown[]) => Promise<void> };
    const publish = broker.publish;
    broker.publish = (topic: unknown, ...rest: unknown[]) => {
      if (String(topic).includes('/alarms/')) throw new Error('alarm publish broke');
      return publish(topic, ...rest);
    };
    try {
      await clients['meter-1'].publishAsync(`sc/${SITE}/energy/meter-1/telemetry`, '{"powerKw":150}', { qos: 1 });
      await eventually(async () => (await failures('publish')) >= 1);
    } finally {
      broker.publish = publish;
    }
    const line = logs.lines.find((l) => l.msg === 'message handling failed' && l.stage === 'publish');
    expect(line?.err?.stack).toContain('alarm publish broke');
    // The alarm is raised all the same (the state store holds the truth) and the reading is stored.
    const [alarm] = (await gw.api('GET', '/api/alarms?type=power_high')).body;
    expect(alarm).toMatchObject({ source: 'meter-1', state: 'active' });
    // The next message from the same device: stored, seen by the rule (the alarm clears) and published.
    const cleared = nextMessage(desk, (t, p) => t.includes('/alarms/') && p.length > 0 && JSON.parse(p.toString()).state === 'cleared');
    await clients['meter-1'].publishAsync(`sc/${SITE}/energy/meter-1/telemetry`, '{"powerKw":20}', { qos: 1 });
    expect(JSON.parse((await cleared).payload.toString())).toMatchObject({ source: 'meter-1', state: 'cleared' });
    expect((await stored('meter-1', 'powerKw')).map((r) => r.powerKw)).toStrictEqual([150, 20]);
  });

  it('counts a rule action that throws under its stage, and the rule acts on the next message', async () => {
    const alarms = gw.gateway.alarms as unknown as { raise: (...args: unknown[]) => unknown };
    const raise = alarms.raise;
    alarms.raise = () => {
      throw new Error('alarm store broke');
    };
    const before = await failures('alarms');
    try {
      await clients['meter-2'].publishAsync(`sc/${SITE}/energy/meter-2/telemetry`, '{"powerKw":300}', { qos: 1 });
      await eventually(async () => (await failures('alarms')) === before + 1);
    } finally {
      alarms.raise = raise;
    }
    expect(logs.lines.some((l) => l.msg === 'message handling failed' && l.stage === 'alarms' && l.device === 'meter-2')).toBe(true);
    await clients['meter-2'].publishAsync(`sc/${SITE}/energy/meter-2/telemetry`, '{"powerKw":10}', { qos: 1 });
    await clients['meter-2'].publishAsync(`sc/${SITE}/energy/meter-2/telemetry`, '{"powerKw":400}', { qos: 1 });
    const alarm = await eventually(async () => (await gw.api('GET', '/api/alarms?type=power_high')).body.find((a: any) => a.source === 'meter-2'));
    expect(alarm).toMatchObject({ state: 'active', value: 400 });
  });

  it('refuses a command result with an infinite number, naming the field', async () => {
    const rejected = nextMessage(desk, (t) => t === REJECTED);
    await clients['lamp-1'].publishAsync(`sc/${SITE}/lighting/lamp-1/cmd/result`, '{"id":"c-1","ok":true,"measured":{"powerW":1e400}}', { qos: 1 });
    expect(JSON.parse((await rejected).payload.toString())).toStrictEqual({
      topic: `sc/${SITE}/lighting/lamp-1/cmd/result`,
      device: 'lamp-1',
      reason: 'measured.powerW: must be a finite number',
    });
  });

  it('refuses an API body with an infinite number anywhere, naming the field', async () => {
    const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api/devices/lamp-1/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"action":"set","params":{"brightnessPct":1e400}}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toStrictEqual({ error: 'validation_failed', message: 'body.params.brightnessPct: must be a finite number' });
  });

  it('writes one line, not a thousand, for a device subscribing to 1,000 filters it may not read', async () => {
    const before = logs.lines.length;
    const filters = Array.from({ length: 1000 }, (_, i) => `sc/${SITE}/energy/other-${i}/cmd`);
    await clients['meter-2'].subscribeAsync(filters).catch(() => undefined);
    await clients['meter-2'].subscribeAsync(filters).catch(() => undefined);
    const written = logs.lines.slice(before).filter((l) => l.msg === 'mqtt subscription refused');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ source: '127.0.0.1', filter: `sc/${SITE}/energy/other-0/cmd` });
    expect((await gw.api('GET', '/health')).status).toBe(200);
  });
});

describe('packets larger than the broker reads (issue 12)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => gw?.stop());

  it('closes a connection whose CONNECT declares 200 MB before buffering it, and counts it', async () => {
    const socket = connect({ port: gw.mqttPort, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // CONNECT (0x10) with a remaining length of 200 MB as a four-byte variable integer, then 1 MB of it.
    let length = 200 * 1024 * 1024;
    const varint: number[] = [];
    do {
      let byte = length % 128;
      length = Math.floor(length / 128);
      if (length > 0) byte |= 0x80;
      varint.push(byte);
    } while (length > 0);
    socket.write(Buffer.from([0x10, ...varint]));
    socket.write(Buffer.alloc(1024 * 1024, 0x61));
    await closed;
    const metrics = (await gw.api('GET', '/metrics')).body as string;
    expect(metrics).toContain('gateway_mqtt_refused_total{reason="too_large",what="packet"} 1');
    expect((await gw.api('GET', '/health')).status).toBe(200);
  });
});
