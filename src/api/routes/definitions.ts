import type { FastifyInstance } from 'fastify';
import type { Definitions } from '../../definitions.js';
import { errorResponses } from './schemas.js';

export interface DefinitionRouteDeps {
  /** The definitions document as it stands (contract §14), the same as the retained definitions message. */
  definitions(): Definitions;
}

const stringList = { type: 'array', items: { type: 'string' } } as const;

const fieldProperties = {
  type: { type: 'string', enum: ['number', 'boolean', 'string'] },
  unit: { type: 'string', description: "from the field name's suffix (`temperatureC` → `°C`), or declared" },
  min: { type: 'number', description: 'inclusive' },
  max: { type: 'number', description: 'inclusive' },
  integer: { type: 'boolean', description: 'numbers only: a fraction is refused' },
  values: { ...stringList, description: 'an enumerated text field: its values' },
} as const;

const fieldSchema = { type: 'object', required: ['type'], properties: fieldProperties } as const;

const detailSchema = {
  type: 'object',
  required: ['type', 'required'],
  properties: { ...fieldProperties, required: { type: 'boolean' } },
} as const;

const kindSchema = {
  type: 'object',
  required: ['telemetry', 'events'],
  properties: {
    telemetry: { type: 'object', description: 'field name → field; every field optional, at least one per message', additionalProperties: fieldSchema },
    events: {
      type: 'object',
      description: 'event type → its details (besides `type` and `ts`)',
      additionalProperties: { type: 'object', required: ['details'], properties: { details: { type: 'object', additionalProperties: detailSchema } } },
    },
  },
} as const;

const severityList = { type: 'array', items: { type: 'string' }, description: 'most severe first' } as const;

const alarmTypeSchema = {
  type: 'object',
  required: ['type', 'severity', 'rule'],
  properties: {
    type: { type: 'string' },
    severity: { type: 'string' },
    rule: { type: 'string', description: 'the rule that raises it (the alarm JSON `rule`)' },
    message: { type: 'string', description: 'the template in the default language (zh-CN); absent: `<type> at <source>`' },
    messages: { type: 'object', description: 'the template in every language', additionalProperties: { type: 'string' } },
    instructions: { type: 'object', description: 'what the desk must do, in every language', additionalProperties: { type: 'string' } },
    description: { type: 'object', description: 'what the rule watches, in every language', additionalProperties: { type: 'string' } },
    escalateTo: { type: 'string' },
    severityByPriority: { type: 'object', additionalProperties: { type: 'string' } },
  },
} as const;

/** The whole document: fastify serialises only what a response schema lists, so every part is listed. */
const definitionsSchema = {
  type: 'object',
  required: ['kinds', 'lifeSafetyEvents', 'alarms', 'workOrders'],
  properties: {
    kinds: { type: 'object', description: 'kind → telemetry fields and event types, in the contract order', additionalProperties: kindSchema },
    lifeSafetyEvents: {
      type: 'array',
      items: { type: 'object', required: ['kind', 'type'], properties: { kind: { type: 'string' }, type: { type: 'string' } } },
    },
    alarms: {
      type: 'object',
      required: ['severities', 'states', 'types'],
      properties: { severities: severityList, states: stringList, types: { type: 'array', items: alarmTypeSchema } },
    },
    workOrders: {
      type: 'object',
      required: ['priorities', 'statuses', 'transitions', 'settled', 'final'],
      properties: {
        priorities: { ...stringList, description: 'most urgent first' },
        statuses: stringList,
        transitions: { type: 'object', description: 'status → the statuses it may move to', additionalProperties: stringList },
        settled: { ...stringList, description: 'the work is done or dropped: no due time, no overdue alarm' },
        final: { ...stringList, description: 'nothing may change any more' },
      },
    },
  },
} as const;

/** `GET /api/definitions` (contract §14): the same document as the retained `sc/{site}/gateway/definitions`. */
export function definitionRoutes(app: FastifyInstance, deps: DefinitionRouteDeps): void {
  app.get(
    '/api/definitions',
    {
      schema: {
        tags: ['definitions'],
        summary: 'Kinds, life-safety events, alarm severities and types, work-order priorities, statuses and transitions',
        description: 'The same document the gateway keeps retained on `sc/{site}/gateway/definitions` for every site with a device.',
        response: { 200: definitionsSchema, ...errorResponses },
      },
    },
    async () => deps.definitions(),
  );
}
