import { vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { AlarmKey, AlarmRaise } from '../../../src/alarms/model.js';
import { Bus } from '../../../src/bus.js';
import type { KindName, TelemetryFields } from '../../../src/devices/kinds/index.js';
import { createLogger, type Logger } from '../../../src/log.js';
import type { RuleActions, RuleDevice } from '../../../src/rules/actions.js';
import { RuleEngine } from '../../../src/rules/engine.js';
import { parseRule, type Rule } from '../../../src/rules/schema.js';
import type { RuleStateStore } from '../../../src/rules/state.js';
import type { WorkOrderCreate } from '../../../src/workorders/model.js';

/** Monday 6 January 2025, 12:00 UTC. */
export const T0 = Date.parse('2025-01-06T12:00:00Z');
export const SITE = 'maple-court';

/** One call the engine made on its RuleActions, with the (fake) time it made it. */
export type Call =
  | { op: 'raise'; at: number; req: AlarmRaise; raised: boolean }
  | { op: 'clear'; at: number; key: AlarmKey; rule: string }
  | { op: 'workOrder'; at: number; req: WorkOrderCreate }
  | { op: 'command'; at: number; device: string; action: string; params?: Record<string, unknown> };

export function device(id: string, kind: KindName, zone: string, extra: Partial<RuleDevice> = {}): RuleDevice {
  return { id, kind, site: SITE, zone, tags: {}, online: true, lastSeen: null, ...extra };
}

export const DEVICES: RuleDevice[] = [
  device('fire-1', 'fire', 'b1-f1'),
  device('fire-2', 'fire', 'b1-f1'),
  device('fire-3', 'fire', 'b2-f1'),
  device('door-1', 'access', 'b1-f1'),
  device('door-2', 'access', 'b2-f1'),
  device('lamp-1', 'lighting', 'b1-f1'),
  device('cam-1', 'camera', 'b1-f1'),
  device('meter-1', 'energy', 'b1', { tags: { role: 'building' } }),
  device('meter-2', 'energy', 'b2'),
];

/** RuleActions that record every call and keep alarms open and closed as the alarm service does. */
export class RecordingActions implements RuleActions {
  readonly calls: Call[] = [];
  readonly open = new Map<string, string>();
  private ids = 0;

  constructor(readonly list: RuleDevice[] = DEVICES.map((d) => ({ ...d }))) {}

  raiseAlarm(req: AlarmRaise) {
    const key = `${req.site}/${req.type}/${req.source}`;
    const existing = this.open.get(key);
    const id = existing ?? `alarm-${++this.ids}`;
    this.open.set(key, id);
    this.calls.push({ op: 'raise', at: Date.now(), req, raised: !existing });
    return { id, raised: !existing };
  }

  clearAlarm(key: AlarmKey, rule: string) {
    this.open.delete(`${key.site}/${key.type}/${key.source}`);
    this.calls.push({ op: 'clear', at: Date.now(), key, rule });
  }

  openWorkOrder(req: WorkOrderCreate) {
    this.calls.push({ op: 'workOrder', at: Date.now(), req });
    return `wo-${++this.ids}`;
  }

  sendCommand(d: RuleDevice, action: string, params: Record<string, unknown> | undefined) {
    this.calls.push({ op: 'command', at: Date.now(), device: d.id, action, ...(params ? { params } : {}) });
  }

  devices() {
    return this.list;
  }

  device(id: string) {
    return this.list.find((d) => d.id === id);
  }

  /** Raise and clear calls as `[op, source, at offset from T0]`, the shape most tests assert on. */
  edges(): Array<[string, string, number]> {
    return this.calls.flatMap((c): Array<[string, string, number]> =>
      c.op === 'raise' ? [['raise', c.req.source, c.at - T0]] : c.op === 'clear' ? [['clear', c.key.source, c.at - T0]] : [],
    );
  }
}

/** Parses rules written as YAML (a list), failing the test on a validation problem. */
export function rules(yaml: string): Rule[] {
  const list = parseYaml(yaml) as unknown[];
  return list.map((raw, i) => {
    const r = parseRule(raw, 'test.yaml', i);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    return r.rule;
  });
}

export interface Harness {
  bus: Bus;
  actions: RecordingActions;
  engine: RuleEngine;
  log: Logger;
  telemetry(device: string, fields: TelemetryFields): void;
  event(device: string, type: string, details?: Record<string, unknown>): void;
  status(device: string, online: boolean): void;
  /** Moves fake time on by `ms`, running the timers due. */
  advance(ms: number): Promise<void>;
}

/** An engine on fake timers (started at T0 unless told otherwise) with the recording actions. */
export function harness(ruleYaml: string, opts: { state?: RuleStateStore; timeZone?: string; actions?: RecordingActions; start?: boolean; log?: Logger } = {}): Harness {
  const log = opts.log ?? createLogger('silent');
  const bus = new Bus(log);
  const actions = opts.actions ?? new RecordingActions();
  const engine = new RuleEngine({ bus, actions, log, timeZone: opts.timeZone ?? 'UTC', state: opts.state });
  engine.setRules(rules(ruleYaml));
  if (opts.start !== false) engine.start();
  const origin = (id: string) => {
    const d = actions.device(id);
    if (!d) throw new Error(`no device ${id} in the test's registry`);
    return { site: d.site, kind: d.kind as KindName, device: d.id, zone: d.zone };
  };
  return {
    bus,
    actions,
    engine,
    log,
    telemetry: (id, fields) => bus.emit('telemetryAccepted', { ...origin(id), ts: Date.now(), fields }),
    event: (id, type, details = {}) => bus.emit('eventAccepted', { ...origin(id), ts: Date.now(), type, details }),
    status: (id, online) => bus.emit('statusReceived', { ...origin(id), ts: Date.now(), online }),
    advance: (ms) => vi.advanceTimersByTimeAsync(ms).then(() => undefined),
  };
}

/** Fake timers with Date faked too, at `at`. */
export function useFakeTime(at = T0): void {
  vi.useFakeTimers({ now: at });
}

/** A logger whose records a test can read. */
export function recordingLogger(): { log: Logger; records: Array<Record<string, any>> } {
  const records: Array<Record<string, any>> = [];
  const log = createLogger('debug', { write: (line: string) => void records.push(JSON.parse(line)) });
  return { log, records };
}
