/**
 * The definitions document (contract §14): the kinds with their fields and events, the life-safety events,
 * alarm severities and the alarm types the gateway can raise, work-order priorities, statuses and transitions.
 * Built from the schemas and tables the gateway enforces, never from copies; answered by `GET /api/definitions`
 * and kept retained on `sc/{site}/gateway/definitions`, so an operator's program and the console read one truth.
 */
import { ALARM_STATES, SEVERITIES, type AlarmState, type Severity } from './alarms/model.js';
import type { Bus } from './bus.js';
import { describeKinds, type KindDescription } from './devices/kinds/describe.js';
import { LIFE_SAFETY_EVENTS, type KindEvent, type KindName } from './devices/kinds/index.js';
import type { Logger } from './log.js';
import type { Rule } from './rules/schema.js';
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from './shared/language.js';
import { SerialPublisher } from './shared/serial-publisher.js';
import type { Publish, Topics } from './topics.js';
import {
  FINAL_STATUSES,
  PRIORITIES,
  SETTLED_STATUSES,
  TRANSITIONS,
  WORK_ORDER_STATUSES,
  type Priority,
  type WorkOrderStatus,
} from './workorders/model.js';
import { OVERDUE_ALARM, OVERDUE_MESSAGES, OVERDUE_SEVERITY } from './workorders/service.js';

type Texts = Record<Language, string>;

/** An alarm type the gateway can raise: one entry per rule that raises it, and one per type of its own. */
export interface AlarmTypeDefinition {
  type: string;
  severity: Severity;
  /** The rule that raises it (the alarm JSON's `rule`). */
  rule: string;
  /**
   * The message template in the default language (zh-CN). Absent when the rule gives none: the alarm then says
   * `<type> at <source>` (`<type>（<source>）` in Chinese).
   */
  message?: string;
  /** The message template in every language (a rule written in one language says it in both). */
  messages?: Texts;
  /** What the desk must do when it is raised (the rule's `alarm.instructions`). */
  instructions?: Texts;
  /** What the rule watches (the rule's `description`). */
  description?: Texts;
  /** The severity it escalates to when still unacknowledged (the rule's `alarm.escalate.to`). */
  escalateTo?: Severity;
  /** The gateway's own types whose severity follows a work order's priority. */
  severityByPriority?: Record<Priority, Severity>;
}

/** The document of contract §14; docs/api.md shows an example. */
export interface Definitions {
  kinds: Record<KindName, KindDescription>;
  lifeSafetyEvents: KindEvent[];
  alarms: { severities: Severity[]; states: AlarmState[]; types: AlarmTypeDefinition[] };
  workOrders: {
    priorities: Priority[];
    statuses: WorkOrderStatus[];
    transitions: Record<WorkOrderStatus, WorkOrderStatus[]>;
    /** The work is done or dropped: no due time, no overdue alarm. */
    settled: WorkOrderStatus[];
    /** Nothing may change any more; the retained message is gone. */
    final: WorkOrderStatus[];
  };
}

/** The alarm of a device over its quota (contract §11; the broker's quota, src/broker/quota.ts, decides). */
export const FLOODING_ALARM = 'device_flooding';
/** The `rule` of that alarm. */
export const FLOODING_RULE = 'quota';
/** Its message: `{rate}` is what the device sent a second over the last 10 s, `{limit}` DEVICE_MAX_RATE. */
export const FLOODING_MESSAGES: Readonly<Texts> = {
  'zh-CN': '{device} 每秒发送 {rate} 条消息，超过其配额 {limit} 条',
  en: '{device} sends {rate} messages a second, more than its quota of {limit}',
};

/** The texts of a `device_flooding` alarm (`message` in the default language; the alarm service answers the site's). */
export function floodingTexts(device: string, rate: number, limit: number): { message: string; messages: Texts } {
  const vars: Record<string, string> = { device, rate: String(Math.round(rate * 10) / 10), limit: String(limit) };
  // One pass per language, so a device id holding `{rate}` stays as written.
  const fill = (l: Language) => FLOODING_MESSAGES[l].replace(/\{(device|rate|limit)\}/g, (_, name: string) => vars[name]);
  const messages = Object.fromEntries(LANGUAGES.map((l) => [l, fill(l)])) as Texts;
  return { message: messages[DEFAULT_LANGUAGE], messages };
}

/** Alarm types the gateway raises itself, whatever the rules say, with what they mean and what the desk does. */
const GATEWAY_ALARM_TYPES: readonly AlarmTypeDefinition[] = [
  {
    type: OVERDUE_ALARM,
    severity: OVERDUE_SEVERITY.normal,
    rule: OVERDUE_ALARM,
    message: OVERDUE_MESSAGES[DEFAULT_LANGUAGE],
    messages: { ...OVERDUE_MESSAGES },
    instructions: {
      'zh-CN': '联系工单的处理人，了解维修进展；无人处理时重新指派或上报主管。',
      en: "Call the work order's assignee and ask how the repair is going; when nobody has it, assign it or tell the supervisor.",
    },
    description: {
      'zh-CN': '工单在应完成时间前未解决；紧急工单逾期为严重告警。',
      en: 'A work order was not resolved by its due time; an overdue urgent order is critical.',
    },
    severityByPriority: { ...OVERDUE_SEVERITY },
  },
  {
    type: FLOODING_ALARM,
    severity: 'warning',
    rule: FLOODING_RULE,
    message: FLOODING_MESSAGES[DEFAULT_LANGUAGE],
    messages: { ...FLOODING_MESSAGES },
    instructions: {
      'zh-CN': '检查该设备是否故障或配置有误（上报过于频繁）。修复前，其超出配额的普通消息会被延迟或丢弃；生命安全事件不受影响。',
      en: 'Check the device for a fault or a wrong setting (it reports too often). Until it is fixed, its ordinary messages over the quota are delayed or dropped; life-safety events still pass.',
    },
    description: {
      'zh-CN': '设备发送消息的速率超过其配额（DEVICE_MAX_RATE）。',
      en: 'A device sends messages faster than its quota (DEVICE_MAX_RATE).',
    },
  },
];

/** The parts that depend on no rule (the schemas and tables cannot change while the gateway runs), frozen as they are shared. */
const FIXED: Omit<Definitions, 'alarms'> & { alarms: Omit<Definitions['alarms'], 'types'> } = deepFreeze({
  kinds: describeKinds(),
  lifeSafetyEvents: LIFE_SAFETY_EVENTS.map((e) => ({ ...e })),
  alarms: { severities: [...SEVERITIES], states: [...ALARM_STATES] },
  workOrders: {
    priorities: [...PRIORITIES],
    statuses: [...WORK_ORDER_STATUSES],
    transitions: Object.fromEntries(WORK_ORDER_STATUSES.map((s) => [s, [...TRANSITIONS[s]]])) as Record<WorkOrderStatus, WorkOrderStatus[]>,
    settled: [...SETTLED_STATUSES],
    final: [...FINAL_STATUSES],
  },
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

/** The alarm types of `rules` (those with an alarm), in their order, then the gateway's own. */
export function alarmTypes(rules: readonly Rule[]): AlarmTypeDefinition[] {
  const fromRules = rules.flatMap((r): AlarmTypeDefinition[] => {
    if (!r.alarm) return [];
    const { type, severity, message, instructions, escalate } = r.alarm;
    return [
      {
        type,
        severity,
        rule: r.id,
        ...(message && { message: message[DEFAULT_LANGUAGE].text, messages: texts((l) => message[l].text) }),
        ...(instructions && { instructions: { ...instructions } }),
        ...(r.description && { description: { ...r.description } }),
        ...(escalate && { escalateTo: escalate.to }),
      },
    ];
  });
  return [...fromRules, ...GATEWAY_ALARM_TYPES.map((t) => ({ ...t }))];
}

function texts(of: (l: Language) => string): Texts {
  return Object.fromEntries(LANGUAGES.map((l) => [l, of(l)])) as Texts;
}

/** The definitions document with the alarm types of the rules in force. */
export function buildDefinitions(rules: readonly Rule[]): Definitions {
  return { ...FIXED, alarms: { ...FIXED.alarms, types: alarmTypes(rules) } };
}

export interface DefinitionsPublisherDeps {
  bus: Bus;
  topics: Topics;
  /** The broker's publish (house style §2: never the broker itself). */
  publish: Publish;
  /** The document as it stands now (the rules in force change its alarm types). */
  document(): Definitions;
  /** Every site with a registered device. */
  sites(): Iterable<string>;
  log: Logger;
}

/**
 * Keeps `sc/{site}/gateway/definitions` retained at QoS 1 (contract §14) for every site with a device: at start
 * (after the broker is up and the rules are loaded), after a rules load that changed the document, and for the
 * site of a newly registered device.
 */
export class DefinitionsPublisher {
  /** The stage its failures are counted under. */
  readonly name = 'definitions';
  private readonly out: SerialPublisher;
  private readonly sites = new Set<string>();
  private document?: Definitions;
  private payload = '';

  constructor(private readonly deps: DefinitionsPublisherDeps) {
    this.out = new SerialPublisher(deps.publish, deps.log);
  }

  start(): void {
    this.document = this.deps.document();
    this.payload = JSON.stringify(this.document);
    for (const site of this.deps.sites()) this.retain(site);
    this.deps.bus.on('rulesLoaded', this, () => this.rulesLoaded());
    this.deps.bus.on('deviceRegistered', this, ({ site }) => {
      if (!this.sites.has(site)) this.retain(site);
    });
    this.deps.log.info({ sites: this.sites.size }, 'definitions published');
  }

  stop(): void {
    this.deps.bus.removeListeners(this);
  }

  /** Resolves once every publish asked for so far is done (or failed and was logged). */
  settled(): Promise<void> {
    return this.out.settled();
  }

  private rulesLoaded(): void {
    const document = this.deps.document();
    const payload = JSON.stringify(document);
    // A reload that changed no alarm type (a threshold edited) leaves the retained message as it is.
    if (payload === this.payload) return;
    this.document = document;
    this.payload = payload;
    for (const site of this.sites) this.retain(site);
    this.deps.log.info({ sites: this.sites.size }, 'definitions published');
  }

  private retain(site: string): void {
    this.sites.add(site);
    if (this.document) this.out.retain(this.deps.topics.definitions(site), this.document);
  }
}
