import type { BridgeRecord } from '../devices/bridges.js';
import type { DeviceRecord } from '../devices/registry.js';
import type { OperatorRecord } from '../operators/registry.js';

/** Who is behind an MQTT connection. */
export type Principal =
  | { role: 'device'; device: DeviceRecord; prefix: string; cmdTopic: string }
  | { role: 'operator'; operator: OperatorRecord; filters: string[] }
  | { role: 'bridge'; bridge: BridgeRecord }
  | { role: 'anonymous' };
