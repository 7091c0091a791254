import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../log.js';

/** Largest packet the gateway accepts from the central broker (MQTT 5 CONNECT property): commands are small. */
const MAX_PACKET_BYTES = 256 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const KEEPALIVE_S = 30;

export interface LinkOptions {
  url: string;
  username?: string;
  password?: string;
  clientId: string;
  log: Logger;
  /** Called at each CONNACK; the sender then resends from the first message not acknowledged. */
  up(): void;
  /** Called when a connection that was up closed. */
  down(): void;
  message(topic: string, payload: Buffer): void;
  /** Waits between connection attempts: from `minMs`, doubling, at most `maxMs` (plus up to 20 % jitter). */
  reconnect?: { minMs: number; maxMs: number };
}

/** The link's state is not up: the message stays queued and goes after the next connect. */
export class LinkDownError extends Error {
  constructor() {
    super('the upstream link is down');
    this.name = 'LinkDownError';
  }
}

/** True when the central broker answered a publish with an MQTT 5 reason code of failure [MQTT-3.4.2.1]. */
export function isRefusal(err: unknown): err is Error & { code: number } {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'number' && code >= 0x80;
}

/**
 * The MQTT connection to the central broker (mqtt.js, MQTT 5, clean session). One client per connection:
 * when it closes the client is ended, its in-flight publishes fail, and a new one connects after a backoff,
 * so nothing of the old connection is resent behind the sender's back (the sender resends from the queue).
 */
export class UpstreamLink {
  private client?: MqttClient;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private attempts = 0;
  private isUp = false;
  /** The subscriptions wanted, and those this connection holds. */
  private wanted = new Set<string>();
  private held = new Set<string>();
  /** Set after the first failure of a streak is logged: the rest go to debug. */
  private failing = false;

  constructor(private readonly options: LinkOptions) {}

  get connected(): boolean {
    return this.isUp;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Resolves at the broker's PUBACK; rejects when the link is down or closes first, or the broker refuses. */
  publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client || !this.isUp) return Promise.reject(new LinkDownError());
    return new Promise((resolve, reject) => client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  }

  /** The command topics to hold subscribed, now and after every reconnect. */
  subscribe(filters: readonly string[]): void {
    this.wanted = new Set(filters);
    this.syncSubscriptions();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    this.isUp = false;
    // Forced: what is in flight stays queued on disk and is sent again after the next start.
    await client?.endAsync(true);
  }

  private connect(): void {
    const { url, username, password, clientId, log } = this.options;
    const client = mqtt.connect(url, {
      clientId,
      username,
      password,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepalive: KEEPALIVE_S,
      properties: { maximumPacketSize: MAX_PACKET_BYTES },
    });
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.attempts = 0;
      this.failing = false;
      this.isUp = true;
      this.held = new Set();
      log.info({ url: safeUrl(url), clientId }, 'upstream link up');
      this.syncSubscriptions();
      this.options.up();
    });
    client.on('message', (topic, payload) => this.options.message(topic, payload));
    client.on('error', (err) => {
      if (this.failing) return log.debug({ err }, 'upstream connection failed');
      this.failing = true;
      // A refused CONNECT (bad credentials, not authorized) needs someone to act; a refused TCP connect is an outage.
      if (isRefusal(err) || [4, 5].includes((err as { code?: unknown }).code as number)) log.error({ err, url: safeUrl(url) }, 'upstream connection refused');
      else log.warn({ err, url: safeUrl(url) }, 'upstream connection failed');
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      const wasUp = this.isUp;
      this.isUp = false;
      client.end(true);
      if (wasUp) {
        log.warn({ url: safeUrl(url) }, 'upstream link down');
        this.options.down();
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const { minMs, maxMs } = this.options.reconnect ?? { minMs: 1000, maxMs: 5000 };
    const wait = Math.min(maxMs, minMs * 2 ** this.attempts) * (1 + Math.random() * 0.2);
    this.attempts++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.connect();
    }, wait);
  }

  /** Subscribes to what is wanted and not held, unsubscribes from what is held and no longer wanted. */
  private syncSubscriptions(): void {
    const client = this.client;
    if (!client || !this.isUp) return;
    const add = [...this.wanted].filter((f) => !this.held.has(f));
    const remove = [...this.held].filter((f) => !this.wanted.has(f));
    for (const f of add) this.held.add(f);
    for (const f of remove) this.held.delete(f);
    if (add.length > 0) {
      client.subscribeAsync(add, { qos: 1 }).then(
        (granted) => {
          const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
          if (refused.length > 0) this.options.log.error({ refused }, 'upstream subscription refused');
          else this.options.log.info({ filters: add }, 'upstream commands subscribed');
        },
        (err: unknown) => {
          this.options.log.warn({ err, filters: add }, 'upstream subscription failed');
          // Tried again at the next sync (the sites refresh) or connect.
          if (this.client === client) for (const f of add) this.held.delete(f);
        },
      );
    }
    if (remove.length > 0) {
      client.unsubscribeAsync(remove).catch((err: unknown) => this.options.log.warn({ err, filters: remove }, 'upstream unsubscribe failed'));
    }
  }
}

/** The URL without credentials, for the logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    // Validated at start; should it still not parse, say nothing of it rather than risk a password.
    return '[url]';
  }
}
