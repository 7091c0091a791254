import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, CommandVerifier, MAX_SKEW_MS, REPLAY_WINDOW_MS, signCommand } from '../../../src/upstream/commands.js';

const OPS_SECRET = 'hq-ops-secret-0123456789';
const NIGHT_SECRET = 'hq-night-secret-0123456789';
const NOW = 1_764_230_400_000;

/** A command as headquarters writes it, keys in no particular order. */
function command(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ts: NOW,
    site: 'maple-court',
    params: { seconds: 5 },
    id: 'c-20251127-0001',
    device: 'access-b1-lobby-01',
    by: 'hq-ops',
    action: 'unlock',
    ...overrides,
  };
}

const signed = (m: Record<string, unknown>, secret = OPS_SECRET) => JSON.stringify({ ...m, sig: signCommand(m, secret) });
const verifier = () => new CommandVerifier({ 'hq-ops': OPS_SECRET, 'hq-night': NIGHT_SECRET });

describe('canonicalJson (RFC 8785 for parsed JSON)', () => {
  it('sorts object keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('keeps array order and writes strings and numbers as JSON.stringify does', () => {
    expect(canonicalJson(['b', 'a', 1.5, 1e21, -0, null, true, 'é"\n'])).toBe('["b","a",1.5,1e+21,0,null,true,"é\\"\\n"]');
  });

  it('leaves out undefined members, as JSON has none', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}');
  });
});

describe('signCommand', () => {
  it('is the HMAC-SHA256 that openssl computes over the sorted compact message without sig', () => {
    // printf '%s' "$MSG" | openssl dgst -sha256 -hmac hq-ops-secret-0123456789 -r
    expect(signCommand({ ...command(), sig: 'ignored' }, OPS_SECRET)).toBe('652aab0ab61fa88192c306d91c2888ee046195c1f1e1d9d41dc1c21ba60f2f8c');
    const text = '{"action":"unlock","by":"hq-ops","device":"access-b1-lobby-01","id":"c-20251127-0001","params":{"seconds":5},"site":"maple-court","ts":1764230400000}';
    expect(createHmac('sha256', OPS_SECRET).update(text).digest('hex')).toBe('652aab0ab61fa88192c306d91c2888ee046195c1f1e1d9d41dc1c21ba60f2f8c');
  });
});

describe('CommandVerifier', () => {
  it('accepts a command signed with the secret of the trusted account in by', () => {
    const v = verifier().verify('maple-court', signed(command()), NOW + 1000);
    expect(v).toStrictEqual({ ok: true, command: { ...command(), sig: signCommand(command(), OPS_SECRET) } });
  });

  it('accepts upper-case hex and an ISO-8601 ts with an offset', () => {
    const m = command({ ts: '2025-11-27T16:00:00+08:00' });
    const v = verifier().verify('maple-court', JSON.stringify({ ...m, sig: signCommand(m, OPS_SECRET).toUpperCase() }), NOW);
    expect(v.ok).toBe(true);
  });

  it('refuses an account not in UPSTREAM_TRUSTED as untrusted', () => {
    const m = command({ by: 'hq-intruder' });
    expect(verifier().verify('maple-court', signed(m, 'intruder-secret-0123456789'), NOW)).toStrictEqual({
      ok: false,
      outcome: 'untrusted',
      reason: 'by: not a trusted account',
      by: 'hq-intruder',
      id: 'c-20251127-0001',
    });
  });

  it('refuses a trusted account name with a signature made with another secret', () => {
    const v = verifier().verify('maple-court', signed(command(), NIGHT_SECRET), NOW);
    expect(v).toMatchObject({ ok: false, outcome: 'untrusted', reason: 'sig: does not match' });
  });

  it('refuses a message without sig, or with one that is not 64 hex digits', () => {
    expect(verifier().verify('maple-court', JSON.stringify(command()), NOW)).toMatchObject({ ok: false, outcome: 'untrusted', reason: 'sig: missing or not 64 hex digits' });
    expect(verifier().verify('maple-court', JSON.stringify({ ...command(), sig: 'abc' }), NOW)).toMatchObject({ outcome: 'untrusted' });
  });

  it('refuses a message changed after signing', () => {
    const sig = signCommand(command(), OPS_SECRET);
    const v = verifier().verify('maple-court', JSON.stringify({ ...command({ params: { seconds: 600 } }), sig }), NOW);
    expect(v).toMatchObject({ ok: false, outcome: 'untrusted', reason: 'sig: does not match' });
  });

  it('refuses a message without by as untrusted, and what is not a JSON object as invalid', () => {
    const { by: _by, ...noBy } = command();
    expect(verifier().verify('maple-court', JSON.stringify(noBy), NOW)).toMatchObject({ ok: false, outcome: 'untrusted', reason: 'by: missing' });
    expect(verifier().verify('maple-court', 'not json', NOW)).toStrictEqual({ ok: false, outcome: 'invalid', reason: 'not JSON' });
    expect(verifier().verify('maple-court', '[1]', NOW)).toStrictEqual({ ok: false, outcome: 'invalid', reason: 'not a JSON object' });
  });

  it('refuses a signed command with a bad field as invalid, naming the field', () => {
    const v = verifier().verify('maple-court', signed(command({ device: 'no spaces allowed' })), NOW);
    expect(v).toMatchObject({ ok: false, outcome: 'invalid', reason: expect.stringMatching(/^device: /) });
  });

  it('refuses a command signed for another site than the topic it came on', () => {
    const v = verifier().verify('birch-park', signed(command()), NOW);
    expect(v).toMatchObject({ ok: false, outcome: 'invalid', reason: 'site: maple-court is not the site of the topic (birch-park)' });
  });

  it('refuses a ts more than 5 minutes off either way, and takes one at exactly 5 minutes', () => {
    expect(verifier().verify('maple-court', signed(command()), NOW + MAX_SKEW_MS + 1)).toMatchObject({ ok: false, outcome: 'stale' });
    expect(verifier().verify('maple-court', signed(command()), NOW - MAX_SKEW_MS - 1)).toMatchObject({ ok: false, outcome: 'stale' });
    expect(verifier().verify('maple-court', signed(command()), NOW + MAX_SKEW_MS).ok).toBe(true);
  });

  it('refuses an id seen in the last hour, even with a fresh ts and signature', () => {
    const v = verifier();
    expect(v.verify('maple-court', signed(command()), NOW).ok).toBe(true);
    expect(v.verify('maple-court', signed(command()), NOW + 1000)).toMatchObject({ ok: false, outcome: 'replayed' });
    const later = NOW + 60_000;
    expect(v.verify('maple-court', signed(command({ ts: later })), later)).toMatchObject({ ok: false, outcome: 'replayed' });
  });

  it('forgets an id after the hour', () => {
    const v = verifier();
    expect(v.verify('maple-court', signed(command()), NOW).ok).toBe(true);
    const later = NOW + REPLAY_WINDOW_MS + 1;
    expect(v.verify('maple-court', signed(command({ ts: later })), later).ok).toBe(true);
  });

  it('does not remember the id of a message it refused, so nobody can burn a trusted id', () => {
    const v = verifier();
    expect(v.verify('maple-court', signed(command({ by: 'hq-intruder' }), 'intruder-secret-0123456789'), NOW).ok).toBe(false);
    expect(v.verify('maple-court', signed(command()), NOW).ok).toBe(true);
  });
});
