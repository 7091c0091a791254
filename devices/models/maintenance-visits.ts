import { localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';

const DAY_MS = 24 * 3_600_000;
/** A visit starts between these local hours and lasts between these minutes. */
const START_HOURS: [number, number] = [9, 11];
const LASTS_MINUTES: [number, number] = [45, 90];

/**
 * A maintainer's visits to one piece of equipment: every `everyDays` (a lift: TSG T5002-2017 asks for at least
 * every 15 days), in the morning, for an hour or so. The first falls at a random day of the first interval, so a
 * site's lifts are not all serviced on the same day. `everyDays` 0: nobody comes.
 */
export class MaintenanceVisits {
  private next: number;
  private end: number | undefined;

  constructor(
    private readonly rng: Random,
    private readonly timeZone: string,
    private readonly everyDays: number,
    now: number,
  ) {
    this.next = everyDays > 0 ? this.morningOf(now + rng.between(0, everyDays) * DAY_MS) : Infinity;
    if (this.next < now) this.next += DAY_MS;
  }

  /** The start (`begin`) or end of a visit due at or before `now`, if one is. */
  due(now: number): { at: number; begin: boolean } | undefined {
    const at = this.end ?? this.next;
    return at <= now ? { at, begin: this.end === undefined } : undefined;
  }

  /** The visit due has begun (it ends an hour or so later) or ended (the next is `everyDays` later). */
  done(): void {
    if (this.end === undefined) {
      this.end = this.next + this.rng.between(...LASTS_MINUTES) * 60_000;
    } else {
      this.end = undefined;
      this.next = this.morningOf(this.next + this.everyDays * DAY_MS);
    }
  }

  /** The equipment could not be serviced (it is broken down, or already in a maintainer's hands): tomorrow. */
  postpone(): void {
    this.next = this.morningOf(this.next + DAY_MS);
  }

  private morningOf(t: number): number {
    const midnight = t - Math.round(localTime(t, this.timeZone).hour * 3_600_000);
    return midnight + this.rng.between(...START_HOURS) * 3_600_000;
  }
}
