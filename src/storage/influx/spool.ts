import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import type { Labels, Metrics } from '../../metrics.js';
import {
  countLines,
  listSegments,
  NEWLINE,
  readBytes,
  readCursor,
  scanSegment,
  segmentPath,
  syncDir,
  writeCursor,
  type Cursor,
} from './spool-files.js';

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface SpoolOptions {
  dir: string;
  /** Bound on pending bytes; beyond it whole oldest segments are dropped and counted. */
  maxBytes: number;
  segmentBytes?: number;
  /** The module's child logger, as the composition root hands it out. */
  log: Logger;
  metrics: Metrics;
}

/** A run of complete lines from the cursor; `commit()` moves the cursor past it. */
export interface SpoolChunk {
  text: string;
  points: number;
  commit(): Promise<void>;
}

/** One `NNNNNNNNNN.lp` file; `size` counts only synced bytes, `points` only lines not yet replayed. */
interface Segment {
  seq: number;
  size: number;
  points: number;
}

interface QueuedAppend {
  text: string;
  points: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The chunk handed out by read(); `dropped` when the bound deleted its segment before commit. */
interface InFlight {
  seq: number;
  end: number;
  points: number;
  dropped: boolean;
}

/**
 * A bounded, durable, ordered spool of line protocol on disk (contract §7): append-only segments framed by
 * newlines, a cursor file saying how far replay got, group commit so many appends share one fdatasync.
 * Invariant: `segments[0]` is the cursor's segment, and the last segment is the newest (the head).
 */
export class Spool {
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

  constructor(private readonly options: SpoolOptions) {
    this.log = options.log;
  }

  get pendingPoints(): number {
    return this.segments.reduce((sum, s) => sum + s.points, 0);
  }

  get pendingBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0) - (this.segments.length > 0 ? this.cursor.offset : 0);
  }

  /** Points the bound has dropped since open(). */
  get droppedPoints(): number {
    return this.dropped;
  }

  /**
   * The newest segment is never dropped, so segments must stay well below the bound for it to hold:
   * a quarter of it at most.
   */
  private get segmentLimit(): number {
    return Math.min(this.options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, Math.max(4096, Math.floor(this.options.maxBytes / 4)));
  }

  /** Creates the dir and recovers: torn tails truncated, replayed segments deleted, pending counted. */
  async open(): Promise<void> {
    const { dir, metrics } = this.options;
    await mkdir(dir, { recursive: true });
    const { cursor: saved, invalid } = await readCursor(dir);
    if (invalid !== undefined) this.log.warn({ cursor: invalid }, 'spool cursor unreadable, replaying from the oldest segment');
    const seqs = await listSegments(dir);
    for (const seq of seqs) {
      if (saved && seq < saved.segment) {
        await unlink(this.path(seq)); // fully replayed; a crash came between cursor write and unlink
        continue;
      }
      const { size, lines, tornBytes } = await scanSegment(this.path(seq), saved?.segment === seq ? saved.offset : 0);
      if (tornBytes > 0) this.log.warn({ segment: seq, bytes: tornBytes }, 'spool torn tail truncated');
      this.segments.push({ seq, size, points: lines });
    }
    this.nextSeq = (seqs.at(-1) ?? saved?.segment ?? 0) + 1;
    const first = this.segments[0];
    const resumes = first !== undefined && saved?.segment === first.seq;
    this.cursor = { segment: first?.seq ?? this.nextSeq, offset: resumes ? Math.min(saved.offset, first.size) : 0 };
    this.countDropped = metrics.counter('gateway_spool_dropped_points_total', 'Spooled points dropped because the spool hit its bound');
    metrics.gauge('gateway_spool_points', 'Points waiting in the spool', () => this.pendingPoints);
    metrics.gauge('gateway_spool_bytes', 'Bytes waiting in the spool', () => this.pendingBytes);
    this.log.info({ points: this.pendingPoints, bytes: this.pendingBytes, segments: this.segments.length }, 'spool opened');
  }

  /** Appends whole lines (each ending in `\n`); resolves once they are synced to disk. */
  append(text: string, points: number): Promise<void> {
    if (this.closing) return Promise.reject(new Error('spool is closed'));
    // The spool is newline-framed: a text not ending in one would glue onto the next append's first line.
    if (!text.endsWith('\n')) return Promise.reject(new Error('spool append must be whole lines ending in \\n'));
    return new Promise((resolve, reject) => {
      this.queue.push({ text, points, resolve, reject });
      this.flushing ??= this.drain();
    });
  }

  /** The next complete lines after the cursor (synced data only, one segment at a time), or null. */
  async read(maxBytes: number): Promise<SpoolChunk | null> {
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

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.writeGroup(group.map((a) => a.text).join(''), group.reduce((n, a) => n + a.points, 0));
        for (const a of group) a.resolve();
      } catch (err) {
        for (const a of group) a.reject(err);
      }
    }
    this.flushing = undefined;
  }

  /** One write + fdatasync for every append that queued up while the previous one ran (group commit). */
  private async writeGroup(text: string, points: number): Promise<void> {
    const data = Buffer.from(text);
    const head = this.head ?? (await this.createHead());
    const seg = this.segments.at(-1) as Segment;
    try {
      for (let done = 0; done < data.length; ) done += (await head.fh.write(data, done, data.length - done)).bytesWritten;
      await head.fh.datasync();
    } catch (err) {
      // Cut a partial write back off so the segment stays whole lines, then continue in a fresh segment.
      await head.fh.truncate(seg.size).catch((e: unknown) => this.log.error({ err: e }, 'spool truncate failed'));
      await this.closeHead();
      throw new Error(`spool append to ${this.path(head.seq)} failed`, { cause: err });
    }
    seg.size += data.length;
    seg.points += points;
    if (seg.size >= this.segmentLimit) await this.closeHead();
    await this.enforceBound();
  }

  private async createHead(): Promise<{ seq: number; fh: FileHandle }> {
    const seq = this.nextSeq++;
    const fh = await open(this.path(seq), 'a');
    this.segments.push({ seq, size: 0, points: 0 });
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

  /**
   * Drops the oldest segment (never the newest, which may still grow) and counts what it held: for a caller
   * that bounds several spools together (the upstream queue drops summaries before alarms). Resolves with
   * the points and bytes dropped, or undefined when only the newest segment is left.
   */
  async dropOldest(): Promise<{ points: number; bytes: number } | undefined> {
    if (this.segments.length <= 1) return undefined;
    const dropped = await this.dropOldestSegment();
    this.dropped += dropped.points;
    this.countDropped(undefined, dropped.points);
    return dropped;
  }

  /** Drops whole oldest segments (never the newest) while pending bytes exceed the bound. */
  private async enforceBound(): Promise<void> {
    const { maxBytes } = this.options;
    let points = 0;
    let bytes = 0;
    while (this.pendingBytes > maxBytes && this.segments.length > 1) {
      const dropped = await this.dropOldestSegment();
      points += dropped.points;
      bytes += dropped.bytes;
    }
    if (bytes > 0) {
      this.dropped += points;
      this.countDropped(undefined, points);
      this.log.warn({ droppedPoints: points, droppedBytes: bytes, maxBytes }, 'spool full, oldest points dropped');
    }
    this.checkHighWater();
  }

  /** Deletes the oldest segment; the points of a chunk being replayed from it are not counted (see below). */
  private async dropOldestSegment(): Promise<{ points: number; bytes: number }> {
    const oldest = this.segments.shift() as Segment;
    const bytes = oldest.size - this.cursor.offset;
    let points = oldest.points;
    if (this.inFlight?.seq === oldest.seq) {
      // Those lines are being written right now; they count as dropped only if that write is abandoned.
      this.inFlight.dropped = true;
      points -= this.inFlight.points;
    }
    this.cursor = { segment: this.segments[0].seq, offset: 0 };
    await unlink(this.path(oldest.seq)).catch((err: unknown) => this.log.error({ err }, 'spool segment delete failed'));
    return { points, bytes };
  }

  private checkHighWater(): void {
    const { maxBytes } = this.options;
    const bytes = this.pendingBytes;
    if (!this.warnedHigh && bytes > 0.8 * maxBytes) {
      this.warnedHigh = true;
      this.log.warn({ bytes, maxBytes, points: this.pendingPoints }, 'spool above 80% of its bound');
    } else if (this.warnedHigh && bytes < 0.5 * maxBytes) {
      this.warnedHigh = false;
    }
  }

  private async readFrom(seg: Segment, start: number, maxBytes: number): Promise<SpoolChunk | null> {
    const flight: InFlight = { seq: seg.seq, end: start, points: 0, dropped: false };
    this.inFlight = flight;
    let length = Math.min(seg.size - start, maxBytes);
    let buf = await readBytes(this.path(seg.seq), start, length);
    if (buf && buf.lastIndexOf(NEWLINE) === -1) {
      // A single line longer than maxBytes: take it whole rather than stall.
      length = seg.size - start;
      buf = await readBytes(this.path(seg.seq), start, length);
    }
    if (!buf || flight.dropped) {
      this.inFlight = undefined; // the bound deleted this segment meanwhile; its points are counted
      return null;
    }
    const cut = buf.lastIndexOf(NEWLINE) + 1;
    if (cut === 0) throw new Error(`spool segment ${this.path(seg.seq)} has no line end after offset ${start}`);
    flight.end = start + cut;
    flight.points = countLines(buf, cut);
    return { text: buf.toString('utf8', 0, cut), points: flight.points, commit: () => this.commit(flight) };
  }

  private async commit(flight: InFlight): Promise<void> {
    if (this.inFlight !== flight) throw new Error('spool chunk committed twice or after a newer read');
    this.inFlight = undefined;
    if (flight.dropped) return; // its segment is gone and the cursor already moved past it
    this.cursor = { segment: flight.seq, offset: flight.end };
    this.segments[0].points -= flight.points;
    await writeCursor(this.options.dir, this.cursor);
    await this.skipFinished();
    this.checkHighWater();
  }

  /** Deletes segments read to the end, except the newest, which may still grow. */
  private async skipFinished(): Promise<void> {
    while (this.segments.length > 1 && this.cursor.offset >= this.segments[0].size) {
      const done = this.segments.shift() as Segment;
      this.cursor = { segment: this.segments[0].seq, offset: 0 };
      await unlink(this.path(done.seq));
    }
  }

  /** A chunk read but never committed whose segment the bound deleted: its points are lost now. */
  private settleAbandoned(): void {
    const flight = this.inFlight;
    this.inFlight = undefined;
    if (!flight?.dropped || flight.points === 0) return;
    this.dropped += flight.points;
    this.countDropped(undefined, flight.points);
  }

  private path(seq: number): string {
    return segmentPath(this.options.dir, seq);
  }
}
