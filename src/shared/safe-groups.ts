/** What to do when a group's promise settles: `err` is undefined when the items are safe. */
export interface SafeGroupHandlers<T> {
  /** Once per group, before its items (e.g. one log line for a whole failed batch). */
  settled?(count: number, err: Error | undefined): void;
  /** Once per item, in the order added. */
  each(item: T, err: Error | undefined): void;
  /** An item's `each` threw: told here, and the group's other items still run. */
  failed(failure: unknown, item: T): void;
}

/**
 * Items (PUBACKs, callbacks) waiting for the promise that says their message is safe, grouped under it.
 * Thousands of messages share one InfluxDB batch promise, so a group takes one promise reaction per batch
 * instead of one per message. Used by the embedded broker (`Broker.whenSafe`) and the external one
 * (`ExternalBroker.ackLater`).
 */
export class SafeGroups<T> {
  private readonly groups = new Map<Promise<void>, T[]>();

  constructor(private readonly handlers: SafeGroupHandlers<T>) {}

  /** Runs `each(item)` once `safe` settles, together with every other item added under the same promise. */
  add(safe: Promise<void>, item: T): void {
    const group = this.groups.get(safe);
    if (group) {
      group.push(item);
      return;
    }
    const items = [item];
    this.groups.set(safe, items);
    safe.then(
      () => this.settle(safe, items, undefined),
      (err: unknown) => this.settle(safe, items, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private settle(safe: Promise<void>, items: T[], err: Error | undefined): void {
    this.groups.delete(safe);
    this.handlers.settled?.(items.length, err);
    for (const item of items) {
      // One item's failure (a connection that cannot take its PUBACK) must not keep the others from theirs.
      try {
        this.handlers.each(item, err);
      } catch (failure) {
        this.handlers.failed(failure, item);
      }
    }
  }
}
