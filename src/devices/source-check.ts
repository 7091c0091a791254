import { ValidationError } from '../errors.js';
import type { Profile } from '../profiles/profile.js';
import type { BridgeRecord } from './bridges.js';
import type { DeviceSource, ModbusAddress } from './registry.js';

/** What a registration may say about how the device reaches the gateway, as the API takes it. */
export interface SourceInput {
  kind: string;
  site: string;
  profile?: string;
  bridge?: string;
  externalId?: string;
  modbus?: { host?: string; port?: number; rtuOverTcp?: boolean; serial?: string; baudRate?: number; parity?: 'none' | 'even' | 'odd'; unitId: number };
}

export interface SourceCatalog {
  profile(id: string): Profile | undefined;
  bridge(id: string): BridgeRecord | undefined;
}

/**
 * Checks a registration's profile, bridge and Modbus link against the profiles and bridges in force, and
 * answers the device's source (undefined for a native device); a mismatch is a ValidationError naming the field.
 */
export function checkSource(input: SourceInput, catalog: SourceCatalog): DeviceSource | undefined {
  const { profile: profileId, bridge: bridgeId, externalId, modbus } = input;
  if (profileId === undefined) {
    if (bridgeId !== undefined) throw new ValidationError('profile', 'required with a bridge: the profile that maps what the bridge sends for this device');
    if (modbus !== undefined) throw new ValidationError('profile', 'required with modbus: the profile that holds the register map');
    if (externalId !== undefined) throw new ValidationError('externalId', 'only for a device behind a bridge');
    return undefined;
  }
  const profile = catalog.profile(profileId);
  if (!profile) throw new ValidationError('profile', `no profile ${JSON.stringify(profileId)} is loaded (GET /api/profiles)`);
  if (profile.kind !== input.kind) throw new ValidationError('profile', `profile ${profileId} maps kind ${profile.kind}, not ${input.kind}`);
  if (profile.source === 'modbus') {
    if (modbus === undefined) throw new ValidationError('modbus', `required: where the gateway polls the device (profile ${profileId} is polled over Modbus)`);
    if (bridgeId !== undefined) throw new ValidationError('bridge', `profile ${profileId} is polled over Modbus: the gateway polls it, no bridge publishes for it`);
    return { profile: profileId, modbus: modbusAddress(modbus) };
  }
  if (modbus !== undefined) throw new ValidationError('modbus', `profile ${profileId} is an MQTT profile: the device publishes, nothing is polled`);
  if (bridgeId === undefined) {
    if (externalId !== undefined) throw new ValidationError('externalId', 'only for a device behind a bridge');
    if (!profile.topics.some((t) => t.hasDevice)) {
      throw new ValidationError('bridge', `required: profile ${profileId}'s topics do not name the device ({device}), so only a bridge can publish for it`);
    }
    return { profile: profileId };
  }
  const bridge = catalog.bridge(bridgeId);
  if (!bridge) throw new ValidationError('bridge', `no bridge ${JSON.stringify(bridgeId)} (GET /api/bridges)`);
  if (bridge.site !== input.site) throw new ValidationError('bridge', `bridge ${bridgeId} is on site ${bridge.site}, not ${input.site}`);
  if (!bridge.profiles.includes(profileId)) {
    throw new ValidationError('profile', `bridge ${bridgeId} publishes for profiles ${bridge.profiles.join(', ')}, not ${profileId}`);
  }
  return { profile: profileId, bridge: bridgeId, ...(externalId !== undefined ? { externalId } : {}) };
}

function modbusAddress(m: NonNullable<SourceInput['modbus']>): ModbusAddress {
  if (m.serial !== undefined) return { serial: m.serial, baudRate: m.baudRate ?? 9600, parity: m.parity ?? 'none', unitId: m.unitId };
  return { host: m.host!, port: m.port ?? 502, unitId: m.unitId, ...(m.rtuOverTcp ? { rtuOverTcp: true } : {}) };
}
