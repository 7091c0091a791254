import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultBurst, DeviceQuota, mayBeLifeSafety, quotaOf, type Verdict } from '../../../src/broker/quota.js';
import { loadConfig } from '../../../src/config/env.js';

type Flood = [string, boolean, number];

function quota(rate: number, burst: number, maxDelayed?: number) {
  const floods: Flood[] = [];
  const failures: unknown[] = [];
  const q = new DeviceQuota<string>({
    rate,
    burst,
    maxDelayed,
    flooding: (tag, on, r) => floods.push([tag, on, r]),
    failed: (err) => failures.push(err),
  });
  return { q, floods, failures };
}

/** Offers `n` messages of one device at once; answers the verdicts. */
function offer(q: DeviceQuota<string>, device: string, n: number, qos = 0): Verdict[] {
  return Array.from({ length: n }, () => q.take(device, device, qos, false));
}

describe('the quota settings', () => {
  it('allows bursts of 50, or of 5 s of the rate when that is more', () => {
    expect([defaultBurst(10), defaultBurst(1), defaultBurst(100), defaultBurst(2.5)]).toStrictEqual([50, 50, 500, 50]);
    expect(quotaOf({ rate: 10 })).toStrictEqual({ rate: 10, burst: 50 });
    expect(quotaOf({ rate: 5, burst: 8 })).toStrictEqual({ rate: 5, burst: 8 });
  });

  it('is off at rate 0', () => {
    expect(quotaOf({ rate: 0, burst: 8 })).toBeUndefined();
  });

  it('reads DEVICE_MAX_RATE and DEVICE_MAX_BURST, and names a bad one', () => {
    expect(loadConfig({}).quota).toStrictEqual({ rate: 10, burst: undefined });
    expect(loadConfig({ DEVICE_MAX_RATE: '0.5', DEVICE_MAX_BURST: '5' }).quota).toStrictEqual({ rate: 0.5, burst: 5 });
    expect(() => loadConfig({ DEVICE_MAX_RATE: 'fast' })).toThrow(/DEVICE_MAX_RATE="fast"/);
    expect(() => loadConfig({ DEVICE_MAX_RATE: '-1' })).toThrow(/DEVICE_MAX_RATE="-1"/);
    expect(() => loadConfig({ DEVICE_MAX_BURST: '0' })).toThrow(/DEVICE_MAX_BURST="0"/);
  });
});

describe('mayBeLifeSafety', () => {
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));

  it('recognises the life-safety events of their kinds on the event topic', () => {
    expect(mayBeLifeSafety('fire', 'event', json({ type: 'fire_alarm' }))).toBe(true);
    expect(mayBeLifeSafety('sos', 'event', json({ type: 'call', details: { location: 'lobby' } }))).toBe(true);
    expect(mayBeLifeSafety('lift', 'event', json({ type: 'passenger_trapped' }))).toBe(true);
    expect(mayBeLifeSafety('lift', 'event', json({ type: 'alarm_button' }))).toBe(true);
  });

  it('does not exempt other events, other kinds or other topics', () => {
    expect(mayBeLifeSafety('fire', 'event', json({ type: 'reset' }))).toBe(false);
    expect(mayBeLifeSafety('lift', 'event', json({ type: 'door_fault' }))).toBe(false);
    expect(mayBeLifeSafety('access', 'event', json({ type: 'fire_alarm' }))).toBe(false);
    expect(mayBeLifeSafety('fire', 'telemetry', json({ type: 'fire_alarm' }))).toBe(false);
    // `call` is a life-safety event of sos only.
    expect(mayBeLifeSafety('lift', 'event', json({ type: 'call' }))).toBe(false);
  });
});

describe('DeviceQuota', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes a burst, then refuses QoS 0 messages until the bucket refills at the rate', async () => {
    const { q } = quota(5, 10);
    expect(offer(q, 'd1', 12)).toStrictEqual([...Array<Verdict>(10).fill('pass'), 'refuse', 'refuse']);
    await vi.advanceTimersByTimeAsync(200);
    expect(offer(q, 'd1', 2)).toStrictEqual(['pass', 'refuse']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(offer(q, 'd1', 6)).toStrictEqual(['pass', 'pass', 'pass', 'pass', 'pass', 'refuse']);
  });

  it('gives each device its own bucket', () => {
    const { q } = quota(5, 3);
    expect(offer(q, 'd1', 4)).toStrictEqual(['pass', 'pass', 'pass', 'refuse']);
    expect(offer(q, 'd2', 3)).toStrictEqual(['pass', 'pass', 'pass']);
  });

  it('never refuses a life-safety event, nor lets it take a token', () => {
    const { q } = quota(5, 2);
    expect(offer(q, 'd1', 3)).toStrictEqual(['pass', 'pass', 'refuse']);
    expect(q.take('d1', 'd1', 0, true)).toBe('pass');
    expect(q.take('d1', 'd1', 1, true)).toBe('pass');
  });

  it('holds QoS 1 messages over quota and runs them in order, one per token', async () => {
    const { q } = quota(10, 2);
    const ran: number[] = [];
    for (let i = 0; i < 6; i++) {
      const verdict = q.take('d1', 'd1', 1, false);
      if (verdict === 'pass') ran.push(i);
      else {
        expect(verdict).toBe('wait');
        q.wait('d1', {}, () => ran.push(i));
      }
    }
    expect(ran).toStrictEqual([0, 1]);
    expect(q.delayed).toBe(4);
    await vi.advanceTimersByTimeAsync(100);
    expect(ran).toStrictEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(300);
    expect(ran).toStrictEqual([0, 1, 2, 3, 4, 5]);
    expect(q.delayed).toBe(0);
  });

  it('refuses a QoS 0 message while QoS 1 messages of the device wait, and a new QoS 1 one queues behind them', async () => {
    const { q } = quota(10, 1);
    const ran: string[] = [];
    expect(q.take('d1', 'd1', 1, false)).toBe('pass');
    expect(q.take('d1', 'd1', 1, false)).toBe('wait');
    q.wait('d1', {}, () => ran.push('a'));
    await vi.advanceTimersByTimeAsync(50);
    expect(q.take('d1', 'd1', 0, false)).toBe('refuse');
    expect(q.take('d1', 'd1', 1, false)).toBe('wait');
    q.wait('d1', {}, () => ran.push('b'));
    await vi.advanceTimersByTimeAsync(200);
    expect(ran).toStrictEqual(['a', 'b']);
  });

  it("lets a life-safety event through at once, after the device's waiting messages, in their order", () => {
    const { q } = quota(1, 1);
    const ran: string[] = [];
    expect(q.take('d1', 'd1', 1, false)).toBe('pass');
    for (const name of ['a', 'b', 'c']) {
      expect(q.take('d1', 'd1', 1, false)).toBe('wait');
      q.wait('d1', {}, () => ran.push(name));
    }
    expect(q.take('d1', 'd1', 1, true)).toBe('pass');
    ran.push('fire_alarm');
    expect(ran).toStrictEqual(['a', 'b', 'c', 'fire_alarm']);
    expect(q.delayed).toBe(0);
  });

  it('answers overflow past the bound of waiting messages', () => {
    const { q } = quota(1, 1, 2);
    expect(q.take('d1', 'd1', 1, false)).toBe('pass');
    for (let i = 0; i < 2; i++) {
      expect(q.take('d1', 'd1', 1, false)).toBe('wait');
      q.wait('d1', {}, () => undefined);
    }
    expect(q.take('d1', 'd1', 1, false)).toBe('overflow');
  });

  it('drops the waiting messages of a closed connection', async () => {
    const { q } = quota(10, 1);
    const gone = {};
    const ran: string[] = [];
    q.take('d1', 'd1', 1, false);
    q.take('d1', 'd1', 1, false);
    q.wait('d1', gone, () => ran.push('gone'));
    q.take('d1', 'd1', 1, false);
    q.wait('d1', {}, () => ran.push('kept'));
    q.forget(gone);
    expect(q.delayed).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(ran).toStrictEqual(['kept']);
  });

  it('raises flooding once when the rate over 10 s is above the quota, and clears it after 10 s within it', async () => {
    const { q, floods } = quota(5, 10);
    offer(q, 'd1', 100);
    // Told at the next sweep, with the rate the whole flood gives: 100 in 10 s.
    expect(floods).toStrictEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(floods).toStrictEqual([['d1', true, 10]]);
    // Still flooding: one message a second over quota keeps it.
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(1000);
      offer(q, 'd1', 10);
    }
    expect(floods).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(floods).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(floods.map(([d, on]) => [d, on])).toStrictEqual([
      ['d1', true],
      ['d1', false],
    ]);
  });

  it('does not call a single burst over the bucket flooding when the 10 s average is within the rate', async () => {
    const { q, floods } = quota(10, 50);
    expect(offer(q, 'd1', 60).filter((v) => v === 'refuse')).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(1000);
    expect(floods).toStrictEqual([]);
  });

  it('does not call a device flooding that sends above the rate within its burst, never over quota', async () => {
    const { q, floods } = quota(10, 500);
    expect(offer(q, 'd1', 200).every((v) => v === 'pass')).toBe(true);
    await vi.advanceTimersByTimeAsync(2000);
    expect(floods).toStrictEqual([]);
  });

  it('drops the buckets of devices that went quiet', async () => {
    const { q } = quota(5, 10);
    offer(q, 'd1', 3);
    offer(q, 'd2', 30);
    expect(q.size).toBe(2);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(q.size).toBe(0);
  });

  it('reports a waiting message that throws and goes on with the next', async () => {
    const { q, failures } = quota(10, 1);
    const ran: string[] = [];
    q.take('d1', 'd1', 1, false);
    q.take('d1', 'd1', 1, false);
    q.wait('d1', {}, () => {
      throw new Error('boom');
    });
    q.take('d1', 'd1', 1, false);
    q.wait('d1', {}, () => ran.push('next'));
    await vi.advanceTimersByTimeAsync(300);
    expect(failures).toHaveLength(1);
    expect(ran).toStrictEqual(['next']);
  });
});
