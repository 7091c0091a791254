/**
 * A device as the registry holds it and as the API shows it: the record, its row in the state store, and its JSON
 * (contract §5, §12, §14). Split from registry.ts, which keeps the behaviour.
 */
import type { KindName } from './kinds/index.js';

/** A registered device as the gateway holds it (never with its secret). */
export interface DeviceRecord {
  id: string;
  kind: KindName;
  site: string;
  zone: string;
  name?: string;
  tags: Record<string, string>;
  createdAt: number;
  online: boolean;
  lastSeen: number | null;
  /** How a device that does not speak the gateway's own JSON reaches it; absent for a native device. */
  source?: DeviceSource;
  /** The device it depends on (the breaker feeding it, the controller it is wired to): topology suppression (contract §11). */
  parent?: string;
  /** Where it is on its floor's or zone's plan, in the plan's units (contract §12). */
  position?: Position;
}

/** A point on a plan, in the plan's own units (SVG viewBox, PNG pixels), from its top left corner. */
export interface Position {
  x: number;
  y: number;
}

/** Where the gateway polls a Modbus device: a TCP host (or a serial server speaking RTU over TCP), or a serial line. */
export type ModbusAddress =
  | { host: string; port: number; unitId: number; rtuOverTcp?: boolean }
  | { serial: string; baudRate: number; parity: 'none' | 'even' | 'odd'; unitId: number };

export interface DeviceSource {
  /** The profile that maps its data onto its kind. */
  profile: string;
  /** The bridge account that publishes for it. */
  bridge?: string;
  /** The vendor's name for it behind its bridge, when that is not its id. */
  externalId?: string;
  modbus?: ModbusAddress;
}

export interface NewDevice {
  id: string;
  kind: KindName;
  site: string;
  zone: string;
  name?: string;
  tags?: Record<string, string>;
  source?: DeviceSource;
  parent?: string;
  position?: Position;
}

/** A `devices` row of the state store. */
export interface DeviceRow {
  id: string;
  kind: KindName;
  site: string;
  zone: string;
  name: string | null;
  tags: string;
  secret_hash: string;
  created_at: number;
  online: number;
  last_seen: number | null;
  source: string | null;
  parent: string | null;
  position: string | null;
}

/** The record of a stored row. */
export function fromRow(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    kind: row.kind,
    site: row.site,
    zone: row.zone,
    name: row.name ?? undefined,
    tags: JSON.parse(row.tags) as Record<string, string>,
    createdAt: row.created_at,
    online: row.online === 1,
    lastSeen: row.last_seen,
    ...(row.source ? { source: JSON.parse(row.source) as DeviceSource } : {}),
    ...(row.parent ? { parent: row.parent } : {}),
    ...(row.position ? { position: JSON.parse(row.position) as Position } : {}),
  };
}

/** A device as the API shows it (contract §5): no secret, `lastSeen` as ISO-8601 or null. */
export function deviceJson(d: DeviceRecord) {
  return {
    id: d.id,
    kind: d.kind,
    site: d.site,
    zone: d.zone,
    ...(d.name !== undefined ? { name: d.name } : {}),
    tags: d.tags,
    online: d.online,
    lastSeen: d.lastSeen === null ? null : new Date(d.lastSeen).toISOString(),
    createdAt: new Date(d.createdAt).toISOString(),
    ...(d.source ? d.source : {}),
    ...(d.parent !== undefined ? { parent: d.parent } : {}),
    ...(d.position !== undefined ? { position: d.position } : {}),
  };
}
