import type { Labels, Metrics } from '../../metrics.js';

/**
 * Lines that leave memory together and share one promise. `state` tracks a batch sent to InfluxDB until
 * it is settled, so that batches handed to the spool after an outage keep their flush order.
 */
export interface Batch {
  lines: string[];
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
  state: 'queued' | 'posting' | 'failed' | 'done';
}

export function newBatch(): Batch {
  let resolve = (): void => undefined;
  let reject: (err: Error) => void = () => undefined;
  const promise = handled(new Promise<void>((res, rej) => ((resolve = res), (reject = rej))));
  return { lines: [], promise, resolve, reject, state: 'queued' };
}

/** Marks a promise as handled (QoS 0 callers ignore it and must not crash the process); returns it unchanged. */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

type Count = (labels?: Labels, by?: number) => void;

/** The writer's counters; its gauges read live state through the callbacks. */
export interface WriterCounters {
  written: Count;
  errors: Count;
  batches: Count;
  refused: Count;
}

export function writerMetrics(metrics: Metrics, held: () => number, reachable: () => boolean): WriterCounters {
  metrics.gauge('gateway_influx_pending_points', 'Points held in memory (unflushed or in flight)', held);
  metrics.gauge('gateway_influx_reachable', 'Whether InfluxDB answered the last request', () => (reachable() ? 1 : 0));
  return {
    written: metrics.counter('gateway_influx_points_written_total', 'Points InfluxDB accepted'),
    errors: metrics.counter('gateway_influx_write_errors_total', 'Write requests that did not fully succeed, by reason'),
    batches: metrics.counter('gateway_influx_batches_total', 'Batches flushed from memory, by target'),
    refused: metrics.counter('gateway_influx_points_refused_total', 'Points InfluxDB refused (4xx: parse error, type conflict)'),
  };
}

/** A cancellable sleep for the probe loop's backoff, so stop() need not wait it out. */
export class Sleeper {
  private pending?: { timer: NodeJS.Timeout; resolve: () => void };

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.pending = { timer: setTimeout(resolve, ms), resolve };
    });
  }

  wake(): void {
    if (!this.pending) return;
    clearTimeout(this.pending.timer);
    this.pending.resolve();
    this.pending = undefined;
  }
}

/** Lines held in memory against a limit: wait() resolves once they fall below half of it (hysteresis). */
export class Pressure {
  held = 0;
  private relief?: { promise: Promise<void>; resolve: () => void };

  wait(limit: number): Promise<void> | undefined {
    if (this.held < limit) return undefined;
    if (!this.relief) {
      let resolve = (): void => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      this.relief = { promise, resolve };
    }
    return this.relief.promise;
  }

  release(lines: number, limit: number): void {
    this.held -= lines;
    if (this.relief && this.held < limit / 2) {
      this.relief.resolve();
      this.relief = undefined;
    }
  }

  /** Lets every waiter go (at stop, when nothing is held any more). */
  releaseAll(): void {
    this.relief?.resolve();
    this.relief = undefined;
  }
}
