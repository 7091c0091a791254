import { EventEmitter } from 'node:events';
import type { Client } from 'aedes';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuth } from '../../../src/broker/auth.js';
import type { DeviceRecord } from '../../../src/devices/registry.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics.js';
import { RefusalLog } from '../../../src/refusal-log.js';
import { LoginThrottle } from '../../../src/security/throttle.js';
import { Topics } from '../../../src/topics.js';

const device: DeviceRecord = { id: 'door-1', kind: 'access', site: 'maple-court', zone: 'b1', tags: {}, createdAt: 0, online: false, lastSeen: null };

/** The authenticate hook with a throttle; each login comes from a fake connection at `address`. */
function setup() {
  const metrics = new Metrics();
  const throttle = new LoginThrottle('mqtt', metrics);
  const auth = createAuth({
    topics: new Topics('sc'),
    metrics,
    refusals: new RefusalLog(createLogger('silent'), 60_000),
    allowAnonymous: false,
    findDevice: (id, pw) => (id === 'door-1' && pw?.toString() === 'pw' ? device : undefined),
    findOperator: () => undefined,
    throttle,
  });
  const login = (username: string, password: string, address = '10.0.0.1') => {
    const conn = Object.assign(new EventEmitter(), { remoteAddress: address });
    const answer = vi.fn<(code: number | undefined, ok: boolean | null) => void>();
    auth.authenticate({ id: `c-${Math.random()}`, conn } as unknown as Client, username, Buffer.from(password), (err, ok) => answer(err?.returnCode, ok));
    return { conn, answer };
  };
  return { throttle, login };
}

describe('authenticate under the login throttle', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a slowed failure late, and a success at once', async () => {
    vi.useFakeTimers();
    const { login } = setup();
    for (let i = 0; i < 5; i++) expect(login('door-1', 'nope').answer).toHaveBeenCalledWith(4, false);
    const slowed = login('door-1', 'nope');
    expect(slowed.answer).not.toHaveBeenCalled();
    expect(login('door-1', 'pw').answer).toHaveBeenCalledWith(undefined, true);
    await vi.advanceTimersByTimeAsync(250);
    expect(slowed.answer).toHaveBeenCalledWith(4, false);
  });

  it('refuses a blocked pair with CONNACK 5 without checking its password', () => {
    vi.useFakeTimers();
    const { login } = setup();
    for (let i = 0; i < 20; i++) login('door-1', 'nope');
    expect(login('door-1', 'pw').answer).toHaveBeenCalledWith(5, false);
    expect(login('door-1', 'pw', '10.0.0.2').answer).toHaveBeenCalledWith(undefined, true);
  });

  it('frees the held reply of a client that disconnects, and never answers it', async () => {
    vi.useFakeTimers();
    const { login, throttle } = setup();
    for (let i = 0; i < 5; i++) login('door-1', 'nope');
    const gone = login('door-1', 'nope');
    expect(throttle.sizes().held).toBe(1);
    gone.conn.emit('close');
    expect(throttle.sizes().held).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gone.answer).not.toHaveBeenCalled();
    expect(gone.conn.listenerCount('close')).toBe(0);
  });

  it('refuses at once, unchecked, a failure that would wait while its address holds 10 waiting replies', () => {
    vi.useFakeTimers();
    const { login } = setup();
    for (let i = 0; i < 5; i++) login('door-1', 'nope');
    const waiting = Array.from({ length: 10 }, () => login('door-1', 'nope'));
    expect(waiting.every((w) => w.answer.mock.calls.length === 0)).toBe(true);
    expect(login('door-1', 'nope').answer).toHaveBeenCalledWith(5, false);
  });
});
