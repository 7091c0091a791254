import type { Publish } from '../topics.js';

/**
 * What the gateway and its API need of a broker, whichever it is: the embedded aedes broker (`broker.ts`) or
 * an external Mosquitto the gateway is a client of (`external.ts`).
 */
export interface GatewayBroker {
  readonly name: string;
  /** Starts; resolves with the ports bound, 0 for an external broker (the gateway listens on none of its own). */
  start(): Promise<{ port: number; wsPort: number }>;
  /** The ports bound by start(), 0 before it and for an external broker. */
  readonly ports: { port: number; wsPort: number; tlsPort?: number; wssPort?: number };
  /** Stops taking messages; idempotent. */
  stop(): Promise<void>;
  /** Publishes as the gateway itself (commands, alarms, work orders, rejections). */
  readonly publish: Publish;
  /**
   * Cuts a deleted device off: closes its connections (embedded), or removes its account on the broker, which
   * disconnects it (external). Resolves once done.
   */
  disconnectDevice(id: string): void | Promise<void>;
  /** Embedded: the listeners are up. External: the link to the broker is connected. */
  readonly listening: boolean;
}
