/**
 * The history reads of one rule's baselines (contract §13 `anomaly`), at most two at a time: a rule over 5,000
 * devices does not ask InfluxDB 5,000 questions at once. An answer given at once (the simulator's) is applied at
 * once, so a replay stays synchronous.
 */
import type { HistoryQuery, HistoryReader, HistoryReading } from './types.js';

/** Reads in flight at once per rule. */
export const READS_AT_ONCE = 2;

interface Read {
  q: HistoryQuery;
  done: (rows: readonly HistoryReading[]) => void;
  failed: () => void;
}

export class HistoryReads {
  private readonly queue: Read[] = [];
  private inFlight = 0;
  private stopped = false;

  constructor(private readonly reader: HistoryReader) {}

  /** Queues a read; `first` goes before the others (a device reporting now, before those queued at attach). */
  request(read: Read, first: boolean): void {
    if (first) this.queue.unshift(read);
    else this.queue.push(read);
    this.pump();
  }

  /** Starts no more reads and drops the answers of those in flight. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < READS_AT_ONCE && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  private start(r: Read): void {
    let answer: ReturnType<HistoryReader>;
    try {
      answer = this.reader(r.q);
    } catch {
      // The reader logs its own failures (gateway.ts); the caller learns from live readings and asks again later.
      r.failed();
      return;
    }
    if (Array.isArray(answer)) {
      r.done(answer);
      return;
    }
    this.inFlight++;
    answer.then(
      (rows) => {
        this.inFlight--;
        if (!this.stopped) r.done(rows);
        this.pump();
      },
      () => {
        // As above: logged by the reader; the read is asked for again at a later reading.
        this.inFlight--;
        if (!this.stopped) r.failed();
        this.pump();
      },
    );
  }
}
