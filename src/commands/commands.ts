import { randomUUID } from 'node:crypto';
import type { Bus, BusEvents } from '../bus.js';
import type { DeviceRecord } from '../devices/registry.js';
import { GatewayError, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Publish, Topics } from '../topics.js';

/** What a device answered on `cmd/result` (contract §2). */
export type CommandResult = BusEvents['commandResultReceived']['body'];

/**
 * How a command reaches a device that does not speak the gateway's JSON: `deliver` does it (publishes the
 * vendor's command, or writes a Modbus register and reads it back) and settles when it is done; `error` says
 * why the command cannot be made (no such action in its profile, a param missing).
 */
export type VendorCommand = { deliver: () => Promise<void> } | { error: string };

interface Pending {
  device: string;
  resolve(result: CommandResult): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Request/response over MQTT (z2m `bridge.ts`): a command goes out on the device's `cmd` topic with a fresh
 * `id`, and the `cmd/result` echoing that id answers it; no answer within the timeout is a 504.
 */
export class Commands {
  /** The stage its failures are counted under. */
  readonly name = 'commands';
  private readonly pending = new Map<string, Pending>();
  private readonly count: (labels?: Record<string, string>) => void;

  constructor(
    private readonly topics: Topics,
    private readonly publish: Publish,
    private readonly bus: Bus,
    private readonly timeoutMs: number,
    private readonly log: Logger,
    metrics: Metrics,
    /** The vendor's way for a profiled device; undefined for a native one. */
    private readonly vendor?: (device: DeviceRecord, action: string, params: Record<string, unknown>) => VendorCommand | undefined,
  ) {
    this.count = metrics.counter('gateway_commands_total', 'Commands sent to devices, by outcome');
  }

  start(): void {
    this.bus.on('commandResultReceived', this, (r) => this.settle(r));
  }

  /** Sends `action` to the device and resolves with its result. */
  async send(device: DeviceRecord, action: string, params?: Record<string, unknown>): Promise<CommandResult> {
    const vendor = this.vendor?.(device, action, params ?? {});
    if (vendor) return this.sendVendor(device, action, vendor);
    const id = randomUUID();
    const body = JSON.stringify(params === undefined ? { id, action } : { id, action, params });
    const answered = new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.count({ outcome: 'timeout' });
        reject(new GatewayError('timeout', `device ${device.id} did not answer command ${id} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { device: device.id, resolve, reject, timer });
    });
    try {
      await this.publish(this.topics.device(device.site, device.kind, device.id, 'cmd'), body, { qos: 1 });
    } catch (err) {
      this.drop(id);
      throw new GatewayError('internal', 'command could not be published', { cause: err });
    }
    this.log.info({ device: device.id, site: device.site, action, id }, 'command sent');
    return answered;
  }

  /** A profiled device's command: answered ok once delivered (and, over Modbus, read back), within the timeout. */
  private async sendVendor(device: DeviceRecord, action: string, vendor: VendorCommand): Promise<CommandResult> {
    if ('error' in vendor) throw new ValidationError('action', vendor.error);
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new GatewayError('timeout', `command ${action} to ${device.id} not done within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    const delivered = vendor.deliver();
    // Still settling after a timeout: its failure then is only the timeout's.
    delivered.catch(() => undefined);
    try {
      await Promise.race([delivered, timeout]);
      this.count({ outcome: 'ok' });
      this.log.info({ device: device.id, site: device.site, action, id }, 'command done');
      return { id, ok: true };
    } catch (err) {
      if (err instanceof GatewayError && err.code === 'timeout') {
        this.count({ outcome: 'timeout' });
        throw err;
      }
      this.count({ outcome: 'failed' });
      return { id, ok: false, error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    this.bus.removeListeners(this);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new GatewayError('shutting_down', 'the gateway stopped before the device answered'));
      this.pending.delete(id);
    }
  }

  private settle(r: BusEvents['commandResultReceived']): void {
    const p = this.pending.get(r.id);
    // Only the device the command went to may answer it.
    if (!p || p.device !== r.device) {
      this.log.info({ device: r.device, id: r.id }, 'command result for no pending command');
      return;
    }
    this.drop(r.id);
    this.count({ outcome: r.ok ? 'ok' : 'failed' });
    p.resolve(r.body);
  }

  private drop(id: string): void {
    const p = this.pending.get(id);
    if (p) clearTimeout(p.timer);
    this.pending.delete(id);
  }
}
