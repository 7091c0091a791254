import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * Slow and numerous HTTP clients (docs/security.md#slow-and-numerous-http-clients), against a real gateway over
 * raw sockets: a half-sent request is closed, a long response is not, one address cannot take every socket.
 */

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
/** Node looks for late requests every half headers timeout (src/api/http-limits.ts), then writes the 408. */
const CHECK_MS = HEADERS_TIMEOUT_MS / 2;
const MARGIN_MS = 1000;
const SLOW_CLIENTS = { HTTP_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`, HTTP_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms` };

/** A raw TCP client: what it received, and when the server closed it. */
interface Raw {
  socket: Socket;
  received(): string;
  /** Resolves with the milliseconds from connect to close. */
  closed: Promise<number>;
  /** Resolves once `re` matches what was received (bounded wait). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

function openRaw(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let openedAt = 0;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    // A reset from the server is a close as far as these tests are concerned.
    socket.on('error', () => undefined);
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - openedAt)));
    const waitFor = (re: RegExp, timeoutMs = 5000) =>
      new Promise<string>((done, fail) => {
        const check = () => {
          if (!re.test(text)) return;
          clearTimeout(timer);
          socket.off('data', check);
          done(text);
        };
        const timer = setTimeout(() => {
          socket.off('data', check);
          fail(new Error(`no ${re} within ${timeoutMs} ms, received ${JSON.stringify(text)}`));
        }, timeoutMs);
        socket.on('data', check);
        check();
      });
    socket.once('connect', () => {
      openedAt = Date.now();
      resolve({ socket, received: () => text, closed, waitFor });
    });
    socket.once('error', reject);
  });
}

/** One keep-alive GET on a raw socket: resolves with the response's status line once its body has arrived. */
async function get(raw: Raw, path: string): Promise<string> {
  const before = raw.received().length;
  raw.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  const all = await raw.waitFor(new RegExp(`^[\\s\\S]{${before}}HTTP/1\\.1 \\d+[^\\r]*\\r\\n[\\s\\S]*?\\r\\n\\r\\n\\{[^}]*\\}`));
  return all.slice(before).split('\r\n')[0];
}

describe('slow HTTP clients', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway(SLOW_CLIENTS);
  });
  afterAll(() => gw?.stop());

  it('closes a client that sends half its headers and then nothing, with a 408, once the headers timeout has passed', async () => {
    const raw = await openRaw(gw.httpPort);
    raw.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: appl');
    const ms = await raw.closed;
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_MS + MARGIN_MS);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('closes a client that connects and sends nothing within the headers timeout', async () => {
    const raw = await openRaw(gw.httpPort);
    const ms = await raw.closed;
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + CHECK_MS + MARGIN_MS);
  });

  it('closes a client whose body never completes once the request timeout has passed', async () => {
    const raw = await openRaw(gw.httpPort);
    raw.socket.write(
      `POST /api/devices HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"id":"lamp-slow",',
    );
    const ms = await raw.closed;
    expect(ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + CHECK_MS + MARGIN_MS);
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect((await gw.api('GET', '/api/devices/lamp-slow')).status).toBe(404);
  });

  it('keeps GET /api/events open past the request timeout and still delivers on it', async () => {
    const raw = await openRaw(gw.httpPort);
    raw.socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`);
    await raw.waitFor(/event: ready\n/);
    let closedEarly = false;
    void raw.closed.then(() => (closedEarly = true));
    await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + CHECK_MS + MARGIN_MS));
    expect(closedEarly).toBe(false);
    // A device coming online is an event on the stream.
    const lamp = await gw.connect(await gw.register('lamp-events', 'lighting'));
    await lamp.publishAsync('sc/maple-court/lighting/lamp-events/status', 'online', { qos: 1, retain: true });
    const text = await raw.waitFor(/event: device\ndata: .*\n\n/);
    expect(JSON.parse(/event: device\ndata: (.*)\n\n/.exec(text)![1])).toMatchObject({ change: 'online', device: { id: 'lamp-events', online: true } });
    raw.socket.destroy();
  });
});

describe('open HTTP connections per address', () => {
  const MAX = 4;
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ ...SLOW_CLIENTS, HTTP_MAX_CONNECTIONS_PER_SOURCE: String(MAX) });
  });
  afterAll(() => gw?.stop());

  it('closes the connection beyond the bound at once while the others stay usable, and takes a new one after they close', async () => {
    const refused = () => gw.gateway.metrics.value('gateway_http_connections_refused_total');
    expect(refused()).toBe(0);
    const held = await Promise.all(Array.from({ length: MAX }, () => openRaw(gw.httpPort)));
    for (const raw of held) expect(await get(raw, '/health')).toBe('HTTP/1.1 200 OK');

    const extra = await openRaw(gw.httpPort);
    expect(await extra.closed).toBeLessThan(1000);
    expect(extra.received()).toBe('');
    expect(refused()).toBe(1);

    // Each one answers again (keep-alive), within the headers timeout of its previous request.
    for (const raw of held) expect(await get(raw, '/health')).toBe('HTTP/1.1 200 OK');
    const metrics = held[0];
    metrics.socket.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await metrics.waitFor(/gateway_http_connections_refused_total 1\n/)).toContain('# TYPE gateway_http_connections_refused_total counter');

    for (const raw of held) raw.socket.end();
    await Promise.all(held.map((raw) => raw.closed));
    const again = await eventually(async () => {
      const raw = await openRaw(gw.httpPort);
      return (await get(raw, '/health')) === 'HTTP/1.1 200 OK' ? raw : undefined;
    }, 5000);
    again.socket.destroy();
  });
});
