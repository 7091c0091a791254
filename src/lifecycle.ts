import type { Logger } from './log.js';

/** A started part's stop, named for the log. */
export type Stop = [name: string, stop: () => unknown];

/**
 * Stops what was started, in reverse order; every part is stopped even if one fails, and the failures are
 * returned (the composition roots of the gateway and of an ingest worker).
 */
export async function stopInReverse(stops: Stop[], log: Logger): Promise<Error[]> {
  const errors: Error[] = [];
  while (stops.length > 0) {
    const [name, stop] = stops.pop()!;
    try {
      await stop();
    } catch (err) {
      log.error({ err, part: name }, 'part failed to stop');
      errors.push(err instanceof Error ? err : new Error(String(err)));
    }
  }
  return errors;
}
