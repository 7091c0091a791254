/**
 * The audit trail (contract §15): who did what, from where, to what, and what changed, kept in the state store
 * for `AUDIT_RETENTION`. Recording is synchronous and never throws into the caller: the action a person took has
 * already happened, and a trail that cannot be written is counted, and the record itself goes to the log.
 */
import type Database from 'better-sqlite3';
import type { FailureStage } from '../failures.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { changesJson } from './redact.js';

/** What a caller records: `changes` is cleaned of secret-looking fields before it is stored. */
export interface AuditInput {
  /** An operator's name, `admin` (the admin token) or `system` (the gateway itself). */
  actor: string;
  /** The address the request came from, or `file` for a change made in a watched folder. */
  source: string;
  action: string;
  target?: string;
  /** The site the target belongs to, when known: operators read the records of their sites. */
  site?: string;
  changes?: Record<string, unknown>;
}

/** One record as stored and answered: what was recorded, with its number and time (ISO-8601). */
export type AuditRecord = AuditInput & { id: number; at: string };

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, inclusive. */
  to?: number;
  actor?: string;
  /** Exact, or every action under a prefix when it ends with `.` (`alarm.`). */
  action?: string;
  target?: string;
  /** The caller's sites (an operator); undefined: every record. */
  sites?: readonly string[];
  /** Who asks, with `sites`: an operator also sees the records without a site that they made. */
  self?: string;
  /** Default 200, at most 1000. */
  limit?: number;
}

export const DEFAULT_AUDIT_LIMIT = 200;
export const MAX_AUDIT_LIMIT = 1000;

/** Actions about the gateway's shared files, readable by every operator who may read the trail. */
const GATEWAY_WIDE = ['rules.', 'profiles.', 'sites.'];

export interface AuditTrailOptions {
  /** The state store's open database. */
  db(): Database.Database;
  log: Logger;
  /** Where a record that could not be stored is counted (`gateway_message_failures_total{stage="audit"}`). */
  failures: { report(stage: FailureStage, err: unknown, context?: Record<string, unknown>): void };
  metrics: Metrics;
  /** Records older than this are pruned. */
  retentionMs: number;
  /** How often old records are pruned after the prune at start; default an hour. */
  pruneEveryMs?: number;
  /** Records deleted per step of a prune; the event loop runs between steps. Default 500. */
  pruneBatch?: number;
  now?: () => number;
}

/** The audit trail as a part: prunes at start and then periodically; `record` and `query` at any time. */
export class AuditTrail {
  readonly name = 'audit trail';
  private timer?: NodeJS.Timeout;
  private pruning?: Promise<number>;
  private stopped = false;
  private insert?: Database.Statement;
  private readonly counted: (labels?: Record<string, string>) => void;

  constructor(private readonly opts: AuditTrailOptions) {
    this.counted = opts.metrics.counter('gateway_audit_records_total', 'Records written to the audit trail, by action');
  }

  start(): void {
    this.stopped = false;
    void this.prune();
    this.timer = setInterval(() => void this.prune(), this.opts.pruneEveryMs ?? 3_600_000);
  }

  /** Stops the periodic prune; one in progress ends after its current step. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.insert = undefined;
    await this.pruning;
  }

  /** Stores one record; never throws (a failure is counted and the record logged instead). */
  record(input: AuditInput): void {
    const at = (this.opts.now ?? Date.now)();
    let changes: string | undefined;
    try {
      changes = changesJson(input.changes);
      this.write(at, input, changes);
    } catch (err) {
      const { actor, source, action, target, site } = input;
      this.opts.failures.report('audit', err, { action });
      // The record is not lost: the log keeps it (without secrets) for whoever reads the trail later.
      this.opts.log.warn({ record: { at: new Date(at).toISOString(), actor, source, action, target, site, changes } }, 'audit record not stored; kept in the log');
    }
  }

  /** Inserts a row; a statement left from a database since closed and opened again is prepared anew once. */
  private write(at: number, input: AuditInput, changes: string | undefined): void {
    const args = [at, input.actor, input.source, input.action, input.target ?? null, input.site ?? null, changes ?? null];
    const prepare = () => this.opts.db().prepare('INSERT INTO audit (at, actor, source, action, target, site, changes) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const cached = this.insert;
    try {
      (this.insert = cached ?? prepare()).run(...args);
    } catch (err) {
      this.insert = undefined;
      if (!cached) throw err;
      (this.insert = prepare()).run(...args);
    }
    this.counted({ action: input.action });
  }

  /** The records matching `q`, newest first. */
  query(q: AuditQuery = {}): AuditRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const when = (value: unknown, sql: string) => {
      if (value === undefined) return;
      where.push(sql);
      args.push(value);
    };
    when(q.from, 'at >= ?');
    when(q.to, 'at <= ?');
    when(q.actor, 'actor = ?');
    when(q.target, 'target = ?');
    if (q.action !== undefined) {
      const a = actionClause(q.action);
      where.push(a.sql);
      args.push(...a.args);
    }
    if (q.sites) {
      const wide = GATEWAY_WIDE.map(() => '(action >= ? AND action < ?)').join(' OR ');
      where.push(`(site IN (${q.sites.map(() => '?').join(', ') || 'NULL'}) OR (site IS NULL AND (actor = ? OR ${wide})))`);
      args.push(...q.sites, q.self ?? null, ...GATEWAY_WIDE.flatMap((p) => prefixRange(p)));
    }
    const limit = Math.min(Math.max(1, q.limit ?? DEFAULT_AUDIT_LIMIT), MAX_AUDIT_LIMIT);
    const sql = `SELECT id, at, actor, source, action, target, site, changes FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, id DESC LIMIT ?`;
    const rows = this.opts.db().prepare(sql).all(...args, limit) as Row[];
    return rows.map(toRecord);
  }

  /**
   * Deletes the records older than the retention, a batch at a time with the event loop free between batches,
   * so a year's backlog does not stall the gateway. Answers how many were deleted; a prune already running is
   * joined, not doubled.
   */
  prune(): Promise<number> {
    this.pruning ??= this.pruneSteps().finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async pruneSteps(): Promise<number> {
    const batch = this.opts.pruneBatch ?? 500;
    const cutoff = (this.opts.now ?? Date.now)() - this.opts.retentionMs;
    let deleted = 0;
    try {
      const step = this.opts.db().prepare('DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)');
      for (;;) {
        const n = step.run(cutoff, batch).changes;
        deleted += n;
        if (n < batch || this.stopped) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (deleted > 0) this.opts.log.info({ deleted, before: new Date(cutoff).toISOString() }, 'audit records pruned');
    } catch (err) {
      this.opts.failures.report('audit', err, { deleted });
    }
    return deleted;
  }
}

interface Row {
  id: number;
  at: number;
  actor: string;
  source: string;
  action: string;
  target: string | null;
  site: string | null;
  changes: string | null;
}

function toRecord(r: Row): AuditRecord {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    source: r.source,
    action: r.action,
    ...(r.target !== null && { target: r.target }),
    ...(r.site !== null && { site: r.site }),
    ...(r.changes !== null && { changes: JSON.parse(r.changes) as Record<string, unknown> }),
  };
}

/** `action = ?`, or a range on the index for a prefix (`alarm.` → every `alarm.*`). */
function actionClause(action: string): { sql: string; args: unknown[] } {
  if (!action.endsWith('.')) return { sql: 'action = ?', args: [action] };
  return { sql: 'action >= ? AND action < ?', args: prefixRange(action) };
}

/** The bounds of every string that starts with `prefix`: itself, and the prefix with its last character incremented. */
function prefixRange(prefix: string): [string, string] {
  const last = prefix.charCodeAt(prefix.length - 1);
  return [prefix, prefix.slice(0, -1) + String.fromCharCode(last + 1)];
}
