import { secretMatches } from '../secrets.js';

/**
 * The MQTT password hashes of devices or bridges, with the previous one kept for an overlap after a rotation
 * (contract §15: the old password keeps working for the overlap, then never again). When an overlap ends,
 * `ended(id)` is called, also for an overlap loaded at start: the gateway closes the account's connections then,
 * so none made with the old password outlives it.
 */
export class CredentialHashes {
  private readonly current = new Map<string, string>();
  private readonly previous = new Map<string, { hash: string; until: number }>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly ended: (id: string) => void) {}

  /** Remembers a stored account; a previous hash whose overlap is over is dropped, one still running is armed. */
  load(id: string, hash: string, previousHash: string | null, until: number | null, now = Date.now()): void {
    this.current.set(id, hash);
    if (previousHash !== null && until !== null && until > now) this.keepPrevious(id, previousHash, until, now);
  }

  /** The hash of a new account, or of a rotation without overlap: the previous password stops at once. */
  set(id: string, hash: string): void {
    this.cancel(id);
    this.current.set(id, hash);
  }

  /**
   * A rotation with an overlap: the hash in force becomes the previous one until `until`. Answers the previous
   * hash (null when there was none), for the caller to store.
   */
  rotate(id: string, hash: string, until: number, now = Date.now()): string | null {
    const old = this.current.get(id) ?? null;
    this.cancel(id);
    this.current.set(id, hash);
    if (old !== null) this.keepPrevious(id, old, until, now);
    return old;
  }

  /**
   * Replaces an account's password (new credentials). Without an overlap the old one stops working for new
   * connections at once; with one it keeps working until the overlap ends, then never again, and `ended(id)` is
   * called then. `store` writes the new hash and the previous one with its end (null, null: none) to the account's row.
   */
  replace(id: string, hash: string, overlapMs: number, store: (hash: string, previous: string | null, until: number | null) => void): void {
    if (overlapMs > 0) {
      const until = Date.now() + overlapMs;
      const previous = this.rotate(id, hash, until);
      store(hash, previous, previous === null ? null : until);
    } else {
      this.set(id, hash);
      store(hash, null, null);
    }
  }

  /** Whether `password` is the account's password, or its previous one while the overlap lasts. */
  matches(id: string, password: Buffer | undefined, now = Date.now()): boolean {
    if (secretMatches(password, this.current.get(id))) return true;
    const prev = this.previous.get(id);
    return prev !== undefined && now < prev.until && secretMatches(password, prev.hash);
  }

  forget(id: string): void {
    this.cancel(id);
    this.current.delete(id);
  }

  /** Clears the overlap timers (the registry stops). */
  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private keepPrevious(id: string, hash: string, until: number, now: number): void {
    this.previous.set(id, { hash, until });
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.previous.delete(id);
      this.ended(id);
    }, until - now);
    timer.unref();
    this.timers.set(id, timer);
  }

  private cancel(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
    this.previous.delete(id);
  }
}
