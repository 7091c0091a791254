import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Metrics } from '../metrics.js';
import type { RefusalLog } from '../refusal-log.js';

/** How the HTTP server treats slow and numerous clients (the HTTP_* settings; docs/security.md). */
export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no bound. */
  maxConnectionsPerSource: number;
}

/**
 * Fastify's server options for `limits`. Node checks the headers and request timeouts only every
 * `connectionsCheckingInterval` (30 s by default, read once by `http.createServer`, hence the `http` options),
 * so a 10 s timeout could take 40 s to fire: the check runs every second, or twice per headers timeout when
 * that is shorter. A request counts as arrived once its body has, so neither timeout cuts a long response
 * such as the server-sent events of GET /api/events.
 */
export function httpServerOptions(limits: HttpLimits): {
  http: ServerOptions;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionTimeout: number;
} {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = limits;
  return {
    http: {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 2))),
    },
    // Fastify sets these two on the server after creating it; they must say the same.
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // No idle timeout on the socket: an event stream is quiet for 15 s between its keepalive comments, and the
    // two timeouts above already bound a client that sends slowly.
    connectionTimeout: 0,
  };
}

/**
 * Closes at once every connection beyond `max` open ones from the same remote address, so one client cannot
 * take every socket; the others keep theirs. Counted in `gateway_http_connections_refused_total`, logged
 * through the refusal log (summarised per address).
 */
export function limitConnectionsPerSource(server: Server, opts: { max: number; metrics: Metrics; refusals: RefusalLog }): void {
  const refused = opts.metrics.counterFor(
    'gateway_http_connections_refused_total',
    'HTTP connections closed at once because their address already held HTTP_MAX_CONNECTIONS_PER_SOURCE',
    {},
  );
  if (opts.max === 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const source = socket.remoteAddress;
    // Already closed by its peer: there is nothing to count.
    if (source === undefined) return;
    const count = open.get(source) ?? 0;
    if (count >= opts.max) {
      socket.destroy();
      refused();
      opts.refusals.note(source, 'http connection refused: too many from one address', { max: opts.max });
      return;
    }
    open.set(source, count + 1);
    socket.once('close', () => {
      const left = (open.get(source) ?? 1) - 1;
      if (left > 0) open.set(source, left);
      else open.delete(source);
    });
  });
}
