import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError, NotFoundError } from '../../errors.js';
import type { OperatorChange, OperatorRecord, OperatorRegistry } from '../../operators/registry.js';
import { SITE_RE } from '../../topics.js';
import { allowedRoutes, ROLES, type Role } from '../access.js';
import { assertHoldsSites, roleOf, visibleSites } from '../plugins/auth.js';
import { operatorTokenRoutes } from './operator-tokens.js';
import { credentialsSchema, errorResponses, idParams } from './schemas.js';

const operatorSchema = {
  type: 'object',
  required: ['id', 'name', 'sites', 'role', 'disabled'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    sites: { type: 'array', items: { type: 'string' } },
    role: { type: 'string', enum: [...ROLES] },
    disabled: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const nameSchema = { type: 'string', minLength: 1, maxLength: 128 } as const;
const sitesSchema = { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', pattern: SITE_RE.source } } as const;
const roleSchema = { type: 'string', enum: [...ROLES], description: 'viewer, guard, maintenance, supervisor or admin (default viewer)' } as const;

export interface OperatorRouteDeps {
  operators: OperatorRegistry;
  /** External broker: creates the operator's account there; creation answers 201 only once the broker confirmed it. */
  createOperatorAccount?(operator: OperatorRecord, password: string): Promise<void>;
  /**
   * An operator was disabled, re-enabled, given other sites, or deleted: its MQTT connections are closed (embedded
   * broker; it logs in again with its new sites, or is refused), or its broker account follows (external).
   */
  operatorAccessChanged?(operator: OperatorRecord, change: 'changed' | 'deleted'): void | Promise<void>;
}

/**
 * Operator accounts (contract §3, §5, §15): MQTT credentials and API tokens, both shown once, and a role. An
 * operator with the admin role manages only operators whose sites it holds, and grants only those sites.
 */
export function operatorRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  /** The operator, when the caller may manage it (holds all its sites); otherwise as if it did not exist. */
  const manageable = (request: FastifyRequest, id: string): OperatorRecord => {
    const operator = deps.operators.get(id);
    const held = visibleSites(request);
    if (!operator || (held && !operator.sites.every((s) => held.includes(s)))) throw new NotFoundError('operator', id);
    return operator;
  };

  app.post<{ Body: { name: string; sites: string[]; role?: Role } }>(
    '/api/operators',
    {
      schema: {
        tags: ['operators'],
        summary: 'Create an operator (role viewer unless given); the MQTT password and the first token are shown once',
        body: { type: 'object', additionalProperties: false, required: ['name', 'sites'], properties: { name: nameSchema, sites: sitesSchema, role: roleSchema } },
        response: {
          201: { type: 'object', properties: { ...operatorSchema.properties, mqtt: credentialsSchema, token: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      assertHoldsSites(request, request.body.sites, 'sites');
      const { operator, password, token } = deps.operators.create({ ...request.body, role: request.body.role ?? 'viewer' });
      if (deps.createOperatorAccount) {
        try {
          await deps.createOperatorAccount(operator, password);
        } catch (err) {
          // Without its broker account the operator could not subscribe: it is not created either.
          deps.operators.remove(operator.id);
          if (!(err instanceof GatewayError && err.code === 'broker_unavailable')) throw err;
          throw new GatewayError('broker_unavailable', `the operator was not created: ${err.message}; try again`, { cause: err });
        }
      }
      return reply.status(201).send({ ...json(operator), mqtt: { username: operator.id, password }, token });
    },
  );

  app.patch<{ Params: { id: string }; Body: OperatorChange }>(
    '/api/operators/:id',
    {
      schema: {
        tags: ['operators'],
        summary: "Change an operator's role, sites, name, or disable it (its tokens are refused and its MQTT connections closed)",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { name: nameSchema, sites: sitesSchema, role: roleSchema, disabled: { type: 'boolean' } },
        },
        response: { 200: operatorSchema, ...errorResponses },
      },
    },
    async (request) => {
      const before = manageable(request, request.params.id);
      if (request.body.sites) assertHoldsSites(request, request.body.sites, 'sites');
      const after = deps.operators.update(before.id, request.body);
      const mqttChanged = after.disabled !== before.disabled || after.sites.join('\n') !== before.sites.join('\n');
      if (mqttChanged) await deps.operatorAccessChanged?.(after, 'changed');
      return json(after);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/operators/:id',
    {
      schema: {
        tags: ['operators'],
        summary: 'Delete an operator: its tokens and MQTT login stop working and its MQTT connections close',
        params: idParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const operator = manageable(request, request.params.id);
      deps.operators.remove(operator.id);
      await deps.operatorAccessChanged?.(operator, 'deleted');
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/operators',
    {
      schema: {
        tags: ['operators'],
        summary: 'The operators (for an operator with the admin role: those whose sites it holds)',
        response: { 200: { type: 'array', items: operatorSchema }, ...errorResponses },
      },
    },
    async (request) => {
      const held = visibleSites(request);
      return deps.operators
        .list()
        .filter((o) => !held || o.sites.every((s) => held.includes(s)))
        .map(json);
    },
  );

  app.get(
    '/api/me',
    {
      schema: {
        tags: ['operators'],
        summary: "Who the token belongs to, its role and sites, and the changes (non-GET routes) the role may make",
        response: {
          200: {
            type: 'object',
            required: ['name', 'role', 'allowed'],
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              role: { type: 'string', enum: [...ROLES] },
              sites: { type: 'array', items: { type: 'string' } },
              allowed: { type: 'array', items: { type: 'string' }, description: '`METHOD url` of every non-GET route the role may call' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const p = request.principal;
      const role = roleOf(request);
      const allowed = allowedRoutes(role);
      return p?.kind === 'operator' ? { id: p.operator.id, name: p.operator.name, role, sites: p.operator.sites, allowed } : { name: 'admin', role, allowed };
    },
  );

  operatorTokenRoutes(app, { operators: deps.operators, manageable });
}

/** An operator as the API shows it: never a secret. */
export function json(o: OperatorRecord) {
  return { id: o.id, name: o.name, sites: o.sites, role: o.role, disabled: o.disabled, createdAt: new Date(o.createdAt).toISOString() };
}
