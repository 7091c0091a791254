/**
 * The QoS 1 messages waiting for each persistent session (contract §15): in memory for aedes, each change written
 * through SessionRows. Bounded per session like Mosquitto's max_queued_messages, except that the oldest goes (an
 * operator needs the newest alarm most), counted in `gateway_mqtt_queue_dropped_total`.
 */
import type { QueuedRow, SessionRows } from './session-rows.js';

/** A packet as aedes hands it to its persistence (aedes-packet's fields). */
export interface StoredPacket {
  cmd: string;
  brokerId?: string | null;
  brokerCounter: number;
  messageId?: number;
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  [field: string]: unknown;
}

/** One queued message: the packet aedes sees and its row. */
interface Queued {
  seq: number;
  packet: StoredPacket;
}

export class OutgoingQueues {
  private readonly queues = new Map<string, Queued[]>();

  constructor(
    private readonly rows: SessionRows,
    private readonly max: number,
    /** Counts a message dropped from a full queue. */
    readonly dropped: () => void,
    private readonly now: () => number,
  ) {}

  /** The queues a former run left. */
  load(rows: readonly QueuedRow[]): void {
    for (const q of rows) {
      const packet: StoredPacket = { cmd: 'publish', brokerId: q.broker_id, brokerCounter: q.broker_counter, topic: q.topic, payload: q.payload, qos: q.qos, retain: q.retain === 1, dup: false };
      if (q.message_id !== null) packet.messageId = q.message_id;
      this.queueOf(q.client_id).push({ seq: q.seq, packet });
    }
  }

  /** Messages waiting in every queue. */
  size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** A client's queue, oldest first. */
  of(clientId: string): StoredPacket[] {
    return (this.queues.get(clientId) ?? []).map((q) => q.packet);
  }

  enqueue(subs: ReadonlyArray<{ clientId: string }>, packet: StoredPacket): void {
    const at = this.now();
    for (const { clientId } of subs) {
      const queue = this.queueOf(clientId);
      // The gateway republishes its retained state at start: a session already waiting for that very message gets no second copy.
      if (packet.retain && queue.some((q) => q.packet.messageId === undefined && q.packet.topic === packet.topic && q.packet.payload.equals(packet.payload))) continue;
      if (queue.length >= this.max) {
        this.rows.dequeue(queue.shift()!.seq);
        this.dropped();
      }
      const seq = this.rows.seq();
      const copy = queuedCopy(packet);
      queue.push({ seq, packet: copy });
      this.rows.enqueue({ seq, client_id: clientId, broker_id: copy.brokerId ?? null, broker_counter: copy.brokerCounter, topic: copy.topic, payload: copy.payload, qos: copy.qos, retain: copy.retain ? 1 : 0 }, at);
    }
  }

  /** As aedes-persistence's memory queue: found by broker and counter (a message sent), else by identifier (a QoS 2 PUBREL). */
  update(clientId: string, packet: StoredPacket): void {
    const queue = this.queues.get(clientId) ?? [];
    for (let i = 0; i < queue.length; i++) {
      const q = queue[i];
      if (q.packet.brokerId === packet.brokerId) {
        if (q.packet.brokerCounter !== packet.brokerCounter) continue;
        if (q.packet.messageId === packet.messageId) return;
        q.packet.messageId = packet.messageId;
        this.rows.messageId(q.seq, packet.messageId);
        return;
      }
      if (q.packet.messageId === packet.messageId) {
        queue[i] = { seq: q.seq, packet };
        this.rows.messageId(q.seq, packet.messageId);
        return;
      }
    }
    // Dropped from a full queue: it is still delivered, only no longer kept.
  }

  /** Takes the message with this identifier out of the queue (its PUBACK came); answers it. */
  clear(clientId: string, messageId: number | undefined): StoredPacket | undefined {
    const queue = this.queues.get(clientId);
    const i = queue?.findIndex((q) => q.packet.messageId === messageId) ?? -1;
    if (!queue || i < 0) return undefined;
    const [q] = queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(clientId);
    this.rows.dequeue(q.seq);
    return q.packet;
  }

  /** Drops a client's queue from memory (its rows go with its session). */
  forget(clientId: string): void {
    this.queues.delete(clientId);
  }

  private queueOf(clientId: string): Queued[] {
    let queue = this.queues.get(clientId);
    if (!queue) this.queues.set(clientId, (queue = []));
    return queue;
  }
}

/** The queue's own copy of a packet, as aedes-packet makes one: without the packet identifier of another client. */
function queuedCopy(p: StoredPacket): StoredPacket {
  return { cmd: p.cmd || 'publish', brokerId: p.brokerId, brokerCounter: p.brokerCounter || 0, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain || false, dup: p.dup || false };
}
