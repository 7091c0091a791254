/**
 * What every role of the gateway is built on (the embedded gateway and an ingest worker alike): metrics, the
 * failure boundary and refusal log, the bus, topics, the InfluxDB writer with its spool, and validated ingest
 * with its rejections. Each role's composition root adds its own parts around it.
 */
import { join } from 'node:path';
import { ExternalBroker, type ExternalBrokerDeps } from './broker/external.js';
import { quotaOf } from './broker/quota.js';
import { Bus, type Origin } from './bus.js';
import type { Config } from './config/env.js';
import { Failures } from './failures.js';
import { Ingest, type IngestSink } from './ingest/pipeline.js';
import { Rejections } from './ingest/rejections.js';
import { part, type Part } from './lifecycle.js';
import { LogLimiter, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { RefusalLog } from './refusal-log.js';
import { deviceSink, NO_STORE_SINK } from './storage/device-sink.js';
import { Spool } from './storage/influx/spool.js';
import { InfluxWriter } from './storage/influx/writer.js';
import type { Publish } from './topics.js';
import { Topics } from './topics.js';

export interface Core {
  metrics: Metrics;
  failures: Failures;
  refusals: RefusalLog;
  bus: Bus;
  topics: Topics;
  spool: Spool;
  writer: InfluxWriter;
  /** Opens the spool and starts the writer; stopping flushes both. */
  storage: Part;
  log: (module: string) => Logger;
}

/** Builds the core of a role; nothing starts until its parts do. */
export function createCore(config: Readonly<Config>, log: Logger): Core {
  const child = (module: string) => log.child({ module });
  const metrics = new Metrics();
  metrics.gauge('process_resident_memory_bytes', 'Resident memory of the gateway process', () => process.memoryUsage.rss());
  metrics.gauge('nodejs_heap_used_bytes', 'V8 heap in use', () => process.memoryUsage().heapUsed);
  metrics.gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap (buffers)', () => process.memoryUsage().external);
  const failures = new Failures(metrics, child('failures'), config.rejectLogIntervalMs);
  const spool = new Spool({ dir: join(config.dataDir, 'spool'), maxBytes: config.spool.maxBytes, log: child('spool'), metrics });
  const writer = new InfluxWriter({ ...config.influx, spool, refusedFile: join(config.dataDir, 'refused.lp'), log: child('influx'), metrics });
  return {
    metrics,
    failures,
    refusals: new RefusalLog(child('refusals'), config.rejectLogIntervalMs),
    bus: new Bus(child('bus'), failures),
    topics: new Topics(config.baseTopic),
    spool,
    writer,
    storage: part(
      'influx writer',
      async () => {
        await spool.open();
        await writer.start();
      },
      () => writer.stop(),
    ),
    log: child,
  };
}

/** Validated ingest on top of the core, and what a message for no registered device becomes. */
export function createIngest(
  core: Core,
  config: Readonly<Config>,
  publish: Publish,
): {
  ingest: Ingest;
  unknownDevice: (topic: string, payload: Buffer) => void;
  unknownBehindBridge: (bridge: { id: string; site: string }, kind: string, topic: string, name: string) => void;
  rateLimited: (o: Origin, topic: string) => void;
} {
  const rejections = new Rejections(core.topics, core.bus, core.metrics, core.log('ingest'), publish, config.rejectLogIntervalMs);
  // With ingest workers storing (STORE_TELEMETRY=false), the primary's validation feeds only the rules.
  const sink: IngestSink = config.storeTelemetry ? deviceSink(core.writer) : NO_STORE_SINK;
  const ingest = new Ingest(core.bus, sink, rejections, core.metrics, core.log('ingest'), core.failures);
  const unknownDevice = (topic: string, payload: Buffer) => {
    const t = core.topics.parseDevice(topic);
    rejections.reject({ topic, payload, site: t?.site, kind: t?.kind, device: t?.device, reason: 'device: not registered' });
  };
  // A bridge may speak for thousands of devices: each refusal is counted, and told on the rejected topic (and
  // in the log) at most once a minute per bridge.
  const countUnknown = core.metrics.counter('gateway_bridge_unknown_devices_total', 'Messages a bridge sent for a device not registered to it, by bridge');
  const perBridge = new LogLimiter(60_000);
  const unknownBehindBridge = (bridge: { id: string; site: string }, kind: string, topic: string, name: string) => {
    countUnknown({ bridge: bridge.id });
    if (perBridge.allow(bridge.id) === undefined) return;
    const who = name === '' ? 'names no device' : `has no device ${JSON.stringify(name)} registered`;
    rejections.reject({ topic, site: bridge.site, kind, reason: `unknown_device: bridge ${bridge.id} ${who}` });
  };
  // A device over its quota (broker/quota.ts): the broker counts every refusal (gateway_quota_messages_total); the
  // rejected topic and the log hear of each device's at most once a minute (contract §11).
  const quota = quotaOf(config.quota);
  const perDevice = new LogLimiter(60_000);
  const rateLimited = (o: Origin, topic: string) => {
    if (!quota || perDevice.allow(o.device) === undefined) return;
    const reason = `rate_limited: more than ${quota.rate} messages a second (bursts of ${quota.burst}); QoS 0 messages over it are refused`;
    rejections.reject({ topic, site: o.site, kind: o.kind, device: o.device, reason });
  };
  return { ingest, unknownDevice, unknownBehindBridge, rateLimited };
}

/** The gateway as a client of an external broker (docs/scale-out.md), for the primary and for ingest workers. */
export function createExternalBroker(
  core: Core,
  config: Readonly<Config>,
  role: Pick<ExternalBrokerDeps, 'suffixes' | 'ingest' | 'resolveTopic' | 'unknownDevice' | 'control' | 'connected' | 'removeDevice'>,
): ExternalBroker {
  if (!config.broker) throw new Error('an external broker needs BROKER_URL');
  return new ExternalBroker({
    config: config.broker,
    unusedPorts: { port: config.mqtt.port, wsPort: config.mqtt.wsPort },
    topics: core.topics,
    log: core.log('broker'),
    metrics: core.metrics,
    failures: core.failures,
    ...role,
  });
}
