import { afterEach, describe, expect, it, vi } from 'vitest';
import { Metrics } from '../../../src/metrics.js';
import { RefusalLog } from '../../../src/refusal-log.js';
import { LoginThrottle, sourceKey, type ThrottleOptions } from '../../../src/security/throttle.js';
import { logLines } from '../../helpers/log-lines.js';

const MIN = 60_000;

/** A throttle on a clock the test moves. */
function throttle(options: ThrottleOptions = {}, protocol: 'mqtt' | 'http' = 'mqtt') {
  let now = 1_000_000;
  const metrics = new Metrics();
  const t = new LoginThrottle(protocol, metrics, options, () => now);
  return { t, metrics, advance: (ms: number) => (now += ms) };
}

/** Fails `n` times as (source, username) after checking each; returns the delays answered. */
function fail(t: LoginThrottle, n: number, source: string, username?: string): Array<number | 'blocked'> {
  const out: Array<number | 'blocked'> = [];
  for (let i = 0; i < n; i++) {
    if (t.check(source, username).blocked) out.push('blocked');
    else out.push(t.failed(source, username));
  }
  return out;
}

describe('LoginThrottle', () => {
  it('answers the first 5 failures at once, then doubles the wait from 250 ms up to the cap', () => {
    const { t } = throttle();
    expect(fail(t, 12, '10.0.0.1', 'door-1')).toStrictEqual([0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 4000, 4000]);
  });

  it('tells before the check how long a failure would wait', () => {
    const { t } = throttle();
    fail(t, 5, '10.0.0.1', 'door-1');
    expect(t.check('10.0.0.1', 'door-1')).toStrictEqual({ blocked: false, delayMs: 250 });
  });

  it('refuses the pair without checking after 20 failures, for 10 minutes', () => {
    const { t, advance } = throttle();
    expect(fail(t, 25, '10.0.0.1', 'door-1').filter((d) => d === 'blocked')).toHaveLength(5);
    expect(t.check('10.0.0.1', 'door-1')).toMatchObject({ blocked: true, retryAfterMs: 10 * MIN });
    advance(10 * MIN - 1);
    expect(t.check('10.0.0.1', 'door-1').blocked).toBe(true);
    advance(1);
    expect(t.check('10.0.0.1', 'door-1')).toStrictEqual({ blocked: false, delayMs: 0 });
  });

  it('forgets failures older than 10 minutes', () => {
    const { t, advance } = throttle();
    fail(t, 5, '10.0.0.1', 'door-1');
    advance(10 * MIN);
    expect(fail(t, 1, '10.0.0.1', 'door-1')).toStrictEqual([0]);
  });

  it('does not lock out another source, nor another username of the same source', () => {
    const { t } = throttle();
    fail(t, 30, '10.0.0.1', 'door-1');
    expect(t.check('10.0.0.1', 'door-1').blocked).toBe(true);
    expect(t.check('10.0.0.2', 'door-1')).toStrictEqual({ blocked: false, delayMs: 0 });
    expect(t.check('10.0.0.1', 'door-2')).toStrictEqual({ blocked: false, delayMs: 0 });
  });

  it('forgets the failures of a username that logged in', () => {
    const { t } = throttle();
    fail(t, 10, '10.0.0.1', 'door-1');
    t.succeeded('10.0.0.1', 'door-1');
    expect(t.check('10.0.0.1', 'door-1')).toStrictEqual({ blocked: false, delayMs: 0 });
  });

  it('lets only usernames known at a source in once it failed more than 100 times across usernames', () => {
    const { t, advance } = throttle();
    t.succeeded('10.0.0.1', 'meter-1');
    advance(MIN);
    for (let u = 0; u < 6; u++) fail(t, 17, '10.0.0.1', `guess-${u}`);
    // 102 failures, none of a pair blocked yet
    expect(t.check('10.0.0.1', 'guess-0').blocked).toBe(true);
    expect(t.check('10.0.0.1', 'never-seen').blocked).toBe(true);
    expect(t.check('10.0.0.1', 'meter-1').blocked).toBe(false);
    expect(t.check('10.0.0.2', 'never-seen').blocked).toBe(false);
    advance(10 * MIN);
    expect(t.check('10.0.0.1', 'never-seen').blocked).toBe(false);
  });

  it('does not count a source as over 100 with 100 failures, nor keep a username known after 24 hours', () => {
    const { t, advance } = throttle();
    t.succeeded('10.0.0.1', 'meter-1');
    advance(24 * 3_600_000);
    for (let u = 0; u < 5; u++) fail(t, 20, '10.0.0.1', `guess-${u}`);
    expect(t.check('10.0.0.1', 'other').blocked).toBe(false);
    fail(t, 1, '10.0.0.1', 'guess-6');
    expect(t.check('10.0.0.1', 'other').blocked).toBe(true);
    expect(t.check('10.0.0.1', 'meter-1').blocked).toBe(true);
  });

  it('keeps an HTTP source blocked though it holds a valid token of its own', () => {
    const { t } = throttle({}, 'http');
    expect(fail(t, 21, '10.0.0.1').at(-1)).toBe('blocked');
    t.succeeded('10.0.0.1');
    expect(t.check('10.0.0.1').blocked).toBe(true);
  });

  it('counts failures, slowed ones, refusals and blocked sources in /metrics', () => {
    const { t, metrics } = throttle();
    fail(t, 22, '10.0.0.1', 'a');
    fail(t, 3, '10.0.0.2', 'a');
    expect(metrics.value('gateway_login_failures_total', { protocol: 'mqtt' })).toBe(23);
    expect(metrics.value('gateway_login_delayed_total', { protocol: 'mqtt' })).toBe(15);
    expect(metrics.value('gateway_login_blocked_total', { protocol: 'mqtt' })).toBe(2);
    expect(metrics.value('gateway_login_blocked_sources', { protocol: 'mqtt' })).toBe(1);
    expect(metrics.render()).toContain('gateway_login_blocked_sources{protocol="mqtt"} 1');
  });

  it('labels the throttles of both protocols on one registry', () => {
    const metrics = new Metrics();
    const mqtt = new LoginThrottle('mqtt', metrics);
    new LoginThrottle('http', metrics);
    fail(mqtt, 20, '10.0.0.1', 'a');
    expect(metrics.render()).toContain('gateway_login_blocked_sources{protocol="mqtt"} 1');
    expect(metrics.render()).toContain('gateway_login_blocked_sources{protocol="http"} 0');
  });

  it('bounds its memory under failures from many addresses and usernames, forgetting the oldest', () => {
    const { t } = throttle({ maxPairs: 100, maxSources: 50, maxKnown: 10 });
    for (let i = 0; i < 10_000; i++) fail(t, 1, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `user-${i}`);
    for (let i = 0; i < 100; i++) t.succeeded('10.9.9.9', `user-${i}`);
    expect(t.sizes()).toStrictEqual({ pairs: 100, sources: 50, known: 10, held: 0 });
  });

  it('counts an IPv6 source by its /64 and an IPv4-mapped one as IPv4', () => {
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(sourceKey('192.0.2.7')).toBe('192.0.2.7');
    const { t } = throttle();
    fail(t, 20, '2001:db8:1:2::1', 'a');
    expect(t.check('2001:db8:1:2::99', 'a').blocked).toBe(true);
  });
});

describe('LoginThrottle held replies', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a failure after its delay', async () => {
    vi.useFakeTimers();
    const { t } = throttle();
    const replied = vi.fn();
    t.later('10.0.0.1', 250, replied);
    await vi.advanceTimersByTimeAsync(249);
    expect(replied).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(replied).toHaveBeenCalledOnce();
    expect(t.sizes().held).toBe(0);
  });

  it('refuses at once a failure that would wait while the source holds its share, and frees a place on cancel', () => {
    vi.useFakeTimers();
    const { t } = throttle({ maxHeldPerSource: 2 });
    fail(t, 5, '10.0.0.1', 'a');
    const cancels = [t.later('10.0.0.1', 250, () => undefined), t.later('10.0.0.1', 250, () => undefined)];
    expect(t.check('10.0.0.1', 'a').blocked).toBe(true);
    // A success never waits: another username's first failures are not held either.
    expect(t.check('10.0.0.1', 'b')).toStrictEqual({ blocked: false, delayMs: 0 });
    expect(t.check('10.0.0.2', 'a').blocked).toBe(false);
    cancels[0]();
    expect(t.check('10.0.0.1', 'a')).toStrictEqual({ blocked: false, delayMs: 250 });
  });

  it('answers every held reply at stop, and later ones at once', () => {
    vi.useFakeTimers();
    const { t } = throttle();
    const replied = vi.fn();
    t.later('10.0.0.1', 4000, replied);
    t.later('10.0.0.2', 4000, replied);
    t.stop();
    expect(replied).toHaveBeenCalledTimes(2);
    t.later('10.0.0.1', 4000, replied);
    expect(replied).toHaveBeenCalledTimes(3);
    expect(t.sizes().held).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('RefusalLog login attempts', () => {
  afterEach(() => vi.useRealTimers());

  it('logs a source at most once a minute, each line with the attempts since the one before', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] });
    const { lines, log } = logLines();
    const refusals = new RefusalLog(log, MIN);
    const attempt = (source: string, outcome: string) => refusals.noteAttempt(source, 'mqtt connection refused', outcome, { username: 'door-1', reason: outcome });
    for (let i = 0; i < 20; i++) attempt('10.0.0.1', 'bad_credentials');
    for (let i = 0; i < 980; i++) attempt('10.0.0.1', 'throttled');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'mqtt connection refused', source: '10.0.0.1', attempts: 1, outcomes: { bad_credentials: 1 } });
    await vi.advanceTimersByTimeAsync(MIN);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ source: '10.0.0.1', attempts: 999, outcomes: { bad_credentials: 19, throttled: 980 }, reason: 'throttled' });
    attempt('10.0.0.1', 'throttled');
    await vi.advanceTimersByTimeAsync(MIN / 2);
    attempt('10.0.0.2', 'bad_credentials');
    expect(lines).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(MIN / 2);
    expect(lines.filter((l) => l.source === '10.0.0.1')).toHaveLength(3);
    expect(lines.at(-1)).toMatchObject({ source: '10.0.0.1', attempts: 1 });
    // Quiet sources are forgotten: the next attempt after a quiet minute is logged at once.
    await vi.advanceTimersByTimeAsync(3 * MIN);
    const before = lines.length;
    attempt('10.0.0.1', 'bad_credentials');
    expect(lines).toHaveLength(before + 1);
    refusals.stop();
  });

  it('writes what is pending at stop', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const { lines, log } = logLines();
    const refusals = new RefusalLog(log, MIN);
    for (let i = 0; i < 3; i++) refusals.noteAttempt('10.0.0.1', 'http token refused', 'unauthorized', {});
    refusals.stop();
    expect(lines.map((l) => l.attempts)).toStrictEqual([1, 2]);
  });
});
