import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurablePersistence, type StoredPacket } from '../../../src/broker/persistence.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics.js';
import { StateStore } from '../../../src/storage/state/store.js';

// The persistence as aedes drives it, on a real state store: what is written, what is bounded, what is forgotten.
const DAY = 86_400_000;

describe('durable broker persistence', () => {
  let dir: string;
  let store: StateStore;
  let metrics: Metrics;
  let now: number;
  const failures: unknown[] = [];

  const open = async (maxQueued = 3) => {
    const p = new DurablePersistence({
      db: () => store.db,
      durableRetained: (topic) => topic.endsWith('/status'),
      maxQueued,
      expiryMs: 7 * DAY,
      metrics,
      log: createLogger('silent'),
      failed: (err) => failures.push(err),
      now: () => now,
    });
    await p.setup({ id: 'broker-1' });
    return p;
  };
  const client = (id: string, clean = false) => ({ id, clean }) as unknown as Client;
  const packet = (topic: string, n: number, retain = false): StoredPacket => ({ cmd: 'publish', brokerId: 'broker-1', brokerCounter: n, topic, payload: Buffer.from(`m${n}`), qos: 1, retain, dup: false });
  const count = (table: string) => (store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const queued = async (p: DurablePersistence, id: string) => (await p.outgoingStream(client(id)).toArray()).map((q: StoredPacket) => q.payload.toString());

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'persistence-'));
    store = new StateStore(dir);
    store.open();
    metrics = new Metrics();
    now = Date.parse('2025-01-06T12:00:00Z');
    failures.length = 0;
  });
  afterEach(async () => {
    store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes nothing for a clean-session client or a message no persistent session wants', async () => {
    const p = await open();
    await p.cleanSubscriptions(client('phone', true));
    await p.outgoingEnqueueCombi(await p.subscriptionsByTopic('sc/a/fire/f1/telemetry'), packet('sc/a/fire/f1/telemetry', 1));
    await p.storeRetained(packet('sc/a/alarms/major/x/y', 2, true));
    expect(['broker_sessions', 'broker_subscriptions', 'broker_outgoing', 'broker_retained'].map(count)).toStrictEqual([0, 0, 0, 0]);
  });

  it('keeps a session, its queue and retained statuses over a restart', async () => {
    const p = await open();
    await p.addSubscriptions(client('desk'), [{ topic: 'sc/a/alarms/#', qos: 1 }]);
    await p.outgoingEnqueueCombi(await p.subscriptionsByTopic('sc/a/alarms/major/x/y'), packet('sc/a/alarms/major/x/y', 1));
    await p.storeRetained(packet('sc/a/access/door-1/status', 2, true));
    p.stop();
    const again = await open();
    expect(await again.subscriptionsByClient({ id: 'desk' })).toStrictEqual([{ topic: 'sc/a/alarms/#', qos: 1, rh: undefined, rap: undefined, nl: undefined }]);
    expect(await queued(again, 'desk')).toStrictEqual(['m1']);
    expect((await again.createRetainedStream('sc/a/+/+/status').toArray()).map((r: StoredPacket) => r.payload.toString())).toStrictEqual(['m2']);
  });

  it('drops the oldest queued message beyond the cap, and counts it', async () => {
    const p = await open(3);
    await p.addSubscriptions(client('desk'), [{ topic: 'sc/a/alarms/#', qos: 1 }]);
    for (let n = 1; n <= 5; n++) await p.outgoingEnqueueCombi([{ clientId: 'desk' }], packet('sc/a/alarms/major/x/y', n));
    expect(await queued(p, 'desk')).toStrictEqual(['m3', 'm4', 'm5']);
    expect(count('broker_outgoing')).toBe(3);
    expect(metrics.value('gateway_mqtt_queue_dropped_total')).toBe(2);
  });

  it('takes a message out of the queue when its PUBACK comes', async () => {
    const p = await open();
    await p.addSubscriptions(client('desk'), [{ topic: 'sc/a/alarms/#', qos: 1 }]);
    await p.outgoingEnqueueCombi([{ clientId: 'desk' }], packet('sc/a/alarms/major/x/y', 1));
    await p.outgoingUpdate(client('desk'), { ...packet('sc/a/alarms/major/x/y', 1), messageId: 42 });
    expect((await p.outgoingClearMessageId(client('desk'), { messageId: 42 }))?.payload.toString()).toBe('m1');
    p.stop();
    expect(count('broker_outgoing')).toBe(0);
  });

  it('forgets a session not connected for MQTT_SESSION_EXPIRY, at the next start', async () => {
    const p = await open();
    await p.addSubscriptions(client('desk'), [{ topic: 'sc/a/alarms/#', qos: 1 }]);
    p.disconnected(client('desk'));
    p.stop();
    now += 7 * DAY + 1;
    const again = await open();
    again.stop();
    expect(await again.subscriptionsByClient({ id: 'desk' })).toStrictEqual([]);
    expect([count('broker_sessions'), count('broker_subscriptions')]).toStrictEqual([0, 0]);
    expect(metrics.value('gateway_mqtt_sessions_expired_total')).toBe(1);
  });

  it('does not queue a second copy of a retained state message the session already waits for', async () => {
    const p = await open();
    await p.addSubscriptions(client('desk'), [{ topic: 'sc/a/alarms/#', qos: 1 }]);
    await p.outgoingEnqueueCombi([{ clientId: 'desk' }], packet('sc/a/alarms/major/x/y', 1, true));
    await p.outgoingEnqueueCombi([{ clientId: 'desk' }], { ...packet('sc/a/alarms/major/x/y', 2, true), payload: Buffer.from('m1') });
    expect(await queued(p, 'desk')).toStrictEqual(['m1']);
  });

  it("keeps the gateway's own retained topics off the disk", async () => {
    store.db.prepare("INSERT INTO broker_retained (topic, payload, qos) VALUES ('sc/a/alarms/major/x/y', 'stale', 1)").run();
    const p = await open();
    p.stop();
    expect(await p.createRetainedStream('sc/a/alarms/#').toArray()).toStrictEqual([]);
    expect(count('broker_retained')).toBe(0);
    expect(failures).toStrictEqual([]);
  });
});
