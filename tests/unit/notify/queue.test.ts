import { afterEach, describe, expect, it, vi } from 'vitest';
import { PermanentFailure } from '../../../src/notify/channels.js';
import { ChannelQueue, type Outcome } from '../../../src/notify/queue.js';

afterEach(() => vi.useRealTimers());

function queue(send: (p: string) => Promise<void>, max = 10) {
  const seen: Array<[string, Outcome, number, string?]> = [];
  const q = new ChannelQueue<string>({
    send,
    outcome: (job, outcome, error) => seen.push([job.payload, outcome, job.attempts, error]),
    retryDelayMs: 1000,
    retryForMs: 10_000,
    max,
  });
  return { q, seen };
}

describe('a channel queue', () => {
  it('retries a failed delivery with doubling delays until it goes through', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const { q, seen } = queue(async () => {
      if (++calls < 3) throw new Error('HTTP 503');
    });
    q.push('a', false);
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toStrictEqual([['a', 'retrying', 1, 'HTTP 503']]);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(seen).toStrictEqual([
      ['a', 'retrying', 1, 'HTTP 503'],
      ['a', 'retrying', 2, 'HTTP 503'],
      ['a', 'delivered', 3, undefined],
    ]);
  });

  it('gives up when the next attempt would start after the retry window', async () => {
    vi.useFakeTimers();
    const { q, seen } = queue(async () => {
      throw new Error('ECONNREFUSED');
    });
    q.push('a', false);
    await vi.advanceTimersByTimeAsync(60_000);
    // Attempts at 0, 1 s, 3 s, 7 s; the next would be at 15 s, past 10 s.
    expect(seen.map(([, o, n]) => [o, n])).toStrictEqual([
      ['retrying', 1],
      ['retrying', 2],
      ['retrying', 3],
      ['failed', 4],
    ]);
  });

  it('does not retry what cannot succeed', async () => {
    const { q, seen } = queue(async () => {
      throw new PermanentFailure('no SMTP_URL');
    });
    q.push('a', false);
    await vi.waitFor(() => expect(seen).toStrictEqual([['a', 'failed', 1, 'no SMTP_URL']]));
  });

  it('lets the deliveries behind a failing one go while it waits for its retry', async () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const { q } = queue(async (p) => {
      if (p === 'a') throw new Error('HTTP 500');
      sent.push(p);
    });
    q.push('a', false);
    q.push('b', false);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toStrictEqual(['b']);
    await q.stop();
  });

  it('when full, drops the oldest delivery that is not life-safety', async () => {
    let release!: () => void;
    const { q, seen } = queue(() => new Promise<void>((r) => (release = r)), 3);
    q.push('busy', false);
    q.push('fire', true);
    q.push('old', false);
    q.push('new', false);
    expect(seen).toStrictEqual([['old', 'dropped', 0, 'queue full']]);
    expect(q.size).toBe(3);
    release();
    await q.stop();
  });
});
