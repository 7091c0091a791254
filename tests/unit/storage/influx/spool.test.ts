import { appendFile, mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

  it('hands out only whole lines within the byte limit', async () => {
    const spool = await openSpool();
    await spool.append(lines(0, 100), 100);
    const chunk = await spool.read(50);
    expect(chunk?.text).toBe(lines(0, 6)); // 8 bytes each: 6 fit, the 7th would be cut
    expect(chunk?.points).toBe(6);
    await chunk?.commit();
    expect(spool.pendingPoints).toBe(94);
  });

  it('reads the same chunk again when it was not committed', async () => {
    const spool = await openSpool();
    await spool.append(lines(0, 10), 10);
    const first = await spool.read(1000);
    const again = await spool.read(1000);
    expect(again?.text).toBe(first?.text);
  });

  it('coalesces appends made during a sync into one write and fdatasync', async () => {
    const spool = await openSpool();
    const probe = await open(join(dir, 'probe'), 'w');
    const datasync = vi.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync');
    await probe.close();
    await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append(lines(i, 1), 1)));
    expect(datasync.mock.calls.length).toBeLessThanOrEqual(3);
    datasync.mockRestore();
    expect(await readAll(spool)).toBe(lines(0, 100));
  });

  it('resumes from the saved cursor after reopening', async () => {
    const first = await openSpool({ segmentBytes: 500 });
    await first.append(lines(0, 200), 200);
    const chunk = await first.read(300);
    const taken = chunk?.points ?? 0;
    await chunk?.commit();
    await first.close();

    const second = await openSpool({ segmentBytes: 500 });
    expect(second.pendingPoints).toBe(200 - taken);
    await second.append(lines(200, 10), 10);
    expect(await readAll(second)).toBe(lines(taken, 210 - taken));
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

  it('counts lines correctly in a segment larger than one scan block', async () => {
    const first = await openSpool({ segmentBytes: 64 * 1024 * 1024 });
    const big = lines(1_000_000, 10_000).repeat(60); // about 10 MB, more than the 8 MiB scan block
    await first.append(big, 600_000);
    await first.close();
    const second = await openSpool();
    expect(second.pendingPoints).toBe(600_000);
    expect(second.pendingBytes).toBe(Buffer.byteLength(big));
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

  it('does not count a chunk as dropped when its segment is dropped while it is being written', async () => {
    const spool = await openSpool({ maxBytes: 20_000, segmentBytes: 4096 });
    await spool.append(lines(0, 400), 400); // one segment of ~4.4 kB
    const chunk = await spool.read(1000);
    let written = 400;
    while (spool.droppedPoints === 0) {
      await spool.append(lines(written, 50), 50);
      written += 50;
    }
    expect(spool.droppedPoints).toBe(400 - (chunk?.points ?? 0));
    await chunk?.commit();
    expect(spool.droppedPoints).toBe(400 - (chunk?.points ?? 0));
    expect(spool.pendingPoints + spool.droppedPoints + (chunk?.points ?? 0)).toBe(written);
  });

  it('counts an abandoned chunk of a dropped segment as dropped on the next read', async () => {
    const spool = await openSpool({ maxBytes: 20_000, segmentBytes: 4096 });
    await spool.append(lines(0, 400), 400);
    await spool.read(1000); // never committed: the write of it failed
    let written = 400;
    while (spool.droppedPoints === 0) {
      await spool.append(lines(written, 50), 50);
      written += 50;
    }
    await spool.read(1000);
    expect(spool.droppedPoints).toBe(400);
  });

  it('refuses appends after close, and close may be called twice', async () => {
    const spool = await openSpool();
    const pending = spool.append(lines(0, 1), 1);
    await spool.close();
    await pending; // an append made before close is still synced
    await spool.close();
    await expect(spool.append(lines(1, 1), 1)).rejects.toThrow(/closed/);
  });

  it('refuses text that does not end with a newline', async () => {
    const spool = await openSpool();
    await expect(spool.append('m v=1 1', 1)).rejects.toThrow(/whole lines/);
  });
});
