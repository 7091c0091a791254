import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_SITES } from '../../src/shared/language.js';
import { wallClock } from '../../src/shared/wall-clock.js';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { createOperator, retainedNow, watch } from '../helpers/operator.js';

const SITE = 'maple-court';
const OTHER = 'oak-park';
const REQUEST = { site: SITE, title: 'Lift 2 stuck between floors', category: 'lift', zone: 'b1', note: 'resident of 12B called' };
const topic = (id: string) => `sc/${SITE}/workorders/${id}`;
const two = (n: number) => String(n).padStart(2, '0');

describe('work orders over MQTT and the API (contract §4, §5)', () => {
  let gw: TestGateway;
  let desk: Awaited<ReturnType<typeof createOperator>>;
  let elsewhere: Awaited<ReturnType<typeof createOperator>>;

  beforeAll(async () => {
    gw = await startGateway({ WORKORDER_DUE_URGENT: '1500ms' });
    desk = await createOperator(gw, 'Desk', [SITE], 'supervisor');
    elsewhere = await createOperator(gw, 'Elsewhere', [OTHER], 'supervisor');
  });
  afterAll(() => gw?.stop());

  it('creates a work order with 201, due after its priority, and publishes it retained', async () => {
    const res = await gw.api('POST', '/api/workorders', REQUEST, desk.token);
    const { id, createdAt } = res.body;
    expect(res).toStrictEqual({
      status: 201,
      body: {
        id,
        site: SITE,
        title: REQUEST.title,
        // One title given by hand: the same in every language.
        titles: { 'zh-CN': REQUEST.title, en: REQUEST.title },
        category: 'lift',
        priority: 'normal',
        status: 'open',
        zone: 'b1',
        createdAt,
        dueAt: new Date(Date.parse(createdAt) + 24 * 3_600_000).toISOString(),
        overdue: false,
        history: [{ at: createdAt, by: 'Desk', status: 'open', note: REQUEST.note }],
      },
    });
    expect(await retainedNow(gw, desk.mqtt, [topic(id)])).toStrictEqual([{ topic: topic(id), retain: true, body: res.body }]);
    expect(await gw.api('GET', `/api/workorders/${id}`, undefined, desk.token)).toStrictEqual({ status: 200, body: res.body });
  });

  it('takes every transition through the API, refuses the illegal ones with 409 and records the history', async () => {
    const { id } = (await gw.api('POST', '/api/workorders', { ...REQUEST, priority: 'high' })).body;
    const patch = (body: object, token = desk.token) => gw.api('PATCH', `/api/workorders/${id}`, body, token);
    const illegal = (from: string, to: string) => ({
      status: 409,
      body: { error: 'illegal_transition', message: `cannot move work order ${id} from ${from} to ${to}` },
    });
    expect(await patch({ status: 'resolved' })).toStrictEqual(illegal('open', 'resolved'));
    expect((await patch({ assignee: 'Ana' })).body).toMatchObject({ status: 'assigned', assignee: 'Ana' });
    expect((await patch({ status: 'in_progress', note: 'on site' })).body.status).toBe('in_progress');
    expect(await patch({ status: 'closed' })).toStrictEqual(illegal('in_progress', 'closed'));
    expect((await patch({ status: 'resolved', note: 'controller reset' })).body.status).toBe('resolved');
    expect((await patch({ status: 'in_progress', note: 'stuck again' })).body.status).toBe('in_progress');
    expect((await patch({ status: 'resolved', note: 'door sensor replaced' })).body.status).toBe('resolved');
    expect(await patch({ status: 'cancelled' })).toStrictEqual(illegal('resolved', 'cancelled'));
    const live = await watch(gw, desk.mqtt, [topic(id)]);
    await live.take(1);
    const closed = await patch({ status: 'closed' }, ADMIN_TOKEN);
    expect(closed.status).toBe(200);
    expect(await patch({ status: 'open' })).toStrictEqual(illegal('closed', 'open'));
    expect(await patch({ note: 'invoice sent' })).toStrictEqual({
      status: 409,
      body: { error: 'illegal_transition', message: `work order ${id} is closed; it cannot change any more` },
    });
    const steps = closed.body.history.map(({ by, status, assignee, note }: Record<string, string>) => ({ by, status, assignee, note }));
    expect(steps).toStrictEqual([
      { by: 'admin', status: 'open', assignee: undefined, note: REQUEST.note },
      { by: 'Desk', status: 'assigned', assignee: 'Ana', note: undefined },
      { by: 'Desk', status: 'in_progress', assignee: undefined, note: 'on site' },
      { by: 'Desk', status: 'resolved', assignee: undefined, note: 'controller reset' },
      { by: 'Desk', status: 'in_progress', assignee: undefined, note: 'stuck again' },
      { by: 'Desk', status: 'resolved', assignee: undefined, note: 'door sensor replaced' },
      { by: 'admin', status: 'closed', assignee: undefined, note: undefined },
    ]);
    expect(await live.take(2)).toStrictEqual([
      { topic: topic(id), retain: false, body: closed.body },
      { topic: topic(id), retain: false, body: '' },
    ]);
    expect(await retainedNow(gw, desk.mqtt, [topic(id)])).toStrictEqual([]);
  });

  it('refuses bad input with 400 naming the field', async () => {
    const { id } = (await gw.api('POST', '/api/workorders', REQUEST)).body;
    const cases: Array<[string, string, object, string]> = [
      ['POST', '/api/workorders', { site: SITE, category: 'lift' }, 'body.title: is required'],
      ['POST', '/api/workorders', { ...REQUEST, priority: 'asap' }, 'body.priority: must be one of urgent, high, normal, low'],
      ['POST', '/api/workorders', { ...REQUEST, device: 'no-such-device' }, 'device: "no-such-device" is not a registered device of site maple-court'],
      ['POST', '/api/workorders', { ...REQUEST, alarm: 'alm-nope' }, 'alarm: alarm "alm-nope" does not exist on site maple-court'],
      ['PATCH', `/api/workorders/${id}`, {}, 'body: must NOT have fewer than 1 properties'],
      ['PATCH', `/api/workorders/${id}`, { status: 'done' }, 'body.status: must be one of open, assigned, in_progress, resolved, closed, cancelled'],
      ['PATCH', `/api/workorders/${id}`, { status: 'assigned' }, 'assignee: is required to assign a work order'],
    ];
    for (const [method, path, body, message] of cases) {
      expect(await gw.api(method, path, body)).toStrictEqual({ status: 400, body: { error: 'validation_failed', message } });
    }
    expect(await gw.api('GET', '/api/workorders/wo-nope')).toStrictEqual({
      status: 404,
      body: { error: 'not_found', message: 'work order "wo-nope" does not exist' },
    });
  });

  it('links a work order to its alarm both ways', async () => {
    const alarm = gw.gateway.alarms.raise({ site: SITE, type: 'lift_fault', severity: 'major', source: 'b1', rule: 'manual', message: 'Lift 2 fault' }).alarm;
    const wo = (await gw.api('POST', '/api/workorders', { ...REQUEST, alarm: alarm.id }, desk.token)).body;
    expect(wo.alarm).toBe(alarm.id);
    expect((await gw.api('GET', `/api/alarms/${alarm.id}`, undefined, desk.token)).body).toStrictEqual({ ...alarm, workOrder: wo.id, notifications: [] });
    expect((await gw.api('GET', `/api/workorders?alarm=${alarm.id}`, undefined, desk.token)).body).toStrictEqual([wo]);
  });

  it('marks an urgent work order overdue and raises a critical alarm, cleared when it is resolved', async () => {
    const created = (await gw.api('POST', '/api/workorders', { ...REQUEST, priority: 'urgent', assignee: 'Ana' }, desk.token)).body;
    const alarmTopic = `sc/${SITE}/alarms/critical/workorder_overdue/${created.id}`;
    const live = await watch(gw, desk.mqtt, [alarmTopic]);
    const [raised] = await live.take(1);
    expect(raised.body).toMatchObject({ type: 'workorder_overdue', severity: 'critical', state: 'active', source: created.id, workOrder: created.id });
    // No site file: Chinese first, the due time on the gateway's own clock (its time zone).
    const c = wallClock(Date.parse(created.dueAt), NO_SITES.timeZone(SITE));
    const due = `${c.year}-${two(c.month)}-${two(c.day)} ${two(c.hour)}:${two(c.minute)}`;
    expect([raised.body.message, raised.body.messages]).toStrictEqual([
      `工单 ${created.id}“${REQUEST.title}”已逾期（应于 ${due} 完成）`,
      { 'zh-CN': `工单 ${created.id}“${REQUEST.title}”已逾期（应于 ${due} 完成）`, en: `Work order ${created.id} "${REQUEST.title}" is overdue (due ${due})` },
    ]);
    expect((await gw.api('GET', `/api/workorders/${created.id}`, undefined, desk.token)).body.overdue).toBe(true);
    await gw.api('PATCH', `/api/workorders/${created.id}`, { status: 'in_progress' }, desk.token);
    await gw.api('PATCH', `/api/workorders/${created.id}`, { status: 'resolved' }, desk.token);
    const [final, deleted] = await live.take(2);
    expect([final.body.state, final.body.clearedBy, deleted.body]).toStrictEqual(['cleared', 'rule:workorder_overdue', '']);
  });

  it('shows an operator of another site none of it', async () => {
    const mine = (await gw.api('POST', '/api/workorders', REQUEST)).body;
    const theirs = (await gw.api('POST', '/api/workorders', { ...REQUEST, site: OTHER }, elsewhere.token)).body;
    expect(await gw.api('GET', '/api/workorders', undefined, elsewhere.token)).toStrictEqual({ status: 200, body: [theirs] });
    expect((await gw.api('GET', `/api/workorders?site=${SITE}`, undefined, elsewhere.token)).body).toStrictEqual([]);
    const notFound = { status: 404, body: { error: 'not_found', message: `work order "${mine.id}" does not exist` } };
    expect(await gw.api('GET', `/api/workorders/${mine.id}`, undefined, elsewhere.token)).toStrictEqual(notFound);
    expect(await gw.api('PATCH', `/api/workorders/${mine.id}`, { status: 'cancelled' }, elsewhere.token)).toStrictEqual(notFound);
    expect(await gw.api('POST', '/api/workorders', REQUEST, elsewhere.token)).toStrictEqual({
      status: 403,
      body: { error: 'forbidden', message: `no access to site ${SITE}` },
    });
    expect((await gw.api('GET', `/api/workorders/${mine.id}`)).body.status).toBe('open');
    expect(await retainedNow(gw, elsewhere.mqtt, [`sc/${OTHER}/workorders/#`])).toStrictEqual([
      { topic: `sc/${OTHER}/workorders/${theirs.id}`, retain: true, body: theirs },
    ]);
  });

  it('lists the work order routes in the OpenAPI document', async () => {
    const docs = await gw.api('GET', '/docs', undefined, null);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/api/workorders', '/api/workorders/{id}']));
    expect(Object.keys(docs.body.paths['/api/workorders/{id}'])).toEqual(expect.arrayContaining(['get', 'patch']));
    expect(docs.body.paths['/api/workorders'].post.tags).toStrictEqual(['workorders']);
  });
});

describe('work orders across a gateway restart', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-workorders-'));
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps work orders, republishes the unclosed ones retained, and still makes them overdue on time', async () => {
    const env = { WORKORDER_DUE_URGENT: '3s' };
    gw = await startGateway(env, dataDir);
    const desk = await createOperator(gw, 'Desk', [SITE], 'supervisor');
    const open = (await gw.api('POST', '/api/workorders', REQUEST)).body;
    const urgent = (await gw.api('POST', '/api/workorders', { ...REQUEST, priority: 'urgent' })).body;
    const cancelled = (await gw.api('POST', '/api/workorders', REQUEST)).body;
    await gw.api('PATCH', `/api/workorders/${cancelled.id}`, { status: 'cancelled' });
    await gw.stop();

    gw = await startGateway(env, dataDir);
    const retained = await retainedNow(gw, desk.mqtt, [`sc/${SITE}/workorders/#`]);
    expect(retained).toStrictEqual(
      [
        { topic: topic(open.id), retain: true, body: open },
        { topic: topic(urgent.id), retain: true, body: urgent },
      ].sort((a, b) => a.topic.localeCompare(b.topic)),
    );
    expect((await gw.api('GET', `/api/workorders/${cancelled.id}`)).body.status).toBe('cancelled');
    await eventually(async () => (await gw!.api('GET', `/api/workorders/${urgent.id}`)).body.overdue === true, 5000, 100);
    const alarms = (await gw.api('GET', `/api/alarms?type=workorder_overdue`)).body;
    expect(alarms.map((a: { source: string; severity: string }) => [a.source, a.severity])).toStrictEqual([[urgent.id, 'critical']]);
  });
});
