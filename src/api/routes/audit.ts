import type { FastifyInstance } from 'fastify';
import { DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT, type AuditQuery, type AuditRecord } from '../../audit/trail.js';
import { ValidationError } from '../../errors.js';
import { actor, roleOf, visibleSites } from '../plugins/auth.js';
import { errorResponses } from './schemas.js';

export interface AuditRouteDeps {
  audit: { query(q: AuditQuery): AuditRecord[] };
}

const text = { type: 'string', minLength: 1, maxLength: 200 } as const;

const recordSchema = {
  type: 'object',
  required: ['id', 'at', 'actor', 'source', 'action'],
  properties: {
    id: { type: 'integer' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string', description: "an operator's name, `admin` (the admin token) or `system` (a change in a watched folder)" },
    source: { type: 'string', description: 'the address the request came from, or `file`' },
    action: { type: 'string', description: '`alarm.acknowledge`, `command.send`, `rules.reload`, `login`…' },
    target: { type: 'string', description: 'what the action was about: an id, or a watched folder' },
    site: { type: 'string', description: "the target's site, when known" },
    changes: { type: 'object', additionalProperties: true, description: 'what the request asked for, without any secret' },
  },
} as const;

type Query = { from?: string; to?: string; actor?: string; action?: string; target?: string; limit?: string };

/**
 * `GET /api/audit` (contract §15): the audit trail, newest first. A supervisor reads the records of their sites,
 * the changes to the shared rules, profiles and sites folders, and their own records; an admin reads all.
 */
export function auditRoutes(app: FastifyInstance, deps: AuditRouteDeps): void {
  app.get<{ Querystring: Query }>(
    '/api/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'Who did what, from where, to what, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time', description: 'records at or after this time' },
            to: { type: 'string', format: 'date-time', description: 'records at or before this time' },
            actor: text,
            action: { ...text, description: 'exact, or every action under a prefix ending with `.` (`alarm.`)' },
            target: text,
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: `at most this many (default ${DEFAULT_AUDIT_LIMIT}, at most ${MAX_AUDIT_LIMIT})` },
          },
        },
        response: { 200: { type: 'array', items: recordSchema }, ...errorResponses },
      },
    },
    async (request) => {
      const { from, to, limit, ...filter } = request.query;
      const start = from === undefined ? undefined : Date.parse(from);
      const end = to === undefined ? undefined : Date.parse(to);
      if (start !== undefined && end !== undefined && end < start) throw new ValidationError('to', 'must not be before from');
      const count = limit === undefined ? undefined : Number(limit);
      if (count !== undefined && count > MAX_AUDIT_LIMIT) throw new ValidationError('limit', `must be at most ${MAX_AUDIT_LIMIT}`);
      // An admin (the token, or an operator with the admin role) manages operators and devices everywhere: all of it.
      const sites = roleOf(request) === 'admin' ? undefined : visibleSites(request);
      return deps.audit.query({ ...filter, from: start, to: end, limit: count, sites, self: actor(request) });
    },
  );
}
