import type { AlarmKey, AlarmRaise } from '../alarms/model.js';
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
}
