/** Which values a Modbus write of each data type can carry (contract §10 commands). */
import type { ModbusType } from './profile.js';

/** The integer types' inclusive ranges; 64-bit ones are limited to what a JSON number holds exactly. */
const INTEGER_RANGES: Partial<Record<ModbusType, readonly [number, number]>> = {
  int16: [-32_768, 32_767],
  uint16: [0, 65_535],
  int32: [-2_147_483_648, 2_147_483_647],
  uint32: [0, 4_294_967_295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** Why `value` cannot be written as `type`, or undefined when it can. */
export function checkWriteValue(type: ModbusType, value: unknown): string | undefined {
  if (type === 'bool') return typeof value === 'boolean' ? undefined : 'a coil takes true or false';
  if (typeof value !== 'number' || !Number.isFinite(value)) return `a ${type} takes a finite number`;
  const range = INTEGER_RANGES[type];
  if (range) {
    if (!Number.isInteger(value)) return `a ${type} takes a whole number`;
    if (value < range[0] || value > range[1]) return `a ${type} takes ${range[0]}..${range[1]}`;
  }
  if (type === 'float32' && Math.abs(value) > FLOAT32_MAX) return 'too large for a float32';
  return undefined;
}

/**
 * A value cleaned of binary floating-point noise: 0.35 / 0.001 is 349.99999999999994, which a register
 * scaled by 0.001 means as 350. Fifteen significant digits are all a double holds exactly.
 */
export function clean(value: number): number {
  return Number(value.toPrecision(15));
}
