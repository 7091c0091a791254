import { describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { NO_SITES, type SitePlaces } from '../../../src/shared/language.js';
import type { WorkOrderCreate } from '../../../src/workorders/model.js';
import { DUE_MS, harnessPerTest } from '../alarms/harness.js';

const T0 = Date.parse('2025-03-01T08:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const LIFT: WorkOrderCreate = {
  site: 'maple-court',
  title: 'Lift 2 stuck between floors',
  category: 'lift',
  priority: 'normal',
  zone: 'b1',
  by: 'Desk',
  note: 'reported by resident of 12B',
};

const h = harnessPerTest(T0, { workOrders: true });

/** A site file in English on Shanghai time that knows zone b1 (contract §12). */
const MAPLE_COURT: SitePlaces = {
  language: () => 'en',
  place: (_site, zone) => (zone === 'b1' ? { zoneName: 'Basement 1', buildingName: 'Building 3' } : {}),
  timeZone: () => 'Asia/Shanghai',
};
const overdueKey = (id: string) => ({ site: 'maple-court', type: 'workorder_overdue', source: id });

/** No site file, on Shanghai time: the default language. */
const NO_FILE: SitePlaces = { ...NO_SITES, timeZone: () => 'Asia/Shanghai' };
const drain = () => h.drain();

describe('WorkOrderService.create', () => {
  it('opens a work order due after the time of its priority, with its first history entry, published retained', async () => {
    const wo = h.workOrders.create(LIFT);
    const expected = {
      id: wo.id,
      site: 'maple-court',
      title: 'Lift 2 stuck between floors',
      titles: { 'zh-CN': 'Lift 2 stuck between floors', en: 'Lift 2 stuck between floors' },
      category: 'lift',
      priority: 'normal',
      status: 'open',
      zone: 'b1',
      createdAt: iso(T0),
      dueAt: iso(T0 + DUE_MS.normal),
      overdue: false,
      history: [{ at: iso(T0), by: 'Desk', status: 'open', note: 'reported by resident of 12B' }],
    };
    expect(wo).toStrictEqual(expected);
    expect(wo.id).toMatch(/^wo-/);
    expect(h.workOrders.get(wo.id)).toStrictEqual(expected);
    expect(await drain()).toStrictEqual([{ topic: `sc/maple-court/workorders/${wo.id}`, retain: true, qos: 1, body: expected }]);
    expect(h.events).toStrictEqual([{ event: 'workOrderChanged', data: { workOrder: expected, change: 'created' } }]);
  });

  it("titles it in the site's first language, with every language and the zone's names", () => {
    h.places = MAPLE_COURT;
    const wo = h.workOrders.create({ ...LIFT, title: { 'zh-CN': '2号电梯困人', en: 'Lift 2 stuck between floors' }, description: { 'zh-CN': '电梯', en: 'Lifts' } });
    expect([wo.title, wo.titles, wo.description, wo.zoneName, wo.buildingName]).toStrictEqual([
      'Lift 2 stuck between floors',
      { 'zh-CN': '2号电梯困人', en: 'Lift 2 stuck between floors' },
      'Lifts',
      'Basement 1',
      'Building 3',
    ]);
    expect(h.workOrders.get(wo.id)).toStrictEqual(wo);
  });

  it('titles it in Chinese on a site without a file', () => {
    const wo = h.workOrders.create({ ...LIFT, title: { 'zh-CN': '2号电梯困人', en: 'Lift 2 stuck between floors' } });
    expect([wo.title, wo.zoneName, wo.buildingName]).toStrictEqual(['2号电梯困人', undefined, undefined]);
  });

  it('says an English overdue message on an English site, with the English title', async () => {
    h.places = MAPLE_COURT;
    const wo = h.workOrders.create({ ...LIFT, title: { 'zh-CN': '2号电梯困人', en: 'Lift 2 stuck' } });
    await vi.advanceTimersByTimeAsync(DUE_MS.normal);
    expect(h.alarms.openFor(overdueKey(wo.id))).toMatchObject({
      message: `Work order ${wo.id} "Lift 2 stuck" is overdue (due 2025-03-02 16:00)`,
      messages: { 'zh-CN': `工单 ${wo.id}“2号电梯困人”已逾期（应于 2025-03-02 16:00 完成）`, en: `Work order ${wo.id} "Lift 2 stuck" is overdue (due 2025-03-02 16:00)` },
    });
    await drain();
  });

  it('opens it assigned when an assignee is given', () => {
    const wo = h.workOrders.create({ ...LIFT, assignee: 'Ana', note: undefined });
    expect([wo.status, wo.assignee, wo.history]).toStrictEqual([
      'assigned',
      'Ana',
      [
        { at: iso(T0), by: 'Desk', status: 'open' },
        { at: iso(T0), by: 'Desk', status: 'assigned', assignee: 'Ana' },
      ],
    ]);
  });

  it('links the work order and its alarm both ways', async () => {
    const alarm = h.alarms.raise({ site: 'maple-court', type: 'lift_fault', severity: 'major', source: 'b1', rule: 'lift', message: 'Lift 2 fault' }).alarm;
    await drain();
    const wo = h.workOrders.create({ ...LIFT, alarm: alarm.id });
    expect(wo.alarm).toBe(alarm.id);
    expect(h.alarms.get(alarm.id)).toStrictEqual({ ...alarm, workOrder: wo.id });
    expect(h.workOrders.list({ alarm: alarm.id })).toStrictEqual([wo]);
    expect((await drain()).map((p) => p.topic)).toStrictEqual([`sc/maple-court/alarms/major/lift_fault/b1`, `sc/maple-court/workorders/${wo.id}`]);
  });

  it('refuses an alarm that does not exist or belongs to another site', () => {
    const alarm = h.alarms.raise({ site: 'oak-park', type: 'lift_fault', severity: 'major', source: 'b1', rule: 'lift', message: 'x' }).alarm;
    expect(() => h.workOrders.create({ ...LIFT, alarm: 'alm-nope' })).toThrow('alarm: alarm "alm-nope" does not exist on site maple-court');
    expect(() => h.workOrders.create({ ...LIFT, alarm: alarm.id })).toThrow(`alarm "${alarm.id}" does not exist on site maple-court`);
    expect(h.workOrders.list()).toStrictEqual([]);
  });
});

describe('WorkOrderService.update', () => {
  it('moves through assigned, in progress, resolved and closed, recording every change; closing publishes the final state then deletes', async () => {
    const { id } = h.workOrders.create(LIFT);
    const steps = [
      [{ assignee: 'Ana' }, 'Desk'],
      [{ status: 'in_progress', note: 'on site' }, 'Ana'],
      [{ status: 'resolved', note: 'reset the controller' }, 'Ana'],
      [{ status: 'closed' }, 'Desk'],
    ] as const;
    for (const [i, [patch, by]] of steps.entries()) {
      vi.setSystemTime(T0 + (i + 1) * 60_000);
      h.workOrders.update(id, patch, by);
    }
    const wo = h.workOrders.get(id)!;
    expect([wo.status, wo.assignee]).toStrictEqual(['closed', 'Ana']);
    expect(wo.history).toStrictEqual([
      { at: iso(T0), by: 'Desk', status: 'open', note: 'reported by resident of 12B' },
      { at: iso(T0 + 60_000), by: 'Desk', status: 'assigned', assignee: 'Ana' },
      { at: iso(T0 + 120_000), by: 'Ana', status: 'in_progress', note: 'on site' },
      { at: iso(T0 + 180_000), by: 'Ana', status: 'resolved', note: 'reset the controller' },
      { at: iso(T0 + 240_000), by: 'Desk', status: 'closed' },
    ]);
    const topic = `sc/maple-court/workorders/${id}`;
    expect((await drain()).slice(-3)).toStrictEqual([
      { topic, retain: true, qos: 1, body: { ...wo, status: 'resolved', history: wo.history.slice(0, 4) } },
      { topic, retain: false, qos: 1, body: wo },
      { topic, retain: true, qos: 1, body: '' },
    ]);
    expect(h.events.at(-1)).toStrictEqual({ event: 'workOrderChanged', data: { workOrder: wo, change: 'updated', previousStatus: 'resolved' } });
  });

  it('refuses an illegal transition with illegal_transition and keeps the work order as it was', () => {
    const wo = h.workOrders.create(LIFT);
    let error: unknown;
    try {
      h.workOrders.update(wo.id, { status: 'resolved' }, 'Desk');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect([(error as GatewayError).code, (error as Error).message]).toStrictEqual([
      'illegal_transition',
      `cannot move work order ${wo.id} from open to resolved`,
    ]);
    expect(h.workOrders.get(wo.id)).toStrictEqual(wo);
  });

  it('publishes the final state and deletes the retained message when cancelled', async () => {
    const { id } = h.workOrders.create(LIFT);
    await drain();
    const wo = h.workOrders.update(id, { status: 'cancelled', note: 'duplicate' }, 'Desk');
    expect(await drain()).toStrictEqual([
      { topic: `sc/maple-court/workorders/${id}`, retain: false, qos: 1, body: wo },
      { topic: `sc/maple-court/workorders/${id}`, retain: true, qos: 1, body: '' },
    ]);
  });

  it('answers not_found for an unknown work order', () => {
    expect(() => h.workOrders.update('wo-nope', { note: 'x' }, 'Desk')).toThrow('work order "wo-nope" does not exist');
  });
});

describe('WorkOrderService overdue', () => {

  it('writes a title into the overdue message as it is, placeholders and `$&` included', async () => {
    h.places = NO_FILE;
    const wo = h.workOrders.create({ ...LIFT, title: 'Fix {dueAt} sign $& {title}' });
    await vi.advanceTimersByTimeAsync(DUE_MS.normal);
    expect(h.alarms.openFor(overdueKey(wo.id))?.messages).toStrictEqual({
      'zh-CN': `工单 ${wo.id}“Fix {dueAt} sign $& {title}”已逾期（应于 2025-03-02 16:00 完成）`,
      en: `Work order ${wo.id} "Fix {dueAt} sign $& {title}" is overdue (due 2025-03-02 16:00)`,
    });
    await drain();
  });

  it('becomes overdue when dueAt passes before it is resolved, and raises a major alarm for it', async () => {
    h.places = NO_FILE;
    const wo = h.workOrders.create(LIFT);
    await drain();
    await vi.advanceTimersByTimeAsync(DUE_MS.normal - 1);
    expect(h.workOrders.get(wo.id)?.overdue).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const overdue = { ...wo, overdue: true };
    const alarm = h.alarms.openFor(overdueKey(wo.id))!;
    const due = iso(T0 + DUE_MS.normal);
    expect(alarm).toStrictEqual({
      id: alarm.id,
      site: 'maple-court',
      type: 'workorder_overdue',
      severity: 'major',
      state: 'active',
      acknowledged: false,
      source: wo.id,
      rule: 'workorder_overdue',
      // No site file: the message in the default language, Chinese; the due time on the site's clock.
      message: `工单 ${wo.id}“Lift 2 stuck between floors”已逾期（应于 2025-03-02 16:00 完成）`,
      messages: {
        'zh-CN': `工单 ${wo.id}“Lift 2 stuck between floors”已逾期（应于 2025-03-02 16:00 完成）`,
        en: `Work order ${wo.id} "Lift 2 stuck between floors" is overdue (due 2025-03-02 16:00)`,
      },
      firstSeen: due,
      lastSeen: due,
      count: 1,
      workOrder: wo.id,
      incident: alarm.incident,
    });
    expect(h.workOrders.get(wo.id)).toStrictEqual(overdue);
    expect(await drain()).toStrictEqual([
      { topic: `sc/maple-court/workorders/${wo.id}`, retain: true, qos: 1, body: overdue },
      { topic: `sc/maple-court/alarms/major/workorder_overdue/${wo.id}`, retain: true, qos: 1, body: alarm },
    ]);
  });

  it('raises a critical alarm for an overdue urgent work order', async () => {
    const wo = h.workOrders.create({ ...LIFT, priority: 'urgent' });
    await vi.advanceTimersByTimeAsync(DUE_MS.urgent);
    expect(h.alarms.openFor(overdueKey(wo.id))?.severity).toBe('critical');
  });

  it('clears the overdue alarm when the work order is resolved, and raises it again when reopened', async () => {
    const { id } = h.workOrders.create({ ...LIFT, assignee: 'Ana' });
    await vi.advanceTimersByTimeAsync(DUE_MS.normal);
    const first = h.alarms.openFor(overdueKey(id))!;
    h.workOrders.update(id, { status: 'in_progress' }, 'Ana');
    h.workOrders.update(id, { status: 'resolved' }, 'Ana');
    expect(h.alarms.get(first.id)).toMatchObject({ state: 'cleared', clearedBy: 'rule:workorder_overdue' });
    h.workOrders.update(id, { status: 'in_progress', note: 'fault came back' }, 'Ana');
    await vi.advanceTimersByTimeAsync(0);
    expect(h.alarms.openFor(overdueKey(id))).toMatchObject({ state: 'active', count: 1 });
  });

  it('does not become overdue once resolved or cancelled', async () => {
    const a = h.workOrders.create(LIFT);
    const b = h.workOrders.create(LIFT);
    h.workOrders.update(a.id, { status: 'in_progress' }, 'Ana');
    h.workOrders.update(a.id, { status: 'resolved' }, 'Ana');
    h.workOrders.update(b.id, { status: 'cancelled' }, 'Desk');
    await vi.advanceTimersByTimeAsync(DUE_MS.normal * 2);
    expect(h.workOrders.list().map((wo) => wo.overdue)).toStrictEqual([false, false]);
    expect(h.alarms.list()).toStrictEqual([]);
  });

  it('becomes overdue at start when it fell due while the gateway was stopped', async () => {
    const wo = h.workOrders.create(LIFT);
    await h.workOrders.stop();
    vi.setSystemTime(T0 + DUE_MS.normal + 5000);
    h.restart();
    h.alarms.start();
    h.workOrders.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.workOrders.get(wo.id)?.overdue).toBe(true);
    expect(h.alarms.openFor(overdueKey(wo.id))?.count).toBe(1);
  });

  it('does not raise the overdue alarm again after a restart', async () => {
    const wo = h.workOrders.create(LIFT);
    await vi.advanceTimersByTimeAsync(DUE_MS.normal);
    await h.workOrders.stop();
    await h.alarms.stop();
    h.restart();
    h.alarms.start();
    h.workOrders.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.alarms.openFor(overdueKey(wo.id))?.count).toBe(1);
  });
});

describe('WorkOrderService start and queries', () => {
  it('republishes at start every work order that is neither closed nor cancelled', async () => {
    const open = h.workOrders.create(LIFT);
    const resolved = h.workOrders.create({ ...LIFT, assignee: 'Ana' });
    h.workOrders.update(resolved.id, { status: 'in_progress' }, 'Ana');
    const resolvedNow = h.workOrders.update(resolved.id, { status: 'resolved' }, 'Ana');
    const cancelled = h.workOrders.create(LIFT);
    h.workOrders.update(cancelled.id, { status: 'cancelled' }, 'Desk');
    await drain();
    await h.workOrders.stop();
    h.restart();
    h.workOrders.start();
    expect(await drain()).toStrictEqual([
      { topic: `sc/maple-court/workorders/${open.id}`, retain: true, qos: 1, body: open },
      { topic: `sc/maple-court/workorders/${resolved.id}`, retain: true, qos: 1, body: resolvedNow },
    ]);
  });

  it('lists work orders newest first, filtered by status, site and sites', () => {
    const a = h.workOrders.create(LIFT);
    vi.setSystemTime(T0 + 1000);
    const b = h.workOrders.create({ ...LIFT, site: 'oak-park' });
    vi.setSystemTime(T0 + 2000);
    const c = h.workOrders.create({ ...LIFT, assignee: 'Ana' });
    const ids = (list: Array<{ id: string }>) => list.map((x) => x.id);
    expect(h.workOrders.list()).toStrictEqual([c, b, a]);
    expect(ids(h.workOrders.list({ status: 'assigned' }))).toStrictEqual([c.id]);
    expect(ids(h.workOrders.list({ site: 'oak-park' }))).toStrictEqual([b.id]);
    expect(ids(h.workOrders.list({ sites: ['maple-court'] }))).toStrictEqual([c.id, a.id]);
    expect(ids(h.workOrders.list({ sites: [] }))).toStrictEqual([]);
  });
});
