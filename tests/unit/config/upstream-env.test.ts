import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/env.js';

const URL = 'mqtts://hq.example.com:8883';
const SECRET = 'a-secret-of-24-characters';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('UPSTREAM_* configuration', () => {
  it('has no link without UPSTREAM_URL', () => {
    expect(loadConfig({}).upstream).toBeUndefined();
  });

  it('fills in the defaults', () => {
    expect(loadConfig({ UPSTREAM_URL: URL }).upstream).toStrictEqual({
      url: URL,
      username: undefined,
      password: undefined,
      clientId: `gw-${hostname().replace(/[^A-Za-z0-9_.:-]/g, '-')}`,
      baseTopic: 'hq',
      sites: undefined,
      trusted: {},
      maxBytes: 256 * 1024 * 1024,
      summaryIntervalMs: 3_600_000,
    });
  });

  it('reads sites, trusted accounts, sizes and the summary interval', () => {
    const u = loadConfig({
      UPSTREAM_URL: 'mqtt://10.0.0.5:1883',
      UPSTREAM_SITES: 'maple-court, birch-park',
      UPSTREAM_TRUSTED: `hq-ops:${SECRET},hq-night:with:colons:${SECRET}`,
      UPSTREAM_MAX_BYTES: '64MB',
      UPSTREAM_SUMMARY_INTERVAL: '15m',
      UPSTREAM_BASE_TOPIC: 'hq/east',
    }).upstream;
    expect(u?.sites).toStrictEqual(['maple-court', 'birch-park']);
    expect(u?.trusted).toStrictEqual({ 'hq-ops': SECRET, 'hq-night': `with:colons:${SECRET}` });
    expect(u?.maxBytes).toBe(64 * 1024 * 1024);
    expect(u?.summaryIntervalMs).toBe(900_000);
    expect(u?.baseTopic).toBe('hq/east');
  });

  it('names the variable of a bad value', () => {
    expect(problems({ UPSTREAM_URL: 'http://hq' })[0]).toMatch(/^UPSTREAM_URL=/);
    expect(problems({ UPSTREAM_SITES: 'Maple Court' })[0]).toMatch(/^UPSTREAM_SITES=/);
    expect(problems({ UPSTREAM_MAX_BYTES: '10 parsecs' })[0]).toMatch(/^UPSTREAM_MAX_BYTES=/);
    expect(problems({ UPSTREAM_SUMMARY_INTERVAL: '500ms' })[0]).toMatch(/^UPSTREAM_SUMMARY_INTERVAL=.*at least 1s/);
    expect(problems({ UPSTREAM_BASE_TOPIC: 'hq/#' })[0]).toMatch(/^UPSTREAM_BASE_TOPIC=/);
  });

  it('refuses a short or malformed trusted entry without repeating the secret', () => {
    const [short] = problems({ UPSTREAM_TRUSTED: 'hq-ops:secret1' });
    expect(short).toBe('UPSTREAM_TRUSTED="[redacted]": the secret of hq-ops must be at least 16 characters');
    expect(problems({ UPSTREAM_TRUSTED: `${SECRET}` })[0]).toMatch(/entry 1 is not account:secret/);
    expect(problems({ UPSTREAM_TRUSTED: `a:${SECRET},a:${SECRET}` })[0]).toMatch(/a is listed twice/);
  });
});
