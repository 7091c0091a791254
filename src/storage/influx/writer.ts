import { open } from 'node:fs/promises';
import type { Logger } from '../../log.js';
import type { Metrics } from '../../metrics.js';
import { GatewayError } from '../../errors.js';
import { handled, newBatch, Pressure, Sleeper, writerMetrics, type Batch, type WriterCounters } from './batch.js';
import { createDatabase, ping, postLines, type InfluxTarget, type WriteOutcome } from './http.js';
import type { Spool } from './spool.js';

/** Direct writes in flight at once: enough to hide a round trip, few enough not to swamp InfluxDB. */
const MAX_IN_FLIGHT = 4;
/** Replay POSTs this much at a time; well under InfluxDB 1.x's default 25 MB max-body-size. */
const REPLAY_CHUNK_BYTES = 8 * 1024 * 1024;
const FIRST_RETRY_MS = 250;
/** start() must not hold up the gateway's start for a whole timeout when InfluxDB is a black hole. */
const START_TIMEOUT_CAP_MS = 3000;
const REFUSAL_LOG_MS = 10_000;

export interface InfluxWriterOptions extends InfluxTarget {
  batchSize: number;
  flushIntervalMs: number;
  timeoutMs: number;
  retryMaxMs: number;
  /** Lines held in memory (unflushed + in flight) at which pressure() asks callers to wait. */
  maxPending: number;
  /** Opened by the caller before start(); closed by stop(). */
  spool: Spool;
  /** Where the lines of batches InfluxDB refused are kept (appended, synced); none: they are only counted. */
  refusedFile?: string;
  /** The module's child logger (`{ module: 'influx' }`), as the composition root hands it out. */
  log: Logger;
  metrics: Metrics;
}

/** What /ready shows of the storage path (contract §5). */
export interface InfluxStatus {
  reachable: boolean;
  mode: 'direct' | 'spooling';
  spooledPoints: number;
  spooledBytes: number;
  droppedPoints: number;
}

/**
 * Batches line protocol into InfluxDB 1.x. While it cannot, batches go to the disk spool in flush order,
 * and a background loop probes InfluxDB, replays the spool, then switches back to direct writes (§7).
 *
 * Duplicates: a point is never written twice on purpose, but a replay can repeat one (a timed-out write
 * that InfluxDB did store, or a crash between a replayed chunk and its cursor commit). InfluxDB overwrites
 * a point with the same measurement, tag set and timestamp, so such a repeat is idempotent.
 */
export class InfluxWriter {
  private mode: 'direct' | 'spooling' = 'direct';
  private reachable = false;
  private outage = false;
  private dbReady = false;
  private batch?: Batch;
  private timer?: NodeJS.Timeout;
  /** Flushed, not yet sent anywhere. */
  private readonly queue: Batch[] = [];
  /** Sent to InfluxDB and not yet settled or spooled, in flush order. */
  private readonly unsettled: Batch[] = [];
  private posting = 0;
  private spooling = 0;
  /** Every POST and spool append in flight, so stop() and the replay can wait for them. */
  private readonly ops = new Set<Promise<void>>();
  private readonly memory = new Pressure();
  private recovering = false;
  private loop?: Promise<void>;
  private readonly sleeper = new Sleeper();
  private readonly halt = new AbortController();
  private stopped?: Promise<void>;
  private counters?: WriterCounters;
  private lastRefusalLog = Number.NEGATIVE_INFINITY;
  private refusalsSinceLog = 0;

  constructor(private readonly options: InfluxWriterOptions) {}

  /** Creates the database if InfluxDB answers; otherwise (or with a non-empty spool) starts spooling. */
  async start(): Promise<void> {
    const { spool, log, timeoutMs, metrics } = this.options;
    this.counters = writerMetrics(metrics, () => this.memory.held, () => this.reachable);
    if (spool.pendingPoints > 0) {
      this.mode = 'spooling';
      log.info({ points: spool.pendingPoints, bytes: spool.pendingBytes }, 'spool holds points, replaying');
    }
    const created = await createDatabase(this.options, Math.min(timeoutMs, START_TIMEOUT_CAP_MS));
    if (created === 'failed') {
      this.mode = 'spooling';
      this.noteFailure({ kind: 'failed', reason: 'network', detail: 'CREATE DATABASE did not succeed' });
    } else {
      this.dbCreated(created);
      this.reachable = true;
    }
    if (this.mode === 'spooling') this.enterSpooling();
  }

  /**
   * Queues one line (no trailing newline) and returns its batch's promise, shared by every line of the
   * batch: it resolves once the batch is in InfluxDB or synced to the spool, and rejects only if neither
   * worked. It is pre-handled, so QoS 0 callers may ignore it.
   */
  write(line: string): Promise<void> {
    if (this.stopped) return handled(Promise.reject(new GatewayError('storage_unavailable', 'InfluxDB writer is stopped')));
    let batch = this.batch;
    if (!batch) {
      batch = this.batch = newBatch();
      this.timer = setTimeout(() => this.flush(), this.options.flushIntervalMs);
    }
    batch.lines.push(line);
    this.memory.held++;
    if (batch.lines.length >= this.options.batchSize) this.flush();
    return batch.promise;
  }

  /** undefined while fewer than `maxPending` lines are held in memory; else resolves below half of it. */
  pressure(): Promise<void> | undefined {
    return this.memory.wait(this.options.maxPending);
  }

  status(): InfluxStatus {
    const { spool } = this.options;
    const { mode, reachable } = this;
    return { reachable, mode, spooledPoints: spool.pendingPoints, spooledBytes: spool.pendingBytes, droppedPoints: spool.droppedPoints };
  }

  /** Flushes memory to InfluxDB or, failing that, the spool; stops the probe loop; closes the spool. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.halt.abort();
    this.sleeper.wake();
    await this.loop;
    this.flush();
    while (this.ops.size > 0) await Promise.allSettled([...this.ops]);
    this.memory.releaseAll();
    await this.options.spool.close();
    this.options.log.info({ mode: this.mode, spooledPoints: this.options.spool.pendingPoints }, 'influx writer stopped');
  }

  private flush(): void {
    clearTimeout(this.timer);
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    this.queue.push(batch);
    this.pump();
  }

  /**
   * Moves batches on: to InfluxDB (up to MAX_IN_FLIGHT) in direct mode; to the spool while spooling, but
   * only behind every earlier batch still awaiting InfluxDB's answer, so the spool keeps flush order.
   */
  private pump(): void {
    while (this.unsettled.length > 0 && this.unsettled[0].state !== 'posting') {
      const batch = this.unsettled.shift() as Batch;
      if (batch.state === 'failed') this.sendToSpool(batch);
    }
    while (this.queue.length > 0) {
      if (this.mode === 'direct' ? this.posting >= MAX_IN_FLIGHT : this.unsettled.length > 0) return;
      const batch = this.queue.shift() as Batch;
      this.counters?.batches({ target: this.mode === 'direct' ? 'influx' : 'spool' });
      if (this.mode === 'direct') this.sendDirect(batch);
      else this.sendToSpool(batch);
    }
  }

  private sendDirect(batch: Batch): void {
    batch.state = 'posting';
    this.unsettled.push(batch);
    this.posting++;
    const body = batch.lines.join('\n');
    const sent = postLines(this.options, body, batch.lines.length, AbortSignal.timeout(this.options.timeoutMs)).then((outcome) => {
      this.posting--;
      if (outcome.kind === 'failed') {
        batch.state = 'failed'; // pump() spools it once every earlier batch is settled
        this.noteFailure(outcome);
        this.enterSpooling();
        this.pump();
        return;
      }
      this.reachable = true;
      this.account(outcome, batch.lines.length);
      const settle = () => {
        batch.state = 'done';
        batch.resolve();
        this.memory.release(batch.lines.length, this.options.maxPending);
        this.pump();
      };
      // A refused batch is acknowledged only once its lines are kept aside, so nothing acknowledged is lost.
      if (outcome.kind === 'refused') void this.keepRefused(body).then(settle);
      else settle();
    });
    this.track(sent);
  }

  /** Appends synchronously, so the spool's order is the order of these calls; never throws. */
  private sendToSpool(batch: Batch): void {
    const n = batch.lines.length;
    this.spooling++;
    const appended = this.options.spool.append(`${batch.lines.join('\n')}\n`, n).then(
      () => batch.resolve(),
      (err: unknown) => {
        this.counters?.errors({ reason: 'spool' });
        this.options.log.error({ err, points: n }, 'spool append failed, points lost');
        batch.reject(new GatewayError('storage_unavailable', 'neither InfluxDB nor the spool took the points', { cause: err }));
      },
    );
    this.track(
      appended.finally(() => {
        this.spooling--;
        this.memory.release(n, this.options.maxPending);
      }),
    );
  }

  /** Spooling from now on, with the probe loop running (one at a time). */
  private enterSpooling(): void {
    this.mode = 'spooling';
    if (this.recovering || this.halt.signal.aborted) return;
    this.recovering = true;
    this.loop = this.recover();
  }

  /** Probes with exponential backoff until the spool is replayed and direct writes resume. */
  private async recover(): Promise<void> {
    let delay = FIRST_RETRY_MS;
    while (!this.halt.signal.aborted) {
      const result = await this.attempt().catch((err: unknown) => {
        this.options.log.error({ err }, 'spool replay failed, retrying'); // a disk error reading the spool
        return 'failed' as const;
      });
      if (result === 'done') return;
      if (result === 'progress') delay = FIRST_RETRY_MS;
      await this.sleeper.sleep(delay);
      delay = Math.min(delay * 2, this.options.retryMaxMs);
    }
    this.recovering = false;
  }

  private async attempt(): Promise<'done' | 'progress' | 'failed'> {
    if (!(await ping(this.options, this.options.timeoutMs))) {
      this.reachable = false;
      return 'failed';
    }
    if (!this.reachable) this.options.log.info({ spooledPoints: this.options.spool.pendingPoints }, 'InfluxDB reachable again');
    this.reachable = true;
    if (!this.dbReady) {
      const created = await createDatabase(this.options, this.options.timeoutMs);
      if (created === 'failed') return 'failed';
      this.dbCreated(created);
    }
    return this.replay();
  }

  /** Replays the spool in order, a chunk at a time, committing the cursor after each accepted chunk. */
  private async replay(): Promise<'done' | 'progress' | 'failed'> {
    const { spool, timeoutMs } = this.options;
    const started = performance.now();
    let replayed = 0;
    while (!this.halt.signal.aborted) {
      const chunk = await spool.read(REPLAY_CHUNK_BYTES);
      if (!chunk) {
        // Checked synchronously: nothing synced left, no append in flight, no failed batch waiting to be
        // spooled. Then no batch can be overtaken by switching to direct writes.
        const idle = this.spooling === 0 && !this.unsettled.some((b) => b.state === 'failed');
        if (idle && spool.pendingBytes === 0) return this.switchToDirect(replayed, started);
        if (spool.pendingBytes === 0) await Promise.allSettled([...this.ops]);
        continue;
      }
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), this.halt.signal]);
      const outcome = await postLines(this.options, chunk.text, chunk.points, signal);
      if (outcome.kind === 'failed') {
        if (!this.halt.signal.aborted) this.noteFailure(outcome); // aborted by stop(): not an outage
        return replayed > 0 ? 'progress' : 'failed';
      }
      this.account(outcome, chunk.points);
      if (outcome.kind === 'refused') await this.keepRefused(chunk.text);
      await chunk.commit();
      replayed += chunk.points;
    }
    return replayed > 0 ? 'progress' : 'failed';
  }

  private switchToDirect(replayed: number, started: number): 'done' {
    this.mode = 'direct';
    this.recovering = false;
    this.outage = false;
    const durationMs = Math.round(performance.now() - started);
    this.options.log.info({ points: replayed, durationMs }, 'spool replay finished, writing directly');
    this.pump();
    return 'done';
  }

  /** Counts a failed request; warns once per outage rather than once per batch. */
  private noteFailure(outcome: Extract<WriteOutcome, { kind: 'failed' }>): void {
    this.counters?.errors({ reason: outcome.reason });
    if (outcome.reason === 'network' || outcome.reason === 'timeout') this.reachable = false;
    if (outcome.status === 404) this.dbReady = false; // database missing (dropped?): create it before replaying
    if (this.outage) return;
    this.outage = true;
    const { reason, status, detail } = outcome;
    this.options.log.warn({ reason, status, detail, url: this.options.url }, 'InfluxDB unavailable, spooling points');
  }

  private account(outcome: Exclude<WriteOutcome, { kind: 'failed' }>, points: number): void {
    if (outcome.kind === 'written') {
      this.counters?.written(undefined, points);
      return;
    }
    this.counters?.written(undefined, points - outcome.refused);
    this.counters?.refused(undefined, outcome.refused);
    this.counters?.errors({ reason: 'refused' });
    // One misbehaving device can cause a refusal per batch: warn at most every REFUSAL_LOG_MS (house style §5).
    this.refusalsSinceLog += outcome.refused;
    const now = Date.now();
    if (now - this.lastRefusalLog < REFUSAL_LOG_MS) return;
    const { status, body } = outcome;
    this.options.log.warn({ status, refused: this.refusalsSinceLog, points, body }, 'InfluxDB refused points');
    this.lastRefusalLog = now;
    this.refusalsSinceLog = 0;
  }

  /**
   * Appends the lines of a batch InfluxDB refused (a type conflict, a bad line) to `refusedFile`, synced, for someone to inspect or write again by hand. InfluxDB kept the valid lines of the batch,
   * so writing the whole file again later is harmless. A failure here is logged; the points are counted as
   * refused either way.
   */
  private async keepRefused(text: string): Promise<void> {
    const file = this.options.refusedFile;
    if (!file) return;
    try {
      const handle = await open(file, 'a');
      try {
        await handle.appendFile(text.endsWith('\n') ? text : `${text}\n`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      this.options.log.error({ err, file }, 'refused points could not be kept aside');
    }
  }

  private dbCreated(result: 'created' | 'forbidden'): void {
    this.dbReady = true;
    if (result === 'forbidden') this.options.log.warn({ db: this.options.db }, 'CREATE DATABASE refused, assuming the database exists');
  }

  private track(op: Promise<void>): void {
    this.ops.add(op);
    void op
      .catch((err: unknown) => this.options.log.error({ err }, 'influx writer step failed'))
      .finally(() => this.ops.delete(op));
  }
}
