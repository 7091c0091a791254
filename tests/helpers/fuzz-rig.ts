import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { startInflux, type InfluxServer } from './influx.js';
import { spawnGateway, type GatewayProcess } from './process.js';

export const FUZZ_ADMIN_TOKEN = 'fuzz-admin-token-0123456789abcdef';
export const FUZZ_SITE = 'fuzz-court';

/** An integer from the environment, or `fallback`: the fuzz runs' seed and sizes. */
function envInteger(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer`);
  return value;
}

/** The seed: fixed by default so every run in CI is the same one, set from FUZZ_SEED to explore or reproduce. */
export const fuzzSeed = (): number => envInteger('FUZZ_SEED', 4242);

/** How many: FUZZ_RUNS payloads, FUZZ_PACKETS malformed packets, or the small default of `npm test`. */
export const fuzzSize = (name: 'FUZZ_RUNS' | 'FUZZ_PACKETS', fallback: number): number => Math.max(1, envInteger(name, fallback));

/** A gateway child process (LOG_LEVEL=info, output kept) writing to its own influxd, driven over HTTP and MQTT. */
export interface FuzzRig {
  influx: InfluxServer;
  gw: GatewayProcess;
  db: string;
  mqttUrl: string;
  /** Calls the HTTP API with the admin token; the body is parsed JSON, or the text when it is not JSON. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Registers a device on FUZZ_SITE; resolves with its MQTT credentials. */
  register(id: string, kind: string, zone?: string): Promise<{ username: string; password: string }>;
  /** An operator of FUZZ_SITE; resolves with its MQTT credentials. */
  operator(name: string): Promise<{ username: string; password: string }>;
  /** GET /metrics, summed by metric name over every label set (`name{labels}` → `name`). */
  metrics(): Promise<Record<string, number>>;
  /**
   * `process_resident_memory_bytes` once the gateway's garbage is collected (through its inspector), the lowest
   * of `samples` scrapes `everyMs` apart: what it still holds, not what it has not collected yet.
   */
  rss(samples?: number, everyMs?: number): Promise<number>;
  /** True while the child has not exited. */
  alive(): boolean;
  /** Rejects once the child exits, with the end of its output: race it against waits on the gateway. */
  exited: Promise<never>;
  /** Every row of a measurement, as InfluxQL returns them (time in ms). */
  rows(measurement: string): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/**
 * Starts influxd and the gateway as `npm start` would run it, on free loopback ports and a temporary data dir;
 * `inspector` opens the gateway's inspector on a free loopback port, for rss() to collect garbage through.
 */
export async function startFuzzRig(db: string, env: Record<string, string> = {}, inspector = false): Promise<FuzzRig> {
  const influx = await startInflux();
  const dataDir = await mkdtemp(join(tmpdir(), 'gateway-fuzz-'));
  // An empty rules dir: the repository's rule pack would raise alarms on the fuzz devices' traffic.
  await mkdir(join(dataDir, 'rules'));
  let gw: GatewayProcess;
  try {
    gw = await spawnGateway({
      DATA_DIR: dataDir,
      RULES_DIR: join(dataDir, 'rules'),
      ADMIN_TOKEN: FUZZ_ADMIN_TOKEN,
      INFLUX_URL: influx.url,
      INFLUX_DB: db,
      INFLUX_FLUSH_INTERVAL: '10ms',
      // A spooled batch is tried again within 2 s, so a run waits seconds, not the default 30 s, for the replay.
      INFLUX_RETRY_MAX: '2s',
      LOG_LEVEL: 'info',
      // One device sends thousands of messages a second: the per-device quota would refuse them (its own tests: quota.test.ts).
      DEVICE_MAX_RATE: '0',
      // The oracle reads an ISO `ts` without offset in the test's zone; the gateway must read it in the same one.
      TZ: Intl.DateTimeFormat().resolvedOptions().timeZone,
      ...(inspector && { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:0`.trim() }),
      ...env,
    });
  } catch (err) {
    await influx.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const base = `http://127.0.0.1:${gw.httpPort}`;
  const exited = new Promise<never>((_, reject) => {
    const gone = () => reject(new Error(`the gateway exited (${gw.child.exitCode ?? gw.child.signalCode}):\n${gw.output().slice(-3000)}`));
    if (gw.child.exitCode !== null || gw.child.signalCode !== null) gone();
    else gw.child.once('exit', gone);
  });
  exited.catch(() => undefined); // observed by whoever races it
  const api: FuzzRig['api'] = async (method, path, body) => {
    const headers: Record<string, string> = { authorization: `Bearer ${FUZZ_ADMIN_TOKEN}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    try {
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      // Not JSON (/metrics): the text itself is the body.
      return { status: res.status, body: text };
    }
  };
  const metrics = async () => parseMetrics(String((await api('GET', '/metrics')).body));
  return {
    influx,
    gw,
    db,
    mqttUrl: `mqtt://127.0.0.1:${gw.mqttPort}`,
    api,
    async register(id, kind, zone = 'fuzz-zone') {
      const res = await api('POST', '/api/devices', { id, kind, site: FUZZ_SITE, zone });
      if (res.status !== 201) throw new Error(`register ${id}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.mqtt;
    },
    async operator(name) {
      const res = await api('POST', '/api/operators', { name, sites: [FUZZ_SITE] });
      if (res.status !== 201) throw new Error(`operator ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.mqtt;
    },
    metrics,
    async rss(samples = 5, everyMs = 400) {
      await collectGarbage(gw.output());
      let low = Number.POSITIVE_INFINITY;
      for (let i = 0; i < samples; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, everyMs));
        low = Math.min(low, (await metrics()).process_resident_memory_bytes ?? Number.NaN);
      }
      return low;
    },
    alive: () => gw.child.exitCode === null && gw.child.signalCode === null,
    exited,
    rows: (measurement) => influx.query(`SELECT * FROM "${measurement}"`, db),
    async stop() {
      if (gw.child.exitCode === null && gw.child.signalCode === null) await gw.kill();
      await influx.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A device that publishes a QoS 1 reading every 10 ms until stopped; each has its own `ts`, one ms apart. */
export interface GoodDevice {
  /** The first reading's `ts`; the i-th reading's is `base + i`. */
  base: number;
  /** Stops after the reading in flight; resolves with how many were acknowledged (rejects if one was not). */
  stop(): Promise<number>;
}

/** Starts a good device's readings: `reading(i)` is the i-th body, without `ts`. */
export function keepPublishing(
  rig: Pick<FuzzRig, 'exited'>,
  client: MqttClient,
  topic: string,
  reading: (i: number) => Record<string, unknown>,
): GoodDevice {
  const base = Date.now() - 86_400_000;
  let sent = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const body = JSON.stringify({ ...reading(sent), ts: base + sent });
      await answered(rig, client.publishAsync(topic, body, { qos: 1 }), `PUBACK on ${topic}`);
      sent++;
      await new Promise((r) => setTimeout(r, 10));
    }
    return sent;
  })();
  loop.catch(() => undefined); // reported by stop()
  return {
    base,
    stop: () => ((running = false), loop),
  };
}

/** `promise`, unless the gateway exits first or `ms` pass: a wait on the gateway that cannot hang the test. */
export function answered<T>(rig: Pick<FuzzRig, 'exited'>, promise: Promise<T>, what: string, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, rig.exited, timeout]).finally(() => clearTimeout(timer));
}

/** Two full collections in the process whose inspector announced itself in `output` ("Debugger listening on ws://…"). */
async function collectGarbage(output: string): Promise<void> {
  const url = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  if (!url) throw new Error('the gateway has no inspector to collect garbage through');
  const ws = new WebSocket(url);
  try {
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let id = 0;
    const call = (method: string) =>
      new Promise<void>((resolve, reject) => {
        const mine = ++id;
        const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), 10_000);
        ws.on('message', (data) => {
          if ((JSON.parse(String(data)) as { id?: number }).id !== mine) return;
          clearTimeout(timer);
          resolve();
        });
        ws.send(JSON.stringify({ id: mine, method }));
      });
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
  } finally {
    ws.close();
  }
}

/** Prometheus text → value per metric name, summed over label sets. */
export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(\{.*\})?\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = (out[m[1]] ?? 0) + Number(m[3]);
  }
  return out;
}

/** Newline-terminated lines in `text`. */
export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
