import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DeviceRegistry } from '../../devices/registry.js';
import { GatewayError, ValidationError } from '../../errors.js';
import { PRIORITIES, WORK_ORDER_STATUSES, type Priority, type WorkOrder, type WorkOrderStatus } from '../../workorders/model.js';
import type { WorkOrderService } from '../../workorders/service.js';
import { DEVICE_ID_RE, SITE_RE, ZONE_RE } from '../../topics.js';
import { actor, assertVisible, visibleSites } from '../plugins/auth.js';
import { limitParam, listFilter } from './list.js';
import { errorResponses, idParams } from './schemas.js';

export interface WorkOrderRouteDeps {
  workOrders: WorkOrderService;
  registry: DeviceRegistry;
}

const status = { type: 'string', enum: [...WORK_ORDER_STATUSES] } as const;
const assignee = { type: 'string', minLength: 1, maxLength: 128 } as const;
const note = { type: 'string', minLength: 1, maxLength: 2000 } as const;

/** The work order JSON of contract §4. */
export const workOrderSchema = {
  type: 'object',
  required: ['id', 'site', 'title', 'category', 'priority', 'status', 'createdAt', 'dueAt', 'overdue', 'history'],
  properties: {
    id: { type: 'string' },
    site: { type: 'string' },
    title: { type: 'string', description: "in the site's first language" },
    titles: { type: 'object', description: 'the title in every language', additionalProperties: { type: 'string' } },
    category: { type: 'string' },
    priority: { type: 'string', enum: [...PRIORITIES] },
    status,
    description: { type: 'string' },
    alarm: { type: 'string' },
    device: { type: 'string' },
    zone: { type: 'string' },
    zoneName: { type: 'string', description: "the zone's name in the site's first language, when the site file knows it" },
    buildingName: { type: 'string', description: "its building's name in the site's first language, when known" },
    rule: { type: 'string', description: 'the rule that opened it; absent when opened by hand' },
    late: { type: 'boolean', enum: [true], description: 'a schedule rule that was due while the gateway was down: opened at its start, late' },
    due: { type: 'string', format: 'date-time', description: 'with `late`: when the schedule was due (not `dueAt`, when the work is due)' },
    createdAt: { type: 'string', format: 'date-time' },
    dueAt: { type: 'string', format: 'date-time' },
    overdue: { type: 'boolean' },
    assignee: { type: 'string' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'by'],
        properties: { at: { type: 'string', format: 'date-time' }, by: { type: 'string' }, status, assignee: { type: 'string' }, note: { type: 'string' } },
      },
    },
  },
} as const;

interface CreateBody {
  site: string;
  title: string;
  category: string;
  priority?: Priority;
  description?: string;
  device?: string;
  zone?: string;
  alarm?: string;
  assignee?: string;
  note?: string;
}

const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['site', 'title', 'category'],
  properties: {
    site: { type: 'string', pattern: SITE_RE.source },
    title: { type: 'string', minLength: 1, maxLength: 200 },
    category: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$' },
    priority: { type: 'string', enum: [...PRIORITIES], default: 'normal' },
    description: { type: 'string', minLength: 1, maxLength: 4000 },
    device: { type: 'string', pattern: DEVICE_ID_RE.source },
    zone: { type: 'string', pattern: ZONE_RE.source },
    alarm: { type: 'string', minLength: 1, maxLength: 64 },
    assignee,
    note,
  },
} as const;

/** Work orders (contract §5): list, read, create, change status or assignee; operators only on their sites. */
export function workOrderRoutes(app: FastifyInstance, deps: WorkOrderRouteDeps): void {
  const visible = (request: FastifyRequest, id: string): WorkOrder => {
    const wo = deps.workOrders.require(id);
    assertVisible(request, wo.site, 'work order', id);
    return wo;
  };

  app.get<{ Querystring: { status?: WorkOrderStatus; site?: string; alarm?: string; limit?: string } }>(
    '/api/workorders',
    {
      schema: {
        tags: ['workorders'],
        summary: 'List work orders, newest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status, site: { type: 'string', pattern: SITE_RE.source }, alarm: { type: 'string', minLength: 1 }, limit: limitParam },
        },
        response: { 200: { type: 'array', items: workOrderSchema }, ...errorResponses },
      },
    },
    async (request) => deps.workOrders.list(listFilter(request)),
  );

  app.get<{ Params: { id: string } }>(
    '/api/workorders/:id',
    { schema: { tags: ['workorders'], summary: 'One work order, with its history', params: idParams, response: { 200: workOrderSchema, ...errorResponses } } },
    async (request) => visible(request, request.params.id),
  );

  app.post<{ Body: CreateBody }>(
    '/api/workorders',
    {
      schema: {
        tags: ['workorders'],
        summary: "Open a work order (e.g. a resident's repair request); assigned at once when an assignee is given",
        body: createBody,
        response: { 201: workOrderSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { priority = 'normal', ...body } = request.body;
      const sites = visibleSites(request);
      if (sites && !sites.includes(body.site)) throw new GatewayError('forbidden', `no access to site ${body.site}`);
      if (body.device !== undefined && deps.registry.get(body.device)?.site !== body.site) {
        throw new ValidationError('device', `${JSON.stringify(body.device)} is not a registered device of site ${body.site}`);
      }
      const wo = deps.workOrders.create({ ...body, priority, by: actor(request) });
      return reply.status(201).send(wo);
    },
  );

  app.patch<{ Params: { id: string }; Body: { status?: WorkOrderStatus; assignee?: string; note?: string } }>(
    '/api/workorders/:id',
    {
      schema: {
        tags: ['workorders'],
        summary: 'Change status and/or assignee, with a note; an illegal transition is 409',
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { status, assignee, note } },
        response: { 200: workOrderSchema, ...errorResponses },
      },
    },
    async (request) => {
      const wo = visible(request, request.params.id);
      return deps.workOrders.update(wo.id, request.body, actor(request));
    },
  );
}
