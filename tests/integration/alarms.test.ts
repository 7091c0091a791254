import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AlarmRaise } from '../../src/alarms/model.js';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { createOperator, retainedNow, watch } from '../helpers/operator.js';

const SITE = 'maple-court';
const OTHER = 'oak-park';
const DB = 'alarms_it';

/** A smoke alarm of its own source, so the tests of this suite do not bump each other's alarms. */
function smoke(source: string, over: Partial<AlarmRaise> = {}): AlarmRaise {
  return { site: SITE, type: 'smoke', severity: 'major', source, device: source, kind: 'fire', zone: 'b3', rule: 'fire-smoke', message: `Smoke at ${source}`, value: 12, ...over };
}
const topic = (source: string, severity = 'major') => `sc/${SITE}/alarms/${severity}/smoke/${source}`;

describe('alarms over MQTT and the API (contract §4, §5)', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let desk: Awaited<ReturnType<typeof createOperator>>;
  let elsewhere: Awaited<ReturnType<typeof createOperator>>;

  beforeAll(async () => {
    influx = await startInflux();
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB });
    desk = await createOperator(gw, 'Desk', [SITE], 'supervisor');
    elsewhere = await createOperator(gw, 'Elsewhere', [OTHER], 'supervisor');
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
  });

  it('shows a new subscriber exactly the open alarms, retained', async () => {
    const alarms = gw.gateway.alarms;
    const active = alarms.raise(smoke('fire-r1')).alarm;
    const acked = alarms.ack(alarms.raise(smoke('fire-r2')).alarm.id, 'Desk');
    alarms.clear(alarms.raise(smoke('fire-r3')).alarm.id, 'Desk');
    const seen = await retainedNow(gw, desk.mqtt, [`sc/${SITE}/alarms/+/smoke/+`]);
    expect(seen.filter((m) => /fire-r\d$/.test(m.topic))).toStrictEqual([
      { topic: topic('fire-r1'), retain: true, body: active },
      { topic: topic('fire-r2'), retain: true, body: acked },
    ]);
  });

  it('publishes the final state of a cleared alarm, then deletes its retained message', async () => {
    const { id } = gw.gateway.alarms.raise(smoke('fire-c1')).alarm;
    const live = await watch(gw, desk.mqtt, [topic('fire-c1')]);
    expect((await live.take(1))[0].body.state).toBe('active');
    const res = await gw.api('POST', `/api/alarms/${id}/clear`, { note: 'dust from works' }, desk.token);
    expect(res.status).toBe(200);
    expect(await live.take(2)).toStrictEqual([
      { topic: topic('fire-c1'), retain: false, body: res.body },
      { topic: topic('fire-c1'), retain: false, body: '' },
    ]);
    expect(await retainedNow(gw, desk.mqtt, [topic('fire-c1')])).toStrictEqual([]);
  });

  it('moves the alarm when its severity changes, emptying the old topic', async () => {
    gw.gateway.alarms.raise(smoke('fire-s1'));
    const live = await watch(gw, desk.mqtt, [`sc/${SITE}/alarms/+/smoke/fire-s1`]);
    await live.take(1);
    const { alarm } = gw.gateway.alarms.raise(smoke('fire-s1', { severity: 'critical', value: 40 }));
    expect(await live.take(2)).toStrictEqual([
      { topic: topic('fire-s1', 'major'), retain: false, body: '' },
      { topic: topic('fire-s1', 'critical'), retain: false, body: alarm },
    ]);
    expect(await retainedNow(gw, desk.mqtt, [`sc/${SITE}/alarms/+/smoke/fire-s1`])).toStrictEqual([
      { topic: topic('fire-s1', 'critical'), retain: true, body: { ...alarm, count: 2, severity: 'critical', value: 40 } },
    ]);
  });

  it('acknowledges and clears through the API and refuses the illegal transitions with 409', async () => {
    const raised = gw.gateway.alarms.raise(smoke('fire-a1')).alarm;
    const ack = await gw.api('POST', `/api/alarms/${raised.id}/ack`, undefined, desk.token);
    const acked = { ...raised, state: 'acknowledged', acknowledged: true, ackedBy: 'Desk', ackedAt: ack.body.ackedAt };
    expect(ack).toStrictEqual({ status: 200, body: acked });
    expect(await gw.api('POST', `/api/alarms/${raised.id}/ack`, {}, desk.token)).toStrictEqual({
      status: 409,
      body: { error: 'illegal_transition', message: `alarm ${raised.id} is already acknowledged` },
    });
    const clear = await gw.api('POST', `/api/alarms/${raised.id}/clear`, { note: 'reset the detector' });
    expect(clear).toStrictEqual({
      status: 200,
      body: { ...acked, state: 'cleared', clearedBy: 'admin', clearedAt: clear.body.clearedAt, note: 'reset the detector' },
    });
    expect(await gw.api('POST', `/api/alarms/${raised.id}/clear`, {}, desk.token)).toStrictEqual({
      status: 409,
      body: { error: 'illegal_transition', message: `alarm ${raised.id} is already cleared` },
    });
    expect((await gw.api('POST', `/api/alarms/${raised.id}/ack`)).body.error).toBe('illegal_transition');
    expect(await gw.api('GET', `/api/alarms/${raised.id}`, undefined, desk.token)).toStrictEqual({ status: 200, body: { ...clear.body, notifications: [] } });
    const history = await gw.api('GET', `/api/alarms/${raised.id}/history`, undefined, desk.token);
    expect(history.body.map((t: { transition: string; by: string; note?: string }) => [t.transition, t.by, t.note])).toStrictEqual([
      ['raised', 'fire-smoke', undefined],
      ['acknowledged', 'Desk', undefined],
      ['cleared', 'admin', 'reset the detector'],
    ]);
    expect(history.body[1]).toMatchObject({ at: acked.ackedAt, alarm: acked });
    expect((await gw.api('GET', `/api/alarms/${raised.id}/history`, undefined, elsewhere.token)).status).toBe(404);
  });

  it('lists alarms newest first with filters, and refuses a bad filter naming it', async () => {
    const heat = gw.gateway.alarms.raise(smoke('fire-l1', { type: 'heat', severity: 'minor' })).alarm;
    const list = await gw.api('GET', `/api/alarms?site=${SITE}&type=heat&state=active`, undefined, desk.token);
    expect(list).toStrictEqual({ status: 200, body: [heat] });
    const all = (await gw.api('GET', '/api/alarms')).body as Array<{ firstSeen: string }>;
    expect(all.map((a) => a.firstSeen)).toStrictEqual(all.map((a) => a.firstSeen).sort().reverse());
    expect(await gw.api('GET', '/api/alarms?severity=loud')).toStrictEqual({
      status: 400,
      body: { error: 'validation_failed', message: 'querystring.severity: must be one of critical, major, minor, warning' },
    });
    expect((await gw.api('POST', `/api/alarms/${heat.id}/ack`, { note: 'x', colour: 'red' })).body.message).toBe('body.colour: unknown field');
    expect(await gw.api('GET', '/api/alarms/alm-nope')).toStrictEqual({ status: 404, body: { error: 'not_found', message: 'alarm "alm-nope" does not exist' } });
  });

  it("lists one device's alarms raised within a time range (a device page's chart marks them)", async () => {
    const before = new Date().toISOString();
    const first = gw.gateway.alarms.raise(smoke('fire-d1')).alarm;
    const second = gw.gateway.alarms.raise(smoke('fire-d1', { type: 'heat' })).alarm;
    gw.gateway.alarms.raise(smoke('fire-d2'));
    const after = new Date(Date.now() + 1000).toISOString();
    const list = await gw.api('GET', `/api/alarms?device=fire-d1&from=${before}&to=${after}`, undefined, desk.token);
    expect(list).toStrictEqual({ status: 200, body: [second, first] });
    // A millisecond before them: they may be raised within the millisecond of `before`, and `to` includes it.
    const justBefore = new Date(Date.parse(before) - 1).toISOString();
    expect((await gw.api('GET', `/api/alarms?device=fire-d1&to=${justBefore}`, undefined, desk.token)).body).toStrictEqual([]);
    expect((await gw.api('GET', '/api/alarms?from=yesterday')).body.message).toMatch(/^querystring\.from: /);
  });

  it('shows an operator of another site none of it', async () => {
    const mine = gw.gateway.alarms.raise(smoke('fire-o1')).alarm;
    const theirs = gw.gateway.alarms.raise(smoke('fire-o2', { site: OTHER })).alarm;
    const list = await gw.api('GET', '/api/alarms', undefined, elsewhere.token);
    expect(list).toStrictEqual({ status: 200, body: [theirs] });
    expect((await gw.api('GET', `/api/alarms?site=${SITE}`, undefined, elsewhere.token)).body).toStrictEqual([]);
    for (const [method, path] of [['GET', ''], ['POST', '/ack'], ['POST', '/clear']]) {
      const res = await gw.api(method, `/api/alarms/${mine.id}${path}`, method === 'POST' ? {} : undefined, elsewhere.token);
      expect(res).toStrictEqual({ status: 404, body: { error: 'not_found', message: `alarm "${mine.id}" does not exist` } });
    }
    expect(gw.gateway.alarms.get(mine.id)?.state).toBe('active');
    expect(await retainedNow(gw, elsewhere.mqtt, [`sc/${OTHER}/alarms/#`])).toStrictEqual([
      { topic: `sc/${OTHER}/alarms/major/smoke/fire-o2`, retain: true, body: theirs },
    ]);
  });

  it('writes every transition to the alarms measurement of InfluxDB, even three within one millisecond', async () => {
    // The clock stands still: InfluxDB would keep one point of three written at the same time on one series.
    vi.useFakeTimers({ toFake: ['Date'] });
    let id: string;
    try {
      id = gw.gateway.alarms.raise(smoke('fire-i1', { value: 17 })).alarm.id;
      gw.gateway.alarms.ack(id, 'Desk');
      gw.gateway.alarms.clear(id, 'Desk');
    } finally {
      vi.useRealTimers();
    }
    const rows = await eventually(async () => {
      const r = await influx.query(`SELECT "state", "id", "value", "severity", "source", "type" FROM "alarms" WHERE "id" = '${id}'`, DB).catch(() => []);
      return r.length === 3 ? r : undefined;
    });
    expect(rows.map(({ state, value, severity, source, type }) => ({ state, value, severity, source, type }))).toStrictEqual(
      ['active', 'acknowledged', 'cleared'].map((state) => ({ state, value: 17, severity: 'major', source: 'fire-i1', type: 'smoke' })),
    );
  });

  it('lists the alarm routes in the OpenAPI document', async () => {
    const docs = await gw.api('GET', '/docs', undefined, null);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/api/alarms', '/api/alarms/{id}', '/api/alarms/{id}/ack', '/api/alarms/{id}/clear']));
    expect(docs.body.paths['/api/alarms/{id}/ack'].post.tags).toStrictEqual(['alarms']);
  });
});

describe('alarms across a gateway restart', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-alarms-'));
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps open alarms, republishes them retained, and escalates on time after the restart', async () => {
    gw = await startGateway({}, dataDir);
    const desk = await createOperator(gw, 'Desk', [SITE], 'supervisor');
    const open = gw.gateway.alarms.raise(smoke('fire-x1')).alarm;
    const escalating = gw.gateway.alarms.raise(smoke('fire-x2', { escalate: { afterMs: 2500, to: 'critical' } })).alarm;
    const acked = gw.gateway.alarms.ack(gw.gateway.alarms.raise(smoke('fire-x3')).alarm.id, 'Desk');
    gw.gateway.alarms.clear(gw.gateway.alarms.raise(smoke('fire-x4')).alarm.id, 'Desk');
    await gw.stop();

    gw = await startGateway({}, dataDir);
    expect(await retainedNow(gw, desk.mqtt, [`sc/${SITE}/alarms/#`])).toStrictEqual([
      { topic: topic('fire-x1'), retain: true, body: open },
      { topic: topic('fire-x2'), retain: true, body: escalating },
      { topic: topic('fire-x3'), retain: true, body: acked },
    ]);
    await eventually(async () => (await gw!.api('GET', `/api/alarms/${escalating.id}`)).body.severity === 'critical', 5000, 100);
    expect(await retainedNow(gw, desk.mqtt, [`sc/${SITE}/alarms/+/smoke/fire-x2`])).toStrictEqual([
      { topic: topic('fire-x2', 'critical'), retain: true, body: { ...escalating, severity: 'critical' } },
    ]);
  });
});
