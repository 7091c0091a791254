import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A logger at `level` whose every line is kept, parsed, in `lines` (pino writes to it synchronously). */
export function logLines(level = 'info'): { lines: Array<Record<string, any>>; log: Logger } {
  const lines: Array<Record<string, any>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, any>);
      done();
    },
  });
  return { lines, log: createLogger(level, stream) };
}
