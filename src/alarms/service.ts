import type { Bus } from '../bus.js';
import { GatewayError, NotFoundError, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import { alarmLine } from '../storage/influx/points.js';
import type { StateStore } from '../storage/state/store.js';
import type { Publish, Topics } from '../topics.js';
import { AlarmStore, type AlarmFilter, type StoredAlarm, type TransitionRecord } from './alarm-store.js';
import { compact } from '../shared/compact.js';
import { DueTimers } from '../shared/due-timers.js';
import { sortableId } from '../shared/ids.js';
import { SerialPublisher } from '../shared/serial-publisher.js';
import { AlarmRaiseSchema, canOperate, isOpen, moreSevere, type Alarm, type AlarmKey, type AlarmRaise } from './model.js';

export type { AlarmFilter } from './alarm-store.js';

export interface AlarmServiceDeps {
  store: StateStore;
  bus: Bus;
  topics: Topics;
  /** The broker's publish (house style §2: never the broker itself). */
  publish: Publish;
  /** Hands one line of InfluxDB line protocol to the writer (contract §7 `alarms`). */
  writeLine(line: string): void;
  log: Logger;
}


const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Alarms (contract §4, ThingsBoard's model): one open alarm per (site, type, source), raised and bumped by
 * rules, acknowledged and cleared by people or rules, escalated when left unacknowledged. The state store
 * is the truth; each change is then written to InfluxDB, published on the operator topics and told to the bus.
 */
export class AlarmService {
  readonly name = 'alarms';
  private readonly alarms: AlarmStore;
  private readonly out: SerialPublisher;
  private readonly timers = new DueTimers();
  /** The time of each open alarm's last point in InfluxDB, so a later transition never lands on the same ms. */
  private readonly lastPointAt = new Map<string, number>();

  constructor(private readonly deps: AlarmServiceDeps) {
    this.alarms = new AlarmStore(deps.store);
    this.out = new SerialPublisher(deps.publish, deps.log);
  }

  /** Republishes every open alarm retained (the broker's retained store does not survive a restart) and re-arms escalations. */
  start(): void {
    const open = this.alarms.open();
    for (const s of open) {
      this.out.retain(this.topic(s.alarm), s.alarm);
      this.arm(s);
    }
    this.deps.log.info({ open: open.length }, 'alarms loaded');
  }

  /** Cancels the escalation timers and waits for the publishes already asked for. */
  async stop(): Promise<void> {
    this.timers.clear();
    await this.out.settled();
  }

  /** Resolves once every publish asked for so far is done. */
  settled(): Promise<void> {
    return this.out.settled();
  }

  /** Raises the alarm of (site, type, source), or bumps the open one; `raised` is false for a bump. */
  raise(req: AlarmRaise): { alarm: Alarm; raised: boolean } {
    checkRaise(req);
    const at = req.at ?? Date.now();
    const open = this.alarms.openByKey(req);
    if (open) return { alarm: this.bump(open, req, at), raised: false };
    return { alarm: this.create(req, at), raised: true };
  }

  /** active → acknowledged; anything else is an illegal transition (409). */
  ack(id: string, by: string, note?: string): Alarm {
    const s = this.requireStored(id);
    if (!canOperate('ack', s.alarm.state)) {
      const why = s.alarm.state === 'cleared' ? 'is cleared and cannot be acknowledged' : 'is already acknowledged';
      throw new GatewayError('illegal_transition', `alarm ${id} ${why}`);
    }
    const now = Date.now();
    const alarm = compact({ ...s.alarm, state: 'acknowledged' as const, ackedBy: by, ackedAt: iso(now), note: note ?? s.alarm.note });
    this.timers.cancel(id);
    this.commit(s, { ...s, alarm }, { transition: 'acknowledged', at: now, by, note });
    this.deps.log.info(this.logContext(alarm, { by }), 'alarm acknowledged');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'acknowledged' });
    return alarm;
  }

  /** Clears an open alarm by hand; clearing a cleared one is an illegal transition (409). */
  clear(id: string, by: string, note?: string): Alarm {
    const s = this.requireStored(id);
    if (!canOperate('clear', s.alarm.state)) throw new GatewayError('illegal_transition', `alarm ${id} is already cleared`);
    return this.doClear(s, by, note);
  }

  /** Clears the open alarm of `key` (its condition stopped holding; `by` is `rule:<id>`); undefined when none is open. */
  clearByKey(key: AlarmKey, by: string): Alarm | undefined {
    const s = this.alarms.openByKey(key);
    return s && this.doClear(s, by);
  }

  /** Records the work order that deals with an alarm. */
  link(alarmId: string, workOrderId: string): Alarm {
    const s = this.requireStored(alarmId);
    const alarm = { ...s.alarm, workOrder: workOrderId };
    this.commit(s, { ...s, alarm });
    this.deps.bus.emit('alarmChanged', { alarm, change: 'linked' });
    return alarm;
  }

  get(id: string): Alarm | undefined {
    return this.alarms.byId(id)?.alarm;
  }

  require(id: string): Alarm {
    return this.requireStored(id).alarm;
  }

  /** Alarms matching every given filter, newest first. */
  list(filter: AlarmFilter = {}): Alarm[] {
    return this.alarms.list(filter);
  }

  /** The open (active or acknowledged) alarm of a key. */
  openFor(key: AlarmKey): Alarm | undefined {
    return this.alarms.openByKey(key)?.alarm;
  }

  /** Every recorded transition of an alarm, oldest first (raised, acknowledged, escalated, cleared...). */
  transitions(id: string) {
    return this.alarms.transitions(id);
  }

  private create(req: AlarmRaise, at: number): Alarm {
    const seen = iso(at);
    const alarm: Alarm = compact({
      id: sortableId('alm'),
      site: req.site,
      type: req.type,
      severity: req.severity,
      state: 'active' as const,
      source: req.source,
      device: req.device,
      kind: req.kind,
      zone: req.zone,
      rule: req.rule,
      message: req.message,
      firstSeen: seen,
      lastSeen: seen,
      count: 1,
      value: req.value,
      workOrder: req.workOrder,
    });
    const e = req.escalate;
    const stored: StoredAlarm = { alarm };
    if (e && moreSevere(e.to, req.severity)) stored.escalation = { to: e.to, at: at + e.afterMs, done: false };
    this.commit(undefined, stored, { transition: 'raised', at, by: req.rule });
    this.arm(stored);
    this.deps.log.info(this.logContext(alarm, { rule: req.rule }), 'alarm raised');
    this.deps.bus.emit('alarmRaised', { alarm });
    return alarm;
  }

  /** Another raise of an open alarm: count, lastSeen, message and value follow it; so does severity, but never below an escalation. */
  private bump(s: StoredAlarm, req: AlarmRaise, at: number): Alarm {
    const prev = s.alarm;
    const escalated = s.escalation?.done === true && moreSevere(prev.severity, req.severity);
    const severity = escalated ? prev.severity : req.severity;
    const seen = iso(at);
    const alarm = compact({
      ...prev,
      severity,
      count: prev.count + 1,
      lastSeen: seen > prev.lastSeen ? seen : prev.lastSeen,
      message: req.message,
      value: req.value,
      workOrder: prev.workOrder ?? req.workOrder,
    });
    if (severity === prev.severity) {
      this.commit(s, { ...s, alarm });
      this.deps.log.debug(this.logContext(alarm, { count: alarm.count }), 'alarm bumped');
      this.deps.bus.emit('alarmChanged', { alarm, change: 'bumped' });
      return alarm;
    }
    this.commit(s, { ...s, alarm }, { transition: 'severity_changed', at: Date.now(), by: req.rule });
    this.deps.log.info(this.logContext(alarm, { from: prev.severity }), 'alarm severity changed');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'severity_changed', previousSeverity: prev.severity });
    return alarm;
  }

  private doClear(s: StoredAlarm, by: string, note?: string): Alarm {
    const now = Date.now();
    const alarm = compact({ ...s.alarm, state: 'cleared' as const, clearedBy: by, clearedAt: iso(now), note: note ?? s.alarm.note });
    this.timers.cancel(alarm.id);
    this.commit(s, { ...s, alarm }, { transition: 'cleared', at: now, by, note });
    this.deps.log.info(this.logContext(alarm, { by }), 'alarm cleared');
    this.deps.bus.emit('alarmCleared', { alarm });
    return alarm;
  }

  /** Severity becomes `to` when the alarm is still active (not acknowledged) at its escalation time. */
  private escalate(id: string): void {
    const s = this.alarms.byId(id);
    if (!s?.escalation || s.escalation.done || s.alarm.state !== 'active') return;
    const escalation = { ...s.escalation, done: true };
    const prev = s.alarm;
    if (!moreSevere(escalation.to, prev.severity)) {
      this.commit(s, { alarm: prev, escalation });
      return;
    }
    const alarm = { ...prev, severity: escalation.to };
    this.commit(s, { alarm, escalation }, { transition: 'escalated', at: Date.now(), by: 'escalation' });
    this.deps.log.info(this.logContext(alarm, { from: prev.severity }), 'alarm escalated');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'escalated', previousSeverity: prev.severity });
  }

  private arm(s: StoredAlarm): void {
    const e = s.escalation;
    if (!e || e.done || s.alarm.state !== 'active') return;
    const id = s.alarm.id;
    this.timers.set(id, e.at, () => {
      try {
        this.escalate(id);
      } catch (err) {
        this.deps.log.error({ err, alarm: id }, 'alarm escalation failed');
      }
    });
  }

  /**
   * Stores the change (with its transition, in one transaction), then writes the transition to InfluxDB and
   * publishes: retained while open, moved when the severity changed, final-then-deleted on clear (contract §4).
   */
  private commit(prev: StoredAlarm | undefined, next: StoredAlarm, t?: TransitionRecord): void {
    if (prev) this.alarms.update(next, t);
    else this.alarms.insert(next, t!);
    const alarm = next.alarm;
    if (t) this.record(alarm, t.at);
    if (!isOpen(alarm.state)) {
      if (prev && isOpen(prev.alarm.state)) this.out.finish(this.topic(alarm), alarm);
      return;
    }
    if (prev && prev.alarm.severity !== alarm.severity) this.out.remove(this.topic(prev.alarm));
    this.out.retain(this.topic(alarm), alarm);
  }

  /**
   * contract §7: tags site/type/severity/source, fields state, id and value when numeric. InfluxDB keeps one
   * point per series and timestamp, so a raise, ack and clear within one millisecond would leave only the
   * last: each transition of an alarm is written at least 1 ms after its previous one.
   */
  private record(alarm: Alarm, transitionAt: number): void {
    const value = typeof alarm.value === 'number' ? alarm.value : undefined;
    const at = Math.max(transitionAt, (this.lastPointAt.get(alarm.id) ?? -Infinity) + 1);
    if (isOpen(alarm.state)) this.lastPointAt.set(alarm.id, at);
    else this.lastPointAt.delete(alarm.id);
    try {
      this.deps.writeLine(alarmLine(alarm.site, alarm.type, alarm.severity, alarm.source, { state: alarm.state, id: alarm.id, value }, at));
    } catch (err) {
      // The state store has the transition already; InfluxDB's copy is history, not truth.
      this.deps.log.error({ err, alarm: alarm.id }, 'alarm point not written');
    }
  }

  private topic(alarm: Alarm): string {
    return this.deps.topics.alarm(alarm.site, alarm.severity, alarm.type, alarm.source);
  }

  private requireStored(id: string): StoredAlarm {
    const s = this.alarms.byId(id);
    if (!s) throw new NotFoundError('alarm', id);
    return s;
  }

  private logContext(alarm: Alarm, extra: Record<string, unknown>) {
    const { id, site, type, severity, source, device, kind } = alarm;
    return { alarm: id, site, kind, device, type, severity, source, ...extra };
  }
}

/** The names of a raise become topic levels; a bad one would publish where nobody looks (or everywhere). */
function checkRaise(req: AlarmRaise): void {
  const checked = AlarmRaiseSchema.safeParse(req);
  if (checked.success) return;
  const issue = checked.error.issues[0];
  throw new ValidationError(issue.path.map(String).join('.'), issue.message);
}
