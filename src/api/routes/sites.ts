import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { GatewayError, NotFoundError } from '../../errors.js';
import type { FolderLoad } from '../../shared/watched-folder.js';
import type { LoadedSite } from '../../sites/parse.js';
import { PLAN_CONTENT_TYPES } from '../../sites/plans.js';
import { siteView } from '../../sites/view.js';
import { assertVisible, visibleSites } from '../plugins/auth.js';
import { errorResponses, errorSchema } from './schemas.js';

export interface SiteRouteDeps {
  /** The site model (src/sites/). */
  sites: {
    list(): readonly LoadedSite[];
    loaded(site: string): LoadedSite | undefined;
    timeZone(site: string): string;
    reload(): Promise<FolderLoad>;
  };
}

const names = { type: 'object', properties: { 'zh-CN': { type: 'string' }, en: { type: 'string' } } } as const;
const plan = {
  type: 'object',
  description: 'the floor plan: GET its url with the bearer token; width and height are its own units (SVG viewBox, PNG pixels), the units of device positions',
  properties: { url: { type: 'string' }, width: { type: 'number' }, height: { type: 'number' } },
} as const;
const place = { type: 'object', properties: { id: { type: 'string' }, name: names, building: { type: 'string' }, plan } } as const;

/** A site as served: never its channels or notify entries (they hold webhook keys and secrets). */
const siteSchema = {
  type: 'object',
  required: ['id', 'name', 'language', 'timezone', 'buildings', 'zones', 'duty'],
  properties: {
    id: { type: 'string' },
    name: names,
    language: { type: 'string', enum: ['zh-CN', 'en'], description: "the site's first language: alarm message, zoneName, notifications" },
    timezone: { type: 'string', description: "IANA; the gateway's own when the file gives none" },
    buildings: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: names, floors: { type: 'array', items: place } } } },
    zones: { type: 'array', items: place },
    duty: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          match: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
          name: names,
          phone: { type: 'string' },
          during: { type: 'string', description: 'HH:MM-HH:MM, site time; absent: always' },
        },
      },
    },
    tariff: {
      type: 'object',
      properties: {
        currency: { type: 'string' },
        energy: { type: 'array', items: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' }, price: { type: 'number' } } } },
      },
    },
  },
} as const;

const siteParams = { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } as const;

/** A site's plans may be SVG written by anyone who edits the folder: served so that no script in one ever runs. */
const SVG_HEADERS = {
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
  'content-disposition': 'attachment',
  'x-content-type-options': 'nosniff',
};

/** `GET /api/sites`, `GET /api/sites/{id}`, `POST /api/sites/reload`, `GET /api/sites/{id}/plans/{floorOrZone}` (contract §12). */
export function siteRoutes(app: FastifyInstance, deps: SiteRouteDeps): void {
  const { sites } = deps;
  const view = (l: LoadedSite) => siteView(l, sites.timeZone(l.site.id));

  app.get(
    '/api/sites',
    { schema: { tags: ['sites'], summary: 'The sites with a site file (an operator: their sites)', response: { 200: { type: 'array', items: siteSchema }, ...errorResponses } } },
    async (request) => {
      const visible = visibleSites(request);
      return sites.list().filter((l) => !visible || visible.includes(l.site.id)).map(view);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/sites/:id',
    { schema: { tags: ['sites'], summary: "A site's buildings, floors, zones, plans, duty list and tariff", params: siteParams, response: { 200: siteSchema, ...errorResponses } } },
    async (request) => view(visibleSite(request.params.id, request)),
  );

  app.post(
    '/api/sites/reload',
    {
      schema: {
        tags: ['sites'],
        summary: 'Reload the sites folder; a bad file → 400 naming the file, the site and the field, and the sites in force stay',
        response: {
          200: { type: 'object', properties: { ok: { type: 'boolean' }, count: { type: 'integer' }, sites: { type: 'array', items: { type: 'string' } } } },
          ...errorResponses,
          400: { ...errorSchema, properties: { ...errorSchema.properties, errors: { type: 'array', items: { type: 'string' } } } },
        },
      },
    },
    async (_request, reply) => {
      const result = await sites.reload();
      if (!result.ok) return reply.status(400).send({ error: 'validation_failed', message: result.errors.join('\n'), errors: result.errors });
      return { ok: true, count: result.count, sites: sites.list().map((l) => l.site.id) };
    },
  );

  app.get<{ Params: { id: string; place: string } }>(
    '/api/sites/:id/plans/:place',
    {
      schema: {
        tags: ['sites'],
        summary: "The plan of a floor or zone (SVG or PNG), fetched with the bearer token; an SVG's scripts never run",
        params: { type: 'object', required: ['id', 'place'], properties: { id: { type: 'string' }, place: { type: 'string', description: 'a floor or zone id' } } },
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const { id, place: placeId } = request.params;
      const plan = visibleSite(id, request).places.get(placeId)?.plan;
      if (!plan) throw new NotFoundError('plan', `${id}/${placeId}`);
      let bytes: Buffer;
      try {
        bytes = await readFile(plan.path);
      } catch (err) {
        throw new GatewayError('not_found', `the plan of ${id}/${placeId} is gone from the sites folder; reload the sites`, { cause: err });
      }
      reply.header('content-type', PLAN_CONTENT_TYPES[plan.type]).header('cache-control', 'private, no-cache');
      if (plan.type === 'svg') reply.headers(SVG_HEADERS);
      return reply.send(bytes);
    },
  );

  function visibleSite(id: string, request: Parameters<typeof visibleSites>[0]): LoadedSite {
    assertVisible(request, id, 'site', id);
    const loaded = sites.loaded(id);
    if (!loaded) throw new NotFoundError('site', id);
    return loaded;
  }
}
