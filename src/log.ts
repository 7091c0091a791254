import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Paths pino replaces with "[redacted]" wherever they appear in a log object. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  '*.password',
  '*.token',
  '*.secret',
  'mqtt.password',
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
];

/** LOG_FORMAT: one JSON object a line (for journald, Docker, a log shipper) or readable lines (a person at a terminal). */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set; otherwise readable lines when standard output is a terminal, JSON when it is not. */
export function logFormatFor(setting: LogFormat | undefined, isTty: boolean): LogFormat {
  return setting ?? (isTty ? 'pretty' : 'json');
}

/** The root logger; each part takes `log.child({ module })`. */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (format === 'json') return pino(options);
  // In-process and synchronous, like pino's default destination: a fatal line is out before process.exit.
  const stream = pretty({
    colorize: process.stdout.isTTY === true,
    // The local time of TZ (main.ts sets it before the logger is made): the site's clock, not UTC.
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
    destination: 1,
  });
  return pino(options, stream);
}

/** Cuts an untrusted payload to a size worth logging. */
export function truncatePayload(payload: Buffer | string, max = 200): string {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8', 0, Math.min(payload.length, max * 4));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Keys remembered by a LogLimiter; beyond, the memory starts afresh (an attacker cannot grow it). */
const LIMITER_MAX_KEYS = 10_000;

/** Lets one log line per key through per interval, and counts the ones it held back in between. */
export class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** When a line for `key` may be written now: how many were held back since the last one; else undefined. */
  allow(key: string): number | undefined {
    const now = this.now();
    const last = this.last.get(key);
    if (last && now - last.at < this.intervalMs) {
      last.suppressed++;
      return undefined;
    }
    if (this.last.size >= LIMITER_MAX_KEYS) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return last?.suppressed ?? 0;
  }
}
