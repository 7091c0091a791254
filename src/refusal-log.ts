import { truncatePayload, type Logger } from './log.js';

/** Sources logged one by one in a window; refusals from further sources are summed into one line. */
const DEFAULT_MAX_SOURCES = 100;

interface Window {
  /** Refusals after the first of each phrase, which was logged in full, by phrase. */
  counts: Record<string, number>;
}

/**
 * Refusals that anyone on the network can cause (failed logins, refused filters and publishes, refused HTTP
 * requests) logged without letting them fill the disk: the first refusal of each kind (its log phrase) from a
 * source in a window is logged in full, the rest are counted and written as one summary line per source when
 * the window ends. At most `maxSources` sources are logged per window; the others share one line.
 * docs/operations.md states the bound.
 */
export class RefusalLog {
  private readonly sources = new Map<string, Window>();
  private overflow: Record<string, number> = {};
  private overflowSources = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly maxSources = DEFAULT_MAX_SOURCES,
  ) {}

  /** One refusal from `source` (an address or a client id); `phrase` is the log message, `detail` its data. */
  note(source: string, phrase: string, detail: Record<string, unknown>, level: 'info' | 'warn' = 'warn'): void {
    let seen = this.sources.get(source);
    if (seen && phrase in seen.counts) {
      seen.counts[phrase]++;
      return;
    }
    this.arm();
    if (!seen && this.sources.size >= this.maxSources) {
      this.overflow[phrase] = (this.overflow[phrase] ?? 0) + 1;
      // Bounded like the sources themselves: past that, only the counts grow.
      if (this.overflowSources.size < 10 * this.maxSources) this.overflowSources.add(source);
      return;
    }
    if (!seen) {
      seen = { counts: {} };
      this.sources.set(source, seen);
    }
    seen.counts[phrase] = 0;
    this.log[level]({ source: truncatePayload(source), ...cut(detail) }, phrase);
  }

  /** Writes the summaries of the window that ends now. */
  flush(): void {
    for (const [source, w] of this.sources) {
      const refused = Object.fromEntries(Object.entries(w.counts).filter(([, n]) => n > 0));
      if (Object.keys(refused).length > 0) this.log.warn({ source, refused, windowMs: this.intervalMs }, 'refusals summarised');
    }
    if (Object.keys(this.overflow).length > 0) {
      this.log.warn(
        { sources: this.overflowSources.size, refused: this.overflow, windowMs: this.intervalMs },
        'refusals from further sources summarised',
      );
    }
    this.sources.clear();
    this.overflow = {};
    this.overflowSources = new Set();
  }

  readonly name = 'refusal log';

  /** Nothing to acquire: the window's timer starts with the first refusal. */
  start(): void {}

  /** Writes what is pending and releases the timer. Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** The window's timer runs only while there is something to summarise. */
  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const idle = this.sources.size === 0 && Object.keys(this.overflow).length === 0;
      this.flush();
      if (idle && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, this.intervalMs);
    this.timer.unref();
  }
}

/** Strings an attacker chooses (a 64 KB client id or topic) cut to a size worth logging. */
function cut(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail)) out[key] = typeof value === 'string' ? truncatePayload(value) : value;
  return out;
}
