import type { Logger } from '../log.js';
import type { DiskQueue, DiskQueueChunk } from '../shared/disk-queue.js';

/** The classes of upstream messages; each has its own disk queue, so the bound can drop summaries before alarms. */
export const MESSAGE_CLASSES = ['event', 'summary'] as const;
export type MessageClass = (typeof MESSAGE_CLASSES)[number];

/** One queued message as the sender handles it. */
export interface QueueEntry {
  /** Queue-wide order: the sender publishes by it across both classes. */
  n: number;
  cls: MessageClass;
  topic: string;
  payload: string;
  acked: boolean;
}

/** A line of the queue on disk. */
interface Record {
  n: number;
  topic: string;
  payload: unknown;
}

interface Current {
  chunk: DiskQueueChunk;
  entries: QueueEntry[];
  /** Index of the next entry to hand out. */
  next: number;
  unacked: number;
  /** Lines of the chunk, readable or not: the disk queue counts them pending until the commit. */
  lines: number;
}

/**
 * One class's disk queue as the sender sees it: the chunk read last, handed out entry by entry; the queue's
 * cursor moves past a chunk (and it is gone from disk) only once every entry of it was acknowledged.
 */
export class Lane {
  private current?: Current;

  constructor(
    readonly cls: MessageClass,
    readonly spool: DiskQueue,
    private readonly chunkBytes: number,
    private readonly log: Logger,
    private readonly corrupt: (count: number) => void,
  ) {}

  /**
   * The next entry to hand out; undefined when nothing more is queued; `blocked` while the whole chunk is out
   * and not yet acknowledged and more lines wait behind it (the disk queue reads one chunk at a time).
   */
  async head(): Promise<QueueEntry | 'blocked' | undefined> {
    for (;;) {
      const c = this.current;
      if (c) {
        while (c.next < c.entries.length && c.entries[c.next].acked) c.next++;
        if (c.next < c.entries.length) return c.entries[c.next];
        if (c.unacked > 0) return this.spool.pendingRecords > c.lines ? 'blocked' : undefined;
        this.current = undefined;
        await c.chunk.commit();
      }
      const chunk = await this.spool.read(this.chunkBytes);
      if (!chunk) return undefined;
      this.current = this.parse(chunk);
    }
  }

  /** The entry `head()` answered was handed out. */
  advance(): void {
    if (this.current) this.current.next++;
  }

  /** The broker acknowledged `entry` (or refused it for good): it need not be sent again. */
  ack(entry: QueueEntry): void {
    if (entry.acked) return;
    entry.acked = true;
    const c = this.current;
    if (c && c.entries.includes(entry)) c.unacked--;
  }

  /** Hand out again from the first entry not acknowledged: after a reconnect. */
  rewind(): void {
    if (this.current) this.current.next = 0;
  }

  private parse(chunk: DiskQueueChunk): Current {
    const entries: QueueEntry[] = [];
    let bad = 0;
    for (const line of chunk.text.split('\n')) {
      if (line === '') continue;
      try {
        const r = JSON.parse(line) as Record;
        if (!Number.isSafeInteger(r.n) || typeof r.topic !== 'string') throw new Error('not a queue record');
        entries.push({ n: r.n, cls: this.cls, topic: r.topic, payload: JSON.stringify(r.payload), acked: false });
      } catch (err) {
        bad++;
        this.log.error({ err, line: line.slice(0, 200) }, 'upstream queue line unreadable, skipped');
      }
    }
    if (bad > 0) this.corrupt(bad);
    return { chunk, entries, next: 0, unacked: entries.length, lines: entries.length + bad };
  }
}
