/**
 * One channel's deliveries, one at a time and in order, each retried with growing delays (contract §16: up to 10
 * minutes). Every channel has its own queue, so a dead or slow channel never holds up another; a delivery waiting
 * for its retry does not hold up the ones behind it. The queue is bounded: when it is full, the oldest delivery
 * that is not about a life-safety alarm is given up (and recorded as `dropped`) to make room.
 */
import { PermanentFailure } from './channels.js';

/** A delivery as the queue holds it. */
export interface Job<T> {
  payload: T;
  lifeSafety: boolean;
  queuedAt: number;
  attempts: number;
  /** Time of the first attempt. */
  firstAt?: number;
}

/** What became of an attempt: delivered; failed, retried later; failed for good; given up unsent or between retries. */
export type Outcome = 'delivered' | 'retrying' | 'failed' | 'dropped';

export interface QueueOptions<T> {
  send(payload: T): Promise<void>;
  /** Told after each attempt and when a delivery is dropped; a throw is the caller's fault and is not caught here. */
  outcome(job: Job<T>, outcome: Outcome, error?: string): void;
  /** First retry delay; doubled after each failure, at most `maxDelayMs`. */
  retryDelayMs: number;
  /** No attempt starts later than this after the first. */
  retryForMs: number;
  maxDelayMs?: number;
  /** Deliveries held (waiting, waiting for a retry, being sent); default 1000. */
  max?: number;
}

export class ChannelQueue<T> {
  private readonly waiting: Array<Job<T>> = [];
  private readonly retrying = new Map<Job<T>, NodeJS.Timeout>();
  private current?: Promise<void>;
  private stopped = false;

  constructor(private readonly opts: QueueOptions<T>) {}

  /** Deliveries held now. */
  get size(): number {
    return this.waiting.length + this.retrying.size + (this.current ? 1 : 0);
  }

  push(payload: T, lifeSafety: boolean): void {
    if (this.stopped) return;
    const job: Job<T> = { payload, lifeSafety, queuedAt: Date.now(), attempts: 0 };
    if (this.size >= (this.opts.max ?? 1000) && !this.makeRoom(job)) return;
    this.waiting.push(job);
    this.pump();
  }

  /** Cancels the retries and what waits; waits for the delivery in progress (bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retrying.values()) clearTimeout(timer);
    this.retrying.clear();
    this.waiting.length = 0;
    await this.current;
  }

  /** Drops the oldest delivery that is not life-safety (or the new one); false when the new one was dropped. */
  private makeRoom(incoming: Job<T>): boolean {
    const held = [...this.waiting, ...this.retrying.keys()].sort((a, b) => a.queuedAt - b.queuedAt);
    const victim = held.find((j) => !j.lifeSafety) ?? (incoming.lifeSafety ? held[0] : undefined);
    if (!victim) {
      this.opts.outcome(incoming, 'dropped', 'queue full');
      return false;
    }
    const i = this.waiting.indexOf(victim);
    if (i >= 0) this.waiting.splice(i, 1);
    clearTimeout(this.retrying.get(victim));
    this.retrying.delete(victim);
    this.opts.outcome(victim, 'dropped', 'queue full');
    return true;
  }

  private pump(): void {
    if (this.current || this.stopped) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.current = this.attempt(job).finally(() => {
      this.current = undefined;
      this.pump();
    });
  }

  private async attempt(job: Job<T>): Promise<void> {
    const now = Date.now();
    job.attempts++;
    job.firstAt ??= now;
    try {
      await this.opts.send(job.payload);
    } catch (err) {
      this.failed(job, err as Error);
      return;
    }
    this.opts.outcome(job, 'delivered');
  }

  private failed(job: Job<T>, err: Error): void {
    const delay = Math.min(this.opts.retryDelayMs * 2 ** (job.attempts - 1), this.opts.maxDelayMs ?? 120_000);
    const retry = !(err instanceof PermanentFailure) && !this.stopped && Date.now() + delay - job.firstAt! <= this.opts.retryForMs;
    this.opts.outcome(job, retry ? 'retrying' : 'failed', err.message);
    if (!retry) return;
    const timer = setTimeout(() => {
      this.retrying.delete(job);
      // A retry goes first: it was queued before everything that waits now.
      this.waiting.unshift(job);
      this.pump();
    }, delay);
    timer.unref();
    this.retrying.set(job, timer);
  }
}
