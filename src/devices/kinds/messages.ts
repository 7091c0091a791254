import type { KindName, TelemetryFields } from './index.js';

/**
 * One accepted device message as it is stored and replayed: what InfluxDB gives back to a rule test
 * (storage/influx/rule-history.ts) and what the rule simulator takes (rules/simulate.ts). Here, among the
 * leaves, so that both may import it.
 */
export interface DeviceMessage {
  ts: number;
  device: string;
  kind: KindName;
  site: string;
  zone: string;
  telemetry?: TelemetryFields;
  event?: { type: string; details?: Record<string, unknown> };
  /** A simulated connection change; history holds none. */
  status?: 'online' | 'offline';
}

/** What a rule test reads from history: which kinds, telemetry fields and event types, for which devices. */
export interface HistoryNeed {
  kinds: readonly KindName[];
  fields: readonly string[];
  events: readonly string[];
  /** Every message of the devices (an `absent` rule): all telemetry and events. */
  everything: boolean;
  sites?: readonly string[];
  devices?: readonly string[];
}
