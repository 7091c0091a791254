import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { registerOver, spawnGateway } from '../helpers/process.js';

const SITE = 'maple-court';
const ADMIN = 'lifecycle-admin-token-0123456789';

describe('MQTT over WebSocket', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());

  it('takes a device with its credentials and refuses a wrong password', async () => {
    const creds = await gw.register('cam-ws', 'camera', SITE, 'gate');
    const client = await connectMqtt(`ws://127.0.0.1:${gw.wsPort}`, creds);
    await client.publishAsync(`sc/${SITE}/camera/cam-ws/telemetry`, JSON.stringify({ fps: 25 }), { qos: 1 });
    expect(gw.gateway.metrics.value('gateway_messages_accepted_total', { kind: 'camera', type: 'telemetry' })).toBe(1);
    await client.endAsync();
    await expect(connectMqtt(`ws://127.0.0.1:${gw.wsPort}`, { ...creds, password: 'wrong' })).rejects.toThrow(/Bad username or password/i);
  });
});

describe('stopping on SIGTERM', () => {
  let influx: InfluxServer;
  let dataDir: string;
  beforeAll(async () => {
    influx = await startInflux();
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-stop-'));
  });
  afterAll(async () => {
    await influx?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('flushes what it holds to InfluxDB and exits 0', async () => {
    // A flush interval of an hour: only the stop itself can write these points.
    const g = await spawnGateway({ DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, INFLUX_URL: influx.url, INFLUX_DB: 'stop', INFLUX_FLUSH_INTERVAL: '1h' });
    const mqtt = await registerOver(g, ADMIN, { id: 'lamp-stop', kind: 'lighting', site: SITE, zone: 'path' });
    const client = await connectMqtt(`mqtt://127.0.0.1:${g.mqttPort}`, mqtt);
    const base = Date.now() - 10_000;
    for (let i = 0; i < 50; i++) client.publish(`sc/${SITE}/lighting/lamp-stop/telemetry`, JSON.stringify({ powerW: i, ts: base + i }));
    await eventually(async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${g.httpPort}/metrics`)).text();
      return /gateway_messages_accepted_total\{kind="lighting",type="telemetry"\} 50/.test(metrics);
    });
    expect(await influx.query('SELECT count("powerW") FROM "lighting"', 'stop')).toStrictEqual([]);
    expect(await g.terminate()).toBe(0);
    client.end(true);
    const rows = await influx.query('SELECT count("powerW") FROM "lighting"', 'stop');
    expect(rows[0].count).toBe(50);
    expect(g.output()).not.toMatch(/"level":50/);
  });
});
