import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { httpServerOptions, limitConnectionsPerSource } from '../../../src/api/http-limits.js';
import { createLogger } from '../../../src/log.js';
import { RefusalLog } from '../../../src/refusal-log.js';
import { Metrics } from '../../../src/metrics.js';

const LIMITS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, maxConnectionsPerSource: 128 };

describe('httpServerOptions', () => {
  it('has Node check for late requests every second instead of its default 30 s, and sets no idle timeout', () => {
    expect(httpServerOptions(LIMITS)).toStrictEqual({
      http: { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 72_000, connectionsCheckingInterval: 1000 },
      requestTimeout: 30_000,
      keepAliveTimeout: 72_000,
      connectionTimeout: 0,
    });
  });

  it('checks twice per headers timeout when that is shorter than two seconds', () => {
    expect(httpServerOptions({ ...LIMITS, headersTimeoutMs: 1000 }).http.connectionsCheckingInterval).toBe(500);
    expect(httpServerOptions({ ...LIMITS, headersTimeoutMs: 100 }).http.connectionsCheckingInterval).toBe(50);
  });
});

describe('limitConnectionsPerSource', () => {
  let server: Server | undefined;
  const stops: Array<() => void> = [];
  afterEach(async () => {
    stops.splice(0).forEach((stop) => stop());
    vi.useRealTimers();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    server = undefined;
  });

  /** A plain HTTP server on a free loopback port with the bound; its log lines at warn and its metrics. */
  async function bounded(max: number) {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const metrics = new Metrics();
    server = createServer((_req, res) => res.end('ok'));
    const refusals = new RefusalLog(log, 60_000);
    stops.push(() => refusals.stop());
    limitConnectionsPerSource(server, { max, metrics, refusals });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    /** Opens a connection; resolves true if the server closed it at once. */
    const refusedAtOnce = () =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ port, host: '127.0.0.1' });
        socket.on('error', () => undefined);
        const timer = setTimeout(() => resolve(false), 300);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    return { lines, metrics, refusedAtOnce };
  }

  it('logs the first refusal of an address in full and the rest as one summary at the end of the minute', async () => {
    const { lines, metrics, refusedAtOnce } = await bounded(1);
    expect(await refusedAtOnce()).toBe(false);
    for (let i = 0; i < 4; i++) expect(await refusedAtOnce()).toBe(true);
    expect(metrics.value('gateway_http_connections_refused_total')).toBe(4);
    stops.splice(0).forEach((stop) => stop()); // the end of the window
    expect(lines.map(({ msg, source, max, refused }) => ({ msg, source, max, refused }))).toStrictEqual([
      { msg: 'http connection refused: too many from one address', source: '127.0.0.1', max: 1, refused: undefined },
      { msg: 'refusals summarised', source: '127.0.0.1', max: undefined, refused: { 'http connection refused: too many from one address': 3 } },
    ]);
  });

  it('bounds nothing at 0, and still shows the counter at zero', async () => {
    const { metrics, refusedAtOnce } = await bounded(0);
    for (let i = 0; i < 3; i++) expect(await refusedAtOnce()).toBe(false);
    expect(metrics.render()).toContain('\ngateway_http_connections_refused_total 0\n');
  });
});
