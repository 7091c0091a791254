import { describe, expect, it } from 'vitest';
import { GatewayError, ValidationError } from '../../../src/errors.js';
import { applyChange, canMove, TRANSITIONS, WORK_ORDER_STATUSES, type WorkOrder } from '../../../src/workorders/model.js';

const AT = '2025-03-01T09:00:00.000Z';

function order(over: Partial<WorkOrder> = {}): WorkOrder {
  return {
    id: 'wo-1',
    site: 'maple-court',
    title: 'Lift 2 stuck',
    category: 'lift',
    priority: 'high',
    status: 'open',
    createdAt: '2025-03-01T08:00:00.000Z',
    dueAt: '2025-03-01T12:00:00.000Z',
    overdue: false,
    history: [{ at: '2025-03-01T08:00:00.000Z', by: 'admin', status: 'open' }],
    ...over,
  };
}

describe('work order transition table', () => {
  it('allows exactly the moves maintenance staff make', () => {
    const allowed = WORK_ORDER_STATUSES.flatMap((from) => WORK_ORDER_STATUSES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`));
    expect(allowed).toStrictEqual([
      'open→assigned',
      'open→in_progress',
      'open→cancelled',
      'assigned→open',
      'assigned→in_progress',
      'assigned→cancelled',
      'in_progress→assigned',
      'in_progress→resolved',
      'in_progress→cancelled',
      'resolved→in_progress',
      'resolved→closed',
    ]);
  });

  it('keeps closed and cancelled final', () => {
    expect(TRANSITIONS.closed).toStrictEqual([]);
    expect(TRANSITIONS.cancelled).toStrictEqual([]);
  });

  it('never moves a status to itself', () => {
    expect(WORK_ORDER_STATUSES.filter((s) => canMove(s, s))).toStrictEqual([]);
  });

  it('cannot close what was not resolved, nor cancel what was resolved', () => {
    expect(['open', 'assigned', 'in_progress'].some((s) => canMove(s as 'open', 'closed'))).toBe(false);
    expect(canMove('resolved', 'cancelled')).toBe(false);
  });
});

describe('applyChange', () => {
  it('moves the status and records who, when and the note', () => {
    const wo = applyChange(order({ status: 'in_progress', assignee: 'Ana' }), { status: 'resolved', note: 'replaced relay' }, 'Ana', AT);
    expect(wo.status).toBe('resolved');
    expect(wo.history.at(-1)).toStrictEqual({ at: AT, by: 'Ana', status: 'resolved', note: 'replaced relay' });
  });

  it('assigns an open work order when only an assignee is given', () => {
    const wo = applyChange(order(), { assignee: 'Ben' }, 'Desk', AT);
    expect(wo).toStrictEqual({ ...order(), status: 'assigned', assignee: 'Ben', history: [...order().history, { at: AT, by: 'Desk', status: 'assigned', assignee: 'Ben' }] });
  });

  it('reassigns without changing the status of an order in progress', () => {
    const wo = applyChange(order({ status: 'in_progress', assignee: 'Ana' }), { assignee: 'Ben' }, 'Desk', AT);
    expect([wo.status, wo.assignee, wo.history.at(-1)]).toStrictEqual(['in_progress', 'Ben', { at: AT, by: 'Desk', assignee: 'Ben' }]);
  });

  it('drops the assignee when the order goes back to open', () => {
    const wo = applyChange(order({ status: 'assigned', assignee: 'Ana' }), { status: 'open', note: 'Ana is ill' }, 'Desk', AT);
    expect(wo.assignee).toBeUndefined();
    expect('assignee' in wo).toBe(false);
    expect(wo.history.at(-1)).toStrictEqual({ at: AT, by: 'Desk', status: 'open', note: 'Ana is ill' });
  });

  it('records a note alone as a history entry', () => {
    const wo = applyChange(order(), { note: 'parts ordered' }, 'Desk', AT);
    expect([wo.status, wo.history.at(-1)]).toStrictEqual(['open', { at: AT, by: 'Desk', note: 'parts ordered' }]);
  });

  it('changes nothing when nothing would change', () => {
    const before = order({ status: 'assigned', assignee: 'Ana' });
    expect(applyChange(before, { assignee: 'Ana' }, 'Desk', AT)).toBe(before);
  });

  it('refuses an illegal move naming both statuses', () => {
    const change = () => applyChange(order({ status: 'closed' }), { status: 'open' }, 'Desk', AT);
    expect(change).toThrow(GatewayError);
    expect(change).toThrow('cannot move work order wo-1 from closed to open');
    try {
      change();
    } catch (err) {
      expect([(err as GatewayError).code, (err as GatewayError).statusCode]).toStrictEqual(['illegal_transition', 409]);
    }
  });

  it('refuses to move a status to itself', () => {
    expect(() => applyChange(order({ status: 'in_progress' }), { status: 'in_progress' }, 'Desk', AT)).toThrow(
      'cannot move work order wo-1 from in_progress to in_progress',
    );
  });

  it('refuses any change to a closed or cancelled order', () => {
    expect(() => applyChange(order({ status: 'cancelled' }), { note: 'late note' }, 'Desk', AT)).toThrow(
      'work order wo-1 is cancelled; it cannot change any more',
    );
    expect(() => applyChange(order({ status: 'closed' }), { assignee: 'Ana' }, 'Desk', AT)).toThrow(GatewayError);
  });

  it('refuses to assign without an assignee', () => {
    expect(() => applyChange(order({ status: 'in_progress' }), { status: 'assigned' }, 'Desk', AT)).toThrow(ValidationError);
    expect(() => applyChange(order({ status: 'assigned', assignee: 'Ana' }), { status: 'open', assignee: 'Ben' }, 'Desk', AT)).toThrow(
      'assignee: cannot be given when moving a work order back to open',
    );
  });
});
