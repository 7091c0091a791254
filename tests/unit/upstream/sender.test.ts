import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { UpstreamQueue, type QueueEntry } from '../../../src/upstream/queue.js';
import { Sender } from '../../../src/upstream/sender.js';

/** A link whose PUBACKs the test gives by hand. */
class FakeLink {
  connected = false;
  published: Array<{ topic: string; payload: string; ack(): void; fail(err: Error): void }> = [];
  publish(topic: string, payload: string): Promise<void> {
    return new Promise((resolve, reject) => this.published.push({ topic, payload, ack: resolve, fail: reject }));
  }
  /** The `i` of each payload published so far. */
  sent(): number[] {
    return this.published.map((p) => (JSON.parse(p.payload) as { i: number }).i);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 20));
let dir: string;
let queue: UpstreamQueue;
let link: FakeLink;
let sender: Sender;
let refused: QueueEntry[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upstream-sender-'));
  link = new FakeLink();
  refused = [];
  queue = new UpstreamQueue({ dir, maxBytes: 10_000_000, log: createLogger('silent'), dropped: () => undefined, appended: () => sender.pump() });
  sender = new Sender({ queue, link, maxInFlight: 3, log: createLogger('silent'), sent: () => undefined, refused: (e) => refused.push(e) });
  await queue.open();
});

afterEach(async () => {
  await sender.stop();
  await queue.close();
  await rm(dir, { recursive: true, force: true });
});

async function enqueue(count: number, from = 0): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, k) => queue.enqueue('event', 'a', 'hq/a/alarms/x', { i: from + k })));
}

describe('Sender', () => {
  it('sends nothing while the link is down', async () => {
    await enqueue(2);
    await tick();
    expect(link.published).toStrictEqual([]);
  });

  it('keeps at most maxInFlight awaiting their PUBACK, in order', async () => {
    await enqueue(5);
    link.connected = true;
    sender.connected();
    await tick();
    expect(link.sent()).toStrictEqual([0, 1, 2]);
    link.published[0].ack();
    await tick();
    expect(link.sent()).toStrictEqual([0, 1, 2, 3]);
    for (const p of link.published.slice(1)) p.ack();
    await tick();
    expect(link.sent()).toStrictEqual([0, 1, 2, 3, 4]);
    link.published[4].ack();
    await tick();
    expect(queue.pendingMessages).toBe(0);
  });

  it('resends from the first message not acknowledged after a reconnect', async () => {
    await enqueue(5);
    link.connected = true;
    sender.connected();
    await tick();
    link.published[0].ack();
    await tick();
    // The connection drops with 1, 2 and 3 in flight; their callbacks fail as the client is ended.
    link.connected = false;
    for (const p of link.published.slice(1)) p.fail(new Error('Connection closed'));
    await tick();
    link.published = [];
    link.connected = true;
    sender.connected();
    await tick();
    expect(link.sent()).toStrictEqual([1, 2, 3]);
    for (const p of link.published) p.ack();
    await tick();
    for (const p of link.published.slice(3)) p.ack();
    await tick();
    expect(link.sent()).toStrictEqual([1, 2, 3, 4]);
    expect(queue.pendingMessages).toBe(0);
  });

  it('does not send again what the central broker refused with a reason code, and says so', async () => {
    await enqueue(2);
    link.connected = true;
    sender.connected();
    await tick();
    link.published[0].fail(Object.assign(new Error('Publish error: Not authorized'), { code: 0x87 }));
    link.published[1].ack();
    await tick();
    expect(refused.map((e) => JSON.parse(e.payload).i)).toStrictEqual([0]);
    expect(link.sent()).toStrictEqual([0, 1]);
    await tick();
    expect(queue.pendingMessages).toBe(0);
  });

  it('sends what is queued while it is up as soon as it is on disk', async () => {
    link.connected = true;
    sender.connected();
    await enqueue(1);
    await tick();
    expect(link.sent()).toStrictEqual([0]);
  });
});
