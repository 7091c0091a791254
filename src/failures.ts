import { LogLimiter, type Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Publish } from './topics.js';

/**
 * Where a unit of work failed, for `gateway_message_failures_total{stage}`: ingest's own steps, then the bus
 * listener or rule action that raised it (docs/architecture.md, "Failure boundaries").
 */
export type FailureStage =
  | 'ingest'
  | 'validation'
  | 'storage'
  | 'rules'
  | 'alarms'
  | 'workorders'
  | 'commands'
  | 'registry'
  | 'upstream'
  | 'events'
  | 'broker'
  | (string & {});

/** What is known of the unit of work that failed; `device` keys the log's rate limit. */
export interface FailureContext {
  site?: string;
  kind?: string;
  device?: string;
  [key: string]: unknown;
}

/**
 * The boundary of one unit of work (a device message, a timer, a file event): what it raised is counted by
 * stage and logged with its stack at most once per interval per device, so neither the process nor another
 * device's data depends on it and a failing device cannot fill the log.
 */
export class Failures {
  private readonly count: (labels?: Record<string, string>) => void;
  private readonly limiter: LogLimiter;

  constructor(
    metrics: Metrics,
    private readonly log: Logger,
    intervalMs = 60_000,
    now: () => number = Date.now,
  ) {
    this.limiter = new LogLimiter(intervalMs, now);
    this.count = metrics.counter(
      'gateway_message_failures_total',
      'Units of work (device messages, timers, file events) whose handling raised an error, by stage',
    );
  }

  /** Counts and (rate-limited) logs one failure; never throws. */
  report(stage: FailureStage, err: unknown, context: FailureContext = {}): void {
    try {
      this.count({ stage });
      const suppressed = this.limiter.allow(`${stage}\u0000${context.device ?? ''}`);
      if (suppressed === undefined) return;
      this.log.error({ ...context, stage, err, suppressed }, 'message handling failed');
    } catch {
      // The reporter is the last line of defence: a logger that throws must not take the message path with it.
    }
  }

  /**
   * `publish` as every part gets it: a failure (broker stopped, a full queue, a defect, even a synchronous
   * throw) is counted under stage `publish` and logged rate-limited, then handed to the caller as a rejection.
   */
  countedPublish(publish: Publish): Publish {
    const failed = (err: unknown, topic: string): never => {
      this.report('publish', err, { topic });
      throw err;
    };
    return (topic, payload, opts) => {
      try {
        return publish(topic, payload, opts).catch((err: unknown) => failed(err, topic));
      } catch (err) {
        return Promise.reject(err).catch((e: unknown) => failed(e, topic));
      }
    };
  }
}
