import type { Logger } from '../log.js';
import type { Publish } from '../topics.js';

/**
 * Publishes retained state topics (the alarm and work order topics of contract §4, the definitions) in the order
 * they were asked for. The services change state synchronously and publish afterwards; one chain keeps "final
 * state, then delete" and "delete the old topic, then retain the new one" in order even when changes follow each
 * other within a tick. A failure is logged and never reaches the caller: the state store, not the broker, holds
 * the truth.
 */
export class SerialPublisher {
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly publish: Publish,
    private readonly log: Logger,
  ) {}

  /** The current state, retained at QoS 1, so a new subscriber sees it at once. */
  retain(topic: string, body: object): void {
    this.enqueue(topic, JSON.stringify(body), true);
  }

  /** contract §4: the final state (not retained), then an empty retained payload that deletes the retained one. */
  finish(topic: string, body: object): void {
    this.enqueue(topic, JSON.stringify(body), false);
    this.remove(topic);
  }

  /** Deletes the retained message of `topic` [MQTT-3.3.1-10]. */
  remove(topic: string): void {
    this.enqueue(topic, '', true);
  }

  /** Resolves once everything asked for so far has been published (or has failed and been logged). */
  settled(): Promise<void> {
    return this.chain;
  }

  private enqueue(topic: string, payload: string, retain: boolean): void {
    this.chain = this.chain
      .then(() => this.publish(topic, payload, { qos: 1, retain }))
      // The gateway's publish counts and logs a failure (stage `publish`); here it only must not break the chain.
      .catch((err: unknown) => this.log.debug({ err, topic, retain }, 'publish failed'));
  }
}
