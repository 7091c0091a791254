import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError, NotFoundError } from '../../errors.js';
import type { OperatorRecord } from '../../operators/registry.js';
import { secretMatches } from '../../secrets.js';

/** Who made an API request. */
export type ApiPrincipal = { role: 'admin' } | { role: 'operator'; operator: OperatorRecord };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
  interface FastifyContextConfig {
    /** Only the admin token may call this route. */
    adminOnly?: boolean;
    /** No token needed (contract §3: health, ready, metrics, docs). Every other route needs one. */
    public?: boolean;
  }
}

export interface AuthOptions {
  adminTokenHash: string;
  operatorByToken(token: string): OperatorRecord | undefined;
}

/**
 * Bearer-token authentication (contract §3), deny by default: every matched route needs a token unless it
 * is marked public. The decision rests on the route fastify matched, never on the raw URL, which a client
 * can spell differently (`/%61pi/...`) and still reach the same route.
 */
export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    // No route matched: the not-found handler answers 404 and exposes nothing.
    if (request.routeOptions.url === undefined || request.routeOptions.config?.public) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new GatewayError('unauthorized', 'missing "Authorization: Bearer <token>" header');
    const token = match[1];
    if (secretMatches(token, opts.adminTokenHash)) {
      request.principal = { role: 'admin' };
    } else {
      const operator = opts.operatorByToken(token);
      if (!operator) throw new GatewayError('unauthorized', 'unknown token');
      request.principal = { role: 'operator', operator };
    }
    if (request.routeOptions.config?.adminOnly && request.principal.role !== 'admin') {
      throw new GatewayError('forbidden', 'this needs the admin token');
    }
  });
}

/** The sites the caller may see; undefined means all of them (admin). */
export function visibleSites(request: FastifyRequest): readonly string[] | undefined {
  return request.principal?.role === 'operator' ? request.principal.operator.sites : undefined;
}

/** Throws a 404 when the caller may not see `site`: another site's records do not exist for an operator. */
export function assertVisible(request: FastifyRequest, site: string, what: string, id: string): void {
  const sites = visibleSites(request);
  if (sites && !sites.includes(site)) throw new NotFoundError(what, id);
}

/** Who the caller is, as history and `ackedBy`/`clearedBy` record it: the operator's name, or `admin`. */
export function actor(request: FastifyRequest): string {
  return request.principal?.role === 'operator' ? request.principal.operator.name : 'admin';
}
