import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ALARM_STATES, alarmJsonSchema, SEVERITIES, type Alarm, type AlarmState, type Severity } from '../../alarms/model.js';
import type { AlarmService } from '../../alarms/service.js';
import { SITE_RE } from '../../topics.js';
import { actor, assertVisible } from '../plugins/auth.js';
import { limitParam, listFilter } from './list.js';
import { errorResponses, idParams } from './schemas.js';

export interface AlarmRouteDeps {
  alarms: AlarmService;
  /** The notifications sent about an alarm and their outcomes (contract §16); none when absent. */
  notificationsOf?(alarmId: string): AlarmNotification[];
}

/** One notification about an alarm: to which channel, for which event, and how it went (`at`: its last attempt). */
export interface AlarmNotification {
  channel: string;
  event: string;
  at: string;
  ok: boolean;
  attempts: number;
  error?: string;
}

/** One alarm as `GET /api/alarms/{id}` answers it: the alarm JSON and its notifications. */
const alarmWithNotifications = {
  ...alarmJsonSchema,
  required: [...(alarmJsonSchema.required ?? []), 'notifications'],
  properties: {
    ...alarmJsonSchema.properties,
    notifications: {
      type: 'array',
      description: 'notifications sent about it (webhooks, robots, e-mail), oldest first',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['channel', 'event', 'at', 'ok', 'attempts'],
        properties: {
          channel: { type: 'string' },
          event: { type: 'string', enum: ['raised', 'acknowledged', 'cleared', 'escalated'] },
          at: { type: 'string', format: 'date-time', description: 'its last attempt' },
          ok: { type: 'boolean' },
          attempts: { type: 'integer', minimum: 0 },
          error: { type: 'string' },
        },
      },
    },
  },
};

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

  app.get<{ Querystring: { state?: AlarmState | 'open'; severity?: Severity; site?: string; type?: string; device?: string; from?: string; to?: string; limit?: string } }>(
    '/api/alarms',
    {
      schema: {
        tags: ['alarms'],
        summary: 'List alarms, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: {
              type: 'string',
              enum: [...ALARM_STATES, 'open'],
              description: '`open`: active, acknowledged, or cleared but still awaiting acknowledgement (a critical alarm)',
            },
            severity: { type: 'string', enum: [...SEVERITIES] },
            site: { type: 'string', pattern: SITE_RE.source },
            type: { type: 'string', minLength: 1, maxLength: 64 },
            device: { type: 'string', minLength: 1, maxLength: 128, description: "one device's alarms (the alarm's `source`)" },
            from: { type: 'string', format: 'date-time', description: 'alarms first raised at or after this time' },
            to: { type: 'string', format: 'date-time', description: 'alarms first raised at or before this time' },
            limit: limitParam,
          },
        },
        response: { 200: { type: 'array', items: alarmSchema }, ...errorResponses },
      },
    },
    async (request) => {
      const { from, to, ...filter } = listFilter(request);
      return deps.alarms.list({ ...filter, from: from === undefined ? undefined : Date.parse(from), to: to === undefined ? undefined : Date.parse(to) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/alarms/:id',
    { schema: { tags: ['alarms'], summary: 'One alarm, with its notifications', params: idParams, response: { 200: alarmWithNotifications, ...errorResponses } } },
    async (request) => {
      const alarm = visible(request, request.params.id);
      return { ...alarm, notifications: deps.notificationsOf?.(alarm.id) ?? [] };
    },
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
        summary: 'Acknowledge an active alarm, or a critical one cleared before anyone acknowledged it (which closes it); 409 otherwise',
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
        summary: 'Clear an open alarm by hand, which acknowledges it too (409 when it is closed already)',
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
