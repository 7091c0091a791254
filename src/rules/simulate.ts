/**
 * Replays messages through one rule on a virtual clock, without side effects (for `POST /api/rules/test`):
 * the same engine, router and condition code as live, with recording actions instead of the services.
 * Time jumps from message to message, running the timers due in between (`for`, windows, absence).
 */
import { Bus } from '../bus.js';
import { createLogger, type Logger } from '../log.js';
import type { AlarmKey, AlarmRaise, AlarmUpdate, Texts } from '../alarms/model.js';
import type { DeviceMessage } from '../devices/kinds/messages.js';
import { DEFAULT_LANGUAGE, inEveryLanguage, inLanguage } from '../shared/language.js';
import type { WorkOrderCreate } from '../workorders/model.js';
import type { RuleActions, RuleDevice } from './actions.js';
import { VirtualClock } from './clock.js';
import type { HistoryQuery, HistoryReading } from './conditions/types.js';
import { RuleEngine } from './engine.js';
import type { Rule, Scalar } from './schema.js';

/** One message as a device would send it (already accepted: simulate trusts it). */
export type SimMessage = DeviceMessage;

/**
 * What the rule did, in order. `raised` and `cleared` are alarms (of `type`); a bump of an open alarm has `repeat`.
 * Texts as the alarm and the work order would carry them: in every language, and `message`/`title` in zh-CN.
 */
export type SimOutcome =
  | { at: number; kind: 'raised'; site: string; type: string; source: string; value?: Scalar; message: string; messages: Texts; repeat?: true; eta?: string; expected?: number; z?: number }
  /** A forecast's eta moved while its alarm is open (contract §13): the alarm is updated, not raised again. */
  | { at: number; kind: 'updated'; site: string; type: string; source: string; value?: Scalar; eta?: string; expected?: number; z?: number }
  | { at: number; kind: 'cleared'; site: string; type: string; source: string; message: string; messages: Texts }
  | { at: number; kind: 'workOrder'; site: string; source?: string; title: string; titles: Texts }
  | { at: number; kind: 'command'; site: string; device: string; action: string; params?: Record<string, unknown> };

export interface SimOptions {
  /** Site local time zone for `during` and schedules. */
  timeZone: string;
  /** Virtual start (default: the first message's ts); `absent` counts from the devices' lastSeen. */
  from?: number;
  /** Virtual end (default: the last message's ts): timers due until then still run. */
  until?: number;
  /** Stored readings before `from`, for the conditions that learn a baseline (`anomaly`); answered at once. */
  history?: (q: HistoryQuery) => HistoryReading[];
  log?: Logger;
}

/** Runs `rule` over `messages` (sorted by ts here) and answers its raises, clears, work orders and commands. */
export function simulateRule(rule: Rule, messages: readonly SimMessage[], devices: readonly RuleDevice[], opts: SimOptions): SimOutcome[] {
  return simulateRules([rule], messages, devices, opts);
}

/** `simulateRule` for a set of rules in force together (a whole rule pack over a simulated day). */
export function simulateRules(rules: readonly Rule[], messages: readonly SimMessage[], devices: readonly RuleDevice[], opts: SimOptions): SimOutcome[] {
  const sorted = [...messages].sort((a, b) => a.ts - b.ts);
  const from = opts.from ?? sorted[0]?.ts ?? Date.now();
  const until = Math.max(from, opts.until ?? sorted[sorted.length - 1]?.ts ?? from);
  const clock = new VirtualClock(from);
  const log = opts.log ?? createLogger('silent');
  const bus = new Bus(log);
  const outcomes: SimOutcome[] = [];
  const engine = new RuleEngine({ bus, actions: recorder(clock, devices, sorted, outcomes), log, timeZone: opts.timeZone, clock, history: opts.history });
  engine.setRules(rules.map((rule) => ({ ...rule, enabled: true })));
  engine.start();
  try {
    for (const m of sorted) {
      clock.advanceTo(m.ts);
      emit(bus, m);
    }
    clock.advanceTo(until);
  } finally {
    engine.stop();
  }
  return outcomes;
}

/** The forecast and anomaly fields of a raise or an update, as the alarm carries them (contract §13). */
function detail(r: AlarmUpdate): { eta?: string; expected?: number; z?: number } {
  return { ...(r.eta !== undefined && { eta: r.eta }), ...(r.expected !== undefined && { expected: r.expected }), ...(r.z !== undefined && { z: r.z }) };
}

function emit(bus: Bus, m: SimMessage): void {
  const origin = { site: m.site, kind: m.kind, device: m.device, zone: m.zone };
  if (m.telemetry) bus.emit('telemetryAccepted', { ...origin, ts: m.ts, fields: m.telemetry });
  if (m.event) bus.emit('eventAccepted', { ...origin, ts: m.ts, type: m.event.type, details: m.event.details ?? {} });
  if (m.status) bus.emit('statusReceived', { ...origin, ts: m.ts, online: m.status === 'online' });
}

/** RuleActions that record instead of acting; alarms open and clear as the alarm service would (one per key). */
function recorder(clock: VirtualClock, given: readonly RuleDevice[], messages: readonly SimMessage[], out: SimOutcome[]): RuleActions {
  const devices = new Map(given.map((d) => [d.id, d]));
  // Devices only the messages name still need to be found (commands, tags): they have no tags.
  for (const m of messages) {
    if (!devices.has(m.device)) devices.set(m.device, { id: m.device, kind: m.kind, site: m.site, zone: m.zone, tags: {}, online: false, lastSeen: null });
  }
  const open = new Map<string, { id: string; message: string; messages: Texts }>();
  const keyOf = (k: AlarmKey) => `${k.site}\u0000${k.type}\u0000${k.source}`;
  let ids = 0;
  return {
    raiseAlarm(req: AlarmRaise) {
      const existing = open.get(keyOf(req));
      const messages = req.messages ?? inEveryLanguage(req.message);
      const alarm = existing ?? { id: `sim-${++ids}`, message: req.message, messages };
      open.set(keyOf(req), { ...alarm, message: req.message, messages });
      out.push({
        at: clock.now(),
        kind: 'raised',
        site: req.site,
        type: req.type,
        source: req.source,
        value: req.value,
        message: req.message,
        messages,
        ...(existing ? { repeat: true as const } : {}),
        ...detail(req),
      });
      return { id: alarm.id, raised: !existing };
    },
    updateAlarm(key: AlarmKey, update: AlarmUpdate) {
      if (!open.has(keyOf(key))) return;
      out.push({ at: clock.now(), kind: 'updated', site: key.site, type: key.type, source: key.source, value: update.value, ...detail(update) });
    },
    clearAlarm(key: AlarmKey) {
      const alarm = open.get(keyOf(key));
      if (!alarm) return;
      open.delete(keyOf(key));
      out.push({ at: clock.now(), kind: 'cleared', site: key.site, type: key.type, source: key.source, message: alarm.message, messages: alarm.messages });
    },
    openWorkOrder(req: WorkOrderCreate) {
      out.push({ at: clock.now(), kind: 'workOrder', site: req.site, source: req.device ?? req.zone, title: inLanguage(req.title, DEFAULT_LANGUAGE), titles: inEveryLanguage(req.title) });
      return `sim-wo-${++ids}`;
    },
    sendCommand(device, action, params) {
      out.push({ at: clock.now(), kind: 'command', site: device.site, device: device.id, action, ...(params ? { params } : {}) });
    },
    devices: () => [...devices.values()],
    device: (id) => devices.get(id),
  };
}
