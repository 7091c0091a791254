import type { Logger } from '../log.js';
import { isRefusal } from './link.js';
import type { QueueEntry, UpstreamQueue } from './queue.js';

/** Waits before pumping again after the queue failed to read. */
const RETRY_MS = 1000;

export interface SenderDeps {
  queue: Pick<UpstreamQueue, 'take' | 'ack' | 'rewind'>;
  link: { readonly connected: boolean; publish(topic: string, payload: string): Promise<void> };
  /** Publishes awaiting their PUBACK at most. */
  maxInFlight: number;
  log: Logger;
  sent(entry: QueueEntry): void;
  /** The central broker refused it for good (MQTT 5 reason code); it is not sent again. */
  refused(entry: QueueEntry, err: Error & { code: number }): void;
}

/**
 * Publishes the queue in order, QoS 1, with up to `maxInFlight` awaiting their PUBACK: on one connection
 * MQTT delivers them in the order sent [MQTT-4.6.0-6] and acknowledges them in that order [MQTT-4.6.0-2].
 * A message leaves the queue only at its PUBACK; after a reconnect everything from the first message not
 * acknowledged goes again (so headquarters may see a message twice: it drops the repeat by `seq`).
 */
export class Sender {
  /** Counts connections: a callback of an earlier one no longer counts against the window. */
  private generation = 0;
  private inFlight = 0;
  private pumping = false;
  private again = false;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private retry?: NodeJS.Timeout;

  constructor(private readonly deps: SenderDeps) {}

  /** The link is up (again): resend from the first message not acknowledged. */
  connected(): void {
    this.generation++;
    this.inFlight = 0;
    this.deps.queue.rewind();
    this.pump();
  }

  /** Sends what may be sent now; call when messages were queued, acknowledged, or the link came up. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    this.running = this.run().finally(() => {
      this.pumping = false;
    });
  }

  /** No more sending; resolves once the pump has let go of the queue. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && this.deps.link.connected && this.inFlight < this.deps.maxInFlight) {
          const generation = this.generation;
          const entry = await this.deps.queue.take();
          if (!entry) break;
          if (generation !== this.generation || !this.deps.link.connected) {
            // The link went down or came back while the entry was read: start over from the first not acknowledged.
            this.deps.queue.rewind();
            this.again = true;
            break;
          }
          this.send(entry, generation);
        }
      } while (this.again && !this.stopped);
    } catch (err) {
      this.deps.log.error({ err }, 'upstream queue read failed');
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.pump(), RETRY_MS);
    }
  }

  private send(entry: QueueEntry, generation: number): void {
    this.inFlight++;
    this.deps.link.publish(entry.topic, entry.payload).then(
      () => {
        this.deps.queue.ack(entry);
        this.deps.sent(entry);
        this.settled(generation);
      },
      (err: unknown) => {
        if (isRefusal(err)) {
          this.deps.queue.ack(entry);
          this.deps.refused(entry, err);
        }
        // Anything else is the connection closing: the entry goes again after the next connect.
        this.settled(generation);
      },
    );
  }

  private settled(generation: number): void {
    if (generation === this.generation) this.inFlight--;
    this.pump();
  }
}
