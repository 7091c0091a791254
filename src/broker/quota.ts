/**
 * The per-device quota (docs/integrators.md, "Over quota"): a token bucket per device, refilled at
 * `DEVICE_MAX_RATE` tokens a second up to its burst. A message that finds no token is over quota: at QoS 0 it is
 * refused, at QoS 1 it waits, in its device's order, until a token comes (its PUBACK with it). A life-safety event
 * never waits and never takes a token. A device whose rate over the last 10 s is above the rate while it is over
 * quota is flooding, until 10 s pass with nothing over quota and nothing waiting.
 */
import { LIFE_SAFETY_EVENTS } from '../devices/kinds/index.js';

/** The window a device's rate is averaged over, and how long it must stay within its quota to calm down. */
export const QUOTA_WINDOW_MS = 10_000;

/**
 * Delayed messages one device may have waiting. aedes reads a connection's next chunk only once every packet of
 * the last one has been handled, so one connection adds at most one socket chunk; this bounds a device that opens
 * many connections. The message past it closes the connection it came on (nothing is acknowledged, nothing lost).
 */
export const MAX_DELAYED = 2_000;

/** How often buckets are refilled for the waiting messages' sake, calm devices cleared and idle buckets dropped. */
const SWEEP_MS = 1_000;

/** The burst a rate allows when DEVICE_MAX_BURST is not set: 50, or 5 s of the rate when that is more. */
export function defaultBurst(rate: number): number {
  return Math.max(50, Math.ceil(5 * rate));
}

/** The quota in force: undefined when DEVICE_MAX_RATE is 0 (off). */
export function quotaOf(settings: { rate: number; burst?: number }): { rate: number; burst: number } | undefined {
  if (settings.rate <= 0) return undefined;
  return { rate: settings.rate, burst: settings.burst ?? defaultBurst(settings.rate) };
}

/** The `"type"` strings of the life-safety events, by kind: a payload without one cannot be one. */
const LIFE_SAFETY_TYPES = new Map<string, Buffer[]>();
for (const { kind, type } of LIFE_SAFETY_EVENTS) {
  LIFE_SAFETY_TYPES.set(kind, [...(LIFE_SAFETY_TYPES.get(kind) ?? []), Buffer.from(JSON.stringify(type))]);
}

/**
 * Whether a native device's message may be a life-safety event, without parsing it: an `event` of a kind that has
 * some, whose payload holds one of their types as a JSON string. It only exempts the message from the quota; ingest
 * validates it fully. A payload that hides the type (escapes) is simply counted.
 */
export function mayBeLifeSafety(kind: string, suffix: string, payload: Buffer): boolean {
  if (suffix !== 'event') return false;
  const types = LIFE_SAFETY_TYPES.get(kind);
  return types !== undefined && types.some((t) => payload.includes(t));
}

/** Whether a kind has life-safety events at all. */
export function hasLifeSafetyEvents(kind: string): boolean {
  return LIFE_SAFETY_TYPES.has(kind);
}

/** What the quota says of one message. */
export type Verdict =
  /** Within the quota (or exempt): handle it now. */
  | 'pass'
  /** A QoS 0 message over quota: refuse it. */
  | 'refuse'
  /** A QoS 1 message over quota: hand it to `wait`, which runs it when its turn and token come. */
  | 'wait'
  /** A QoS 1 message over quota while MAX_DELAYED already wait: close its connection. */
  | 'overflow';

export interface QuotaDeps<T> {
  /** Tokens a second. */
  rate: number;
  /** The bucket's size: messages a calm device may send at once. */
  burst: number;
  /** A device started (`on`) or stopped flooding; `rate` is its messages a second over the last 10 s. */
  flooding(tag: T, on: boolean, rate: number): void;
  /** A delayed message's handling threw (the broker's own guard should have caught it). */
  failed(err: unknown): void;
  maxDelayed?: number;
  now?: () => number;
}

interface Delayed {
  /** The connection it came on: when that closes, it is dropped unacknowledged (the device sends it again). */
  owner: object;
  run(): void;
}

/** One device's bucket: a few numbers, and a queue only while it has messages waiting. */
interface Bucket<T> {
  tag: T;
  tokens: number;
  /** When `tokens` was last refilled. */
  at: number;
  /** Messages offered in the current window, and in the window before it. */
  count: number;
  previous: number;
  windowStart: number;
  last: number;
  /** When a message last found no token. */
  lastExcess: number;
  flooding: boolean;
  queue?: Delayed[];
  timer?: NodeJS.Timeout;
}

/** The token buckets of every device heard from lately, keyed by device id; `T` is what `flooding` is told. */
export class DeviceQuota<T> {
  private readonly buckets = new Map<string, Bucket<T>>();
  /** The devices with messages waiting. */
  private readonly waiting = new Set<Bucket<T>>();
  private readonly now: () => number;
  private readonly maxDelayed: number;
  private sweeper?: NodeJS.Timeout;
  private lastSweep = -Infinity;
  private delayedCount = 0;

  constructor(private readonly deps: QuotaDeps<T>) {
    this.now = deps.now ?? Date.now;
    this.maxDelayed = deps.maxDelayed ?? MAX_DELAYED;
  }

  /** Messages waiting for a token now, over every device. */
  get delayed(): number {
    return this.delayedCount;
  }

  /** Devices with a bucket now. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * The verdict on one message of device `key`. A life-safety message passes at once; any of the device's QoS 1
   * messages waiting ahead of it are let through first, in order, so it overtakes nothing of its own.
   */
  take(key: string, tag: T, qos: number, lifeSafety: boolean): Verdict {
    const now = this.now();
    const b = this.bucketOf(key, tag, now);
    b.last = now;
    roll(b, now);
    b.count++;
    this.refill(b, now);
    if (lifeSafety) {
      if (b.queue) this.flush(b);
      return 'pass';
    }
    if (b.queue) this.drain(b);
    if (!b.queue && b.tokens >= 1) {
      b.tokens -= 1;
      return 'pass';
    }
    // Over quota: whether the device is flooding is for the next sweep to say (its rate over 10 s).
    b.lastExcess = now;
    if (qos === 0) return 'refuse';
    return (b.queue?.length ?? 0) >= this.maxDelayed ? 'overflow' : 'wait';
  }

  /** Queues the message `take` answered `wait` for; `run` is called when its turn and its token come. */
  wait(key: string, owner: object, run: () => void): void {
    const b = this.buckets.get(key);
    if (!b) throw new Error(`quota: no bucket for ${key}: wait follows take`);
    (b.queue ??= []).push({ owner, run });
    this.delayedCount++;
    this.waiting.add(b);
    this.schedule(b);
  }

  /** Drops the waiting messages of a closed connection: never acknowledged, they are sent again by the device. */
  forget(owner: object): void {
    for (const b of this.waiting) {
      const kept = b.queue!.filter((d) => d.owner !== owner);
      this.delayedCount -= b.queue!.length - kept.length;
      if (kept.length > 0) b.queue = kept;
      else this.settled(b);
    }
  }

  /** Releases every timer; waiting messages are dropped unacknowledged (their connections are closing). */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const b of this.waiting) this.settled(b);
    this.delayedCount = 0;
    this.buckets.clear();
  }

  private bucketOf(key: string, tag: T, now: number): Bucket<T> {
    let b = this.buckets.get(key);
    if (b) {
      b.tag = tag;
      return b;
    }
    b = { tag, tokens: this.deps.burst, at: now, count: 0, previous: 0, windowStart: now, last: now, lastExcess: -Infinity, flooding: false };
    this.buckets.set(key, b);
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
    return b;
  }

  private refill(b: Bucket<T>, now: number): void {
    b.tokens = Math.min(this.deps.burst, b.tokens + ((now - b.at) * this.deps.rate) / 1000);
    b.at = now;
  }

  /** Runs waiting messages while there are tokens; reschedules for the next token. */
  private drain(b: Bucket<T>): void {
    const queue = b.queue!;
    while (queue.length > 0 && b.tokens >= 1) {
      b.tokens -= 1;
      this.run(queue.shift()!);
    }
    if (queue.length === 0) this.settled(b);
    else this.schedule(b);
  }

  /** Runs every waiting message now, ahead of a life-safety event; they borrow from the tokens to come. */
  private flush(b: Bucket<T>): void {
    const queue = b.queue!;
    this.settled(b);
    b.tokens = Math.max(-this.deps.burst, b.tokens - queue.length);
    for (const d of queue) this.run(d);
  }

  /** Contract: the rate is averaged over 10 s; a burst the bucket trims is not flooding on its own. */
  private floodingIfAbove(b: Bucket<T>, now: number): void {
    const rate = rateOf(b, now);
    if (rate <= this.deps.rate) return;
    b.flooding = true;
    this.deps.flooding(b.tag, true, rate);
  }

  private run(d: Delayed): void {
    this.delayedCount--;
    try {
      d.run();
    } catch (err) {
      this.deps.failed(err);
    }
  }

  private schedule(b: Bucket<T>): void {
    if (b.timer) return;
    const ms = Math.max(1, Math.ceil(((1 - b.tokens) * 1000) / this.deps.rate));
    b.timer = setTimeout(() => {
      b.timer = undefined;
      if (!b.queue) return;
      this.refill(b, this.now());
      this.drain(b);
    }, ms);
  }

  /** The device has nothing waiting any more. */
  private settled(b: Bucket<T>): void {
    if (b.timer) clearTimeout(b.timer);
    b.timer = undefined;
    b.queue = undefined;
    this.waiting.delete(b);
  }

  /**
   * Tells of the devices that started flooding since the last sweep (told a second late, their rate says how much
   * they send rather than just above the quota), clears calm devices' flooding and drops the buckets a fresh one
   * would equal (full, idle, calm).
   */
  private sweep(): void {
    const now = this.now();
    const since = this.lastSweep;
    this.lastSweep = now;
    for (const [key, b] of this.buckets) {
      if (!b.flooding && b.lastExcess > since) this.floodingIfAbove(b, now);
      if (b.queue) continue;
      if (b.flooding) {
        if (now - b.lastExcess < QUOTA_WINDOW_MS) continue;
        b.flooding = false;
        this.deps.flooding(b.tag, false, rateOf(b, now));
        continue;
      }
      this.refill(b, now);
      if (b.tokens >= this.deps.burst && now - b.last >= QUOTA_WINDOW_MS) this.buckets.delete(key);
    }
    if (this.buckets.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}

/** Moves the bucket's counting window to the one `now` is in. */
function roll(b: { count: number; previous: number; windowStart: number }, now: number): void {
  const windows = Math.floor((now - b.windowStart) / QUOTA_WINDOW_MS);
  if (windows < 1) return;
  b.previous = windows === 1 ? b.count : 0;
  b.count = 0;
  b.windowStart += windows * QUOTA_WINDOW_MS;
}

/** Messages a second over the last 10 s: this window's count plus the part of the last one still inside. */
function rateOf(b: { count: number; previous: number; windowStart: number }, now: number): number {
  roll(b, now);
  const inside = 1 - (now - b.windowStart) / QUOTA_WINDOW_MS;
  return (b.previous * inside + b.count) / (QUOTA_WINDOW_MS / 1000);
}
