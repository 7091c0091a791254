import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { IncidentSchema, SilenceSchema, type Alarm, type Incident, type Silence } from '../../alarms/model.js';
import { SilenceCreateSchema, type SilenceCreate } from '../../alarms/silences.js';
import type { DeviceRegistry } from '../../devices/registry.js';
import { LIFE_SAFETY_EVENTS } from '../../devices/kinds/index.js';
import { GatewayError, NotFoundError } from '../../errors.js';
import { LIFE_SAFETY_ALARMS } from '../../reports/life-safety-figures.js';
import { SITE_RE } from '../../topics.js';
import { actor, assertVisible, roleOf, visibleSites } from '../plugins/auth.js';
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
  /** The kinds of the devices a guard's silence names (life-safety ones are not a guard's to silence). */
  registry: DeviceRegistry;
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
      if (roleOf(request) === 'guard') {
        const why = guardMayNotSilence(request.body, (id) => deps.registry.get(id)?.kind);
        if (why) throw new GatewayError('forbidden', `a guard may silence non-life-safety alarms for up to 1 h (${why}); this needs the supervisor role`);
      }
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

/** The longest silence a guard may set (contract §15: non-life-safety alarms, for a short time). */
export const GUARD_SILENCE_MAX_MS = 3600_000;

const LIFE_SAFETY_KINDS: ReadonlySet<string> = new Set(LIFE_SAFETY_EVENTS.map((e) => e.kind));
const LIFE_SAFETY_TYPES: ReadonlySet<string> = new Set([...LIFE_SAFETY_EVENTS.map((e) => e.type), ...LIFE_SAFETY_ALARMS.map((a) => a.type)]);

/**
 * Why a guard may not create this silence, or undefined when it may: it must last at most an hour, and name no
 * fire test, no life-safety kind (fire, sos, lift), no life-safety alarm type and no device of such a kind.
 * Life-safety alarms are never silenced anyway; this keeps a guard off the devices that raise them.
 */
export function guardMayNotSilence(req: SilenceCreate, kindOf: (device: string) => string | undefined, now = Date.now()): string | undefined {
  if (req.fireTest) return 'fireTest is set';
  const { kind, type, devices } = req.match;
  if (kind !== undefined && LIFE_SAFETY_KINDS.has(kind)) return `kind ${kind} raises life-safety alarms`;
  if (type !== undefined && LIFE_SAFETY_TYPES.has(type)) return `type ${type} is a life-safety alarm`;
  const device = devices?.find((d) => LIFE_SAFETY_KINDS.has(kindOf(d) ?? ''));
  if (device !== undefined) return `device ${device} is of kind ${kindOf(device)}`;
  const from = req.from ? Date.parse(req.from) : now;
  if (Date.parse(req.to) - Math.max(from, now) > GUARD_SILENCE_MAX_MS) return 'this one is longer';
  return undefined;
}
