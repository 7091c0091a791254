/**
 * Incidents (contract §11): alarms of one site that arise together, in the same zone or under the same parent,
 * each raised within 5 minutes of the incident's last alarm. The desk sees one card per incident.
 */
import type { Bus } from '../bus.js';
import type { Logger } from '../log.js';
import { sortableId } from '../shared/ids.js';
import type { SerialPublisher } from '../shared/serial-publisher.js';
import type { StateStore } from '../storage/state/store.js';
import type { Topics } from '../topics.js';
import { isOpen, moreSevere, type Alarm, type Incident, type Severity } from './model.js';



/** Alarms join an incident raised within this long after its last alarm. */
export const INCIDENT_WINDOW_MS = 5 * 60_000;

/** What the tracker keeps of each alarm of an open incident. */
interface Member {
  open: boolean;
  severity: Severity;
  type: string;
  lifeSafety: boolean;
  lastSeen: string;
}

interface Tracked {
  incident: Incident;
  /** `zone:{zone}` and `parent:{device}`: what a later alarm may share with it. */
  keys: Set<string>;
  /** Epoch ms of its last alarm's raise: the window counts from it. */
  lastRaise: number;
  members: Map<string, Member>;
}

export interface IncidentDeps {
  store: StateStore;
  bus: Bus;
  topics: Topics;
  out: SerialPublisher;
  /** The alarms of an incident as stored (to rebuild the open incidents after a restart). */
  alarmsOf(incident: string): Alarm[];
  log: Logger;
}

/**
 * Groups alarms into incidents as they are raised: an alarm joins the open incident of its site that shares its
 * zone, or one of its device's ancestors (or its device, when that is the ancestor of others), and whose last
 * alarm was raised within 5 minutes; otherwise it opens one. A life-safety alarm groups by zone only: a fire never
 * disappears into a power failure's incident. An incident is open while any of its alarms is; the state store
 * holds it, and it is retained on `sc/{site}/incidents/{id}` while open.
 */
export class Incidents {
  private readonly open = new Map<string, Tracked>();

  constructor(private readonly deps: IncidentDeps) {}

  /** Reloads the open incidents and republishes them retained (the broker's retained store does not survive a restart). */
  start(): void {
    const rows = this.deps.store.db.prepare('SELECT body, last_seen FROM incidents WHERE open = 1').all() as Array<{ body: string; last_seen: number }>;
    for (const row of rows) {
      const incident = JSON.parse(row.body) as Incident;
      const tracked: Tracked = { incident, keys: new Set(), lastRaise: row.last_seen, members: new Map() };
      for (const a of this.deps.alarmsOf(incident.id)) {
        tracked.members.set(a.id, memberOf(a));
        for (const k of keysOf(a, [])) tracked.keys.add(k);
      }
      for (const p of incident.parents) tracked.keys.add(`parent:${p}`);
      this.open.set(incident.id, tracked);
      this.deps.out.retain(this.deps.topics.incident(incident.site, incident.id), incident);
    }
  }

  /**
   * The incident a new alarm belongs to (before it is stored: its id goes into the alarm JSON). `ancestors` are its
   * device's parent, grandparent...; `at` is the raise's time (epoch ms).
   */
  assign(alarm: Alarm, ancestors: readonly string[], at: number): string {
    const keys = keysOf(alarm, ancestors);
    let best: Tracked | undefined;
    for (const t of this.open.values()) {
      if (t.incident.site !== alarm.site || at - t.lastRaise > INCIDENT_WINDOW_MS) continue;
      if (!keys.some((k) => t.keys.has(k))) continue;
      if (!best || t.lastRaise > best.lastRaise) best = t;
    }
    if (best) {
      for (const k of keys) best.keys.add(k);
      best.lastRaise = Math.max(best.lastRaise, at);
      return best.incident.id;
    }
    const seen = new Date(at).toISOString();
    const incident: Incident = {
      id: sortableId('inc'),
      site: alarm.site,
      state: 'open',
      severity: alarm.severity,
      lifeSafety: alarm.lifeSafety === true,
      zones: [],
      parents: [],
      firstSeen: seen,
      lastSeen: seen,
      alarms: [],
      open: 0,
      counts: {},
    };
    this.open.set(incident.id, { incident, keys: new Set(keys), lastRaise: at, members: new Map() });
    return incident.id;
  }

  /** An alarm of an incident was raised or changed: the incident follows (and closes with its last open alarm). */
  changed(alarm: Alarm, ancestors: readonly string[] = []): void {
    const t = alarm.incident ? this.open.get(alarm.incident) : undefined;
    if (!t) return;
    const isNew = !t.members.has(alarm.id);
    t.members.set(alarm.id, memberOf(alarm));
    const prev = t.incident;
    const next = summarise(prev, t.members, alarm, ancestors, isNew);
    t.incident = next;
    const change = prev.alarms.length === 0 ? 'opened' : next.state === 'closed' ? 'closed' : 'updated';
    this.save(next);
    const topic = this.deps.topics.incident(next.site, next.id);
    if (next.state === 'closed') {
      this.open.delete(next.id);
      this.deps.out.finish(topic, next);
    } else this.deps.out.retain(topic, next);
    this.deps.bus.emit('incidentChanged', { incident: next, change });
  }

  get(id: string): Incident | undefined {
    const open = this.open.get(id);
    if (open) return open.incident;
    const row = this.deps.store.db.prepare('SELECT body FROM incidents WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as Incident);
  }

  /** Incidents matching the filter, newest first. */
  list(filter: { state?: 'open' | 'closed'; site?: string; sites?: readonly string[]; limit?: number }): Incident[] {
    if (filter.sites?.length === 0) return [];
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state) {
      where.push('open = ?');
      args.push(filter.state === 'open' ? 1 : 0);
    }
    if (filter.site) {
      where.push('site = ?');
      args.push(filter.site);
    }
    if (filter.sites) {
      where.push(`site IN (${filter.sites.map(() => '?').join(', ')})`);
      args.push(...filter.sites);
    }
    const sql = `SELECT body FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY last_seen DESC, id DESC LIMIT ?`;
    const rows = this.deps.store.db.prepare(sql).all(...args, filter.limit ?? 500) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as Incident);
  }

  private save(i: Incident): void {
    this.deps.store.db
      .prepare(
        `INSERT INTO incidents (id, site, open, first_seen, last_seen, body) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET open = excluded.open, last_seen = excluded.last_seen, body = excluded.body`,
      )
      .run(i.id, i.site, i.state === 'open' ? 1 : 0, Date.parse(i.firstSeen), Date.parse(i.lastSeen), JSON.stringify(i));
  }
}

function keysOf(alarm: Alarm, ancestors: readonly string[]): string[] {
  const keys: string[] = [];
  if (alarm.zone) keys.push(`zone:${alarm.zone}`);
  if (alarm.lifeSafety) return keys;
  for (const p of ancestors) keys.push(`parent:${p}`);
  if (alarm.device) keys.push(`parent:${alarm.device}`);
  return keys;
}

function memberOf(a: Alarm): Member {
  return { open: isOpen(a), severity: a.severity, type: a.type, lifeSafety: a.lifeSafety === true, lastSeen: a.lastSeen };
}

/** The incident after one of its alarms changed: counts, severity, times and state from its members. */
function summarise(prev: Incident, members: Map<string, Member>, alarm: Alarm, ancestors: readonly string[], isNew: boolean): Incident {
  let open = 0;
  let severity: Severity = 'warning';
  let lifeSafety = false;
  let lastSeen = prev.lastSeen;
  const counts: Record<string, number> = {};
  for (const m of members.values()) {
    if (m.open) open++;
    if (moreSevere(m.severity, severity)) severity = m.severity;
    if (m.lifeSafety) lifeSafety = true;
    if (m.lastSeen > lastSeen) lastSeen = m.lastSeen;
    counts[m.type] = (counts[m.type] ?? 0) + 1;
  }
  const zones = alarm.zone && !prev.zones.includes(alarm.zone) ? [...prev.zones, alarm.zone] : prev.zones;
  const parents = isNew && !alarm.lifeSafety ? [...new Set([...prev.parents, ...ancestors])] : prev.parents;
  const next: Incident = {
    ...prev,
    severity,
    lifeSafety,
    zones,
    parents,
    lastSeen,
    alarms: isNew ? [...prev.alarms, alarm.id] : prev.alarms,
    open,
    counts,
    state: open > 0 ? 'open' : 'closed',
  };
  if (open === 0) next.closedAt = new Date().toISOString();
  return next;
}
