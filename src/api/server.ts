import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { ListenError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { OperatorRegistry } from '../operators/registry.js';
import type { RefusalLog } from '../refusal-log.js';
import type { LoginThrottle } from '../security/throttle.js';
import { httpServerOptions, limitConnectionsPerSource, type HttpLimits } from './http-limits.js';
import { httpsPort, listenHttps, type HttpsListen } from './https.js';
import type { AuditInput } from '../audit/trail.js';
import { registerAudit } from './plugins/audit.js';
import { registerAuth } from './plugins/auth.js';
import { registerErrorHandling } from './plugins/errors.js';
import { refuseNonFiniteBodies } from './plugins/finite.js';
import { alarmRoutes, type AlarmRouteDeps } from './routes/alarms.js';
import { auditRoutes, type AuditRouteDeps } from './routes/audit.js';
import { consoleRoutes } from './routes/console.js';
import { definitionRoutes, type DefinitionRouteDeps } from './routes/definitions.js';
import { deviceRoutes, type DeviceRouteDeps } from './routes/devices.js';
import { eventRoutes, type EventRouteDeps } from './routes/events.js';
import { incidentRoutes, type IncidentRouteDeps } from './routes/incidents.js';
import { operatorRoutes, type OperatorRouteDeps } from './routes/operators.js';
import { profileRoutes, type ProfileRouteDeps } from './routes/profiles.js';
import { energyRoutes, type EnergyRouteDeps } from './routes/energy.js';
import { reportRoutes, type ReportRouteDeps } from './routes/reports.js';
import { ruleRoutes, type RuleRouteDeps } from './routes/rules.js';
import { siteRoutes, type SiteRouteDeps } from './routes/sites.js';
import { systemRoutes, type Readiness } from './routes/system.js';
import { workOrderRoutes, type WorkOrderRouteDeps } from './routes/workorders.js';

export interface ApiDeps
  extends AppDeps,
    DeviceRouteDeps,
    OperatorRouteDeps,
    AlarmRouteDeps,
    IncidentRouteDeps,
    EventRouteDeps,
    WorkOrderRouteDeps,
    RuleRouteDeps,
    ProfileRouteDeps,
    ReportRouteDeps,
    EnergyRouteDeps,
    DefinitionRouteDeps,
    SiteRouteDeps,
    AuditRouteDeps {
  /** Started: its admin token is resolved. */
  operators: OperatorRegistry;
  /** The audit trail (contract §15): audited routes are recorded in it, `GET /api/audit` reads it. */
  audit: AuditRouteDeps['audit'] & { record(input: AuditInput): void };
  /** Refused bearer tokens slowed, then answered 429, per source address (contract §15); absent: none. */
  loginThrottle?: LoginThrottle;
}

/** What every role's HTTP server has: health, readiness and metrics, limits, error answers. */
export interface AppDeps {
  log: Logger;
  metrics: Metrics;
  readiness(): Readiness;
  /** Where refused connections and 4xx answers are logged, summarised per address. */
  refusals: RefusalLog;
}

/**
 * The HTTP server every role has (an ingest worker has only this): its timeouts and per-address bound, the
 * OpenAPI document, error answers that name the field, and /health, /ready and /metrics.
 */
export async function createApp(deps: AppDeps, limits: HttpLimits): Promise<FastifyInstance> {
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
        { name: 'profiles', description: "Device profiles (vendors' JSON and Modbus registers mapped onto the kinds) and bridges" },
        { name: 'alarms', description: 'Alarms: one open alarm per site, type and source; acknowledge and clear' },
        { name: 'workorders', description: 'Work orders and their transitions; an illegal transition is 409' },
        { name: 'reports', description: 'Service reports per site and local day, week or month, as JSON or CSV' },
        { name: 'energy', description: 'Energy and water use per site, building, zone or device and local hour, day or month: peak demand, base load, cost' },
        { name: 'events', description: 'Live changes of alarms, work orders and devices (server-sent events)' },
        { name: 'sites', description: 'Site files: buildings, floors, zones and their names, floor plans, who is on duty, the tariff' },
        { name: 'audit', description: 'The audit trail: who acknowledged, cleared, commanded, registered, reloaded, from where (supervisor and admin)' },
        { name: 'definitions', description: 'What the gateway knows: kinds and their fields, severities, work-order statuses, alarm types' },
      ],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  registerErrorHandling(app, deps.refusals);
  refuseNonFiniteBodies(app);
  systemRoutes(app, deps);
  return app;
}

/** Builds the gateway's HTTP API (fastify/demo `app.ts`); `ApiServer` listens on it. */
export async function buildApi(deps: ApiDeps, limits: HttpLimits): Promise<FastifyInstance> {
  const app = await createApp(deps, limits);
  registerAuth(app, {
    adminTokenHash: deps.operators.adminTokenHash,
    operatorByToken: (t) => deps.operators.byToken(t),
    throttle: deps.loginThrottle && { throttle: deps.loginThrottle, refusals: deps.refusals },
  });
  registerAudit(app, {
    audit: deps.audit,
    sites: {
      alarm: (id) => deps.alarms.get(id)?.site,
      workorder: (id) => deps.workOrders.get(id)?.site,
      device: (id) => deps.registry.get(id)?.site,
      silence: (id) => deps.silences.get(id)?.site,
      bridge: (id) => deps.bridges.get(id)?.site,
    },
  });
  deviceRoutes(app, deps);
  operatorRoutes(app, deps);
  alarmRoutes(app, deps);
  incidentRoutes(app, deps);
  workOrderRoutes(app, deps);
  ruleRoutes(app, deps);
  profileRoutes(app, deps);
  reportRoutes(app, deps);
  energyRoutes(app, deps);
  eventRoutes(app, deps);
  definitionRoutes(app, deps);
  siteRoutes(app, deps);
  auditRoutes(app, deps);
  consoleRoutes(app);
  app.get('/docs', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/docs/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** The HTTP API as a part: built and listening at start (after the parts it serves), closed at stop. */
export class ApiServer {
  readonly name = 'api';
  private app?: FastifyInstance;
  private https?: Awaited<ReturnType<typeof listenHttps>>;

  constructor(
    private readonly build: () => Promise<FastifyInstance>,
    private readonly listen: { host: string; port: number },
    /** HTTPS (contract §15), and whether the plain listener opens as well (PLAIN_LISTENERS); absent: plain only. */
    private readonly secure?: { https: Omit<HttpsListen, 'host'>; plain: boolean },
  ) {}

  async start(): Promise<void> {
    const app = await this.build();
    try {
      if (this.secure?.plain ?? true) await app.listen(this.listen);
    } catch (err) {
      await app.close();
      throw new ListenError('HTTP_PORT', this.listen.port, err);
    }
    try {
      if (this.secure) this.https = await listenHttps(app, { ...this.secure.https, host: this.listen.host });
    } catch (err) {
      await app.close();
      throw err;
    }
    this.app = app;
  }

  async stop(): Promise<void> {
    const app = this.app;
    const https = this.https;
    this.app = undefined;
    this.https = undefined;
    // Both listeners stop taking connections at once; the app's close ends the event streams on either.
    const httpsClosed = https && new Promise<void>((r) => https.close(() => r()));
    try {
      await closeApi(app);
    } finally {
      https?.closeAllConnections();
      await httpsClosed;
    }
  }

  /** The port bound (HTTP_PORT=0 means any free one); 0 with PLAIN_LISTENERS=off. */
  get port(): number {
    if (!(this.secure?.plain ?? true)) return 0;
    const address = this.app?.server.address();
    return typeof address === 'object' && address ? address.port : this.listen.port;
  }

  /** The HTTPS port bound (HTTPS_PORT=0 means any free one); 0 without TLS. */
  get httpsPort(): number {
    return httpsPort(this.https);
  }
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
