import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ListenError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RefusalLog } from '../refusal-log.js';
import type { TlsServing } from '../tls/certificates.js';
import { httpServerOptions, limitConnectionsPerSource, type HttpLimits } from './http-limits.js';

/** HTTPS_PORT and what the HTTPS listener shares with the plain one (contract §15). */
export interface HttpsListen {
  tls: TlsServing;
  host: string;
  port: number;
  limits: HttpLimits;
  metrics: Metrics;
  refusals: RefusalLog;
  log: Logger;
}

/**
 * Serves a ready fastify app over HTTPS as well: a fastify instance owns one server, so this second one hands
 * each request to the app's router (`app.routing`), where every route, hook and the bearer-token check run as on
 * the plain listener. The same timeouts and per-address bound apply; the certificate follows the files.
 */
export async function listenHttps(app: FastifyInstance, opts: HttpsListen): Promise<Server> {
  await app.ready();
  const { http, keepAliveTimeout } = httpServerOptions(opts.limits);
  const server = createServer({ ...opts.tls.serverOptions(false), ...http }, (req, res) => app.routing(req, res));
  server.keepAliveTimeout = keepAliveTimeout;
  // No idle timeout on the socket, as on the plain listener: an event stream is quiet between its keepalives.
  server.setTimeout(0);
  limitConnectionsPerSource(server, { max: opts.limits.maxConnectionsPerSource, metrics: opts.metrics, refusals: opts.refusals });
  // A client that does not trust the certificate, or speaks plain HTTP: its handshake fails, the others go on.
  server.on('tlsClientError', (err) => opts.log.debug({ err }, 'https handshake failed'));
  opts.tls.track(server);
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => reject(new ListenError('HTTPS_PORT', opts.port, err));
    server.once('error', failed);
    server.listen(opts.port, opts.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  return server;
}

/** The port an HTTPS server bound; 0 without one. */
export function httpsPort(server: Server | undefined): number {
  const address = server?.address() as AddressInfo | null | undefined;
  return address?.port ?? 0;
}
