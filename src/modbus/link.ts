/*
 * Library: modbus-serial (~8.0), chosen over jsmodbus (5.0) after comparing both with `npm view` and their
 * published sources:
 * - transports: modbus-serial speaks Modbus TCP, RTU over a serial line (serialport ^13 as an *optional*
 *   dependency, loaded only when a serial link opens; prebuilt binaries, `npm ci` passes on Node 20 with
 *   or without it) and RTU over TCP for cheap serial servers (`linkTelnet`: raw RTU frames on a socket).
 *   jsmodbus has TCP and RTU, but its RTU client wants a SerialPort object and its typings import
 *   `serialport`, which it lists only as a devDependency; it has no RTU-over-TCP port.
 * - tests: modbus-serial's ServerTCP takes a vector of async functions called with the unit id, so the
 *   simulator can hold a map per unit and be silent, slow or answer an exception (reject with
 *   `modbusErrorCode`). jsmodbus's server serves one set of buffers, whatever the unit id.
 * - it lets us bring our own socket (`linkTCP`/`linkTelnet`), so connect timeout, close detection and
 *   reconnect stay here; it drops late answers to timed-out transactions (TCP transaction ids; RTU
 *   frames are matched on unit id and function code).
 * - dependencies: `debug` (+ optional serialport) vs `debug`, `crc`, `commander`; both ship typings, and
 *   both published releases in 2026 on the registry.
 */
import net from 'node:net';
import modbusSerial from 'modbus-serial';
import type { Logger } from '../log.js';
import { ModbusLinkDown, ModbusTimeout, type ModbusError } from './errors.js';
import { callFor, contextOf, linkKey, toModbusError, type LinkAnswer, type LinkConfig, type LinkRequest } from './request.js';

export { isRtu, linkKey, type LinkAnswer, type LinkConfig, type LinkRequest, type ModbusOp } from './request.js';

// The package is CommonJS with ESM-style typings: its class is `module.exports`, and also `.default` as typed.
const ModbusRTU = modbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

export interface LinkOptions {
  log?: Logger;
  /** Reconnect backoff after a failed connect or a drop: doubles from min to max. Defaults 1 s → 30 s. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Transaction errors (timeouts, garbled frames) in a row after which the socket is reopened. Default 3. */
  maxTransactionErrors?: number;
  /** A connect that takes longer fails (a host that drops SYNs). Default 3 s. */
  connectTimeoutMs?: number;
}

export type LinkState = 'stopped' | 'connecting' | 'open' | 'backoff';

export interface LinkStats {
  key: string;
  state: LinkState;
  connects: number;
  drops: number;
  reopens: number;
  errorsInRow: number;
  queued: number;
  lastError?: string;
}

interface Pending {
  req: LinkRequest;
  resolve: (answer: LinkAnswer) => void;
  reject: (err: ModbusError) => void;
}

/**
 * One Modbus link: a TCP socket, an RTU-over-TCP socket or a serial line, shared by its unit ids. Requests
 * run one at a time in FIFO order (contract §10), each bounded by its own timeout so a silent unit holds the
 * line no longer than that. Reconnects with backoff after a drop; reopens after repeated transaction errors.
 */
export class ModbusLink {
  readonly key: string;
  private readonly queue: Pending[] = [];
  private client: Client | undefined;
  private socket: net.Socket | undefined;
  private generation = 0;
  private busy = false;
  private inflight: Pending | undefined;
  private current: LinkState = 'stopped';
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private requestTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private counters = { connects: 0, drops: 0, reopens: 0, errorsInRow: 0 };
  private lastError: string | undefined;

  constructor(
    readonly config: LinkConfig,
    private readonly options: LinkOptions = {},
  ) {
    this.key = linkKey(config);
    this.backoffMs = options.backoffMinMs ?? 1000;
  }

  get state(): LinkState {
    return this.current;
  }

  /** Opens the link (in the background: requests made while connecting wait for it). */
  start(): void {
    if (this.current !== 'stopped') return;
    this.connect();
  }

  /** Closes the link, fails every waiting request and leaves no timer. Idempotent. */
  async stop(): Promise<void> {
    if (this.current === 'stopped') return;
    this.current = 'stopped';
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.failAll('stopped');
    await this.closeTransport();
  }

  /** Runs one request in turn; rejects with ModbusTimeout, ModbusException, ModbusLinkDown or a transaction ModbusError. */
  request(req: LinkRequest): Promise<LinkAnswer> {
    const ctx = contextOf(req);
    if (this.current === 'stopped') return Promise.reject(new ModbusLinkDown(ctx, 'link stopped'));
    if (this.current === 'backoff') {
      const inS = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
      return Promise.reject(new ModbusLinkDown(ctx, `${this.lastError ?? 'not connected'}; reconnecting in ${inS} s`));
    }
    return new Promise<LinkAnswer>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      this.pump();
    });
  }

  stats(): LinkStats {
    return { key: this.key, state: this.current, ...this.counters, queued: this.queue.length, lastError: this.lastError };
  }

  private pump(): void {
    if (this.busy || this.current !== 'open') return;
    const next = this.queue.shift();
    if (!next) return;
    this.busy = true;
    this.inflight = next;
    const gen = this.generation;
    void this.execute(next).then(
      (answer) => this.settle(gen, next, answer, undefined),
      (err: unknown) => this.settle(gen, next, undefined, toModbusError(err, next.req)),
    );
  }

  /** Hands the outcome to the caller (unless a drop already did), keeps the error count, and runs the next. */
  private settle(gen: number, p: Pending, answer: LinkAnswer, err: ModbusError | undefined): void {
    if (this.inflight !== p) return; // a drop or stop already failed it
    this.inflight = undefined;
    this.busy = false;
    if (err) p.reject(err);
    else p.resolve(answer);
    if (gen !== this.generation || this.current !== 'open') return;
    if (err && (err.kind === 'timeout' || err.kind === 'transaction')) {
      this.counters.errorsInRow++;
      if (this.counters.errorsInRow >= (this.options.maxTransactionErrors ?? 3)) {
        this.reopen(err);
        return;
      }
    } else {
      // Any answer, an exception included, shows the line works.
      this.counters.errorsInRow = 0;
      this.backoffMs = this.options.backoffMinMs ?? 1000;
    }
    this.pump();
  }

  /** Sends one request with the library, bounded by its timeout whatever the library does. */
  private execute(p: Pending): Promise<LinkAnswer> {
    const { unitId, timeoutMs, op } = p.req;
    const client = this.client;
    if (!client) return Promise.reject(new ModbusLinkDown(contextOf(p.req), 'not connected'));
    client.setID(unitId);
    client.setTimeout(timeoutMs);
    const call = callFor(client, op);
    return new Promise<LinkAnswer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ModbusTimeout(contextOf(p.req), timeoutMs)), timeoutMs);
      this.requestTimer = timer;
      const done = () => {
        clearTimeout(timer);
        if (this.requestTimer === timer) this.requestTimer = undefined;
      };
      call.then(
        (answer) => {
          done();
          resolve(answer);
        },
        (err: unknown) => {
          done();
          // Passed on as is: the library's errors are not all Error instances (TransactionTimedOutError).
          reject(err);
        },
      );
    });
  }

  private connect(): void {
    this.current = 'connecting';
    const gen = ++this.generation;
    this.open(gen).then(
      () => {
        if (gen !== this.generation || this.current !== 'connecting') return;
        this.current = 'open';
        this.lastError = undefined;
        this.counters.connects++;
        this.counters.errorsInRow = 0;
        this.options.log?.info({ link: this.key }, 'modbus link open');
        this.pump();
      },
      (err: unknown) => {
        if (gen !== this.generation || this.current !== 'connecting') return;
        this.lastError = err instanceof Error ? err.message : String(err);
        void this.closeTransport();
        this.scheduleRetry();
      },
    );
  }

  /** Opens the transport for generation `gen`; a close of that transport later counts as a drop. */
  private async open(gen: number): Promise<void> {
    const client = new ModbusRTU();
    const config = this.config;
    if ('serial' in config) {
      const { serial, baudRate = 9600, parity = 'none', dataBits = 8, stopBits = 1 } = config;
      this.client = client;
      await client.connectRTUBuffered(serial, { baudRate, parity, dataBits, stopBits });
      client.on('close', () => this.onDrop(gen, 'serial line closed'));
      return;
    }
    const socket = await this.connectSocket(config.host, config.port ?? 502);
    this.socket = socket;
    this.client = client;
    socket.on('close', () => this.onDrop(gen, 'connection closed'));
    if (config.rtuOverTcp) await client.linkTelnet(socket, { port: config.port ?? 502 });
    else await client.linkTCP(socket, { port: config.port ?? 502 });
  }

  private connectSocket(host: string, port: number): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, this.options.connectTimeoutMs ?? 3000);
      // A socket error after connect is followed by 'close', which counts the drop; this only keeps it handled.
      socket.on('error', (err) => {
        clearTimeout(timer);
        this.lastError = err.message;
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(socket);
      });
    });
  }

  private onDrop(gen: number, reason: string): void {
    if (gen !== this.generation || this.current === 'stopped') return;
    if (this.current === 'open') {
      this.counters.drops++;
      this.options.log?.warn({ link: this.key, reason: this.lastError ?? reason }, 'modbus link dropped');
    }
    this.lastError ??= reason;
    this.failAll(reason);
    this.client = undefined;
    this.socket = undefined;
    this.scheduleRetry();
  }

  /** After repeated transaction errors the line may be out of step (half-open socket, garbage): start afresh. */
  private reopen(err: ModbusError): void {
    this.counters.reopens++;
    this.lastError = err.message;
    this.options.log?.warn({ link: this.key, err }, 'modbus link reopened after repeated errors');
    this.generation++;
    this.failAll('reopening after repeated errors');
    void this.closeTransport();
    this.connect();
  }

  private scheduleRetry(): void {
    this.generation++;
    this.current = 'backoff';
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs ?? 30_000);
    this.retryAt = Date.now() + delay;
    this.options.log?.debug({ link: this.key, delayMs: delay, reason: this.lastError }, 'modbus link reconnect scheduled');
    this.failAll(this.lastError ?? 'not connected');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.current === 'backoff') this.connect();
    }, delay);
  }

  private failAll(reason: string): void {
    const pending = [...(this.inflight ? [this.inflight] : []), ...this.queue.splice(0)];
    clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    this.inflight = undefined;
    this.busy = false;
    for (const p of pending) p.reject(new ModbusLinkDown(contextOf(p.req), reason));
  }

  private async closeTransport(): Promise<void> {
    const { client, socket } = this;
    this.client = undefined;
    this.socket = undefined;
    if (client && socket) {
      // destroy (not close) also clears the library's per-transaction timers, so stop() leaves none behind.
      client.destroy(() => undefined);
      socket.destroy();
      return;
    }
    socket?.destroy();
    if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}
