/** What a link carries: where it goes, the Modbus functions it runs, and the library's answers and errors as ours. */
import type modbusSerial from 'modbus-serial';
import type { ModbusTable } from './codec.js';
import { ModbusError, ModbusException, ModbusLinkDown, ModbusTimeout, type ModbusErrorContext } from './errors.js';

type Client = InstanceType<typeof modbusSerial.default>;

/** Where a link goes, as a device registration carries it (contract §10). */
export type LinkConfig =
  | { host: string; port?: number; rtuOverTcp?: boolean }
  | { serial: string; baudRate?: number; parity?: 'none' | 'even' | 'odd' | 'mark' | 'space'; dataBits?: 5 | 6 | 7 | 8; stopBits?: 1 | 2 };

/** The identity of a link: devices with the same key share one socket or serial line. */
export function linkKey(config: LinkConfig): string {
  if ('serial' in config) return `serial:${config.serial}`;
  return `${config.rtuOverTcp ? 'rtu-tcp' : 'tcp'}:${config.host}:${config.port ?? 502}`;
}

/** True when frames on the link are RTU (no transaction id; unit 0 is broadcast and never answers). */
export function isRtu(config: LinkConfig): boolean {
  return 'serial' in config || config.rtuOverTcp === true;
}

/** One Modbus function on a link. */
export type ModbusOp =
  | { fn: 'read'; table: ModbusTable; address: number; count: number }
  | { fn: 'writeCoil'; address: number; value: boolean }
  | { fn: 'writeRegisters'; address: number; values: number[] };

export interface LinkRequest {
  unitId: number;
  timeoutMs: number;
  op: ModbusOp;
}

export type LinkAnswer = number[] | boolean[] | undefined;

export function contextOf(req: LinkRequest): ModbusErrorContext {
  const { op, unitId } = req;
  if (op.fn === 'read') return { unitId, table: op.table, address: op.address, count: op.count };
  if (op.fn === 'writeCoil') return { unitId, table: 'coil', address: op.address };
  return { unitId, table: 'holding', address: op.address, count: op.values.length };
}

export function callFor(client: Client, op: ModbusOp): Promise<LinkAnswer> {
  switch (op.fn) {
    case 'read':
      switch (op.table) {
        case 'coil':
          return client.readCoils(op.address, op.count).then((r) => r.data.slice(0, op.count));
        case 'discrete':
          return client.readDiscreteInputs(op.address, op.count).then((r) => r.data.slice(0, op.count));
        case 'holding':
          return client.readHoldingRegisters(op.address, op.count).then((r) => r.data);
        case 'input':
          return client.readInputRegisters(op.address, op.count).then((r) => r.data);
      }
      break;
    case 'writeCoil':
      return client.writeCoil(op.address, op.value).then(() => undefined);
    case 'writeRegisters':
      // FC6 for one register, FC16 for more (Modbus Application Protocol §6.6, §6.12).
      if (op.values.length === 1) return client.writeRegister(op.address, op.values[0]).then(() => undefined);
      return client.writeRegisters(op.address, op.values).then(() => undefined);
  }
}

/** The library's errors as typed ones: an exception keeps its code; "Timed out" is a timeout; the rest garbled. */
export function toModbusError(err: unknown, req: LinkRequest): ModbusError {
  if (err instanceof ModbusError) return err;
  const e = err as { modbusCode?: unknown; errno?: unknown; message?: unknown };
  const ctx = contextOf(req);
  if (typeof e.modbusCode === 'number') return new ModbusException(ctx, e.modbusCode);
  if (e.errno === 'ETIMEDOUT') return new ModbusTimeout(ctx, req.timeoutMs);
  if (e.message === 'Port Not Open') return new ModbusLinkDown(ctx, 'port not open', { cause: err });
  return new ModbusError('transaction', ctx, `bad answer: ${String(e.message)}`, { cause: err });
}
