import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { UpstreamQueue, type MessageClass, type QueueEntry } from '../../../src/upstream/queue.js';

const T0 = 1_764_230_400_000;
let dir: string;
let queues: UpstreamQueue[];
let dropped: Array<[MessageClass, string, number]>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upstream-queue-'));
  queues = [];
  dropped = [];
});

afterEach(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openQueue(maxBytes = 10_000_000, now = () => T0): Promise<UpstreamQueue> {
  const q = new UpstreamQueue({
    dir,
    maxBytes,
    log: createLogger('silent'),
    dropped: (cls, reason, n) => dropped.push([cls, reason, n]),
    appended: () => undefined,
    now,
  });
  queues.push(q);
  await q.open();
  return q;
}

/** Takes everything the queue hands out now, acknowledging each when `ack`. */
async function takeAll(q: UpstreamQueue, ack = true): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (let e = await q.take(); e; e = await q.take()) {
    out.push(e);
    if (ack) q.ack(e);
  }
  return out;
}

const bodies = (entries: QueueEntry[]) => entries.map((e) => JSON.parse(e.payload) as { seq: number; i: number });

describe('UpstreamQueue', () => {
  it('hands out messages in the order they were queued across both classes, seq counted per site', async () => {
    const q = await openQueue();
    await Promise.all([
      q.enqueue('event', 'a', 'hq/a/alarms/1', { i: 0 }),
      q.enqueue('summary', 'a', 'hq/a/summaries/fire/x', { i: 1 }),
      q.enqueue('event', 'b', 'hq/b/alarms/2', { i: 2 }),
      q.enqueue('event', 'a', 'hq/a/alarms/3', { i: 3 }),
    ]);
    const out = await takeAll(q);
    expect(out.map((e) => [e.cls, e.topic])).toStrictEqual([
      ['event', 'hq/a/alarms/1'],
      ['summary', 'hq/a/summaries/fire/x'],
      ['event', 'hq/b/alarms/2'],
      ['event', 'hq/a/alarms/3'],
    ]);
    // A site's seq starts at the clock's milliseconds and counts up by one; `seq` comes first in the payload.
    expect(out.map((e) => e.payload)).toStrictEqual([
      `{"seq":${T0},"i":0}`,
      `{"seq":${T0 + 1},"i":1}`,
      `{"seq":${T0},"i":2}`,
      `{"seq":${T0 + 2},"i":3}`,
    ]);
  });

  it('resolves enqueue with the seq once the message is on disk', async () => {
    const q = await openQueue();
    expect(await q.enqueue('event', 'a', 't', {})).toBe(T0);
    expect(await q.enqueue('event', 'a', 't', {})).toBe(T0 + 1);
    expect(q.pendingMessages).toBe(2);
  });

  it('hands out again from the first message not acknowledged after a rewind', async () => {
    const q = await openQueue();
    for (let i = 0; i < 5; i++) await q.enqueue('event', 'a', 't', { i });
    const first = await takeAll(q, false);
    expect(bodies(first).map((b) => b.i)).toStrictEqual([0, 1, 2, 3, 4]);
    q.ack(first[0]);
    q.ack(first[1]);
    q.rewind();
    expect(bodies(await takeAll(q)).map((b) => b.i)).toStrictEqual([2, 3, 4]);
    expect(await q.take()).toBeUndefined();
    expect(q.pendingMessages).toBe(0);
  });

  it('waits for the acknowledgements of a chunk before reading past it', async () => {
    const q = await openQueue();
    // More than one 32 KiB chunk.
    for (let i = 0; i < 100; i++) await q.enqueue('event', 'a', 't', { i, pad: 'x'.repeat(500) });
    const out = await takeAll(q, false);
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(100);
    for (const e of out) q.ack(e);
    const rest = await takeAll(q);
    expect(bodies([...out, ...rest]).map((b) => b.i)).toStrictEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('keeps what was not acknowledged across a restart, and continues seq without reusing one', async () => {
    const q1 = await openQueue();
    for (let i = 0; i < 4; i++) await q1.enqueue(i % 2 ? 'summary' : 'event', 'a', 't', { i });
    expect(await takeAll(q1, false)).toHaveLength(4);
    await q1.close();
    const q2 = await openQueue(10_000_000, () => T0 + 10);
    expect(q2.pendingMessages).toBe(4);
    await q2.enqueue('event', 'a', 't', { i: 4 });
    const again = await takeAll(q2);
    expect(again.map((e) => e.payload)).toStrictEqual([0, 1, 2, 3, 4].map((i) => `{"seq":${T0 + i},"i":${i}}`));
  });

  it('removes acknowledged messages for good: a restart does not hand them out again', async () => {
    const q1 = await openQueue();
    for (let i = 0; i < 3; i++) await q1.enqueue('event', 'a', 't', { i });
    await takeAll(q1);
    expect(await q1.take()).toBeUndefined(); // commits the chunk
    await q1.close();
    const q2 = await openQueue();
    expect(q2.pendingMessages).toBe(0);
    expect(await takeAll(q2)).toStrictEqual([]);
  });

  it('hands out what an earlier version queued in .lp segments first, then what is queued after the upgrade', async () => {
    // Before issue 13 the segments were named like the InfluxDB spool's: NNNNNNNNNN.lp, the same JSON lines.
    const line = (n: number, i: number) => `${JSON.stringify({ n, topic: 't', payload: { seq: T0 + i, i } })}\n`;
    await mkdir(join(dir, 'events'), { recursive: true });
    await mkdir(join(dir, 'summaries'), { recursive: true });
    await writeFile(join(dir, 'events', '0000000001.lp'), line(T0, 0) + line(T0 + 2, 2));
    await writeFile(join(dir, 'summaries', '0000000001.lp'), line(T0 + 1, 1));
    await writeFile(join(dir, 'counters.json'), JSON.stringify({ n: T0 + 2, seq: { a: T0 + 2 } }));
    const q = await openQueue(10_000_000, () => T0 + 10);
    expect(q.pendingMessages).toBe(3);
    await q.enqueue('event', 'a', 't', { i: 3 });
    expect(await readdir(join(dir, 'events'))).toStrictEqual(['0000000001.lp', '0000000002.jsonl']);
    const out = await takeAll(q);
    expect(out.map((e) => [e.cls, e.payload])).toStrictEqual([
      ['event', `{"seq":${T0},"i":0}`],
      ['summary', `{"seq":${T0 + 1},"i":1}`],
      ['event', `{"seq":${T0 + 2},"i":2}`],
      ['event', `{"seq":${T0 + 3},"i":3}`],
    ]);
    expect(await q.take()).toBeUndefined(); // commits the chunks read
    expect((await readdir(join(dir, 'events'))).filter((n) => n.endsWith('.lp'))).toStrictEqual([]);
  });

  it('drops the oldest summaries first when the bound is hit, and keeps every alarm', async () => {
    const maxBytes = 64 * 1024;
    const q = await openQueue(maxBytes);
    const pad = 'x'.repeat(400);
    for (let i = 0; i < 200; i++) await q.enqueue('summary', 'a', 't', { i, pad });
    for (let i = 0; i < 100; i++) await q.enqueue('event', 'a', 't', { i, pad });
    expect(q.pendingBytes).toBeLessThanOrEqual(maxBytes);
    const out = await drain(q);
    const events = out.filter((e) => e.cls === 'event');
    const summaries = out.filter((e) => e.cls === 'summary');
    expect(bodies(events).map((b) => b.i)).toStrictEqual(Array.from({ length: 100 }, (_, i) => i));
    // What is left of the summaries is the newest ones, in order.
    const kept = bodies(summaries).map((b) => b.i);
    expect(kept.length).toBeLessThan(200);
    expect(kept).toStrictEqual(Array.from({ length: kept.length }, (_, i) => 200 - kept.length + i));
    const droppedSummaries = dropped.filter(([c, r]) => c === 'summary' && r === 'bound').reduce((n, [, , k]) => n + k, 0);
    expect(droppedSummaries).toBe(200 - kept.length);
    expect(dropped.some(([c]) => c === 'event')).toBe(false);
  });

  it('drops the oldest alarms, counted, when there are no summaries left to drop', async () => {
    const maxBytes = 64 * 1024;
    const q = await openQueue(maxBytes);
    const pad = 'x'.repeat(400);
    for (let i = 0; i < 300; i++) await q.enqueue('event', 'a', 't', { i, pad });
    const kept = bodies(await drain(q)).map((b) => b.i);
    expect(kept.length).toBeLessThan(300);
    expect(kept).toStrictEqual(Array.from({ length: kept.length }, (_, i) => 300 - kept.length + i));
    expect(dropped.reduce((n, [c, r, k]) => (c === 'event' && r === 'bound' ? n + k : n), 0)).toBe(300 - kept.length);
  });
});

/** Takes and acknowledges until nothing is left. */
async function drain(q: UpstreamQueue): Promise<QueueEntry[]> {
  const out: QueueEntry[] = [];
  for (;;) {
    const batch = await takeAll(q);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}
