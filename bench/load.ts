/**
 * Load generator for `npm run bench`: N MQTT connections publishing telemetry at a fixed total rate.
 * Packets are framed by hand and written straight to the sockets, so the generator spends little CPU
 * and the pipelines under test get the machine. Prints one JSON line with what it sent and what was acked.
 *
 *   node --import tsx bench/load.ts options.json   (a LoadOptions object)
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import mqttPacket from 'mqtt-packet';

export interface LoadDevice {
  id: string;
  topic: string;
  username?: string;
  password?: string;
}

export interface LoadOptions {
  port: number;
  devices: LoadDevice[];
  rate: number;
  seconds: number;
  qos: 0 | 1;
  /** First timestamp; each device's readings are 1 ms apart from there, so no two points collide. */
  baseTs: number;
  /**
   * Where each device's energy register starts (default 0). Steps of one run continue from the last one, so that
   * a register never goes back (the rule pack's `meter-register-back` would raise 1,000 alarms at each step).
   */
  energyFrom?: number;
  /**
   * `native` (the default): `{"powerKw":…,"energyKwh":…,"ts":…}`; `native-full`: the same four readings as
   * `vendor`, natively named, `{"voltageV":…,"currentA":…,"powerKw":…,"energyKwh":…,"ts":…}`; `vendor`: a vendor's
   * meter JSON for a device profile, `{"t":…,"d":{"v":…,"i":…,"p":…,"e":…}}` (bench/ingest.ts, pipeline `profile`).
   */
  payload?: 'native' | 'native-full' | 'vendor';
}

export interface LoadResult {
  sent: number;
  acked: number;
  seconds: number;
  achievedRate: number;
  /** PUBACK latency over a sample of the QoS 1 messages, in ms. */
  ackP50Ms?: number;
  ackP99Ms?: number;
  /** Bytes the sockets could not take at the end: the pipeline was pushing back. */
  backlogBytes: number;
  connectErrors: number;
  /** When the sending ended (ms since the epoch). */
  endedAt: number;
}

const TICK_MS = 10;

/** The line printed on stdout once every connection is up and the sending starts (before the result line). */
export const SENDING = 'sending';

interface Counters {
  acked: number;
  latencies: number[];
}

function publishPacket(topic: Buffer, payload: Buffer, qos: 0 | 1, messageId: number): Buffer {
  const remaining = 2 + topic.length + (qos ? 2 : 0) + payload.length;
  const lenBytes: number[] = [];
  let x = remaining;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    lenBytes.push(b);
  } while (x > 0);
  const buf = Buffer.allocUnsafe(1 + lenBytes.length + remaining);
  let o = 0;
  buf[o++] = qos ? 0x32 : 0x30; // [MQTT-3.3.1] PUBLISH, QoS in bits 1-2
  for (const b of lenBytes) buf[o++] = b;
  buf.writeUInt16BE(topic.length, o);
  o += 2;
  topic.copy(buf, o);
  o += topic.length;
  if (qos) {
    buf.writeUInt16BE(messageId, o);
    o += 2;
  }
  payload.copy(buf, o);
  return buf;
}

interface Conn {
  socket: Socket;
  topic: Buffer;
  seq: number;
  nextId: number;
  /** Send times of the sampled message ids awaiting their PUBACK. */
  sampled: Map<number, number>;
}

/** One QoS 1 message in this many has its PUBACK latency measured. */
const SAMPLE_EVERY = 64;

async function open(opts: LoadOptions, d: LoadDevice, counters: Counters): Promise<Conn> {
  const socket = connect(opts.port, '127.0.0.1');
  socket.setNoDelay(true);
  const conn: Conn = { socket, topic: Buffer.from(d.topic), seq: 0, nextId: 1, sampled: new Map() };
  const parser = mqttPacket.parser();
  await new Promise<void>((resolve, reject) => {
    parser.on('packet', (p) => {
      if (p.cmd === 'connack') {
        if (p.returnCode === 0) resolve();
        else reject(new Error(`connack ${p.returnCode} for ${d.id}`));
      } else if (p.cmd === 'puback') {
        counters.acked++;
        const sentAt = conn.sampled.get(p.messageId!);
        if (sentAt !== undefined) {
          counters.latencies.push(performance.now() - sentAt);
          conn.sampled.delete(p.messageId!);
        }
      }
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.once('error', reject);
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: d.id,
        keepalive: 120,
        username: d.username,
        password: d.password === undefined ? undefined : Buffer.from(d.password),
      }),
    );
  });
  return conn;
}

/** Runs the load and resolves with what was sent and acknowledged. */
export async function runLoad(opts: LoadOptions, onSending: () => void = () => undefined): Promise<LoadResult> {
  const counters: Counters = { acked: 0, latencies: [] };
  let connectErrors = 0;
  const conns: Conn[] = [];
  for (let i = 0; i < opts.devices.length; i += 100) {
    const batch = await Promise.allSettled(opts.devices.slice(i, i + 100).map((d) => open(opts, d, counters)));
    for (const r of batch) {
      if (r.status === 'fulfilled') conns.push(r.value);
      else connectErrors++;
    }
  }
  onSending();
  const start = Date.now();
  const end = start + opts.seconds * 1000;
  let sent = 0;
  let next = 0;
  const energyFrom = opts.energyFrom ?? 0;
  const payloadOf = (n: number, ts: number): string => {
    const seq = n + energyFrom;
    const v = (2250 + (seq % 100)) / 10;
    const i = (seq % 200) / 10;
    const p = (seq % 500) / 10;
    if (opts.payload === 'vendor') return `{"t":${ts},"d":{"v":${v},"i":${i},"p":${p},"e":${seq}}}`;
    if (opts.payload === 'native-full') return `{"voltageV":${v},"currentA":${i},"powerKw":${p},"energyKwh":${seq},"ts":${ts}}`;
    return `{"powerKw":${p},"energyKwh":${seq},"ts":${ts}}`;
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = Date.now();
      const due = Math.min(Math.floor(((now - start) / 1000) * opts.rate), opts.rate * opts.seconds);
      for (const c of conns) c.socket.cork();
      while (sent < due) {
        const c = conns[next];
        next = (next + 1) % conns.length;
        const ts = opts.baseTs + c.seq++;
        const payload = Buffer.from(payloadOf(c.seq, ts));
        if (opts.qos === 1 && (c.seq - 1) % SAMPLE_EVERY === 0) c.sampled.set(c.nextId, performance.now());
        c.socket.write(publishPacket(c.topic, payload, opts.qos, c.nextId));
        c.nextId = c.nextId === 65535 ? 1 : c.nextId + 1;
        sent++;
      }
      for (const c of conns) c.socket.uncork();
      if (now >= end) resolve();
      else setTimeout(tick, TICK_MS);
    };
    tick();
  });
  const endedAt = Date.now();
  const seconds = (endedAt - start) / 1000;
  const backlogBytes = conns.reduce((n, c) => n + c.socket.writableLength, 0);
  // Give QoS 1 acknowledgements a moment to arrive, bounded.
  const ackDeadline = Date.now() + 15_000;
  while (opts.qos === 1 && counters.acked < sent && Date.now() < ackDeadline) await new Promise((r) => setTimeout(r, 100));
  for (const c of conns) c.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  const sorted = counters.latencies.sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]) : undefined);
  return {
    sent,
    acked: counters.acked,
    seconds,
    achievedRate: sent / seconds,
    ackP50Ms: pct(0.5),
    ackP99Ms: pct(0.99),
    backlogBytes,
    connectErrors,
    endedAt,
  };
}

// Run as a program (not imported for SENDING): the options file is the argument.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const result = await runLoad(JSON.parse(readFileSync(process.argv[2], 'utf8')) as LoadOptions, () => process.stdout.write(`${SENDING}\n`));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
