/**
 * `{ telemetry, forecast: { above|below: X, within: D }, over: D2 }` per device (contract §13): a least-squares
 * line through the readings of the last `over` (line-fit.ts, kept incrementally: no query per message) predicts
 * when the field reaches X. Holds while that crossing is at most `within` after the newest reading and the trend
 * stands clear of the noise; a line already past X counts as crossing now (the value being there is the
 * threshold rule's alarm, but the forecast does not clear because it came true). While it holds, an eta that
 * moves by more than a minute and 5 % of the time left updates the open alarm. Clears when the fits have not
 * crossed within `within` for an eighth of `over` (a forecast at the horizon does not flap).
 */
import type { ForecastWhen } from '../schema.js';
import { asNumber, asSource, deviceSource, dueForSave, fieldsMatch, numeric, savedEntries } from './common.js';
import { crossing, LineWindow, type Line } from './line-fit.js';
import type { Condition, ConditionContext, OnChange, Source, TelemetryMessage } from './types.js';

export { ForecastSchema as schema } from '../schema.js';

/** Before predicting: at least this many readings... */
export const FORECAST_MIN_POINTS = 10;
/** ...spanning at least this share of `over`... */
export const FORECAST_MIN_SPAN = 0.25;
/** ...with a slope at least this many standard errors from flat (a t-statistic). */
export const FORECAST_MIN_T = 3;
/** An eta that moves more than this and this share of the time left is republished. */
const ETA_MOVE_MS = 60_000;
const ETA_MOVE_SHARE = 0.05;
/**
 * A forecast hovering at the horizon would raise and clear at every other reading: once it holds, it clears only
 * when no reading for this share of `over` (by the readings' time) has predicted a crossing within `within`.
 */
export const FORECAST_CLEAR_AFTER = 1 / 8;
/** A device's window is saved at most this often (and at detach); holding edges are saved at once. */
const SAVE_EVERY_MS = 5 * 60_000;

interface DeviceState {
  src: Source;
  line: LineWindow;
  where: Record<string, unknown>;
  holding: boolean;
  /** The eta last published (epoch ms). */
  eta?: number;
  /** While holding: the time of the first reading of a run that predicted no crossing within `within`. */
  outSince?: number;
  savedAt: number;
  /** Readings taken since the state was last saved. */
  unsaved: number;
}

const KEY = 'd:';

export const forecast: Condition<ForecastWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new Forecast(ctx, when, onChange);
    run.restore();
    const fields = [when.telemetry, ...Object.keys(when.where ?? {})];
    const unsubscribe = ctx.subscribe({ telemetry: { fields, on: (m) => run.reading(m) } });
    return () => {
      unsubscribe();
      run.saveAll();
    };
  },
};

class Forecast {
  private readonly devices = new Map<string, DeviceState>();

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: ForecastWhen,
    private readonly onChange: OnChange,
  ) {}

  reading(m: TelemetryMessage): void {
    let d = this.devices.get(m.device);
    if (!d) {
      d = { src: deviceSource(m), line: new LineWindow(this.when.overMs), where: {}, holding: false, savedAt: this.ctx.clock.now(), unsaved: 0 };
      this.devices.set(m.device, d);
    }
    if (this.when.where) for (const k in this.when.where) if (k in m.fields) d.where[k] = m.fields[k];
    const v = numeric(m.fields[this.when.telemetry]);
    if (v === undefined) return;
    if (!fieldsMatch(this.when.where, d.where)) {
      if (d.holding) this.edge(d, false, v);
      return;
    }
    if (!d.line.add(m.ts, v)) return;
    d.unsaved++;
    this.evaluate(d, v, m.ts);
    if (dueForSave(d.unsaved, d.savedAt, this.ctx.clock.now(), SAVE_EVERY_MS)) this.save(d);
  }

  /** The predicted crossing when the fit rests on enough and says it comes within `within`; else undefined. */
  private predict(d: DeviceState): { eta: number; line: Line } | undefined {
    const line = d.line.fit();
    if (!line || line.n < FORECAST_MIN_POINTS || line.span < this.when.overMs * FORECAST_MIN_SPAN) return undefined;
    const eta = crossing(line, this.when.dir, this.when.level);
    if (eta === undefined) return undefined;
    // Already past the level: no trend needed. Ahead of it: only a trend that stands out of the noise.
    if (eta > line.ref && (line.t < FORECAST_MIN_T || eta - line.ref > this.when.withinMs)) return undefined;
    return { eta: Math.round(eta), line };
  }

  private evaluate(d: DeviceState, value: number, ts: number): void {
    const p = this.predict(d);
    if (!p) {
      if (!d.holding) return;
      d.outSince ??= ts;
      if (ts - d.outSince >= this.when.overMs * FORECAST_CLEAR_AFTER) this.edge(d, false, value);
      return;
    }
    d.outSince = undefined;
    if (!d.holding) {
      d.eta = p.eta;
      this.edge(d, true, value);
      return;
    }
    if (this.moved(d.eta!, p.eta, p.line.ref)) {
      d.eta = p.eta;
      this.save(d);
      this.onChange({ holds: true, update: true, source: d.src, at: this.ctx.clock.now(), value, detail: { eta: p.eta }, trigger: d.src.device });
    }
  }

  /** More than a minute and more than 5 % of the time that was left (a crossing already past moves nothing). */
  private moved(prev: number, next: number, now: number): boolean {
    if (prev <= now && next <= now) return false;
    const diff = Math.abs(next - prev);
    return diff > ETA_MOVE_MS && diff > ETA_MOVE_SHARE * Math.max(0, prev - now);
  }

  private edge(d: DeviceState, holds: boolean, value: number): void {
    d.holding = holds;
    d.outSince = undefined;
    if (!holds) d.eta = undefined;
    this.save(d);
    this.onChange({ holds, source: d.src, at: this.ctx.clock.now(), value, ...(holds && d.eta !== undefined && { detail: { eta: d.eta } }), trigger: d.src.device });
  }

  private save(d: DeviceState): void {
    d.savedAt = this.ctx.clock.now();
    d.unsaved = 0;
    const line = Buffer.from(d.line.data.buffer, d.line.data.byteOffset, d.line.data.byteLength).toString('base64');
    this.ctx.state.set(KEY + d.src.id, { src: d.src, overMs: this.when.overMs, newest: d.line.newest, holding: d.holding, eta: d.eta, line });
  }

  /** Saves every window that changed since its last save (at detach, before the engine flushes). */
  saveAll(): void {
    for (const d of this.devices.values()) if (d.unsaved > 0) this.save(d);
  }

  /** The windows, holding flags and etas saved before a restart or reload (a changed `over` starts afresh). */
  restore(): void {
    for (const [id, s] of savedEntries(this.ctx.state.initial, KEY)) {
      const src = asSource(s.src);
      if (!src || s.overMs !== this.when.overMs || typeof s.line !== 'string') continue;
      const bytes = Buffer.from(s.line, 'base64');
      if (bytes.byteLength !== new LineWindow(this.when.overMs).data.byteLength) continue;
      const data = new Float64Array(new Uint8Array(bytes).buffer);
      const line = new LineWindow(this.when.overMs, data);
      line.newest = asNumber(s.newest) ?? -Infinity;
      const holding = s.holding === true;
      // The `where` values are not saved: assume they held, as they did when the state was saved.
      const where = { ...(this.when.where ?? {}) };
      this.devices.set(id, { src, line, where, holding, eta: holding ? asNumber(s.eta) : undefined, savedAt: this.ctx.clock.now(), unsaved: 0 });
    }
  }
}
