/** Modbus exception codes (Modbus Application Protocol v1.1b3 §7) and their names. */
export const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** What went wrong with a Modbus request, as a stable word for counters and the API. */
export type ModbusErrorKind = 'timeout' | 'exception' | 'link_down' | 'transaction' | 'refused_value' | 'not_confirmed';

/** Where a request went: the unit and, once known, the field, table and address it was for. */
export interface ModbusErrorContext {
  unitId: number;
  table?: string;
  address?: number;
  count?: number;
  field?: string;
}

/** Base of every Modbus failure; the message names the unit (and the field, table and address when known). */
export class ModbusError extends Error {
  constructor(
    readonly kind: ModbusErrorKind,
    readonly context: ModbusErrorContext,
    /** The failure without its context, e.g. "no answer within 100 ms". */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason} (${describeContext(context)})`, options);
    this.name = 'ModbusError';
  }

  /** The same failure (same class, code and cause) naming the field(s) the failed request was for. */
  forField(field: string): this {
    const context = { ...this.context, field };
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this, { context });
    Object.defineProperty(copy, 'message', { value: `${this.reason} (${describeContext(context)})`, writable: true, configurable: true });
    Object.defineProperty(copy, 'stack', { value: this.stack, writable: true, configurable: true });
    if (this.cause !== undefined) Object.defineProperty(copy, 'cause', { value: this.cause, writable: true, configurable: true });
    return copy;
  }
}

/** The unit did not answer within the timeout. */
export class ModbusTimeout extends ModbusError {
  constructor(context: ModbusErrorContext, timeoutMs: number) {
    super('timeout', context, `no answer within ${timeoutMs} ms`);
    this.name = 'ModbusTimeout';
  }
}

/** The unit answered with a Modbus exception. */
export class ModbusException extends ModbusError {
  readonly exceptionName: string;
  constructor(
    context: ModbusErrorContext,
    readonly code: number,
  ) {
    const name = EXCEPTION_NAMES[code] ?? 'unknown exception';
    super('exception', context, `modbus exception ${code} (${name})`);
    this.name = 'ModbusException';
    this.exceptionName = name;
  }
}

/** The link (socket or serial line) is not open, or dropped while the request was out. */
export class ModbusLinkDown extends ModbusError {
  constructor(context: ModbusErrorContext, reason: string, options?: { cause?: unknown }) {
    super('link_down', context, `link down: ${reason}`, options);
    this.name = 'ModbusLinkDown';
  }
}

export function describeContext(c: ModbusErrorContext): string {
  const parts = [`unit ${c.unitId}`];
  if (c.field !== undefined) parts.push(`field ${c.field}`);
  if (c.table !== undefined) parts.push(`${c.table} ${c.address}${c.count !== undefined && c.count > 1 ? `+${c.count}` : ''}`);
  return parts.join(', ');
}
