import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/env.js';

describe('HTTP limits', () => {
  it('times out slow clients and bounds each address by default', () => {
    expect(loadConfig({}).http).toStrictEqual({
      host: '0.0.0.0',
      port: 8080,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 72_000,
      maxConnectionsPerSource: 128,
    });
  });

  it('takes durations and a count, 0 turning the bound off', () => {
    const c = loadConfig({
      HTTP_HEADERS_TIMEOUT: '2s',
      HTTP_REQUEST_TIMEOUT: '1m',
      HTTP_KEEP_ALIVE_TIMEOUT: '500ms',
      HTTP_MAX_CONNECTIONS_PER_SOURCE: '0',
    });
    expect(c.http).toMatchObject({ headersTimeoutMs: 2000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 500, maxConnectionsPerSource: 0 });
  });

  it('refuses a timeout that is not a duration or too short to let a request in, and a negative bound', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT: '10' })).toThrow(/HTTP_HEADERS_TIMEOUT="10": .* is not a duration/);
    expect(() => loadConfig({ HTTP_REQUEST_TIMEOUT: '0s' })).toThrow('HTTP_REQUEST_TIMEOUT="0s": at least 100ms');
    expect(() => loadConfig({ HTTP_MAX_CONNECTIONS_PER_SOURCE: '-1' })).toThrow(/HTTP_MAX_CONNECTIONS_PER_SOURCE="-1"/);
  });

  it('refuses a headers timeout longer than the request timeout, which includes the headers', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT: '40s' })).toThrow(
      'HTTP_HEADERS_TIMEOUT: must not be longer than HTTP_REQUEST_TIMEOUT (30s), which includes the headers',
    );
    expect(loadConfig({ HTTP_HEADERS_TIMEOUT: '30s' }).http.headersTimeoutMs).toBe(30_000);
  });
});
