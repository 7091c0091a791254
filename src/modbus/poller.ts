import { ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import { CodecError, encodeRegisters } from './codec.js';
import { validateDevice, validateWrite, type PolledDevice, type WriteCommand } from './device.js';
import { ModbusError, ModbusException, type ModbusErrorKind } from './errors.js';
import { ModbusLink, linkKey, type LinkConfig, type LinkOptions, type LinkStats } from './link.js';
import { effectiveOrder, extractField, fieldWidth, planReads, unscale, type ReadRequest } from './plan.js';

export type { PolledDevice, WriteCommand } from './device.js';

/** One successful poll: every field of the device, read at `ts` (when the last answer arrived). */
export interface PollResult {
  deviceId: string;
  ts: number;
  values: Map<string, number | boolean>;
}

/** The last failure of a device, for metrics and `GET /api/devices/{id}` (contract §10). */
export interface PollError {
  at: number;
  kind: ModbusErrorKind;
  /** Names the unit id and the field(s), table and address. */
  message: string;
  unitId: number;
  field?: string;
  table?: string;
  address?: number;
  /** The Modbus exception code, for kind `exception`. */
  code?: number;
}

/** Counters of one polled device. `online` is undefined until it answers or misses 3 in a row. */
export interface DevicePollStats {
  polls: number;
  failures: number;
  /** Polls left out because the unit missed 3 or more in a row (every other one is tried). */
  skipped: number;
  /** Grid points passed while the previous poll still ran (poll interval too short for the link). */
  overruns: number;
  missesInRow: number;
  online: boolean | undefined;
  lastLatencyMs?: number;
  lastSuccessAt?: number;
  lastError?: PollError;
}

export interface PollerOptions {
  onValues: (result: PollResult) => void;
  onStatus?: (deviceId: string, online: boolean) => void;
  log?: Logger;
  link?: Omit<LinkOptions, 'log'>;
}

/** No answer of any kind: these count toward offline (contract §10 "3 timeouts in a row"). */
const NO_ANSWER: ReadonlySet<ModbusErrorKind> = new Set(['timeout', 'link_down', 'transaction']);
const OFFLINE_AFTER = 3;

interface Polled {
  device: PolledDevice;
  plan: ReadRequest[];
  link: ModbusLink;
  timer?: NodeJS.Timeout;
  running: boolean;
  skipNext: boolean;
  stats: DevicePollStats;
}

/**
 * Polls Modbus devices on their interval grid, one link per host:port or serial line, and hands each
 * complete reading to `onValues`. A failed poll hands over nothing and is counted (contract §10).
 */
export class ModbusPoller {
  private readonly devices = new Map<string, Polled>();
  private readonly links = new Map<string, ModbusLink>();
  private running = false;

  constructor(private readonly options: PollerOptions) {}

  /** Adds a device (validated; throws ValidationError); polled from the next grid point if started. */
  add(device: PolledDevice): void {
    validateDevice(device);
    if (this.devices.has(device.id)) throw new ValidationError(`modbus ${device.id}`, 'is already polled');
    const link = this.linkFor(device);
    const entry: Polled = {
      device,
      plan: planReads(device.fields, device.plan),
      link,
      running: false,
      skipNext: false,
      stats: { polls: 0, failures: 0, skipped: 0, overruns: 0, missesInRow: 0, online: undefined },
    };
    this.devices.set(device.id, entry);
    if (this.running) {
      link.start();
      this.schedule(entry);
    }
  }

  /** Stops polling a device; its link closes when no device uses it any more. */
  async remove(deviceId: string): Promise<void> {
    const entry = this.devices.get(deviceId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.devices.delete(deviceId);
    if (![...this.devices.values()].some((d) => d.link === entry.link)) {
      this.links.delete(entry.link.key);
      await entry.link.stop();
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const link of this.links.values()) link.start();
    for (const entry of this.devices.values()) this.schedule(entry);
  }

  /** Clears every timer and closes every link; polls in flight end without callbacks. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const entry of this.devices.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    await Promise.all([...this.links.values()].map((l) => l.stop()));
  }

  /** A copy of a device's counters, or undefined for a device not polled here. */
  stats(deviceId: string): DevicePollStats | undefined {
    const s = this.devices.get(deviceId)?.stats;
    return s && { ...s, lastError: s.lastError && { ...s.lastError } };
  }

  linkStats(): LinkStats[] {
    return [...this.links.values()].map((l) => l.stats());
  }

  /**
   * Writes a command's value, then reads it back; resolves only when the read-back matches (contract §10
   * "once the write is confirmed"). Rejects with ModbusError: exception, timeout, link_down, refused_value
   * (the value does not fit the type) or not_confirmed (the device kept another value).
   */
  async write(deviceId: string, command: WriteCommand): Promise<void> {
    const entry = this.devices.get(deviceId);
    if (!entry) throw new ValidationError('device', `${deviceId} is not a polled Modbus device`);
    validateWrite(command);
    const { unitId, timeoutMs, byteOrder = 'ABCD' } = entry.device;
    const name = command.name ?? `${command.table} ${command.address}`;
    const ctx = { unitId, field: name, table: command.table, address: command.address };
    const named = (err: unknown) => (err instanceof ModbusError ? err.forField(name) : err);
    let expected: number[] | boolean[];
    try {
      if (command.table === 'coil') {
        expected = [command.value === true];
        await entry.link.request({ unitId, timeoutMs, op: { fn: 'writeCoil', address: command.address, value: command.value === true } });
      } else {
        const type = command.type ?? 'uint16';
        const raw = typeof command.value === 'boolean' ? Number(command.value) : unscale(command.value, command);
        expected = encodeWords(raw, type, effectiveOrder(command, byteOrder), ctx);
        await entry.link.request({ unitId, timeoutMs, op: { fn: 'writeRegisters', address: command.address, values: expected } });
      }
      const back = await entry.link.request({ unitId, timeoutMs, op: { fn: 'read', table: command.table, address: command.address, count: expected.length } });
      if (!back || back.length !== expected.length || back.some((v, i) => v !== expected[i])) {
        throw new ModbusError('not_confirmed', ctx, `read-back ${JSON.stringify(back)} differs from the written ${JSON.stringify(expected)}`);
      }
    } catch (err) {
      throw named(err);
    }
  }

  private linkFor(device: PolledDevice): ModbusLink {
    const key = linkKey(device.link);
    const existing = this.links.get(key);
    if (existing) {
      if ('serial' in device.link && serialSettings(existing.config) !== serialSettings(device.link)) {
        throw new ValidationError(`modbus ${device.id}: link`, `serial line ${device.link.serial} is already open with other settings`);
      }
      return existing;
    }
    const link = new ModbusLink(device.link, { ...this.options.link, log: this.options.log });
    this.links.set(key, link);
    return link;
  }

  /** The next point of the device's interval grid (multiples of the interval since the epoch), so polls do not drift. */
  private schedule(entry: Polled, after?: number): void {
    const now = Date.now();
    const period = entry.device.pollMs;
    // From the point just polled, not from now: a timer that fires a little early must not poll that point twice.
    let next = after === undefined ? Math.floor(now / period) * period + period : after + period;
    while (next <= now) next += period; // points missed while the event loop was blocked are skipped
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (!this.running || this.devices.get(entry.device.id) !== entry) return;
      this.schedule(entry, next);
      void this.poll(entry);
    }, next - now);
  }

  private async poll(entry: Polled): Promise<void> {
    const s = entry.stats;
    if (entry.running) {
      s.overruns++;
      return;
    }
    if (entry.skipNext) {
      // A unit that keeps missing is tried every other poll, so its timeouts take at most half the link.
      entry.skipNext = false;
      s.skipped++;
      return;
    }
    entry.running = true;
    s.polls++;
    const started = Date.now();
    try {
      const values = await this.read(entry);
      if (!this.running) return;
      const ts = Date.now();
      s.lastLatencyMs = ts - started;
      s.lastSuccessAt = ts;
      this.answered(entry);
      this.deliver({ deviceId: entry.device.id, ts, values });
    } catch (err) {
      if (this.running) this.failed(entry, err);
    } finally {
      entry.running = false;
    }
  }

  /** Reads every request of the plan in turn and decodes every field; the first failure fails the poll. */
  private async read(entry: Polled): Promise<Map<string, number | boolean>> {
    const { unitId, timeoutMs, byteOrder } = entry.device;
    const values = new Map<string, number | boolean>();
    for (const req of entry.plan) {
      const names = req.fields.map((f) => f.name).join(', ');
      const answer = await entry.link
        .request({ unitId, timeoutMs, op: { fn: 'read', table: req.table, address: req.address, count: req.count } })
        .catch((err: unknown) => {
          if (err instanceof ModbusException && err.code === 2 && hasGaps(req)) this.stopFillingGaps(entry);
          throw err instanceof ModbusError ? err.forField(names) : err;
        });
      for (const field of req.fields) {
        try {
          values.set(field.name, extractField(field, req, answer ?? [], byteOrder));
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          throw new ModbusError('refused_value', { unitId, field: field.name, table: field.table, address: field.address }, err.message, { cause: err });
        }
      }
    }
    return values;
  }

  /**
   * A device that refuses a read because it spans registers it does not have (illegal data address in a
   * gap): read only the fields from the next poll on, as Telegraf users set max_insert = 0 by hand.
   */
  private stopFillingGaps(entry: Polled): void {
    const plan = { ...entry.device.plan, maxGapRegisters: 0, maxGapBits: 0 };
    entry.plan = planReads(entry.device.fields, plan);
    this.options.log?.warn({ device: entry.device.id, unitId: entry.device.unitId }, 'modbus device refuses gap registers, reading fields only');
  }

  /** A failing consumer is logged; it does not count as a failed poll. */
  private deliver(result: PollResult): void {
    try {
      this.options.onValues(result);
    } catch (err) {
      this.options.log?.error({ device: result.deviceId, err }, 'modbus values listener failed');
    }
  }

  private answered(entry: Polled): void {
    entry.stats.missesInRow = 0;
    if (entry.stats.online !== true) this.setOnline(entry, true);
  }

  private failed(entry: Polled, err: unknown): void {
    const s = entry.stats;
    s.failures++;
    const e = err instanceof ModbusError ? err : new ModbusError('transaction', { unitId: entry.device.unitId }, String(err), { cause: err });
    const code = (e as { code?: unknown }).code;
    s.lastError = { at: Date.now(), kind: e.kind, message: e.message, ...e.context, ...(typeof code === 'number' ? { code } : {}) };
    this.options.log?.debug({ device: entry.device.id, err: e }, 'modbus poll failed');
    if (!NO_ANSWER.has(e.kind)) {
      this.answered(entry);
      return;
    }
    s.missesInRow++;
    if (s.missesInRow >= OFFLINE_AFTER) {
      entry.skipNext = true;
      if (s.online !== false) this.setOnline(entry, false);
    }
  }

  private setOnline(entry: Polled, online: boolean): void {
    entry.stats.online = online;
    this.options.log?.info({ device: entry.device.id, unitId: entry.device.unitId, link: entry.link.key, online }, 'modbus device status changed');
    try {
      this.options.onStatus?.(entry.device.id, online);
    } catch (err) {
      this.options.log?.error({ device: entry.device.id, err }, 'modbus status listener failed');
    }
  }
}

/** A serial line's settings with their defaults, to compare two registrations of one line. */
function serialSettings(c: LinkConfig): string {
  if (!('serial' in c)) return '';
  return `${c.baudRate ?? 9600} ${c.parity ?? 'none'} ${c.dataBits ?? 8} ${c.stopBits ?? 1}`;
}

/** True when a request reads addresses that no field of it uses. */
function hasGaps(req: ReadRequest): boolean {
  const used = new Set<number>();
  for (const f of req.fields) for (let i = 0; i < fieldWidth(f); i++) used.add(f.address + i);
  return used.size < req.count;
}

function encodeWords(raw: number, type: Parameters<typeof encodeRegisters>[1], order: Parameters<typeof encodeRegisters>[2], ctx: ConstructorParameters<typeof ModbusError>[1]): number[] {
  try {
    return encodeRegisters(raw, type, order);
  } catch (err) {
    if (err instanceof CodecError) throw new ModbusError('refused_value', ctx, err.message, { cause: err });
    throw err;
  }
}
