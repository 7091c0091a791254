import { connect } from 'node:net';
import { connectPacket, type Accounts, type PacketCase } from './fuzz-packets.js';

/** What one connection of the packet fuzz did and got back. */
export interface CaseResult {
  /** Hostile packets written (the preamble's CONNECT not counted). */
  sent: number;
  bytes: number;
  /** The CONNACK return code (MQTT 5: reason code) answering a hostile CONNECT, when one came. */
  connack?: number;
  /** The SUBACK's granted codes answering a hostile SUBSCRIBE, when one came. */
  suback?: number[];
  /** The preamble's CONNECT was not accepted: nothing hostile was sent. */
  preambleRefused?: boolean;
}

/** Splits what the broker sends into packets: first byte, remaining length, body. */
class Frames {
  private buf = Buffer.alloc(0);
  readonly packets: Array<{ type: number; body: Buffer }> = [];

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      let len = 0;
      let mul = 1;
      let i = 1;
      for (; i < this.buf.length && i <= 4; i++) {
        len += (this.buf[i] & 0x7f) * mul;
        mul *= 128;
        if ((this.buf[i] & 0x80) === 0) break;
      }
      if (i >= this.buf.length || this.buf.length < i + 1 + len) return;
      this.packets.push({ type: this.buf[0] >> 4, body: this.buf.subarray(i + 1, i + 1 + len) });
      this.buf = this.buf.subarray(i + 1 + len);
    }
  }

  find(type: number): Buffer | undefined {
    return this.packets.find((p) => p.type === type)?.body;
  }
}

const CONNACK = 2;
const SUBACK = 9;

/**
 * Runs one case on a fresh TCP connection: the preamble (a proper CONNECT and its CONNACK), the hostile
 * packets, then a wait for the answer the case expects, for the broker to close, or `lingerMs`; then destroys
 * the socket, so a half-sent packet holds nothing for long.
 */
export async function runCase(port: number, c: PacketCase, accounts: Accounts, id: string, lingerMs: number): Promise<CaseResult> {
  // The hostile cases come from another address than the accounts' own logins, as an attacker on the network
  // would: failed logins are throttled per source address (contract §15), and guessing a device's password
  // from the device's own address would lock that device out, by design.
  const socket = connect({ port, host: '127.0.0.1', localAddress: c.preamble === 'none' ? '127.0.0.2' : '127.0.0.1' });
  socket.setNoDelay(true);
  const frames = new Frames();
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  socket.on('data', (d: Buffer) => (frames.push(d), wake()));
  socket.on('error', () => undefined); // a reset is one of the answers a malformed packet may get
  socket.on('close', () => ((closed = true), wake()));
  const until = (done: () => boolean, ms: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!done() && !closed) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => (waiters.delete(check), resolve()), ms);
      waiters.add(check);
      check();
    });
  const result: CaseResult = { sent: 0, bytes: 0 };
  try {
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    if (c.preamble !== 'none') {
      const who = c.preamble === 'device' ? accounts.device : accounts.operator;
      socket.write(connectPacket(id, who.username, who.password));
      await until(() => frames.find(CONNACK) !== undefined, 5000);
      const ack = frames.find(CONNACK);
      if (!ack || ack[1] !== 0) return { ...result, preambleRefused: true };
      frames.packets.length = 0;
    }
    for (const p of c.packets) {
      if (closed || socket.destroyed) break;
      socket.write(p);
      result.sent++;
      result.bytes += p.length;
    }
    if (c.expect === 'connect-refused') {
      await until(() => frames.find(CONNACK) !== undefined, 5000);
      result.connack = frames.find(CONNACK)?.[1];
    } else if (c.expect === 'all-filters-refused') {
      await until(() => frames.find(SUBACK) !== undefined, 15_000);
      const ack = frames.find(SUBACK);
      result.suback = ack ? [...ack.subarray(2)] : undefined;
    } else {
      await until(() => false, lingerMs);
    }
    return result;
  } catch {
    return result; // could not connect at all: counted as nothing sent
  } finally {
    socket.destroy();
  }
}

/** Runs `next()`'s cases `concurrency` at a time until it returns undefined. */
export async function pool<T>(concurrency: number, next: () => T | undefined, run: (item: T) => Promise<void>): Promise<void> {
  const worker = async () => {
    for (let item = next(); item !== undefined; item = next()) await run(item);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

