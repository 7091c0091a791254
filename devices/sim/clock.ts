/**
 * Simulated time. The models live on it; the MQTT traffic stays on real time. At `speed` 60 a day of the
 * models' life passes in 24 real minutes, while telemetry still goes out at its real interval and carries
 * the real time as `ts` (a simulated `ts` would run into the future, which the gateway refuses: contract §2).
 */
export interface Clock {
  /** Simulated epoch milliseconds. */
  now(): number;
  /** Real milliseconds for `simMs` of simulated time. */
  toReal(simMs: number): number;
}

export class SimClock implements Clock {
  private readonly realStart: number;

  constructor(
    private readonly simStart: number,
    readonly speed: number,
    private readonly realNow: () => number = Date.now,
  ) {
    this.realStart = realNow();
  }

  now(): number {
    return this.simStart + (this.realNow() - this.realStart) * this.speed;
  }

  toReal(simMs: number): number {
    return simMs / this.speed;
  }
}

/** A clock the tests move by hand. */
export class ManualClock implements Clock {
  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  toReal(simMs: number): number {
    return simMs;
  }

  advance(ms: number): number {
    this.time += ms;
    return this.time;
  }

  set(time: number): void {
    this.time = time;
  }
}
