import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Labels, Metrics } from '../metrics.js';
import { countLines, listSegments, NEWLINE, readBytes, readCursor, scanSegment, segmentName, writeCursor, type Cursor } from './disk-queue-files.js';
import { syncDir } from './durable-file.js';

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** A metric's name and help text, as its user names it. */
export interface MetricName {
  name: string;
  help: string;
}

/** The metrics a queue registers at open(): records dropped by the bound (counter), records and bytes waiting (gauges). */
export interface DiskQueueMetrics {
  registry: Metrics;
  dropped: MetricName;
  records: MetricName;
  bytes: MetricName;
}

export interface DiskQueueOptions {
  dir: string;
  /** The suffix of the segment files it writes, e.g. `.lp` (InfluxDB spool) or `.jsonl` (upstream queue). */
  suffix: string;
  /** Suffixes that segments written here by an earlier version carry: read back in order, never written to. */
  olderSuffixes?: readonly string[];
  /** Bound on pending bytes; beyond it whole oldest segments are dropped and counted. */
  maxBytes: number;
  segmentBytes?: number;
  /** The user's child logger. */
  log: Logger;
  /** How its log lines name it and what it holds: `spool` and `points` → `spool full, oldest points dropped`. */
  name: string;
  unit: string;
  /** Registered under the user's names; a user that counts for itself (the upstream queue) gives none. */
  metrics?: DiskQueueMetrics;
}

/** A run of complete lines from the cursor; `commit()` moves the cursor past it. */
export interface DiskQueueChunk {
  text: string;
  records: number;
  commit(): Promise<void>;
}

/** One segment file; `size` counts only synced bytes, `records` only lines not yet read and committed. */
interface Segment {
  seq: number;
  name: string;
  size: number;
  records: number;
}

interface QueuedAppend {
  text: string;
  records: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The chunk handed out by read(); `dropped` when the bound deleted its segment before commit. */
interface InFlight {
  seq: number;
  end: number;
  records: number;
  dropped: boolean;
}

/**
 * A bounded, durable, ordered queue of newline-framed records on disk (contract §7): append-only segments, a
 * cursor file saying how far reading got, group commit so many appends share one fdatasync, torn tails cut at
 * open. Invariant: `segments[0]` is the cursor's segment, and the last segment is the newest (the head).
 */
export class DiskQueue {
  private readonly log: Logger;
  private segments: Segment[] = [];
  private cursor: Cursor = { segment: 1, offset: 0 };
  private nextSeq = 1;
  private head?: { seq: number; fh: FileHandle };
  private queue: QueuedAppend[] = [];
  private flushing?: Promise<void>;
  private inFlight?: InFlight;
  private closing?: Promise<void>;
  private dropped = 0;
  private warnedHigh = false;
  private countDropped: (labels?: Labels, by?: number) => void = () => undefined;

  constructor(private readonly options: DiskQueueOptions) {
    this.log = options.log;
  }

  get pendingRecords(): number {
    return this.segments.reduce((sum, s) => sum + s.records, 0);
  }

  get pendingBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0) - (this.segments.length > 0 ? this.cursor.offset : 0);
  }

  /** Records the bound has dropped since open(). */
  get droppedRecords(): number {
    return this.dropped;
  }

  /** The newest segment is never dropped, so segments must stay well below the bound for it to hold: a quarter of it at most. */
  private get segmentLimit(): number {
    return Math.min(this.options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, Math.max(4096, Math.floor(this.options.maxBytes / 4)));
  }

  /** Creates the dir and recovers: torn tails truncated, read segments deleted, pending counted. */
  async open(): Promise<void> {
    const { dir, name, unit, suffix, olderSuffixes = [] } = this.options;
    await mkdir(dir, { recursive: true });
    const { cursor: saved, invalid } = await readCursor(dir);
    if (invalid !== undefined) this.log.warn({ cursor: invalid }, `${name} cursor unreadable, replaying from the oldest segment`);
    const files = await listSegments(dir, [suffix, ...olderSuffixes]);
    for (const file of files) {
      if (saved && file.seq < saved.segment) {
        await unlink(join(dir, file.name)); // fully read; a crash came between cursor write and unlink
        continue;
      }
      const { size, lines, tornBytes } = await scanSegment(join(dir, file.name), saved?.segment === file.seq ? saved.offset : 0);
      if (tornBytes > 0) this.log.warn({ segment: file.seq, bytes: tornBytes }, `${name} torn tail truncated`);
      this.segments.push({ ...file, size, records: lines });
    }
    this.nextSeq = (files.at(-1)?.seq ?? saved?.segment ?? 0) + 1;
    const first = this.segments[0];
    const resumes = first !== undefined && saved?.segment === first.seq;
    this.cursor = { segment: first?.seq ?? this.nextSeq, offset: resumes ? Math.min(saved.offset, first.size) : 0 };
    this.registerMetrics();
    this.log.info({ [unit]: this.pendingRecords, bytes: this.pendingBytes, segments: this.segments.length }, `${name} opened`);
  }

  /** Appends whole lines (each ending in `\n`); resolves once they are synced to disk. */
  append(text: string, records: number): Promise<void> {
    if (this.closing) return Promise.reject(new Error(`${this.options.name} is closed`));
    // The queue is newline-framed: a text not ending in one would glue onto the next append's first line.
    if (!text.endsWith('\n')) return Promise.reject(new Error(`${this.options.name} append must be whole lines ending in \\n`));
    return new Promise((resolve, reject) => {
      this.queue.push({ text, records, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** The next complete lines after the cursor (synced data only, one segment at a time), or null. */
  async read(maxBytes: number): Promise<DiskQueueChunk | null> {
    this.settleAbandoned();
    for (;;) {
      await this.skipFinished();
      const seg = this.segments[0];
      if (!seg || this.cursor.offset >= seg.size) return null;
      const chunk = await this.readFrom(seg, this.cursor.offset, maxBytes);
      if (chunk) return chunk;
    }
  }

  /** Waits for in-flight appends and closes the head segment; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.flushing) await this.flushing;
      this.settleAbandoned();
      await this.head?.fh.close();
      this.head = undefined;
    })();
    return this.closing;
  }

  /**
   * Drops the oldest segment (never the newest, which may still grow) and counts what it held: for a caller
   * that bounds several queues together (the upstream queue drops summaries before alarms). Resolves with
   * the records and bytes dropped, or undefined when only the newest segment is left.
   */
  async dropOldest(): Promise<{ records: number; bytes: number } | undefined> {
    if (this.segments.length <= 1) return undefined;
    const dropped = await this.dropOldestSegment();
    this.countDrop(dropped.records);
    return dropped;
  }

  private registerMetrics(): void {
    const m = this.options.metrics;
    if (!m) return;
    this.countDropped = m.registry.counter(m.dropped.name, m.dropped.help);
    m.registry.gauge(m.records.name, m.records.help, () => this.pendingRecords);
    m.registry.gauge(m.bytes.name, m.bytes.help, () => this.pendingBytes);
  }

  private countDrop(records: number): void {
    this.dropped += records;
    this.countDropped(undefined, records);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.writeGroup(group.map((a) => a.text).join(''), group.reduce((n, a) => n + a.records, 0));
        for (const a of group) a.resolve();
      } catch (err) {
        for (const a of group) a.reject(err);
      }
    }
    this.flushing = undefined;
  }

  /** One write + fdatasync for every append that queued up while the previous one ran (group commit). */
  private async writeGroup(text: string, records: number): Promise<void> {
    const data = Buffer.from(text);
    const head = this.head ?? (await this.createHead());
    const seg = this.segments.at(-1) as Segment;
    try {
      for (let done = 0; done < data.length; ) done += (await head.fh.write(data, done, data.length - done)).bytesWritten;
      await head.fh.datasync();
    } catch (err) {
      // Cut a partial write back off so the segment stays whole lines, then continue in a fresh segment.
      await head.fh.truncate(seg.size).catch((e: unknown) => this.log.error({ err: e }, `${this.options.name} truncate failed`));
      await this.closeHead();
      throw new Error(`${this.options.name} append to ${this.path(seg)} failed`, { cause: err });
    }
    seg.size += data.length;
    seg.records += records;
    if (seg.size >= this.segmentLimit) await this.closeHead();
    await this.enforceBound();
  }

  private async createHead(): Promise<{ seq: number; fh: FileHandle }> {
    const seq = this.nextSeq++;
    const seg: Segment = { seq, name: segmentName(seq, this.options.suffix), size: 0, records: 0 };
    const fh = await open(this.path(seg), 'a');
    this.segments.push(seg);
    if (this.segments.length === 1) this.cursor = { segment: seq, offset: 0 };
    await syncDir(this.options.dir); // else a crash could lose the entry of a synced segment
    this.head = { seq, fh };
    return this.head;
  }

  private async closeHead(): Promise<void> {
    const head = this.head;
    this.head = undefined;
    await head?.fh.close();
  }

  /** Drops whole oldest segments (never the newest) while pending bytes exceed the bound. */
  private async enforceBound(): Promise<void> {
    const { maxBytes, name, unit } = this.options;
    let records = 0;
    let bytes = 0;
    while (this.pendingBytes > maxBytes && this.segments.length > 1) {
      const dropped = await this.dropOldestSegment();
      records += dropped.records;
      bytes += dropped.bytes;
    }
    if (bytes > 0) {
      this.countDrop(records);
      const droppedKey = `dropped${unit.charAt(0).toUpperCase()}${unit.slice(1)}`;
      this.log.warn({ [droppedKey]: records, droppedBytes: bytes, maxBytes }, `${name} full, oldest ${unit} dropped`);
    }
    this.checkHighWater();
  }

  /** Deletes the oldest segment; the records of a chunk being read from it are not counted (see below). */
  private async dropOldestSegment(): Promise<{ records: number; bytes: number }> {
    const oldest = this.segments.shift() as Segment;
    const bytes = oldest.size - this.cursor.offset;
    let records = oldest.records;
    if (this.inFlight?.seq === oldest.seq) {
      // Those lines are being handled right now; they count as dropped only if that is abandoned.
      this.inFlight.dropped = true;
      records -= this.inFlight.records;
    }
    this.cursor = { segment: this.segments[0].seq, offset: 0 };
    await unlink(this.path(oldest)).catch((err: unknown) => this.log.error({ err }, `${this.options.name} segment delete failed`));
    return { records, bytes };
  }

  private checkHighWater(): void {
    const { maxBytes, name, unit } = this.options;
    const bytes = this.pendingBytes;
    if (!this.warnedHigh && bytes > 0.8 * maxBytes) {
      this.warnedHigh = true;
      this.log.warn({ bytes, maxBytes, [unit]: this.pendingRecords }, `${name} above 80% of its bound`);
    } else if (this.warnedHigh && bytes < 0.5 * maxBytes) {
      this.warnedHigh = false;
    }
  }

  private async readFrom(seg: Segment, start: number, maxBytes: number): Promise<DiskQueueChunk | null> {
    const flight: InFlight = { seq: seg.seq, end: start, records: 0, dropped: false };
    this.inFlight = flight;
    let length = Math.min(seg.size - start, maxBytes);
    let buf = await readBytes(this.path(seg), start, length);
    if (buf && buf.lastIndexOf(NEWLINE) === -1) {
      // A single line longer than maxBytes: take it whole rather than stall.
      length = seg.size - start;
      buf = await readBytes(this.path(seg), start, length);
    }
    if (!buf || flight.dropped) {
      this.inFlight = undefined; // the bound deleted this segment meanwhile; its records are counted
      return null;
    }
    const cut = buf.lastIndexOf(NEWLINE) + 1;
    if (cut === 0) throw new Error(`${this.options.name} segment ${this.path(seg)} has no line end after offset ${start}`);
    flight.end = start + cut;
    flight.records = countLines(buf, cut);
    return { text: buf.toString('utf8', 0, cut), records: flight.records, commit: () => this.commit(flight) };
  }

  private async commit(flight: InFlight): Promise<void> {
    if (this.inFlight !== flight) throw new Error(`${this.options.name} chunk committed twice or after a newer read`);
    this.inFlight = undefined;
    if (flight.dropped) return; // its segment is gone and the cursor already moved past it
    this.cursor = { segment: flight.seq, offset: flight.end };
    this.segments[0].records -= flight.records;
    await writeCursor(this.options.dir, this.cursor);
    await this.skipFinished();
    this.checkHighWater();
  }

  /** Deletes segments read to the end, except the newest, which may still grow. */
  private async skipFinished(): Promise<void> {
    while (this.segments.length > 1 && this.cursor.offset >= this.segments[0].size) {
      const done = this.segments.shift() as Segment;
      this.cursor = { segment: this.segments[0].seq, offset: 0 };
      await unlink(this.path(done));
    }
  }

  /** A chunk read but never committed whose segment the bound deleted: its records are lost now. */
  private settleAbandoned(): void {
    const flight = this.inFlight;
    this.inFlight = undefined;
    if (!flight?.dropped || flight.records === 0) return;
    this.countDrop(flight.records);
  }

  private path(seg: Segment): string {
    return join(this.options.dir, seg.name);
  }
}
