import { join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { registerErrorHandling } from './api/plugins/errors.js';
import { systemRoutes, type Readiness } from './api/routes/system.js';
import { httpServerOptions, limitConnectionsPerSource } from './api/http-limits.js';
import { closeApi } from './api/server.js';
import { ExternalBroker, targetCache, type Target } from './broker/external.js';
import { Bus } from './bus.js';
import type { Config } from './config/env.js';
import { RemoteDeviceDirectory, type DirectoryDevice } from './devices/directory.js';
import { RefusalLog } from './refusal-log.js';
import { Failures } from './failures.js';
import { Ingest } from './ingest/pipeline.js';
import { Rejections } from './ingest/rejections.js';
import { stopInReverse, type Stop } from './lifecycle.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { deviceSink } from './storage/device-sink.js';
import { Spool } from './storage/influx/spool.js';
import { InfluxWriter } from './storage/influx/writer.js';
import { Topics, type Publish } from './topics.js';

/** How long the primary may take to answer a registry read. */
const PRIMARY_TIMEOUT_MS = 5000;

/** The primary publishes rejections (it validates every message too); a worker only counts and logs them. */
const NO_PUBLISH: Publish = async () => undefined;

export interface WorkerStarted {
  mqttPort: number;
  wsPort: number;
  httpPort: number;
}

/**
 * An ingest worker (BROKER_SHARE_GROUP set; docs/scale-out.md), a composition root of its own: it takes its
 * share of the device telemetry and events from an external broker's shared subscription, validates them and
 * stores them, nothing else. No rules, alarms, work orders, commands or account sync (those run on the
 * primary, which receives every message), and of the API only /health, /ready and /metrics.
 */
export class IngestWorker {
  readonly metrics = new Metrics();
  readonly bus: Bus;
  readonly topics: Topics;
  readonly spool: Spool;
  readonly writer: InfluxWriter;
  readonly directory: RemoteDeviceDirectory;
  readonly broker: ExternalBroker;
  private api?: FastifyInstance;
  private readonly stops: Stop[] = [];
  private readonly targetOf: ReturnType<typeof targetCache>;

  constructor(
    readonly config: Readonly<Config>,
    private readonly log: Logger,
  ) {
    const child = (module: string) => log.child({ module });
    if (!config.broker?.shareGroup || !config.primary || !config.adminToken) {
      throw new Error('an ingest worker needs BROKER_URL, BROKER_SHARE_GROUP, PRIMARY_URL and ADMIN_TOKEN');
    }
    const failures = new Failures(this.metrics, child('failures'), config.rejectLogIntervalMs);
    this.bus = new Bus(child('bus'), failures);
    this.topics = new Topics(config.baseTopic);
    this.targetOf = targetCache(this.topics);
    this.spool = new Spool({ dir: join(config.dataDir, 'spool'), maxBytes: config.spool.maxBytes, log: child('spool'), metrics: this.metrics });
    this.writer = new InfluxWriter({
      ...config.influx,
      spool: this.spool,
      refusedFile: join(config.dataDir, 'refused.lp'),
      log: child('influx'),
      metrics: this.metrics,
    });
    this.directory = new RemoteDeviceDirectory({
      url: config.primary.url,
      token: config.adminToken,
      refreshMs: config.primary.refreshMs,
      timeoutMs: PRIMARY_TIMEOUT_MS,
      log: child('directory'),
    });
    const rejections = new Rejections(this.topics, this.bus, this.metrics, child('ingest'), NO_PUBLISH, config.rejectLogIntervalMs);
    const ingest = new Ingest(this.bus, deviceSink(this.writer), rejections, this.metrics, child('ingest'), failures);
    this.broker = new ExternalBroker({
      config: config.broker,
      unusedPorts: { port: config.mqtt.port, wsPort: config.mqtt.wsPort },
      topics: this.topics,
      log: child('broker'),
      metrics: this.metrics,
      // Only what is stored: status and cmd/result have nothing to store and go to the primary alone.
      suffixes: ['telemetry', 'event'],
      ingest: (o, topic, suffix, payload, qos) => ingest.handle(o, topic, suffix, payload, qos),
      resolveTopic: (topic) => this.resolveTopic(topic),
      unknownDevice: (topic, payload) => {
        const t = this.topics.parseDevice(topic);
        rejections.reject({ topic, payload, site: t?.site, kind: t?.kind, device: t?.device, reason: 'device: not registered' });
      },
      failures,
    });
  }

  async start(): Promise<WorkerStarted> {
    this.metrics.gauge('process_resident_memory_bytes', 'Resident memory of the gateway process', () => process.memoryUsage.rss());
    this.metrics.gauge('gateway_directory_devices', "Devices in the worker's copy of the primary's registry", () => this.directory.size);
    await this.spool.open();
    await this.writer.start();
    this.stops.push(['influx writer', () => this.writer.stop()]);
    await this.directory.start();
    this.stops.push(['device directory', () => this.directory.stop()]);
    await this.broker.start();
    this.stops.push(['broker', () => this.broker.stop()]);
    const apiLog = this.log.child({ module: 'api' });
    const api = Fastify({
      loggerInstance: apiLog as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      ...httpServerOptions(this.config.http),
    });
    const refusals = new RefusalLog(apiLog, this.config.rejectLogIntervalMs);
    this.stops.push(['refusal log', () => refusals.stop()]);
    limitConnectionsPerSource(api.server, { max: this.config.http.maxConnectionsPerSource, metrics: this.metrics, refusals });
    registerErrorHandling(api, refusals);
    systemRoutes(api, { metrics: this.metrics, readiness: () => this.readiness() });
    await api.listen({ port: this.config.http.port, host: this.config.http.host });
    this.api = api;
    this.stops.push(['api', () => closeApi(this.api)]);
    const address = api.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : this.config.http.port;
    this.log.info({ httpPort, shareGroup: this.config.broker?.shareGroup, primary: this.config.primary?.url }, 'ingest worker started');
    return { mqttPort: 0, wsPort: 0, httpPort };
  }

  /** Stops in reverse order; every part is stopped even if one fails, and the failures are returned. */
  async stop(): Promise<Error[]> {
    return stopInReverse(this.stops, this.log);
  }

  /** Ready when the broker link is up and the registry was read from the primary at least once. */
  readiness(): Readiness {
    const w = this.writer.status();
    const listening = this.broker.listening;
    return {
      ready: listening && this.directory.loaded,
      broker: { listening },
      stateStore: { usable: this.directory.loaded },
      influx: { reachable: w.reachable, mode: w.mode },
      spool: { points: w.spooledPoints, bytes: w.spooledBytes, droppedPoints: w.droppedPoints },
    };
  }

  private resolveTopic(topic: string): Target | undefined | Promise<Target | undefined> {
    const t = this.topics.parseDevice(topic);
    if (!t) return undefined;
    const found = this.directory.resolve(t.device, t.site, t.kind);
    return found instanceof Promise ? found.then((d) => this.target(d)) : this.target(found);
  }

  private target(d: DirectoryDevice | undefined): Target | undefined {
    return d && this.targetOf(d);
  }
}
