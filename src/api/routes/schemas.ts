import { KIND_NAMES } from '../../devices/kinds/index.js';

/** `{ error, message }`, the one shape of every error answer (contract §5). */
export const errorSchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string' }, message: { type: 'string' } },
} as const;

export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  503: errorSchema,
  504: errorSchema,
} as const;

/** A device as the API shows it; `withCredentials` adds the one-time MQTT credentials. */
export function deviceSchema(withCredentials: boolean) {
  return {
    type: 'object',
    required: ['id', 'kind', 'site', 'zone', 'online', 'lastSeen'],
    properties: {
      id: { type: 'string' },
      kind: { type: 'string', enum: [...KIND_NAMES] },
      site: { type: 'string' },
      zone: { type: 'string' },
      name: { type: 'string' },
      tags: { type: 'object', additionalProperties: { type: 'string' } },
      online: { type: 'boolean' },
      lastSeen: { type: ['string', 'null'], format: 'date-time' },
      createdAt: { type: 'string', format: 'date-time' },
      ...(withCredentials ? { mqtt: credentialsSchema } : {}),
    },
  } as const;
}

/** `/:id` of a resource. */
export const idParams = {
  type: 'object',
  properties: { id: { type: 'string' } },
  required: ['id'],
} as const;

export const credentialsSchema = {
  type: 'object',
  required: ['username', 'password'],
  properties: { username: { type: 'string' }, password: { type: 'string' } },
} as const;
