import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { DiskQueue } from '../../shared/disk-queue.js';

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

/**
 * The InfluxDB spool (contract §7): line protocol, one point a line, in the shared disk queue under
 * `DATA_DIR/spool/` as `NNNNNNNNNN.lp` segments and `cursor.json` (the names an earlier version wrote, so an
 * upgraded gateway replays its old spool), counted in the `gateway_spool_*` metrics.
 */
export class Spool {
  private readonly queue: DiskQueue;

  constructor(options: SpoolOptions) {
    const { dir, maxBytes, segmentBytes, log, metrics } = options;
    this.queue = new DiskQueue({
      dir,
      suffix: '.lp',
      maxBytes,
      segmentBytes,
      log,
      name: 'spool',
      unit: 'points',
      metrics: {
        registry: metrics,
        dropped: { name: 'gateway_spool_dropped_points_total', help: 'Spooled points dropped because the spool hit its bound' },
        records: { name: 'gateway_spool_points', help: 'Points waiting in the spool' },
        bytes: { name: 'gateway_spool_bytes', help: 'Bytes waiting in the spool' },
      },
    });
  }

  get pendingPoints(): number {
    return this.queue.pendingRecords;
  }

  get pendingBytes(): number {
    return this.queue.pendingBytes;
  }

  /** Points the bound has dropped since open(). */
  get droppedPoints(): number {
    return this.queue.droppedRecords;
  }

  /** Creates the dir and recovers: torn tails truncated, replayed segments deleted, pending counted. */
  open(): Promise<void> {
    return this.queue.open();
  }

  /** Appends whole lines (each ending in `\n`); resolves once they are synced to disk. */
  append(text: string, points: number): Promise<void> {
    return this.queue.append(text, points);
  }

  /** The next complete lines after the cursor (synced data only, one segment at a time), or null. */
  async read(maxBytes: number): Promise<SpoolChunk | null> {
    const chunk = await this.queue.read(maxBytes);
    return chunk && { text: chunk.text, points: chunk.records, commit: chunk.commit };
  }

  /** Waits for in-flight appends and closes the head segment; idempotent. */
  close(): Promise<void> {
    return this.queue.close();
  }
}
