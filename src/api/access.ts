/**
 * Who may call each API route, and what the audit trail records of it (contract §15). One table for the
 * whole API: the auth plugin refuses a route the caller's role may not use (403 naming the role needed),
 * the audit plugin records every route that names an `audit` action, the console hides what the role may
 * not do, and tests walk the table. A route missing here is refused to everyone but the admin (an operator
 * with the admin role, or the ADMIN_TOKEN); a HEAD request is decided as the GET of the same route.
 */

import { roleAllows, type Role } from '../operators/roles.js';

export { ROLES, isRole, roleAllows, type Role } from '../operators/roles.js';

export interface RouteAccess {
  /** The least role that may call the route; `public` needs no token. */
  role: Role | 'public';
  /** The action the audit trail records when the call succeeds (absent: not recorded). */
  audit?: string;
}

/** Keyed by `METHOD url` as fastify registers the route (`:id` parameters, not the request's path). */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  'GET /health': { role: 'public' },
  'GET /ready': { role: 'public' },
  'GET /metrics': { role: 'public' },
  'GET /docs': { role: 'public' },
  'GET /docs/openapi.json': { role: 'public' },
  'GET /': { role: 'public' },
  'GET /sw.js': { role: 'public' },
  'GET /console/*': { role: 'public' },
  'GET /vendor/*': { role: 'public' },

  'GET /api/me': { role: 'viewer', audit: 'login' },
  'GET /api/definitions': { role: 'viewer' },
  'GET /api/events': { role: 'viewer' },

  'GET /api/alarms': { role: 'viewer' },
  'GET /api/alarms/:id': { role: 'viewer' },
  'GET /api/alarms/:id/history': { role: 'viewer' },
  'POST /api/alarms/:id/ack': { role: 'guard', audit: 'alarm.acknowledge' },
  'POST /api/alarms/:id/clear': { role: 'maintenance', audit: 'alarm.clear' },

  'GET /api/incidents': { role: 'viewer' },
  'GET /api/incidents/:id': { role: 'viewer' },
  // A guard may silence a non-life-safety alarm for up to an hour; the route checks the rest (contract §15).
  'GET /api/silences': { role: 'viewer' },
  'POST /api/silences': { role: 'guard', audit: 'silence.create' },
  'DELETE /api/silences/:id': { role: 'guard', audit: 'silence.delete' },

  'GET /api/workorders': { role: 'viewer' },
  'GET /api/workorders/:id': { role: 'viewer' },
  'POST /api/workorders': { role: 'maintenance', audit: 'workorder.create' },
  'PATCH /api/workorders/:id': { role: 'maintenance', audit: 'workorder.update' },

  'GET /api/devices': { role: 'viewer' },
  'GET /api/devices/:id': { role: 'viewer' },
  'GET /api/devices/:id/telemetry': { role: 'viewer' },
  'GET /api/devices/:id/events': { role: 'viewer' },
  'POST /api/devices/:id/commands': { role: 'supervisor', audit: 'command.send' },
  'POST /api/devices': { role: 'admin', audit: 'device.register' },
  'DELETE /api/devices/:id': { role: 'admin', audit: 'device.delete' },
  'POST /api/devices/:id/credentials': { role: 'admin', audit: 'device.credentials' },

  'GET /api/bridges': { role: 'viewer' },
  'POST /api/bridges': { role: 'admin', audit: 'bridge.register' },
  'DELETE /api/bridges/:id': { role: 'admin', audit: 'bridge.delete' },
  'POST /api/bridges/:id/credentials': { role: 'admin', audit: 'bridge.credentials' },

  'GET /api/profiles': { role: 'viewer' },
  'POST /api/profiles/reload': { role: 'supervisor', audit: 'profiles.reload' },
  'GET /api/rules': { role: 'viewer' },
  'POST /api/rules/reload': { role: 'supervisor', audit: 'rules.reload' },
  'POST /api/rules/test': { role: 'supervisor' },
  'GET /api/sites': { role: 'viewer' },
  'GET /api/sites/:id': { role: 'viewer' },
  'GET /api/sites/:id/plans/:place': { role: 'viewer' },
  'POST /api/sites/reload': { role: 'supervisor', audit: 'sites.reload' },

  'GET /api/energy': { role: 'viewer' },
  'GET /api/reports/service': { role: 'viewer' },

  'GET /api/audit': { role: 'supervisor' },

  'GET /api/operators': { role: 'admin' },
  'POST /api/operators': { role: 'admin', audit: 'operator.create' },
  'PATCH /api/operators/:id': { role: 'admin', audit: 'operator.update' },
  'DELETE /api/operators/:id': { role: 'admin', audit: 'operator.delete' },
  'GET /api/operators/:id/tokens': { role: 'admin' },
  'POST /api/operators/:id/tokens': { role: 'admin', audit: 'operator.token.create' },
  'DELETE /api/operators/:id/tokens/:tokenId': { role: 'admin', audit: 'operator.token.revoke' },
};

/** The access rule of a matched route; undefined when the table does not name it (admin only). */
export function accessOf(method: string, url: string | undefined): RouteAccess | undefined {
  const key = `${method} ${url}`;
  return url !== undefined && Object.hasOwn(ROUTE_ACCESS, key) ? ROUTE_ACCESS[key] : undefined;
}

/** The `METHOD url` keys, other than GET, that `role` may call: what the console shows it (`GET /api/me`). */
export function allowedRoutes(role: Role): string[] {
  return Object.entries(ROUTE_ACCESS)
    .filter(([key, access]) => !key.startsWith('GET ') && access.role !== 'public' && roleAllows(role, access.role))
    .map(([key]) => key)
    .sort();
}
