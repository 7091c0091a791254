import type { Logger } from '../log.js';
import type { Publish } from '../topics.js';

/** How a publish is queued. */
export interface PublishOrder {
  /**
   * A life-safety alarm's publish (docs/architecture.md, "The priority lane"): it waits only for the earlier
   * publishes of its own topic, not for the other topics' queue, so it does not wait behind a flood of other
   * alarms. Every publish asked for after it, urgent or not, is still sent after it.
   */
  urgent?: boolean;
}

const DONE: Promise<void> = Promise.resolve();

/**
 * Publishes retained state topics (the alarm and work order topics of contract §4, the definitions) in the order
 * they were asked for. The services change state synchronously and publish afterwards; the order keeps "final
 * state, then delete" and "delete the old topic, then retain the new one" even when changes follow each other
 * within a tick.
 *
 * Two orders are kept: a publish is handed to the broker only after every publish asked for before it was handed
 * over (the broker keeps that order), and only after the previous publish of its own topic has completed. It does
 * not wait for other topics' publishes to complete: each takes a turn or two of the event loop to reach the
 * subscribers, and waiting for every one of them would let a flood of alarms queue for seconds under load. An
 * urgent publish is handed over as soon as its own topic allows. A failure is logged and never reaches the
 * caller: the state store, not the broker, holds the truth.
 */
export class SerialPublisher {
  /** Settles once every publish asked for so far has been handed to the broker. */
  private handedOver: Promise<void> = DONE;
  /** Settles once every publish asked for so far has completed. */
  private all: Promise<void> = DONE;
  /** The last publish asked for on each topic that has not completed yet. */
  private readonly last = new Map<string, Promise<void>>();

  constructor(
    private readonly publish: Publish,
    private readonly log: Logger,
  ) {}

  /** The current state, retained at QoS 1, so a new subscriber sees it at once. */
  retain(topic: string, body: object, order: PublishOrder = {}): void {
    this.enqueue(topic, JSON.stringify(body), true, order);
  }

  /** contract §4: the final state (not retained), then an empty retained payload that deletes the retained one. */
  finish(topic: string, body: object, order: PublishOrder = {}): void {
    this.enqueue(topic, JSON.stringify(body), false, order);
    this.remove(topic, order);
  }

  /** Deletes the retained message of `topic` [MQTT-3.3.1-10]. */
  remove(topic: string, order: PublishOrder = {}): void {
    this.enqueue(topic, '', true, order);
  }

  /** Resolves once everything asked for so far has been published (or has failed and been logged). */
  settled(): Promise<void> {
    return this.all;
  }

  private enqueue(topic: string, payload: string, retain: boolean, { urgent = false }: PublishOrder): void {
    const sameTopic = this.last.get(topic) ?? DONE;
    let handed!: () => void;
    const handedOver = new Promise<void>((resolve) => (handed = resolve));
    const done = (urgent ? sameTopic : Promise.all([this.handedOver, sameTopic]))
      .then(() => {
        try {
          return this.publish(topic, payload, { qos: 1, retain });
        } finally {
          handed();
        }
      })
      // The gateway's publish counts and logs a failure (stage `publish`); here it only must not break the order.
      .catch((err: unknown) => this.log.debug({ err, topic, retain }, 'publish failed'));
    this.last.set(topic, done);
    void done.then(() => {
      if (this.last.get(topic) === done) this.last.delete(topic);
    });
    this.handedOver = urgent ? Promise.all([this.handedOver, handedOver]).then(() => undefined) : handedOver;
    this.all = Promise.all([this.all, done]).then(() => undefined);
  }
}
