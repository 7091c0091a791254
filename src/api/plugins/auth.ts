import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError, NotFoundError } from '../../errors.js';
import type { OperatorRecord, TokenHolder } from '../../operators/registry.js';
import { secretMatches } from '../../secrets.js';
import { accessOf, roleAllows, type Role } from '../access.js';
import { throttledLogin, type ApiThrottle } from './throttle.js';

/** Who made an API request: the holder of ADMIN_TOKEN, or an operator through one of its tokens. */
export type ApiPrincipal = { kind: 'admin-token' } | { kind: 'operator'; operator: OperatorRecord; tokenId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: ApiPrincipal;
  }
  interface FastifyContextConfig {
    /**
     * Says the route needs no token. The access table (api/access.ts) decides; a route flagged so must be
     * `public` there too, or the API refuses to build.
     */
    public?: boolean;
  }
}

export interface AuthOptions {
  adminTokenHash: string;
  /** Who holds a presented operator token, and whether it still works. */
  operatorByToken(token: string): TokenHolder;
  /** Refused tokens slowed, then answered 429, per source address (contract §15); absent: none. */
  throttle?: ApiThrottle;
}

/** The `METHOD url` keys of the routes registered after the auth plugin, per app (for the access-table test). */
const registered = new WeakMap<FastifyInstance, Set<string>>();

/**
 * Bearer-token authentication (contract §3) and the roles (contract §15), deny by default. The access table
 * (api/access.ts) names the least role of each route; a route it does not name is for the admin only. The
 * decision rests on the route fastify matched, never on the raw URL, which a client can spell differently
 * (`/%61pi/...`) and still reach the same route. HEAD is decided as the GET of the same route.
 */
export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  const keys = new Set<string>();
  registered.set(app, keys);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      const key = `${method === 'HEAD' ? 'GET' : method} ${route.url}`;
      keys.add(key);
      const access = accessOf(method === 'HEAD' ? 'GET' : method, route.url);
      if (route.config?.public && access?.role !== 'public') {
        throw new Error(`${key} is flagged public but the access table (api/access.ts) does not say so`);
      }
      if (!access) app.log.warn({ route: key }, 'route not in the access table; only the admin may call it');
    }
  });
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    // No route matched: the not-found handler answers 404 and exposes nothing.
    const url = request.routeOptions.url;
    if (url === undefined) return;
    const needed = accessOf(request.method === 'HEAD' ? 'GET' : request.method, url)?.role ?? 'admin';
    if (needed === 'public') return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw new GatewayError('unauthorized', 'missing "Authorization: Bearer <token>" header');
    // contract §15: the login throttle answers a refused token itself (late 401, or 429): plugins/throttle.ts.
    const principal = await throttledLogin(opts.throttle, request, reply, () => principalOf(request, match[1], opts));
    if (!principal) return reply;
    request.principal = principal;
    const held = roleOf(request);
    if (!roleAllows(held, needed)) throw new GatewayError('forbidden', `this needs the ${needed} role (yours: ${held})`);
  });
}

/**
 * The principal a presented token stands for. This is the one place a token is accepted or refused: a token
 * that is nobody's, revoked, expired or a disabled operator's is refused here with 401, and nowhere else
 * (`request.ip` is the source address, for whoever counts failures per source).
 */
function principalOf(request: FastifyRequest, token: string, opts: AuthOptions): ApiPrincipal {
  if (secretMatches(token, opts.adminTokenHash)) return { kind: 'admin-token' };
  const holder = opts.operatorByToken(token);
  if (holder.found === 'live') return { kind: 'operator', operator: holder.operator, tokenId: holder.token.id };
  // Revoked, expired and disabled are told apart only in the audit, not to whoever holds the token.
  throw new GatewayError('unauthorized', holder.found === 'dead' ? 'token revoked or expired' : 'unknown token');
}

/** The routes registered since the auth plugin, as `METHOD url` (HEAD as GET): what the access table must cover. */
export function registeredRoutes(app: FastifyInstance): string[] {
  return [...(registered.get(app) ?? [])].sort();
}

/** The caller's role: the admin token is admin; an operator has the role it was given. */
export function roleOf(request: FastifyRequest): Role {
  const p = request.principal;
  return p?.kind === 'operator' ? p.operator.role : 'admin';
}

/** The sites the caller may see and act on; undefined means all of them (the admin token). */
export function visibleSites(request: FastifyRequest): readonly string[] | undefined {
  return request.principal?.kind === 'operator' ? request.principal.operator.sites : undefined;
}

/** Throws a 404 when the caller may not see `site`: another site's records do not exist for an operator. */
export function assertVisible(request: FastifyRequest, site: string, what: string, id: string): void {
  const sites = visibleSites(request);
  if (sites && !sites.includes(site)) throw new NotFoundError(what, id);
}

/**
 * Throws a 403 when the caller does not hold every one of `sites` (`field` names them in the request): an
 * operator, even an admin one, acts and grants only within its own sites (contract §15).
 */
export function assertHoldsSites(request: FastifyRequest, sites: readonly string[], field: string): void {
  const held = visibleSites(request);
  const foreign = held && sites.filter((s) => !held.includes(s));
  if (foreign && foreign.length > 0) throw new GatewayError('forbidden', `${field}: you do not hold site ${foreign.join(', ')}`);
}

/** Who the caller is, as history and `ackedBy`/`clearedBy` record it: the operator's name, or `admin`. */
export function actor(request: FastifyRequest): string {
  return request.principal?.kind === 'operator' ? request.principal.operator.name : 'admin';
}
