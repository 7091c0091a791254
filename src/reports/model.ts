/** The service report of one site and period (docs/reports.md defines every figure). */
import type { Severity } from '../alarms/model.js';
import type { Period } from './period.js';

export interface AlarmFigures {
  raised: number;
  acknowledged: number;
  cleared: number;
  meanTimeToAckMinutes: number | null;
  meanTimeToClearMinutes: number | null;
  byType: Array<{ type: string; count: number }>;
  /** All four severities, critical first, zeros included. */
  bySeverity: Array<{ severity: Severity; count: number }>;
  byTypeAndSeverity: Array<{ type: string; severity: Severity; count: number }>;
}

export interface CategoryFigures {
  category: string;
  opened: number;
  resolved: number;
  overdue: number;
  meanTimeToResolveMinutes: number | null;
  withinSla: number;
  slaCompliancePct: number | null;
}

export interface WorkOrderFigures {
  opened: number;
  resolved: number;
  overdue: number;
  meanTimeToResolveMinutes: number | null;
  slaCompliancePct: number | null;
  byCategory: CategoryFigures[];
}

export interface EnergyFigures {
  totalKwh: number;
  byBuildingDay: Array<{ building: string; date: string; kwh: number }>;
}

/** One building's energy or water use over the period, against the period before (docs/reports.md). */
export interface BuildingUse {
  building: string;
  names: Record<'zh-CN' | 'en', string>;
  unit: string;
  consumption: number;
  /** The same building's use over the period before (the month before, for a month). */
  previous: number;
  /** 100 × (consumption − previous) / previous, to one decimal; null when the period before used nothing. */
  changePct: number | null;
  /** Energy, when the site has a tariff: the cost in its currency. */
  cost?: number;
}

export interface EnergyUseFigures {
  /** By building id. */
  energy: BuildingUse[];
  water: BuildingUse[];
}

export interface ParkingFigures {
  byHour: Array<{ hour: number; occupancyPct: number | null }>;
}

export interface AccessFigures {
  granted: number;
  denied: number;
  byHour: Array<{ hour: number; granted: number; denied: number }>;
}

export interface AvailabilityFigures {
  pct: number | null;
  byKind: Array<{ kind: string; devices: number; pct: number }>;
  /** Lowest first. */
  devices: Array<{ device: string; kind: string; zone: string; pct: number }>;
}

/** One checkpoint's rounds missed in one night. */
export interface MissedCheckpoint {
  device: string;
  zone: string;
  /** 1-based round numbers: round k starts (k − 1) × roundMinutes after 22:00. */
  rounds: number[];
}

/** One patrol route in one night (22:00–06:00 local, named by the date it starts). */
export interface PatrolNight {
  route: string;
  night: string;
  checkpoints: number;
  scansDue: number;
  scansMade: number;
  completionPct: number | null;
  /** Checkpoints with at least one round missed, by id. */
  missed: MissedCheckpoint[];
}

export interface PatrolFigures {
  scansDue: number;
  scansMade: number;
  completionPct: number | null;
  /** By route, then night. */
  nights: PatrolNight[];
}

export interface LiftFigure {
  device: string;
  zone: string;
  availabilityPct: number;
  trips: number;
  trapped: number;
  /** ISO-8601 UTC times of its `passenger_trapped` events, oldest first. */
  trappedAt: string[];
}

export interface LiftFigures {
  /** Total available time / total span over the lifts. */
  availabilityPct: number | null;
  /** By id. */
  devices: LiftFigure[];
}

export interface PumpFigure {
  device: string;
  zone: string;
  runHours: number;
  starts: number;
  dryRuns: number;
  pumpFaults: number;
}

export interface PumpFigures {
  /** Every water device of the site, by id. */
  devices: PumpFigure[];
}

/** One life-safety alarm (an emergency call or a trapped passenger) and how soon the desk acknowledged it. */
export interface LifeSafetyIncident {
  type: string;
  device: string;
  zone: string | null;
  raisedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  minutesToAck: number | null;
}

export interface LifeSafetyFigures {
  meanMinutesToAck: number | null;
  /** Both types, in the order of LIFE_SAFETY_ALARMS, zeros included. */
  byType: Array<{ type: string; count: number; acknowledged: number; meanMinutesToAck: number | null }>;
  /** Oldest first, then by device. */
  incidents: LifeSafetyIncident[];
}

/** An alarm source (type and source) among the most frequent of a day, and its share of the day's alarms. */
export interface AlarmSourceShare {
  type: string;
  source: string;
  count: number;
  sharePct: number;
}

/** An alarm (type and source) raised 3 times or more within a minute on a day. */
export interface ChatteringAlarm {
  type: string;
  source: string;
  /** Its raises that day. */
  raises: number;
  /** The most of its raises in any 60 s window ending that day. */
  maxPerMinute: number;
}

/** An alarm open for more than 24 h at the end of a day (or at report time for the current day). */
export interface StandingAlarm {
  id: string;
  type: string;
  source: string;
  severity: Severity;
  firstSeen: string;
  hoursOpen: number;
}

/** One local day of alarm-system health (docs/reports.md, "Alarm-system health"). */
export interface AlarmHealthDay {
  date: string;
  /** Hours of the day looked at: 24 (23 or 25 on a DST change day), fewer for the day in progress (up to now). */
  hours: number;
  /** Raises presented to the desk (not under a silence). */
  raised: number;
  /** Raises held back by a silence: not in the other figures. */
  silenced: number;
  perHour: number | null;
  peakPer10Min: number;
  floodMinutes: number;
  floodPct: number | null;
  /** At most ten, most frequent first. */
  topSources: AlarmSourceShare[];
  topTenSharePct: number | null;
  chattering: ChatteringAlarm[];
  /** Longest open first. */
  standing: StandingAlarm[];
  /** Critical alarms raised that day and how soon a person acknowledged them. */
  criticalAck: { raised: number; acknowledged: number; unacknowledged: number; p50Seconds: number | null; p90Seconds: number | null };
}

/** The benchmark figures the days are read against, with their source. */
export interface AlarmHealthBenchmarks {
  source: string;
  perHourAcceptable: number;
  perHourManageable: number;
  peakPer10MinMax: number;
  floodAlarms: number;
  floodWindowMinutes: number;
  floodPctMax: number;
  topTenSharePctMax: number;
  chatterRaises: number;
  chatterWindowSeconds: number;
  chatteringMax: number;
  standingHours: number;
  standingFewerThan: number;
}

export interface AlarmHealthFigures {
  benchmarks: AlarmHealthBenchmarks;
  /** The days of the period begun by now, oldest first. */
  days: AlarmHealthDay[];
}

export interface ServiceReport {
  site: string;
  period: Period;
  start: string;
  from: string;
  to: string;
  timeZone: string;
  generatedAt: string;
  alarms: AlarmFigures;
  workOrders: WorkOrderFigures;
  energy: EnergyFigures;
  energyUse: EnergyUseFigures;
  parking: ParkingFigures;
  access: AccessFigures;
  availability: AvailabilityFigures;
  patrol: PatrolFigures;
  lifts: LiftFigures;
  pumps: PumpFigures;
  lifeSafety: LifeSafetyFigures;
  alarmHealth: AlarmHealthFigures;
}

/** The window a report looks at: [from, to) in epoch ms, and the time it is made (later instants are clipped to it). */
export interface ReportWindow {
  site: string;
  from: number;
  to: number;
  now: number;
}

const MINUTE_MS = 60_000;

/**
 * `value` rounded half up to `digits` decimals. The factor (1 + ε) keeps a half that binary floating point
 * stores a hair low (0.15 × 10 = 1.4999…) rounding up, as it reads in decimal.
 */
export function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f * (1 + Number.EPSILON)) / f;
}

/** Mean of durations in ms, as minutes to one decimal; null when there are none. */
export function meanMinutes(durationsMs: number[]): number | null {
  if (durationsMs.length === 0) return null;
  return roundTo(durationsMs.reduce((a, b) => a + b, 0) / durationsMs.length / MINUTE_MS, 1);
}

/** `part / whole` as a percentage to one decimal; null when `whole` is 0. */
export function pct(part: number, whole: number): number | null {
  return whole === 0 ? null : roundTo((100 * part) / whole, 1);
}

/** The 24 hours of a local day, 0..23. */
export const HOURS: readonly number[] = Array.from({ length: 24 }, (_, h) => h);

/** Code-point order: the same on every machine, whatever its locale. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
