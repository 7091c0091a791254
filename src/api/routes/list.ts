import type { FastifyRequest } from 'fastify';
import { visibleSites } from '../plugins/auth.js';

/** `limit` as a query string (ajv does not coerce here): 1..9999, default 1000. */
export const limitParam = { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: 'at most this many, newest first (default 1000)' } as const;

/** A list's query string as the services take it: its filters, the sites the caller may see, `limit` as a number. */
export function listFilter<Q extends { limit?: string }>(
  request: FastifyRequest & { query: Q },
): Omit<Q, 'limit'> & { sites: readonly string[] | undefined; limit: number | undefined } {
  const { limit, ...filter } = request.query;
  return { ...filter, sites: visibleSites(request), limit: limit === undefined ? undefined : Number(limit) };
}
