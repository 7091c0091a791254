/**
 * The devices the gateway polls over Modbus (docs/integrators.md, "Modbus"). Each registered device with a Modbus
 * profile is polled on its link (src/modbus/); a complete reading is mapped by its profile and taken in as a
 * native message would be; three unanswered polls in a row turn the device offline and the first answer online
 * again; a command is a write confirmed by reading it back.
 */
import type { Bus, Origin } from './bus.js';
import type { DeviceRecord, DeviceRegistry, ModbusAddress } from './devices/registry.js';
import type { Ingest } from './ingest/pipeline.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { LinkConfig } from './modbus/link.js';
import { ModbusPoller, type DevicePollStats, type PolledDevice, type PollResult } from './modbus/poller.js';
import { mapModbusValues, newEdgeState, type EdgeState, type ModbusWrite } from './profiles/mapping.js';
import type { ModbusProfile, Profile } from './profiles/profile.js';

export interface PollingDeps {
  bus: Bus;
  registry: Pick<DeviceRegistry, 'list' | 'get' | 'setOnline'>;
  /** The profile in force with this id. */
  profile(id: string): Profile | undefined;
  ingest: Pick<Ingest, 'handlePolled'>;
  metrics: Metrics;
  log: Logger;
}

export class ModbusDevices {
  readonly name = 'modbus';
  private readonly poller: ModbusPoller;
  /** Which event mappings matched at the last poll, per device (`edge: true`). */
  private readonly edges = new Map<string, EdgeState>();
  /** One origin per device record: the InfluxDB sink keeps each series key by it. */
  private readonly origins = new WeakMap<DeviceRecord, Origin>();
  /** The profile each polled device is polled with. */
  private readonly polled = new Map<string, ModbusProfile>();

  constructor(private readonly deps: PollingDeps) {
    this.poller = new ModbusPoller({
      onValues: (r) => this.taken(r),
      onStatus: (id, online) => deps.registry.setOnline(id, online, Date.now()),
      log: deps.log,
    });
    const perDevice = (pick: (s: DevicePollStats) => number | undefined) => () =>
      [...this.polled.keys()].flatMap((id): Array<[Record<string, string>, number]> => {
        const s = this.poller.stats(id);
        const v = s && pick(s);
        return v === undefined ? [] : [[{ device: id }, v]];
      });
    deps.metrics.gauge('gateway_modbus_polls', 'Polls of each Modbus device since the start', perDevice((s) => s.polls));
    deps.metrics.gauge('gateway_modbus_poll_failures', 'Failed polls of each Modbus device since the start (nothing stored)', perDevice((s) => s.failures));
    deps.metrics.gauge('gateway_modbus_poll_latency_ms', 'How long the last successful poll of each Modbus device took', perDevice((s) => s.lastLatencyMs));
  }

  private started = false;

  start(): void {
    this.started = true;
    for (const device of this.deps.registry.list()) this.add(device);
    this.deps.bus.on('deviceRegistered', this, (m) => {
      const device = this.deps.registry.get(m.device);
      if (device) this.add(device);
    });
    this.poller.start();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.deps.bus.removeListeners(this);
    await this.poller.stop();
  }

  /** Stops polling a deleted device. */
  async remove(id: string): Promise<void> {
    if (!this.polled.delete(id)) return;
    this.edges.delete(id);
    await this.poller.remove(id);
  }

  /** The profiles were reloaded: every Modbus device is polled again with its profile as now in force. */
  async profilesChanged(): Promise<void> {
    if (!this.started) return;
    for (const id of [...this.polled.keys()]) await this.remove(id);
    for (const device of this.deps.registry.list()) this.add(device);
  }

  /** The counters and last error of a polled device (`GET /api/devices/{id}`). */
  stats(id: string): DevicePollStats | undefined {
    return this.polled.has(id) ? this.poller.stats(id) : undefined;
  }

  /** Writes a command's value and reads it back; settles once confirmed. */
  write(id: string, action: string, w: ModbusWrite): Promise<void> {
    return this.poller.write(id, { name: action, table: w.table, address: w.address, type: w.type, order: w.order, value: w.value });
  }

  private add(device: DeviceRecord): void {
    const address = device.source?.modbus;
    if (!address || this.polled.has(device.id)) return;
    const profile = this.deps.profile(device.source!.profile);
    if (profile?.source !== 'modbus') {
      this.deps.log.warn({ device: device.id, profile: device.source!.profile }, 'Modbus device not polled: its profile is not loaded');
      return;
    }
    try {
      this.poller.add(polledDevice(device.id, address, profile));
      this.polled.set(device.id, profile);
    } catch (err) {
      this.deps.log.error({ err, device: device.id }, 'Modbus device not polled');
    }
  }

  private taken(r: PollResult): void {
    const device = this.deps.registry.get(r.deviceId);
    const profile = this.polled.get(r.deviceId);
    if (!device || !profile) return;
    let edge = this.edges.get(device.id);
    if (!edge) this.edges.set(device.id, (edge = newEdgeState()));
    let o = this.origins.get(device);
    if (!o) this.origins.set(device, (o = { site: device.site, kind: device.kind, device: device.id, zone: device.zone }));
    const state = edge;
    this.deps.ingest.handlePolled(o, sourceName(device.source!.modbus!), () => mapModbusValues(profile, r.values, r.ts, state));
  }
}

/** What the poller reads for a device: the profile's points, raw (the profile's mapping scales them). */
function polledDevice(id: string, address: ModbusAddress, profile: ModbusProfile): PolledDevice {
  const link: LinkConfig =
    'serial' in address
      ? { serial: address.serial, baudRate: address.baudRate, parity: address.parity }
      : { host: address.host, port: address.port, ...(address.rtuOverTcp ? { rtuOverTcp: true } : {}) };
  return {
    id,
    unitId: address.unitId,
    link,
    fields: profile.points.map((p) => ({ name: p.key, table: p.table, address: p.address, type: p.type, order: p.order, ...(p.bit !== undefined ? { bit: p.bit } : {}) })),
    byteOrder: profile.byteOrder,
    pollMs: profile.pollMs,
    timeoutMs: profile.timeoutMs,
  };
}

/** Where a polled device's refusals say its message came from. */
function sourceName(a: ModbusAddress): string {
  return 'serial' in a ? `modbus-rtu://${a.serial}/${a.unitId}` : `modbus://${a.host}:${a.port}/${a.unitId}`;
}
