import mqtt, { type MqttClient } from 'mqtt';
import type { Topics } from '../../src/topics.js';
import type { DeviceModel } from '../models/model.js';
import type { Clock } from '../sim/clock.js';
import type { Credentials } from './registrar.js';

/** Counts shared by every device of a simulator, for the progress line. */
export interface Counters {
  published: number;
  events: number;
  commands: number;
  publishErrors: number;
}

export interface LinkOptions {
  mqttUrl: string;
  topics: Topics;
  /** QoS of telemetry (contract §2 allows 0 or 1); events, status and results are always QoS 1. */
  qos: 0 | 1;
  /** Real ms between two telemetry messages of one device. */
  intervalMs: number;
  /** MQTT keepalive in seconds (default 30): a device that goes dark is noticed by the broker after 1.5 × this. */
  keepaliveS?: number;
}

/** The gateway refused the device's credentials (CONNACK 4 or 5): they must be issued again. */
export class NotAuthorizedError extends Error {}

/** A telemetry report asked for by the model (a fault, a command) goes out at most this often. */
const MIN_REPORT_GAP_MS = 1000;

/**
 * One simulated device on the wire: a real MQTT client with its own credentials and an `offline` last will
 * (contract §2), publishing what its model produces and obeying `cmd` with a `cmd/result`.
 */
export class SimDevice {
  private client?: MqttClient;
  private nextReportAt = 0;
  private lastReportAt = 0;
  private reportPending = false;
  private silent = false;
  private dropped = false;

  constructor(
    readonly model: DeviceModel,
    private readonly link: LinkOptions,
    private readonly clock: Clock,
    private readonly counters: Counters,
  ) {}

  get id(): string {
    return this.model.spec.id;
  }

  get connected(): boolean {
    return this.client?.connected === true && !this.dropped;
  }

  /** Connects; resolves on the first CONNACK, rejects with NotAuthorizedError when refused. */
  connect(creds: Credentials): Promise<void> {
    const { site, kind, id } = this.model.spec;
    const status = this.link.topics.device(site, kind, id, 'status');
    const client = mqtt.connect(this.link.mqttUrl, {
      clientId: id,
      username: creds.username,
      password: creds.password,
      protocolVersion: 4,
      clean: true,
      keepalive: this.link.keepaliveS ?? 30,
      // Spread reconnects after a gateway restart, so thousands of devices do not knock at once.
      reconnectPeriod: 1000 + Math.floor(Math.random() * 2000),
      connectTimeout: 15_000,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        client.off('error', onError);
        resolve();
      };
      const onError = (err: Error & { code?: number }) => {
        if (err.code !== 4 && err.code !== 5) return; // a network error: mqtt.js retries
        client.off('connect', onConnect);
        client.end(true);
        reject(new NotAuthorizedError(`${id}: the gateway refused its credentials (${err.message})`));
      };
      client.once('connect', onConnect);
      client.on('error', onError);
    });
  }

  /** When the first telemetry goes out (each device gets its own phase in the interval). */
  reportFrom(realTime: number): void {
    this.nextReportAt = realTime;
  }

  /** Steps the model to the simulated now and publishes what is due; called about once a second. */
  tick(realNow: number): void {
    if (this.dropped) return;
    const { events, reportNow } = this.model.step(this.clock.now());
    if (this.silent) return;
    for (const event of events) {
      this.counters.events++;
      this.publish('event', { ...event, ts: realNow }, 1);
    }
    if (reportNow) this.reportPending = true;
    const due = realNow >= this.nextReportAt;
    if (due || (this.reportPending && realNow - this.lastReportAt >= MIN_REPORT_GAP_MS)) {
      this.report(realNow);
      // Keep the device's phase, but never try to catch up a backlog of missed reports.
      if (due) this.nextReportAt = Math.max(this.nextReportAt + this.link.intervalMs, realNow + 1);
    }
  }

  /** The `silence` scenario: stays connected, sends nothing (until `on` is false). */
  silence(on: boolean): void {
    this.silent = on;
  }

  /** The `drop` scenario: the connection dies without a DISCONNECT, so the broker publishes the last will. */
  drop(): void {
    this.powerOff('close');
  }

  /**
   * The device loses its power (devices/flood.ts): it sends nothing more, never a DISCONNECT. `close`: its
   * socket closes at once; `keepalive`: the socket stays open and silent (no PINGREQ) until the broker's
   * keepalive timeout closes it. Either way the broker publishes the `offline` last will.
   */
  powerOff(how: 'close' | 'keepalive'): void {
    const client = this.client;
    if (!client || this.dropped) return;
    this.dropped = true;
    client.options.reconnectPeriod = 0;
    if (how === 'close') return void client.stream.destroy();
    // mqtt.js has no public way to stop its pings; a dead device sends none, and reads nothing.
    (client as unknown as { _destroyKeepaliveManager(): void })._destroyKeepaliveManager();
    client.stream.pause();
  }

  /** Comes back after `drop` or `powerOff`: a fresh connection (a device that was dark boots afresh). */
  revive(): void {
    const client = this.client;
    if (!client || !this.dropped) return;
    const again = () => {
      if (this.client !== client || !this.dropped) return;
      this.dropped = false;
      client.options.reconnectPeriod = 1000;
      client.reconnect();
    };
    // The old connection must be gone first: its socket is still open when the device went dark (until the
    // broker's keepalive ran out), and a just-destroyed one has not told the client yet.
    if (!client.stream.destroyed) client.stream.destroy();
    if (client.connected) client.once('close', () => setImmediate(again));
    else again();
  }

  /** Says `offline` (as a device switched off properly does) and disconnects. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    if (client.connected && !this.dropped) {
      const { site, kind, id } = this.model.spec;
      await client.publishAsync(this.link.topics.device(site, kind, id, 'status'), 'offline', { qos: 1, retain: true }).catch(() => undefined);
    }
    // A dropped or dark device has nothing to say goodbye on: its socket is closed, or half-dead.
    await client.endAsync(this.dropped || !client.connected);
  }

  private onConnect(client: MqttClient): void {
    // A CONNACK that comes after stop() (the device was reconnecting) finds a client being ended: nothing to say.
    if (this.client !== client) return;
    const { site, kind, id } = this.model.spec;
    client.publish(this.link.topics.device(site, kind, id, 'status'), 'online', { qos: 1, retain: true });
    client.subscribe(this.link.topics.device(site, kind, id, 'cmd'), { qos: 1 });
  }

  /** contract §2: `cmd` carries `{ id, action, params? }`; the answer `{ id, ok, error? }` goes to `cmd/result`. */
  private onMessage(_topic: string, payload: Buffer): void {
    let cmd: { id?: unknown; action?: unknown; params?: unknown };
    try {
      cmd = JSON.parse(payload.toString('utf8'));
    } catch {
      return; // no id to answer to: a real device drops it too
    }
    if (typeof cmd?.id !== 'string') return;
    this.counters.commands++;
    const params = typeof cmd.params === 'object' && cmd.params !== null ? (cmd.params as Record<string, unknown>) : undefined;
    const result =
      typeof cmd.action === 'string'
        ? this.model.command(cmd.action, params, this.clock.now())
        : ({ ok: false, error: 'action: expected a string' } as const);
    this.publish('cmd/result', result.ok ? { id: cmd.id, ok: true } : { id: cmd.id, ok: false, error: result.error }, 1);
    // The next telemetry shows the new state at once, as a real controller reports a change.
    if (result.ok) this.report(Date.now());
  }

  private report(realNow: number): void {
    this.reportPending = false;
    this.lastReportAt = realNow;
    this.publish('telemetry', { ...this.model.telemetry(this.clock.now()), ts: realNow }, this.link.qos);
  }

  private publish(suffix: 'telemetry' | 'event' | 'cmd/result', body: object, qos: 0 | 1): void {
    const client = this.client;
    if (!client || this.dropped) return;
    const { site, kind, id } = this.model.spec;
    this.counters.published++;
    client.publish(this.link.topics.device(site, kind, id, suffix), JSON.stringify(body), { qos }, (err) => {
      if (err) this.counters.publishErrors++;
    });
  }
}
