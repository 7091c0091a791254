import { filterClause, type StateStore } from '../storage/state/store.js';
import type { WorkOrder, WorkOrderStatus } from './model.js';

export interface WorkOrderFilter {
  status?: WorkOrderStatus;
  site?: string;
  /** The alarm the work order deals with. */
  alarm?: string;
  /** Only these sites (an operator's); undefined means every site. */
  sites?: readonly string[];
  /** At most this many, newest first (default 1000). */
  limit?: number;
}

const DEFAULT_LIMIT = 1000;

/** Work orders in the state store: the JSON as published, with the columns the API filters on. */
export class WorkOrderStore {
  constructor(private readonly store: StateStore) {}

  insert(wo: WorkOrder): void {
    this.store.db
      .prepare('INSERT INTO workorders (id, site, status, alarm, created_at, due_at, body, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(wo.id, wo.site, wo.status, wo.alarm ?? null, Date.parse(wo.createdAt), Date.parse(wo.dueAt), JSON.stringify(wo), Date.now());
  }

  update(wo: WorkOrder): void {
    this.store.db
      .prepare('UPDATE workorders SET status = ?, alarm = ?, body = ?, updated_at = ? WHERE id = ?')
      .run(wo.status, wo.alarm ?? null, JSON.stringify(wo), Date.now(), wo.id);
  }

  byId(id: string): WorkOrder | undefined {
    const row = this.store.db.prepare('SELECT body FROM workorders WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as WorkOrder);
  }

  /** Work orders that are neither closed nor cancelled, oldest first. */
  notFinal(): WorkOrder[] {
    const rows = this.store.db
      .prepare("SELECT body FROM workorders WHERE status NOT IN ('closed', 'cancelled') ORDER BY created_at, id")
      .all() as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as WorkOrder);
  }

  /** Work orders matching every given filter, newest first. */
  list(filter: WorkOrderFilter): WorkOrder[] {
    if (filter.sites?.length === 0) return [];
    const { sql: where, args } = filterClause({ status: filter.status, site: filter.site, alarm: filter.alarm }, filter.sites);
    const sql = `SELECT body FROM workorders ${where} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.store.db.prepare(sql).all(...args, filter.limit ?? DEFAULT_LIMIT) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as WorkOrder);
  }
}
