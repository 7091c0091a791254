import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Origin } from '../bus.js';
import type { Target } from '../devices/targets.js';
import type { ExternalBrokerConfig } from '../config/env.js';
import type { Failures } from '../failures.js';
import type { IngestResult } from '../ingest/pipeline.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { SafeGroups } from '../shared/safe-groups.js';
import type { DeviceSuffix, Publish, Topics } from '../topics.js';
import type { GatewayBroker } from './gateway-broker.js';

export interface ExternalBrokerDeps {
  config: ExternalBrokerConfig;
  /** MQTT_PORT and MQTT_WS_PORT, only to say at start that they are not used. */
  unusedPorts: { port: number; wsPort: number };
  topics: Topics;
  log: Logger;
  metrics: Metrics;
  /** The device topics to subscribe to: all four on the primary, `telemetry` and `event` on an ingest worker. */
  suffixes: readonly DeviceSuffix[];
  /** The same ingest as the embedded broker's; `suffix` is what follows the device's prefix. */
  ingest(o: Origin, topic: string, suffix: string, payload: Buffer, qos: number): IngestResult;
  /** The registered device whose topic this is (site and kind must match its record); a worker may have to ask. */
  resolveTopic(topic: string): Target | undefined | Promise<Target | undefined>;
  /** A message under no registered device's prefix. */
  unknownDevice(topic: string, payload: Buffer): void;
  /** One more topic to subscribe to, outside the device topics (the dynamic-security responses). */
  control?: { topic: string; handle(payload: Buffer): void };
  /** Runs after each connection is set up (the account sync); `relinking` when the broker is about to drop the link. */
  connected?(): Promise<'done' | 'relinking'>;
  /** Removes a deleted device's account on the broker, which disconnects it. */
  removeDevice?(id: string): Promise<void>;
  /** Where a failure outside ingest's own boundary is counted (stage `broker`). */
  failures: Failures;
}

/** The longest start() waits for the first connection and its set-up. */
const START_TIMEOUT_MS = 30_000;
const RECONNECT_MS = 1000;
/** The longest stop() waits for the messages in hand to be safe and acknowledged. */
const STOP_GRACE_MS = 5000;
/** A link is dropped on purpose (to have unacknowledged messages sent again) at most this often. */
const RELINK_MIN_INTERVAL_MS = 30_000;
/** CONNACK reason codes that no retry can fix (MQTT 5 §3.2.2.2): bad credentials, not authorized, banned, and 3.1.1's 4 and 5. */
const REFUSED_FOR_GOOD = new Set([4, 5, 134, 135, 138]);

/** Given to customHandleAcks' callback for a message whose PUBACK the gateway sends itself once the message is safe. */
class DeferredAck extends Error {
  constructor() {
    super('PUBACK deferred until the message is safe');
    this.name = 'DeferredAck';
  }
}
const DEFERRED = new DeferredAck();

/** mqtt.js's packet writer, which it does not export: see `ackLater`. */
type PacketSender = { _sendPacket(packet: object, cb?: () => void, cbStorePut?: () => void, noStore?: boolean): void };

/**
 * The gateway as a client of an external broker (Mosquitto 2): MQTT 5, a fixed client id, clean start off and a
 * session expiry, so QoS 1 messages queued at the broker while the gateway restarts are delivered afterwards.
 * Each message is resolved to its registered device and handed to ingest; the PUBACK to the broker waits until
 * the point is safe, as the embedded broker's PUBACK to the device does.
 */
export class ExternalBroker implements GatewayBroker {
  readonly name = 'broker';
  /** The gateway listens on no MQTT port of its own in this mode. */
  readonly ports = { port: 0, wsPort: 0 };
  private client?: MqttClient;
  /** Bumped at each connection: a PUBACK goes only on the connection its PUBLISH came on. */
  private generation = 0;
  /** PUBACKs waiting, grouped by the promise they wait on: one reaction per InfluxDB batch, not per message. */
  private readonly waiting = new SafeGroups<[messageId: number, generation: number]>({
    settled: (messages, err) => {
      if (!err) return;
      this.deps.log.error({ err, messages }, 'messages could not be stored; left unacknowledged for the broker to send again');
      this.relink();
    },
    each: ([messageId, generation], err) => this.settle(messageId, generation, err),
    failed: (failure, [messageId]) => this.deps.failures.report('broker', failure, { step: 'puback', messageId }),
  });
  /** PUBACKs still to send on the current connection (those of an earlier one will never be sent). */
  private pendingAcks = 0;
  private ready?: { resolve(): void; reject(err: Error): void };
  private lastRelink = 0;
  private downLogged = false;
  /** Set when the account sync changed the gateway's own roles: Mosquitto disconnects it for that. */
  private kickExpected = false;
  private stopped = false;

  constructor(private readonly deps: ExternalBrokerDeps) {}

  async start(): Promise<{ port: number; wsPort: number }> {
    const { config, log, unusedPorts } = this.deps;
    log.info(
      { url: config.url, clientId: config.clientId, shareGroup: config.shareGroup, mqttPort: unusedPorts.port, wsPort: unusedPorts.wsPort },
      'external broker mode: no broker embedded, MQTT_PORT and MQTT_WS_PORT are not used',
    );
    const client = mqtt.connect(config.url, {
      protocolVersion: 5,
      clientId: config.clientId,
      // [MQTT-3.1.2-5] clean start off + a session expiry: the broker keeps the subscriptions and queues QoS 1.
      clean: false,
      properties: { sessionExpiryInterval: config.sessionExpirySec, receiveMaximum: config.receiveMaximum },
      username: config.username,
      password: config.password,
      reconnectPeriod: RECONNECT_MS,
      connectTimeout: 10_000,
      // Subscribed again at each connection, below: the broker's session may have expired meanwhile.
      resubscribe: false,
      manualConnect: true,
      customHandleAcks: (topic, payload, packet, done) => this.onAckable(topic, payload, packet as IPublishPacket, done),
    });
    if (typeof (client as unknown as Partial<PacketSender>)._sendPacket !== 'function') {
      throw new Error('this mqtt.js version has no _sendPacket: the deferred PUBACKs of external.ts need it');
    }
    this.client = client;
    client.on('connect', (connack) => void this.onConnect(connack.sessionPresent));
    client.on('message', (topic, payload, packet) => {
      if (packet.qos === 0) this.onQos0(topic, payload);
    });
    client.on('error', (err) => this.onError(err));
    client.on('disconnect', (packet) => {
      // MQTT 5 §3.14.2.1 reason code 142: another client took the session over (a second process with this BROKER_CLIENT_ID).
      if (packet.reasonCode === 142) log.error({ clientId: config.clientId }, 'another client took over the gateway session; give each process its own BROKER_CLIENT_ID');
      else if (!this.kickExpected) log.warn({ reasonCode: packet.reasonCode }, 'the MQTT broker disconnected the gateway');
    });
    client.on('close', () => {
      if (this.kickExpected) log.info({ url: config.url }, 'reconnecting to the MQTT broker with the new rights');
      else if (!this.downLogged && !this.stopped) log.warn({ url: config.url }, 'link to the MQTT broker lost; reconnecting');
      this.kickExpected = false;
      this.downLogged = true;
    });
    this.deps.metrics.gauge('gateway_broker_link_up', 'Whether the link to the external MQTT broker is connected', () => (client.connected ? 1 : 0));
    this.deps.metrics.gauge('gateway_broker_acks_pending', 'Messages from the broker waiting to be safe before their PUBACK', () => this.pendingAcks);
    const ready = new Promise<void>((resolve, reject) => (this.ready = { resolve, reject }));
    const timer = setTimeout(() => this.ready?.reject(new Error(`no working link to the MQTT broker at ${config.url} within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    client.connect();
    try {
      await ready;
    } catch (err) {
      await this.stop();
      throw err;
    } finally {
      clearTimeout(timer);
      this.ready = undefined;
    }
    return { port: 0, wsPort: 0 };
  }

  /** Publishes as the gateway; while the link is down mqtt.js queues the message until it is back. */
  readonly publish: Publish = async (topic, payload, opts = {}) => {
    if (!this.client || this.stopped) throw new Error('the link to the MQTT broker is not running');
    await this.client.publishAsync(topic, payload, { qos: opts.qos ?? 0, retain: opts.retain ?? false });
  };

  /** Removes the device's account on the broker; Mosquitto disconnects it (dynsec `deleteClient`). */
  async disconnectDevice(id: string): Promise<void> {
    await this.deps.removeDevice?.(id);
  }

  get listening(): boolean {
    return this.client?.connected === true;
  }

  /**
   * Lets the messages in hand become safe and acknowledged (so the broker does not send them again), then
   * disconnects. The session stays at the broker for BROKER_SESSION_EXPIRY and queues what comes meanwhile.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const client = this.client;
    if (!client) return;
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.pendingAcks > 0 && client.connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.pendingAcks > 0) this.deps.log.warn({ messages: this.pendingAcks }, 'stopping with unacknowledged messages; the broker sends them again');
    await client.endAsync(!client.connected);
  }

  private async onConnect(sessionPresent: boolean): Promise<void> {
    const generation = ++this.generation;
    this.pendingAcks = 0;
    this.downLogged = false;
    const { config, topics, log } = this.deps;
    log.info({ url: config.url, clientId: config.clientId, sessionPresent }, 'connected to the MQTT broker');
    const share = config.shareGroup ? `$share/${config.shareGroup}/` : '';
    const filters = this.deps.suffixes.map((s) => `${share}${topics.deviceFilter(s)}`);
    if (this.deps.control) filters.push(this.deps.control.topic);
    try {
      await this.client!.subscribeAsync(filters, { qos: 1 }).catch((err: unknown) => {
        // [MQTT-3.9.3] a refused filter fails the SUBACK ("Subscribe error: Not authorized").
        throw new Error(
          `the MQTT broker refused the subscription to ${filters.join(', ')} for ${config.username ?? 'the gateway'}: its account lacks the rights (docs/scale-out.md)`,
          { cause: err },
        );
      });
      const outcome = this.deps.connected ? await this.deps.connected() : 'done';
      if (outcome === 'done') this.ready?.resolve();
      else this.kickExpected = true;
    } catch (err) {
      if (generation !== this.generation || this.stopped) return; // superseded by a newer connection
      log.error({ err, url: config.url }, 'link to the MQTT broker could not be set up');
      this.ready?.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onError(err: Error & { code?: number | string }): void {
    if (err === DEFERRED) return;
    if (typeof err.code === 'number' && REFUSED_FOR_GOOD.has(err.code)) {
      this.deps.log.error({ err, username: this.deps.config.username }, 'the MQTT broker refused the gateway (BROKER_USERNAME, BROKER_PASSWORD)');
      this.ready?.reject(new Error(`the MQTT broker at ${this.deps.config.url} refused the gateway's account: ${err.message}`));
      return;
    }
    this.deps.log.debug({ err }, 'mqtt link error');
  }

  /**
   * mqtt.js hands each QoS 1 message here and sends the PUBACK when `done` is called, but it reads the next
   * packet only after that (mqtt.js `handlers/publish.ts`): waiting here for InfluxDB would take one message per
   * batch. So a message that must wait is passed on with an error, which makes mqtt.js send no PUBACK and read on,
   * and the PUBACK is sent once the message is safe (`ackLater`).
   */
  private onAckable(topic: string, payload: Buffer, packet: IPublishPacket, done: (err: Error | number, code?: number) => void): void {
    const safe = this.handle(topic, payload, packet.qos);
    if (!safe || packet.messageId === undefined) return done(0); // reason code 0: success, PUBACK now
    this.ackLater(safe, packet.messageId);
    done(DEFERRED);
  }

  private onQos0(topic: string, payload: Buffer): void {
    const handled = this.handle(topic, payload, 0);
    handled?.catch((err: unknown) => this.deps.log.warn({ err, topic }, 'QoS 0 message dropped'));
  }

  /**
   * Ingests a message; resolves once it is safe, or undefined when there is nothing to wait for. Each message's
   * failure boundary in external-broker mode (docs/architecture.md): what it raises is counted and the message
   * acknowledged as handled, never thrown into mqtt.js.
   */
  private handle(topic: string, payload: Buffer, qos: number): Promise<void> | undefined {
    try {
      return this.route(topic, payload, qos);
    } catch (err) {
      this.deps.failures.report('broker', err, { topic });
      return undefined;
    }
  }

  private route(topic: string, payload: Buffer, qos: number): Promise<void> | undefined {
    if (this.deps.control && topic === this.deps.control.topic) {
      this.deps.control.handle(payload);
      return undefined;
    }
    const target = this.deps.resolveTopic(topic);
    if (target instanceof Promise) return target.then((t) => this.ingest(t, topic, payload, qos));
    return this.ingest(target, topic, payload, qos);
  }

  private ingest(target: Target | undefined, topic: string, payload: Buffer, qos: number): Promise<void> | undefined {
    if (!target) {
      this.deps.unknownDevice(topic, payload);
      return undefined;
    }
    const result = this.deps.ingest(target.origin, topic, topic.slice(target.prefix.length), payload, qos);
    return qos > 0 ? result.safe : undefined;
  }

  private ackLater(safe: Promise<void>, messageId: number): void {
    this.pendingAcks++;
    this.waiting.add(safe, [messageId, this.generation]);
  }

  /** The message is safe (or failed: left for the broker to send again); its PUBACK goes if its connection is still up. */
  private settle(messageId: number, generation: number, err: Error | undefined): void {
    // A PUBLISH of an earlier connection is sent again by the broker on the new one [MQTT-4.4.0-1].
    if (generation !== this.generation) return;
    this.pendingAcks--;
    const client = this.client;
    if (err || !client?.connected) return;
    (client as unknown as PacketSender)._sendPacket({ cmd: 'puback', messageId, reasonCode: 0 }, undefined, undefined, true);
  }

  /** Drops the link (mqtt.js reconnects at once) so the broker sends the unacknowledged messages again. */
  private relink(): void {
    if (this.stopped || Date.now() - this.lastRelink < RELINK_MIN_INTERVAL_MS) return;
    this.lastRelink = Date.now();
    this.deps.log.warn('reconnecting to the MQTT broker to have the unacknowledged messages sent again');
    this.client?.stream?.destroy();
  }
}
