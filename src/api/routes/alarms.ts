import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ALARM_STATES, alarmJsonSchema, SEVERITIES, type Alarm, type AlarmState, type Severity } from '../../alarms/model.js';
import type { AlarmService } from '../../alarms/service.js';
import { SITE_RE } from '../../topics.js';
import { actor, assertVisible } from '../plugins/auth.js';
import { limitParam, listFilter } from './list.js';
import { errorResponses, idParams } from './schemas.js';

export interface AlarmRouteDeps {
  alarms: AlarmService;
}

/** The alarm JSON of contract §4 (alarms/model.ts), for the OpenAPI document and the serializer (which drops what is not listed). */
export const alarmSchema = alarmJsonSchema;

/** The body of ack and clear is optional: no body at all is `{}`, checked by the schema like any other. */
const optionalBody = async (request: FastifyRequest) => {
  request.body ??= {};
};

const noteBody = {
  type: 'object',
  additionalProperties: false,
  properties: { note: { type: 'string', minLength: 1, maxLength: 2000 } },
} as const;

/** Alarms (contract §5): list, read, acknowledge, clear; operators only on their sites. */
export function alarmRoutes(app: FastifyInstance, deps: AlarmRouteDeps): void {
  const visible = (request: FastifyRequest, id: string): Alarm => {
    const alarm = deps.alarms.require(id);
    assertVisible(request, alarm.site, 'alarm', id);
    return alarm;
  };

  app.get<{ Querystring: { state?: AlarmState; severity?: Severity; site?: string; type?: string; limit?: string } }>(
    '/api/alarms',
    {
      schema: {
        tags: ['alarms'],
        summary: 'List alarms, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...ALARM_STATES] },
            severity: { type: 'string', enum: [...SEVERITIES] },
            site: { type: 'string', pattern: SITE_RE.source },
            type: { type: 'string', minLength: 1, maxLength: 64 },
            limit: limitParam,
          },
        },
        response: { 200: { type: 'array', items: alarmSchema }, ...errorResponses },
      },
    },
    async (request) => deps.alarms.list(listFilter(request)),
  );

  app.get<{ Params: { id: string } }>(
    '/api/alarms/:id',
    { schema: { tags: ['alarms'], summary: 'One alarm', params: idParams, response: { 200: alarmSchema, ...errorResponses } } },
    async (request) => visible(request, request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/api/alarms/:id/history',
    {
      schema: {
        tags: ['alarms'],
        summary: "What happened to an alarm: raised, acknowledged, escalated, cleared; who, when, with what note",
        params: idParams,
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              required: ['transition', 'at', 'by', 'alarm'],
              properties: {
                transition: { type: 'string' },
                at: { type: 'string', format: 'date-time' },
                by: { type: 'string' },
                note: { type: 'string' },
                alarm: alarmSchema,
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const alarm = visible(request, request.params.id);
      return deps.alarms.transitions(alarm.id).map((t) => ({ ...t, at: new Date(t.at).toISOString() }));
    },
  );

  app.post<{ Params: { id: string }; Body: { note?: string } }>(
    '/api/alarms/:id/ack',
    {
      preValidation: optionalBody,
      schema: {
        tags: ['alarms'],
        summary: 'Acknowledge an active alarm (409 when it is acknowledged or cleared already)',
        params: idParams,
        body: noteBody,
        response: { 200: alarmSchema, ...errorResponses },
      },
    },
    async (request) => {
      const alarm = visible(request, request.params.id);
      return deps.alarms.ack(alarm.id, actor(request), request.body.note);
    },
  );

  app.post<{ Params: { id: string }; Body: { note?: string } }>(
    '/api/alarms/:id/clear',
    {
      preValidation: optionalBody,
      schema: {
        tags: ['alarms'],
        summary: 'Clear an open alarm by hand (409 when it is cleared already)',
        params: idParams,
        body: noteBody,
        response: { 200: alarmSchema, ...errorResponses },
      },
    },
    async (request) => {
      const alarm = visible(request, request.params.id);
      return deps.alarms.clear(alarm.id, actor(request), request.body.note);
    },
  );
}
