import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

const SITE = 'maple-court';

describe('HTTP API (contract §5)', () => {
  let gw: TestGateway;
  let operatorToken: string;

  beforeAll(async () => {
    gw = await startGateway();
    operatorToken = (await gw.api('POST', '/api/operators', { name: 'Desk', sites: [SITE] })).body.token;
  });
  afterAll(() => gw.stop());

  it('serves health, readiness, metrics and the OpenAPI document without a token', async () => {
    expect(await gw.api('GET', '/health', undefined, null)).toStrictEqual({ status: 200, body: { status: 'ok' } });
    const ready = await gw.api('GET', '/ready', undefined, null);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, broker: { listening: true }, influx: { reachable: false } });
    const metrics = await gw.api('GET', '/metrics', undefined, null);
    expect(metrics.body).toContain('# TYPE gateway_mqtt_clients gauge');
    const docs = await gw.api('GET', '/docs', undefined, null);
    expect(docs.body.openapi).toMatch(/^3\./);
    expect(docs.body.paths['/health'].get.security).toStrictEqual([]);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/api/devices', '/api/devices/{id}/commands']));
  });

  it('needs a token however the path is spelled', async () => {
    expect(await gw.api('GET', '/%61pi/devices', undefined, null)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    const sneaky = await gw.api('POST', '/%61pi/operators', { name: 'Mallory', sites: [SITE] }, null);
    expect(sneaky.status).toBe(401);
    expect((await gw.api('GET', '/no/such/route', undefined, null)).status).toBe(404);
  });

  it('answers 401 without a token or with an unknown one', async () => {
    expect(await gw.api('GET', '/api/devices', undefined, null)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(await gw.api('GET', '/api/devices', undefined, 'not-a-token')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('registers a device once, shows its password only then, and refuses a second registration', async () => {
    const res = await gw.api('POST', '/api/devices', { id: 'gate-7', kind: 'access', site: SITE, zone: 'north-gate', name: 'North gate', tags: { building: 'b1' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'gate-7', kind: 'access', site: SITE, zone: 'north-gate', online: false, lastSeen: null });
    expect(res.body.mqtt.username).toBe('gate-7');
    expect(res.body.mqtt.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const again = await gw.api('POST', '/api/devices', { id: 'gate-7', kind: 'access', site: SITE, zone: 'north-gate' });
    expect(again).toMatchObject({ status: 409, body: { error: 'conflict' } });
    const read = await gw.api('GET', '/api/devices/gate-7');
    expect(read.body).toStrictEqual({
      id: 'gate-7',
      kind: 'access',
      site: SITE,
      zone: 'north-gate',
      name: 'North gate',
      tags: { building: 'b1' },
      online: false,
      lastSeen: null,
      createdAt: expect.any(String),
    });
  });

  it.each([
    [{ id: 'x1', kind: 'toaster', site: SITE, zone: 'z' }, 'body.kind: must be one of access, lighting, parking, energy, fire, camera, lift, water, power, patrol, sos, environment, waste'],
    [{ id: 'x1', kind: 'fire', site: 'Maple Court', zone: 'z' }, 'body.site'],
    [{ id: 'x1', kind: 'fire', site: SITE }, 'body.zone: is required'],
    [{ id: '-x', kind: 'fire', site: SITE, zone: 'z' }, 'body.id'],
    [{ id: 'x1', kind: 'fire', site: SITE, zone: 'z', colour: 'red' }, 'body.colour: unknown field'],
  ])('refuses a bad registration with a message naming the field (%j)', async (body, message) => {
    const res = await gw.api('POST', '/api/devices', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('validation_failed');
    expect(res.body.message).toContain(message);
  });

  it('answers 404 as JSON for an unknown device', async () => {
    expect(await gw.api('GET', '/api/devices/nope')).toStrictEqual({
      status: 404,
      body: { error: 'not_found', message: 'device "nope" does not exist' },
    });
  });

  it('shows an operator only the devices of its sites and keeps registration for the admin', async () => {
    await gw.register('cam-9', 'camera', 'oak-park', 'gate');
    const mine = await gw.api('GET', '/api/devices', undefined, operatorToken);
    expect(mine.status).toBe(200);
    expect(mine.body.every((d: { site: string }) => d.site === SITE)).toBe(true);
    expect((await gw.api('GET', '/api/devices/cam-9', undefined, operatorToken)).status).toBe(404);
    const add = await gw.api('POST', '/api/devices', { id: 'z1', kind: 'fire', site: SITE, zone: 'z' }, operatorToken);
    expect(add).toMatchObject({ status: 403, body: { error: 'forbidden' } });
  });

  it("answers a command with the device's result", async () => {
    const creds = await gw.register('lamp-3', 'lighting', SITE, 'path-a');
    const lamp = await gw.connect(creds);
    await lamp.subscribeAsync(`sc/${SITE}/lighting/lamp-3/cmd`, { qos: 1 });
    lamp.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      lamp.publish(`sc/${SITE}/lighting/lamp-3/cmd/result`, JSON.stringify({ id: cmd.id, ok: true, action: cmd.action }), { qos: 1 });
    });
    const res = await gw.api('POST', '/api/devices/lamp-3/commands', { action: 'dim', params: { brightnessPct: 30 } });
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual({ id: expect.any(String), ok: true, action: 'dim' });
  });

  it('answers 504 when the device does not answer in time', async () => {
    await gw.register('lamp-4', 'lighting', SITE, 'path-a');
    const res = await gw.api('POST', '/api/devices/lamp-4/commands', { action: 'on' });
    expect(res).toMatchObject({ status: 504, body: { error: 'timeout' } });
  });

  it('keeps a device online while any of its connections lives', async () => {
    const creds = await gw.register('door-two', 'access', SITE, 'b2');
    const first = await gw.connect(creds, { clientId: 'door-two-a' });
    const second = await gw.connect(creds, { clientId: 'door-two-b' });
    await first.publishAsync(`sc/${SITE}/access/door-two/status`, 'online', { qos: 1 });
    await second.endAsync();
    await new Promise((r) => setTimeout(r, 200));
    expect((await gw.api('GET', '/api/devices/door-two')).body.online).toBe(true);
    await first.endAsync();
    await eventually(async () => (await gw.api('GET', '/api/devices/door-two')).body.online === false);
  });

  it('deletes a device and closes every connection it has', async () => {
    const creds = await gw.register('door-del', 'access', SITE, 'b2');
    const clients = [await gw.connect(creds, { clientId: 'door-del-a' }), await gw.connect(creds, { clientId: 'door-del-b' })];
    const closed = Promise.all(clients.map((c) => new Promise<void>((resolve) => c.once('close', () => resolve()))));
    expect((await gw.api('DELETE', '/api/devices/door-del')).status).toBe(204);
    await closed;
    expect((await gw.api('GET', '/api/devices/door-del')).status).toBe(404);
    await eventually(async () => (await gw.api('GET', '/api/devices')).body.every((d: { id: string }) => d.id !== 'door-del'));
  });

  it('issues new credentials once: the old password is refused and its connection closed', async () => {
    const old = await gw.register('door-new-creds', 'access', SITE, 'b2');
    const client = await gw.connect(old, { clientId: 'door-new-creds' });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const issued = await gw.api('POST', '/api/devices/door-new-creds/credentials');
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ id: 'door-new-creds', mqtt: { username: 'door-new-creds' } });
    expect(issued.body.mqtt.password).not.toBe(old.password);
    await closed;
    await expect(gw.connect(old, { reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/);
    await gw.connect(issued.body.mqtt);
    expect((await gw.api('POST', '/api/devices/door-new-creds/credentials', undefined, operatorToken)).status).toBe(403);
  });
});
