import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { loadConfig } from '../../src/config/env.js';
import { Gateway } from '../../src/gateway.js';
import { createLogger, type Logger } from '../../src/log.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** An address nothing listens on: the gateway treats InfluxDB as down and spools. */
export const NO_INFLUX = 'http://127.0.0.1:9';

export interface TestGateway {
  gateway: Gateway;
  mqttPort: number;
  wsPort: number;
  httpPort: number;
  /** The TLS listeners' ports; 0 unless the test set TLS_CERT_FILE and TLS_KEY_FILE. */
  mqttsPort: number;
  wssPort: number;
  httpsPort: number;
  dataDir: string;
  mqttUrl: string;
  /** Calls the HTTP API with the admin token (or `token`); resolves with the status and parsed body. */
  api<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  /** Registers a device through the API; returns its MQTT credentials. */
  register(id: string, kind: string, site?: string, zone?: string): Promise<{ username: string; password: string }>;
  /** A real mqtt.js client with the given credentials, connected. */
  connect(creds?: { username: string; password: string }, opts?: IClientOptions): Promise<MqttClient>;
  stop(): Promise<void>;
}

/** Starts a whole gateway in this process on free loopback ports, with its own data dir (and logger, if given). */
export async function startGateway(env: Record<string, string> = {}, dataDir?: string, log?: Logger): Promise<TestGateway> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'gateway-')));
  const config = loadConfig({
    MQTT_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    // Listened on only when a test brings certificate files (TLS_CERT_FILE, TLS_KEY_FILE).
    MQTTS_PORT: '0',
    MQTT_WSS_PORT: '0',
    HTTPS_PORT: '0',
    DATA_DIR: dir,
    ADMIN_TOKEN,
    // No rules unless a test brings its own: the repository's rule pack would act on every test's traffic.
    RULES_DIR: join(dir, 'rules'),
    // Nor profiles: a test that needs them brings a folder.
    PROFILES_DIR: join(dir, 'profiles'),
    // Nor site files (channels to notify): the repository's folder holds only a sample.
    SITES_DIR: join(dir, 'sites'),
    INFLUX_URL: NO_INFLUX,
    INFLUX_FLUSH_INTERVAL: '20ms',
    INFLUX_RETRY_MAX: '1s',
    INFLUX_TIMEOUT: '5s',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    COMMAND_TIMEOUT: '2s',
    ...env,
  });
  const gateway = new Gateway(config, log ?? createLogger(config.logLevel));
  const started = await gateway.start();
  const base = `http://127.0.0.1:${started.httpPort}`;
  const clients: MqttClient[] = [];
  const t: TestGateway = {
    gateway,
    ...started,
    dataDir: dir,
    mqttUrl: `mqtt://127.0.0.1:${started.mqttPort}`,
    async api(method, path, body, token = ADMIN_TOKEN) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (e.g. /metrics): the text itself is the body.
      }
      return { status: res.status, body: parsed as any };
    },
    async register(id, kind, site = 'maple-court', zone = 'b1-f1') {
      const res = await t.api('POST', '/api/devices', { id, kind, site, zone });
      if (res.status !== 201) throw new Error(`register ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.mqtt;
    },
    async connect(creds, opts = {}) {
      const client = await connectMqtt(t.mqttUrl, { ...creds, ...opts });
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await gateway.stop();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Connects an mqtt.js client; rejects with the broker's refusal (e.g. "Not authorized"). */
export function connectMqtt(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/** Resolves with the next message on a topic matching `filter` (bounded wait). */
export function nextMessage(client: MqttClient, predicate: (topic: string, payload: Buffer) => boolean, timeoutMs = 5000) {
  return new Promise<{ topic: string; payload: Buffer; retain: boolean }>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no matching message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (topic: string, payload: Buffer, packet: { retain: boolean }) => {
      if (!predicate(topic, payload)) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve({ topic, payload, retain: packet.retain });
    };
    client.on('message', onMessage);
  });
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Subscribes and resolves with the granted QoS per filter, 128 for a refusal [MQTT-3.9.3]. */
export function subscribeGranted(client: MqttClient, filters: string[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    client.subscribe(filters, (err, granted) => {
      const fromError = (err as { packet?: { granted?: number[] } } | null)?.packet?.granted;
      if (fromError) return resolve(fromError.map((g) => (typeof g === 'number' ? g : 128)));
      if (err) return reject(err);
      resolve((granted ?? []).map((g) => g.qos));
    });
  });
}
