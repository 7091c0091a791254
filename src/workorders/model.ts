/** Work orders as contract §4 describes them, with the transitions maintenance staff may make. */
import { GatewayError, ValidationError } from '../errors.js';
import { compact } from '../shared/compact.js';
import type { Language, Localised } from '../shared/language.js';

export const PRIORITIES = ['urgent', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const WORK_ORDER_STATUSES = ['open', 'assigned', 'in_progress', 'resolved', 'closed', 'cancelled'] as const;
export type WorkOrderStatus = (typeof WORK_ORDER_STATUSES)[number];

/**
 * Which status may follow which. Anything else is an illegal transition (409). `resolved` may be reopened
 * (the repair did not hold); `closed` and `cancelled` are final.
 */
export const TRANSITIONS: Readonly<Record<WorkOrderStatus, readonly WorkOrderStatus[]>> = {
  open: ['assigned', 'in_progress', 'cancelled'],
  assigned: ['open', 'in_progress', 'cancelled'],
  in_progress: ['assigned', 'resolved', 'cancelled'],
  resolved: ['closed', 'in_progress'],
  closed: [],
  cancelled: [],
};

export function canMove(from: WorkOrderStatus, to: WorkOrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** One line of a work order's history: who did what, when, with what note. */
export interface WorkOrderChange {
  at: string;
  by: string;
  status?: WorkOrderStatus;
  assignee?: string;
  note?: string;
}

/** The work order JSON of contract §4. */
export interface WorkOrder {
  id: string;
  site: string;
  /** In the site's first language (`titles[language]`). */
  title: string;
  /** The title in every language (issue 17); absent on a work order opened before the gateway spoke more than one. */
  titles?: Record<Language, string>;
  category: string;
  priority: Priority;
  status: WorkOrderStatus;
  /** In the site's first language. */
  description?: string;
  alarm?: string;
  device?: string;
  zone?: string;
  /** The zone's and its building's names in the site's first language, when the site file knows the zone (contract §12). */
  zoneName?: string;
  buildingName?: string;
  /** The rule that opened it, or absent when opened by hand. */
  rule?: string;
  /** A schedule rule that was due while the gateway was down (contract §15): opened at its start, late. */
  late?: true;
  /** With `late`: when the schedule was due (ISO time); not `dueAt`, the time the work is due. */
  due?: string;
  createdAt: string;
  dueAt: string;
  /** True once dueAt has passed while the work order was not resolved, closed or cancelled. */
  overdue: boolean;
  assignee?: string;
  history: WorkOrderChange[];
}

export interface WorkOrderCreate {
  site: string;
  /** One text for every language, or per language (a rule's title rendered in each). */
  title: Localised<string>;
  category: string;
  priority: Priority;
  description?: Localised<string>;
  alarm?: string;
  device?: string;
  zone?: string;
  rule?: string;
  /** A schedule's firing missed while the gateway was down: when it was due (ISO time); the work order is marked late. */
  due?: string;
  assignee?: string;
  /** Who opened it: an operator's name, `admin`, or `rule:<id>`. */
  by: string;
  note?: string;
}

/** A change asked for by a person (PATCH /api/workorders/{id}). */
export interface WorkOrderPatch {
  status?: WorkOrderStatus;
  assignee?: string;
  note?: string;
}

/** Final: nothing may change any more, and the retained message is gone (contract §4). */
export const FINAL_STATUSES: readonly WorkOrderStatus[] = ['closed', 'cancelled'];

/** The work is done or dropped: the order can no longer become overdue and its overdue alarm clears. */
export const SETTLED_STATUSES: readonly WorkOrderStatus[] = ['resolved', 'closed', 'cancelled'];

export const isFinal = (status: WorkOrderStatus): boolean => FINAL_STATUSES.includes(status);
export const isSettled = (status: WorkOrderStatus): boolean => SETTLED_STATUSES.includes(status);

/** The status a change leads to: an assignee given to an `open` order, with no status, assigns it. */
function targetStatus(wo: WorkOrder, change: WorkOrderPatch): WorkOrderStatus {
  if (change.status !== undefined) {
    if (!canMove(wo.status, change.status)) {
      throw new GatewayError('illegal_transition', `cannot move work order ${wo.id} from ${wo.status} to ${change.status}`);
    }
    return change.status;
  }
  return change.assignee !== undefined && wo.status === 'open' ? 'assigned' : wo.status;
}

/**
 * The work order after `change` by `by` at `at` (ISO-8601), with one history entry saying what changed;
 * unchanged when nothing would. Throws `illegal_transition` (409) for a move the table does not allow or
 * any change to a closed or cancelled order, and a ValidationError for an assignment without an assignee.
 */
export function applyChange(wo: WorkOrder, change: WorkOrderPatch, by: string, at: string): WorkOrder {
  const status = targetStatus(wo, change);
  // Only an assignee or a note can get here for a final order (any status move out of it is refused above).
  if (isFinal(wo.status)) throw new GatewayError('illegal_transition', `work order ${wo.id} is ${wo.status}; it cannot change any more`);
  let assignee = change.assignee ?? wo.assignee;
  if (status === 'open') {
    // Back to open means back in the unassigned queue.
    if (change.assignee !== undefined) throw new ValidationError('assignee', 'cannot be given when moving a work order back to open');
    assignee = undefined;
  }
  if (status === 'assigned' && assignee === undefined) throw new ValidationError('assignee', 'is required to assign a work order');
  const entry: WorkOrderChange = compact({
    at,
    by,
    status: status !== wo.status ? status : undefined,
    assignee: assignee !== wo.assignee ? assignee : undefined,
    note: change.note,
  });
  if (entry.status === undefined && entry.assignee === undefined && entry.note === undefined) return wo;
  return compact({ ...wo, status, assignee, history: [...wo.history, entry] });
}
