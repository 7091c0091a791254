import { appendFile, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics.js';
import { DiskQueue, type DiskQueueOptions } from '../../../src/shared/disk-queue.js';

let dir: string;
let logs: Array<{ level: number; msg: string } & Record<string, unknown>>;
const queues: DiskQueue[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'disk-queue-'));
  logs = [];
});

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openQueue(options: Partial<DiskQueueOptions> = {}): Promise<DiskQueue> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  const queue = new DiskQueue({ dir, suffix: '.q', maxBytes: 10_000_000, log: createLogger('info', sink), name: 'test queue', unit: 'records', ...options });
  queues.push(queue);
  await queue.open();
  return queue;
}

/** `count` lines `r <i>`, starting at `from`. */
function lines(from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++) text += `r ${i}\n`;
  return text;
}

async function readAll(queue: DiskQueue, chunkBytes = 1 << 20): Promise<string> {
  let text = '';
  for (let chunk = await queue.read(chunkBytes); chunk; chunk = await queue.read(chunkBytes)) {
    text += chunk.text;
    await chunk.commit();
  }
  return text;
}

const files = async (): Promise<string[]> => (await readdir(dir)).sort();

describe('DiskQueue', () => {
  it('returns null when nothing is pending', async () => {
    const queue = await openQueue();
    expect(await queue.read(1000)).toBeNull();
    expect(queue.pendingRecords).toBe(0);
    expect(queue.pendingBytes).toBe(0);
  });

  it('writes its segments under its own suffix, numbered in 10 digits', async () => {
    const queue = await openQueue({ suffix: '.jsonl' });
    await queue.append(lines(0, 3), 3);
    expect(await files()).toStrictEqual(['0000000001.jsonl']);
  });

  it('hands out only whole lines within the byte limit', async () => {
    const queue = await openQueue();
    await queue.append(lines(0, 100), 100);
    const chunk = await queue.read(30);
    expect(chunk?.text).toBe(lines(0, 7)); // 4 bytes each for r 0..r 9: 7 fit, the 8th would be cut
    expect(chunk?.records).toBe(7);
    await chunk?.commit();
    expect(queue.pendingRecords).toBe(93);
  });

  it('reads the same chunk again when it was not committed', async () => {
    const queue = await openQueue();
    await queue.append(lines(0, 10), 10);
    const first = await queue.read(1000);
    const again = await queue.read(1000);
    expect(again?.text).toBe(first?.text);
  });

  it('coalesces appends made during a sync into one write and fdatasync', async () => {
    const queue = await openQueue();
    const probe = await open(join(dir, 'probe'), 'w');
    const datasync = vi.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync');
    await probe.close();
    await Promise.all(Array.from({ length: 100 }, (_, i) => queue.append(lines(i, 1), 1)));
    expect(datasync.mock.calls.length).toBeLessThanOrEqual(3);
    datasync.mockRestore();
    expect(await readAll(queue)).toBe(lines(0, 100));
  });

  it('resumes from the saved cursor after reopening', async () => {
    const first = await openQueue({ segmentBytes: 500 });
    await first.append(lines(0, 200), 200);
    const chunk = await first.read(300);
    const taken = chunk?.records ?? 0;
    await chunk?.commit();
    await first.close();

    const second = await openQueue({ segmentBytes: 500 });
    expect(second.pendingRecords).toBe(200 - taken);
    await second.append(lines(200, 10), 10);
    expect(await readAll(second)).toBe(lines(taken, 210 - taken));
  });

  it('counts lines correctly in a segment larger than one scan block', async () => {
    const first = await openQueue({ segmentBytes: 64 * 1024 * 1024 });
    const big = lines(1_000_000, 10_000).repeat(100); // 10 MB, more than the 8 MiB scan block
    await first.append(big, 1_000_000);
    await first.close();
    const second = await openQueue();
    expect(second.pendingRecords).toBe(1_000_000);
    expect(second.pendingBytes).toBe(Buffer.byteLength(big));
  });

  it('logs under its own name and unit when it cuts a torn tail and when the bound drops records', async () => {
    const first = await openQueue({ name: 'test queue', unit: 'messages' });
    await first.append(lines(0, 3), 3);
    await first.close();
    await appendFile(join(dir, '0000000001.q'), 'r 3\nr 4');
    const second = await openQueue({ name: 'test queue', unit: 'messages', maxBytes: 20_000, segmentBytes: 4096 });
    expect(logs.some((l) => l.msg === 'test queue torn tail truncated' && l.bytes === 3)).toBe(true);
    for (let i = 0; i < 100; i++) await second.append(lines(i * 50, 50), 50);
    const full = logs.find((l) => l.msg === 'test queue full, oldest messages dropped');
    expect(full).toMatchObject({ droppedBytes: expect.any(Number), maxBytes: 20_000 });
    expect(full?.droppedMessages).toBeGreaterThan(0);
    expect(logs.some((l) => l.msg === 'test queue above 80% of its bound' && typeof l.messages === 'number')).toBe(true);
  });

  it('registers its metrics under the names its user gives, and none without', async () => {
    const metrics = new Metrics();
    const named = { name: '', help: 'h' };
    const queue = await openQueue({
      maxBytes: 20_000,
      segmentBytes: 4096,
      metrics: { registry: metrics, dropped: { ...named, name: 'x_dropped_total' }, records: { ...named, name: 'x_records' }, bytes: { ...named, name: 'x_bytes' } },
    });
    for (let i = 0; i < 100; i++) await queue.append(lines(i * 50, 50), 50);
    expect(metrics.value('x_dropped_total')).toBe(queue.droppedRecords);
    expect(metrics.value('x_records')).toBe(queue.pendingRecords);
    expect(metrics.value('x_bytes')).toBe(queue.pendingBytes);
  });

  it('reads the segments an earlier version wrote under another suffix first, then its own, in sequence order', async () => {
    await writeFile(join(dir, '0000000003.lp'), lines(0, 2));
    await writeFile(join(dir, '0000000004.lp'), lines(2, 2));
    await writeFile(join(dir, 'cursor.json'), JSON.stringify({ segment: 3, offset: 4 })); // r 0 was read before the upgrade
    const queue = await openQueue({ suffix: '.jsonl', olderSuffixes: ['.lp'] });
    expect(queue.pendingRecords).toBe(3);
    await queue.append(lines(4, 2), 2);
    expect(await files()).toStrictEqual(['0000000003.lp', '0000000004.lp', '0000000005.jsonl', 'cursor.json']);
    expect(await readAll(queue)).toBe(lines(1, 5));
    expect(await files()).toStrictEqual(['0000000005.jsonl', 'cursor.json']); // read to the end: the old segments are gone
  });

  it('leaves files with other suffixes alone', async () => {
    await writeFile(join(dir, '0000000001.lp'), lines(0, 2));
    const queue = await openQueue({ suffix: '.jsonl' });
    expect(queue.pendingRecords).toBe(0);
    await queue.append(lines(2, 1), 1);
    expect(await readAll(queue)).toBe(lines(2, 1));
    expect(await files()).toContain('0000000001.lp');
  });

  it('refuses to open when two segments share a number, rather than guess which one the cursor means', async () => {
    await writeFile(join(dir, '0000000001.lp'), lines(0, 1));
    await writeFile(join(dir, '0000000001.jsonl'), lines(1, 1));
    await expect(openQueue({ suffix: '.jsonl', olderSuffixes: ['.lp'] })).rejects.toThrow(/two segments numbered 1/);
  });

  it('does not count a chunk as dropped when its segment is dropped while it is being handled', async () => {
    const queue = await openQueue({ maxBytes: 20_000, segmentBytes: 4096 });
    await queue.append(lines(0, 800), 800); // one segment of ~4.7 kB, closed
    const chunk = await queue.read(1000);
    let written = 800;
    while (queue.droppedRecords === 0) {
      await queue.append(lines(written, 50), 50);
      written += 50;
    }
    expect(queue.droppedRecords).toBe(800 - (chunk?.records ?? 0));
    await chunk?.commit();
    expect(queue.droppedRecords).toBe(800 - (chunk?.records ?? 0));
    expect(queue.pendingRecords + queue.droppedRecords + (chunk?.records ?? 0)).toBe(written);
  });

  it('counts an abandoned chunk of a dropped segment as dropped on the next read', async () => {
    const queue = await openQueue({ maxBytes: 20_000, segmentBytes: 4096 });
    await queue.append(lines(0, 800), 800);
    await queue.read(1000); // never committed: its handling failed
    let written = 800;
    while (queue.droppedRecords === 0) {
      await queue.append(lines(written, 50), 50);
      written += 50;
    }
    await queue.read(1000);
    expect(queue.droppedRecords).toBe(800);
  });

  it('drops the oldest segment on request, never the newest', async () => {
    const queue = await openQueue({ segmentBytes: 4096 });
    await queue.append(lines(0, 800), 800);
    await queue.append(lines(800, 10), 10);
    expect(await queue.dropOldest()).toStrictEqual({ records: 800, bytes: Buffer.byteLength(lines(0, 800)) });
    expect(await queue.dropOldest()).toBeUndefined();
    expect(queue.droppedRecords).toBe(800);
    expect(await readAll(queue)).toBe(lines(800, 10));
  });

  it('refuses appends after close, and close may be called twice', async () => {
    const queue = await openQueue();
    const pending = queue.append(lines(0, 1), 1);
    await queue.close();
    await pending; // an append made before close is still synced
    await queue.close();
    await expect(queue.append(lines(1, 1), 1)).rejects.toThrow(/test queue is closed/);
  });

  it('refuses text that does not end with a newline', async () => {
    const queue = await openQueue();
    await expect(queue.append('r 1', 1)).rejects.toThrow(/whole lines/);
  });
});
