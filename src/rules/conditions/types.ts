/** What a condition sees of the engine (HA trigger style: `attach(ctx, when, onChange)` answers a detach). */
import type { Origin } from '../../bus.js';
import type { TelemetryFields } from '../../devices/kinds/index.js';
import type { RuleDevice } from '../actions.js';
import type { Clock } from '../clock.js';
import type { Scalar } from '../schema.js';

export type { Origin };

export interface TelemetryMessage extends Origin {
  ts: number;
  fields: TelemetryFields;
}

export interface EventMessage extends Origin {
  ts: number;
  type: string;
  details: Record<string, unknown>;
}

export interface StatusMessage extends Origin {
  ts: number;
  online: boolean;
}

/** What an alarm is about (contract §4 `source`): a device, a zone, or the rule itself for schedules. */
export interface Source {
  id: string;
  site: string;
  device?: string;
  kind?: string;
  zone?: string;
}

/** An edge of a condition for one source: it started holding (or fired again, for events) or stopped. */
export interface Change {
  holds: boolean;
  source: Source;
  /** Epoch ms of the edge. */
  at: number;
  value?: Scalar;
  /** The device whose message caused it, for `{device}` in zone-level rules. */
  trigger?: string;
  /** contract §13: what a forecast (`eta`, epoch ms) or an anomaly (`expected`, `z`) adds to the alarm. */
  detail?: ChangeDetail;
  /**
   * Still holding, with new `detail` (a forecast's eta moved): the open alarm is updated and republished, which
   * is not a new raise (no count, no work order, no command).
   */
  update?: true;
}

export interface ChangeDetail {
  eta?: number;
  expected?: number;
  z?: number;
  /** contract §15: a schedule's firing missed while the gateway was down, made at its start: when it was due (epoch ms). */
  due?: number;
}

/** One stored reading of a field: [epoch ms, value]. */
export type HistoryReading = [number, number];

/** Which stored readings a baseline learns from (contract §13: read from InfluxDB at start or first report). */
export interface HistoryQuery {
  site: string;
  kind: string;
  device: string;
  field: string;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** About this many readings per clock hour (a baseline keeps a sample, not every reading). */
  perHour: number;
  /** Only readings stored with these values of other fields (the rule's `where`), as the live rule learns. */
  where?: Record<string, string | number | boolean>;
}

/**
 * Reads stored readings, oldest first. Live it is a promise (gateway.ts reads InfluxDB); the simulator answers
 * at once from history it read beforehand, so a replay stays synchronous.
 */
export type HistoryReader = (q: HistoryQuery) => Promise<HistoryReading[]> | HistoryReading[];

export type OnChange = (change: Change) => void;
export type Detach = () => void;

/** Message handlers a condition wants; the engine calls them only for devices the rule's `match` covers. */
export interface Subscriptions {
  telemetry?: { fields: readonly string[]; on: (m: TelemetryMessage) => void };
  events?: { types: readonly string[]; on: (m: EventMessage) => void };
  status?: (m: StatusMessage) => void;
  /** Telemetry, events and command results of a covered device (status goes to `status` alone). */
  activity?: (m: Origin) => void;
}

export interface ConditionContext {
  readonly rule: string;
  /** Real or virtual; every timer goes through it so the engine can cancel what a rule left behind. */
  readonly clock: Clock;
  /** Site local time zone for `during` and schedules. */
  readonly timeZone: string;
  /**
   * True on the rule's first attach since the gateway started, false on a reload: what a condition missed while the
   * gateway was down may be made up for then (a schedule's late firing), never after a reload.
   */
  readonly resumed: boolean;
  /** State saved before this attach (restart, reload), and a debounced way to save it now. */
  readonly state: { readonly initial: ReadonlyMap<string, unknown>; set(key: string, state: unknown): void };
  /** Registered devices the rule's `match` covers, now. */
  devices(): RuleDevice[];
  /** The sites the rule covers: `match.site` when given, else the sites of its devices. */
  sites(): string[];
  /** Routes messages of covered devices to `subs` until the answered function (or the rule's detach) runs. */
  subscribe(subs: Subscriptions): () => void;
  /** Stored history, for conditions that learn from it (`anomaly`); absent when there is none to read. */
  readonly history?: HistoryReader;
}

/** A condition module: each `conditions/*.ts` exports `schema` and `attach`, and says whether it is a pulse. */
export interface Condition<W> {
  attach(ctx: ConditionContext, when: W, onChange: OnChange): Detach;
  /**
   * A pulse fires and is done (an event, a schedule tick): `during` drops it outside the window. Otherwise
   * the condition holds for a while, and `during` raises it when the window opens while it still holds.
   */
  readonly pulse: boolean;
}
