import type { StateStore } from '../storage/state/store.js';
import { isSettled, type WorkOrder, type WorkOrderStatus } from '../workorders/model.js';
import { compare, meanMinutes, pct, type CategoryFigures, type ReportWindow, type WorkOrderFigures } from './model.js';

interface Tally {
  opened: number;
  resolvedMs: number[];
  withinSla: number;
  overdue: number;
}

/**
 * Work orders in [from, to):
 * - opened: created in the period, whatever became of them (a later cancellation does not change a past count);
 * - resolved: first moved to `resolved` in the period (reopened and resolved again counts once, at the first);
 *   time to resolve from createdAt, within SLA when that first resolution is at or before dueAt;
 * - overdue: dueAt in the period and before now, and at dueAt the order was not resolved, closed or cancelled.
 */
export function workOrderFigures(store: StateStore, w: ReportWindow): WorkOrderFigures {
  // Every order that can count: created in the period, due in it, or changed in it (a resolution writes
  // `updated_at`, so an order resolved in the period was updated at or after `from`).
  const rows = store.db
    .prepare('SELECT body FROM workorders WHERE site = ? AND created_at < ? AND (created_at >= ? OR due_at >= ? OR updated_at >= ?)')
    .all(w.site, w.to, w.from, w.from, w.from) as Array<{ body: string }>;
  const dueUntil = Math.min(w.to, w.now);
  const tallies = new Map<string, Tally>();
  const tally = (category: string) => {
    let t = tallies.get(category);
    if (!t) tallies.set(category, (t = { opened: 0, resolvedMs: [], withinSla: 0, overdue: 0 }));
    return t;
  };
  for (const { body } of rows) {
    const wo = JSON.parse(body) as WorkOrder;
    const created = Date.parse(wo.createdAt);
    const due = Date.parse(wo.dueAt);
    if (created >= w.from && created < w.to) tally(wo.category).opened += 1;
    const resolved = firstResolution(wo);
    if (resolved !== undefined && resolved >= w.from && resolved < w.to) {
      const t = tally(wo.category);
      t.resolvedMs.push(resolved - created);
      if (resolved <= due) t.withinSla += 1;
    }
    if (due >= w.from && due < dueUntil && !isSettled(statusAt(wo, due))) tally(wo.category).overdue += 1;
  }
  const byCategory = [...tallies]
    .sort(([a], [b]) => compare(a, b))
    .map(([category, t]) => categoryFigures(category, t));
  const all: Tally = { opened: 0, resolvedMs: [], withinSla: 0, overdue: 0 };
  for (const t of tallies.values()) {
    all.opened += t.opened;
    all.resolvedMs.push(...t.resolvedMs);
    all.withinSla += t.withinSla;
    all.overdue += t.overdue;
  }
  const { opened, resolved, overdue, meanTimeToResolveMinutes, slaCompliancePct } = categoryFigures('', all);
  return { opened, resolved, overdue, meanTimeToResolveMinutes, slaCompliancePct, byCategory };
}

function categoryFigures(category: string, t: Tally): CategoryFigures {
  return {
    category,
    opened: t.opened,
    resolved: t.resolvedMs.length,
    overdue: t.overdue,
    meanTimeToResolveMinutes: meanMinutes(t.resolvedMs),
    withinSla: t.withinSla,
    slaCompliancePct: pct(t.withinSla, t.resolvedMs.length),
  };
}

/** Epoch ms of the first history entry that moved the order to `resolved`. */
function firstResolution(wo: WorkOrder): number | undefined {
  const entry = wo.history.find((h) => h.status === 'resolved');
  return entry && Date.parse(entry.at);
}

/** The order's status at `at`: that of the last history entry at or before it that set one. */
function statusAt(wo: WorkOrder, at: number): WorkOrderStatus {
  let status: WorkOrderStatus = 'open';
  for (const h of wo.history) {
    if (Date.parse(h.at) > at) break;
    if (h.status !== undefined) status = h.status;
  }
  return status;
}
