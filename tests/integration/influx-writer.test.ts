import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Metrics } from '../../src/metrics.js';
import { alarmLine, eventLine, telemetryLine } from '../../src/storage/influx/points.js';
import { InfluxQuery, quoteString } from '../../src/storage/influx/query.js';
import { Spool } from '../../src/storage/influx/spool.js';
import { InfluxWriter, type InfluxWriterOptions } from '../../src/storage/influx/writer.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const T0 = Date.UTC(2026, 0, 1);
let influx: InfluxServer;
let dir: string;
const writers: InfluxWriter[] = [];

beforeAll(async () => {
  influx = await startInflux();
  dir = await mkdtemp(join(tmpdir(), 'influx-writer-'));
});

afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await influx?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A writer with small test settings on its own spool dir; the spool is opened first, as the gateway does. */
async function startWriter(db: string, spoolName: string, overrides: Partial<InfluxWriterOptions> = {}) {
  const metrics = new Metrics();
  const log = createLogger('silent');
  const spool = new Spool({ dir: join(dir, spoolName), maxBytes: 64 * 1024 * 1024, log, metrics });
  await spool.open();
  const writer = new InfluxWriter({
    url: influx.url,
    db,
    batchSize: 50,
    flushIntervalMs: 20,
    timeoutMs: 2000,
    retryMaxMs: 1000,
    maxPending: 100_000,
    spool,
    log,
    metrics,
    ...overrides,
  });
  writers.push(writer);
  await writer.start();
  return { writer, metrics };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = async (db: string, measurement: string): Promise<number> =>
  Number((await influx.query(`SELECT count(*) FROM "${measurement}"`, db))[0]?.['count_v'] ?? 0);

/** `n` telemetry points of the `energy` kind from index `from`, one per millisecond. */
const point = (i: number): string => telemetryLine('energy', 'site-a', `meter-${i % 10}`, 'z1', { v: i }, T0 + i);

describe('InfluxWriter against a real influxd', () => {
  it('writes telemetry, event and alarm points with their measurement, tags, fields and ms timestamp', async () => {
    const { writer } = await startWriter('layout', 'layout');
    await Promise.all([
      writer.write(telemetryLine('fire', 'maple-court', 'fire-01', 'b3-f12', { temperatureC: 21, coPpm: 3.5 }, T0 + 1)),
      writer.write(eventLine('maple-court', 'access', 'door 1', 'lobby,east', 'access_denied', { method: 'card', reason: 'say "no"\nnow' }, T0 + 2)),
      writer.write(alarmLine('maple-court', 'fire', 'critical', 'fire-01', { state: 'active', id: 'al-1', value: 42 }, T0 + 3)),
    ]);
    expect(await influx.query('SELECT * FROM fire', 'layout')).toStrictEqual([
      { time: T0 + 1, coPpm: 3.5, device: 'fire-01', site: 'maple-court', temperatureC: 21, zone: 'b3-f12' },
    ]);
    expect(await influx.query('SELECT * FROM events', 'layout')).toStrictEqual([
      {
        time: T0 + 2,
        count: 1,
        device: 'door 1',
        kind: 'access',
        method: 'card',
        reason: 'say "no"\\nnow',
        site: 'maple-court',
        type: 'access_denied',
        zone: 'lobby,east',
      },
    ]);
    expect(await influx.query('SELECT * FROM alarms', 'layout')).toStrictEqual([
      { time: T0 + 3, id: 'al-1', severity: 'critical', site: 'maple-court', source: 'fire-01', state: 'active', type: 'fire', value: 42 },
    ]);
    expect(writer.status()).toStrictEqual({ reachable: true, mode: 'direct', spooledPoints: 0, spooledBytes: 0, droppedPoints: 0 });
  });

  it('keeps the valid points of a batch with a field type conflict, counts the refused one and keeps it aside', async () => {
    const refusedFile = join(dir, 'conflict-refused.lp');
    const { writer, metrics } = await startWriter('conflict', 'conflict', { refusedFile });
    await writer.write('typed v=1 1000');
    const lines = ['typed v="text" 2000', 'typed v=3 3000'];
    await Promise.all(lines.map((l) => writer.write(l)));
    expect((await influx.query('SELECT v FROM typed', 'conflict')).map((r) => r.v)).toStrictEqual([1, 3]);
    expect(metrics.value('gateway_influx_points_refused_total')).toBe(1);
    // Acknowledged only after the refused batch was kept: the file holds it whole.
    expect(await readFile(refusedFile, 'utf8')).toBe('typed v="text" 2000\ntyped v=3 3000\n');
    expect(writer.status().mode).toBe('direct');
  });

  it('spools during a 10 s outage and replays every point exactly once, in order, once InfluxDB is back', async () => {
    const { writer, metrics } = await startWriter('outage', 'outage');
    const acks: Array<Promise<void>> = [];
    for (let i = 0; i < 1000; i += 50) {
      for (let j = i; j < i + 50; j++) acks.push(writer.write(point(j)));
      await sleep(5);
    }
    await Promise.all(acks);
    await influx.kill();

    // While down: 3,000 points over ~10.5 s, plus an "order" marker that rewrites the same point each round.
    // The spool must replay in order for the last value written to be the one InfluxDB keeps.
    let marker = 0;
    for (let i = 1000; i < 4000; i += 100) {
      for (let j = i; j < i + 100; j++) acks.push(writer.write(point(j)));
      if (writer.status().mode === 'spooling') acks.push(writer.write(`order v=${++marker} ${T0}`));
      await sleep(350);
    }
    expect(writer.status()).toMatchObject({ reachable: false, mode: 'spooling' });
    expect(writer.status().spooledPoints).toBeGreaterThan(2500);
    await influx.restart();

    for (let i = 4000; i < 5000; i += 50) {
      for (let j = i; j < i + 50; j++) acks.push(writer.write(point(j)));
      await sleep(20);
    }
    await Promise.all(acks);
    await until('the spool to drain', () => writer.status().mode === 'direct' && writer.status().spooledPoints === 0);
    expect(await count('outage', 'energy')).toBe(5000);
    expect(marker).toBeGreaterThan(20);
    expect(await influx.query('SELECT v FROM "order"', 'outage')).toStrictEqual([{ time: T0, v: marker }]);
    expect(metrics.value('gateway_influx_points_refused_total')).toBe(0);
    expect(writer.status()).toMatchObject({ reachable: true, droppedPoints: 0 });
  });

  it('puts unflushed points in the spool on stop() while InfluxDB is down, and a new writer replays them', async () => {
    await influx.kill();
    let second: InfluxWriter;
    try {
      const first = await startWriter('handover', 'handover', { batchSize: 10_000, flushIntervalMs: 60_000 });
      for (let i = 0; i < 300; i++) void first.writer.write(point(i));
      expect(first.metrics.value('gateway_influx_pending_points')).toBe(300);
      await first.writer.stop();
      expect(first.metrics.value('gateway_influx_pending_points')).toBe(0);
      expect(first.writer.status()).toMatchObject({ mode: 'spooling', spooledPoints: 300 });
      await expect(first.writer.write(point(300))).rejects.toThrow(/stopped/);

      // A new writer on the same spool starts (InfluxDB still down), then creates the database once it is back.
      second = (await startWriter('handover', 'handover')).writer;
      expect(second.status()).toMatchObject({ reachable: false, mode: 'spooling', spooledPoints: 300 });
    } finally {
      await influx.restart();
    }
    await until('the spool to drain', () => second.status().mode === 'direct' && second.status().spooledPoints === 0);
    expect(await count('handover', 'energy')).toBe(300);
  });

  it('reads rows back with InfluxQuery: ms times, GROUP BY tags on each row, and a descriptive error', async () => {
    const { writer } = await startWriter('reads', 'reads');
    await Promise.all([1, 2, 3].map((i) => writer.write(telemetryLine('fire', 's', `d${i % 2}`, 'z', { coPpm: i }, T0 + i))));
    const client = new InfluxQuery({ url: influx.url, db: 'reads', timeoutMs: 5000 });
    expect(await client.ping()).toBe(true);
    expect(await client.query(`SELECT coPpm FROM fire WHERE device = ${quoteString('d1')}`)).toStrictEqual([
      { time: T0 + 1, coPpm: 1 },
      { time: T0 + 3, coPpm: 3 },
    ]);
    expect(await client.query('SELECT sum(coPpm) FROM fire GROUP BY device')).toStrictEqual([
      { device: 'd0', time: 0, sum: 2 },
      { device: 'd1', time: 0, sum: 4 },
    ]);
    await expect(client.query('SELECT FROM nowhere')).rejects.toThrow(/InfluxDB/);
  });
});
