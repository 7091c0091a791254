/**
 * `{ telemetry, anomaly: { baseline, by, z: K }, for? }` per device (contract §13): each reading is compared with
 * the device's own baseline for its hour slot (baseline.ts: median and MAD of a bounded sample of the last
 * `baseline`), as a robust z-score z = (x − median) / (1.4826 · MAD). Holds once |z| > K has lasted `for`;
 * clears once |z| ≤ K has lasted `for` again. Nothing holds before the slot rests on 3 periods of history.
 *
 * The baseline is read from stored history (ctx.history) when the rule attaches, for the devices it covers, or
 * when a device first reports; then every reading that is not anomalous is learned (an anomalous one is not, so
 * a leak does not become normal). It is saved in the rule state, so a restart needs no history to go on.
 */
import { KINDS, type KindName } from '../../devices/kinds/index.js';
import type { AnomalyWhen } from '../schema.js';
import { baselineLayout, BASELINE_MIN_PERIODS, MAD_TO_SIGMA, SlotBaseline, type BaselineLayout } from './baseline.js';
import { asNumber, asSource, deviceSource, dueForSave, fieldsMatch, numeric, savedEntries, Timers } from './common.js';
import { HistoryReads } from './history-reads.js';
import { localSlot } from './local-slot.js';
import type { Condition, ConditionContext, HistoryReading, OnChange, Source, TelemetryMessage } from './types.js';

export { AnomalySchema as schema } from '../schema.js';

/** σ is at least this share of the slot's median... */
export const SIGMA_FLOOR_OF_MEDIAN = 0.02;
/** ...and of the series' typical level (the mean |median| of its slots): a flat slot (MAD 0) is not infinitely strict. */
export const SIGMA_FLOOR_OF_LEVEL = 0.01;
const SIGMA_FLOOR = 1e-6;
/** A device's baseline is saved at most this often (and at detach). */
const SAVE_EVERY_MS = 10 * 60_000;
/** A failed history read is tried again at a reading this long after. */
const RETRY_LOAD_MS = 15 * 60_000;
const HOUR = 3_600_000;
const QUARTER = 15 * 60_000;

type Load = { state: 'none' } | { state: 'loading'; to: number } | { state: 'done' } | { state: 'failed'; at: number };

interface Series {
  src: Source;
  base: SlotBaseline;
  where: Record<string, unknown>;
  load: Load;
  holding: boolean;
  /** When |z| went above K (the `for` timer runs from here), or came back (while holding). */
  since?: number;
  clearSince?: number;
  /** The latest scored reading: value, the slot's median, z, unrounded (rounded where published: `published`). */
  last?: Scored;
  /** The series' typical level (SlotBaseline.level) and the reading time it was taken at; NaN: not yet. */
  level: number;
  levelAt: number;
  savedAt: number;
  /** Readings taken since the state was last saved. */
  unsaved: number;
}

/**
 * Readings per clock hour a baseline asks of history: a bucket of an hour slot spans `bucketPeriods` hours of
 * readings (days' worth with `none`) and keeps `perBucket` of them, so that many spread over its hours fill it.
 * The read rounds up to whole quarter hours (4 an hour at least): a bucket given more keeps a sample of them.
 */
export function historyPerHour(when: AnomalyWhen): number {
  const { perBucket, bucketPeriods } = baselineLayout(when.by, when.baselineMs);
  const hours = when.by === 'none' ? bucketPeriods * 24 : bucketPeriods;
  return Math.max(1, Math.ceil(perBucket / hours));
}

const BASE = 'b:';
const EDGE = 'd:';
/** The load states without data, shared (a series' load is replaced, never changed in place). */
const LOAD_NONE: Load = { state: 'none' };
const LOAD_DONE: Load = { state: 'done' };
/** A series' `where` values when the rule has no `where` (never written then). */
const NO_WHERE: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

export const anomaly: Condition<AnomalyWhen> = {
  pulse: false,
  attach(ctx, when, onChange) {
    const run = new Anomaly(ctx, when, onChange);
    run.restore();
    run.loadCovered();
    const fields = [when.telemetry, ...Object.keys(when.where ?? {})];
    const unsubscribe = ctx.subscribe({ telemetry: { fields, on: (m) => run.reading(m) } });
    return () => {
      unsubscribe();
      run.stop();
    };
  },
};

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const significant = (x: number) => Number(x.toPrecision(6));

interface Scored {
  value: number;
  expected: number;
  z: number;
}

/** A scored reading as alarms and the saved state carry it: the median to 6 significant digits, z to 2 decimals. */
const published = (l: Scored): Scored => ({ value: l.value, expected: significant(l.expected), z: round(l.z, 2) });

/**
 * |z| > K with z rounded to 2 decimals (as published); rounding only near K, where it can make a difference
 * (it moves z by at most 0.005).
 */
function beyondZ(z: number, k: number): boolean {
  const az = Math.abs(z);
  if (az > k + 0.01) return true;
  if (az <= k - 0.01) return false;
  return Math.abs(round(z, 2)) > k;
}

class Anomaly {
  private readonly timers: Timers;
  private readonly series = new Map<string, Series>();
  private readonly layout: BaselineLayout;
  /** Reads of stored history; none when the engine has no history to read (each baseline learns live). */
  private readonly reads?: HistoryReads;
  /**
   * The slot and period of the last reading's UTC quarter hour: zone offsets are whole quarter hours, so every
   * reading of a quarter hour falls in the same local hour (most readings skip localSlot).
   */
  private quarter = NaN;
  private slot = 0;
  private period = 0;

  constructor(
    private readonly ctx: ConditionContext,
    private readonly when: AnomalyWhen,
    private readonly onChange: OnChange,
  ) {
    this.timers = new Timers(ctx.clock);
    this.layout = baselineLayout(when.by, when.baselineMs);
    this.reads = ctx.history && new HistoryReads(ctx.history);
  }

  reading(m: TelemetryMessage): void {
    const s = this.series.get(m.device) ?? this.seriesOf(deviceSource(m));
    if (this.when.where) for (const k in this.when.where) if (k in m.fields) s.where[k] = m.fields[k];
    const v = numeric(m.fields[this.when.telemetry]);
    if (v === undefined) return;
    if (s.load.state === 'none' || (s.load.state === 'failed' && this.ctx.clock.now() - s.load.at >= RETRY_LOAD_MS)) this.enqueue(s, true);
    if (!fieldsMatch(this.when.where, s.where)) {
      this.settle(s, false);
      return;
    }
    this.slotOf(m.ts);
    const { slot, period } = this;
    const z = this.score(s, slot, period, v, m.ts);
    const out = z !== undefined && beyondZ(z.z, this.when.z);
    if (z) s.last = z;
    // Readings the history read already brings are not learned twice; anomalous ones not at all, nor any while
    // an anomaly is pending or holding (a leak whose readings now and then fall within z must not become normal).
    const learn = !out && !s.holding && s.since === undefined && !(s.load.state === 'loading' && m.ts < s.load.to);
    if (learn) {
      s.base.add(slot, period, v, m.ts);
      s.unsaved++;
    }
    this.settle(s, out);
    if (dueForSave(s.unsaved, s.savedAt, this.ctx.clock.now(), SAVE_EVERY_MS)) this.saveBaseline(s);
  }

  /** Sets `slot` and `period` for a reading at `ts` (localSlot, once per UTC quarter hour). */
  private slotOf(ts: number): void {
    const q = Math.floor(ts / QUARTER);
    if (q === this.quarter) return;
    const { slot, period } = localSlot(ts, this.ctx.timeZone, this.when.by);
    this.quarter = q;
    this.slot = slot;
    this.period = period;
  }

  /**
   * The reading `v` with its slot's median and robust z-score, or undefined while the slot has under 3 earlier
   * periods of history.
   */
  private score(s: Series, slot: number, period: number, v: number, ts: number): Scored | undefined {
    const b = s.base;
    if (!b.compute(slot, period) || b.periods < BASELINE_MIN_PERIODS) return undefined;
    const median = b.median;
    let sigma = MAD_TO_SIGMA * b.mad;
    const floor = Math.max(SIGMA_FLOOR_OF_MEDIAN * Math.abs(median), SIGMA_FLOOR);
    if (sigma < floor || sigma < SIGMA_FLOOR_OF_LEVEL * (Number.isNaN(s.level) ? 0 : s.level)) {
      // The typical level is recomputed at most hourly by the readings' time: it costs a pass over every slot.
      if (Number.isNaN(s.level) || Math.abs(ts - s.levelAt) >= HOUR) {
        s.level = b.level();
        s.levelAt = ts;
      }
      sigma = Math.max(sigma, floor, SIGMA_FLOOR_OF_LEVEL * s.level);
    }
    return { value: v, expected: median, z: (v - median) / sigma };
  }

  /** Edge-triggered with `for` both ways (HA numeric_state): a reading on the other side cancels the timer. */
  private settle(s: Series, out: boolean): void {
    const now = this.ctx.clock.now();
    if (!s.holding) {
      if (out && s.since === undefined) {
        s.since = now;
        this.arm(s, true);
      } else if (!out && s.since !== undefined) {
        s.since = undefined;
        this.timers.cancel(s.src.id);
        this.saveEdge(s);
      }
      return;
    }
    if (!out && s.clearSince === undefined) {
      s.clearSince = now;
      this.arm(s, false);
    } else if (out && s.clearSince !== undefined) {
      s.clearSince = undefined;
      this.timers.cancel(s.src.id);
      this.saveEdge(s);
    }
  }

  private arm(s: Series, raise: boolean): void {
    const fire = () => {
      s.since = undefined;
      s.clearSince = undefined;
      s.holding = raise;
      this.saveEdge(s);
      const l = s.last && published(s.last);
      const detail = raise && l ? { detail: { expected: l.expected, z: l.z } } : {};
      this.onChange({ holds: raise, source: s.src, at: this.ctx.clock.now(), value: l?.value, ...detail, trigger: s.src.device });
    };
    const from = raise ? s.since! : s.clearSince!;
    if (this.when.forMs === 0) fire();
    else {
      this.saveEdge(s);
      this.timers.set(s.src.id, from + this.when.forMs, fire);
    }
  }

  private seriesOf(src: Source): Series {
    let s = this.series.get(src.id);
    if (!s) {
      const where = this.when.where ? {} : NO_WHERE;
      s = { src, base: new SlotBaseline(this.layout), where, load: LOAD_NONE, holding: false, level: NaN, levelAt: 0, savedAt: this.ctx.clock.now(), unsaved: 0 };
      this.series.set(src.id, s);
    }
    return s;
  }

  /** Reads the history of the covered devices that have no saved baseline (contract §13: when the rule starts). */
  loadCovered(): void {
    const field = this.when.telemetry;
    for (const d of this.ctx.devices()) {
      if (!(d.kind in KINDS) || !KINDS[d.kind as KindName].fields.includes(field)) continue;
      const s = this.seriesOf({ id: d.id, site: d.site, device: d.id, kind: d.kind, zone: d.zone });
      if (s.load.state === 'none') this.enqueue(s, false);
    }
  }

  /** Reads the baseline's history; a device reporting now goes before the ones queued at attach. */
  private enqueue(s: Series, first: boolean): void {
    if (!this.reads) {
      s.load = LOAD_DONE;
      return;
    }
    const to = this.ctx.clock.now();
    s.load = { state: 'loading', to };
    const q = { site: s.src.site, kind: s.src.kind ?? '', device: s.src.id, field: this.when.telemetry, from: to - this.when.baselineMs, to, perHour: historyPerHour(this.when), where: this.when.where };
    this.reads.request({ q, done: (rows) => this.learnHistory(s, rows, to), failed: () => (s.load = { state: 'failed', at: this.ctx.clock.now() }) }, first);
  }

  private learnHistory(s: Series, rows: readonly HistoryReading[], to: number): void {
    for (const [ts, v] of rows) {
      if (!(ts < to) || !Number.isFinite(v)) continue;
      this.slotOf(ts);
      s.base.add(this.slot, this.period, v, ts);
    }
    s.load = LOAD_DONE;
    s.level = NaN;
    if (rows.length > 0) this.saveBaseline(s);
  }

  private fingerprint(): string {
    return `${this.when.telemetry}/${this.when.by}/${this.when.baselineMs}`;
  }

  private saveBaseline(s: Series): void {
    s.savedAt = this.ctx.clock.now();
    s.unsaved = 0;
    this.ctx.state.set(BASE + s.src.id, { src: s.src, baseline: this.fingerprint(), data: Buffer.from(s.base.buffer, 0, SlotBaseline.savedBytes(this.layout)).toString('base64') });
  }

  private saveEdge(s: Series): void {
    const idle = !s.holding && s.since === undefined && s.clearSince === undefined;
    this.ctx.state.set(EDGE + s.src.id, idle ? undefined : { src: s.src, holding: s.holding, since: s.since, clearSince: s.clearSince, last: s.last && published(s.last) });
  }

  /** Stops reading history and saves every baseline that changed (the engine flushes the state next). */
  stop(): void {
    this.reads?.stop();
    this.timers.clear();
    for (const s of this.series.values()) if (s.unsaved > 0) this.saveBaseline(s);
  }

  /** Baselines (a changed field, `by` or `baseline` starts afresh), holding flags and `for` timers saved before. */
  restore(): void {
    const bytes = SlotBaseline.savedBytes(this.layout);
    for (const [, saved] of savedEntries(this.ctx.state.initial, BASE)) {
      const src = asSource(saved.src);
      if (!src || saved.baseline !== this.fingerprint() || typeof saved.data !== 'string') continue;
      const buf = Buffer.from(saved.data, 'base64');
      if (buf.byteLength !== bytes) continue;
      const s = this.seriesOf(src);
      s.base = new SlotBaseline(this.layout, buf.buffer.slice(buf.byteOffset, buf.byteOffset + bytes));
      s.load = LOAD_DONE;
    }
    for (const [, saved] of savedEntries(this.ctx.state.initial, EDGE)) {
      const src = asSource(saved.src);
      if (!src) continue;
      const s = this.seriesOf(src);
      // The `where` values are not saved: assume they held, as they did when the state was saved.
      if (this.when.where) Object.assign(s.where, this.when.where);
      s.holding = saved.holding === true;
      s.since = asNumber(saved.since);
      s.clearSince = asNumber(saved.clearSince);
      const last = saved.last as Record<string, unknown> | undefined;
      const [value, expected, z] = [asNumber(last?.value), asNumber(last?.expected), asNumber(last?.z)];
      if (value !== undefined && expected !== undefined && z !== undefined) s.last = { value, expected, z };
      if (!s.holding && s.since !== undefined) this.arm(s, true);
      if (s.holding && s.clearSince !== undefined) this.arm(s, false);
    }
  }
}
