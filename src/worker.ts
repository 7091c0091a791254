import { createApp, ApiServer } from './api/server.js';
import { readinessOf } from './api/routes/system.js';
import type { ExternalBroker } from './broker/external.js';
import type { Config } from './config/env.js';
import { createCore, createExternalBroker, createIngest, type Core } from './core.js';
import { RemoteDeviceDirectory } from './devices/directory.js';
import { topicResolver } from './devices/targets.js';
import { Lifecycle, type Part } from './lifecycle.js';
import type { Logger } from './log.js';
import type { Publish } from './topics.js';

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
  readonly core: Core;
  readonly directory: RemoteDeviceDirectory;
  readonly broker: ExternalBroker;
  readonly api: ApiServer;
  private readonly parts: Part[];
  private readonly lifecycle: Lifecycle;

  constructor(
    readonly config: Readonly<Config>,
    private readonly log: Logger,
  ) {
    if (!config.broker?.shareGroup || !config.primary || !config.adminToken) {
      throw new Error('an ingest worker needs BROKER_URL, BROKER_SHARE_GROUP, PRIMARY_URL and ADMIN_TOKEN');
    }
    const core = (this.core = createCore(config, log));
    this.lifecycle = new Lifecycle(log);
    this.directory = new RemoteDeviceDirectory({
      url: config.primary.url,
      token: config.adminToken,
      refreshMs: config.primary.refreshMs,
      timeoutMs: PRIMARY_TIMEOUT_MS,
      log: core.log('directory'),
    });
    core.metrics.gauge('gateway_directory_devices', "Devices in the worker's copy of the primary's registry", () => this.directory.size);
    const { ingest, unknownDevice } = createIngest(core, config, NO_PUBLISH);
    this.broker = createExternalBroker(core, config, {
      // Only what is stored: status and cmd/result have nothing to store and go to the primary alone.
      suffixes: ['telemetry', 'event'],
      ingest: (o, topic, suffix, payload, qos) => ingest.handle(o, topic, suffix, payload, qos),
      resolveTopic: topicResolver(core.topics, (id, site, kind) => this.directory.resolve(id, site, kind)),
      unknownDevice,
    });
    // The registry is read from the primary: the worker is ready once it has been, at least once.
    const readiness = readinessOf({ broker: this.broker, store: { usable: () => this.directory.loaded }, writer: core.writer });
    this.api = new ApiServer(() => createApp({ log: core.log('api'), metrics: core.metrics, refusals: core.refusals, readiness }, config.http), config.http);
    this.parts = [core.refusals, core.storage, this.directory, this.broker, this.api];
  }

  async start(): Promise<WorkerStarted> {
    await this.lifecycle.start(this.parts);
    const httpPort = this.api.port;
    this.log.info({ httpPort, shareGroup: this.config.broker?.shareGroup, primary: this.config.primary?.url }, 'ingest worker started');
    return { mqttPort: 0, wsPort: 0, httpPort };
  }

  /** Stops in reverse order; every part is stopped even if one fails, and the failures are returned. */
  async stop(): Promise<Error[]> {
    return this.lifecycle.stop();
  }
}
