import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { OperatorRegistry } from '../operators/registry.js';
import type { RefusalLog } from '../refusal-log.js';
import { httpServerOptions, limitConnectionsPerSource, type HttpLimits } from './http-limits.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandling } from './plugins/errors.js';
import { refuseNonFiniteBodies } from './plugins/finite.js';
import { alarmRoutes, type AlarmRouteDeps } from './routes/alarms.js';
import { consoleRoutes } from './routes/console.js';
import { deviceRoutes, type DeviceRouteDeps } from './routes/devices.js';
import { eventRoutes, type EventRouteDeps } from './routes/events.js';
import { operatorRoutes, type OperatorRouteDeps } from './routes/operators.js';
import { reportRoutes, type ReportRouteDeps } from './routes/reports.js';
import { ruleRoutes, type RuleRouteDeps } from './routes/rules.js';
import { systemRoutes, type Readiness } from './routes/system.js';
import { workOrderRoutes, type WorkOrderRouteDeps } from './routes/workorders.js';

export interface ApiDeps
  extends DeviceRouteDeps, OperatorRouteDeps, AlarmRouteDeps, EventRouteDeps, WorkOrderRouteDeps, RuleRouteDeps, ReportRouteDeps {
  log: Logger;
  metrics: Metrics;
  operators: OperatorRegistry;
  adminTokenHash: string;
  readiness(): Readiness;
  /** Where refused connections and 4xx answers are logged, summarised per address. */
  refusals: RefusalLog;
}

/** Builds the HTTP API (fastify/demo `app.ts`) with its timeouts and per-address bound; the gateway listens on it elsewhere. */
export async function buildApi(deps: ApiDeps, limits: HttpLimits): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Each request is not worth a line at info; errors are logged by the error handler (fastify style).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...httpServerOptions(limits),
  });
  limitConnectionsPerSource(app.server, { max: limits.maxConnectionsPerSource, metrics: deps.metrics, refusals: deps.refusals });
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'Smart-community gateway API',
        version: '1',
        description:
          'Devices, telemetry, commands, operators, alarms and work orders. Everything under /api takes `Authorization: Bearer <token>`.',
      },
      tags: [
        { name: 'system', description: 'Health, readiness, metrics' },
        { name: 'devices', description: 'The device registry, telemetry history and commands' },
        { name: 'operators', description: 'Operator accounts (admin only)' },
        { name: 'alarms', description: 'Alarms: one open alarm per site, type and source; acknowledge and clear' },
        { name: 'workorders', description: 'Work orders and their transitions; an illegal transition is 409' },
        { name: 'reports', description: 'Service reports per site and local day, week or month, as JSON or CSV' },
        { name: 'events', description: 'Live changes of alarms, work orders and devices (server-sent events)' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  registerErrorHandling(app, deps.refusals);
  refuseNonFiniteBodies(app);
  registerAuth(app, { adminTokenHash: deps.adminTokenHash, operatorByToken: (t) => deps.operators.byToken(t) });
  systemRoutes(app, deps);
  deviceRoutes(app, deps);
  operatorRoutes(app, deps);
  alarmRoutes(app, deps);
  workOrderRoutes(app, deps);
  ruleRoutes(app, deps);
  reportRoutes(app, deps);
  eventRoutes(app, deps);
  consoleRoutes(app);
  app.get('/docs', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/docs/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** How long running HTTP requests may finish when the gateway stops. */
const API_CLOSE_GRACE_MS = 5000;

/**
 * Stops an HTTP API: new requests are refused at once, running ones get a grace period, then every
 * connection is closed (a keep-alive client would otherwise hold the stop for fastify's 72 s timeout).
 */
export async function closeApi(api: FastifyInstance | undefined): Promise<void> {
  if (!api) return;
  const closed = api.close();
  const grace = setTimeout(() => api.server.closeAllConnections(), API_CLOSE_GRACE_MS);
  try {
    await closed;
  } finally {
    clearTimeout(grace);
  }
}
