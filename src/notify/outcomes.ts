/** The outcome of each notification, per alarm (`alarm_notifications`), as `GET /api/alarms/{id}` shows it. */
import type { StateStore } from '../storage/state/store.js';
import type { NotifyEvent } from './texts.js';

/** One notification as the API answers it: `at` is the time of its last attempt. */
export interface NotificationRecord {
  channel: string;
  event: NotifyEvent;
  at: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

interface Row {
  channel: string;
  event: NotifyEvent;
  at: number;
  ok: number;
  attempts: number;
  error: string | null;
}

/** Writes and reads `alarm_notifications`; one row per notification, updated at each attempt. */
export class NotificationOutcomes {
  constructor(private readonly store: StateStore) {}

  /** Records a first attempt (or a notification given up before one); answers the row's key. */
  insert(alarmId: string, channel: string, event: NotifyEvent, at: number, ok: boolean, attempts: number, error?: string): number {
    const r = this.store.db
      .prepare('INSERT INTO alarm_notifications (alarm_id, channel, event, at, ok, attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(alarmId, channel, event, at, ok ? 1 : 0, attempts, error ?? null);
    return Number(r.lastInsertRowid);
  }

  /** Records a later attempt of the same notification. */
  update(seq: number, at: number, ok: boolean, attempts: number, error?: string): void {
    this.store.db.prepare('UPDATE alarm_notifications SET at = ?, ok = ?, attempts = ?, error = ? WHERE seq = ?').run(at, ok ? 1 : 0, attempts, error ?? null, seq);
  }

  /** The notifications of an alarm, oldest first. */
  of(alarmId: string): NotificationRecord[] {
    const rows = this.store.db.prepare('SELECT channel, event, at, ok, attempts, error FROM alarm_notifications WHERE alarm_id = ? ORDER BY seq').all(alarmId) as Row[];
    return rows.map((r) => ({
      channel: r.channel,
      event: r.event,
      at: new Date(r.at).toISOString(),
      ok: r.ok === 1,
      attempts: r.attempts,
      ...(r.error !== null ? { error: r.error } : {}),
    }));
  }

  /** Whether an escalation to this channel was already sent (or tried) for the alarm: it is sent once. */
  escalated(alarmId: string, channel: string): boolean {
    return this.store.db.prepare("SELECT 1 FROM alarm_notifications WHERE alarm_id = ? AND channel = ? AND event = 'escalated' LIMIT 1").get(alarmId, channel) !== undefined;
  }
}
