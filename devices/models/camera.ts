import { bump, isDark, localTime } from '../sim/local-time.js';
import type { Random } from '../sim/random.js';
import {
  clamp,
  round,
  type CommandResult,
  type DeviceModel,
  type DeviceSpec,
  type Fault,
  type ModelContext,
  type ModelFault,
  type SimEvent,
  type SitePlace,
  type StepResult,
  type Telemetry,
  wander,
} from './model.js';

/**
 * An IP camera recording around the clock to an NVR. Motion events follow people: busy in the morning and
 * evening, quiet from 01:00 to 05:00. In the dark the camera switches to infrared, and the grainy picture
 * costs about a fifth more bitrate. The recorder's free space falls while it records until loop recording
 * starts overwriting the oldest footage, and then it stays there.
 */

/** Configured frame rate (fps) when the site gives none. */
const DEFAULT_FPS = 25;
const FPS_JITTER = 0.2;
/** Stream bitrate (kbps) in daylight with an ordinary scene. */
const BITRATE_KBPS = 4096;
const BITRATE_NOISE_SD = 0.05;
const BITRATE_NOISE_TAU_MS = 2 * 60_000;
/** Infrared at night: sensor noise is hard to compress. */
const IR_FACTOR = 1.2;
/** A covered lens gives a black picture, which compresses to almost nothing. */
const COVERED_FACTOR = 0.1;
/** Motion events per hour at the busiest hour (the camera's own figure is drawn around it). */
const PEAK_MOTION_PER_H = 30;
/** Extra motion events per hour in the intrusion's region while the intruder is there. */
const INTRUDER_MOTION_PER_H = 40;
/** Motion is drawn in slices of this many ms, and no more than the last hour after a gap: stale events are dropped. */
const SLICE_MS = 5 * 60_000;
const MAX_EVENT_CATCH_UP_MS = 3_600_000;

/** How busy people are at local `hour` (about 1 at the evening peak, a few per cent in the small hours). */
export function peopleActivity(hour: number, weekend: boolean): number {
  const morning = weekend ? 0.5 * bump(hour, 9.5, 1.5) : 0.9 * bump(hour, 7.8, 1);
  return 0.03 + morning + 0.45 * bump(hour, 13, 2.5) + bump(hour, 19.5, 1.8);
}

/** What the camera looks at, from where it hangs: areas outside, a lobby, or a floor's corridor. */
function regionsOf(spec: DeviceSpec): string[] {
  if (spec.tags.area) return ['driveway', 'entrance', 'perimeter'];
  if (spec.tags.floor === '0') return ['entrance', 'lobby'];
  return ['corridor', 'stairwell'];
}

export class CameraModel implements DeviceModel {
  private readonly rng: Random;
  private readonly place: SitePlace;
  private readonly regions: string[];
  private readonly fps: number;
  private readonly bitrateKbps: number;
  private readonly motionPerH: number;
  /** Storage (% per hour) the recording eats, and the free share where loop recording starts overwriting. */
  private readonly fillPctPerH: number;
  private readonly overwriteAtPct: number;
  private last: number;
  private storageFreePct: number;
  private bitrateNoise = 0;
  private dark: boolean;
  private videoLost = false;
  private covered = false;
  private intruderIn: string | undefined;
  private pending: SimEvent[] = [];
  private reportDue = false;

  constructor(
    readonly spec: DeviceSpec,
    ctx: ModelContext,
    now: number,
  ) {
    this.rng = ctx.rng;
    this.place = ctx.place;
    this.regions = regionsOf(spec);
    this.fps = spec.params.fps ?? DEFAULT_FPS;
    this.bitrateKbps = BITRATE_KBPS * this.rng.between(0.95, 1.05);
    this.motionPerH = PEAK_MOTION_PER_H * this.rng.between(0.6, 1.4);
    this.fillPctPerH = this.rng.between(0.1, 0.3);
    this.overwriteAtPct = this.rng.between(5, 10);
    this.last = now;
    this.storageFreePct = this.rng.between(this.overwriteAtPct + 5, 60);
    this.dark = isDark(now, ctx.place.lat, ctx.place.lon);
  }

  step(now: number): StepResult {
    this.advance(now);
    const result = { events: this.pending, reportNow: this.reportDue };
    this.pending = [];
    this.reportDue = false;
    return result;
  }

  telemetry(_now: number): Telemetry {
    if (this.videoLost) {
      return { recording: false, fps: 0, bitrateKbps: 0, storageFreePct: round(this.storageFreePct, 1) };
    }
    const factor = (this.dark ? IR_FACTOR : 1) * (this.covered ? COVERED_FACTOR : 1) * (1 + this.bitrateNoise);
    return {
      recording: true,
      fps: round(clamp(this.fps + this.rng.normal(0, FPS_JITTER / 2), this.fps - FPS_JITTER, this.fps + FPS_JITTER), 1),
      bitrateKbps: Math.max(0, Math.round(this.bitrateKbps * factor)),
      storageFreePct: round(this.storageFreePct, 1),
    };
  }

  command(action: string, _params: Record<string, unknown> | undefined, now: number): CommandResult {
    this.advance(now);
    if (action !== 'snapshot') return { ok: false, error: `unknown action ${action} for camera` };
    // The snapshot goes to the NVR; there is nothing to take without a picture.
    return this.videoLost ? { ok: false, error: 'no video' } : { ok: true };
  }

  startFault(fault: Fault, now: number): boolean {
    if (fault.name !== 'video-loss' && fault.name !== 'camera-tamper' && fault.name !== 'intrusion') return false;
    this.advance(now);
    if (fault.name === 'video-loss') {
      if (this.videoLost) return true;
      this.videoLost = true;
      this.pending.push({ type: 'video_loss' });
    } else if (fault.name === 'camera-tamper') {
      if (this.covered) return true;
      this.covered = true;
      this.pending.push({ type: 'tamper' });
    } else {
      if (this.intruderIn) return true;
      this.intruderIn = this.rng.pick(this.regions);
      this.pending.push({ type: 'intrusion', region: this.intruderIn });
    }
    this.reportDue = true;
    return true;
  }

  endFault(name: ModelFault, now: number): boolean {
    this.advance(now);
    if (name === 'video-loss' && this.videoLost) this.videoLost = false;
    else if (name === 'camera-tamper' && this.covered) this.covered = false;
    else if (name === 'intrusion' && this.intruderIn) this.intruderIn = undefined;
    else return false;
    this.reportDue = true;
    return true;
  }

  private advance(now: number): void {
    if (now <= this.last) return;
    const dt = now - this.last;
    this.bitrateNoise = wander(this.rng, this.bitrateNoise, dt, BITRATE_NOISE_SD, BITRATE_NOISE_TAU_MS);
    this.dark = isDark(now, this.place.lat, this.place.lon);
    if (!this.videoLost) this.record(dt);
    this.detectMotion(Math.max(this.last, now - MAX_EVENT_CATCH_UP_MS), now);
    this.last = now;
  }

  /** The NVR fills; at the threshold it deletes the oldest footage a file at a time, so free space stays there. */
  private record(dtMs: number): void {
    this.storageFreePct -= this.fillPctPerH * (dtMs / 3_600_000);
    while (this.storageFreePct < this.overwriteAtPct) this.storageFreePct += this.rng.between(0.5, 1.5);
  }

  /** Motion in the picture from `from` to `to`: a Poisson process that follows people's day. */
  private detectMotion(from: number, to: number): void {
    // No picture, no motion detection: a lost or covered camera sees nothing.
    if (this.videoLost || this.covered) return;
    for (let t = from; t < to; ) {
      const dt = Math.min(SLICE_MS, to - t);
      t += dt;
      const { hour, weekend } = localTime(t, this.place.timeZone);
      const n = this.rng.poisson(this.motionPerH * peopleActivity(hour, weekend), dt);
      for (let i = 0; i < n; i++) this.pending.push({ type: 'motion', region: this.rng.pick(this.regions) });
      if (!this.intruderIn) continue;
      const m = this.rng.poisson(INTRUDER_MOTION_PER_H, dt);
      for (let i = 0; i < m; i++) this.pending.push({ type: 'motion', region: this.intruderIn });
    }
  }
}
