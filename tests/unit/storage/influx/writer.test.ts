import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/log.js';
import { Metrics } from '../../../../src/metrics.js';
import { Spool } from '../../../../src/storage/influx/spool.js';
import { InfluxWriter, type InfluxWriterOptions } from '../../../../src/storage/influx/writer.js';

/** A stand-in for InfluxDB's HTTP API whose answers each test scripts; real influxd runs in tests/integration. */
interface Stub {
  url: string;
  writes: string[];
  queries: string[];
  answerWrite: (body: string) => number | Promise<number>;
  server: Server;
}

let dir: string;
let stub: Stub;
let logs: Array<{ msg: string } & Record<string, unknown>>;
const writers: InfluxWriter[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'writer-'));
  logs = [];
  stub = await startStub();
});

afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.stop()));
  stub.server.closeAllConnections();
  await new Promise((resolve) => stub.server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function startStub(): Promise<Stub> {
  const s: Stub = { url: '', writes: [], queries: [], answerWrite: () => 204, server: createServer() };
  s.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c));
    req.on('end', () => {
      void (async () => {
        if (req.url?.startsWith('/ping')) return void res.writeHead(204).end();
        if (req.url?.startsWith('/query')) {
          s.queries.push(new URLSearchParams(body).get('q') ?? '');
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[{"statement_id":0}]}');
        }
        const status = await s.answerWrite(body);
        if (status === 204) s.writes.push(body);
        res.writeHead(status, { 'content-type': 'application/json' }).end(status === 204 ? undefined : '{"error":"scripted"}');
      })();
    });
  });
  await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  const address = s.server.address();
  s.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return s;
}

async function startWriter(overrides: Partial<InfluxWriterOptions> = {}) {
  const metrics = new Metrics();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const log = createLogger('info', sink);
  const spool = new Spool({ dir, maxBytes: 1 << 20, log, metrics });
  await spool.open();
  const writer = new InfluxWriter({
    url: stub.url,
    db: 'test',
    batchSize: 10,
    flushIntervalMs: 10,
    timeoutMs: 1000,
    retryMaxMs: 200,
    maxPending: 1000,
    spool,
    log,
    metrics,
    ...overrides,
  });
  writers.push(writer);
  await writer.start();
  return { writer, metrics };
}

const line = (i: number): string => `m v=${i} ${i}`;
const storedLines = (): string[] => stub.writes.flatMap((b) => b.split('\n').filter((l) => l !== ''));

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('InfluxWriter', () => {
  it('creates the database at start', async () => {
    await startWriter();
    expect(stub.queries).toStrictEqual(['CREATE DATABASE "test"']);
  });

  it('shares one promise between the lines of a batch and flushes at batchSize', async () => {
    const { writer, metrics } = await startWriter({ flushIntervalMs: 60_000 });
    const promises = Array.from({ length: 10 }, (_, i) => writer.write(line(i)));
    expect(new Set(promises).size).toBe(1);
    await promises[0];
    expect(stub.writes).toStrictEqual([Array.from({ length: 10 }, (_, i) => line(i)).join('\n')]);
    expect(metrics.value('gateway_influx_points_written_total')).toBe(10);
  });

  it('flushes a partial batch once its first line is flushIntervalMs old', async () => {
    const { writer } = await startWriter({ batchSize: 1000, flushIntervalMs: 50 });
    const started = Date.now();
    await writer.write(line(1));
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(storedLines()).toStrictEqual([line(1)]);
  });

  it('asks callers to wait at maxPending lines held and lets them go below half of it', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    stub.answerWrite = async () => {
      await held;
      return 204;
    };
    const { writer } = await startWriter({ maxPending: 40 });
    expect(writer.pressure()).toBeUndefined();
    for (let i = 0; i < 40; i++) void writer.write(line(i));
    const wait = writer.pressure();
    expect(wait).toBeInstanceOf(Promise);
    release();
    await wait;
    expect(writer.pressure()).toBeUndefined();
  });

  it('spools a batch answered with a 5xx, keeps spooling, and replays everything once in order', async () => {
    let failing = true;
    stub.answerWrite = () => (failing ? 503 : 204);
    const { writer } = await startWriter({ retryMaxMs: 50 });
    const acks = Array.from({ length: 100 }, (_, i) => writer.write(line(i)));
    await Promise.all(acks); // safe in the spool
    expect(writer.status()).toMatchObject({ mode: 'spooling', spooledPoints: 100 });
    failing = false;
    await until('direct mode', () => writer.status().mode === 'direct');
    expect(storedLines()).toStrictEqual(Array.from({ length: 100 }, (_, i) => line(i)));
    expect(logs.filter((l) => l.msg === 'InfluxDB unavailable, spooling points')).toHaveLength(1);
    expect(logs.some((l) => l.msg === 'spool replay finished, writing directly' && l.points === 100)).toBe(true);
  });

  it('treats a missing database as an outage and creates it before replaying', async () => {
    let created = false;
    stub.answerWrite = () => (created ? 204 : 404);
    const { writer } = await startWriter();
    stub.queries.length = 0;
    await writer.write(line(1));
    expect(writer.status().mode).toBe('spooling');
    created = true;
    await until('direct mode', () => writer.status().mode === 'direct');
    expect(stub.queries).toContain('CREATE DATABASE "test"');
    expect(storedLines()).toStrictEqual([line(1)]);
  });

  it('resolves a batch InfluxDB refuses with a 400 and counts its points without retrying', async () => {
    stub.answerWrite = () => 400;
    const { writer, metrics } = await startWriter();
    await Promise.all([writer.write(line(1)), writer.write(line(2))]);
    expect(metrics.value('gateway_influx_points_refused_total')).toBe(2);
    expect(writer.status()).toMatchObject({ mode: 'direct', spooledPoints: 0 });
  });

  it('rejects writes after stop(), and stop() may be called twice', async () => {
    const { writer } = await startWriter();
    const before = writer.write(line(1));
    await writer.stop();
    await before;
    await writer.stop();
    await expect(writer.write(line(2))).rejects.toThrow(/stopped/);
    expect(storedLines()).toStrictEqual([line(1)]);
  });
});
