import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Client } from 'aedes';
import { LIFE_SAFETY_EVENTS } from '../devices/kinds/index.js';
import type { Metrics } from '../metrics.js';
import type { Principal } from './principal.js';

/**
 * The priority lane of the broker's read path (docs/architecture.md, "The priority lane").
 *
 * aedes 1.x reads a connection like this (lib/client.js, `nextBatch`): on `readable` it takes everything the
 * socket has buffered (`conn.read(null)`, up to 64 KB a libuv read, several reads a turn when the peer keeps
 * sending) and parses it in one synchronous call; every packet in it runs `authorizePublish`, so the gateway's
 * ingest, before the call returns. It reads again once every packet of the chunk has called back. With 1,000
 * busy connections one event-loop turn therefore does the ingest of everything that arrived on all of them,
 * and a fire detector's packet, its alarm and the alarm's delivery to an operator (aedes delivers in
 * `setImmediate`) each wait for such a turn.
 *
 * `FairReader` takes over that read path per connection:
 * - a connection that can carry a life-safety event (a device of a kind in LIFE_SAFETY_EVENTS), and any
 *   connection before its CONNECT is accepted, is read and parsed at once, as aedes would;
 * - every other connection is only marked as having data; its data is read in slices that run in
 *   `setImmediate`, round robin (connections whose last read was small first), at most `chunkBytes` per
 *   connection per visit, and a slice ends once it has taken `sliceMs`, so the loop gets back to I/O (and to
 *   the life-safety connections) every `sliceMs`;
 * - the PUBACK callbacks of a stored batch (`defer`) run in the same slices, not in one burst;
 * - a connection reads ahead while up to READ_AHEAD of its packets wait for their callback.
 * Packets of one connection keep their order; only connections are put in order.
 */

/** aedes' client internals this module reads and replaces (aedes 1.x, lib/client.js). */
interface ClientInternals {
  conn: {
    readableLength: number;
    read(size?: number): Buffer | null;
    on(event: 'readable', listener: () => void): unknown;
    removeListener(event: 'readable', listener: (...args: never[]) => void): unknown;
    listeners(event: 'readable'): unknown[];
  };
  _parser: { parse(buf: Buffer): unknown };
  _nextBatch: (err?: Error | null) => void;
  _parsingBatch: number;
  _paused?: boolean;
  closed: boolean;
  connected: boolean;
  emit(event: 'error', err: Error): boolean;
}

export interface FairReadOptions {
  /** The most bytes read from one telemetry connection per visit (a few dozen packets). */
  chunkBytes: number;
  /** How long one slice of telemetry reads runs before the event loop gets a turn. */
  sliceMs: number;
}

export const FAIR_READ_DEFAULTS: Readonly<FairReadOptions> = Object.freeze({ chunkBytes: 4096, sliceMs: 4 });

/**
 * Packets of a connection that may wait for their callback (a QoS 1 message for its storage) while the next are
 * read: the bound on what one connection holds in memory (aedes' own was one socket read, up to 64 KB).
 */
// 64 held a QoS 1 meter to 64 messages per storage round trip: PUBACK p99 7 s at 20,000 msg/s; 256 keeps up (performance.md).
export const READ_AHEAD = 256;

/** A telemetry connection whose last read took at most this is read before the backlogged ones. */
export const LIGHT_BYTES = 512;

/** The device kinds one of whose events is a life-safety event: fire, sos, lift. */
const LIFE_SAFETY_KINDS: ReadonlySet<string> = new Set(LIFE_SAFETY_EVENTS.map((e) => e.kind));

/**
 * Whether a connection may carry a life-safety event: a device of a life-safety kind. A bridge speaks for many
 * devices and is read with the telemetry (docs/architecture.md says why).
 */
export function lifeSafetyConnection(p: Principal | undefined): boolean {
  return p?.role === 'device' && LIFE_SAFETY_KINDS.has(p.device.kind);
}

/** Counters of the read path, for /metrics and the bench. */
export interface ReadStats {
  /** Reads of telemetry connections, and the packets they parsed. */
  reads: number;
  packets: number;
  /** Reads of life-safety (and not yet connected) connections, at once. */
  priorityReads: number;
  priorityPackets: number;
  /** Slices run; slices that ended on time with connections still waiting. */
  slices: number;
  slicesCut: number;
  /** Connections waiting for a slice now. */
  waiting: number;
  /** Callbacks (PUBACKs and the reads they allow) waiting for a slice now. */
  deferred: number;
}

/** Schedules the reads of every connection of one broker. */
export class FairReader {
  readonly stats: ReadStats = { reads: 0, packets: 0, priorityReads: 0, priorityPackets: 0, slices: 0, slicesCut: 0, waiting: 0, deferred: 0 };
  /** Callbacks run in the slices, in the order given (`defer`); `head` is the next to run. */
  private deferred: Array<(() => void) | undefined> = [];
  private head = 0;
  /**
   * Telemetry connections with data to read, in the order they are visited (a Set keeps insertion order): the
   * light ones (their last read was at most LIGHT_BYTES: a door controller, a meter that keeps up) before the
   * heavy ones, as fair queueing serves a sparse flow before a backlogged one.
   */
  private readonly light = new Set<ClientInternals>();
  private readonly queue = new Set<ClientInternals>();
  /** How many bytes each connection's last read took. */
  private readonly lastRead = new WeakMap<ClientInternals, number>();
  private scheduled = false;
  /** The connection being parsed: its packets may call back inside the parse; `read` decides after it. */
  private reading?: ClientInternals;
  /** Packets parsed by the current read. */
  private parsed = 0;
  private stopped = false;

  constructor(
    private readonly options: FairReadOptions,
    /** Whether a connection is read at once: a life-safety device's (`lifeSafetyConnection`). */
    private readonly priority: (client: Client) => boolean,
    /** Told when a deferred callback throws; the others still run. */
    private readonly failed: (failure: unknown) => void = () => undefined,
    /** Runs a slice later; `setImmediate` in the gateway, so that the loop polls I/O between slices. */
    private readonly later: (run: () => void) => void = (run) => void setImmediate(run),
  ) {}

  /**
   * Runs `run` in a slice, after the callbacks deferred before it. For the PUBACK callbacks of a stored batch:
   * thousands come due at once, and each lets aedes answer and read on, which together would hold the event loop
   * for hundreds of milliseconds in one go.
   */
  defer(run: () => void): void {
    if (this.stopped) return run();
    this.deferred.push(run);
    this.stats.deferred++;
    this.schedule();
  }

  /**
   * Takes over the reads of a connection aedes has just set up (`aedes.handle`). Answers false, leaving aedes'
   * own read path, when this aedes version's client has not the internals described above.
   */
  attach(client: Client): boolean {
    const c = client as unknown as Partial<ClientInternals>;
    const conn = c.conn;
    const original = c._nextBatch;
    if (
      typeof original !== 'function' ||
      typeof c._parser?.parse !== 'function' ||
      typeof c._parsingBatch !== 'number' ||
      typeof conn?.read !== 'function' ||
      typeof conn.readableLength !== 'number' ||
      !conn.listeners('readable').includes(original)
    ) {
      return false;
    }
    const internals = c as ClientInternals;
    conn.removeListener('readable', original);
    // aedes' nextBatch, except that the read is this scheduler's. `_parsingBatch` counts the packets parsed and
    // not yet handled: aedes raises it for each packet parsed and calls this when one is done (and once more when
    // a CONNECT resumes the client). aedes starts it at 1 and lowers it on every `readable` too; here `readable`
    // only asks for a read, so the count stays a count.
    internals._parsingBatch = 0;
    const next = (err?: Error | null) => {
      if (err) {
        internals.emit('error', err);
        return;
      }
      if (internals._paused) return;
      internals._parsingBatch = Math.max(0, internals._parsingBatch - 1);
      this.wantRead(internals);
    };
    internals._nextBatch = next;
    conn.on('readable', () => this.wantRead(internals));
    (internals._parser as unknown as { on(e: 'packet', l: () => void): void }).on('packet', () => this.parsed++);
    return true;
  }

  /**
   * Forgets the waiting connections (the broker is closing them) and runs the deferred callbacks; later reads and
   * callbacks happen at once, as aedes' own.
   */
  stop(): void {
    this.stopped = true;
    this.light.clear();
    this.queue.clear();
    this.stats.waiting = 0;
    this.runDeferred(Infinity);
  }

  /**
   * A connection has data, or one of its packets is done. A connected one reads ahead: up to READ_AHEAD of its
   * packets may wait for their callback (a QoS 1 message for its storage, a QoS 0 one for InfluxDB's
   * back-pressure) while the next are read, so that a detector's fire alarm is not held behind its own earlier
   * message's storage, and a meter's next readings not behind its last batch. Past that the connection waits:
   * the back-pressure. Packets are handled in the order they came either way.
   */
  private wantRead(c: ClientInternals): void {
    if (c.closed || c._paused || this.reading === c) return;
    // Before CONNECT is accepted, aedes keeps one packet at a time (it queues the others itself).
    if (c._parsingBatch >= (c.connected ? READ_AHEAD : 1)) return;
    if (this.stopped || !c.connected || this.priority(c as unknown as Client)) {
      this.light.delete(c);
      this.queue.delete(c);
      this.read(c, Infinity);
      return;
    }
    if (this.light.has(c) || this.queue.has(c)) return;
    ((this.lastRead.get(c) ?? 0) <= LIGHT_BYTES ? this.light : this.queue).add(c);
    this.stats.waiting = this.light.size + this.queue.size;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.later(this.slice);
  }

  /** Runs deferred callbacks until `end` (checked every 32 of them). */
  private runDeferred(end: number): void {
    while (this.head < this.deferred.length) {
      const run = this.deferred[this.head];
      this.deferred[this.head++] = undefined;
      this.stats.deferred--;
      try {
        run?.();
      } catch (failure) {
        this.failed(failure);
      }
      if ((this.head & 31) === 0 && performance.now() >= end) break;
    }
    if (this.head === this.deferred.length) {
      this.deferred = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.deferred.length) {
      this.deferred = this.deferred.slice(this.head);
      this.head = 0;
    }
  }

  /** Reads at most `max` bytes of a connection and parses them; aedes handles each packet as it is parsed. */
  private read(c: ClientInternals, max: number): void {
    if (c.closed) return;
    // read() takes everything buffered (and, with nothing buffered, answers null and re-arms `readable`); a
    // partial read leaves the rest for the next visit: no `readable` comes while data is buffered.
    const buf = c.conn.readableLength > max ? c.conn.read(max) : c.conn.read();
    if (!buf) return;
    const priority = max === Infinity;
    this.lastRead.set(c, buf.length);
    // A packet's handler could, in principle, make another connection read: keep each read's own count.
    const outer = { reading: this.reading, parsed: this.parsed };
    this.reading = c;
    this.parsed = 0;
    try {
      c._parser.parse(buf);
    } finally {
      if (priority) {
        this.stats.priorityReads++;
        this.stats.priorityPackets += this.parsed;
      } else {
        this.stats.reads++;
        this.stats.packets += this.parsed;
      }
      this.reading = outer.reading;
      this.parsed = outer.parsed;
    }
    // Read on if anything is left and every packet has called back (or the bytes held no whole packet).
    // Otherwise the last packet's callback asks (`next`).
    if (c.conn.readableLength > 0) this.wantRead(c);
  }

  /** One turn's share of the work: the callbacks that came due, then reads (at least one), until `sliceMs`. */
  private readonly slice = (): void => {
    this.scheduled = false;
    this.stats.slices++;
    const end = performance.now() + this.options.sliceMs;
    this.runDeferred(end);
    let read = false;
    for (const queue of [this.light, this.queue]) {
      for (const c of queue) {
        queue.delete(c);
        this.read(c, this.options.chunkBytes);
        read = true;
        if (performance.now() >= end) break;
      }
      if (read && performance.now() >= end) break;
    }
    this.stats.waiting = this.light.size + this.queue.size;
    if (this.stats.waiting > 0 || this.head < this.deferred.length) {
      this.stats.slicesCut++;
      this.schedule();
    }
  };
}

/**
 * The event loop's delay over the last complete window (`windowMs`), for /metrics: how long a ready timer or
 * socket waited for the loop. Sampled every 10 ms by perf_hooks.
 */
export class LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private last = { p50: 0, p99: 0, max: 0 };
  private timer?: NodeJS.Timeout;

  constructor(private readonly windowMs = 5_000) {}

  start(): void {
    this.histogram.enable();
    this.timer = setInterval(() => {
      const h = this.histogram;
      // Nanoseconds; the sampling interval itself (10 ms) is part of every sample.
      this.last = { p50: h.percentile(50) / 1e9, p99: h.percentile(99) / 1e9, max: h.max / 1e9 };
      h.reset();
    }, this.windowMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.histogram.disable();
  }

  /** Seconds, as Prometheus counts time. */
  quantiles(): Array<[{ quantile: string }, number]> {
    return [
      [{ quantile: '0.5' }, this.last.p50],
      [{ quantile: '0.99' }, this.last.p99],
      [{ quantile: '1' }, this.last.max],
    ];
  }
}

/** Registers the read path's figures on /metrics. */
export function readMetrics(metrics: Metrics, reader: FairReader | undefined, delay: LoopDelay): void {
  metrics.gauge('gateway_event_loop_delay_seconds', 'Event-loop delay over the last complete 5 s (quantile 1 = the largest)', () => delay.quantiles());
  if (!reader) return;
  const s = reader.stats;
  metrics.gauge('gateway_mqtt_reads', 'Socket reads parsed by the broker, telemetry connections in slices, life-safety ones at once (counter)', () => [
    [{ lane: 'telemetry' }, s.reads],
    [{ lane: 'life_safety' }, s.priorityReads],
  ]);
  metrics.gauge('gateway_mqtt_read_packets', 'Packets parsed from those reads (counter)', () => [
    [{ lane: 'telemetry' }, s.packets],
    [{ lane: 'life_safety' }, s.priorityPackets],
  ]);
  metrics.gauge('gateway_mqtt_read_slices', 'Slices of telemetry reads run, and those that ran out of time with connections waiting (counter)', () => [
    [{ ended: 'all_read' }, s.slices - s.slicesCut],
    [{ ended: 'time' }, s.slicesCut],
  ]);
  metrics.gauge('gateway_mqtt_read_waiting', 'Telemetry connections with data waiting for a slice', () => s.waiting);
  metrics.gauge('gateway_mqtt_read_deferred', 'PUBACK callbacks of stored messages waiting for a slice', () => s.deferred);
}
