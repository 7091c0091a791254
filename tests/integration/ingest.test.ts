import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KIND_NAMES } from '../../src/devices/kinds/index.js';
import { eventually, nextMessage, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { mosquittoPub } from '../helpers/mosquitto.js';
import { PAYLOADS } from '../fixtures/payloads.js';

const SITE = 'maple-court';
const DB = 'ingest_test';

describe('ingest into InfluxDB (contract §2, §7)', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  const creds: Record<string, { username: string; password: string }> = {};

  beforeAll(async () => {
    influx = await startInflux();
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB });
    for (const kind of KIND_NAMES) creds[kind] = await gw.register(`${kind}-01`, kind, SITE, `zone-${kind}`);
    creds.extra = await gw.register('lamp-good', 'lighting', SITE, 'zone-good');
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
  });

  it.each(KIND_NAMES)('stores %s telemetry with its tags, fields and millisecond timestamp', async (kind) => {
    const ts = Date.now() - 60_000 + KIND_NAMES.indexOf(kind) * 7; // a distinct ms per kind
    const client = await gw.connect(creds[kind]);
    await client.publishAsync(`sc/${SITE}/${kind}/${kind}-01/telemetry`, JSON.stringify({ ...PAYLOADS[kind].telemetry, ts }), { qos: 1 });
    const rows = await influx.query(`SELECT * FROM "${kind}" WHERE "device" = '${kind}-01'`, DB);
    expect(rows).toStrictEqual([{ time: ts, device: `${kind}-01`, site: SITE, zone: `zone-${kind}`, ...PAYLOADS[kind].telemetry }]);
  });

  it.each(KIND_NAMES)('stores a %s event in the events measurement', async (kind) => {
    const ts = new Date(Date.now() - 30_000 + KIND_NAMES.indexOf(kind)).toISOString();
    const client = await gw.connect(creds[kind]);
    await client.publishAsync(`sc/${SITE}/${kind}/${kind}-01/event`, JSON.stringify({ ...PAYLOADS[kind].event, ts }), { qos: 1 });
    const rows = await influx.query(`SELECT * FROM "events" WHERE "device" = '${kind}-01'`, DB);
    const { type, ...details } = PAYLOADS[kind].event;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ time: Date.parse(ts), site: SITE, kind, device: `${kind}-01`, zone: `zone-${kind}`, type, count: 1, ...details });
    // The API lists it as the device page shows it: its time, type and details, without the tags.
    const listed = (await gw.api('GET', `/api/devices/${kind}-01/events`)).body;
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]).sort()).toStrictEqual(['time', 'type', ...Object.keys(details)].sort());
    expect(listed[0]).toMatchObject({ time: ts, type });
  });

  it('stores a reading sent by mosquitto_pub at the receive time when it has no ts', async () => {
    const before = Date.now();
    const pub = await mosquittoPub(gw.mqttPort, creds.extra, `sc/${SITE}/lighting/lamp-good/telemetry`, '{"on":false,"powerW":0}', ['-q', '1']);
    expect(pub.code).toBe(0);
    const rows = await influx.query(`SELECT "on", "powerW" FROM "lighting" WHERE "device" = 'lamp-good'`, DB);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ on: false, powerW: 0 });
    expect(rows[0].time as number).toBeGreaterThanOrEqual(before);
  });

  it.each(KIND_NAMES)('rejects bad %s payloads naming the field, while other devices go on', async (kind) => {
    const op = await gw.connect((await gw.api('POST', '/api/operators', { name: `desk-${kind}`, sites: [SITE] })).body.mqtt);
    await op.subscribeAsync(`sc/${SITE}/gateway/rejected`);
    const bad = await gw.connect(creds[kind]);
    const good = await gw.connect(creds.extra);
    for (const [i, invalid] of PAYLOADS[kind].invalid.entries()) {
      const topic = `sc/${SITE}/${kind}/${kind}-01/${invalid.suffix ?? 'telemetry'}`;
      const rejected = nextMessage(op, (t) => t === `sc/${SITE}/gateway/rejected`);
      await bad.publishAsync(topic, invalid.body, { qos: 1 });
      const body = JSON.parse((await rejected).payload.toString());
      expect(body).toMatchObject({ topic, device: `${kind}-01` });
      expect(body.reason).toContain(invalid.field);
      const ts = Date.now() - 10_000 - KIND_NAMES.indexOf(kind) * 10 - i;
      await good.publishAsync(`sc/${SITE}/lighting/lamp-good/telemetry`, JSON.stringify({ brightnessPct: 50, ts }), { qos: 1 });
      const rows = await influx.query(`SELECT "brightnessPct" FROM "lighting" WHERE "device" = 'lamp-good' AND time = ${ts}ms`, DB);
      expect(rows).toHaveLength(1);
    }
    expect(bad.connected).toBe(true);
  });

  it.each(KIND_NAMES)("sends a command to a %s device on its cmd topic and answers with the device's result", async (kind) => {
    const client = await gw.connect(creds[kind]);
    const prefix = `sc/${SITE}/${kind}/${kind}-01/`;
    expect((await client.subscribeAsync(`${prefix}cmd`, { qos: 1 }))[0].qos).toBe(1);
    client.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      client.publish(`${prefix}cmd/result`, JSON.stringify({ id: cmd.id, ok: true, action: cmd.action, params: cmd.params }), { qos: 1 });
    });
    const res = await gw.api('POST', `/api/devices/${kind}-01/commands`, { action: 'selfTest', params: { durationS: 5 } });
    expect(res).toStrictEqual({ status: 200, body: { id: expect.any(String), ok: true, action: 'selfTest', params: { durationS: 5 } } });
  });

  it('shows the device online with a last-seen time after it speaks', async () => {
    const res = await eventually(async () => {
      const r = await gw.api('GET', '/api/devices/fire-01');
      return r.body.online ? r : undefined;
    });
    expect(res.body).toMatchObject({ id: 'fire-01', kind: 'fire', site: SITE, zone: 'zone-fire', online: true });
    expect(Date.parse(res.body.lastSeen)).toBeGreaterThan(Date.now() - 120_000);
    expect(JSON.stringify(res.body)).not.toContain('password');
  });
});
