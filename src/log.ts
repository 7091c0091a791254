import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

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

/** The root logger; each part takes `log.child({ module })`. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Cuts an untrusted payload to a size worth logging. */
export function truncatePayload(payload: Buffer | string, max = 200): string {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8', 0, Math.min(payload.length, max * 4));
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
