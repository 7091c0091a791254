import type { FastifyInstance } from 'fastify';
import type { Bus } from '../../bus.js';
import { visibleSites } from '../plugins/auth.js';

export interface EventRouteDeps {
  bus: Bus;
}

/** A comment line every so often keeps proxies and the browser from dropping an idle stream. */
const KEEPALIVE_MS = 15_000;

/** What one stream carries: the kind of record, what happened to it, and the record as the API shows it. */
type StreamEvent =
  | { event: 'alarm'; change: string; site: string; data: unknown }
  | { event: 'workorder'; change: string; site: string; data: unknown }
  | { event: 'device'; change: 'online' | 'offline' | 'unlocked_after_fire' | 'locked_after_fire'; site: string; data: unknown }
  | { event: 'incident'; change: string; site: string; data: unknown }
  | { event: 'silence'; change: string; site: string; data: unknown };

/**
 * `GET /api/events`: alarms, incidents, silences, work orders and device status as they change, as server-sent events
 * (`text/event-stream`), limited to the caller's sites. The console reads it with `fetch` so the bearer
 * token travels in the header as on every other route, never in the URL. A client that reconnects reloads
 * the lists it shows; nothing is replayed.
 */
export function eventRoutes(app: FastifyInstance, deps: EventRouteDeps): void {
  const open = new Set<() => void>();
  // Before the server closes: a stream never ends by itself and would hold the stop for the grace period.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Live alarms, incidents, silences, work orders and device status of your sites (server-sent events)',
        description:
          'Each message is `event: alarm|incident|silence|workorder|device` with ' +
          '`data: {"change": ..., "alarm"|"incident"|"silence"|"workOrder"|"device": {...}}`. ' +
          'A `ready` event comes first; a comment line every 15 s keeps the stream open.',
        produces: ['text/event-stream'],
      },
    },
    (request, reply) => {
      const sites = visibleSites(request);
      const owner = { name: 'events' };
      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      const send = (name: string, data: unknown) => raw.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
      const forward = (e: StreamEvent) => {
        if (sites && !sites.includes(e.site)) return;
        const key = e.event === 'workorder' ? 'workOrder' : e.event;
        send(e.event, { change: e.change, [key]: e.data });
      };
      deps.bus.on('alarmRaised', owner, ({ alarm }) => forward({ event: 'alarm', change: 'raised', site: alarm.site, data: alarm }));
      deps.bus.on('alarmChanged', owner, ({ alarm, change }) => forward({ event: 'alarm', change, site: alarm.site, data: alarm }));
      deps.bus.on('alarmCleared', owner, ({ alarm }) => forward({ event: 'alarm', change: 'cleared', site: alarm.site, data: alarm }));
      deps.bus.on('incidentChanged', owner, ({ incident, change }) =>
        forward({ event: 'incident', change, site: incident.site, data: incident }),
      );
      deps.bus.on('silenceChanged', owner, ({ silence, change }) => forward({ event: 'silence', change, site: silence.site, data: silence }));
      deps.bus.on('workOrderChanged', owner, ({ workOrder, change }) =>
        forward({ event: 'workorder', change, site: workOrder.site, data: workOrder }),
      );
      deps.bus.on('deviceStatusChanged', owner, (d) =>
        forward({
          event: 'device',
          change: d.online ? 'online' : 'offline',
          site: d.site,
          data: { id: d.device, site: d.site, kind: d.kind, zone: d.zone, online: d.online, lastSeen: new Date(d.ts).toISOString() },
        }),
      );
      // A door a fire left unlocked (devices/fire-release.ts): the device list and the fire's card flag it at once.
      deps.bus.on('unlockedAfterFireChanged', owner, (d) =>
        forward({ event: 'device', change: d.unlockedAfterFire ? 'unlocked_after_fire' : 'locked_after_fire', site: d.site, data: { id: d.device, site: d.site, unlockedAfterFire: d.unlockedAfterFire } }),
      );
      const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
      const end = () => {
        if (!open.delete(end)) return;
        clearInterval(keepalive);
        deps.bus.removeListeners(owner);
        raw.end();
      };
      open.add(end);
      raw.on('close', end);
      send('ready', { sites: sites ?? null });
    },
  );
}
