import type { Alarm, AlarmChange, Severity } from './alarms/model.js';
import type { Logger } from './log.js';
import type { KindName } from './devices/kinds/index.js';
import type { WorkOrder, WorkOrderStatus } from './workorders/model.js';

/** Where an accepted message came from. */
export interface Origin {
  site: string;
  kind: KindName;
  device: string;
  zone: string;
}

/** Every fact the bus carries, by name (z2m `EventBusMap`). */
export interface BusEvents {
  telemetryAccepted: Origin & { ts: number; fields: Record<string, number | boolean> };
  eventAccepted: Origin & { ts: number; type: string; details: Record<string, unknown> };
  /** A device published `online` or `offline` on its status topic (or its last will did). */
  statusReceived: Origin & { online: boolean; ts: number };
  /** The registry's view of a device changed between online and offline. */
  deviceStatusChanged: Origin & { online: boolean; ts: number };
  commandResultReceived: Origin & { id: string; ok: boolean; error?: string; body: Record<string, unknown> };
  messageRejected: { site?: string; device?: string; topic: string; reason: string };
  /** A new alarm was raised (a raise of an open one is an `alarmChanged` bump). */
  alarmRaised: { alarm: Alarm };
  /** An open alarm was bumped, acknowledged, escalated, changed severity or was linked to a work order. */
  alarmChanged: { alarm: Alarm; change: AlarmChange; previousSeverity?: Severity };
  /** An alarm was cleared, by hand or by its rule (`alarm.clearedBy`). */
  alarmCleared: { alarm: Alarm };
  /** A work order was created, changed by someone, or became overdue. */
  workOrderChanged: { workOrder: WorkOrder; change: 'created' | 'updated' | 'overdue'; previousStatus?: WorkOrderStatus };
}

export type BusEventName = keyof BusEvents;
type Listener<K extends BusEventName> = (data: BusEvents[K]) => void | Promise<void>;

/** A typed in-process event bus whose listeners are isolated: one that throws is logged, the rest still run. */
export class Bus {
  private readonly listeners = new Map<BusEventName, Array<{ owner: object; fn: Listener<BusEventName> }>>();

  constructor(private readonly log: Logger) {}

  on<K extends BusEventName>(event: K, owner: object, fn: Listener<K>): void {
    const list = this.listeners.get(event) ?? [];
    list.push({ owner, fn: fn as Listener<BusEventName> });
    this.listeners.set(event, list);
  }

  /** Detaches every listener `owner` registered, so a stopped part leaves nothing behind. */
  removeListeners(owner: object): void {
    for (const [event, list] of this.listeners) {
      this.listeners.set(
        event,
        list.filter((l) => l.owner !== owner),
      );
    }
  }

  emit<K extends BusEventName>(event: K, data: BusEvents[K]): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const { fn } of list) {
      try {
        const result = fn(data);
        if (result instanceof Promise) result.catch((err: unknown) => this.log.error({ err, event }, 'bus listener failed'));
      } catch (err) {
        this.log.error({ err, event }, 'bus listener failed');
      }
    }
  }
}
