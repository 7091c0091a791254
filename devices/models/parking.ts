import { bump, localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import {
  Battery,
  clamp,
  type CommandResult,
  type DeviceModel,
  type DeviceSpec,
  type Fault,
  type ModelContext,
  type ModelFault,
  type SimEvent,
  type StepResult,
  type Telemetry,
} from './model.js';

/**
 * A residential car park. Role `lot`: the gate controller, whose ANPR cameras read every plate in and out, and
 * whose count of the plates inside is what `freeSpaces` reports. Role `space`: a battery sensor over one space,
 * taken with the same daily probability as the lot. Role `fire-lane`: a sensor on the fire lane, where nobody
 * parks unless the `fire-lane` fault puts a car there.
 *
 * Plates are Chinese-style (`沪A·12345`, new-energy `沪B·D12345`: 8 or 9 characters), as the demo site is in
 * Shanghai; most are residents' cars that come back, some are visitors seen once.
 */

/** The lot moves in slices of at most a minute, so the arrival rates follow the curve. */
const LOT_SLICE_MS = 60_000;
/** After a longer gap (a paused simulator) only the last hours are played: the count has caught up by then. */
const MAX_CATCH_UP_MS = 6 * 3_600_000;
/** How fast the count closes the gap to the day's curve (h): the morning rush takes about an hour. */
const RELAX_H = 0.5;
/** Cars that come and go whatever the curve (deliveries, errands), per space and hour at midday. */
const CHURN_PER_SPACE_H = 0.03;
/** Share of entries by day that are visitors (a fresh plate) rather than residents. */
const VISITOR_SHARE = 0.12;
/** A space's comings and goings (per hour) besides the daily rhythm: an errand, a visitor's car. */
const SPACE_CHURN_PER_H = 0.2;
const SPACE_SLICE_MS = 5 * 60_000;

const PROVINCES = ['沪', '沪', '沪', '沪', '沪', '苏', '浙', '皖'];
const LETTERS = [...'ABCDEFGHJKLMNPQRSTUVWXYZ']; // plates never use I or O

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Share of a residential car park's spaces taken at local `hour`: full overnight, emptier by day. */
export function occupancyShare(hour: number, weekend: boolean, night: number, day: number): number {
  // Weekdays: cars leave 07:00–09:00 and come back 17:00–21:00; weekends later, and fewer leave.
  const leave = sigmoid((hour - (weekend ? 10 : 8)) / (weekend ? 0.9 : 0.45));
  const back = sigmoid((hour - (weekend ? 18.5 : 19)) / 0.8);
  const away = weekend ? day + 0.25 : day;
  return night - (night - Math.min(away, night)) * leave * (1 - back);
}

/** A Chinese-style plate: province, city letter, `·`, five characters (new-energy: D or F and five digits). */
export function randomPlate(rng: Random): string {
  const head = `${rng.pick(PROVINCES)}${rng.pick(LETTERS.slice(0, 8))}·`;
  if (rng.chance(0.2)) return `${head}${rng.pick(['D', 'F'])}${String(rng.int(0, 99_999)).padStart(5, '0')}`;
  let tail = '';
  for (let i = 0; i < 5; i++) tail += rng.chance(0.15) ? rng.pick(LETTERS) : String(rng.int(0, 9));
  return `${head}${tail}`;
}

/** The plates inside a lot, with O(1) random pick and removal (a lot may hold thousands). */
class PlateBag {
  private readonly list: string[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.list.length;
  }

  has(plate: string): boolean {
    return this.index.has(plate);
  }

  add(plate: string): void {
    this.index.set(plate, this.list.length);
    this.list.push(plate);
  }

  /** Removes and returns a random plate (the bag must not be empty). */
  take(rng: Random): string {
    const i = Math.floor(rng.next() * this.list.length);
    const plate = this.list[i];
    const last = this.list.pop()!;
    if (i < this.list.length) {
      this.list[i] = last;
      this.index.set(last, i);
    }
    this.index.delete(plate);
    return plate;
  }
}

export class ParkingModel implements DeviceModel {
  private readonly rng: Random;
  private readonly timeZone: string;
  private readonly capacity: number;
  /** This car park's overnight and weekday daytime shares of spaces taken. */
  private readonly nightShare: number;
  private readonly dayShare: number;
  private readonly battery: Battery | undefined;
  private last: number;
  /** lot: residents' cars inside and outside; visitors are only ever inside. */
  private readonly inside = new PlateBag();
  private readonly away = new PlateBag();
  private readonly residents = new Set<string>();
  /** space: whether a car is over the sensor (a fire-lane sensor sees one only under its fault). */
  private occupied = false;
  private barrierFault = false;
  private fireLaneCar = false;
  private lowBattery = false;
  private readonly shareByMinute = new Map<number, number>();
  private pending: SimEvent[] = [];
  private reportDue = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.timeZone = ctx.place.timeZone;
    this.capacity = spec.role === 'lot' ? Math.max(0, Math.floor(spec.params.capacity ?? 0)) : 1;
    this.nightShare = this.rng.between(0.85, 0.95);
    this.dayShare = this.rng.between(0.3, 0.4);
    this.battery = spec.role === 'lot' ? undefined : new Battery(this.rng);
    this.last = now;
    if (spec.role === 'lot') this.fillLot(now);
    else if (spec.role !== 'fire-lane') this.occupied = this.rng.chance(this.share(now));
  }

  step(now: number): StepResult {
    this.advance(now);
    const result = { events: this.pending, reportNow: this.reportDue };
    this.pending = [];
    this.reportDue = false;
    return result;
  }

  telemetry(_now: number): Telemetry {
    if (this.spec.role === 'lot') return { freeSpaces: this.capacity - this.inside.size, capacity: this.capacity };
    return { occupied: this.spec.role === 'fire-lane' ? this.fireLaneCar : this.occupied, batteryPct: this.battery!.pct() };
  }

  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    if (this.spec.role !== 'lot' || action !== 'barrier_open') {
      return { ok: false, error: `unknown action ${action} for parking ${this.spec.role}` };
    }
    if (this.barrierFault) return { ok: false, error: 'barrier fault' };
    this.pending.push({ type: 'barrier_open' });
    this.reportDue = true;
    return { ok: true };
  }

  startFault(fault: Fault, now: number): boolean {
    const role = this.spec.role;
    const applies =
      (fault.name === 'barrier-fault' && role === 'lot') ||
      (fault.name === 'fire-lane' && role === 'fire-lane') ||
      (fault.name === 'low-battery' && this.battery !== undefined);
    if (!applies) return false;
    this.advance(now);
    if (fault.name === 'barrier-fault') {
      if (this.barrierFault) return true;
      // The arm is stuck; the ANPR cameras still read the plates, so the count goes on.
      this.barrierFault = true;
      this.pending.push({ type: 'barrier_fault' });
    } else if (fault.name === 'fire-lane') {
      this.fireLaneCar = true;
    } else {
      this.lowBattery = true;
      this.battery!.drain();
    }
    this.reportDue = true;
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'barrier-fault' && this.barrierFault) this.barrierFault = false;
    else if (name === 'fire-lane' && this.fireLaneCar) this.fireLaneCar = false;
    else if (name === 'low-battery' && this.lowBattery) {
      this.lowBattery = false;
      this.battery!.replace();
    } else return false;
    this.reportDue = true;
    return true;
  }

  /** The day's curve for this car park at `at`, to the minute (remembered: sensors step every second). */
  private share(at: number): number {
    const minute = Math.floor(at / 60_000);
    let value = this.shareByMinute.get(minute);
    if (value === undefined) {
      const { hour, weekend } = localTime(minute * 60_000, this.timeZone);
      value = occupancyShare(hour, weekend, this.nightShare, this.dayShare);
      if (this.shareByMinute.size >= 16) this.shareByMinute.clear();
      this.shareByMinute.set(minute, value);
    }
    return value;
  }

  private advance(now: number): void {
    if (now <= this.last) return;
    const dt = now - this.last;
    this.battery?.advance(dt);
    if (this.spec.role === 'lot') this.advanceLot(now);
    else if (this.spec.role !== 'fire-lane') this.advanceSpace(now);
    this.last = now;
  }

  /** Residents' cars: enough for the overnight peak and some to spare; the curve's share of them inside. */
  private fillLot(now: number): void {
    const fleet = Math.ceil(this.capacity * this.rng.between(1.0, 1.1));
    while (this.residents.size < fleet) {
      const plate = randomPlate(this.rng);
      if (this.residents.has(plate)) continue;
      this.residents.add(plate);
      this.away.add(plate);
    }
    const parked = Math.min(this.capacity, Math.round(this.share(now) * this.capacity));
    while (this.inside.size < parked) this.inside.add(this.away.take(this.rng));
  }

  /** Cars in and out, slice by slice: a little churn, plus the flow that brings the count to the curve. */
  private advanceLot(now: number): void {
    let t = Math.max(this.last, now - MAX_CATCH_UP_MS);
    while (t < now) {
      const dt = Math.min(LOT_SLICE_MS, now - t);
      t += dt;
      const { hour } = localTime(t, this.timeZone);
      const churn = this.capacity * CHURN_PER_SPACE_H * (0.15 + bump(hour, 13, 4));
      const net = (this.share(t) * this.capacity - this.inside.size) / RELAX_H;
      const exits = Math.min(this.rng.poisson(churn + Math.max(0, -net), dt), this.inside.size);
      for (let i = 0; i < exits; i++) this.exit();
      const entries = Math.min(this.rng.poisson(churn + Math.max(0, net), dt), this.capacity - this.inside.size);
      const visitorShare = hour >= 8 && hour < 21 ? VISITOR_SHARE : VISITOR_SHARE / 4;
      for (let i = 0; i < entries; i++) this.enter(visitorShare);
    }
  }

  private enter(visitorShare: number): void {
    let plate: string;
    if (this.away.size > 0 && !this.rng.chance(visitorShare)) {
      plate = this.away.take(this.rng);
    } else {
      do plate = randomPlate(this.rng);
      while (this.residents.has(plate) || this.inside.has(plate));
    }
    this.inside.add(plate);
    this.pending.push({ type: 'vehicle_entry', plate });
  }

  private exit(): void {
    const plate = this.inside.take(this.rng);
    // A resident's car is away until it comes back; a visitor's plate is forgotten.
    if (this.residents.has(plate)) this.away.add(plate);
    this.pending.push({ type: 'vehicle_exit', plate });
  }

  /**
   * A two-state chain that keeps the curve: some churn that leaves the share as it is, plus the cars that
   * leave as the curve falls (mornings) or come as it rises (evenings). So a space changes a few times a day.
   */
  private advanceSpace(now: number): void {
    let t = this.last;
    while (t < now) {
      const dt = Math.min(SPACE_SLICE_MS, now - t);
      t += dt;
      const p = clamp(this.share(t), 0.02, 0.98);
      const slopePerH = ((this.share(t + SPACE_SLICE_MS) - this.share(t - SPACE_SLICE_MS)) * 3_600_000) / (2 * SPACE_SLICE_MS);
      const rate = this.occupied
        ? SPACE_CHURN_PER_H * (1 - p) + Math.max(0, -slopePerH) / p
        : SPACE_CHURN_PER_H * p + Math.max(0, slopePerH) / (1 - p);
      if (this.rng.chance(1 - Math.exp(-rate * (dt / 3_600_000)))) {
        this.occupied = !this.occupied;
        // Space sensors report a change at once (and otherwise only a heartbeat) to save the battery.
        this.reportDue = true;
      }
    }
  }
}
