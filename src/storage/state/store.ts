import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirError } from '../../errors.js';

/** Schema migrations, applied in order; the index of the last one applied is `user_version`. */
const MIGRATIONS = [
  `CREATE TABLE devices (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     site TEXT NOT NULL,
     zone TEXT NOT NULL,
     name TEXT,
     tags TEXT NOT NULL DEFAULT '{}',
     secret_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     online INTEGER NOT NULL DEFAULT 0,
     last_seen INTEGER
   );
   CREATE INDEX devices_site ON devices(site);
   CREATE TABLE operators (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     sites TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     token_hash TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  // Alarms and work orders (contract §4): the JSON as published, with the columns the API filters on.
  // An alarm's escalation (escalate_to at escalate_at, epoch ms; escalated once done) lives beside its JSON
  // so the timer is re-armed after a restart.
  `CREATE TABLE alarms (
     id TEXT PRIMARY KEY,
     site TEXT NOT NULL,
     type TEXT NOT NULL,
     source TEXT NOT NULL,
     severity TEXT NOT NULL,
     state TEXT NOT NULL,
     first_seen INTEGER NOT NULL,
     escalate_to TEXT,
     escalate_at INTEGER,
     escalated INTEGER NOT NULL DEFAULT 0,
     body TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE UNIQUE INDEX alarms_open ON alarms(site, type, source) WHERE state != 'cleared';
   CREATE INDEX alarms_state ON alarms(state);
   CREATE INDEX alarms_first_seen ON alarms(first_seen);
   CREATE TABLE alarm_transitions (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     alarm_id TEXT NOT NULL,
     at INTEGER NOT NULL,
     transition TEXT NOT NULL,
     by TEXT,
     note TEXT,
     body TEXT NOT NULL
   );
   CREATE INDEX alarm_transitions_alarm ON alarm_transitions(alarm_id);
   CREATE TABLE workorders (
     id TEXT PRIMARY KEY,
     site TEXT NOT NULL,
     status TEXT NOT NULL,
     alarm TEXT,
     created_at INTEGER NOT NULL,
     due_at INTEGER NOT NULL,
     body TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX workorders_status ON workorders(status);
   CREATE INDEX workorders_alarm ON workorders(alarm);
   CREATE INDEX workorders_created_at ON workorders(created_at);
   CREATE TABLE rule_state (
     rule TEXT NOT NULL,
     key TEXT NOT NULL,
     state TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (rule, key)
   );`,
  // Every online/offline change of a device (epoch ms), for the availability figures of the service reports.
  // The registry writes it in batches with last seen, and logs offline for every online device when it stops.
  `CREATE TABLE device_status_log (
     device TEXT NOT NULL,
     at INTEGER NOT NULL,
     online INTEGER NOT NULL
   );
   CREATE INDEX device_status_log_device_at ON device_status_log(device, at);`,
  // Devices that do not speak the gateway's JSON: the profile that maps them, the bridge that speaks for them,
  // their vendor name and the Modbus link they are polled on, as JSON (null for a native device). Bridges are
  // accounts that publish for the devices registered to them.
  `ALTER TABLE devices ADD COLUMN source TEXT;
   CREATE TABLE bridges (
     id TEXT PRIMARY KEY,
     site TEXT NOT NULL,
     profiles TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );`,
  // Life-safety first (alarm states, incidents, topology, silences, notifications). A critical alarm cleared before
  // anyone acknowledged it stays open (awaiting_ack = 1) and keeps its (site, type, source). Every alarm belongs to
  // an incident; a device may have a parent (the breaker feeding it, the controller a door is wired to).
  `ALTER TABLE alarms ADD COLUMN awaiting_ack INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE alarms ADD COLUMN incident TEXT;
   DROP INDEX alarms_open;
   CREATE UNIQUE INDEX alarms_open ON alarms(site, type, source) WHERE state != 'cleared' OR awaiting_ack = 1;
   CREATE INDEX alarms_incident ON alarms(incident);
   ALTER TABLE devices ADD COLUMN parent TEXT;
   CREATE TABLE incidents (
     id TEXT PRIMARY KEY,
     site TEXT NOT NULL,
     open INTEGER NOT NULL,
     first_seen INTEGER NOT NULL,
     last_seen INTEGER NOT NULL,
     body TEXT NOT NULL
   );
   CREATE INDEX incidents_open ON incidents(site, open);
   CREATE TABLE silences (
     id TEXT PRIMARY KEY,
     site TEXT NOT NULL,
     from_at INTEGER NOT NULL,
     to_at INTEGER NOT NULL,
     ended_at INTEGER,
     body TEXT NOT NULL
   );
   CREATE TABLE alarm_notifications (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     alarm_id TEXT NOT NULL,
     channel TEXT NOT NULL,
     event TEXT NOT NULL,
     at INTEGER NOT NULL,
     ok INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     error TEXT
   );
   CREATE INDEX alarm_notifications_alarm ON alarm_notifications(alarm_id);`,
  // Sites (contract §12): where a device is on its floor's or zone's plan, as JSON { x, y } (null: not placed).
  `ALTER TABLE devices ADD COLUMN position TEXT;`,
  // Doors a fire released (issue 17): kept over a restart, so a door left unlocked after the fire stays flagged.
  // `alarms`: JSON array of the fire alarms that released it; `locked`: its last report since (NULL: none yet).
  `CREATE TABLE fire_releases (
     device TEXT PRIMARY KEY,
     site TEXT NOT NULL,
     alarms TEXT NOT NULL,
     locked INTEGER,
     released_at INTEGER NOT NULL
   );`,
  // Roles and tokens (contract §15). Operators get a role and can be disabled; their API tokens move to a table of
  // their own (several each, expiring, revocable). Each operator's one token is carried over and keeps working,
  // and operators made before roles existed become supervisors: what they could do then (all but admin routes).
  // A device's or a bridge's password replaced with an overlap keeps working until previous_secret_until (epoch ms).
  `CREATE TABLE operator_tokens (
     id TEXT PRIMARY KEY,
     operator TEXT NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     revoked_at INTEGER,
     last_used_at INTEGER
   );
   CREATE INDEX operator_tokens_operator ON operator_tokens(operator);
   INSERT INTO operator_tokens (id, operator, hash, created_at)
     SELECT 'tok-' || lower(hex(randomblob(6))), id, token_hash, created_at FROM operators;
   CREATE TABLE operators_roles (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     sites TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     role TEXT NOT NULL,
     disabled INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   INSERT INTO operators_roles (id, name, sites, secret_hash, role, disabled, created_at)
     SELECT id, name, sites, secret_hash, 'supervisor', 0, created_at FROM operators;
   DROP TABLE operators;
   ALTER TABLE operators_roles RENAME TO operators;
   ALTER TABLE devices ADD COLUMN previous_secret_hash TEXT;
   ALTER TABLE devices ADD COLUMN previous_secret_until INTEGER;
   ALTER TABLE bridges ADD COLUMN previous_secret_hash TEXT;
   ALTER TABLE bridges ADD COLUMN previous_secret_until INTEGER;`,
  // The audit trail (contract §15): at (epoch ms), who, from where, what, to what and what changed (JSON, no
  // secrets). `site` is the target's site when known: operators read their sites' records. Pruned by age.
  `CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     source TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT,
     site TEXT,
     changes TEXT
   );
   CREATE INDEX audit_at ON audit(at);
   CREATE INDEX audit_actor ON audit(actor, at);
   CREATE INDEX audit_action ON audit(action, at);
   CREATE INDEX audit_target ON audit(target, at);
   CREATE INDEX audit_site ON audit(site, at);`,
  // Durable broker state (contract §15, src/broker/persistence.ts): the retained statuses devices published, and
  // the sessions of clients that connected with clean session off: who made each (`owner`, a principal), when it
  // was last connected (epoch ms, for MQTT_SESSION_EXPIRY), its subscriptions and the QoS 1 messages queued for it.
  `CREATE TABLE broker_retained (
     topic TEXT PRIMARY KEY,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL
   );
   CREATE TABLE broker_sessions (
     client_id TEXT PRIMARY KEY,
     owner TEXT NOT NULL,
     last_seen INTEGER NOT NULL
   );
   CREATE TABLE broker_subscriptions (
     client_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     qos INTEGER NOT NULL,
     PRIMARY KEY (client_id, topic)
   );
   CREATE TABLE broker_outgoing (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     client_id TEXT NOT NULL,
     broker_id TEXT,
     broker_counter INTEGER NOT NULL,
     message_id INTEGER,
     topic TEXT NOT NULL,
     payload BLOB NOT NULL,
     qos INTEGER NOT NULL,
     retain INTEGER NOT NULL,
     queued_at INTEGER NOT NULL
   );
   CREATE INDEX broker_outgoing_client ON broker_outgoing(client_id, seq);`,
];

/** The schema this release writes: the `user_version` of a store it has migrated (backups record it). */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** The embedded state store: one SQLite file under DATA_DIR, in WAL mode. */
export class StateStore {
  private database?: Database.Database;

  constructor(private readonly dataDir: string) {}

  get db(): Database.Database {
    if (!this.database) throw new Error('state store is not open');
    return this.database;
  }

  readonly name = 'state store';

  start(): void {
    this.open();
  }

  stop(): void {
    this.close();
  }

  /** Whether the store answers a query now (`/ready`). */
  usable(): boolean {
    try {
      this.db.prepare('SELECT 1').get();
      return true;
    } catch {
      // The answer itself says the store is unusable; there is nothing else to do with the error here.
      return false;
    }
  }

  open(): void {
    if (this.database) return;
    mkdirSync(this.dataDir, { recursive: true });
    const db = new Database(join(this.dataDir, 'state.db'));
    db.pragma('journal_mode = WAL');
    // FULL: a registration or an alarm transition answered to a user survives a power cut.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      // Downgrade protection: an older release cannot know what a newer one's tables mean, so it never writes them.
      db.close();
      throw new DataDirError(
        this.dataDir,
        `state.db has schema version ${version}, written by a newer release; this release knows versions up to ${SCHEMA_VERSION}. ` +
          'Run the newer release, or restore a backup made with this one (docs/operations.md#upgrades-and-downgrades)',
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    this.database = db;
  }

  getSetting(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    this.database?.close();
    this.database = undefined;
  }
}

/**
 * A `WHERE` clause for list filters: each given column equal to its value, and `site` among `sites` when
 * given (an operator's sites). Empty when nothing filters.
 */
export function filterClause(equal: Record<string, unknown>, sites?: readonly string[]): { sql: string; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  for (const [column, value] of Object.entries(equal)) {
    if (value === undefined) continue;
    where.push(`${column} = ?`);
    args.push(value);
  }
  if (sites) {
    where.push(`site IN (${sites.map(() => '?').join(', ')})`);
    args.push(...sites);
  }
  return { sql: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', args };
}
