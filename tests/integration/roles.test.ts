import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, ROUTE_ACCESS, roleAllows, type Role } from '../../src/api/access.js';
import { registeredRoutes } from '../../src/api/plugins/auth.js';
import { ADMIN_TOKEN, connectMqtt, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startMosquittoDynsec, type MosquittoProcess } from '../helpers/mosquitto-server.js';
import { createOperator } from '../helpers/operator.js';

const SITE = 'maple-court';
const OTHER = 'birch-yard';

/** Who calls: an operator of each role on SITE, the admin token, and nobody. */
type Caller = Role | 'admin-token' | 'none';
const CALLERS: readonly Caller[] = [...ROLES, 'admin-token', 'none'];

let gw: TestGateway;
let base: string;
const tokens = new Map<Caller, string | null>();

/** The fastify instance the gateway serves (ApiServer keeps it private). */
const appOf = (t: TestGateway) => (t.gateway.api as unknown as { app: FastifyInstance }).app;

/** One request's status; the body is not read (an event stream would never end), only cancelled. */
async function status(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  const streaming = res.headers.get('content-type')?.startsWith('text/event-stream');
  const text = streaming ? '' : await res.text();
  if (streaming) await res.body?.cancel();
  return { status: res.status, text };
}

/** A request path for a route url: parameters and wildcards filled with names that exist nowhere. */
const pathOf = (url: string) => url.replace(/:[A-Za-z]+/g, 'nothing-here').replace('*', 'nothing-here.js');

beforeAll(async () => {
  // The repository's profiles: a bridge needs one.
  gw = await startGateway({ PROFILES_DIR: resolve('profiles') });
  base = `http://127.0.0.1:${gw.httpPort}`;
  tokens.set('admin-token', ADMIN_TOKEN);
  tokens.set('none', null);
  for (const role of ROLES) tokens.set(role, (await createOperator(gw, `op ${role}`, [SITE], role)).token);
}, 30_000);

afterAll(async () => {
  await gw?.stop();
});

describe('the access table', () => {
  it('names every route the API serves (a route without a line would be admin only by accident)', () => {
    const unlisted = registeredRoutes(appOf(gw)).filter((key) => !(key in ROUTE_ACCESS));
    expect(unlisted).toStrictEqual([]);
    expect(registeredRoutes(appOf(gw)).length).toBeGreaterThan(40);
  });

  it('names no route the API does not serve', () => {
    const app = appOf(gw);
    const stale = Object.keys(ROUTE_ACCESS).filter((key) => {
      const [method, url] = key.split(' ');
      return !app.hasRoute({ method: method as 'GET', url });
    });
    expect(stale).toStrictEqual([]);
  });
});

describe('each role can do exactly what the access table says', () => {
  const cases = Object.entries(ROUTE_ACCESS).flatMap(([key, access]) => CALLERS.map((caller) => ({ key, access, caller })));

  it.each(cases)('$key by $caller', async ({ key, access, caller }) => {
    const [method, url] = key.split(' ');
    if (!appOf(gw).hasRoute({ method: method as 'GET', url })) return; // told by the test above
    const body = method === 'POST' || method === 'PATCH' ? {} : undefined;
    const res = await status(method, pathOf(url), tokens.get(caller)!, body);
    const held: Role | undefined = caller === 'admin-token' ? 'admin' : caller === 'none' ? undefined : caller;
    if (access.role === 'public') {
      expect([401, 403]).not.toContain(res.status);
    } else if (held === undefined) {
      expect(res.status).toBe(401);
    } else if (roleAllows(held, access.role)) {
      expect([401, 403]).not.toContain(res.status);
    } else {
      expect(res.status).toBe(403);
      expect(JSON.parse(res.text)).toStrictEqual({ error: 'forbidden', message: `this needs the ${access.role} role (yours: ${held})` });
    }
  });

  it('decides HEAD as the GET of the same route', async () => {
    expect((await status('HEAD', '/api/operators', tokens.get('supervisor')!)).status).toBe(403);
    expect((await status('HEAD', '/api/operators', ADMIN_TOKEN)).status).toBe(200);
    expect((await status('HEAD', '/api/alarms', null)).status).toBe(401);
    expect((await status('HEAD', '/api/alarms', tokens.get('viewer')!)).status).toBe(200);
  });

  it('tells each caller its role and the changes it may make (GET /api/me)', async () => {
    const guard = JSON.parse((await status('GET', '/api/me', tokens.get('guard')!)).text);
    expect(guard).toMatchObject({ name: 'op guard', role: 'guard', sites: [SITE] });
    expect(guard.allowed).toContain('POST /api/alarms/:id/ack');
    expect(guard.allowed).not.toContain('POST /api/alarms/:id/clear');
    expect(guard.allowed.every((k: string) => !k.startsWith('GET '))).toBe(true);
    const admin = JSON.parse((await status('GET', '/api/me', ADMIN_TOKEN)).text);
    expect(admin).toMatchObject({ name: 'admin', role: 'admin' });
    expect(admin.sites).toBeUndefined();
    expect(admin.allowed).toContain('DELETE /api/operators/:id');
  });
});

describe('tokens', () => {
  it('refuses a revoked token with 401, and only that one', async () => {
    const op = await createOperator(gw, 'revoked', [SITE], 'viewer');
    const issued = await gw.api('POST', `/api/operators/${op.id}/tokens`, {});
    expect(issued.status).toBe(201);
    expect(issued.body.expiresAt).toBeNull();
    expect((await status('GET', '/api/me', issued.body.token)).status).toBe(200);
    const revoked = await gw.api('DELETE', `/api/operators/${op.id}/tokens/${issued.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const refused = await status('GET', '/api/me', issued.body.token);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toStrictEqual({ error: 'unauthorized', message: 'token revoked or expired' });
    // The operator's first token still works; the listing shows both, without a secret.
    expect((await status('GET', '/api/me', op.token)).status).toBe(200);
    const list = await gw.api('GET', `/api/operators/${op.id}/tokens`);
    expect(list.body).toHaveLength(2);
    expect(Object.keys(list.body[0]).sort()).toStrictEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'revokedAt']);
    expect(list.body[0].lastUsedAt).toEqual(expect.any(String));
  });

  it('refuses an expired token with 401', async () => {
    const op = await createOperator(gw, 'expiring', [SITE], 'viewer');
    const issued = await gw.api('POST', `/api/operators/${op.id}/tokens`, { expiresIn: '1s' });
    expect(issued.status).toBe(201);
    expect(Date.parse(issued.body.expiresAt)).toBeGreaterThan(Date.now() - 1000);
    await eventually(async () => (await status('GET', '/api/me', issued.body.token)).status === 401, 5000, 100);
    expect((await status('GET', '/api/me', op.token)).status).toBe(200);
  });

  it('refuses an expiresIn that is not a duration, naming the field', async () => {
    const op = await createOperator(gw, 'bad expiry', [SITE]);
    const res = await gw.api('POST', `/api/operators/${op.id}/tokens`, { expiresIn: 'soon' });
    expect(res).toStrictEqual({ status: 400, body: { error: 'validation_failed', message: 'expiresIn: must be a duration such as 12h or 30d' } });
  });
});

describe('disabling and deleting an operator', () => {
  it('refuses a disabled operator its tokens and MQTT login, closes its connections, and lets it back when enabled', async () => {
    const op = await createOperator(gw, 'night desk', [SITE], 'guard');
    const client = await gw.connect(op.mqtt);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const res = await gw.api('PATCH', `/api/operators/${op.id}`, { disabled: true });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: op.id, role: 'guard', disabled: true });
    await closed;
    expect((await status('GET', '/api/me', op.token)).status).toBe(401);
    await expect(connectMqtt(gw.mqttUrl, { ...op.mqtt, reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/);
    expect((await gw.api('PATCH', `/api/operators/${op.id}`, { disabled: false })).status).toBe(200);
    expect((await status('GET', '/api/me', op.token)).status).toBe(200);
    await (await connectMqtt(gw.mqttUrl, op.mqtt)).endAsync();
  });

  it('refuses a deleted operator everything', async () => {
    const op = await createOperator(gw, 'gone', [SITE], 'supervisor');
    const client = await gw.connect(op.mqtt);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect((await gw.api('DELETE', `/api/operators/${op.id}`)).status).toBe(204);
    await closed;
    expect((await status('GET', '/api/me', op.token)).status).toBe(401);
    await expect(connectMqtt(gw.mqttUrl, op.mqtt)).rejects.toThrow(/Bad username or password|Not authorized/);
    expect((await gw.api('GET', `/api/operators/${op.id}/tokens`)).status).toBe(404);
  });

  it('makes a new operator a viewer unless told otherwise', async () => {
    const res = await gw.api('POST', '/api/operators', { name: 'plain', sites: [SITE] });
    expect(res.body.role).toBe('viewer');
    const bad = await gw.api('POST', '/api/operators', { name: 'plain', sites: [SITE], role: 'owner' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/role/);
  });
});

describe('an operator with the admin role acts only within its sites', () => {
  let admin: Awaited<ReturnType<typeof createOperator>>;
  beforeAll(async () => {
    admin = await createOperator(gw, 'site admin', [SITE], 'admin');
    await gw.register('other-lamp', 'lighting', OTHER);
  });

  it('registers devices of its site only', async () => {
    const mine = await gw.api('POST', '/api/devices', { id: 'my-lamp', kind: 'lighting', site: SITE, zone: 'b1-f1' }, admin.token);
    expect(mine.status).toBe(201);
    const theirs = await gw.api('POST', '/api/devices', { id: 'their-lamp', kind: 'lighting', site: OTHER, zone: 'b1-f1' }, admin.token);
    expect(theirs).toStrictEqual({ status: 403, body: { error: 'forbidden', message: `site: you do not hold site ${OTHER}` } });
    expect((await gw.api('DELETE', '/api/devices/other-lamp', undefined, admin.token)).status).toBe(404);
    expect((await gw.api('POST', '/api/devices/other-lamp/credentials', undefined, admin.token)).status).toBe(404);
    expect((await gw.api('GET', '/api/devices/other-lamp')).status).toBe(200);
  });

  it('manages and grants only the operators and sites it holds', async () => {
    const wide = await createOperator(gw, 'both sites', [SITE, OTHER], 'viewer');
    const narrow = await createOperator(gw, 'my site', [SITE], 'viewer');
    const listed = (await gw.api('GET', '/api/operators', undefined, admin.token)).body.map((o: { id: string }) => o.id);
    expect(listed).toContain(narrow.id);
    expect(listed).not.toContain(wide.id);
    expect((await gw.api('PATCH', `/api/operators/${wide.id}`, { disabled: true }, admin.token)).status).toBe(404);
    expect((await gw.api('DELETE', `/api/operators/${wide.id}`, undefined, admin.token)).status).toBe(404);
    const grant = await gw.api('PATCH', `/api/operators/${narrow.id}`, { sites: [SITE, OTHER] }, admin.token);
    expect(grant).toStrictEqual({ status: 403, body: { error: 'forbidden', message: `sites: you do not hold site ${OTHER}` } });
    expect((await gw.api('POST', '/api/operators', { name: 'x', sites: [OTHER] }, admin.token)).status).toBe(403);
    expect((await gw.api('PATCH', `/api/operators/${narrow.id}`, { role: 'maintenance' }, admin.token)).body.role).toBe('maintenance');
  });
});

describe('a guard silences non-life-safety alarms for up to an hour', () => {
  const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();
  const silence = (match: Record<string, unknown>, minutes: number, extra: Record<string, unknown> = {}) => ({
    site: SITE,
    match,
    to: inMinutes(minutes),
    reason: 'cleaning the lobby',
    ...extra,
  });

  beforeAll(async () => {
    await gw.register('lobby-smoke', 'fire', SITE);
  });

  it('lets a guard silence a zone for half an hour', async () => {
    expect((await gw.api('POST', '/api/silences', silence({ zone: 'b1-f1' }, 30), tokens.get('guard'))).status).toBe(201);
  });

  it.each([
    ['two hours', silence({ zone: 'b1-f1' }, 120), 'this one is longer'],
    ['a life-safety kind', silence({ kind: 'fire' }, 30), 'kind fire raises life-safety alarms'],
    ['a life-safety alarm type', silence({ type: 'passenger_trapped' }, 30), 'type passenger_trapped is a life-safety alarm'],
    ['a fire detector', silence({ devices: ['lobby-smoke'] }, 30), 'device lobby-smoke is of kind fire'],
    ['a fire test', silence({ zone: 'b1-f1' }, 30, { fireTest: true }), 'fireTest is set'],
  ])('refuses a guard %s, naming the supervisor role', async (_what, body, why) => {
    const res = await gw.api('POST', '/api/silences', body, tokens.get('guard'));
    expect(res).toStrictEqual({
      status: 403,
      body: { error: 'forbidden', message: `a guard may silence non-life-safety alarms for up to 1 h (${why}); this needs the supervisor role` },
    });
  });

  it('lets a supervisor silence for longer', async () => {
    expect((await gw.api('POST', '/api/silences', silence({ zone: 'b1-f1' }, 120), tokens.get('supervisor'))).status).toBe(201);
  });
});

describe('credential rotation with an overlap', () => {
  it("keeps a device's old password working during the overlap, and never after", async () => {
    const old = await gw.register('rotating-lamp', 'lighting', SITE);
    const before = await gw.connect(old);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    const res = await gw.api('POST', '/api/devices/rotating-lamp/credentials', { overlap: '2s' });
    expect(res.status).toBe(200);
    const fresh = res.body.mqtt as { username: string; password: string };
    expect(fresh.password).not.toBe(old.password);
    // During the overlap both passwords connect, and the connection made before stays.
    expect(before.connected).toBe(true);
    await (await connectMqtt(gw.mqttUrl, old)).endAsync();
    await (await connectMqtt(gw.mqttUrl, fresh)).endAsync();
    // When it ends, the old connections close and the old password is refused.
    await closed;
    await expect(connectMqtt(gw.mqttUrl, old)).rejects.toThrow(/Bad username or password|Not authorized/);
    await (await connectMqtt(gw.mqttUrl, fresh)).endAsync();
  });

  it('keeps an overlap across a restart, and ends it on time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'roles-overlap-'));
    let one: TestGateway | undefined = await startGateway({}, dir);
    let two: TestGateway | undefined;
    try {
      const old = await one.register('restart-lamp', 'lighting', SITE);
      const res = await one.api('POST', '/api/devices/restart-lamp/credentials', { overlap: '4s' });
      await one.stop();
      one = undefined;
      two = await startGateway({}, dir);
      const during = await two.connect(old);
      const closed = new Promise<void>((resolve) => during.once('close', () => resolve()));
      await closed;
      await expect(connectMqtt(two.mqttUrl, old)).rejects.toThrow(/Bad username or password|Not authorized/);
      await (await connectMqtt(two.mqttUrl, res.body.mqtt)).endAsync();
    } finally {
      await one?.stop();
      await two?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('closes the old connections at once without an overlap', async () => {
    const old = await gw.register('swapped-lamp', 'lighting', SITE);
    const before = await gw.connect(old);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    const res = await gw.api('POST', '/api/devices/swapped-lamp/credentials');
    expect(res.status).toBe(200);
    await closed;
    await expect(connectMqtt(gw.mqttUrl, old)).rejects.toThrow(/Bad username or password|Not authorized/);
  });

  it('refuses an overlap that is not a duration, naming the field', async () => {
    await gw.register('odd-lamp', 'lighting', SITE);
    const res = await gw.api('POST', '/api/devices/odd-lamp/credentials', { overlap: 'a while' });
    expect(res).toStrictEqual({ status: 400, body: { error: 'validation_failed', message: 'overlap: must be a duration such as 30s, 10m, 2h or 1d' } });
  });
});

describe("a bridge's credential rotation", () => {
  it('keeps the old password working during the overlap, and never after', async () => {
    const made = await gw.api('POST', '/api/bridges', { id: 'z2m-roles', site: SITE, profile: 'zigbee2mqtt-aqara-sjcgq11lm' });
    expect(made.status).toBe(201);
    const old = made.body.mqtt as { username: string; password: string };
    const before = await gw.connect(old);
    const closed = new Promise<void>((resolve) => before.once('close', () => resolve()));
    const res = await gw.api('POST', '/api/bridges/z2m-roles/credentials', { overlap: '2s' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: 'z2m-roles', site: SITE, connected: true, mqtt: { username: 'z2m-roles' } });
    await (await connectMqtt(gw.mqttUrl, old)).endAsync();
    await closed;
    await expect(connectMqtt(gw.mqttUrl, old)).rejects.toThrow(/Bad username or password|Not authorized/);
    await (await connectMqtt(gw.mqttUrl, res.body.mqtt)).endAsync();
  });
});

describe('operators made by the previous release', () => {
  it('keep their token and MQTT login, as supervisors', async () => {
    const fixture = resolve('tests/fixtures/release-0.1.0');
    const info = JSON.parse(await readFile(join(fixture, 'fixture.json'), 'utf8'));
    const dir = await mkdtemp(join(tmpdir(), 'roles-upgrade-'));
    await cp(join(fixture, 'data'), dir, { recursive: true });
    const old = await startGateway({ ADMIN_TOKEN: info.adminToken }, dir);
    try {
      const me = await old.api('GET', '/api/me', undefined, info.operator.token);
      expect(me.body).toMatchObject({ id: info.operator.id, name: info.operator.name, role: 'supervisor', sites: [info.site] });
      expect((await old.api('GET', '/api/operators', undefined, info.operator.token)).status).toBe(403);
      const tokens = await old.api('GET', `/api/operators/${info.operator.id}/tokens`, undefined, info.adminToken);
      expect(tokens.body).toStrictEqual([{ id: expect.stringMatching(/^tok-/), createdAt: expect.any(String), expiresAt: null, revokedAt: null, lastUsedAt: expect.any(String) }]);
      await (await connectMqtt(old.mqttUrl, { username: info.operator.id, password: info.operator.mqttPassword })).endAsync();
    } finally {
      await old.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('with an external broker (Mosquitto with dynamic security)', () => {
  const BROKER_ADMIN = { username: 'gw-admin', password: 'gw-admin-password-0123' };
  let broker: MosquittoProcess;
  let ext: TestGateway;
  const login = (creds: { username: string; password: string }) => connectMqtt(broker.url, { ...creds, protocolVersion: 5 });

  beforeAll(async () => {
    broker = await startMosquittoDynsec(BROKER_ADMIN);
    ext = await startGateway({ BROKER_URL: broker.url, BROKER_USERNAME: BROKER_ADMIN.username, BROKER_PASSWORD: BROKER_ADMIN.password, BROKER_CLIENT_ID: 'gw-roles' });
  }, 30_000);
  afterAll(async () => {
    await ext?.stop();
    await broker?.stop();
  });

  it("disables, enables and deletes an operator's broker account with it", async () => {
    const op = await createOperator(ext, 'Desk', [SITE], 'guard');
    const client = await login(op.mqtt);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    expect((await ext.api('PATCH', `/api/operators/${op.id}`, { disabled: true })).status).toBe(200);
    await closed;
    await expect(login(op.mqtt)).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    expect((await ext.api('PATCH', `/api/operators/${op.id}`, { disabled: false })).status).toBe(200);
    await (await login(op.mqtt)).endAsync();
    expect((await ext.api('DELETE', `/api/operators/${op.id}`)).status).toBe(204);
    await expect(login(op.mqtt)).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
  });

  it('refuses a credential overlap, which Mosquitto cannot keep, and rotates without one', async () => {
    const old = await ext.register('ext-lamp', 'lighting', SITE);
    const res = await ext.api('POST', '/api/devices/ext-lamp/credentials', { overlap: '1m' });
    expect(res).toStrictEqual({
      status: 400,
      body: { error: 'validation_failed', message: 'overlap: the external broker keeps one password per account: rotate without an overlap' },
    });
    await (await login(old)).endAsync();
    const rotated = await ext.api('POST', '/api/devices/ext-lamp/credentials');
    expect(rotated.status).toBe(200);
    await expect(login(old)).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    await (await login(rotated.body.mqtt)).endAsync();
  });
});
