import type { Bus } from '../bus.js';
import type { Logger } from '../log.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { hashSecret, newSecret } from '../secrets.js';
import type { StateStore } from '../storage/state/store.js';
import { CredentialHashes } from './credential-overlap.js';
import { fromRow, type DeviceRecord, type DeviceRow, type NewDevice } from './record.js';

export { deviceJson, type DeviceRecord, type DeviceSource, type ModbusAddress, type NewDevice, type Position } from './record.js';

/** An online/offline change waiting for the next flush into `device_status_log`. */
interface StatusChange {
  device: string;
  at: number;
  online: boolean;
}

/**
 * The device registry: records in the state store, mirrored in memory for the per-message path.
 * Last seen and online state change with every message, so they are written back in batches, together
 * with the log of online/offline changes (`device_status_log`) that the availability reports read.
 */
export class DeviceRegistry {
  /** The stage its failures are counted under. */
  readonly name = 'registry';
  private readonly devices = new Map<string, DeviceRecord>();
  /** Password hashes, with the previous one during a rotation's overlap. */
  private readonly secretHashes = new CredentialHashes((id) => this.overlapEnded?.(id));
  private overlapEnded?: (id: string) => void;
  /** The devices behind each bridge, by the name the bridge gives them (`bridge \0 externalId or id`). */
  private readonly behindBridges = new Map<string, DeviceRecord>();
  private readonly dirty = new Set<string>();
  /** Devices that sent a `status` since the start: their online state follows it and their connection. */
  private readonly speaksStatus = new Set<string>();
  private statusLog: StatusChange[] = [];
  private flushTimer?: NodeJS.Timeout;

  constructor(
    private readonly store: StateStore,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly flushIntervalMs: number,
  ) {}

  start(): void {
    this.closeStatusLeftOnline();
    // Nothing is connected to a gateway that is just starting; devices turn online again as they speak.
    this.store.db.prepare('UPDATE devices SET online = 0').run();
    const rows = this.store.db.prepare('SELECT * FROM devices').all() as Array<DeviceRow & { previous_secret_hash: string | null; previous_secret_until: number | null }>;
    for (const row of rows) {
      this.remember(fromRow(row));
      this.secretHashes.load(row.id, row.secret_hash, row.previous_secret_hash, row.previous_secret_until);
    }
    this.bus.on('telemetryAccepted', this, (m) => this.touch(m.device, Date.now()));
    this.bus.on('eventAccepted', this, (m) => this.touch(m.device, Date.now()));
    this.bus.on('commandResultReceived', this, (m) => this.touch(m.device, Date.now()));
    this.bus.on('statusReceived', this, (m) => {
      this.speaksStatus.add(m.device);
      this.setOnline(m.device, m.online, m.ts);
    });
    this.flushTimer = setInterval(() => this.flush(), this.flushIntervalMs);
    this.flushTimer.unref();
    this.log.info({ devices: rows.length }, 'device registry loaded');
  }

  stop(): void {
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = undefined;
    this.bus.removeListeners(this);
    this.secretHashes.stop();
    // The gateway's own downtime counts as unavailable: a device online now is logged offline at the stop.
    const now = Date.now();
    for (const d of this.devices.values()) {
      if (!d.online) continue;
      d.online = false;
      this.statusLog.push({ device: d.id, at: now, online: false });
    }
    this.flush();
  }

  /** Registers a device and returns its MQTT password, which is never shown again. */
  register(input: NewDevice): { device: DeviceRecord; password: string } {
    if (this.devices.has(input.id)) throw new ConflictError(`device ${JSON.stringify(input.id)} is already registered`);
    const bridge = input.source?.bridge;
    if (bridge !== undefined && this.behindBridges.has(bridgeKey(bridge, input.source!.externalId ?? input.id))) {
      throw new ConflictError(`bridge ${bridge} already has a device named ${JSON.stringify(input.source!.externalId ?? input.id)}`);
    }
    if (input.parent !== undefined) this.checkParent(input.id, input.site, input.parent);
    const password = newSecret();
    const device: DeviceRecord = {
      id: input.id,
      kind: input.kind,
      site: input.site,
      zone: input.zone,
      name: input.name,
      tags: input.tags ?? {},
      createdAt: Date.now(),
      online: false,
      lastSeen: null,
      ...(input.source ? { source: input.source } : {}),
      ...(input.parent !== undefined ? { parent: input.parent } : {}),
      ...(input.position !== undefined ? { position: { x: input.position.x, y: input.position.y } } : {}),
    };
    const hash = hashSecret(password);
    this.store.db
      .prepare(
        'INSERT INTO devices (id, kind, site, zone, name, tags, secret_hash, created_at, source, parent, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        device.id,
        device.kind,
        device.site,
        device.zone,
        device.name ?? null,
        JSON.stringify(device.tags),
        hash,
        device.createdAt,
        device.source ? JSON.stringify(device.source) : null,
        device.parent ?? null,
        device.position ? JSON.stringify(device.position) : null,
      );
    this.remember(device);
    this.secretHashes.set(device.id, hash);
    this.log.info({ device: device.id, site: device.site, kind: device.kind, ...device.source }, 'device registered');
    this.bus.emit('deviceRegistered', { site: device.site, kind: device.kind, device: device.id, zone: device.zone });
    return { device: { ...device }, password };
  }

  /** The device `id` when it is registered with this site and kind (a topic names all three), else undefined. */
  find(id: string, site: string, kind: string): DeviceRecord | undefined {
    const d = this.devices.get(id);
    return d && d.site === site && d.kind === kind ? d : undefined;
  }

  get(id: string): DeviceRecord | undefined {
    return this.devices.get(id);
  }

  /** The device a bridge publishes for under `name` (its externalId, or its id when it has none). */
  behind(bridge: string, name: string): DeviceRecord | undefined {
    return this.behindBridges.get(bridgeKey(bridge, name));
  }

  private remember(device: DeviceRecord): void {
    this.devices.set(device.id, device);
    const bridge = device.source?.bridge;
    if (bridge !== undefined) this.behindBridges.set(bridgeKey(bridge, device.source!.externalId ?? device.id), device);
  }

  require(id: string): DeviceRecord {
    const device = this.devices.get(id);
    if (!device) throw new NotFoundError('device', id);
    return device;
  }

  list(filter: { site?: string; sites?: readonly string[]; kind?: string; zone?: string } = {}): DeviceRecord[] {
    return [...this.devices.values()].filter(
      (d) =>
        (!filter.site || d.site === filter.site) &&
        (!filter.sites || filter.sites.includes(d.site)) &&
        (!filter.kind || d.kind === filter.kind) &&
        (!filter.zone || d.zone === filter.zone),
    );
  }

  delete(id: string): DeviceRecord {
    const device = this.require(id);
    const children = this.childrenOf(id);
    if (children.length > 0) {
      throw new ConflictError(`device ${id} is the parent of ${children.length} device(s) (${children.slice(0, 5).join(', ')}${children.length > 5 ? ', ...' : ''}): delete them first`);
    }
    const db = this.store.db;
    // Its status log goes too: a device registered later under the same id starts with none.
    db.transaction(() => {
      db.prepare('DELETE FROM devices WHERE id = ?').run(id);
      db.prepare('DELETE FROM device_status_log WHERE device = ?').run(id);
    })();
    this.devices.delete(id);
    if (device.source?.bridge !== undefined) this.behindBridges.delete(bridgeKey(device.source.bridge, device.source.externalId ?? id));
    this.secretHashes.forget(id);
    this.dirty.delete(id);
    this.statusLog = this.statusLog.filter((c) => c.device !== id);
    this.log.info({ device: id, site: device.site }, 'device deleted');
    return device;
  }

  /** The devices registered with `id` as their parent. */
  childrenOf(id: string): string[] {
    return [...this.devices.values()].filter((d) => d.parent === id).map((d) => d.id);
  }

  /** A parent must be a registered device of the same site, and must not lead back to the device (no cycle). */
  private checkParent(id: string, site: string, parent: string): void {
    const p = this.devices.get(parent);
    if (!p) throw new ValidationError('parent', `no device ${JSON.stringify(parent)} is registered`);
    if (p.site !== site) throw new ValidationError('parent', `device ${parent} is of site ${p.site}, not ${site}`);
    const seen = new Set<string>([id]);
    for (let at: string | undefined = parent; at !== undefined; at = this.devices.get(at)?.parent) {
      if (seen.has(at)) throw new ValidationError('parent', `${parent} would make a cycle of parents through ${at}`);
      seen.add(at);
    }
  }

  /** Who closes the device's connections when a password overlap ends (the gateway: the broker). */
  onOverlapEnded(listener: (id: string) => void): void {
    this.overlapEnded = listener;
  }

  /**
   * Replaces the device's MQTT password (new credentials), the previous one working for `overlapMs` (contract §15;
   * CredentialHashes.replace); when an overlap ends, the `onOverlapEnded` listener closes its connections.
   */
  setPassword(id: string, password: string, overlapMs = 0): void {
    this.require(id);
    this.secretHashes.replace(id, hashSecret(password), overlapMs, (hash, previous, until) =>
      this.store.db
        .prepare('UPDATE devices SET secret_hash = ?, previous_secret_hash = ?, previous_secret_until = ? WHERE id = ?')
        .run(hash, previous, until, id),
    );
    this.log.info({ device: id, overlapMs }, 'device credentials replaced');
  }

  /** The device whose id and password these are (the previous password too, during an overlap), or undefined. */
  authenticate(id: string, password: Buffer | undefined): DeviceRecord | undefined {
    const device = this.devices.get(id);
    return device && this.secretHashes.matches(id, password) ? device : undefined;
  }

  touch(id: string, now: number): void {
    const device = this.devices.get(id);
    if (!device) return;
    device.lastSeen = now;
    this.dirty.add(id);
    if (!device.online) this.setOnline(id, true, now);
  }

  /**
   * A device's last connection closed (`clean`: with an MQTT DISCONNECT). A drop marks it offline, and so does
   * any close of a device that reports its `status`. A clean DISCONNECT from a device that never sent `status`
   * leaves it online: it publishes and goes (mosquitto_pub, a battery sensor that wakes, sends and sleeps), it
   * just spoke, and `lastSeen` says when; an `absent` rule tells when it falls silent.
   */
  connectionClosed(id: string, clean: boolean, now: number): void {
    if (clean && !this.speaksStatus.has(id)) return;
    this.setOnline(id, false, now);
  }

  /**
   * Records online/offline in memory and tells the bus; the store gets it with the next flush. Online state
   * is reset when the gateway starts, so writing it at once would buy nothing for an fsync per change.
   */
  setOnline(id: string, online: boolean, now: number): void {
    const device = this.devices.get(id);
    if (!device) return;
    device.lastSeen = now;
    this.dirty.add(id);
    if (device.online === online) return;
    device.online = online;
    this.statusLog.push({ device: id, at: now, online });
    this.log.info({ device: id, site: device.site, kind: device.kind, online }, 'device status changed');
    this.bus.emit('deviceStatusChanged', {
      site: device.site,
      kind: device.kind,
      device: id,
      zone: device.zone,
      online,
      ts: now,
    });
  }

  /**
   * Writes the last-seen times and the online/offline changes gathered since the previous flush, in one
   * transaction: one fsync however many devices connected at once.
   */
  flush(): void {
    if (this.dirty.size === 0 && this.statusLog.length === 0) return;
    const update = this.store.db.prepare('UPDATE devices SET last_seen = ?, online = ? WHERE id = ?');
    const log = this.store.db.prepare('INSERT INTO device_status_log (device, at, online) VALUES (?, ?, ?)');
    const ids = [...this.dirty];
    const changes = this.statusLog;
    this.dirty.clear();
    this.statusLog = [];
    this.store.db.transaction(() => {
      for (const id of ids) {
        const d = this.devices.get(id);
        if (d) update.run(d.lastSeen, d.online ? 1 : 0, id);
      }
      for (const c of changes) log.run(c.device, c.at, c.online ? 1 : 0);
    })();
  }

  /**
   * After a crash the log still says online for the devices that were: each gets an `offline` at its last
   * seen as stored (at most LAST_SEEN_FLUSH_INTERVAL before the crash), so the downtime counts as unavailable.
   */
  private closeStatusLeftOnline(): void {
    const db = this.store.db;
    const last = db.prepare('SELECT at, online FROM device_status_log WHERE device = ? ORDER BY at DESC, rowid DESC LIMIT 1');
    const insert = db.prepare('INSERT INTO device_status_log (device, at, online) VALUES (?, ?, 0)');
    const rows = db.prepare('SELECT id, last_seen FROM devices').all() as Array<{ id: string; last_seen: number | null }>;
    let closed = 0;
    db.transaction(() => {
      for (const row of rows) {
        const entry = last.get(row.id) as { at: number; online: number } | undefined;
        if (entry?.online !== 1) continue;
        insert.run(row.id, Math.max(entry.at, row.last_seen ?? entry.at));
        closed += 1;
      }
    })();
    if (closed > 0) this.log.warn({ devices: closed }, 'device status closed after an unclean stop');
  }
}

function bridgeKey(bridge: string, name: string): string {
  return `${bridge}\u0000${name}`;
}
