import { afterEach, describe, expect, it, vi } from 'vitest';
import { CredentialHashes } from '../../../src/devices/credential-overlap.js';
import { hashSecret } from '../../../src/secrets.js';

const pw = (s: string) => Buffer.from(s);

describe('CredentialHashes', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts the old password during the overlap and never after, telling when it ended', async () => {
    vi.useFakeTimers();
    const ended = vi.fn();
    const hashes = new CredentialHashes(ended);
    hashes.set('lamp-1', hashSecret('old'));
    expect(hashes.rotate('lamp-1', hashSecret('new'), Date.now() + 2000)).toBe(hashSecret('old'));
    expect(hashes.matches('lamp-1', pw('old'))).toBe(true);
    expect(hashes.matches('lamp-1', pw('new'))).toBe(true);
    await vi.advanceTimersByTimeAsync(1999);
    expect(hashes.matches('lamp-1', pw('old'))).toBe(true);
    expect(ended).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(ended).toHaveBeenCalledExactlyOnceWith('lamp-1');
    expect(hashes.matches('lamp-1', pw('old'))).toBe(false);
    expect(hashes.matches('lamp-1', pw('new'))).toBe(true);
  });

  it('ends an overlap at once when the password is replaced again without one', async () => {
    vi.useFakeTimers();
    const ended = vi.fn();
    const hashes = new CredentialHashes(ended);
    hashes.set('lamp-1', hashSecret('first'));
    hashes.rotate('lamp-1', hashSecret('second'), Date.now() + 60_000);
    hashes.set('lamp-1', hashSecret('third'));
    expect(hashes.matches('lamp-1', pw('first'))).toBe(false);
    expect(hashes.matches('lamp-1', pw('second'))).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ended).not.toHaveBeenCalled();
  });

  it('drops a stored previous password whose overlap is over, and keeps one still running until it ends', async () => {
    vi.useFakeTimers();
    const ended = vi.fn();
    const hashes = new CredentialHashes(ended);
    const now = Date.now();
    hashes.load('a', hashSecret('a-new'), hashSecret('a-old'), now - 1, now);
    hashes.load('b', hashSecret('b-new'), hashSecret('b-old'), now + 60_000, now);
    expect(hashes.matches('a', pw('a-old'))).toBe(false);
    expect(hashes.matches('b', pw('b-old'))).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(hashes.matches('b', pw('b-old'))).toBe(false);
    expect(ended).toHaveBeenCalledExactlyOnceWith('b');
  });

  it('forgets a deleted account', () => {
    const hashes = new CredentialHashes(() => undefined);
    hashes.set('x', hashSecret('s'));
    hashes.forget('x');
    expect(hashes.matches('x', pw('s'))).toBe(false);
    expect(hashes.matches('x', undefined)).toBe(false);
  });
});
