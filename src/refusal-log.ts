import { truncatePayload, type Logger } from './log.js';

/** Sources logged one by one in a window; refusals from further sources are summed into one line. */
const DEFAULT_MAX_SOURCES = 100;

interface Window {
  /** Refusals after the first of each phrase, which was logged in full, by phrase. */
  counts: Record<string, number>;
}

/** Failed logins from one source under one phrase since its last line (noteAttempt). */
interface Attempts {
  source: string;
  phrase: string;
  level: 'info' | 'warn';
  /** Attempts since the last line, by outcome. */
  outcomes: Record<string, number>;
  /** The latest attempt's detail. */
  detail: Record<string, unknown>;
  loggedAt: number;
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
  private readonly attempts = new Map<string, Attempts>();
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
    if (!seen && this.sources.size >= this.maxSources) return this.noteOverflow(source, phrase);
    if (!seen) {
      seen = { counts: {} };
      this.sources.set(source, seen);
    }
    seen.counts[phrase] = 0;
    this.log[level]({ source: truncatePayload(source), ...cut(detail) }, phrase);
  }

  /**
   * One failed login from `source` (contract §15: logged at most once a minute per source): the first is logged
   * at once, later ones at most one line per `intervalMs` with the `attempts` since the line before, by
   * `outcomes` (e.g. `{ bad_credentials: 20, blocked: 980 }`) and the latest attempt's `detail`.
   */
  noteAttempt(source: string, phrase: string, outcome: string, detail: Record<string, unknown>, level: 'info' | 'warn' = 'info'): void {
    const key = `${phrase}\n${source}`;
    let a = this.attempts.get(key);
    if (!a) {
      if (this.attempts.size >= this.maxSources) return this.noteOverflow(source, phrase);
      a = { source, phrase, level, outcomes: {}, detail, loggedAt: -Infinity };
      this.attempts.set(key, a);
    }
    a.outcomes[outcome] = (a.outcomes[outcome] ?? 0) + 1;
    a.detail = detail;
    this.arm();
    if (Date.now() - a.loggedAt >= this.intervalMs) this.writeAttempts(a);
  }

  /** Writes the summaries of the window that ends now. */
  flush(): void {
    this.flushAttempts(false);
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
    this.flushAttempts(true);
  }

  private noteOverflow(source: string, phrase: string): void {
    this.overflow[phrase] = (this.overflow[phrase] ?? 0) + 1;
    // Bounded like the sources themselves: past that, only the counts grow.
    if (this.overflowSources.size < 10 * this.maxSources) this.overflowSources.add(source);
  }

  /** Failed logins pending since a line at least a window old are written; quiet sources are forgotten. */
  private flushAttempts(all: boolean): void {
    const now = Date.now();
    for (const [key, a] of this.attempts) {
      const due = all || now - a.loggedAt >= this.intervalMs;
      const waiting = Object.keys(a.outcomes).length > 0;
      if (due && waiting) this.writeAttempts(a);
      if (all || (due && !waiting)) this.attempts.delete(key);
    }
  }

  private writeAttempts(a: Attempts): void {
    const attempts = Object.values(a.outcomes).reduce((x, y) => x + y, 0);
    this.log[a.level]({ source: truncatePayload(a.source), ...cut(a.detail), attempts, outcomes: a.outcomes }, a.phrase);
    a.outcomes = {};
    a.loggedAt = Date.now();
  }

  /** The window's timer runs only while there is something to summarise. */
  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const idle = this.sources.size === 0 && this.attempts.size === 0 && Object.keys(this.overflow).length === 0;
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
