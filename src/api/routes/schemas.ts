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
/** A device that does not speak the gateway's JSON: its profile, its bridge and vendor name, its Modbus link. */
export const deviceSourceProperties = {
  profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$', description: 'the profile that maps its data (GET /api/profiles)' },
  bridge: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$', description: 'the bridge that publishes for it' },
  externalId: { type: 'string', minLength: 1, maxLength: 128, description: "the bridge's name for it, when that is not its id" },
  modbus: {
    description: 'where the gateway polls it: host and port (Modbus TCP, or RTU over TCP), or a serial line (RTU)',
    oneOf: [
      {
        type: 'object',
        additionalProperties: false,
        required: ['host', 'unitId'],
        properties: {
          host: { type: 'string', minLength: 1, maxLength: 253 },
          port: { type: 'integer', minimum: 1, maximum: 65535, description: 'default 502' },
          unitId: { type: 'integer', minimum: 0, maximum: 255 },
          rtuOverTcp: { type: 'boolean' },
        },
      },
      {
        type: 'object',
        additionalProperties: false,
        required: ['serial', 'unitId'],
        properties: {
          serial: { type: 'string', minLength: 1, maxLength: 256 },
          baudRate: { type: 'integer', enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200], description: 'default 9600' },
          parity: { type: 'string', enum: ['none', 'even', 'odd'], description: 'default none' },
          unitId: { type: 'integer', minimum: 1, maximum: 247 },
        },
      },
    ],
  },
} as const;

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
      profile: { type: 'string' },
      bridge: { type: 'string' },
      externalId: { type: 'string' },
      parent: { type: 'string', description: 'the device it depends on (topology suppression)' },
      position: {
        type: 'object',
        description: "where it is on its floor's or zone's plan, in the plan's units (GET /api/sites/{site})",
        properties: { x: { type: 'number' }, y: { type: 'number' } },
      },
      zoneKnown: { type: 'boolean', description: "false: its site's file lacks its zone; absent: the site has no file" },
      zoneName: { type: 'string', description: "its floor's or zone's name in the site's first language" },
      buildingName: { type: 'string' },
      unlockedAfterFire: {
        type: 'boolean',
        description: 'true on a door a fire released whose fire alarms are no longer active and whose last report says unlocked, until it reports locked; absent otherwise',
      },
      modbus: { type: 'object', additionalProperties: true },
      poll: {
        type: 'object',
        description: 'a polled device: its counters, when its last poll succeeded, and its last error',
        additionalProperties: true,
      },
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
