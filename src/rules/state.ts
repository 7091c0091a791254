/**
 * Condition state that must outlive a restart or a reload (`for` timers' start, holding flags, windows):
 * written through a small injected store, in batches, at most once a second per rule and at detach.
 */
import type { Clock, Cancel } from './clock.js';

/** Where rule state lives. `undefined` as a state deletes the key. */
export interface RuleStateStore {
  /** Every saved key of `rule` with its state. */
  load(rule: string): Map<string, unknown>;
  /** Writes the changes of one rule at once (one transaction where the store has them). */
  save(rule: string, changes: ReadonlyMap<string, unknown>): void;
  /** Forgets the state of every rule not in `rules` (rules deleted from the folder). */
  retain?(rules: readonly string[]): void;
}

/** An in-memory store: the default, and what the simulator uses (nothing leaves it). */
export class MemoryRuleStateStore implements RuleStateStore {
  readonly data = new Map<string, Map<string, unknown>>();

  load(rule: string): Map<string, unknown> {
    return new Map(this.data.get(rule));
  }

  save(rule: string, changes: ReadonlyMap<string, unknown>): void {
    const map = this.data.get(rule) ?? new Map<string, unknown>();
    for (const [key, state] of changes) {
      if (state === undefined) map.delete(key);
      else map.set(key, structuredClone(state));
    }
    this.data.set(rule, map);
  }

  retain(rules: readonly string[]): void {
    for (const rule of [...this.data.keys()]) if (!rules.includes(rule)) this.data.delete(rule);
  }
}

/** The part of a better-sqlite3 database this store uses (so rules need not import storage; house style §2). */
export interface SqlDatabase {
  prepare(sql: string): { all(...params: unknown[]): unknown[]; run(...params: unknown[]): unknown };
  exec(sql: string): unknown;
}

/** Rule state in the state store's `rule_state(rule, key, state JSON, updated_at)` table. */
export class SqliteRuleStateStore implements RuleStateStore {
  constructor(
    private readonly db: () => SqlDatabase,
    private readonly now: () => number = Date.now,
  ) {}

  load(rule: string): Map<string, unknown> {
    const rows = this.db().prepare('SELECT key, state FROM rule_state WHERE rule = ?').all(rule) as Array<{ key: string; state: string }>;
    return new Map(rows.map((r) => [r.key, JSON.parse(r.state) as unknown]));
  }

  save(rule: string, changes: ReadonlyMap<string, unknown>): void {
    if (changes.size === 0) return;
    const db = this.db();
    const upsert = db.prepare(
      'INSERT INTO rule_state (rule, key, state, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(rule, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at',
    );
    const remove = db.prepare('DELETE FROM rule_state WHERE rule = ? AND key = ?');
    const at = this.now();
    db.exec('BEGIN');
    try {
      for (const [key, state] of changes) {
        if (state === undefined) remove.run(rule, key);
        else upsert.run(rule, key, JSON.stringify(state), at);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new Error(`saving the state of rule ${rule} failed`, { cause: err });
    }
  }

  retain(rules: readonly string[]): void {
    const placeholders = rules.map(() => '?').join(', ');
    this.db()
      .prepare(rules.length > 0 ? `DELETE FROM rule_state WHERE rule NOT IN (${placeholders})` : 'DELETE FROM rule_state')
      .run(...rules);
  }
}

/** One rule's view of the store: what was saved before, and debounced writes of what changes now. */
export class RuleState {
  private readonly dirty = new Map<string, unknown>();
  private timer?: Cancel;

  constructor(
    readonly rule: string,
    /** The state saved before this attach, by key. */
    readonly initial: ReadonlyMap<string, unknown>,
    private readonly store: RuleStateStore,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Records the state of `key` (undefined deletes it); it is written within `intervalMs`. */
  set(key: string, state: unknown): void {
    this.dirty.set(key, state);
    this.timer ??= this.clock.at(this.clock.now() + this.intervalMs, () => {
      this.timer = undefined;
      this.flush();
    });
  }

  /** Writes everything pending now. */
  flush(): void {
    this.timer?.();
    this.timer = undefined;
    if (this.dirty.size === 0) return;
    const changes = new Map(this.dirty);
    this.dirty.clear();
    try {
      this.store.save(this.rule, changes);
    } catch (err) {
      this.onError(err);
    }
  }
}
