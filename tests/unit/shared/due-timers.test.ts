import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DueTimers } from '../../../src/shared/due-timers.js';

const DAY = 24 * 60 * 60 * 1000;

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('DueTimers', () => {
  it('fires at the deadline, not before', async () => {
    const timers = new DueTimers();
    const fn = vi.fn();
    timers.set('wo-1', Date.now() + 5000, fn);
    await vi.advanceTimersByTimeAsync(4999);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledOnce();
    expect(timers.has('wo-1')).toBe(false);
  });

  it('fires a deadline 40 days off on time, beyond what one setTimeout can wait', async () => {
    const timers = new DueTimers();
    const fn = vi.fn();
    timers.set('wo-1', Date.now() + 40 * DAY, fn);
    await vi.advanceTimersByTimeAsync(40 * DAY - 1);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('fires a deadline in the past on the next turn', async () => {
    const timers = new DueTimers();
    const fn = vi.fn();
    timers.set('wo-1', Date.now() - DAY, fn);
    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledOnce();
  });

  it('replaces the timer of an id set again, and fires nothing cancelled or cleared', async () => {
    const timers = new DueTimers();
    const first = vi.fn();
    const second = vi.fn();
    const other = vi.fn();
    timers.set('wo-1', Date.now() + 1000, first);
    timers.set('wo-1', Date.now() + 2000, second);
    timers.set('wo-2', Date.now() + 1000, other);
    expect(timers.size).toBe(2);
    timers.cancel('wo-2');
    await vi.advanceTimersByTimeAsync(2000);
    expect([first.mock.calls.length, second.mock.calls.length, other.mock.calls.length]).toStrictEqual([0, 1, 0]);
    timers.set('wo-3', Date.now() + 1000, other);
    timers.clear();
    await vi.advanceTimersByTimeAsync(1000);
    expect(other).not.toHaveBeenCalled();
    expect(timers.size).toBe(0);
  });
});
