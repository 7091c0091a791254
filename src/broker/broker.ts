import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Origin } from '../bus.js';
import type { Config } from '../config/env.js';
import { ListenError } from '../errors.js';
import type { Failures } from '../failures.js';
import type { IngestResult } from '../ingest/pipeline.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { FailedHandoffs } from '../ingest/redelivery.js';
import { SafeGroups } from '../shared/safe-groups.js';
import type { TlsServing } from '../tls/certificates.js';
import type { Publish } from '../topics.js';
import { DROPPED_TOPIC, principalOf, type Auth, type Principal } from './auth.js';
import type { GatewayBroker } from './gateway-broker.js';
import { limitPacketSize, MAX_PACKET_BYTES } from './packet-limit.js';
import type { ProfiledMessage } from './profiled.js';
import { DeviceQuota, MAX_DELAYED, mayBeLifeSafety, type Verdict } from './quota.js';
import { FAIR_READ_DEFAULTS, FairReader, LoopDelay, lifeSafetyConnection, readMetrics } from './priority.js';
import type { DurablePersistence } from './persistence.js';

export interface BrokerDeps {
  config: Config['mqtt'];
  auth: Auth;
  log: Logger;
  metrics: Metrics;
  /** Ingest for a device's message under its own prefix; `suffix` is what follows the prefix. */
  ingest(o: Origin, topic: string, suffix: string, payload: Buffer, qos: number, resend: boolean): IngestResult;
  /** For anonymous mode: the registered device a topic belongs to, with its prefix. */
  resolveTopic(topic: string): { origin: Origin; prefix: string } | undefined;
  /** Anonymous mode: a message under no registered device's prefix. */
  unknownDevice(topic: string, payload: Buffer): void;
  /** A device's last connection closed; `clean`: it sent an MQTT DISCONNECT (no will is published then). */
  deviceDisconnected(id: string, clean: boolean): void;
  /** Ingest for a profiled device's or a bridge's vendor JSON; undefined for anyone else (src/broker/profiled.ts). */
  routeProfiled?(p: Principal | undefined, topic: string, payload: Buffer, qos: number): ProfiledMessage | undefined;
  /** The per-device quota (DEVICE_MAX_RATE, broker/quota.ts); absent: off. */
  quota?: { rate: number; burst: number };
  /** A device's QoS 0 message over its quota (counted here; the callee tells the rejected topic now and then). */
  rateLimited?(o: Origin, topic: string): void;
  /** A device started (`on`) or stopped flooding: over its quota, at `rate` messages a second over 10 s. */
  flooding?(o: Origin, on: boolean, rate: number): void;
  /** Where a failure outside ingest's own boundary is counted (stage `broker`). */
  failures: Failures;
  /** Retained statuses and persistent sessions kept over a restart (broker/persistence.ts); absent: in memory only. */
  persistence?: DurablePersistence;
  /** The TLS listeners (MQTTS_PORT, MQTT_WSS_PORT) and their certificate; absent: no TLS listener. */
  tls?: { serving: TlsServing; mqttsPort: number; wssPort: number };
  /** False (PLAIN_LISTENERS=off): the plain TCP and WebSocket listeners are not opened. */
  plain?: boolean;
}

/** A PUBACK waiting for its message to be safe, with what identifies the message if the hand-off fails. */
interface Waiting {
  done: (err?: Error | null) => void;
  device: string;
  messageId: number;
  payload: Buffer;
}

/** The embedded aedes broker on TCP and WebSocket, with the gateway's security and ingest as its hooks. */
export class Broker implements GatewayBroker {
  readonly name = 'broker';
  /** 0 for a listener not opened (TLS without its files, plain ones with PLAIN_LISTENERS=off). */
  ports = { port: 0, wsPort: 0, tlsPort: 0, wssPort: 0 };
  private aedes?: Aedes;
  /** Every listening server with the WebSocket server on it, plain and TLS: closed together at stop. */
  private listeners: Array<{ server: Server | HttpServer; wss?: WebSocketServer }> = [];
  /** The priority lane's read path (broker/priority.ts), unless MQTT_FAIR_READ=false. */
  private reader?: FairReader;
  private readonly loopDelay = new LoopDelay();
  /** Every live connection of each device: a device may hold more than one (several client ids). */
  private readonly deviceClients = new Map<string, Set<Client>>();
  /** Every live connection of each operator: closed when it is disabled or deleted (contract §15). */
  private readonly operatorClients = new Map<string, Set<Client>>();
  private readonly origins = new WeakMap<Client, { origin: Origin; prefix: string }>();
  /** QoS 1 messages whose hand-off failed: their resend is stored but reaches the rules only once. */
  private readonly failedHandoffs = new FailedHandoffs();
  /** aedes' PUBACK callbacks, grouped under the batch promise they wait on (`whenSafe`). */
  private readonly pubacks = new SafeGroups<Waiting>({
    settled: (messages, err) => {
      if (err) this.deps.log.error({ err, messages }, 'messages could not be stored; their connections close unacknowledged');
    },
    each: (w, err) => {
      if (err) this.failedHandoffs.remember(w.device, w.messageId, w.payload);
      // A batch's thousands of callbacks run in the read path's short turns, not in one burst (broker/priority.ts).
      if (this.reader) this.reader.defer(() => w.done(err ?? null));
      else w.done(err ?? null);
    },
    // One connection's failure to write its PUBACK must not keep the others' from being written.
    failed: (failure) => this.deps.failures.report('broker', failure, { step: 'puback' }),
  });

  /** Token buckets per device (contract: bridges' devices each have their own); undefined when off. */
  private readonly quota?: DeviceQuota<Origin>;
  private readonly quotaCounts: { refused: () => void; delayed: () => void };
  /** A connection refused because its client id's stored session belongs to another principal. */
  private readonly sessionTaken: () => void;

  constructor(private readonly deps: BrokerDeps) {
    const quota = (this.quota = deps.quota && this.createQuota(deps.quota));
    const count = (outcome: string) => deps.metrics.counterFor('gateway_quota_messages_total', 'Device messages over their quota, by outcome', { outcome });
    this.quotaCounts = quota ? { refused: count('refused'), delayed: count('delayed') } : { refused: () => undefined, delayed: () => undefined };
    if (quota) deps.metrics.gauge('gateway_quota_waiting', 'Device QoS 1 messages waiting for their quota now', () => quota.delayed);
    this.sessionTaken = deps.metrics.counterFor('gateway_mqtt_refused_total', 'MQTT connections, publishes and subscriptions refused, by what and why', {
      what: 'connect',
      reason: 'session_of_another',
    });
  }

  /** Listens on TCP and WebSocket; resolves with the ports bound (0 in the config means any free one). */
  async start(): Promise<{ port: number; wsPort: number }> {
    const { auth, log } = this.deps;
    const aedes = await Aedes.createBroker({
      persistence: this.deps.persistence,
      authenticate: (client, username, password, done) => this.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => this.authorizePublish(client, packet, done),
      authorizeSubscribe: auth.authorizeSubscribe,
      authorizeForward: auth.authorizeForward,
    });
    this.aedes = aedes;
    aedes.on('clientReady', (client) => this.clientReady(client));
    aedes.on('clientDisconnect', (client) => this.clientGone(client));
    aedes.on('clientError', (client, err) => log.debug({ client: client.id, err }, 'mqtt client error'));
    aedes.on('connectionError', (client, err) => log.debug({ client: client?.id, err }, 'mqtt connection error'));
    this.deps.metrics.gauge('gateway_mqtt_clients', 'MQTT clients connected', () => aedes.connectedClients);

    const tooLarge = this.deps.metrics.counterFor(
      'gateway_mqtt_refused_total',
      'MQTT connections, publishes and subscriptions refused, by what and why',
      { what: 'packet', reason: 'too_large' },
    );
    // Life-safety devices' connections are read at once, the others' in short fair slices (broker/priority.ts).
    const reader = this.deps.config.fairRead
      ? new FairReader(
          FAIR_READ_DEFAULTS,
          (client) => lifeSafetyConnection(principalOf(client)),
          // One connection's failure to write its PUBACK must not keep the others' from being written.
          (failure) => this.deps.failures.report('broker', failure, { step: 'puback' }),
        )
      : undefined;
    this.reader = reader;
    this.loopDelay.start();
    readMetrics(this.deps.metrics, reader, this.loopDelay);
    // Every connection's packets are limited before aedes buffers them (broker/packet-limit.ts).
    const handle = (stream: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]) => {
      const client = aedes.handle(stream, req);
      if (!limitPacketSize(client, MAX_PACKET_BYTES, tooLarge)) {
        client.close();
        throw new Error('this aedes version has no packet parser to limit: see broker/packet-limit.ts');
      }
      if (reader && !reader.attach(client)) {
        client.close();
        throw new Error('this aedes version has no read path to schedule: see broker/priority.ts (or set MQTT_FAIR_READ=false)');
      }
    };
    await this.openListeners(handle);
    return this.ports;
  }

  /**
   * Opens the plain listeners (unless PLAIN_LISTENERS=off) and the TLS ones (with the certificate files); every
   * listener's connections take the same path, `handle`: packet limit, fair reading, authenticate.
   */
  private async openListeners(handle: (stream: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]) => void): Promise<void> {
    const { config, tls, log } = this.deps;
    const plain = this.deps.plain !== false;
    const opened: Array<{ server: Server | HttpServer; port: number; setting: string; ws: boolean }> = [];
    if (plain) {
      const tcp = createServer((socket) => handle(socket));
      opened.push({ server: tcp, port: config.port, setting: 'MQTT_PORT', ws: false }, { server: createHttpServer(), port: config.wsPort, setting: 'MQTT_WS_PORT', ws: true });
    }
    if (tls) {
      // contract §15: MQTT over TLS and over secure WebSocket; `secureConnection` hands over the decrypted socket.
      const tlsTcp = createTlsServer(tls.serving.serverOptions(), (socket) => handle(socket));
      const https = createHttpsServer(tls.serving.serverOptions());
      for (const server of [tlsTcp, https]) {
        tls.serving.track(server);
        // A client that does not trust the certificate, or speaks no TLS: its handshake fails, the others go on.
        server.on('tlsClientError', (err) => log.debug({ err }, 'mqtt tls handshake failed'));
      }
      opened.push({ server: tlsTcp, port: tls.mqttsPort, setting: 'MQTTS_PORT', ws: false }, { server: https, port: tls.wssPort, setting: 'MQTT_WSS_PORT', ws: true });
    }
    const bound: number[] = [];
    this.listeners = opened.map(({ server }) => ({ server }));
    try {
      for (const o of opened) bound.push(await listen(o.server, o.port, config.host, o.setting));
    } catch (err) {
      // A part that fails to start is not stopped by the lifecycle: release what was opened here.
      await this.stop();
      throw err;
    }
    // Only once listening: ws re-emits the server's listen error, which would escape as an uncaught exception.
    opened.forEach((o, i) => {
      if (!o.ws) return;
      const wss = new WebSocketServer({ server: o.server as HttpServer });
      wss.on('connection', (socket, req) => handle(createWebSocketStream(socket), req));
      this.listeners[i].wss = wss;
    });
    const portOf = (setting: string) => bound[opened.findIndex((o) => o.setting === setting)] ?? 0;
    this.ports = { port: portOf('MQTT_PORT'), wsPort: portOf('MQTT_WS_PORT'), tlsPort: portOf('MQTTS_PORT'), wssPort: portOf('MQTT_WSS_PORT') };
    log.info({ ...this.ports, host: config.host }, 'mqtt broker listening');
  }

  /** Publishes as the gateway itself (commands, alarms, rejections); not subject to client ACLs. */
  readonly publish: Publish = (topic, payload, opts = {}) =>
    new Promise((resolve, reject) => {
      if (!this.aedes || this.aedes.closed) return reject(new Error('broker is not running'));
      const packet = {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos: opts.qos ?? 0,
        retain: opts.retain ?? false,
        dup: false,
      } as PublishPacket;
      this.aedes.publish(packet, (err?: Error | null) => (err ? reject(err) : resolve()));
    });

  /** Closes every connection of a device, e.g. when it is deleted from the registry. */
  /** Closes the connections of a device or a bridge (deleted, or its credentials replaced). */
  disconnectDevice(deviceId: string): void {
    for (const client of this.deviceClients.get(deviceId) ?? []) client.close();
  }

  /** Closes every connection of an operator (disabled or deleted); its logins are refused from then on. */
  disconnectOperator(operatorId: string): void {
    for (const client of this.operatorClients.get(operatorId) ?? []) client.close();
  }

  /** Whether a device or a bridge has a live connection now. */
  connected(id: string): boolean {
    return (this.deviceClients.get(id)?.size ?? 0) > 0;
  }

  get listening(): boolean {
    return Boolean(this.listeners[0]?.server.listening && this.aedes && !this.aedes.closed);
  }

  /** Stops taking connections, then closes every client (their wills are published and ingested first). */
  async stop(): Promise<void> {
    const aedes = this.aedes;
    this.aedes = undefined;
    if (!aedes) return;
    this.reader?.stop();
    this.loopDelay.stop();
    const closed = this.listeners.map(({ server, wss }) => {
      const done = new Promise<void>((r) => server.close(() => r()));
      wss?.close();
      if ('closeAllConnections' in server) server.closeAllConnections();
      return done;
    });
    this.listeners = [];
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await Promise.all(closed);
    // Once every client is closed: what their last acknowledgements changed is written before the store closes.
    this.deps.persistence?.stop();
    this.deviceClients.clear();
    this.operatorClients.clear();
    this.quota?.stop();
  }

  /**
   * The gateway's authentication, then (contract §15) a stored session is only for the principal that made it:
   * another principal with its client id gets CONNACK 2, identifier rejected [MQTT-3.2.2-3].
   */
  private authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void): void {
    this.deps.auth.authenticate(client, username, password, (err, ok) => {
      const persistence = this.deps.persistence;
      if (err || !ok || !persistence || persistence.mayConnect(client)) return done(err, ok);
      this.deps.auth.forget(client);
      this.sessionTaken();
      done(Object.assign(new Error('identifier rejected'), { returnCode: 2 }), false);
    });
  }

  /**
   * aedes asks this before it delivers a client's PUBLISH: it is where a device message enters the gateway
   * (docs/architecture.md). Ingest runs here so that the QoS 1 PUBACK waits for the durable hand-off. Nothing
   * it raises may escape into aedes, which would end the process: the catch is the last boundary.
   */
  private authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void {
    if (!client) return done(null); // the gateway's own publishes
    try {
      this.ingestPublish(client, packet, done);
    } catch (err) {
      packet.retain = false;
      this.deps.failures.report('broker', err, { client: client.id, topic: packet.topic });
      done(null);
    }
  }

  private ingestPublish(client: Client, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const { auth } = this.deps;
    const chatter = auth.bridgeChatter(client, packet.topic);
    if (!auth.canPublish(client, packet.topic, chatter)) {
      if (!chatter) return done(new Error('not authorized'));
      // Taken and dropped: the vendor's gateway keeps its connection, nobody receives the message.
      packet.topic = DROPPED_TOPIC;
      packet.retain = false;
      return done(null);
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const routed = this.deps.routeProfiled?.(principalOf(client), packet.topic, payload, packet.qos);
    if (routed) {
      // A vendor's message is taken in, not passed on as it came: nothing of it is retained.
      packet.retain = false;
      const { origin } = routed;
      const ingest = () => this.acknowledged(routed.ingest(), done, client.id, packet, payload);
      // Counted against the device it is for: each device behind a bridge has its own quota.
      const verdict = origin && this.quota ? this.quota.take(origin.device, origin, packet.qos, routed.lifeSafety()) : 'pass';
      if (verdict !== 'pass') return this.beyondQuota(verdict, client, packet, done, origin!, ingest);
      return ingest();
    }
    const target = this.targetOf(client, packet.topic);
    if (!target) {
      packet.retain = false;
      this.deps.unknownDevice(packet.topic, payload);
      return done(null);
    }
    const { origin } = target;
    const suffix = packet.topic.slice(target.prefix.length);
    if (this.quota) {
      // A cheap look decides a life-safety event's exemption; ingest validates it like any message.
      const verdict = this.quota.take(origin.device, origin, packet.qos, mayBeLifeSafety(origin.kind, suffix, payload));
      if (verdict !== 'pass') return this.beyondQuota(verdict, client, packet, done, origin, () => this.ingestNative(origin, suffix, packet, payload, done));
    }
    this.ingestNative(origin, suffix, packet, payload, done);
  }

  private ingestNative(origin: Origin, suffix: string, packet: PublishPacket, payload: Buffer, done: (err?: Error | null) => void): void {
    const { device } = origin;
    const messageId = packet.messageId ?? 0;
    const resend = packet.qos > 0 && this.failedHandoffs.isResend(device, messageId, payload);
    const result = this.deps.ingest(origin, packet.topic, suffix, payload, packet.qos, resend);
    // Only a valid status is kept as the retained state; any other retained flag would hold memory for nobody.
    if (!(result.accepted && suffix === 'status')) packet.retain = false;
    this.acknowledged(result, done, device, packet, payload);
  }

  /** Calls aedes back once the message is safe: it writes the QoS 1 PUBACK then. */
  private acknowledged(result: IngestResult, done: (err?: Error | null) => void, device: string, packet: PublishPacket, payload: Buffer): void {
    if (!result.safe) return done(null);
    // Thousands of messages share one batch promise, so the callbacks are grouped under it (one reaction per batch).
    this.pubacks.add(result.safe, { done, device, messageId: packet.messageId ?? 0, payload });
  }

  /**
   * A message over its device's quota (broker/quota.ts, docs/integrators.md "Over quota"): at QoS 0 refused with
   * `rate_limited`, at QoS 1 held, its PUBACK with it, until the device has a token again; its ingest runs then.
   */
  private beyondQuota(
    verdict: Exclude<Verdict, 'pass'>,
    client: Client,
    packet: PublishPacket,
    done: (err?: Error | null) => void,
    origin: Origin,
    ingest: () => void,
  ): void {
    if (verdict === 'refuse') {
      this.quotaCounts.refused();
      this.deps.rateLimited?.(origin, packet.topic);
      // Refused: nobody receives it, nothing of it is retained.
      packet.topic = DROPPED_TOPIC;
      packet.retain = false;
      return done(null);
    }
    if (verdict === 'overflow') {
      // As aedes bounds its QoS 2 receive window (maxInflightInbound): MQTT 3.1.1 has no reason code, so the
      // connection closes; what it sent unacknowledged comes again.
      return done(new Error(`more than ${MAX_DELAYED} messages of ${origin.device} wait for the quota`));
    }
    this.quotaCounts.delayed();
    this.quota!.wait(origin.device, client, () => {
      // Outside authorizePublish's boundary now: the same last catch.
      try {
        ingest();
      } catch (err) {
        packet.retain = false;
        this.deps.failures.report('broker', err, { client: client.id, topic: packet.topic });
        done(null);
      }
    });
  }

  private createQuota(settings: { rate: number; burst: number }): DeviceQuota<Origin> {
    return new DeviceQuota<Origin>({
      ...settings,
      flooding: (origin, on, rate) => {
        this.deps.log.info({ site: origin.site, kind: origin.kind, device: origin.device, rate }, on ? 'device flooding' : 'device calmed down');
        this.deps.flooding?.(origin, on, rate);
      },
      failed: (err) => this.deps.failures.report('broker', err, { step: 'quota' }),
    });
  }

  private targetOf(client: Client, topic: string): { origin: Origin; prefix: string } | undefined {
    const cached = this.origins.get(client);
    if (cached) return cached;
    const p = principalOf(client);
    if (p?.role !== 'device') return this.deps.resolveTopic(topic);
    const { device } = p;
    const target = { origin: { site: device.site, kind: device.kind, device: device.id, zone: device.zone }, prefix: p.prefix };
    this.origins.set(client, target);
    return target;
  }

  private clientReady(client: Client): void {
    this.deps.persistence?.clientReady(client);
    const p = principalOf(client);
    if (p?.role === 'operator') addTo(this.operatorClients, p.operator.id, client);
    const id = connectedAs(p);
    if (id === undefined) return;
    const clients = this.deviceClients.get(id) ?? new Set<Client>();
    clients.add(client);
    this.deviceClients.set(id, clients);
  }

  private clientGone(client: Client): void {
    const p = principalOf(client);
    this.deps.persistence?.disconnected(client);
    this.deps.auth.forget(client);
    if (p?.role === 'operator') removeFrom(this.operatorClients, p.operator.id, client);
    // Its messages still waiting for the quota were never acknowledged: the device sends them again.
    this.quota?.forget(client);
    const id = connectedAs(p);
    if (id === undefined) return;
    const clients = this.deviceClients.get(id);
    clients?.delete(client);
    // A device with another live connection (a taken-over session, a second client id) has not gone away.
    if (clients && clients.size > 0) return;
    this.deviceClients.delete(id);
    // A bridge's connection is its own status: the devices behind it keep theirs (their absent rules tell).
    // aedes marks a connection ended by a DISCONNECT packet so (lib/handlers/index.js); it has no public flag.
    const clean = (client as Client & { _disconnected?: boolean })._disconnected === true;
    if (p?.role === 'device') this.deps.deviceDisconnected(id, clean);
  }
}

/** The device or bridge a connection speaks as (their ids never collide: registration refuses it). */
function connectedAs(p: Principal | undefined): string | undefined {
  if (p?.role === 'device') return p.device.id;
  if (p?.role === 'bridge') return p.bridge.id;
  return undefined;
}

/** Adds a connection to an id's set. */
function addTo(map: Map<string, Set<Client>>, id: string, client: Client): void {
  const set = map.get(id) ?? new Set<Client>();
  set.add(client);
  map.set(id, set);
}

/** Removes a connection from an id's set, and the set once empty. */
function removeFrom(map: Map<string, Set<Client>>, id: string, client: Client): void {
  const set = map.get(id);
  set?.delete(client);
  if (set?.size === 0) map.delete(id);
}

/** Listens; a port that cannot be opened rejects with a ListenError naming `setting`. */
function listen(server: Server | HttpServer, port: number, host: string, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(new ListenError(setting, port, err));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export type { AedesPublishPacket };
