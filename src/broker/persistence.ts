/**
 * Durable broker state (contract §15): an aedes persistence that answers aedes from memory, as aedes-persistence's
 * memory implementation does (it does the subscriptions' topic matching, wills and the QoS 2 receive window), and
 * writes through to the state store what must survive a restart:
 *
 * - the retained messages devices publish (their `status`); the gateway's own retained topics (alarms, work
 *   orders, incidents, definitions) are not kept: the gateway republishes them from its own state at start, so a
 *   retained alarm cleared while the broker was down cannot come back;
 * - the sessions of clients that connect with clean session off [MQTT-3.1.2-4]: their subscriptions and the QoS 1
 *   messages queued for them while away or unacknowledged in flight [MQTT-4.4.0-1], at most `maxQueued` each (the
 *   oldest is dropped and counted), for `expiryMs` after they were last connected.
 *
 * A clean-session client costs nothing on disk, and a message nobody with a persistent session subscribed to is
 * never written. Wills and the QoS 2 receive window stay in memory.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Client } from 'aedes';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { principalOf, type Principal } from './auth.js';
import { OutgoingQueues, type StoredPacket } from './outgoing-queues.js';
import { SessionRows, type BrokerDb } from './session-rows.js';

export type { StoredPacket };

interface Sub {
  topic: string;
  qos: number;
}

/** The memory persistence's promise forms, which aedes 1.x calls (aedes-persistence callBackPersistence.js). */
interface Memory {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: StoredPacket): Promise<void>;
  createRetainedStream(pattern: string): Readable;
  createRetainedStreamCombi(patterns: string[]): Readable;
  addSubscriptions(client: { id: string }, subs: Sub[]): Promise<unknown>;
  removeSubscriptions(client: { id: string }, topics: string[]): Promise<unknown>;
  subscriptionsByClient(client: { id: string }): Promise<Sub[]>;
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
  subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; topic: string; qos: number }>>;
  cleanSubscriptions(client: { id: string }): Promise<unknown>;
  incomingStorePacket(client: Client, packet: StoredPacket): Promise<void>;
  incomingGetPacket(client: Client, packet: StoredPacket): Promise<StoredPacket>;
  incomingDelPacket(client: Client, packet: StoredPacket): Promise<void>;
  cleanIncoming(client: Client): Promise<void>;
  putWill(client: Client, packet: StoredPacket): Promise<void>;
  getWill(client: Client): Promise<StoredPacket | undefined>;
  delWill(client: { id: string; brokerId?: string }): Promise<StoredPacket | undefined>;
  streamWill(brokers: Record<string, number>): Readable;
  getClientList(topic: string): Readable;
}

export interface DurablePersistenceOptions {
  db: () => BrokerDb;
  /** Whether a retained message on `topic` is kept over a restart (a device's status); the gateway's own are not. */
  durableRetained(topic: string): boolean;
  /** QoS 1 messages kept per session (MQTT_MAX_QUEUED); the oldest is dropped beyond it. */
  maxQueued: number;
  /** A session not connected for this long is forgotten (MQTT_SESSION_EXPIRY). */
  expiryMs: number;
  metrics: Metrics;
  log: Logger;
  failed(err: unknown): void;
  now?: () => number;
}

const SWEEP_MS = 3_600_000;

// aedes' own default persistence (a CommonJS function export, which its types declare as an ES default).
const aedesMemoryPersistence = createRequire(import.meta.url)('aedes-persistence') as () => unknown;

export class DurablePersistence {
  private memory = aedesMemoryPersistence() as unknown as Memory;
  private readonly rows: SessionRows;
  /** Retained payloads kept on disk, by topic: an unchanged republish is not written again. */
  private readonly retained = new Map<string, Buffer>();
  /** Stored sessions: owner and last connection. */
  private readonly sessions = new Map<string, { owner: string; lastSeen: number }>();
  private queues: OutgoingQueues;
  /** Live connections per client id with clean session off (a takeover briefly has two). */
  private readonly connected = new Map<string, number>();
  private readonly expired: (by?: number) => void;
  private sweeper?: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(private readonly opts: DurablePersistenceOptions) {
    this.now = opts.now ?? Date.now;
    this.rows = new SessionRows(opts.db, opts.failed);
    const dropped = opts.metrics.counterFor('gateway_mqtt_queue_dropped_total', 'QoS 1 messages dropped from a full persistent session queue (MQTT_MAX_QUEUED)', {});
    this.queues = new OutgoingQueues(this.rows, opts.maxQueued, dropped, this.now);
    this.expired = opts.metrics.counterFor('gateway_mqtt_sessions_expired_total', 'Persistent MQTT sessions forgotten after MQTT_SESSION_EXPIRY', {});
    opts.metrics.gauge('gateway_mqtt_sessions', 'Persistent MQTT sessions stored', () => this.sessions.size);
    opts.metrics.gauge('gateway_mqtt_queued_messages', 'QoS 1 messages queued for persistent sessions', () => this.queues.size());
  }

  /** aedes checks that this is an async function (aedes.js listen). Loads what the last run stored. */
  async setup(broker: unknown): Promise<void> {
    // Afresh at each start of the broker: what the last run left is read from the store.
    this.memory = aedesMemoryPersistence() as unknown as Memory;
    for (const map of [this.retained, this.sessions]) map.clear();
    this.queues = new OutgoingQueues(this.rows, this.opts.maxQueued, this.queues.dropped, this.now);
    this.connected.clear();
    await this.memory.setup(broker);
    const stored = this.rows.load();
    for (const r of stored.retained) {
      // A topic the gateway publishes itself is its own to republish (a row from before this rule): dropped.
      if (!this.opts.durableRetained(r.topic)) {
        this.rows.retain(r.topic, Buffer.alloc(0), 0);
        continue;
      }
      this.retained.set(r.topic, r.payload);
      await this.memory.storeRetained({ cmd: 'publish', topic: r.topic, payload: r.payload, qos: r.qos, retain: true, dup: false, brokerCounter: 0 });
    }
    for (const s of stored.sessions) this.sessions.set(s.client_id, { owner: s.owner, lastSeen: s.last_seen });
    const subs = new Map<string, Sub[]>();
    for (const s of stored.subscriptions) {
      if (!subs.has(s.client_id)) subs.set(s.client_id, []);
      subs.get(s.client_id)!.push({ topic: s.topic, qos: s.qos });
    }
    for (const [id, list] of subs) await this.memory.addSubscriptions({ id }, list);
    this.queues.load(stored.queued);
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    this.opts.log.info({ retained: this.retained.size, sessions: this.sessions.size, queued: stored.queued.length }, 'broker state loaded');
  }

  /**
   * Whether an authenticated client may use its client id: a stored session belongs to the principal that made it,
   * so another may neither resume it nor wipe it with a clean session.
   */
  mayConnect(client: Client): boolean {
    const session = this.sessions.get(client.id);
    return !session || session.owner === sessionOwner(principalOf(client));
  }

  /** A client with clean session off is connected: its session does not expire meanwhile. */
  clientReady(client: Client): void {
    if (!client.clean) this.connected.set(client.id, (this.connected.get(client.id) ?? 0) + 1);
  }

  /** A persistent client's connection closed: its expiry counts from now. */
  disconnected(client: Client): void {
    if (client.clean) return;
    const left = (this.connected.get(client.id) ?? 1) - 1;
    if (left > 0) this.connected.set(client.id, left);
    else this.connected.delete(client.id);
    if (!this.sessions.has(client.id)) return;
    const now = this.now();
    this.sessions.get(client.id)!.lastSeen = now;
    this.rows.seen(client.id, now);
  }

  /** Writes what is pending and stops the expiry sweep (after aedes closed, before the store closes). */
  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.rows.close();
  }

  async storeRetained(packet: StoredPacket): Promise<void> {
    await this.memory.storeRetained(packet);
    if (!this.opts.durableRetained(packet.topic)) return;
    const kept = this.retained.get(packet.topic);
    if (packet.payload.length === 0) {
      if (!kept) return;
      this.retained.delete(packet.topic);
    } else {
      if (kept?.equals(packet.payload)) return;
      this.retained.set(packet.topic, packet.payload);
    }
    this.rows.retain(packet.topic, packet.payload, packet.qos);
    await this.rows.written();
  }

  createRetainedStream(pattern: string): Readable {
    return this.memory.createRetainedStream(pattern);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.memory.createRetainedStreamCombi(patterns);
  }

  /** Called only for clients with clean session off (aedes subscribe.js storeSubscriptions). */
  async addSubscriptions(client: Client, subs: Sub[]): Promise<void> {
    await this.memory.addSubscriptions(client, subs);
    const now = this.now();
    const session = this.sessions.get(client.id);
    const owner = session?.owner ?? sessionOwner(principalOf(client));
    if (!session) this.sessions.set(client.id, { owner, lastSeen: now });
    this.rows.session(client.id, owner, now);
    for (const s of subs) this.rows.subscribe(client.id, s.topic, s.qos);
    await this.rows.written();
  }

  async removeSubscriptions(client: Client, topics: string[]): Promise<void> {
    await this.memory.removeSubscriptions(client, topics);
    if (!this.sessions.has(client.id)) return;
    for (const t of topics) this.rows.unsubscribe(client.id, t);
    if ((await this.memory.subscriptionsByClient(client)).length === 0) this.forget(client.id);
    await this.rows.written();
  }

  /** A persistent client connects: its session's subscriptions, restored by aedes [MQTT-3.1.2-4]. */
  async subscriptionsByClient(client: { id: string }): Promise<Sub[]> {
    const subs = await this.memory.subscriptionsByClient(client);
    const session = this.sessions.get(client.id);
    if (session) {
      session.lastSeen = this.now();
      this.rows.seen(client.id, session.lastSeen);
    }
    return subs;
  }

  countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return this.memory.countOffline();
  }

  subscriptionsByTopic(topic: string): Promise<Array<{ clientId: string; topic: string; qos: number }>> {
    return this.memory.subscriptionsByTopic(topic);
  }

  /** A clean-session CONNECT [MQTT-3.1.2-6]: any session of that client id ends, on disk only if it had one. */
  async cleanSubscriptions(client: Client): Promise<Client> {
    await this.memory.cleanSubscriptions(client);
    if (this.sessions.has(client.id)) {
      this.forget(client.id);
      await this.rows.written();
    }
    return client;
  }


  async outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    return this.outgoingEnqueueCombi([sub], packet);
  }

  /** A QoS 1 message for the persistent sessions subscribed to it: queued, and written before aedes goes on. */
  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: StoredPacket): Promise<void> {
    if (subs.length === 0) return; // the usual case: nobody with a persistent session wants it
    this.queues.enqueue(subs, packet);
    await this.rows.written();
  }

  /** A queued message gets its packet identifier as it is sent (aedes client.js deliverQoS, connect.js emptyQueue). */
  async outgoingUpdate(client: Client, packet: StoredPacket): Promise<void> {
    this.queues.update(client.id, packet);
  }

  /** PUBACK [MQTT-4.3.2]: the message is delivered and leaves the queue. */
  async outgoingClearMessageId(client: Client, packet: { messageId?: number }): Promise<StoredPacket | undefined> {
    return this.queues.clear(client.id, packet.messageId);
  }

  outgoingStream(client: Client): Readable {
    return Readable.from(this.queues.of(client.id));
  }

  incomingStorePacket(client: Client, packet: StoredPacket): Promise<void> {
    return this.memory.incomingStorePacket(client, packet);
  }

  incomingGetPacket(client: Client, packet: StoredPacket): Promise<StoredPacket> {
    return this.memory.incomingGetPacket(client, packet);
  }

  incomingDelPacket(client: Client, packet: StoredPacket): Promise<void> {
    return this.memory.incomingDelPacket(client, packet);
  }

  cleanIncoming(client: Client): Promise<void> {
    return this.memory.cleanIncoming(client);
  }

  putWill(client: Client, packet: StoredPacket): Promise<void> {
    return this.memory.putWill(client, packet);
  }

  getWill(client: Client): Promise<StoredPacket | undefined> {
    return this.memory.getWill(client);
  }

  delWill(client: { id: string; brokerId?: string }): Promise<StoredPacket | undefined> {
    return this.memory.delWill(client);
  }

  streamWill(brokers: Record<string, number>): Readable {
    return this.memory.streamWill(brokers);
  }

  getClientList(topic: string): Readable {
    return this.memory.getClientList(topic);
  }

  async destroy(): Promise<void> {
    this.stop();
  }

  private forget(clientId: string): void {
    this.sessions.delete(clientId);
    this.queues.forget(clientId);
    this.rows.forget(clientId);
  }

  /** Forgets the sessions not connected for `expiryMs` (MQTT_SESSION_EXPIRY). */
  private sweep(): void {
    const before = this.now() - this.opts.expiryMs;
    let n = 0;
    for (const [id, s] of this.sessions) {
      if (this.connected.has(id) || s.lastSeen >= before) continue;
      this.forget(id);
      void this.memory.cleanSubscriptions({ id }).catch((err: unknown) => this.opts.failed(err));
      n++;
    }
    if (n === 0) return;
    this.expired(n);
    this.opts.log.info({ sessions: n }, 'mqtt sessions expired');
  }
}

/** Who a session belongs to: the principal that made it (`operator:op-1`, `device:d-1`). */
export function sessionOwner(p: Principal | undefined): string {
  if (p?.role === 'device') return `device:${p.device.id}`;
  if (p?.role === 'bridge') return `bridge:${p.bridge.id}`;
  if (p?.role === 'operator') return `operator:${p.operator.id}`;
  return 'anonymous';
}

