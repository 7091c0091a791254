import type { FastifyInstance } from 'fastify';
import type { BridgeRecord, BridgeRegistry } from '../../devices/bridges.js';
import { ConflictError, ValidationError } from '../../errors.js';
import { ProfilesInvalidError, type ProfileReloadResult } from '../../profiles/loader.js';
import type { Profile } from '../../profiles/profile.js';
import { SITE_RE } from '../../topics.js';
import { newSecret } from '../../secrets.js';
import { assertHoldsSites, assertVisible, visibleSites } from '../plugins/auth.js';
import { bodyMayBeAbsent, overlapBody, overlapOf } from './devices.js';
import { credentialsSchema, errorResponses, idParams } from './schemas.js';

export interface ProfileRouteDeps {
  /** The profiles in force, as their files write them. */
  profiles(): unknown[];
  profile(id: string): Profile | undefined;
  reloadProfiles(): Promise<ProfileReloadResult>;
  bridges: BridgeRegistry;
  /** Whether `id` is already a device's or an operator's username (a bridge's must differ). */
  usernameTaken(id: string): boolean;
  /** How many devices are registered behind the bridge. */
  devicesBehind(bridge: string): number;
  /** Whether the bridge is connected now: its own status, not its devices'. */
  bridgeConnected(id: string): boolean;
  /** Closes a deleted bridge's connections. */
  disconnect(id: string): void | Promise<void>;
  /** Why bridges cannot be used here (an external broker keeps its own ACL), or undefined. */
  bridgesUnavailable?: string;
}

const bridgeBody = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'site'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
    site: { type: 'string', pattern: SITE_RE.source },
    profile: { type: 'string', description: 'the profile of the devices it publishes for' },
    profiles: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 32, description: 'several, when it carries devices of several kinds' },
  },
} as const;

const bridgeSchema = (withCredentials: boolean) =>
  ({
    type: 'object',
    required: ['id', 'site', 'profiles', 'createdAt'],
    properties: {
      id: { type: 'string' },
      site: { type: 'string' },
      profiles: { type: 'array', items: { type: 'string' } },
      createdAt: { type: 'string', format: 'date-time' },
      connected: { type: 'boolean', description: "the bridge's own connection; its devices keep their own online state" },
      ...(withCredentials ? { mqtt: credentialsSchema } : {}),
    },
  }) as const;

const bridgeJson = (b: BridgeRecord) => ({ id: b.id, site: b.site, profiles: b.profiles, createdAt: new Date(b.createdAt).toISOString() });

/** `GET /api/profiles`, `POST /api/profiles/reload`, and the bridges: `POST`, `GET`, `DELETE /api/bridges`, their credentials. */
export function profileRoutes(app: FastifyInstance, deps: ProfileRouteDeps): void {
  app.get('/api/profiles', { schema: { tags: ['profiles'], summary: 'The device profiles in force' } }, async () => deps.profiles());

  app.post(
    '/api/profiles/reload',
    {
      schema: { tags: ['profiles'], summary: 'Reload the profiles folder; a bad file → 400 and the profiles in force stay', response: errorResponses },
    },
    async () => {
      const result = await deps.reloadProfiles();
      if (!result.ok) throw new ProfilesInvalidError(result.errors);
      return result;
    },
  );

  app.post<{ Body: { id: string; site: string; profile?: string; profiles?: string[] } }>(
    '/api/bridges',
    {
      schema: {
        tags: ['profiles'],
        summary: 'Create a bridge account: one connection publishing for the devices registered to it; its password is shown once',
        body: bridgeBody,
        response: { 201: bridgeSchema(true), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (deps.bridgesUnavailable) throw new ValidationError('', deps.bridgesUnavailable);
      const { id, site, profile, profiles } = request.body;
      assertHoldsSites(request, [site], 'site');
      if ((profile === undefined) === (profiles === undefined)) throw new ValidationError('profile', 'give either profile or profiles');
      const ids = profiles ?? [profile!];
      ids.forEach((p, i) => {
        const field = profiles ? `profiles.${i}` : 'profile';
        const found = deps.profile(p);
        if (!found) throw new ValidationError(field, `no profile ${JSON.stringify(p)} is loaded (GET /api/profiles)`);
        if (found.source !== 'mqtt') throw new ValidationError(field, `profile ${p} is polled over Modbus: no bridge publishes for it`);
      });
      if (deps.usernameTaken(id)) throw new ConflictError(`${JSON.stringify(id)} is already the username of a device or an operator`);
      const { bridge, password } = deps.bridges.register({ id, site, profiles: ids });
      return reply.status(201).send({ ...bridgeJson(bridge), mqtt: { username: bridge.id, password } });
    },
  );

  app.get(
    '/api/bridges',
    { schema: { tags: ['profiles'], summary: 'The bridges', response: { 200: { type: 'array', items: bridgeSchema(false) }, ...errorResponses } } },
    async (request) => deps.bridges.list({ sites: visibleSites(request) }).map((b) => ({ ...bridgeJson(b), connected: deps.bridgeConnected(b.id) })),
  );

  app.delete<{ Params: { id: string } }>(
    '/api/bridges/:id',
    {
      schema: { tags: ['profiles'], summary: 'Delete a bridge with no devices left behind it: its credentials stop working and its connections close', params: idParams, response: errorResponses },
    },
    async (request, reply) => {
      const bridge = deps.bridges.require(request.params.id);
      assertVisible(request, bridge.site, 'bridge', bridge.id);
      const behind = deps.devicesBehind(bridge.id);
      if (behind > 0) throw new ConflictError(`bridge ${bridge.id} still has ${behind} devices registered behind it; delete them first`);
      deps.bridges.delete(bridge.id);
      await deps.disconnect(bridge.id);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { id: string }; Body: { overlap?: string } | undefined }>(
    '/api/bridges/:id/credentials',
    {
      preValidation: bodyMayBeAbsent,
      schema: {
        tags: ['profiles'],
        summary: 'Issue new MQTT credentials for a bridge (shown once); the old password keeps working for the overlap (default 0), then never again',
        description: "With no overlap the bridge's connections close at once; with one, when it ends (holding the new password, it reconnects).",
        params: idParams,
        body: overlapBody,
        response: { 200: bridgeSchema(true), ...errorResponses },
      },
    },
    async (request) => {
      const bridge = deps.bridges.require(request.params.id);
      assertVisible(request, bridge.site, 'bridge', bridge.id);
      const overlapMs = overlapOf(request.body?.overlap, false);
      const password = newSecret();
      // With an overlap its connections close when it ends; without, now.
      deps.bridges.setPassword(bridge.id, password, overlapMs);
      if (overlapMs === 0) await deps.disconnect(bridge.id);
      return { ...bridgeJson(bridge), connected: deps.bridgeConnected(bridge.id), mqtt: { username: bridge.id, password } };
    },
  );
}
