import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../src/log.js';
import { Metrics } from '../../../../src/metrics.js';
import { Spool, type SpoolOptions } from '../../../../src/storage/influx/spool.js';

let dir: string;
let logs: Array<{ level: number; msg: string } & Record<string, unknown>>;
const spools: Spool[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spool-'));
  logs = [];
});

afterEach(async () => {
  await Promise.all(spools.splice(0).map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openSpool(options: Partial<SpoolOptions> = {}): Promise<Spool> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const spool = new Spool({ dir, maxBytes: 10_000_000, log: createLogger('info', sink), metrics: new Metrics(), ...options });
  spools.push(spool);
  await spool.open();
  return spool;
}

/** `count` lines `m v=<i> <i>`, starting at `from`. */
function lines(from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += `m v=${i} ${i}\n`;
  return text;
}

async function readAll(spool: Spool, chunkBytes = 1 << 20): Promise<string> {
  let text = '';
  for (let chunk = await spool.read(chunkBytes); chunk; chunk = await spool.read(chunkBytes)) {
    text += chunk.text;
    await chunk.commit();
  }
  return text;
}

const segmentFiles = async (): Promise<string[]> => (await readdir(dir)).filter((n) => n.endsWith('.lp')).sort();

describe('Spool', () => {
  it('returns null when nothing is pending', async () => {
    const spool = await openSpool();
    expect(await spool.read(1000)).toBeNull();
    expect(spool.pendingPoints).toBe(0);
    expect(spool.pendingBytes).toBe(0);
  });

  it('replays appended lines in order across segment rotation and deletes replayed segments', async () => {
    const spool = await openSpool({ segmentBytes: 1000 });
    for (let i = 0; i < 50; i++) await spool.append(lines(i * 10, 10), 10);
    expect(spool.pendingPoints).toBe(500);
    expect((await segmentFiles()).length).toBeGreaterThan(3);
    expect(await readAll(spool, 700)).toBe(lines(0, 500));
    expect(spool.pendingPoints).toBe(0);
    expect(spool.pendingBytes).toBe(0);
    expect((await segmentFiles()).length).toBe(1); // the newest stays, it may still grow
  });

  it('truncates a torn tail left by a crash and keeps the whole lines before it', async () => {
    const first = await openSpool();
    await first.append(lines(0, 3), 3);
    await first.close();
    const [segment] = await segmentFiles();
    await appendFile(join(dir, segment), 'm v=3 3\nm v=4'); // the crash came in the middle of a line

    const second = await openSpool();
    expect(second.pendingPoints).toBe(4);
    expect(await readFile(join(dir, segment), 'utf8')).toBe(lines(0, 4));
    expect(logs.some((l) => l.msg === 'spool torn tail truncated' && l.bytes === 5)).toBe(true);
    await second.append(lines(5, 1), 1);
    expect(await readAll(second)).toBe(lines(0, 4) + lines(5, 1));
  });

  it('drops whole oldest segments beyond the bound and counts the dropped points', async () => {
    const metrics = new Metrics();
    const spool = await openSpool({ maxBytes: 20_000, segmentBytes: 4096, metrics });
    let written = 0;
    for (let i = 0; i < 100; i++, written += 50) await spool.append(lines(written, 50), 50);
    const dropped = spool.droppedPoints;
    expect(dropped).toBeGreaterThan(0);
    expect(spool.pendingBytes).toBeLessThanOrEqual(20_000);
    expect(spool.pendingPoints + dropped).toBe(written);
    expect(metrics.value('gateway_spool_dropped_points_total')).toBe(dropped);
    expect(metrics.value('gateway_spool_points')).toBe(spool.pendingPoints);
    expect(logs.filter((l) => l.msg === 'spool above 80% of its bound')).toHaveLength(1);
    expect(logs.some((l) => l.msg === 'spool full, oldest points dropped')).toBe(true);
    // What is left is the newest points, in order, with nothing missing after the first one kept.
    const kept = await readAll(spool);
    expect(kept).toBe(lines(dropped, written - dropped));
  });

  it('refuses appends after close, and close may be called twice', async () => {
    const spool = await openSpool();
    const pending = spool.append(lines(0, 1), 1);
    await spool.close();
    await pending; // an append made before close is still synced
    await spool.close();
    await expect(spool.append(lines(1, 1), 1)).rejects.toThrow(/closed/);
  });

  it('names its log data in points and its gauges gateway_spool_*', async () => {
    const metrics = new Metrics();
    const spool = await openSpool({ maxBytes: 20_000, segmentBytes: 4096, metrics });
    for (let i = 0; i < 100; i++) await spool.append(lines(i * 50, 50), 50);
    expect(logs.find((l) => l.msg === 'spool full, oldest points dropped')).toMatchObject({ droppedPoints: expect.any(Number), droppedBytes: expect.any(Number) });
    expect(logs.find((l) => l.msg === 'spool opened')).toMatchObject({ points: 0, bytes: 0, segments: 0 });
    expect(metrics.value('gateway_spool_bytes')).toBe(spool.pendingBytes);
  });

  it('replays the spool an earlier version left: NNNNNNNNNN.lp segments and cursor.json', async () => {
    await writeFile(join(dir, '0000000007.lp'), lines(0, 3));
    await writeFile(join(dir, '0000000008.lp'), lines(3, 2));
    await writeFile(join(dir, 'cursor.json'), JSON.stringify({ segment: 7, offset: Buffer.byteLength(lines(0, 1)) }));
    const spool = await openSpool();
    expect(spool.pendingPoints).toBe(4);
    await spool.append(lines(5, 1), 1);
    expect(await segmentFiles()).toStrictEqual(['0000000007.lp', '0000000008.lp', '0000000009.lp']);
    expect(await readAll(spool)).toBe(lines(1, 5));
  });
});
