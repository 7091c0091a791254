import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDuration } from '../../config/duration.js';
import { ValidationError } from '../../errors.js';
import type { OperatorRecord, OperatorRegistry, TokenRecord } from '../../operators/registry.js';
import { bodyMayBeAbsent } from './devices.js';
import { errorResponses } from './schemas.js';

const tokenSchema = {
  type: 'object',
  required: ['id', 'createdAt', 'expiresAt', 'revokedAt', 'lastUsedAt'],
  properties: {
    id: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: ['string', 'null'], format: 'date-time', description: 'null: it does not expire' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
    lastUsedAt: { type: ['string', 'null'], format: 'date-time', description: 'to the minute; null: never used' },
  },
} as const;

const operatorParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;

/** The longest lifetime a token may be given (a token that should never expire is given none). */
const MAX_EXPIRES_IN_MS = 3650 * 86_400_000;

export interface OperatorTokenDeps {
  operators: OperatorRegistry;
  /** The operator, when the caller may manage it; a 404 otherwise. */
  manageable(request: FastifyRequest, id: string): OperatorRecord;
}

/** An operator's API tokens (contract §15): listed without secrets, issued (shown once) with an expiry, revoked. */
export function operatorTokenRoutes(app: FastifyInstance, deps: OperatorTokenDeps): void {
  app.get<{ Params: { id: string } }>(
    '/api/operators/:id/tokens',
    {
      schema: {
        tags: ['operators'],
        summary: "An operator's API tokens, without their secrets",
        params: operatorParams,
        response: { 200: { type: 'array', items: tokenSchema }, ...errorResponses },
      },
    },
    async (request) => deps.operators.tokensOf(deps.manageable(request, request.params.id).id).map(tokenJson),
  );

  app.post<{ Params: { id: string }; Body: { expiresIn?: string } | undefined }>(
    '/api/operators/:id/tokens',
    {
      preValidation: bodyMayBeAbsent,
      schema: {
        tags: ['operators'],
        summary: 'Issue a new token for an operator; the token is shown once',
        params: operatorParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { expiresIn: { type: 'string', maxLength: 16, description: 'e.g. "12h", "30d"; absent: it does not expire' } },
        },
        response: {
          201: {
            type: 'object',
            required: ['id', 'token', 'expiresAt'],
            properties: { id: { type: 'string' }, token: { type: 'string' }, expiresAt: tokenSchema.properties.expiresAt },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const operator = deps.manageable(request, request.params.id);
      const expiresIn = request.body?.expiresIn;
      let ms: number | undefined;
      if (expiresIn !== undefined) {
        ms = parseDuration(expiresIn);
        if (ms === undefined || ms <= 0) throw new ValidationError('expiresIn', 'must be a duration such as 12h or 30d');
        if (ms > MAX_EXPIRES_IN_MS) throw new ValidationError('expiresIn', 'must be at most 3650d');
      }
      const { token, secret } = deps.operators.issueToken(operator.id, ms);
      return reply.status(201).send({ id: token.id, token: secret, expiresAt: iso(token.expiresAt) });
    },
  );

  app.delete<{ Params: { id: string; tokenId: string } }>(
    '/api/operators/:id/tokens/:tokenId',
    {
      schema: {
        tags: ['operators'],
        summary: "Revoke one of an operator's tokens: it is refused with 401 from now on",
        params: { type: 'object', required: ['id', 'tokenId'], properties: { id: { type: 'string' }, tokenId: { type: 'string' } } },
        response: { 200: tokenSchema, ...errorResponses },
      },
    },
    async (request) => tokenJson(deps.operators.revokeToken(deps.manageable(request, request.params.id).id, request.params.tokenId)),
  );
}

function tokenJson(t: TokenRecord) {
  return { id: t.id, createdAt: new Date(t.createdAt).toISOString(), expiresAt: iso(t.expiresAt), revokedAt: iso(t.revokedAt), lastUsedAt: iso(t.lastUsedAt) };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
