import { isIPv4, isIPv6 } from 'node:net';
import type { Metrics } from '../metrics.js';

/** The contract's numbers (§15); every one can be changed through the constructor, for tests. */
export const THROTTLE_DEFAULTS = {
  /** Failures of a pair answered at once; each further one waits longer. */
  freeFailures: 5,
  /** Failures of a pair after which it is refused without checking the secret. */
  blockAfter: 20,
  /** The window failures are counted in. */
  windowMs: 10 * 60_000,
  /** How long a blocked pair, or a source over `sourceLimit`, stays blocked. */
  blockMs: 10 * 60_000,
  /** The delay of the first slowed failure; each next one waits twice as long, up to `maxDelayMs`. */
  baseDelayMs: 250,
  maxDelayMs: 4_000,
  /** Failures of one source across usernames in the window past which only its known usernames get in. */
  sourceLimit: 100,
  /** How long a username that logged in from a source stays known there. */
  knownForMs: 24 * 3_600_000,
  /** Memory bounds (docs/security.md): the oldest entries are forgotten past them. */
  maxPairs: 20_000,
  maxSources: 20_000,
  maxKnown: 50_000,
  /** Replies held back at once, per source and in all: past them, a failure that would wait is refused at once. */
  maxHeldPerSource: 10,
  maxHeld: 1_000,
} as const;

type Settings = { -readonly [K in keyof typeof THROTTLE_DEFAULTS]: number };
export type ThrottleOptions = Partial<Settings>;

/** What to do before checking a secret: refuse without checking, or check and, if it is wrong, wait `delayMs`. */
export interface Verdict {
  blocked: boolean;
  /** How long the reply to a failure waits; 0 for the first failures. A success never waits. */
  delayMs: number;
  /** When blocked: how long until the source may try again. */
  retryAfterMs?: number;
}

interface Pair {
  /** Times of the failures within the window, oldest first (at most `blockAfter`). */
  failures: number[];
  blockedUntil: number;
}

const BUCKETS = 10;

interface Source {
  /** Failures per tenth of the window (a ring of buckets: bounded memory however many failures). */
  counts: number[];
  /** The bucket number each slot of `counts` belongs to. */
  slots: number[];
  lockedUntil: number;
}

/** Failure counters shared by the throttles of one gateway, labelled by protocol. */
const registered = new WeakMap<Metrics, LoginThrottle[]>();

/**
 * Login throttling (contract §15): failed authentications counted per source address and username (MQTT
 * CONNECT) or per source address (HTTP bearer tokens, no username). After `freeFailures` failures of a pair in
 * `windowMs`, each further failure is answered later and later; after `blockAfter` the pair is refused for
 * `blockMs` without checking the secret. Other usernames of the same source (devices behind one NAT address)
 * are not affected unless the source failed more than `sourceLimit` times across usernames: then only the
 * usernames that logged in from it in the last `knownForMs` get in. A success is never delayed. Memory is
 * bounded by `maxPairs`, `maxSources` and `maxKnown`, the oldest forgotten first.
 */
export class LoginThrottle {
  private readonly o: Settings;
  private readonly pairs = new Map<string, Pair>();
  private readonly sources = new Map<string, Source>();
  /** `source\nusername` → when it last logged in from there. */
  private readonly known = new Map<string, number>();
  /** Replies held back per source; and each held reply, to answer it at stop. */
  private readonly held = new Map<string, number>();
  private readonly pending = new Set<{ timer: NodeJS.Timeout; reply: () => void }>();
  private stopped = false;
  private readonly count: { failed: () => void; delayed: () => void; blocked: () => void };

  constructor(
    readonly protocol: 'mqtt' | 'http',
    metrics: Metrics,
    options: ThrottleOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.o = { ...THROTTLE_DEFAULTS, ...options };
    const labels = { protocol };
    this.count = {
      failed: metrics.counterFor('gateway_login_failures_total', 'Failed authentications (a wrong or unknown secret), by protocol', labels),
      delayed: metrics.counterFor('gateway_login_delayed_total', 'Failed authentications answered late by the login throttle, by protocol', labels),
      blocked: metrics.counterFor('gateway_login_blocked_total', 'Authentications refused by the login throttle without checking the secret, by protocol', labels),
    };
    const all = registered.get(metrics) ?? [];
    all.push(this);
    registered.set(metrics, all);
    metrics.gauge('gateway_login_blocked_sources', 'Source addresses with a username or token refused by the login throttle now, by protocol', () =>
      all.map((t) => [{ protocol: t.protocol }, t.blockedSources()]),
    );
  }

  readonly name = 'login throttle';

  /** Nothing to acquire: entries are made by failures and expire on their own. */
  start(): void {
    this.stopped = false;
  }

  /** Answers every held reply now and releases its timer. Idempotent. */
  stop(): void {
    this.stopped = true;
    for (const p of [...this.pending]) {
      clearTimeout(p.timer);
      this.pending.delete(p);
      p.reply();
    }
    this.held.clear();
  }

  /** Called before checking a secret: whether to refuse without checking, and how long a failure would wait. */
  check(address: string, username?: string): Verdict {
    const now = this.now();
    const source = sourceKey(address);
    const pair = this.pairs.get(pairKey(source, username));
    if (pair && pair.blockedUntil > now) return this.refuse(pair.blockedUntil - now);
    const src = this.sources.get(source);
    // contract §15: a source that failed too often across usernames keeps only the usernames it is known for.
    if (username !== undefined && src && src.lockedUntil > now && !this.isKnown(source, username, now)) return this.refuse(src.lockedUntil - now);
    const delayMs = this.delayFor((pair ? recent(pair.failures, now - this.o.windowMs).length : 0) + 1);
    // Held replies are bounded: parallel connections cannot make the gateway hold sockets without end.
    if (delayMs > 0 && ((this.held.get(source) ?? 0) >= this.o.maxHeldPerSource || this.pending.size >= this.o.maxHeld)) return this.refuse(this.o.maxDelayMs);
    return { blocked: false, delayMs };
  }

  /** A wrong or unknown secret; returns how long its reply waits. */
  failed(address: string, username?: string): number {
    const now = this.now();
    const source = sourceKey(address);
    this.count.failed();
    const key = pairKey(source, username);
    const pair = this.pairs.get(key) ?? { failures: [], blockedUntil: 0 };
    pair.failures = recent(pair.failures, now - this.o.windowMs);
    pair.failures.push(now);
    const delayMs = this.delayFor(pair.failures.length);
    if (pair.failures.length >= this.o.blockAfter) {
      pair.blockedUntil = now + this.o.blockMs;
      pair.failures = [];
    }
    touch(this.pairs, key, pair, this.o.maxPairs);
    const src = this.sources.get(source) ?? { counts: new Array<number>(BUCKETS).fill(0), slots: new Array<number>(BUCKETS).fill(-1), lockedUntil: 0 };
    if (addFailure(src, now, this.o.windowMs) > this.o.sourceLimit && src.lockedUntil <= now) src.lockedUntil = now + this.o.blockMs;
    touch(this.sources, source, src, this.o.maxSources);
    if (delayMs > 0) this.count.delayed();
    return delayMs;
  }

  /** The right secret: the pair's failures are forgotten and the username is known at this source for a day. */
  succeeded(address: string, username?: string): void {
    // An HTTP source's failures stay: a token of its own must not wipe out the guesses it made at others.
    if (username === undefined) return;
    const source = sourceKey(address);
    this.pairs.delete(pairKey(source, username));
    touch(this.known, pairKey(source, username), this.now(), this.o.maxKnown);
  }

  /**
   * Sends a failure's reply after `delayMs`, holding a place of the source's bounded share (check() refuses
   * past it); returns a cancel for when the client goes away meanwhile. After stop(), replies at once.
   */
  later(address: string, delayMs: number, reply: () => void): () => void {
    if (this.stopped || delayMs <= 0) {
      reply();
      return () => undefined;
    }
    const source = sourceKey(address);
    this.held.set(source, (this.held.get(source) ?? 0) + 1);
    const release = () => {
      if (!this.pending.delete(entry)) return false;
      clearTimeout(entry.timer);
      const n = (this.held.get(source) ?? 1) - 1;
      if (n > 0) this.held.set(source, n);
      else this.held.delete(source);
      return true;
    };
    const entry = {
      timer: setTimeout(() => {
        if (release()) reply();
      }, delayMs),
      reply,
    };
    entry.timer.unref();
    this.pending.add(entry);
    return () => void release();
  }

  /** How many entries it keeps (bounded by the options), for tests and docs/security.md. */
  sizes(): { pairs: number; sources: number; known: number; held: number } {
    return { pairs: this.pairs.size, sources: this.sources.size, known: this.known.size, held: this.pending.size };
  }

  /** Sources with a pair or the whole source refused now. */
  blockedSources(): number {
    const now = this.now();
    const out = new Set<string>();
    for (const [key, pair] of this.pairs) if (pair.blockedUntil > now) out.add(key.slice(0, key.indexOf('\n')));
    for (const [source, src] of this.sources) if (src.lockedUntil > now) out.add(source);
    return out.size;
  }

  private refuse(retryAfterMs: number): Verdict {
    this.count.blocked();
    return { blocked: true, delayMs: 0, retryAfterMs };
  }

  /** The wait of the n-th failure in the window: none up to `freeFailures`, then doubling up to the cap. */
  private delayFor(n: number): number {
    if (n <= this.o.freeFailures) return 0;
    return Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.min(n - this.o.freeFailures - 1, 30));
  }

  private isKnown(source: string, username: string, now: number): boolean {
    const at = this.known.get(pairKey(source, username));
    return at !== undefined && now - at < this.o.knownForMs;
  }
}

/**
 * The address failures are counted under: an IPv4 address as it is (also when written as IPv6-mapped), an
 * IPv6 address by its /64, which one subscriber usually holds whole (one host can pick any address in it).
 */
export function sourceKey(address: string): string {
  if (address.startsWith('::ffff:') && isIPv4(address.slice(7))) return address.slice(7);
  const bare = address.split('%')[0];
  if (!isIPv6(bare)) return address;
  const [head, tail] = bare.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16).toString(16) : '0'))
    .join(':')}::/64`;
}

function pairKey(source: string, username: string | undefined): string {
  return `${source}\n${username ?? ''}`;
}

function recent(times: number[], since: number): number[] {
  const i = times.findIndex((t) => t > since);
  return i === -1 ? [] : i === 0 ? times : times.slice(i);
}

/** Adds one failure to the source's ring of buckets; returns its failures in the window. */
function addFailure(src: Source, now: number, windowMs: number): number {
  const bucket = Math.floor(now / (windowMs / BUCKETS));
  const slot = bucket % BUCKETS;
  if (src.slots[slot] !== bucket) {
    src.slots[slot] = bucket;
    src.counts[slot] = 0;
  }
  src.counts[slot]++;
  let total = 0;
  for (let i = 0; i < BUCKETS; i++) if (src.slots[i] > bucket - BUCKETS) total += src.counts[i];
  return total;
}

/** Sets `key` as the newest entry of `map`, forgetting the oldest past `max`. */
function touch<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as string);
}
