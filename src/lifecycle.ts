import type { Logger } from './log.js';

/**
 * A long-lived piece of the gateway (house style §2): built from the config and the parts it needs, its
 * constructor only assigns; `start()` acquires (listeners, timers, files), `stop()` releases them all and is
 * idempotent. `name` is how the log, the failure count and the bus call it.
 */
export interface Part {
  readonly name: string;
  start(): unknown;
  stop(): unknown;
}

/** A part made of two functions, for a step that is not a class of its own (open a file and start a writer). */
export function part(name: string, start: () => unknown, stop: () => unknown): Part {
  return { name, start, stop };
}

/**
 * Starts a role's parts in order and stops them in reverse (z2m `Controller`): a part starts only after every
 * part before it has, and only the started ones are stopped, each even if another fails.
 */
export class Lifecycle {
  private readonly started: Part[] = [];

  constructor(private readonly log: Logger) {}

  /** Starts each part in turn; a part that fails to start is not stopped, and the error is thrown. */
  async start(parts: ReadonlyArray<Part | undefined>): Promise<void> {
    for (const p of parts) {
      if (!p) continue;
      await p.start();
      this.started.push(p);
    }
  }

  /** Stops the started parts in reverse order and answers the failures (each is logged). */
  async stop(): Promise<Error[]> {
    const errors: Error[] = [];
    while (this.started.length > 0) {
      const p = this.started.pop()!;
      try {
        await p.stop();
      } catch (err) {
        this.log.error({ err, part: p.name }, 'part failed to stop');
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return errors;
  }
}
