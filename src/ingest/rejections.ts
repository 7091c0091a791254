import type { Bus } from '../bus.js';
import { LogLimiter, truncatePayload, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Publish, Topics } from '../topics.js';

export interface Rejection {
  topic: string;
  reason: string;
  site?: string;
  kind?: string;
  device?: string;
  payload?: Buffer;
}

/** The longest reason logged and published, in characters. */
const MAX_REASON = 300;

/**
 * Handles a message that does not fit (contract §2): counted, logged at most once per device per interval,
 * and published with its reason on `{base}/{site}/gateway/rejected`.
 */
export class Rejections {
  private readonly limiter: LogLimiter;
  private readonly count: (labels?: Record<string, string>) => void;

  constructor(
    private readonly topics: Topics,
    private readonly bus: Bus,
    metrics: Metrics,
    private readonly log: Logger,
    private readonly publish: Publish,
    intervalMs: number,
  ) {
    this.limiter = new LogLimiter(intervalMs);
    this.count = metrics.counter('gateway_messages_rejected_total', 'Device messages refused by validation, by kind');
  }

  reject(rejection: Rejection): void {
    // A reason may repeat what the device sent (5,000 unknown field names): cut, for the log and the topic.
    const r = rejection.reason.length > MAX_REASON ? { ...rejection, reason: truncatePayload(rejection.reason, MAX_REASON) } : rejection;
    this.count({ kind: r.kind ?? 'unknown' });
    this.logRateLimited(r);
    this.bus.emit('messageRejected', { site: r.site, device: r.device, topic: r.topic, reason: r.reason });
    if (!r.site) return;
    const body = JSON.stringify({ topic: r.topic, device: r.device ?? null, reason: r.reason });
    // A failed publish is counted and logged by the gateway's publish (stage `publish`).
    this.publish(this.topics.rejected(r.site), body, { qos: 0 }).catch(() => undefined);
  }

  private logRateLimited(r: Rejection): void {
    // One key for every unregistered device: ids an anonymous client invents cannot add log lines.
    const suppressed = this.limiter.allow(r.device ?? 'unregistered');
    if (suppressed === undefined) return;
    this.log.warn(
      {
        site: r.site,
        kind: r.kind,
        device: r.device,
        topic: r.topic,
        reason: r.reason,
        suppressed,
        payload: r.payload && truncatePayload(r.payload),
      },
      'message rejected',
    );
  }
}
