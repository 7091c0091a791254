import type { AlarmKey, AlarmRaise, AlarmUpdate } from '../alarms/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Language, PlaceWords } from '../shared/language.js';
import type { WorkOrderCreate } from '../workorders/model.js';

/** A device as the rules see it: enough to match, template and send commands. */
export interface RuleDevice {
  id: string;
  kind: string;
  site: string;
  zone: string;
  tags: Record<string, string>;
  online: boolean;
  /** Epoch ms, or null when never seen. */
  lastSeen: number | null;
}

/**
 * What a rule may do, injected by gateway.ts (house style §2: rules → bus and RuleActions, never the
 * alarm or work order services directly).
 */
export interface RuleActions {
  /** Raises the alarm, or bumps the open one of (site, type, source); `raised` is false for a bump. */
  raiseAlarm(req: AlarmRaise): { id: string; raised: boolean };
  /** Clears the open alarm of `key` because its condition stopped holding; nothing if none is open. */
  clearAlarm(key: AlarmKey, rule: string): void;
  /** Updates the open alarm of `key` while its condition still holds (a forecast's eta moved); not a raise. */
  updateAlarm?(key: AlarmKey, update: AlarmUpdate, rule: string): void;
  /** Opens a work order; answers its id. Linked to the alarm when `alarm` is given. */
  openWorkOrder(req: WorkOrderCreate): string;
  /** Sends `action` to a device; the result is recorded by the caller's side, failures are logged there. */
  sendCommand(device: RuleDevice, action: string, params: Record<string, unknown> | undefined, rule: string): void;
  /** Every registered device (for `match`, `absent` and command targets). */
  devices(): RuleDevice[];
  /**
   * One registered device, or undefined. Called for each message of a rule whose `match` has `tags` (the
   * bus carries no tags), so it must be a map lookup, not a query.
   */
  device(id: string): RuleDevice | undefined;
  /** A zone in words in a language (a template's `{place}`); undefined when no site file knows it. */
  placeText?(site: string, zone: string | undefined, language: Language): string | undefined;
}

/**
 * The services the rule actions are made of, as the rules need them (structural: the rules import no
 * service, house style §2). `D` is the registry's device record.
 */
export interface RuleServices<D extends RuleDevice> {
  alarms: { raise(req: AlarmRaise): { alarm: { id: string }; raised: boolean }; clearByKey(key: AlarmKey, by: string): unknown; updateOpen?(key: AlarmKey, update: AlarmUpdate): unknown };
  workOrders: { create(req: WorkOrderCreate): { id: string } };
  commands: { send(device: D, action: string, params?: Record<string, unknown>): Promise<{ ok?: unknown; error?: unknown }> };
  registry: { get(id: string): D | undefined; list(): D[] };
  metrics: Metrics;
  /** The site files' names of places (contract §12); without them `{place}` is the zone's id. */
  places?: PlaceWords;
  log: Logger;
}

/** What the rules may do, made of the alarm and work order services, commands and the registry. */
export function createRuleActions<D extends RuleDevice>(s: RuleServices<D>): RuleActions {
  const commandsSent = s.metrics.counter('gateway_rule_commands_total', 'Commands sent by rules, by outcome');
  return {
    raiseAlarm: (req) => {
      const { alarm, raised } = s.alarms.raise(req);
      return { id: alarm.id, raised };
    },
    clearAlarm: (key, rule) => void s.alarms.clearByKey(key, `rule:${rule}`),
    updateAlarm: (key, update) => void s.alarms.updateOpen?.(key, update),
    openWorkOrder: (req) => s.workOrders.create(req).id,
    sendCommand: (device, action, params, rule) => {
      const record = s.registry.get(device.id);
      if (!record) return;
      s.commands.send(record, action, params).then(
        (result) => {
          commandsSent({ outcome: result.ok ? 'ok' : 'failed' });
          s.log.info({ rule, device: device.id, action, ok: result.ok, error: result.error }, 'rule command answered');
        },
        (err: unknown) => {
          commandsSent({ outcome: 'unanswered' });
          s.log.warn({ err, rule, device: device.id, action }, 'rule command not answered');
        },
      );
    },
    // A device record is a RuleDevice as it is: no copy per message for rules matching on tags.
    devices: () => s.registry.list(),
    device: (id) => s.registry.get(id),
    placeText: (site, zone, language) => s.places?.placeText(site, zone, language),
  };
}
