import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { AlarmService } from './alarms/service.js';
import { buildApi, closeApi, type ApiDeps } from './api/server.js';
import type { Readiness } from './api/routes/system.js';
import { createAuth } from './broker/auth.js';
import { Broker } from './broker/broker.js';
import { DYNSEC_RESPONSE_TOPIC, DynsecClient } from './broker/dynsec.js';
import { ExternalBroker, targetCache, type Target } from './broker/external.js';
import type { GatewayBroker } from './broker/gateway-broker.js';
import { MosquittoAccounts } from './broker/mosquitto-accounts.js';
import { Bus } from './bus.js';
import { Commands } from './commands/commands.js';
import type { Config, ExternalBrokerConfig } from './config/env.js';
import { DeviceRegistry, type DeviceRecord } from './devices/registry.js';
import { Failures } from './failures.js';
import { Ingest, type IngestSink } from './ingest/pipeline.js';
import { Rejections } from './ingest/rejections.js';
import { stopInReverse, type Stop } from './lifecycle.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { OperatorRegistry } from './operators/registry.js';
import { RefusalLog } from './refusal-log.js';
import { ReportScheduler } from './reports/scheduler.js';
import { ServiceReports } from './reports/service-report.js';
import { hashSecret, newSecret } from './secrets.js';
import { deviceSink, NO_STORE_SINK } from './storage/device-sink.js';
import { InfluxQuery } from './storage/influx/query.js';
import { Spool } from './storage/influx/spool.js';
import { InfluxWriter } from './storage/influx/writer.js';
import { StateStore } from './storage/state/store.js';
import { fetchRuleHistory } from './storage/influx/rule-history.js';
import type { RuleActions } from './rules/actions.js';
import { RuleEngine } from './rules/engine.js';
import { RuleLoader, ruleView } from './rules/loader.js';
import { testRule } from './rules/replay.js';
import { SqliteRuleStateStore } from './rules/state.js';
import { Topics, type Publish } from './topics.js';
import { Upstream } from './upstream/upstream.js';
import { WorkOrderService } from './workorders/service.js';

/** Rows per measurement a rule test reads at most. */
const RULE_TEST_ROW_LIMIT = 200_000;


export interface Started {
  mqttPort: number;
  wsPort: number;
  httpPort: number;
  /** Set only on the first start without ADMIN_TOKEN: the generated token, to be shown once. */
  generatedAdminToken?: string;
}

/** The composition root (z2m `controller.ts`): builds every part, starts them in order, stops them in reverse. */
export class Gateway {
  readonly metrics = new Metrics();
  /** Each unit of work's failure boundary: counted by stage, logged rate-limited (docs/architecture.md). */
  readonly failures: Failures;
  /** Refusals anyone on the network can cause, summarised per source (docs/operations.md). */
  readonly refusals: RefusalLog;
  readonly bus: Bus;
  readonly topics: Topics;
  readonly store: StateStore;
  readonly registry: DeviceRegistry;
  readonly operators: OperatorRegistry;
  readonly spool: Spool;
  readonly writer: InfluxWriter;
  readonly history: InfluxQuery;
  readonly commands: Commands;
  readonly broker: GatewayBroker;
  /** Mosquitto's accounts kept in step with the registries (external broker with BROKER_ACCOUNTS=dynsec). */
  readonly accounts?: MosquittoAccounts;
  readonly alarms: AlarmService;
  readonly workOrders: WorkOrderService;
  readonly rules: RuleEngine;
  readonly ruleLoader: RuleLoader;
  readonly reports: ServiceReports;
  readonly reportScheduler: ReportScheduler;
  /** The link to headquarters (UPSTREAM_URL); undefined without one. */
  readonly upstream?: Upstream;
  private api?: FastifyInstance;
  private readonly target: ReturnType<typeof targetCache>;
  private readonly stops: Stop[] = [];
  private stopping = false;

  constructor(
    readonly config: Readonly<Config>,
    private readonly log: Logger,
  ) {
    const child = (module: string) => log.child({ module });
    const { influx } = config;
    this.failures = new Failures(this.metrics, child('failures'), config.rejectLogIntervalMs);
    this.refusals = new RefusalLog(child('refusals'), config.rejectLogIntervalMs);
    this.bus = new Bus(child('bus'), this.failures);
    this.topics = new Topics(config.baseTopic);
    this.target = targetCache(this.topics);
    this.store = new StateStore(config.dataDir);
    this.registry = new DeviceRegistry(this.store, this.bus, child('registry'), config.lastSeenFlushMs);
    this.operators = new OperatorRegistry(this.store, child('operators'));
    this.spool = new Spool({ dir: join(config.dataDir, 'spool'), maxBytes: config.spool.maxBytes, log: child('spool'), metrics: this.metrics });
    this.writer = new InfluxWriter({
      ...influx,
      spool: this.spool,
      refusedFile: join(config.dataDir, 'refused.lp'),
      log: child('influx'),
      metrics: this.metrics,
    });
    this.history = new InfluxQuery({ url: influx.url, db: influx.db, username: influx.username, password: influx.password, timeoutMs: influx.timeoutMs });
    const publish = this.countedPublish();
    this.commands = new Commands(this.topics, publish, this.bus, config.commandTimeoutMs, child('commands'), this.metrics);
    this.upstream =
      config.upstream &&
      new Upstream({
        config: config.upstream,
        dir: join(config.dataDir, 'upstream'),
        timeZone: config.timeZone,
        bus: this.bus,
        sites: () => [...new Set(this.registry.list().map((d) => d.site))],
        commands: {
          siteOf: (id) => this.registry.get(id)?.site,
          send: (id, action, params) => this.commands.send(this.registry.require(id), action, params),
        },
        log: child('upstream'),
        metrics: this.metrics,
      });
    this.alarms = new AlarmService({
      store: this.store,
      bus: this.bus,
      topics: this.topics,
      publish,
      // The writer's promise is pre-handled and a failure it cannot spool is logged and counted there.
      writeLine: (line) => void this.writer.write(line),
      log: child('alarms'),
    });
    this.workOrders = new WorkOrderService({
      store: this.store,
      bus: this.bus,
      topics: this.topics,
      publish,
      alarms: this.alarms,
      dueMs: config.workOrderDueMs,
      log: child('workorders'),
    });
    this.rules = new RuleEngine({
      bus: this.bus,
      actions: this.ruleActions(child('rules')),
      log: child('rules'),
      timeZone: config.timeZone,
      state: new SqliteRuleStateStore(() => this.store.db),
      failures: this.failures,
    });
    this.ruleLoader = new RuleLoader({ dir: config.rulesDir, engine: this.rules, log: child('rules') });
    this.reports = new ServiceReports({ store: this.store, influx: this.history, timeZone: config.timeZone });
    this.reportScheduler = new ReportScheduler({
      dir: join(config.dataDir, 'reports'),
      cron: config.reportsCron,
      timeZone: config.timeZone,
      reports: this.reports,
      log: child('reports'),
    });
    const rejections = new Rejections(this.topics, this.bus, this.metrics, child('ingest'), publish, config.rejectLogIntervalMs);
    const ingest = new Ingest(this.bus, this.sink(), rejections, this.metrics, child('ingest'), this.failures);
    const auth = createAuth({
      topics: this.topics,
      metrics: this.metrics,
      refusals: this.refusals,
      allowAnonymous: config.mqtt.allowAnonymous,
      findDevice: (id, password) => this.registry.authenticate(id, password),
      findOperator: (id, password) => this.operators.authenticate(id, password),
    });
    const unknownDevice = (topic: string, payload: Buffer) => {
      const t = this.topics.parseDevice(topic);
      rejections.reject({ topic, payload, site: t?.site, kind: t?.kind, device: t?.device, reason: 'device: not registered' });
    };
    const dynsec =
      config.broker?.accounts === 'dynsec'
        ? new DynsecClient(publish, () => this.broker.listening, config.broker.accountTimeoutMs, child('accounts'))
        : undefined;
    this.accounts =
      dynsec &&
      new MosquittoAccounts({
        dynsec,
        topics: this.topics,
        log: child('accounts'),
        metrics: this.metrics,
        self: config.broker?.username ?? '',
        devices: () => this.registry.list(),
        operators: () => this.operators.list(),
      });
    this.broker = config.broker
      ? this.externalBroker(config.broker, ingest, unknownDevice, dynsec)
      : new Broker({
          config: config.mqtt,
          auth,
          log: child('broker'),
          metrics: this.metrics,
          ingest: (o, topic, suffix, payload, qos) => ingest.handle(o, topic, suffix, payload, qos),
          resolveTopic: (topic) => this.resolveTopic(topic),
          unknownDevice,
          // The connections the broker closes when the gateway stops say nothing of the devices: their last seen
          // stays the time of their last message (an `absent` rule counts from it after the restart).
          deviceDisconnected: (id) => {
            if (!this.stopping) this.registry.setOnline(id, false, Date.now());
          },
          failures: this.failures,
        });
  }

  async start(): Promise<Started> {
    this.metrics.gauge('process_resident_memory_bytes', 'Resident memory of the gateway process', () => process.memoryUsage.rss());
    this.metrics.gauge('nodejs_heap_used_bytes', 'V8 heap in use', () => process.memoryUsage().heapUsed);
    this.metrics.gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap (buffers)', () => process.memoryUsage().external);
    this.stops.push(['refusal log', () => this.refusals.stop()]);
    this.store.open();
    this.stops.push(['state store', () => this.store.close()]);
    const { hash, generated } = this.adminToken();
    this.registry.start();
    this.stops.push(['device registry', () => this.registry.stop()]);
    await this.spool.open();
    await this.writer.start();
    this.stops.push(['influx writer', () => this.writer.stop()]);
    this.commands.start();
    this.stops.push(['commands', () => this.commands.stop()]);
    const { port: mqttPort, wsPort } = await this.broker.start();
    this.stops.push(['broker', () => this.broker.stop()]);
    if (this.accounts) {
      const accounts = this.accounts;
      accounts.start();
      this.stops.push(['broker accounts', () => accounts.stop()]);
    }
    // After the broker (commands from headquarters go out through it), before the parts whose changes it forwards.
    if (this.upstream) {
      const upstream = this.upstream;
      await upstream.start();
      this.stops.push(['upstream', () => upstream.stop()]);
    }
    // After the broker: both republish their open records retained, which the broker lost when it stopped.
    this.alarms.start();
    this.stops.push(['alarms', () => this.alarms.stop()]);
    this.workOrders.start();
    this.stops.push(['work orders', () => this.workOrders.stop()]);
    // After the registry (absent counts from last seen) and the alarm services (the rules act through them).
    this.rules.start();
    this.stops.push(['rule engine', () => this.rules.stop()]);
    await this.ruleLoader.start();
    this.stops.push(['rule loader', () => this.ruleLoader.stop()]);
    this.reportScheduler.start();
    this.stops.push(['report scheduler', () => this.reportScheduler.stop()]);
    this.api = await buildApi({
      log: this.log.child({ module: 'api' }),
      metrics: this.metrics,
      bus: this.bus,
      registry: this.registry,
      operators: this.operators,
      history: this.history,
      alarms: this.alarms,
      workOrders: this.workOrders,
      reports: this.reports,
      rules: () => this.ruleLoader.rules().map(ruleView),
      rule: (id) => this.ruleLoader.rules().find((l) => l.rule.id === id)?.rule,
      reloadRules: () => this.ruleLoader.reload(),
      testRule: (rule, from, to, sites) =>
        testRule(rule, from, to, {
          timeZone: this.config.timeZone,
          devices: () => this.registry.list({ sites }),
          history: (need, a, b) =>
            fetchRuleHistory(this.history, { ...need, sites: sites ? (need.sites ?? sites).filter((x) => sites.includes(x)) : need.sites }, a, b, RULE_TEST_ROW_LIMIT),
        }),
      adminTokenHash: hash,
      sendCommand: (device, action, params) => this.commands.send(device, action, params),
      disconnect: (id) => this.broker.disconnectDevice(id),
      ...(this.accounts && this.accountHooks(this.accounts)),
      readiness: () => this.readiness(),
      refusals: this.refusals,
    }, this.config.http);
    await this.api.listen({ port: this.config.http.port, host: this.config.http.host });
    this.stops.push(['api', () => closeApi(this.api)]);
    const address = this.api.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : this.config.http.port;
    this.log.info({ mqttPort, wsPort, httpPort }, 'gateway started');
    return { mqttPort, wsPort, httpPort, generatedAdminToken: generated };
  }

  /** Stops in reverse order; every part is stopped even if one fails, and the failures are returned. */
  async stop(): Promise<Error[]> {
    this.stopping = true;
    return stopInReverse(this.stops, this.log);
  }

  readiness(): Readiness {
    const w = this.writer.status();
    let usable = true;
    try {
      this.store.db.prepare('SELECT 1').get();
    } catch {
      // The answer itself says the store is unusable; there is nothing else to do with the error here.
      usable = false;
    }
    const listening = this.broker.listening;
    return {
      ready: listening && usable,
      broker: { listening },
      stateStore: { usable },
      influx: { reachable: w.reachable, mode: w.mode },
      spool: { points: w.spooledPoints, bytes: w.spooledBytes, droppedPoints: w.droppedPoints },
      ...(this.upstream && { upstream: this.upstream.status() }),
    };
  }

  /**
   * The broker's publish as every part gets it: a failure (broker stopped, a full queue, a defect) is counted
   * under stage `publish` and logged rate-limited, then handed to the caller as a rejection.
   */
  private countedPublish(): Publish {
    const report = (err: unknown, topic: string) => {
      this.failures.report('publish', err, { topic });
      throw err;
    };
    return (topic, payload, opts) => {
      try {
        return this.broker.publish(topic, payload, opts).catch((err: unknown) => report(err, topic));
      } catch (err) {
        return Promise.reject(err).catch((e: unknown) => report(e, topic));
      }
    };
  }

  /** Ingest's durable hand-off; with ingest workers storing (STORE_TELEMETRY=false), validation feeds only the rules. */
  private sink(): IngestSink {
    return this.config.storeTelemetry ? deviceSink(this.writer) : NO_STORE_SINK;
  }

  /** External broker: registrations wait for the broker's account, and are undone when it is refused. */
  private accountHooks(accounts: MosquittoAccounts): Pick<ApiDeps, 'createDeviceAccount' | 'createOperatorAccount'> {
    return {
      createDeviceAccount: (device, password) => accounts.deviceRegistered(device, password),
      createOperatorAccount: (operator, password) => accounts.operatorCreated(operator, password),
    };
  }

  /** What the rules may do: the alarm and work order services, commands, and the registry (house style §2). */
  private ruleActions(log: Logger): RuleActions {
    const commandsSent = this.metrics.counter('gateway_rule_commands_total', 'Commands sent by rules, by outcome');
    return {
      raiseAlarm: (req) => {
        const { alarm, raised } = this.alarms.raise(req);
        return { id: alarm.id, raised };
      },
      clearAlarm: (key, rule) => void this.alarms.clearByKey(key, `rule:${rule}`),
      openWorkOrder: (req) => this.workOrders.create(req).id,
      sendCommand: (device, action, params, rule) => {
        const record = this.registry.get(device.id);
        if (!record) return;
        this.commands.send(record, action, params).then(
          (result) => {
            commandsSent({ outcome: result.ok ? 'ok' : 'failed' });
            log.info({ rule, device: device.id, action, ok: result.ok, error: result.error }, 'rule command answered');
          },
          (err: unknown) => {
            commandsSent({ outcome: 'unanswered' });
            log.warn({ err, rule, device: device.id, action }, 'rule command not answered');
          },
        );
      },
      // A device record is a RuleDevice as it is: no copy per message for rules matching on tags.
      devices: () => this.registry.list(),
      device: (id) => this.registry.get(id),
    };
  }

  /** The gateway as a client of an external broker (docs/scale-out.md); it receives every device message. */
  private externalBroker(
    config: ExternalBrokerConfig,
    ingest: Ingest,
    unknownDevice: (topic: string, payload: Buffer) => void,
    dynsec: DynsecClient | undefined,
  ): ExternalBroker {
    const accounts = this.accounts;
    return new ExternalBroker({
      config,
      unusedPorts: { port: this.config.mqtt.port, wsPort: this.config.mqtt.wsPort },
      topics: this.topics,
      log: this.log.child({ module: 'broker' }),
      metrics: this.metrics,
      suffixes: ['telemetry', 'event', 'status', 'cmd/result'],
      ingest: (o, topic, suffix, payload, qos) => ingest.handle(o, topic, suffix, payload, qos),
      resolveTopic: (topic) => this.resolveTopic(topic),
      unknownDevice,
      control: dynsec && { topic: DYNSEC_RESPONSE_TOPIC, handle: (payload) => dynsec.handleResponse(payload) },
      connected: accounts && (() => accounts.sync()),
      removeDevice: accounts && ((id) => accounts.deviceDeleted(id)),
      failures: this.failures,
    });
  }

  /**
   * The registered device a topic belongs to (anonymous mode, external broker): its site and kind must match the
   * record. One target per record, so the sink's per-origin series cache holds.
   */
  private resolveTopic(topic: string): Target | undefined {
    const t = this.topics.parseDevice(topic);
    const device = t && this.registry.get(t.device);
    if (!t || !device || device.site !== t.site || device.kind !== t.kind) return undefined;
    return this.target(device);
  }

  /** The admin token's hash: from ADMIN_TOKEN, else generated once at the first start and kept hashed. */
  private adminToken(): { hash: string; generated?: string } {
    if (this.config.adminToken) return { hash: hashSecret(this.config.adminToken) };
    const stored = this.store.getSetting('admin_token_hash');
    if (stored) return { hash: stored };
    const token = newSecret();
    this.store.setSetting('admin_token_hash', hashSecret(token));
    this.log.warn('admin token generated; it is printed once on standard output');
    return { hash: hashSecret(token), generated: token };
  }
}
