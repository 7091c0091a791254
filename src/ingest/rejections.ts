import type { Bus } from '../bus.js';
import { truncatePayload, type Logger } from '../log.js';
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

/** Beyond this many devices remembered for log rate-limiting, the memory is reset (anonymous mode can invent ids). */
const MAX_TRACKED = 10_000;

/**
 * Handles a message that does not fit (contract §2): counted, logged at most once per device per interval,
 * and published with its reason on `{base}/{site}/gateway/rejected`.
 */
export class Rejections {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private readonly count: (labels?: Record<string, string>) => void;

  constructor(
    private readonly topics: Topics,
    private readonly bus: Bus,
    metrics: Metrics,
    private readonly log: Logger,
    private readonly publish: Publish,
    private readonly intervalMs: number,
  ) {
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
    this.publish(this.topics.rejected(r.site), body, { qos: 0 }).catch((err: unknown) =>
      this.log.error({ err, site: r.site }, 'rejection publish failed'),
    );
  }

  private logRateLimited(r: Rejection): void {
    // One key for every unregistered device: ids an anonymous client invents cannot add log lines.
    const key = r.device ?? 'unregistered';
    const now = Date.now();
    const last = this.lastLogged.get(key);
    if (last && now - last.at < this.intervalMs) {
      last.suppressed++;
      return;
    }
    if (this.lastLogged.size >= MAX_TRACKED) this.lastLogged.clear();
    this.lastLogged.set(key, { at: now, suppressed: 0 });
    this.log.warn(
      {
        site: r.site,
        kind: r.kind,
        device: r.device,
        topic: r.topic,
        reason: r.reason,
        suppressed: last?.suppressed ?? 0,
        payload: r.payload && truncatePayload(r.payload),
      },
      'message rejected',
    );
  }
}
