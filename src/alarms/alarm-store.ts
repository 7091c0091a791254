import { filterClause, type StateStore } from '../storage/state/store.js';
import { awaitsAck, type Alarm, type AlarmKey, type AlarmState, type AlarmTransition, type Severity } from './model.js';

/** An alarm's pending or done escalation: severity `to` at `at` (epoch ms). */
export interface Escalation {
  to: Severity;
  at: number;
  done: boolean;
}

/** An alarm as stored: its JSON and what the service needs beside it. */
export interface StoredAlarm {
  alarm: Alarm;
  escalation?: Escalation;
}

/** One row of `alarm_transitions`. */
export interface TransitionRecord {
  transition: AlarmTransition;
  /** Epoch ms. */
  at: number;
  by: string;
  note?: string;
}

export interface AlarmFilter {
  /** `open`: active, acknowledged, or cleared awaiting acknowledgement (what the desk must still see). */
  state?: AlarmState | 'open';
  severity?: Severity;
  site?: string;
  type?: string;
  /** Only the alarms of this device (its `source`): a device page marks them on its charts. */
  device?: string;
  /** Only alarms first raised at or after this time (epoch ms). */
  from?: number;
  /** Only alarms first raised at or before this time (epoch ms). */
  to?: number;
  /** Only these sites (an operator's); undefined means every site. */
  sites?: readonly string[];
  /** At most this many, newest first (default 1000). */
  limit?: number;
}

interface AlarmRow {
  body: string;
  escalate_to: Severity | null;
  escalate_at: number | null;
  escalated: number;
}

const COLUMNS = 'body, escalate_to, escalate_at, escalated';
/** The rows of open alarms (the predicate of the partial unique index `alarms_open`). */
const OPEN = "(state != 'cleared' OR awaiting_ack = 1)";
const DEFAULT_LIMIT = 1000;

/** The alarms and their transitions in the state store; every write is one transaction. */
export class AlarmStore {
  constructor(private readonly store: StateStore) {}

  insert(s: StoredAlarm, t: TransitionRecord): void {
    const { alarm: a, escalation: e } = s;
    const db = this.store.db;
    db.transaction(() => {
      db.prepare(
        `INSERT INTO alarms (id, site, type, source, severity, state, awaiting_ack, incident, first_seen, escalate_to, escalate_at, escalated, body, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(a.id, a.site, a.type, a.source, a.severity, a.state, awaitsAck(a) ? 1 : 0, a.incident ?? null, Date.parse(a.firstSeen), e?.to ?? null, e?.at ?? null, e?.done ? 1 : 0, JSON.stringify(a), t.at);
      this.addTransition(a, t);
    })();
  }

  /** Writes the alarm's new state, and the transition that led to it when there is one (a bump has none). */
  update(s: StoredAlarm, t?: TransitionRecord): void {
    const { alarm: a, escalation: e } = s;
    const db = this.store.db;
    db.transaction(() => {
      db.prepare(
        `UPDATE alarms SET severity = ?, state = ?, awaiting_ack = ?, escalate_to = ?, escalate_at = ?, escalated = ?, body = ?, updated_at = ?
         WHERE id = ?`,
      ).run(a.severity, a.state, awaitsAck(a) ? 1 : 0, e?.to ?? null, e?.at ?? null, e?.done ? 1 : 0, JSON.stringify(a), t?.at ?? Date.now(), a.id);
      if (t) this.addTransition(a, t);
    })();
  }

  byId(id: string): StoredAlarm | undefined {
    const row = this.store.db.prepare(`SELECT ${COLUMNS} FROM alarms WHERE id = ?`).get(id) as AlarmRow | undefined;
    return row && fromRow(row);
  }

  /** The open alarm of a key (active, acknowledged, or cleared awaiting acknowledgement); the partial unique index `alarms_open` answers it. */
  openByKey(key: AlarmKey): StoredAlarm | undefined {
    const row = this.store.db
      .prepare(`SELECT ${COLUMNS} FROM alarms WHERE site = ? AND type = ? AND source = ? AND ${OPEN}`)
      .get(key.site, key.type, key.source) as AlarmRow | undefined;
    return row && fromRow(row);
  }

  open(): StoredAlarm[] {
    const rows = this.store.db.prepare(`SELECT ${COLUMNS} FROM alarms WHERE ${OPEN} ORDER BY first_seen, id`).all() as AlarmRow[];
    return rows.map(fromRow);
  }

  /** The alarms of an incident, oldest first. */
  ofIncident(incident: string): Alarm[] {
    const rows = this.store.db.prepare('SELECT body FROM alarms WHERE incident = ? ORDER BY first_seen, id').all(incident) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as Alarm);
  }

  /** Alarms matching every given filter, newest (by firstSeen) first. */
  list(filter: AlarmFilter): Alarm[] {
    if (filter.sites?.length === 0) return [];
    const state = filter.state === 'open' ? undefined : filter.state;
    const { sql, args } = filterClause({ state, severity: filter.severity, site: filter.site, type: filter.type, source: filter.device }, filter.sites);
    const more = [
      ...(filter.state === 'open' ? [OPEN] : []),
      ...(filter.from !== undefined ? ['first_seen >= ?'] : []),
      ...(filter.to !== undefined ? ['first_seen <= ?'] : []),
    ];
    args.push(...[filter.from, filter.to].filter((x) => x !== undefined));
    const where = more.length === 0 ? sql : `${sql ? `${sql} AND` : 'WHERE'} ${more.join(' AND ')}`;
    const rows = this.store.db
      .prepare(`SELECT body FROM alarms ${where} ORDER BY first_seen DESC, id DESC LIMIT ?`)
      .all(...args, filter.limit ?? DEFAULT_LIMIT) as Array<{ body: string }>;
    return rows.map((r) => parseAlarm(r.body));
  }

  /** The transitions of one alarm, oldest first. */
  transitions(id: string): Array<TransitionRecord & { alarm: Alarm }> {
    const rows = this.store.db
      .prepare('SELECT transition, at, by, note, body FROM alarm_transitions WHERE alarm_id = ? ORDER BY seq')
      .all(id) as Array<{ transition: AlarmTransition; at: number; by: string; note: string | null; body: string }>;
    return rows.map((r) => ({
      transition: r.transition,
      at: r.at,
      by: r.by,
      ...(r.note !== null ? { note: r.note } : {}),
      alarm: parseAlarm(r.body),
    }));
  }

  private addTransition(a: Alarm, t: TransitionRecord): void {
    this.store.db
      .prepare('INSERT INTO alarm_transitions (alarm_id, at, transition, by, note, body) VALUES (?, ?, ?, ?, ?, ?)')
      .run(a.id, t.at, t.transition, t.by, t.note ?? null, JSON.stringify(a));
  }
}

/** An alarm stored before `acknowledged` existed (contract §11) says it from its state and who acknowledged it. */
function parseAlarm(body: string): Alarm {
  const alarm = JSON.parse(body) as Alarm;
  if (alarm.acknowledged === undefined) alarm.acknowledged = alarm.state === 'acknowledged' || alarm.ackedBy !== undefined;
  return alarm;
}

function fromRow(row: AlarmRow): StoredAlarm {
  const alarm = parseAlarm(row.body);
  if (row.escalate_to === null || row.escalate_at === null) return { alarm };
  return { alarm, escalation: { to: row.escalate_to, at: row.escalate_at, done: row.escalated === 1 } };
}
