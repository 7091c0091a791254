import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CommandResult } from '../../commands/commands.js';
import { eventHistory, telemetryHistory } from '../../devices/history.js';
import { KIND_NAMES, type KindName } from '../../devices/kinds/index.js';
import { deviceJson, type DeviceRecord, type DeviceRegistry, type Position } from '../../devices/registry.js';
import { checkSource, type SourceCatalog, type SourceInput } from '../../devices/source-check.js';
import { parseDuration } from '../../config/duration.js';
import { ConflictError, GatewayError, ValidationError } from '../../errors.js';
import { newSecret } from '../../secrets.js';
import type { InfluxQuery } from '../../storage/influx/query.js';
import { DEVICE_ID_RE, SITE_RE, ZONE_RE } from '../../topics.js';
import type { PlaceNames } from '../../shared/language.js';
import { assertHoldsSites, assertVisible, visibleSites } from '../plugins/auth.js';
import type { Readiness } from './system.js';
import { deviceSchema, deviceSourceProperties, errorResponses, idParams } from './schemas.js';

export interface DeviceRouteDeps {
  registry: DeviceRegistry;
  history: InfluxQuery;
  sendCommand(device: DeviceRecord, action: string, params?: Record<string, unknown>): Promise<CommandResult>;
  /** Cuts a deleted device off: closes its connections, or removes its account on an external broker. */
  disconnect(id: string): void | Promise<void>;
  /** External broker: creates the device's account there; registration answers 201 only once the broker confirmed it. */
  createDeviceAccount?(device: DeviceRecord, password: string): Promise<void>;
  /** The profiles and bridges a registration may name. */
  sources: SourceCatalog;
  /** Why devices that publish their vendor's JSON cannot be registered here (an external broker), or undefined. */
  mqttProfilesUnavailable?: string;
  /** A polled device's last poll: when it last succeeded, and the last error naming field, table and address. */
  pollOf(id: string): Record<string, unknown> | undefined;
  /** What the spool holds, told in a history's 503 while InfluxDB is away. */
  readiness(): Readiness;
  /** What the site files say of a device's zone (contract §12); without it, nothing is said. */
  places?: DevicePlaces;
  /** Whether a fire released the door and it reports itself unlocked since the fire ended (devices/fire-release.ts). */
  unlockedAfterFire?(id: string): boolean;
}

/** The site model as the device routes read it. */
export interface DevicePlaces {
  /** The floor or zone `zone` of `site`'s file: its names in the site's first language and its plan's size. */
  placeOf(site: string, zone: string): { names: PlaceNames; plan?: { width: number; height: number } } | undefined;
  /** Whether the site's file knows `zone`; undefined when the site has no file. */
  knowsZone(site: string, zone: string): boolean | undefined;
}

/** Where the device is on its floor's or zone's plan (contract §12), in the plan's units from its top left. */
const positionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['x', 'y'],
  properties: { x: { type: 'number', minimum: 0 }, y: { type: 'number', minimum: 0 } },
} as const;

const registerBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'kind', 'site', 'zone'],
  properties: {
    id: { type: 'string', pattern: DEVICE_ID_RE.source },
    kind: { type: 'string', enum: [...KIND_NAMES] },
    site: { type: 'string', pattern: SITE_RE.source },
    zone: { type: 'string', pattern: ZONE_RE.source },
    name: { type: 'string', minLength: 1, maxLength: 128 },
    tags: { type: 'object', additionalProperties: { type: 'string', maxLength: 128 }, maxProperties: 32 },
    parent: { type: 'string', pattern: DEVICE_ID_RE.source },
    position: positionSchema,
    ...deviceSourceProperties,
  },
} as const;

/** The device registry, its telemetry history and its commands (contract §5). */
export function deviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  /** The device, when the caller may see its site; otherwise as if it did not exist. */
  const visible = (request: FastifyRequest, id: string): DeviceRecord => {
    const device = deps.registry.require(id);
    assertVisible(request, device.site, 'device', id);
    return device;
  };

  /** A device's JSON with what its site's file says of its zone: names, and `zoneKnown` when there is a file. */
  // Issue 17: `unlockedAfterFire` only on a door a fire released and nobody has locked again.
  const placed = (d: DeviceRecord) => ({ ...withPlace(deviceJson(d), d, deps.places), ...(deps.unlockedAfterFire?.(d.id) && { unlockedAfterFire: true }) });

  app.post<{ Body: { id: string; kind: KindName; site: string; zone: string; name?: string; tags?: Record<string, string>; parent?: string; position?: Position } & SourceInput }>(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Register a device; its MQTT password is shown once',
        body: registerBody,
        response: { 201: deviceSchema(true), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, kind, site, zone, name, tags, parent, position } = request.body;
      assertHoldsSites(request, [site], 'site');
      if (position) checkPosition(position, deps.places?.placeOf(site, zone)?.plan, zone);
      const source = checkSource(request.body, deps.sources);
      if (source && !source.modbus && deps.mqttProfilesUnavailable) throw new ValidationError('profile', deps.mqttProfilesUnavailable);
      if (deps.sources.bridge(id)) throw new ConflictError(`${JSON.stringify(id)} is already a bridge's username`);
      const { device, password } = deps.registry.register({ id, kind, site, zone, name, tags, source, parent, position });
      if (deps.createDeviceAccount) await accountOrUndo(deps, device, password);
      // A polled device never connects: it has no MQTT credentials to show.
      if (device.source?.modbus) return reply.status(201).send(placed(device));
      return reply.status(201).send({ ...placed(device), mqtt: { username: device.id, password } });
    },
  );

  app.get<{ Querystring: { site?: string; kind?: string; zone?: string } }>(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'List devices, with online state and last seen',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { site: { type: 'string' }, kind: { type: 'string', enum: [...KIND_NAMES] }, zone: { type: 'string' } },
        },
        response: { 200: { type: 'array', items: deviceSchema(false) }, ...errorResponses },
      },
    },
    async (request) => deps.registry.list({ ...request.query, sites: visibleSites(request) }).map(placed),
  );

  app.get<{ Params: { id: string } }>(
    '/api/devices/:id',
    { schema: { tags: ['devices'], params: idParams, response: { 200: deviceSchema(false), ...errorResponses } } },
    async (request) => {
      const device = visible(request, request.params.id);
      const poll = deps.pollOf(device.id);
      return poll ? { ...placed(device), poll } : placed(device);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/devices/:id',
    { schema: { tags: ['devices'], summary: 'Delete a device and close its connection', params: idParams } },
    async (request, reply) => {
      const device = deps.registry.delete(visible(request, request.params.id).id);
      await deps.disconnect(device.id);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { overlap?: string } | undefined }>(
    '/api/devices/:id/credentials',
    {
      preValidation: bodyMayBeAbsent,
      schema: {
        tags: ['devices'],
        summary: 'Issue new MQTT credentials (shown once); the old password keeps working for the overlap (default 0), then never again',
        description:
          "With no overlap the device's connections close at once. With one, they close when it ends (those holding the new password " +
          "reconnect). Also recreates the device's account on an external broker, e.g. one the gateway found missing at start " +
          '(docs/scale-out.md); an external broker keeps one password per account, so an overlap is refused there.',
        params: idParams,
        body: overlapBody,
        response: { 200: deviceSchema(true), ...errorResponses },
      },
    },
    async (request) => {
      const device = visible(request, request.params.id);
      const overlapMs = overlapOf(request.body?.overlap, deps.createDeviceAccount !== undefined);
      if (overlapMs > 0 && device.source?.modbus) throw new ValidationError('overlap', `${device.id} is polled over Modbus: it has no MQTT password to overlap`);
      const password = newSecret();
      // External broker: the account is replaced (Mosquitto disconnects the old session) before the registry
      // takes the new secret, so a refusal leaves the old credentials working.
      if (deps.createDeviceAccount) await deps.createDeviceAccount(device, password);
      // contract §15: with an overlap the old password works until it ends, and its connections close then.
      deps.registry.setPassword(device.id, password, overlapMs);
      // Embedded broker, no overlap: connections made with the old password are closed now.
      if (overlapMs === 0 && !deps.createDeviceAccount) await deps.disconnect(device.id);
      return { ...deviceJson(device), mqtt: { username: device.id, password } };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { field?: string; from?: string; to?: string; limit?: number } }>(
    '/api/devices/:id/telemetry',
    {
      schema: {
        tags: ['devices'],
        summary: 'Telemetry history from InfluxDB (default: the last 24 h, all fields)',
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            field: { type: 'string' },
            from: { type: 'string', description: 'epoch ms or ISO-8601' },
            to: { type: 'string', description: 'epoch ms or ISO-8601' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,5}$', description: 'at most 999999 rows' },
          },
        },
        response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } }, ...errorResponses },
      },
    },
    async (request) => {
      const device = visible(request, request.params.id);
      const { field, from, to, limit } = request.query;
      const spool = () => deps.readiness().spool;
      return telemetryHistory(deps.history, device, { field, from, to, limit: limit === undefined ? undefined : Number(limit) }, spool);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { from?: string; to?: string; limit?: number } }>(
    '/api/devices/:id/events',
    {
      schema: {
        tags: ['devices'],
        summary: "The device's events from InfluxDB, newest first (default: the last 24 h, at most 100)",
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', description: 'epoch ms or ISO-8601' },
            to: { type: 'string', description: 'epoch ms or ISO-8601' },
            limit: { type: 'string', pattern: '^[1-9][0-9]{0,3}$', description: 'at most 9999 events' },
          },
        },
        response: { 200: { type: 'array', items: { type: 'object', additionalProperties: true } }, ...errorResponses },
      },
    },
    async (request) => {
      const device = visible(request, request.params.id);
      const { from, to, limit } = request.query;
      return eventHistory(deps.history, device, { from, to, limit: limit === undefined ? undefined : Number(limit) }, () => deps.readiness().spool);
    },
  );

  app.post<{ Params: { id: string }; Body: { action: string; params?: Record<string, unknown> } }>(
    '/api/devices/:id/commands',
    {
      schema: {
        tags: ['devices'],
        summary: "Send a command; answers with the device's cmd/result, or 504",
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['action'],
          properties: {
            action: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            params: { type: 'object', additionalProperties: true },
          },
        },
        response: errorResponses,
      },
    },
    async (request) => deps.sendCommand(visible(request, request.params.id), request.body.action, request.body.params),
  );
}

/** A POST whose body is optional: none at all reads as `{}` (fastify would refuse it as not an object). */
export async function bodyMayBeAbsent(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}

/** The body of a credential rotation: how long the old password keeps working. */
export const overlapBody = {
  type: 'object',
  additionalProperties: false,
  properties: { overlap: { type: 'string', maxLength: 16, description: 'how long the old password keeps working, e.g. "10m", "1d" (default 0, at most 30d)' } },
} as const;

/** The longest overlap: a forgotten rotation must not leave two passwords working for ever. */
const MAX_OVERLAP_MS = 30 * 86_400_000;

/** The overlap asked for, in ms (0 when absent); an external broker keeps one password per account, so none there. */
export function overlapOf(text: string | undefined, externalBroker: boolean): number {
  if (text === undefined) return 0;
  const ms = parseDuration(text);
  if (ms === undefined) throw new ValidationError('overlap', 'must be a duration such as 30s, 10m, 2h or 1d');
  if (ms > MAX_OVERLAP_MS) throw new ValidationError('overlap', 'must be at most 30d');
  if (ms > 0 && externalBroker) throw new ValidationError('overlap', 'the external broker keeps one password per account: rotate without an overlap');
  return ms;
}

/** Without its broker account the device could never connect, so it is not registered either. */
async function accountOrUndo(deps: DeviceRouteDeps, device: DeviceRecord, password: string): Promise<void> {
  try {
    await deps.createDeviceAccount!(device, password);
  } catch (err) {
    deps.registry.delete(device.id);
    if (err instanceof GatewayError && err.code === 'broker_unavailable') {
      throw new GatewayError('broker_unavailable', `device ${device.id} was not registered: ${err.message}; try again`, { cause: err });
    }
    throw err;
  }
}

/** A position must lie on its zone's plan, when the site's file gives the zone one. */
function checkPosition(position: Position, plan: { width: number; height: number } | undefined, zone: string): void {
  if (!plan) return;
  if (position.x > plan.width) throw new ValidationError('position.x', `must be at most ${plan.width}, the width of the plan of ${zone}`);
  if (position.y > plan.height) throw new ValidationError('position.y', `must be at most ${plan.height}, the height of the plan of ${zone}`);
}

/** `zoneKnown` is said only for a site with a file (false: the file lacks the zone); the names only when known. */
function withPlace<T extends object>(json: T, d: DeviceRecord, places: DevicePlaces | undefined): T & { zoneKnown?: boolean } & PlaceNames {
  const known = places?.knowsZone(d.site, d.zone);
  if (known === undefined) return json;
  return { ...json, zoneKnown: known, ...(known ? places!.placeOf(d.site, d.zone)?.names : {}) };
}
