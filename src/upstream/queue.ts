/**
 * The upstream link's store-and-forward queue (issue 6), on the shared disk queue (`shared/disk-queue.ts`): bounded,
 * ordered, segmented files under `DATA_DIR/upstream/`, appended in groups that share one fsync. Two spools,
 * one per class (alarms, work orders and command results in `events/`, telemetry summaries in
 * `summaries/`), read back merged in the order the messages were queued. When the bound is hit, whole oldest
 * segments of summaries go first and events only when no summary segment is left to drop.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DiskQueue } from '../shared/disk-queue.js';
import { syncDir, writeSynced } from '../shared/durable-file.js';
import { Lane, MESSAGE_CLASSES, type MessageClass, type QueueEntry } from './lane.js';

export { MESSAGE_CLASSES, type MessageClass, type QueueEntry } from './lane.js';

/** Bytes read from a spool at a time: also what a restart may send twice per class (at-least-once). */
const CHUNK_BYTES = 32 * 1024;
const COUNTERS_FILE = 'counters.json';
/** JSON lines; before issue 13 the segments were named `.lp` like the InfluxDB spool's, and are still read. */
const SEGMENT_SUFFIX = '.jsonl';
const OLDER_SUFFIXES = ['.lp'];

export interface UpstreamQueueOptions {
  /** `DATA_DIR/upstream`. */
  dir: string;
  /** Bound on the bytes queued in both spools together. */
  maxBytes: number;
  log: Logger;
  /** Told how many messages of a class were dropped, and why. */
  dropped(cls: MessageClass, reason: 'bound' | 'corrupt', count: number): void;
  /** Told when newly queued messages are on disk and may be sent. */
  appended(): void;
  /** Epoch ms; the wall clock unless a test gives another. */
  now?: () => number;
}

/**
 * `n` orders the whole queue; `seq` counts each site's messages (what headquarters sees). Both start at the
 * epoch milliseconds when they begin, so a box whose queue was lost or replaced never reuses a number it
 * may have sent before (a reused seq would be dropped at headquarters as a duplicate).
 */
interface Counters {
  n: number;
  seq: Record<string, number>;
}

interface Pending {
  n: number;
  seq: number;
  cls: MessageClass;
  line: string;
  resolve(seq: number): void;
  reject(err: unknown): void;
}

export class UpstreamQueueClosedError extends Error {
  constructor() {
    super('the upstream queue is closed');
    this.name = 'UpstreamQueueClosedError';
  }
}

export class UpstreamQueue {
  private readonly lanes: Record<MessageClass, Lane>;
  private counters: Counters = { n: 0, seq: {} };
  private pending: Pending[] = [];
  private flushing?: Promise<void>;
  /** Every message up to this `n` is on disk (or failed to get there): the sender may hand it out. */
  private durable = 0;
  private closed = false;
  private warnedHigh = false;

  constructor(private readonly options: UpstreamQueueOptions) {
    const { dir, maxBytes, log } = options;
    // Small segments, so the newest segment (which a spool never drops) holds little of the bound.
    const segmentBytes = Math.min(16 * 1024 * 1024, Math.max(4096, Math.floor(maxBytes / 16)));
    const lane = (cls: MessageClass, sub: string) =>
      new Lane(
        cls,
        new DiskQueue({
          dir: join(dir, sub),
          suffix: SEGMENT_SUFFIX,
          olderSuffixes: OLDER_SUFFIXES,
          // The bound is this queue's to keep, over both spools (summaries first): a spool's own is only a backstop.
          maxBytes: 2 * maxBytes,
          segmentBytes,
          log: log.child({ queue: sub }),
          name: 'upstream spool',
          unit: 'messages',
          // No metrics of its own: this queue counts what it drops (`dropped`) and reports its own gauges.
        }),
        CHUNK_BYTES,
        log,
        (count) => options.dropped(cls, 'corrupt', count),
      );
    this.lanes = { event: lane('event', 'events'), summary: lane('summary', 'summaries') };
  }

  /** Messages queued and not yet acknowledged by the central broker. */
  get pendingMessages(): number {
    return MESSAGE_CLASSES.reduce((sum, c) => sum + this.lanes[c].spool.pendingRecords, 0);
  }

  get pendingBytes(): number {
    return MESSAGE_CLASSES.reduce((sum, c) => sum + this.lanes[c].spool.pendingBytes, 0);
  }

  /** Opens both spools (recovering what a stop or crash left) and the counters. */
  async open(): Promise<void> {
    for (const c of MESSAGE_CLASSES) await this.lanes[c].spool.open();
    this.counters = await this.readCounters();
    this.durable = this.counters.n;
    this.options.log.info({ messages: this.pendingMessages, bytes: this.pendingBytes }, 'upstream queue opened');
  }

  /**
   * Queues `payload` (a JSON object; `seq` is put first) for `topic`, with the next seq of `site`.
   * Resolves with the seq once it is on disk.
   */
  enqueue(cls: MessageClass, site: string, topic: string, payload: Record<string, unknown>): Promise<number> {
    if (this.closed) return Promise.reject(new UpstreamQueueClosedError());
    const now = (this.options.now ?? Date.now)();
    const seq = Math.max((this.counters.seq[site] ?? 0) + 1, this.counters.seq[site] === undefined ? now : 0);
    this.counters.seq[site] = seq;
    const n = Math.max(this.counters.n + 1, this.counters.n === 0 ? now : 0);
    this.counters.n = n;
    const line = `${JSON.stringify({ n, topic, payload: { seq, ...payload } })}\n`;
    return new Promise((resolve, reject) => {
      this.pending.push({ n, seq, cls, line, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** The next message to publish, in queue order across both classes; undefined when none may go yet. */
  async take(): Promise<QueueEntry | undefined> {
    // Read before looking at the lanes: every message up to it is visible in its lane's spool by now.
    const durable = this.durable;
    let best: { lane: Lane; entry: QueueEntry } | undefined;
    for (const c of MESSAGE_CLASSES) {
      const lane = this.lanes[c];
      const head = await lane.head();
      // An earlier message may wait behind a blocked lane's chunk: wait for the chunk's acknowledgements.
      if (head === 'blocked') return undefined;
      if (head && (!best || head.n < best.entry.n)) best = { lane, entry: head };
    }
    if (!best || best.entry.n > durable) return undefined;
    best.lane.advance();
    return best.entry;
  }

  /** The central broker acknowledged `entry`: it is removed from disk with the rest of its chunk. */
  ack(entry: QueueEntry): void {
    this.lanes[entry.cls].ack(entry);
  }

  /** After a reconnect: hand out again from the first message not acknowledged. */
  rewind(): void {
    for (const c of MESSAGE_CLASSES) this.lanes[c].rewind();
  }

  /** Waits for the appends under way and closes both spools; idempotent. What was not acknowledged stays on disk. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    for (const c of MESSAGE_CLASSES) await this.lanes[c].spool.close();
  }

  /** Group commit: the counters, then each class's lines, for everything queued while the last group was written. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const group = this.pending;
      this.pending = [];
      try {
        // Before the lines: a seq on disk must never be handed out again after a restart.
        await this.writeCounters(JSON.stringify(this.counters));
        await Promise.all(MESSAGE_CLASSES.map((c) => this.appendClass(c, group.filter((p) => p.cls === c))));
      } catch (err) {
        for (const p of group) p.reject(err);
      }
      this.durable = Math.max(this.durable, group.at(-1)?.n ?? 0);
      await this.enforceBound().catch((err: unknown) => this.options.log.error({ err }, 'upstream queue bound not enforced'));
      this.options.appended();
    }
    this.flushing = undefined;
  }

  private async appendClass(cls: MessageClass, items: Pending[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.lanes[cls].spool.append(items.map((p) => p.line).join(''), items.length);
      for (const p of items) p.resolve(p.seq);
    } catch (err) {
      for (const p of items) p.reject(err);
    }
  }

  /** Drops whole oldest segments, summaries first, while both spools together hold more than the bound. */
  private async enforceBound(): Promise<void> {
    const { maxBytes } = this.options;
    const dropped: Record<MessageClass, number> = { event: 0, summary: 0 };
    drop: while (this.pendingBytes > maxBytes) {
      for (const c of ['summary', 'event'] as const) {
        // A spool never drops its newest segment: undefined means this class has nothing more to give.
        const d = await this.lanes[c].spool.dropOldest();
        if (d) {
          dropped[c] += d.records;
          continue drop;
        }
      }
      break;
    }
    for (const c of MESSAGE_CLASSES) if (dropped[c] > 0) this.options.dropped(c, 'bound', dropped[c]);
    if (dropped.event + dropped.summary > 0) {
      this.options.log.warn({ summaries: dropped.summary, events: dropped.event, maxBytes }, 'upstream queue full, oldest messages dropped');
    }
    const bytes = this.pendingBytes;
    if (!this.warnedHigh && bytes > 0.8 * maxBytes) {
      this.warnedHigh = true;
      this.options.log.warn({ bytes, maxBytes, messages: this.pendingMessages }, 'upstream queue above 80% of its bound');
    } else if (this.warnedHigh && bytes < 0.5 * maxBytes) {
      this.warnedHigh = false;
    }
  }

  private async readCounters(): Promise<Counters> {
    const file = join(this.options.dir, COUNTERS_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { n: 0, seq: {} };
      throw err;
    }
    try {
      const c = JSON.parse(text) as Counters;
      if (Number.isSafeInteger(c.n) && c.seq && typeof c.seq === 'object') return c;
    } catch {
      // Falls through: counters restart from the clock, which is above every number used before.
    }
    this.options.log.error({ file, text: text.slice(0, 100) }, 'upstream counters unreadable, seq restarts from the clock');
    return { n: 0, seq: {} };
  }

  /** Write, fsync, rename, fsync the directory: the counters survive a crash once this resolves. */
  private async writeCounters(text: string): Promise<void> {
    await writeSynced(join(this.options.dir, COUNTERS_FILE), text);
    await syncDir(this.options.dir);
  }
}
