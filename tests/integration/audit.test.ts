import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlarmRaise } from '../../src/alarms/model.js';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

const SITE = 'maple-court';
const OTHER = 'oak-park';

function smoke(source: string, site = SITE): AlarmRaise {
  return { site, type: 'smoke', severity: 'major', source, device: source, kind: 'fire', zone: 'b3', rule: 'fire-smoke', message: `Smoke at ${source}` };
}

const RULE = `- id: smoke-high
  match: { kind: fire }
  when: { telemetry: smokeObscurationPct, above: 8 }
  alarm: { type: smoke_high, severity: major }
`;

/** A folder for the gateway's data and its watched rules, profiles and sites folders (which must exist to be watched). */
async function dataDirWithFolders(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-audit-'));
  for (const folder of ['rules', 'profiles', 'sites']) await mkdir(join(dir, folder));
  return dir;
}

describe('the audit trail (contract §15)', () => {
  let gw: TestGateway;
  let dir: string;
  /** Every secret the gateway handed out during the suite: none may ever appear in the trail. */
  const secrets: string[] = [ADMIN_TOKEN];

  /** The trail as the admin reads it, with a query string. */
  const trail = async (query = '', token: string = ADMIN_TOKEN) => {
    const res = await gw.api('GET', `/api/audit${query}`, undefined, token);
    expect(res.status).toBe(200);
    return res.body as Array<Record<string, any>>;
  };
  /** The newest record of `action`, once it is there. */
  const newest = (action: string, target?: string) =>
    eventually(async () => (await trail(`?action=${action}${target ? `&target=${encodeURIComponent(target)}` : ''}`))[0]);

  /** An operator of `role` on `sites`; its token and MQTT password are remembered as secrets. */
  async function operator(name: string, sites: string[], role: string) {
    const res = await gw.api('POST', '/api/operators', { name, sites, role });
    expect(res.status).toBe(201);
    secrets.push(res.body.token, res.body.mqtt.password);
    return { id: res.body.id as string, token: res.body.token as string };
  }

  beforeAll(async () => {
    dir = await dataDirWithFolders();
    gw = await startGateway({ COMMAND_TIMEOUT: '300ms' }, dir);
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('records an acknowledgement and a clear with who, from where, what, to what and the note', async () => {
    const desk = await operator('Desk', [SITE], 'maintenance');
    const alarm = gw.gateway.alarms.raise(smoke('fire-a1')).alarm;
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, { note: 'on my way' }, desk.token)).status).toBe(200);
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/clear`, {}, desk.token)).status).toBe(200);
    expect(await newest('alarm.acknowledge', alarm.id)).toStrictEqual({
      id: expect.any(Number),
      at: expect.any(String),
      actor: 'Desk',
      source: '127.0.0.1',
      action: 'alarm.acknowledge',
      target: alarm.id,
      site: SITE,
      changes: { note: 'on my way' },
    });
    expect(await newest('alarm.clear', alarm.id)).toMatchObject({ actor: 'Desk', source: '127.0.0.1', target: alarm.id, site: SITE });
  });

  it('records a registration by its device id and site, without the password it answered', async () => {
    const creds = await gw.register('door-1', 'access', SITE, 'b1-f1');
    secrets.push(creds.password);
    expect(await newest('device.register', 'door-1')).toMatchObject({
      actor: 'admin',
      source: '127.0.0.1',
      target: 'door-1',
      site: SITE,
      changes: { id: 'door-1', kind: 'access', site: SITE, zone: 'b1-f1' },
    });
  });

  it("records a command with its action and parameters", async () => {
    const creds = await gw.register('lamp-1', 'lighting', SITE, 'path-a');
    secrets.push(creds.password);
    const lamp = await gw.connect(creds);
    await lamp.subscribeAsync(`sc/${SITE}/lighting/lamp-1/cmd`, { qos: 1 });
    lamp.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString());
      lamp.publish(`sc/${SITE}/lighting/lamp-1/cmd/result`, JSON.stringify({ id: cmd.id, ok: true, action: cmd.action }), { qos: 1 });
    });
    expect((await gw.api('POST', '/api/devices/lamp-1/commands', { action: 'dim', params: { brightnessPct: 30 } })).status).toBe(200);
    expect(await newest('command.send', 'lamp-1')).toMatchObject({
      actor: 'admin',
      source: '127.0.0.1',
      target: 'lamp-1',
      site: SITE,
      changes: { action: 'dim', params: { brightnessPct: 30 } },
    });
  });

  it('records a command the device did not answer in time: it went out all the same', async () => {
    secrets.push((await gw.register('lamp-2', 'lighting', SITE, 'path-a')).password);
    expect((await gw.api('POST', '/api/devices/lamp-2/commands', { action: 'on' })).status).toBe(504);
    expect(await newest('command.send', 'lamp-2')).toMatchObject({ actor: 'admin', target: 'lamp-2', site: SITE, changes: { action: 'on', status: 504 } });
  });

  it('records a deletion with the site the device had', async () => {
    secrets.push((await gw.register('door-2', 'access', SITE, 'b1-f1')).password);
    expect((await gw.api('DELETE', '/api/devices/door-2')).status).toBe(204);
    const record = await newest('device.delete', 'door-2');
    expect(record).toMatchObject({ actor: 'admin', source: '127.0.0.1', target: 'door-2', site: SITE });
    expect(record.changes).toBeUndefined();
  });

  it('records a silence by the id it was given, and its end', async () => {
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const res = await gw.api('POST', '/api/silences', { site: SITE, match: { zone: 'b3' }, to, reason: 'painting the stairwell' });
    expect(res.status).toBe(201);
    expect(await newest('silence.create', res.body.id)).toMatchObject({
      actor: 'admin',
      target: res.body.id,
      site: SITE,
      changes: { site: SITE, match: { zone: 'b3' }, to, reason: 'painting the stairwell' },
    });
    expect((await gw.api('DELETE', `/api/silences/${res.body.id}`)).status).toBe(200);
    expect(await newest('silence.delete', res.body.id)).toMatchObject({ actor: 'admin', target: res.body.id, site: SITE });
  });

  it('records a work order opened and changed, by the id it was given', async () => {
    const made = await gw.api('POST', '/api/workorders', { site: SITE, title: 'Replace detector', category: 'fire' });
    expect(made.status).toBe(201);
    expect(await newest('workorder.create', made.body.id)).toMatchObject({ actor: 'admin', target: made.body.id, site: SITE, changes: { site: SITE, title: 'Replace detector', category: 'fire' } });
    expect((await gw.api('PATCH', `/api/workorders/${made.body.id}`, { status: 'in_progress', note: 'ladder fetched' })).status).toBe(200);
    expect(await newest('workorder.update', made.body.id)).toMatchObject({ target: made.body.id, site: SITE, changes: { status: 'in_progress', note: 'ladder fetched' } });
  });

  it('records a new device password without the password', async () => {
    secrets.push((await gw.register('door-3', 'access', SITE, 'b1-f1')).password);
    const res = await gw.api('POST', '/api/devices/door-3/credentials', { overlap: '1m' });
    expect(res.status).toBe(200);
    secrets.push(...Object.values(res.body.mqtt ?? res.body).filter((v): v is string => typeof v === 'string' && v.length >= 16));
    expect(await newest('device.credentials', 'door-3')).toMatchObject({ actor: 'admin', source: '127.0.0.1', target: 'door-3', site: SITE, changes: { overlap: '1m' } });
  });

  it('records the reloads asked through the API', async () => {
    for (const what of ['rules', 'profiles', 'sites']) {
      expect((await gw.api('POST', `/api/${what}/reload`)).status).toBe(200);
      expect(await newest(`${what}.reload`)).toMatchObject({ actor: 'admin', source: '127.0.0.1', action: `${what}.reload` });
    }
  });

  it('records a reload caused by an edit in the rules folder as the gateway itself, with the file', async () => {
    await writeFile(join(dir, 'rules', 'smoke.yaml'), RULE);
    const record = await eventually(async () => (await trail('?actor=system&action=rules.reload'))[0]);
    expect(record).toMatchObject({ actor: 'system', source: 'file', action: 'rules.reload', target: join(dir, 'rules'), changes: { files: ['smoke.yaml'], loaded: 1 } });
    await writeFile(join(dir, 'rules', 'smoke.yaml'), 'not: [valid');
    const refused = await eventually(async () => (await trail('?actor=system&action=rules.reload')).find((r) => r.changes.refused));
    expect(refused).toMatchObject({ source: 'file', target: join(dir, 'rules'), changes: { files: ['smoke.yaml'], refused: 1 } });
  });

  it('records operator changes: creation, role and sites, tokens issued and revoked, deletion', async () => {
    const night = await operator('Night', [SITE], 'guard');
    expect(await newest('operator.create', night.id)).toMatchObject({ actor: 'admin', source: '127.0.0.1', target: night.id, changes: { name: 'Night', sites: [SITE], role: 'guard' } });
    expect((await gw.api('PATCH', `/api/operators/${night.id}`, { role: 'maintenance', sites: [SITE, OTHER] })).status).toBe(200);
    expect(await newest('operator.update', night.id)).toMatchObject({ actor: 'admin', target: night.id, changes: { role: 'maintenance', sites: [SITE, OTHER] } });
    const issued = await gw.api('POST', `/api/operators/${night.id}/tokens`, { expiresIn: '1d' });
    expect(issued.status).toBe(201);
    secrets.push(issued.body.token);
    expect(await newest('operator.token.create', night.id)).toMatchObject({ actor: 'admin', target: night.id, changes: { expiresIn: '1d', created: issued.body.id } });
    expect((await gw.api('DELETE', `/api/operators/${night.id}/tokens/${issued.body.id}`)).status).toBe(200);
    expect(await newest('operator.token.revoke', night.id)).toMatchObject({ actor: 'admin', target: night.id, changes: { tokenId: issued.body.id } });
    expect((await gw.api('DELETE', `/api/operators/${night.id}`)).status).toBe(204);
    expect(await newest('operator.delete', night.id)).toMatchObject({ actor: 'admin', target: night.id });
  });

  it('records a login once per person and address while the console keeps asking', async () => {
    const gate = await operator('Gate', [SITE], 'viewer');
    for (let i = 0; i < 3; i++) expect((await gw.api('GET', '/api/me', undefined, gate.token)).status).toBe(200);
    const logins = await trail('?action=login&actor=Gate');
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ actor: 'Gate', source: '127.0.0.1', action: 'login', target: gate.id });
    expect(logins[0].changes).toBeUndefined();
  });

  it('does not record refused calls: no token, a bad token, a role too low, a bad body, an unknown alarm', async () => {
    const viewer = await operator('Viewer', [SITE], 'viewer');
    const alarm = gw.gateway.alarms.raise(smoke('fire-a2')).alarm;
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, {}, null)).status).toBe(401);
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, {}, 'not-a-token-of-anyone-at-all')).status).toBe(401);
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, {}, viewer.token)).status).toBe(403);
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, { note: 42 })).status).toBe(400);
    expect((await gw.api('POST', '/api/alarms/alm-nothing/ack', {})).status).toBe(404);
    expect((await gw.api('POST', '/api/devices', { id: 'x', kind: 'no-such-kind', site: SITE, zone: 'z' })).status).toBe(400);
    expect(await trail(`?target=${alarm.id}`)).toStrictEqual([]);
    expect(await trail('?target=alm-nothing')).toStrictEqual([]);
    expect(await trail('?target=x')).toStrictEqual([]);
  });

  it('filters by actor, exact action, action prefix, target and time, newest first and limited', async () => {
    const all = await trail();
    expect(all.length).toBeGreaterThan(10);
    expect(all.map((r) => Date.parse(r.at))).toStrictEqual([...all.map((r) => Date.parse(r.at))].sort((a, b) => b - a));
    const alarms = await trail('?action=alarm.');
    expect(new Set(alarms.map((r) => r.action))).toStrictEqual(new Set(['alarm.acknowledge', 'alarm.clear']));
    expect((await trail('?action=alarm')).length).toBe(0);
    expect((await trail('?actor=Desk')).every((r) => r.actor === 'Desk')).toBe(true);
    expect((await trail('?target=door-1')).map((r) => r.action)).toStrictEqual(['device.register']);
    expect(await trail('?limit=2')).toStrictEqual(all.slice(0, 2));
    const middle = all[Math.floor(all.length / 2)];
    const upTo = await trail(`?to=${encodeURIComponent(middle.at)}`);
    expect(upTo.every((r) => r.at <= middle.at)).toBe(true);
    expect(upTo.map((r) => r.id)).toContain(middle.id);
    const since = await trail(`?from=${encodeURIComponent(middle.at)}`);
    expect(since.every((r) => r.at >= middle.at)).toBe(true);
    expect(since.length + upTo.length).toBeGreaterThanOrEqual(all.length);
  });

  it('refuses a bad time, a reversed range and a limit above 1000, naming the field', async () => {
    expect(await gw.api('GET', '/api/audit?from=yesterday')).toMatchObject({ status: 400, body: { error: 'validation_failed', message: expect.stringMatching(/^querystring\.from: /) } });
    expect(await gw.api('GET', '/api/audit?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z')).toMatchObject({ status: 400, body: { error: 'validation_failed', message: 'to: must not be before from' } });
    expect(await gw.api('GET', '/api/audit?limit=5000')).toMatchObject({ status: 400, body: { error: 'validation_failed', message: 'limit: must be at most 1000' } });
    expect(await gw.api('GET', '/api/audit?colour=red')).toMatchObject({ status: 400, body: { message: 'querystring.colour: unknown field' } });
  });

  it("shows a supervisor their sites' records, the shared folders' reloads and their own; no viewer reads it", async () => {
    const oak = await operator('Oak', [OTHER], 'supervisor');
    const alarm = gw.gateway.alarms.raise(smoke('fire-o1', OTHER)).alarm;
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, {}, oak.token)).status).toBe(200);
    await gw.api('GET', '/api/me', undefined, oak.token);
    const seen = await trail('', oak.token);
    expect(seen.map((r) => r.target)).toContain(alarm.id);
    expect(seen.filter((r) => r.site !== undefined).every((r) => r.site === OTHER)).toBe(true);
    expect(seen.filter((r) => r.site === undefined).every((r) => r.actor === 'Oak' || /^(rules|profiles|sites)\./.test(r.action))).toBe(true);
    expect(seen.map((r) => r.action)).toEqual(expect.arrayContaining(['login', 'rules.reload']));
    const viewer = await operator('Reader', [OTHER], 'viewer');
    expect((await gw.api('GET', '/api/audit', undefined, viewer.token)).status).toBe(403);
  });

  it('never holds a secret it handed out', async () => {
    const text = JSON.stringify(await trail('?limit=1000'));
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/"(password|token)"/);
  });
});

describe('audit retention', () => {
  it('prunes the records older than AUDIT_RETENTION at start', async () => {
    const dir = await dataDirWithFolders();
    let gw = await startGateway({ AUDIT_RETENTION: '2s' }, dir);
    try {
      expect((await gw.api('GET', '/api/me')).status).toBe(200);
      expect((await gw.api('GET', '/api/audit?action=login')).body).toHaveLength(1);
      await gw.stop();
      await new Promise((resolve) => setTimeout(resolve, 2100));
      gw = await startGateway({ AUDIT_RETENTION: '2s' }, dir);
      expect((await gw.api('POST', '/api/rules/reload')).status).toBe(200);
      await eventually(async () => (await gw.api('GET', '/api/audit')).body.length === 1);
      expect((await gw.api('GET', '/api/audit')).body).toMatchObject([{ action: 'rules.reload' }]);
    } finally {
      await gw.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
