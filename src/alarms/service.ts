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
import { Incidents } from './incidents.js';
import { AlarmRaiseSchema, awaitsAck, canAcknowledge, isOpen, moreSevere, type Alarm, type AlarmKey, type AlarmRaise, type AlarmUpdate, type Silence } from './model.js';
import { Silences } from './silences.js';
import { DOWN_TYPES, Suppression, type Topology } from './suppression.js';
import { alarmTexts } from './texts.js';
import { NO_SITES, type SitePlaces } from '../shared/language.js';

export type { AlarmFilter } from './alarm-store.js';

export interface AlarmServiceDeps {
  store: StateStore;
  bus: Bus;
  topics: Topics;
  /** The broker's publish (house style §2: never the broker itself). */
  publish: Publish;
  /** Hands one line of InfluxDB line protocol to the writer (contract §7 `alarms`). */
  writeLine(line: string): void;
  /** The devices' parents and states (topology suppression, incidents by parent); none: no device has a parent. */
  topology?: Topology;
  /** The sites' languages and zone names (contract §12); default: no site files. */
  places?: SitePlaces;
  log: Logger;
}

const NO_TOPOLOGY: Topology = { parentOf: () => undefined, online: () => true, lastSeen: () => null };


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
  /** Alarms grouped as they arise (contract §11). */
  readonly incidents: Incidents;
  /** Maintenance and test windows (contract §11). */
  readonly silences: Silences;
  private readonly suppression: Suppression;
  private readonly topology: Topology;

  constructor(private readonly deps: AlarmServiceDeps) {
    this.alarms = new AlarmStore(deps.store);
    this.out = new SerialPublisher(deps.publish, deps.log);
    this.topology = deps.topology ?? NO_TOPOLOGY;
    this.incidents = new Incidents({ store: deps.store, bus: deps.bus, topics: deps.topics, out: this.out, alarmsOf: (id) => this.alarms.ofIncident(id), log: deps.log });
    this.silences = new Silences({ store: deps.store, bus: deps.bus, log: deps.log, ended: (s) => this.silenceEnded(s) });
    this.suppression = new Suppression({
      topology: this.topology,
      // A critical down alarm cleared but awaiting acknowledgement: the power is back, what is behind it is not held.
      hasDownAlarm: (site, device) => DOWN_TYPES.some((type) => {
        const s = this.alarms.openByKey({ site, type, source: device });
        return s !== undefined && s.alarm.state !== 'cleared';
      }),
      raise: (req) => {
        try {
          this.raise(req);
        } catch (err) {
          this.deps.log.error({ err, device: req.device, type: req.type }, 'held alarm not raised');
        }
      },
      log: deps.log,
    });
  }

  /**
   * Republishes every open alarm and incident retained (the broker's retained store does not survive a restart),
   * re-arms escalations and silences, and follows devices coming back online (a parent's recovery).
   */
  start(): void {
    const open = this.alarms.open();
    for (const s of open) {
      if (!s.alarm.silenced) this.out.retain(this.topic(s.alarm), s.alarm);
      this.arm(s);
    }
    this.incidents.start();
    this.silences.start();
    this.deps.bus.on('deviceStatusChanged', this, (d) => {
      if (d.online) this.suppression.recovered(d.site, d.device, d.ts);
    });
    this.deps.log.info({ open: open.length }, 'alarms loaded');
  }

  /** Cancels the timers and waits for the publishes already asked for. */
  async stop(): Promise<void> {
    this.timers.clear();
    this.silences.stop();
    this.suppression.stop();
    this.deps.bus.removeListeners(this);
    await this.out.settled();
  }

  /** Resolves once every publish asked for so far is done. */
  settled(): Promise<void> {
    return this.out.settled();
  }

  /**
   * Raises the alarm of (site, type, source), or bumps the open one; `raised` is false for a bump. A life-safety
   * raise is critical whatever its rule says. An offline or absent alarm under a parent that is down is held back
   * and counted on the parent's alarm instead (`held`: no alarm is stored).
   */
  raise(req: AlarmRaise): { alarm: Alarm; raised: boolean; held?: boolean } {
    checkRaise(req);
    if (req.lifeSafety) req = { ...req, severity: 'critical' };
    const at = req.at ?? Date.now();
    const open = this.alarms.openByKey(req);
    if (open) return { alarm: this.bump(open, req, at), raised: false };
    const holder = this.suppression.holder(req);
    if (holder) return { alarm: this.hold(holder, req, at), raised: false, held: true };
    return { alarm: this.create(req, at), raised: true };
  }

  /**
   * active → acknowledged; a critical alarm cleared before anyone acknowledged it is acknowledged and closed (its
   * retained message deleted). Anything else is an illegal transition (409).
   */
  ack(id: string, by: string, note?: string): Alarm {
    const s = this.requireStored(id);
    if (!canAcknowledge(s.alarm)) {
      const why = s.alarm.state === 'cleared' ? 'is cleared and cannot be acknowledged' : 'is already acknowledged';
      throw new GatewayError('illegal_transition', `alarm ${id} ${why}`);
    }
    const now = Date.now();
    const state = s.alarm.state === 'cleared' ? ('cleared' as const) : ('acknowledged' as const);
    const alarm = compact({ ...s.alarm, state, acknowledged: true, ackedBy: by, ackedAt: iso(now), note: note ?? s.alarm.note });
    this.timers.cancel(id);
    this.commit(s, { ...s, alarm }, { transition: 'acknowledged', at: now, by, note });
    this.deps.log.info(this.logContext(alarm, { by }), 'alarm acknowledged');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'acknowledged' });
    this.incidents.changed(alarm);
    return alarm;
  }

  /**
   * Clears an alarm by hand: a person who clears it has dealt with it, so it counts as acknowledged too (a critical
   * alarm awaiting acknowledgement is closed). Clearing a closed one is an illegal transition (409).
   */
  clear(id: string, by: string, note?: string): Alarm {
    const s = this.requireStored(id);
    if (!isOpen(s.alarm)) throw new GatewayError('illegal_transition', `alarm ${id} is already cleared`);
    if (s.alarm.state === 'cleared') return this.ack(id, by, note);
    return this.doClear(s, by, note, true);
  }

  /**
   * Clears the open alarm of `key`: its condition stopped holding (`by` is `rule:<id>`). A critical alarm nobody
   * acknowledged yet stays open as cleared, awaiting acknowledgement, unless `dealtWith`: people ended the
   * condition themselves (they resolved the work order it was about). Undefined when none is active.
   */
  clearByKey(key: AlarmKey, by: string, dealtWith = false): Alarm | undefined {
    const s = this.alarms.openByKey(key);
    if (!s) {
      this.suppression.release(key);
      return undefined;
    }
    if (s.alarm.state === 'cleared') return dealtWith ? this.ack(s.alarm.id, by) : undefined;
    return this.doClear(s, by, undefined, dealtWith);
  }

  /**
   * Updates what the open alarm of `key` says while its condition still holds (a forecast's eta moved; contract
   * §13): stored and republished as a change `updated`, which is not a raise (count, lastSeen and the work
   * order stay). Undefined when none is open, or it is cleared awaiting acknowledgement.
   */
  updateOpen(key: AlarmKey, update: AlarmUpdate): Alarm | undefined {
    const s = this.alarms.openByKey(key);
    if (!s || s.alarm.state === 'cleared') return undefined;
    const alarm = compact({ ...s.alarm, value: update.value ?? s.alarm.value, eta: update.eta ?? s.alarm.eta, expected: update.expected ?? s.alarm.expected, z: update.z ?? s.alarm.z });
    this.commit(s, { ...s, alarm });
    this.deps.log.debug(this.logContext(alarm, { eta: alarm.eta }), 'alarm updated');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'updated' });
    return alarm;
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

  /** The alarms of an incident, oldest first. */
  ofIncident(id: string): Alarm[] {
    return this.alarms.ofIncident(id);
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
    const silence = req.lifeSafety ? undefined : this.silences.matching(req);
    const fireTest = req.lifeSafety && this.silences.matching(req)?.fireTest === true;
    const suppressed = this.suppression.count(req.device);
    const draft: Alarm = compact({
      id: sortableId('alm'),
      site: req.site,
      type: req.type,
      severity: req.severity,
      state: 'active' as const,
      acknowledged: false,
      source: req.source,
      device: req.device,
      kind: req.kind,
      zone: req.zone,
      ...this.texts(req),
      rule: req.rule,
      firstSeen: seen,
      lastSeen: seen,
      count: 1,
      value: req.value,
      ...predicted(req),
      workOrder: req.workOrder,
      lifeSafety: req.lifeSafety ? (true as const) : undefined,
      suppressed: suppressed > 0 ? suppressed : undefined,
      silenced: silence?.id,
      test: fireTest ? (true as const) : undefined,
    });
    const ancestors = this.suppression.ancestors(req.device);
    const alarm: Alarm = { ...draft, incident: this.incidents.assign(draft, ancestors, at) };
    const e = req.escalate;
    const stored: StoredAlarm = { alarm };
    if (e && moreSevere(e.to, req.severity)) stored.escalation = { to: e.to, at: at + e.afterMs, done: false };
    this.commit(undefined, stored, { transition: 'raised', at, by: req.rule });
    this.arm(stored);
    this.deps.log.info(this.logContext(alarm, { rule: req.rule, incident: alarm.incident, silenced: alarm.silenced }), 'alarm raised');
    this.deps.bus.emit('alarmRaised', { alarm });
    this.incidents.changed(alarm, ancestors);
    return alarm;
  }

  /** A raise held back under a parent that is down: the parent's open alarm counts it (contract §11). */
  private hold(parent: string, req: AlarmRaise, at: number): Alarm {
    const count = this.suppression.hold(parent, req, at);
    const holding = this.holdingAlarm(req.site, parent);
    if (holding && holding.alarm.suppressed !== count) {
      const alarm = { ...holding.alarm, suppressed: count };
      this.commit(holding, { ...holding, alarm });
      this.deps.bus.emit('alarmChanged', { alarm, change: 'suppressed' });
      this.incidents.changed(alarm);
    }
    this.deps.log.debug({ site: req.site, device: req.device, type: req.type, parent, held: count }, 'alarm held back: its parent is down');
    return holding?.alarm ?? this.heldPlaceholder(req, at);
  }

  /** The parent's open alarm that carries `suppressed`: its down alarm, else its own absent alarm. */
  private holdingAlarm(site: string, device: string): StoredAlarm | undefined {
    for (const type of DOWN_TYPES) {
      const s = this.alarms.openByKey({ site, type, source: device });
      if (s) return s;
    }
    return this.alarms.open().find((s) => s.alarm.site === site && s.alarm.device === device && s.alarm.state !== 'cleared');
  }

  /** What `raise` answers for a raise held back while the parent has no alarm of its own yet (nothing is stored). */
  private heldPlaceholder(req: AlarmRaise, at: number): Alarm {
    const seen = iso(at);
    return compact({ id: '', site: req.site, type: req.type, severity: req.severity, state: 'cleared' as const, acknowledged: false, source: req.source, device: req.device, kind: req.kind, zone: req.zone, rule: req.rule, ...this.texts(req), firstSeen: seen, lastSeen: seen, count: 0 });
  }

  /** A silence ended: the alarms raised under it that are still open are published now. */
  private silenceEnded(silence: Silence): void {
    for (const s of this.alarms.open()) {
      if (s.alarm.silenced !== silence.id) continue;
      const { silenced: _ended, ...rest } = s.alarm;
      const alarm: Alarm = rest;
      this.commit(s, { ...s, alarm });
      this.deps.bus.emit('alarmChanged', { alarm, change: 'unsilenced' });
    }
  }

  /** Another raise of an open alarm: count, lastSeen, message and value follow it; so does severity, but never below an escalation. */
  private bump(s: StoredAlarm, req: AlarmRaise, at: number): Alarm {
    if (s.alarm.state === 'cleared') return this.reopen(s, req, at);
    const prev = s.alarm;
    const escalated = s.escalation?.done === true && moreSevere(prev.severity, req.severity);
    const severity = escalated ? prev.severity : req.severity;
    const seen = iso(at);
    const alarm = compact({
      ...prev,
      severity,
      count: prev.count + 1,
      lastSeen: seen > prev.lastSeen ? seen : prev.lastSeen,
      ...this.texts(req),
      value: req.value,
      ...predicted(req),
      workOrder: prev.workOrder ?? req.workOrder,
    });
    if (severity === prev.severity) {
      this.commit(s, { ...s, alarm });
      this.deps.log.debug(this.logContext(alarm, { count: alarm.count }), 'alarm bumped');
      this.deps.bus.emit('alarmChanged', { alarm, change: 'bumped' });
      this.incidents.changed(alarm);
      return alarm;
    }
    this.commit(s, { ...s, alarm }, { transition: 'severity_changed', at: Date.now(), by: req.rule });
    this.deps.log.info(this.logContext(alarm, { from: prev.severity }), 'alarm severity changed');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'severity_changed', previousSeverity: prev.severity });
    this.incidents.changed(alarm);
    return alarm;
  }

  /** A critical alarm cleared but not yet acknowledged whose condition holds again: active once more, the same alarm. */
  private reopen(s: StoredAlarm, req: AlarmRaise, at: number): Alarm {
    const { clearedAt: _at, clearedBy: _by, ...prev } = s.alarm;
    const seen = iso(at);
    const alarm: Alarm = compact({ ...prev, state: 'active' as const, count: prev.count + 1, lastSeen: seen > prev.lastSeen ? seen : prev.lastSeen, ...this.texts(req), value: req.value, ...predicted(req) });
    this.commit(s, { ...s, alarm }, { transition: 'reopened', at, by: req.rule });
    this.deps.log.info(this.logContext(alarm, { rule: req.rule }), 'alarm raised again before it was acknowledged');
    this.deps.bus.emit('alarmChanged', { alarm, change: 'reopened' });
    this.incidents.changed(alarm);
    return alarm;
  }

  /** `byPerson`: an operator's clear, which counts as acknowledging it; a rule's leaves a critical alarm awaiting one. */
  private doClear(s: StoredAlarm, by: string, note: string | undefined, byPerson: boolean): Alarm {
    const now = Date.now();
    const acked = byPerson && !s.alarm.acknowledged ? { acknowledged: true, ackedBy: by, ackedAt: iso(now) } : {};
    const alarm = compact({ ...s.alarm, ...acked, state: 'cleared' as const, clearedBy: by, clearedAt: iso(now), note: note ?? s.alarm.note });
    this.timers.cancel(alarm.id);
    this.commit(s, { ...s, alarm }, { transition: 'cleared', at: now, by, note });
    this.deps.log.info(this.logContext(alarm, { by, awaitingAck: awaitsAck(alarm) || undefined }), 'alarm cleared');
    this.deps.bus.emit('alarmCleared', { alarm });
    this.incidents.changed(alarm);
    if (alarm.device && DOWN_TYPES.includes(alarm.type)) this.suppression.recovered(alarm.site, alarm.device, now);
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
    this.incidents.changed(alarm);
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
   * publishes: retained while open and not silenced, moved when the severity changed, final-then-deleted when it
   * closes (contract §4, §11).
   */
  private commit(prev: StoredAlarm | undefined, next: StoredAlarm, t?: TransitionRecord): void {
    if (prev) this.alarms.update(next, t);
    else this.alarms.insert(next, t!);
    const alarm = next.alarm;
    if (t) this.record(alarm, t.at);
    const was = prev && shown(prev.alarm);
    // A life-safety alarm does not wait behind the publishes of other alarms (the priority lane).
    const order = { urgent: alarm.lifeSafety === true };
    if (!shown(alarm)) {
      if (was) this.out.finish(this.topic(prev.alarm), alarm, order);
      return;
    }
    if (was && prev.alarm.severity !== alarm.severity) this.out.remove(this.topic(prev.alarm), order);
    this.out.retain(this.topic(alarm), alarm, order);
  }

  /**
   * contract §7: tags site/type/severity/source, fields state, id and value when numeric. InfluxDB keeps one
   * point per series and timestamp, so a raise, ack and clear within one millisecond would leave only the
   * last: each transition of an alarm is written at least 1 ms after its previous one.
   */
  private record(alarm: Alarm, transitionAt: number): void {
    const value = typeof alarm.value === 'number' ? alarm.value : undefined;
    const at = Math.max(transitionAt, (this.lastPointAt.get(alarm.id) ?? -Infinity) + 1);
    if (isOpen(alarm)) this.lastPointAt.set(alarm.id, at);
    else this.lastPointAt.delete(alarm.id);
    try {
      this.deps.writeLine(alarmLine(alarm.site, alarm.type, alarm.severity, alarm.source, { state: alarm.state, id: alarm.id, value }, at));
    } catch (err) {
      // The state store has the transition already; InfluxDB's copy is history, not truth.
      this.deps.log.error({ err, alarm: alarm.id }, 'alarm point not written');
    }
  }

  /** `message` in the site's language, `messages`, and the zone's names (issue 17). */
  private texts(req: AlarmRaise) {
    return alarmTexts(req, this.deps.places ?? NO_SITES);
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

/** What a forecast or an anomaly rule adds to its alarm (contract §13); undefined fields are dropped by compact. */
function predicted(req: AlarmRaise): Pick<Alarm, 'eta' | 'expected' | 'z' | 'late' | 'due'> {
  return { eta: req.eta, expected: req.expected, z: req.z, late: req.late, due: req.due };
}

/** Whether an alarm is on its retained topic: open and not raised under a silence. */
function shown(alarm: Alarm): boolean {
  return isOpen(alarm) && !alarm.silenced;
}

/** The names of a raise become topic levels; a bad one would publish where nobody looks (or everywhere). */
function checkRaise(req: AlarmRaise): void {
  const checked = AlarmRaiseSchema.safeParse(req);
  if (checked.success) return;
  const issue = checked.error.issues[0];
  throw new ValidationError(issue.path.map(String).join('.'), issue.message);
}
