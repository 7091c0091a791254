import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import type { OperatorRecord, OperatorRegistry } from '../../operators/registry.js';
import { SITE_RE } from '../../topics.js';
import { credentialsSchema, errorResponses } from './schemas.js';

const operatorSchema = {
  type: 'object',
  required: ['id', 'name', 'sites'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    sites: { type: 'array', items: { type: 'string' } },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

export interface OperatorRouteDeps {
  operators: OperatorRegistry;
  /** External broker: creates the operator's account there; creation answers 201 only once the broker confirmed it. */
  createOperatorAccount?(operator: OperatorRecord, password: string): Promise<void>;
}

/** Operator accounts (contract §3, §5): MQTT credentials and an API token, both shown once. */
export function operatorRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  app.post<{ Body: { name: string; sites: string[] } }>(
    '/api/operators',
    {
      config: { adminOnly: true },
      schema: {
        tags: ['operators'],
        summary: 'Create an operator; the MQTT password and the token are shown once',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'sites'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 128 },
            sites: { type: 'array', minItems: 1, maxItems: 100, items: { type: 'string', pattern: SITE_RE.source } },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: { ...operatorSchema.properties, mqtt: credentialsSchema, token: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { operator, password, token } = deps.operators.create(request.body);
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

  app.get(
    '/api/me',
    {
      schema: {
        tags: ['operators'],
        summary: 'Who the token belongs to: the admin, or an operator with their sites',
        response: {
          200: {
            type: 'object',
            required: ['role', 'name'],
            properties: { role: { type: 'string', enum: ['admin', 'operator'] }, ...operatorSchema.properties },
          },
        },
      },
    },
    async (request) => {
      const p = request.principal;
      return p?.role === 'operator' ? { role: 'operator', ...json(p.operator) } : { role: 'admin', name: 'admin' };
    },
  );

  app.get(
    '/api/operators',
    { config: { adminOnly: true }, schema: { tags: ['operators'], response: { 200: { type: 'array', items: operatorSchema } } } },
    async () => deps.operators.list().map(json),
  );
}

function json(o: { id: string; name: string; sites: string[]; createdAt: number }) {
  return { id: o.id, name: o.name, sites: o.sites, createdAt: new Date(o.createdAt).toISOString() };
}
