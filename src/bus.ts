import type { Alarm, AlarmChange, Incident, Severity, Silence } from './alarms/model.js';
import type { Failures } from './failures.js';
import type { Logger } from './log.js';
import type { KindName, TelemetryFields } from './devices/kinds/index.js';
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
  /** `fields`: numbers, booleans, and an enum field's text (a lift's `direction`, contract §9). */
  telemetryAccepted: Origin & { ts: number; fields: TelemetryFields };
  eventAccepted: Origin & { ts: number; type: string; details: Record<string, unknown> };
  /** A device published `online` or `offline` on its status topic (or its last will did). */
  statusReceived: Origin & { online: boolean; ts: number };
  /** The registry's view of a device changed between online and offline. */
  deviceStatusChanged: Origin & { online: boolean; ts: number };
  /** A device was registered through the API. */
  deviceRegistered: Origin;
  /** A door a fire released became flagged as left unlocked after the fire, or stopped being (devices/fire-release.ts). */
  unlockedAfterFireChanged: { site: string; device: string; unlockedAfterFire: boolean };
  /** A set of rules was put in force: at start, or by a reload through the API or the watched folder. */
  rulesLoaded: { rules: number };
  commandResultReceived: Origin & { id: string; ok: boolean; error?: string; body: Record<string, unknown> };
  messageRejected: { site?: string; device?: string; topic: string; reason: string };
  /** A new alarm was raised (a raise of an open one is an `alarmChanged` bump). */
  alarmRaised: { alarm: Alarm };
  /** An open alarm was bumped, acknowledged, escalated, changed severity or was linked to a work order. */
  alarmChanged: { alarm: Alarm; change: AlarmChange; previousSeverity?: Severity };
  /** An alarm was cleared, by hand or by its rule (`alarm.clearedBy`). */
  alarmCleared: { alarm: Alarm };
  /** An incident (contract §11: alarms of one zone or parent raised together) opened, grew, changed or closed. */
  incidentChanged: { incident: Incident; change: 'opened' | 'updated' | 'closed' };
  /** A silence was created, began, ended on time or was deleted. */
  silenceChanged: { silence: Silence; change: 'created' | 'started' | 'ended' | 'deleted' };
  /** A work order was created, changed by someone, or became overdue. */
  workOrderChanged: { workOrder: WorkOrder; change: 'created' | 'updated' | 'overdue'; previousStatus?: WorkOrderStatus };
}

export type BusEventName = keyof BusEvents;
type Listener<K extends BusEventName> = (data: BusEvents[K]) => void | Promise<void>;
/** A listener's owner: a part, whose `name` is the stage its failures are counted under. */
type Owner = object & { name?: unknown };
interface Entry {
  owner: object;
  stage: string;
  fn: Listener<BusEventName>;
}

/**
 * A typed in-process event bus whose listeners are isolated: one that throws is counted and logged (through
 * `failures`, under its owner's name, rate-limited per device), and the rest still run.
 */
export class Bus {
  private readonly listeners = new Map<BusEventName, Entry[]>();
  /** Facts emitted while another is being delivered, in order. */
  private readonly pending: Array<[BusEventName, unknown]> = [];
  private delivering = false;

  constructor(
    private readonly log: Logger,
    private readonly failures?: Failures,
  ) {}

  on<K extends BusEventName>(event: K, owner: Owner, fn: Listener<K>): void {
    const list = this.listeners.get(event) ?? [];
    const stage = typeof owner.name === 'string' ? owner.name : owner.constructor.name;
    list.push({ owner, stage, fn: fn as Listener<BusEventName> });
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

  /**
   * Delivers a fact to every listener, synchronously. A fact emitted by a listener while another is being
   * delivered (the registry's `deviceStatusChanged` inside a reading's `telemetryAccepted`, an alarm raised by a
   * rule) is delivered after it, to every listener: facts reach listeners in the order they happened, whatever
   * order the parts subscribed in. Everything is delivered before the outermost `emit` returns.
   */
  emit<K extends BusEventName>(event: K, data: BusEvents[K]): void {
    if (this.delivering) {
      this.pending.push([event, data]);
      return;
    }
    this.delivering = true;
    try {
      this.deliver(event, data);
      for (let i = 0; i < this.pending.length; i++) this.deliver(this.pending[i][0], this.pending[i][1]);
    } finally {
      this.pending.length = 0;
      this.delivering = false;
    }
  }

  private deliver(event: BusEventName, data: unknown): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const entry of list) {
      try {
        const result = entry.fn(data as never);
        if (result instanceof Promise) result.catch((err: unknown) => this.failed(entry, event, data, err));
      } catch (err) {
        this.failed(entry, event, data, err);
      }
    }
  }

  private failed(entry: Entry, event: BusEventName, data: unknown, err: unknown): void {
    const { site, kind, device } = data as { site?: string; kind?: string; device?: string };
    if (this.failures) this.failures.report(entry.stage, err, { event, site, kind, device });
    else this.log.error({ err, event, stage: entry.stage }, 'bus listener failed');
  }
}
