/**
 * A Modbus TCP device simulator on modbus-serial's ServerTCP: a register and coil map per unit id, units that
 * can be made silent, slow or answer an exception, and a log of the requests each unit received (so tests
 * can assert batching). Values are raw register words; tests encode them with src/modbus/codec.
 */
import net from 'node:net';
import { ServerTCP, type IServiceVector } from 'modbus-serial';

export type SimTable = 'coil' | 'discrete' | 'holding' | 'input';

/** How a unit answers: normally, not at all, after a delay, or with an exception (optionally only at one address). */
export interface UnitBehaviour {
  silent?: boolean;
  delayMs?: number;
  exception?: { code: number; table?: SimTable; address?: number };
  /** Acknowledges writes but keeps the old values (a setpoint the device clamps or a locked register). */
  ignoreWrites?: boolean;
}

/** One request as the server saw it: unit, function code, first address and quantity. */
export interface SimRequest {
  unitId: number;
  fc: number;
  address: number;
  count: number;
  /** When it arrived (epoch ms); only with `start({ timestamps: true })` (bench/modbus.ts measures poll jitter). */
  at?: number;
}

interface Unit {
  registers: { holding: Map<number, number>; input: Map<number, number> };
  bits: { coil: Map<number, boolean>; discrete: Map<number, boolean> };
  behaviour: UnitBehaviour;
}

type Callback<T> = (err: Error | null, value: T) => void;

/** A Modbus exception as ServerTCP expects it from a vector function (it answers fc | 0x80 with this code). */
class SimException extends Error {
  constructor(readonly modbusErrorCode: number) {
    super(`modbus exception ${modbusErrorCode}`);
  }
}

const MAX_REGISTERS = 125;
const MAX_BITS = 2000;

export class ModbusSimulator {
  /** Every request received, in order. */
  readonly requests: SimRequest[] = [];
  private readonly units = new Map<number, Unit>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server: ServerTCP | undefined;
  private bitBurst: SimRequest | undefined;

  private constructor(
    readonly host: string,
    readonly port: number,
    private readonly timestamps = false,
  ) {}

  /** Starts a simulator on `host` (127.0.0.1) and a free port (or the one given); units 1.. are added with `unit()`. */
  static async start(options: { host?: string; port?: number; timestamps?: boolean } = {}): Promise<ModbusSimulator> {
    const host = options.host ?? '127.0.0.1';
    for (let attempt = 0; ; attempt++) {
      // ServerTCP treats port 0 as "use 502", so a free port is found first (and retried if taken meanwhile).
      const port = options.port || (await freePort(host));
      const sim = new ModbusSimulator(host, port, options.timestamps === true);
      try {
        sim.server = await listen(sim.vector(), host, port);
        return sim;
      } catch (err) {
        if (options.port || attempt >= 5) throw err;
      }
    }
  }

  /** Adds (or returns) a unit; it answers every address, 0 where nothing was set. */
  unit(unitId: number): this {
    if (!this.units.has(unitId)) {
      this.units.set(unitId, { registers: { holding: new Map(), input: new Map() }, bits: { coil: new Map(), discrete: new Map() }, behaviour: {} });
    }
    return this;
  }

  /** Sets register words from `address` on in a unit's holding or input table. */
  setRegisters(unitId: number, table: 'holding' | 'input', address: number, words: readonly number[]): this {
    const map = this.unit(unitId).get(unitId).registers[table];
    words.forEach((w, i) => map.set(address + i, w & 0xffff));
    return this;
  }

  /** Sets bits from `address` on in a unit's coil or discrete table. */
  setBits(unitId: number, table: 'coil' | 'discrete', address: number, bits: readonly boolean[]): this {
    const map = this.unit(unitId).get(unitId).bits[table];
    bits.forEach((b, i) => map.set(address + i, b));
    return this;
  }

  getRegisters(unitId: number, table: 'holding' | 'input', address: number, count: number): number[] {
    const map = this.get(unitId).registers[table];
    return Array.from({ length: count }, (_, i) => map.get(address + i) ?? 0);
  }

  getBits(unitId: number, table: 'coil' | 'discrete', address: number, count: number): boolean[] {
    const map = this.get(unitId).bits[table];
    return Array.from({ length: count }, (_, i) => map.get(address + i) ?? false);
  }

  /** Replaces how a unit answers; `{}` makes it answer normally again. */
  behave(unitId: number, behaviour: UnitBehaviour): this {
    this.unit(unitId).get(unitId).behaviour = behaviour;
    return this;
  }

  /** Requests received, optionally only those of one unit and function code. */
  count(unitId?: number, fc?: number): number {
    return this.requests.filter((r) => (unitId === undefined || r.unitId === unitId) && (fc === undefined || r.fc === fc)).length;
  }

  /** Stops listening, closes every connection and clears its timers (slow answers never come). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private get(unitId: number): Unit {
    const unit = this.units.get(unitId);
    if (!unit) throw new Error(`unit ${unitId} is not simulated`);
    return unit;
  }

  /**
   * Answers one request after applying the unit's behaviour. Unknown units stay silent, as an absent device
   * on a serial line behind a gateway would.
   */
  private serve<T>(req: SimRequest, table: SimTable, answer: () => T, cb: Callback<T>): void {
    const unit = this.units.get(req.unitId);
    if (!unit || unit.behaviour.silent) return;
    const ex = unit.behaviour.exception;
    const limit = table === 'coil' || table === 'discrete' ? MAX_BITS : MAX_REGISTERS;
    let run = () => cb(null, answer());
    // An empty list beside the error: ServerTCP's input-register path indexes the values before it looks at the
    // error, and would answer exception 4 (server failure) instead of ours.
    const fail = (code: number) => () => cb(new SimException(code), [] as unknown as T);
    if (req.count > limit) run = fail(3);
    else if (ex && (ex.table === undefined || ex.table === table) && (ex.address === undefined || (ex.address >= req.address && ex.address < req.address + req.count))) {
      run = fail(ex.code);
    }
    const delay = unit.behaviour.delayMs ?? 0;
    if (delay <= 0) return run();
    const t = setTimeout(() => {
      this.timers.delete(t);
      run();
    }, delay);
    this.timers.add(t);
  }

  private writable(unitId: number): boolean {
    return this.get(unitId).behaviour.ignoreWrites !== true;
  }

  private record(unitId: number, fc: number, address: number, count: number): SimRequest {
    const req: SimRequest = { unitId, fc, address, count };
    if (this.timestamps) req.at = Date.now();
    this.requests.push(req);
    return req;
  }

  /**
   * ServerTCP asks for coils and discrete inputs one bit at a time, synchronously for one request (each
   * request is parsed in its own macrotask); a burst of consecutive addresses is therefore one request.
   */
  private bitRequest(unitId: number, fc: number, address: number): SimRequest {
    const b = this.bitBurst;
    if (b && b.unitId === unitId && b.fc === fc && b.address + b.count === address) {
      b.count++;
      return b;
    }
    const req = this.record(unitId, fc, address, 1);
    this.bitBurst = req;
    queueMicrotask(() => {
      if (this.bitBurst === req) this.bitBurst = undefined;
    });
    return req;
  }

  /** The functions ServerTCP calls per request (public only so `start` can hand them over). */
  vector(): IServiceVector {
    const regs = (table: 'holding' | 'input', fc: number) => ({
      one: (addr: number, unitID: number, cb: Callback<number>) =>
        this.serve(this.record(unitID, fc, addr, 1), table, () => this.get(unitID).registers[table].get(addr) ?? 0, cb),
      many: (addr: number, length: number, unitID: number, cb: Callback<number[]>) =>
        this.serve(this.record(unitID, fc, addr, length), table, () => this.getRegisters(unitID, table, addr, length), cb),
    });
    const bit = (table: 'coil' | 'discrete', fc: number) => (addr: number, unitID: number, cb: Callback<boolean>) => {
      const req = this.bitRequest(unitID, fc, addr);
      this.serve(req, table, () => this.get(unitID).bits[table].get(addr) ?? false, cb);
    };
    const holding = regs('holding', 3);
    const input = regs('input', 4);
    return {
      getHoldingRegister: holding.one,
      getMultipleHoldingRegisters: holding.many,
      getInputRegister: input.one,
      getMultipleInputRegisters: input.many,
      getCoil: bit('coil', 1),
      getDiscreteInput: bit('discrete', 2),
      setCoil: (addr: number, value: boolean, unitID: number, cb: (err: Error | null) => void) =>
        this.serve(this.record(unitID, 5, addr, 1), 'coil', () => this.writable(unitID) && this.setBits(unitID, 'coil', addr, [value]), (err) => cb(err)),
      setRegister: (addr: number, value: number, unitID: number, cb: (err: Error | null) => void) =>
        this.serve(this.record(unitID, 6, addr, 1), 'holding', () => this.writable(unitID) && this.setRegisters(unitID, 'holding', addr, [value]), (err) => cb(err)),
      setRegisterArray: (addr: number, values: number[], unitID: number, cb: (err: Error | null) => void) =>
        this.serve(this.record(unitID, 16, addr, values.length), 'holding', () => this.writable(unitID) && this.setRegisters(unitID, 'holding', addr, values), (err) => cb(err)),
    };
  }
}

/** Starts a ServerTCP; resolves once it listens. */
function listen(vector: IServiceVector, host: string, port: number): Promise<ServerTCP> {
  return new Promise((resolve, reject) => {
    const server = new ServerTCP(vector, { host, port, unitID: 255 });
    server.on('initialized', () => resolve(server));
    server.on('serverError', (err: Error | null) => reject(err ?? new Error('modbus server failed')));
    // A client that resets its connection (the gateway under test stopping) is not a failure of the simulator.
    server.on('socketError', () => undefined);
  });
}

/** A port nothing listens on right now (bound then released by the OS). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
