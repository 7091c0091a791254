/**
 * The rows of the durable broker state (contract §15) in the state store's `broker_*` tables, written behind: every
 * change of one turn of the event loop goes in one transaction (group commit), so a burst of QoS 1 messages to a
 * persistent subscriber costs one disk sync, not one per message. SQLite's journal keeps a crash (kill -9) from
 * leaving half a transaction.
 */

/** The part of a better-sqlite3 database the broker uses (the broker imports no storage; house style §2). */
export interface BrokerDb {
  prepare(sql: string): { run(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  exec(sql: string): unknown;
}

/** A QoS 1 message queued for a session, as stored. */
export interface QueuedRow {
  seq: number;
  client_id: string;
  broker_id: string | null;
  broker_counter: number;
  message_id: number | null;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: number;
}

export interface SessionRow {
  client_id: string;
  owner: string;
  last_seen: number;
}

type Op = (db: BrokerDb) => void;

/** Statements run in batches; `written()` resolves once what was asked before it is on disk. */
export class SessionRows {
  private ops: Op[] = [];
  private waiting: Array<() => void> = [];
  private scheduled = false;
  private nextSeq = 1;
  private readonly prepared = new Map<string, ReturnType<BrokerDb['prepare']>>();
  private preparedFor?: BrokerDb;
  /** After the broker's stop: a will published while its connections close is not written (the store is closing). */
  private closed = false;

  constructor(
    private readonly db: () => BrokerDb,
    /** A batch that could not be written: the state stays in memory, the next restart loses it. */
    private readonly failed: (err: unknown) => void,
  ) {}

  /** Everything stored, for the broker's start. */
  load(): { retained: Array<{ topic: string; payload: Buffer; qos: number }>; sessions: SessionRow[]; subscriptions: Array<{ client_id: string; topic: string; qos: number }>; queued: QueuedRow[] } {
    this.closed = false;
    const db = this.db();
    const queued = db.prepare('SELECT * FROM broker_outgoing ORDER BY seq').all() as QueuedRow[];
    this.nextSeq = (queued.at(-1)?.seq ?? 0) + 1;
    return {
      retained: db.prepare('SELECT topic, payload, qos FROM broker_retained').all() as Array<{ topic: string; payload: Buffer; qos: number }>,
      sessions: db.prepare('SELECT client_id, owner, last_seen FROM broker_sessions').all() as SessionRow[],
      subscriptions: db.prepare('SELECT client_id, topic, qos FROM broker_subscriptions').all() as Array<{ client_id: string; topic: string; qos: number }>,
      queued,
    };
  }

  /** The sequence number the next queued message gets (ids are assigned here so a row is known before it is written). */
  seq(): number {
    return this.nextSeq++;
  }

  retain(topic: string, payload: Buffer, qos: number): void {
    if (payload.length === 0) this.run('DELETE FROM broker_retained WHERE topic = ?', topic);
    else this.run('INSERT INTO broker_retained (topic, payload, qos) VALUES (?, ?, ?) ON CONFLICT(topic) DO UPDATE SET payload = excluded.payload, qos = excluded.qos', topic, payload, qos);
  }

  session(clientId: string, owner: string, lastSeen: number): void {
    this.run('INSERT INTO broker_sessions (client_id, owner, last_seen) VALUES (?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET owner = excluded.owner, last_seen = excluded.last_seen', clientId, owner, lastSeen);
  }

  seen(clientId: string, at: number): void {
    this.run('UPDATE broker_sessions SET last_seen = ? WHERE client_id = ?', at, clientId);
  }

  subscribe(clientId: string, topic: string, qos: number): void {
    this.run('INSERT INTO broker_subscriptions (client_id, topic, qos) VALUES (?, ?, ?) ON CONFLICT(client_id, topic) DO UPDATE SET qos = excluded.qos', clientId, topic, qos);
  }

  unsubscribe(clientId: string, topic: string): void {
    this.run('DELETE FROM broker_subscriptions WHERE client_id = ? AND topic = ?', clientId, topic);
  }

  /** Forgets a session: its row, its subscriptions and its queue. */
  forget(clientId: string): void {
    if (this.closed) return;
    this.ops.push((db) => {
      for (const table of ['broker_sessions', 'broker_subscriptions', 'broker_outgoing']) this.statement(db, `DELETE FROM ${table} WHERE client_id = ?`).run(clientId);
    });
    this.schedule();
  }

  enqueue(row: Omit<QueuedRow, 'message_id'>, at: number): void {
    this.run(
      'INSERT INTO broker_outgoing (seq, client_id, broker_id, broker_counter, message_id, topic, payload, qos, retain, queued_at) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)',
      row.seq, row.client_id, row.broker_id, row.broker_counter, row.topic, row.payload, row.qos, row.retain, at,
    );
  }

  messageId(seq: number, messageId: number | undefined): void {
    this.run('UPDATE broker_outgoing SET message_id = ? WHERE seq = ?', messageId ?? null, seq);
  }

  dequeue(seq: number): void {
    this.run('DELETE FROM broker_outgoing WHERE seq = ?', seq);
  }

  /** Resolves once every change asked for so far is written (or failed, which is reported). */
  written(): Promise<void> {
    if (this.ops.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Writes the pending batch, and nothing after it (the broker has stopped). */
  close(): void {
    this.flush();
    this.closed = true;
  }

  /** Writes the pending batch now. */
  flush(): void {
    this.scheduled = false;
    const ops = this.ops;
    const waiting = this.waiting;
    this.ops = [];
    this.waiting = [];
    if (ops.length > 0) {
      try {
        const db = this.db();
        db.exec('BEGIN');
        try {
          for (const op of ops) op(db);
          db.exec('COMMIT');
        } catch (err) {
          db.exec('ROLLBACK');
          throw err;
        }
      } catch (err) {
        this.failed(err);
      }
    }
    for (const resolve of waiting) resolve();
  }

  private run(sql: string, ...params: unknown[]): void {
    if (this.closed) return;
    this.ops.push((db) => this.statement(db, sql).run(...params));
    this.schedule();
  }

  /** Prepared once per database: a statement is parsed once, not per message. */
  private statement(db: BrokerDb, sql: string): ReturnType<BrokerDb['prepare']> {
    if (this.preparedFor !== db) {
      this.prepared.clear();
      this.preparedFor = db;
    }
    let statement = this.prepared.get(sql);
    if (!statement) this.prepared.set(sql, (statement = db.prepare(sql)));
    return statement;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }
}
