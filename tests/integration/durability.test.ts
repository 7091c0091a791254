import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { registerOver, spawnGateway } from '../helpers/process.js';

const SITE = 'maple-court';
const ADMIN = 'durability-admin-token-0123456789';

async function countOf(influx: InfluxServer, db: string, q: string): Promise<number> {
  // Before the first write the database may not exist yet: that counts as nothing stored.
  const rows = await influx.query(q, db).catch(() => []);
  return Number(rows[0]?.count ?? 0);
}

describe('nothing is lost when InfluxDB goes away (contract §7)', () => {
  let influx: InfluxServer;
  let gw: TestGateway;

  beforeAll(async () => {
    influx = await startInflux();
    // One device sends thousands of messages a second here: no per-device quota (quota.test.ts tests it).
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: 'outage', INFLUX_RETRY_MAX: '500ms', DEVICE_MAX_RATE: '0' });
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
  });

  it('stores every one of 5,000 points published during a 10 s outage exactly once', async () => {
    const devices = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => gw.connect(await gw.register(`meter-${i}`, 'energy', SITE, `b${i}`))),
    );
    await influx.kill();
    const outageStart = Date.now();
    const base = Date.now() - 3_600_000;
    // 5,000 points over about 10 s: each of 10 meters sends 50 readings a second, half at QoS 0, half at QoS 1.
    for (let second = 0; second < 10; second++) {
      const sent: Array<Promise<unknown>> = [];
      devices.forEach((d, i) => {
        for (let k = 0; k < 50; k++) {
          const n = second * 50 + k;
          const body = JSON.stringify({ energyKwh: n, ts: base + n * 10 + i });
          sent.push(d.publishAsync(`sc/${SITE}/energy/meter-${i}/telemetry`, body, { qos: n % 2 === 0 ? 0 : 1 }));
        }
      });
      await Promise.all(sent);
      await new Promise((r) => setTimeout(r, Math.max(0, outageStart + (second + 1) * 1000 - Date.now())));
    }
    // A timer may fire a millisecond before Date.now() says it is due: hold the outage until it truly is 10 s.
    while (Date.now() - outageStart < 10_000) await new Promise((r) => setTimeout(r, 5));
    expect(Date.now() - outageStart).toBeGreaterThanOrEqual(10_000);
    expect(gw.gateway.writer.status().mode).toBe('spooling');
    await influx.restart();
    const q = 'SELECT count("energyKwh") FROM "energy"';
    await eventually(async () => (await countOf(influx, 'outage', q)) >= 5000, 30_000, 250);
    await new Promise((r) => setTimeout(r, 500));
    expect(await countOf(influx, 'outage', q)).toBe(5000);
    for (let i = 0; i < 10; i++) {
      const rows = await influx.query(`SELECT count("energyKwh") FROM "energy" WHERE "device" = 'meter-${i}'`, 'outage');
      expect(rows[0].count).toBe(500);
    }
    await eventually(() => gw.gateway.writer.status().mode === 'direct');
    expect(gw.gateway.writer.status().spooledPoints).toBe(0);
  });
});

describe('an acknowledged QoS 1 event survives a crash of the gateway', () => {
  let influx: InfluxServer;
  let dataDir: string;

  beforeAll(async () => {
    influx = await startInflux();
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-crash-'));
  });
  afterAll(async () => {
    await influx?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function registerAndPublish(db: string, device: string, n: number) {
    const env = { DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, INFLUX_URL: influx.url, INFLUX_DB: db, INFLUX_FLUSH_INTERVAL: '50ms', INFLUX_RETRY_MAX: '500ms', DEVICE_MAX_RATE: '0' };
    const g = await spawnGateway(env);
    const mqtt = await registerOver(g, ADMIN, { id: device, kind: 'fire', site: SITE, zone: 'b3-f12' });
    const client = await connectMqtt(`mqtt://127.0.0.1:${g.mqttPort}`, mqtt);
    const base = Date.now() - 60_000;
    // Every publishAsync resolves on the PUBACK; the crash comes right after the last one.
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        client.publishAsync(`sc/${SITE}/fire/${device}/event`, JSON.stringify({ type: 'test', ts: base + i }), { qos: 1 }),
      ),
    );
    await g.kill();
    client.end(true);
    return env;
  }

  it('is in InfluxDB at once when InfluxDB was up', async () => {
    await registerAndPublish('crash_direct', 'smoke-1', 300);
    expect(await countOf(influx, 'crash_direct', 'SELECT count("count") FROM "events"')).toBe(300);
  });

  it('is replayed from the spool after the restart when InfluxDB was down', async () => {
    await influx.kill();
    const env = await registerAndPublish('crash_spool', 'smoke-2', 300);
    await influx.restart();
    const g = await spawnGateway(env);
    try {
      await eventually(async () => (await countOf(influx, 'crash_spool', 'SELECT count("count") FROM "events"')) === 300, 30_000, 250);
    } finally {
      expect(await g.terminate()).toBe(0);
    }
  });
});
