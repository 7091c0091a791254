import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { IncidentSchema, SilenceSchema, type Alarm, type Incident, type Silence } from '../../alarms/model.js';
import { SilenceCreateSchema, type SilenceCreate } from '../../alarms/silences.js';
import { GatewayError, NotFoundError } from '../../errors.js';
import { SITE_RE } from '../../topics.js';
import { actor, assertVisible, visibleSites } from '../plugins/auth.js';
import { alarmSchema } from './alarms.js';
import { errorResponses, idParams } from './schemas.js';
import { limitParam } from './list.js';

export interface IncidentRouteDeps {
  incidents: {
    list(filter: { state?: 'open' | 'closed'; site?: string; sites?: readonly string[]; limit?: number }): Incident[];
    get(id: string): Incident | undefined;
    alarmsOf(id: string): Alarm[];
  };
  silences: {
    create(req: SilenceCreate, by: string): Silence;
    end(id: string, by: string): Silence;
    get(id: string): Silence | undefined;
    list(filter: { site?: string; sites?: readonly string[]; state?: Silence['state'] }): Silence[];
  };
}

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'output' });
  return rest;
};
const incidentSchema = jsonSchema(IncidentSchema);
const incidentWithAlarms = {
  ...incidentSchema,
  properties: { ...incidentSchema.properties, alarmList: { type: 'array', items: alarmSchema, description: 'its alarms, oldest first' } },
};
const silenceSchema = jsonSchema(SilenceSchema);
const silenceBody = jsonSchema(SilenceCreateSchema);

/**
 * Incidents and silences (contract §11): what the desk sees of an alarm flood, grouped, and the maintenance and
 * test windows that keep planned work off it. Operators see and silence their own sites only.
 */
export function incidentRoutes(app: FastifyInstance, deps: IncidentRouteDeps): void {
  app.get<{ Querystring: { state?: 'open' | 'closed'; site?: string; limit?: string } }>(
    '/api/incidents',
    {
      schema: {
        tags: ['alarms'],
        summary: 'Incidents (alarms of one zone or one parent raised together), newest first, with their alarms',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { state: { type: 'string', enum: ['open', 'closed'] }, site: { type: 'string', pattern: SITE_RE.source }, limit: limitParam },
        },
        response: { 200: { type: 'array', items: incidentWithAlarms }, ...errorResponses },
      },
    },
    async (request) => {
      const { state, site, limit } = request.query;
      const list = deps.incidents.list({ state, site, sites: visibleSites(request), limit: limit === undefined ? undefined : Number(limit) });
      return list.map((i) => ({ ...i, alarmList: deps.incidents.alarmsOf(i.id) }));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/incidents/:id',
    { schema: { tags: ['alarms'], summary: 'One incident with its alarms', params: idParams, response: { 200: incidentWithAlarms, ...errorResponses } } },
    async (request) => {
      const incident = deps.incidents.get(request.params.id);
      if (!incident) throw new NotFoundError('incident', request.params.id);
      assertVisible(request, incident.site, 'incident', incident.id);
      return { ...incident, alarmList: deps.incidents.alarmsOf(incident.id) };
    },
  );

  app.post<{ Body: SilenceCreate }>(
    '/api/silences',
    {
      schema: {
        tags: ['alarms'],
        summary: 'Silence a zone, devices, a kind or an alarm type of a site for a while (life-safety alarms are never silenced)',
        body: silenceBody,
        response: { 201: silenceSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const sites = visibleSites(request);
      if (sites && !sites.includes(request.body.site)) throw new GatewayError('forbidden', `you may not silence site ${request.body.site}`);
      return reply.status(201).send(deps.silences.create(request.body, actor(request)));
    },
  );

  app.get<{ Querystring: { site?: string; state?: Silence['state'] } }>(
    '/api/silences',
    {
      schema: {
        tags: ['alarms'],
        summary: 'Silences, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { site: { type: 'string', pattern: SITE_RE.source }, state: { type: 'string', enum: ['pending', 'active', 'ended'] } },
        },
        response: { 200: { type: 'array', items: silenceSchema }, ...errorResponses },
      },
    },
    async (request) => deps.silences.list({ ...request.query, sites: visibleSites(request) }),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/silences/:id',
    { schema: { tags: ['alarms'], summary: 'End a silence now', params: idParams, response: { 200: silenceSchema, ...errorResponses } } },
    async (request) => {
      const silence = deps.silences.get(request.params.id);
      if (!silence) throw new NotFoundError('silence', request.params.id);
      assertVisible(request, silence.site, 'silence', silence.id);
      return deps.silences.end(silence.id, actor(request));
    },
  );
}
