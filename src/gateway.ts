import { hostname } from 'node:os';
import { join } from 'node:path';
import { AlarmService } from './alarms/service.js';
import { readinessOf, type Readiness } from './api/routes/system.js';
import { ApiServer, buildApi, type ApiDeps } from './api/server.js';
import { createAuth } from './broker/auth.js';
import { createProfiledRouting } from './broker/profiled.js';
import { Broker } from './broker/broker.js';
import { DurablePersistence } from './broker/persistence.js';
import { quotaOf } from './broker/quota.js';
import { DYNSEC_RESPONSE_TOPIC, DynsecClient } from './broker/dynsec.js';
import type { GatewayBroker } from './broker/gateway-broker.js';
import { MosquittoAccounts } from './broker/mosquitto-accounts.js';
import type { Bus, Origin } from './bus.js';
import { Commands, type VendorCommand } from './commands/commands.js';
import type { Config } from './config/env.js';
import { createCore, createExternalBroker, createIngest, type Core } from './core.js';
import { buildDefinitions, DefinitionsPublisher, FLOODING_ALARM, FLOODING_RULE, floodingTexts, type Definitions } from './definitions.js';
import { BridgeRegistry } from './devices/bridges.js';
import { DeviceRegistry, type DeviceRecord } from './devices/registry.js';
import { FireRelease } from './devices/fire-release.js';
import { topicResolver } from './devices/targets.js';
import type { Ingest } from './ingest/pipeline.js';
import { Lifecycle, part, type Part } from './lifecycle.js';
import { Notifier } from './notify/notifier.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { OperatorRegistry } from './operators/registry.js';
import { ReportScheduler } from './reports/scheduler.js';
import { ServiceReports } from './reports/service-report.js';
import { EnergyService } from './energy/service.js';
import { createRuleActions } from './rules/actions.js';
import { RuleEngine } from './rules/engine.js';
import { SiteModel } from './sites/model.js';
import { TlsCertificates } from './tls/certificates.js';
import { LoginThrottle } from './security/throttle.js';
import { ProfileLoader, profileView } from './profiles/loader.js';
import { modbusWrite, renderCommand } from './profiles/mapping.js';
import { ModbusDevices } from './polling.js';
import type { MqttProfile } from './profiles/profile.js';
import { RuleLoader, ruleView } from './rules/loader.js';
import { testRule } from './rules/replay.js';
import { SqliteRuleStateStore } from './rules/state.js';
import { InfluxQuery } from './storage/influx/query.js';
import type { InfluxWriter } from './storage/influx/writer.js';
import { ruleHistory } from './storage/influx/rule-history.js';
import { baselineHistory } from './storage/influx/baseline-history.js';
import { DataDirLock } from './storage/state/data-lock.js';
import { StateStore } from './storage/state/store.js';
import { AuditTrail } from './audit/trail.js';
import type { FolderLoad } from './shared/watched-folder.js';
import type { Publish } from './topics.js';
import { Upstream } from './upstream/upstream.js';
import { WorkOrderService } from './workorders/service.js';

export interface Started {
  mqttPort: number;
  wsPort: number;
  httpPort: number;
  /** The TLS listeners' ports (contract §15); 0 without TLS_CERT_FILE and TLS_KEY_FILE. */
  mqttsPort: number;
  wssPort: number;
  httpsPort: number;
  /** Set only on the first start without ADMIN_TOKEN: the generated token, to be shown once. */
  generatedAdminToken?: string;
}

/**
 * The composition root of the gateway (z2m `controller.ts`): builds every part from the config and the parts it
 * needs, starts them in the order of `parts`, stops them in reverse. With BROKER_URL the broker is an external
 * one; everything else is the same. Domain glue lives with its owner, not here.
 */
export class Gateway {
  readonly core: Core;
  readonly metrics: Metrics;
  readonly bus: Bus;
  readonly writer: InfluxWriter;
  readonly store: StateStore;
  /** Who did what, from where (contract §15). */
  readonly audit: AuditTrail;
  readonly operators: OperatorRegistry;
  readonly registry: DeviceRegistry;
  /** Doors a fire released and nobody locked again (issue 17). */
  readonly fireRelease: FireRelease;
  readonly history: InfluxQuery;
  readonly commands: Commands;
  readonly broker: GatewayBroker;
  /** Mosquitto's accounts kept in step with the registries (external broker with BROKER_ACCOUNTS=dynsec). */
  readonly accounts?: MosquittoAccounts;
  /** The link to headquarters (UPSTREAM_URL); undefined without one. */
  readonly upstream?: Upstream;
  readonly alarms: AlarmService;
  readonly workOrders: WorkOrderService;
  /** Tells the people the site files name about alarms (contract §16). */
  readonly notifier: Notifier;
  /** The site files: buildings, floors, zones, names, plans, duty, tariff, channels (contract §12). */
  readonly sites: SiteModel;
  readonly rules: RuleEngine;
  /** Stored readings the anomaly baselines learn from (contract §13). */
  private readonly baselines: ReturnType<typeof baselineHistory>;
  readonly ruleLoader: RuleLoader;
  readonly profiles: ProfileLoader;
  readonly bridges: BridgeRegistry;
  readonly polling: ModbusDevices;
  /** Keeps the definitions document retained on `sc/{site}/gateway/definitions` (contract §14). */
  readonly definitions: DefinitionsPublisher;
  readonly reports: ServiceReports;
  /** Energy and water use per site, building, zone and device (contract §13). */
  readonly energy: EnergyService;
  readonly reportScheduler: ReportScheduler;
  readonly api: ApiServer;
  /** The certificate of the TLS listeners, reloaded when its files change; undefined without TLS_CERT_FILE. */
  readonly tls?: TlsCertificates;
  /** Failed logins slowed, then refused, per source address (contract §15): one throttle per protocol. */
  readonly loginThrottles: { mqtt: LoginThrottle; http: LoginThrottle };
  /** What `/ready` answers. */
  readonly readiness: () => Readiness;
  private readonly parts: ReadonlyArray<Part | undefined>;
  private readonly lifecycle: Lifecycle;
  private dynsec?: DynsecClient;
  private stopping = false;

  constructor(
    readonly config: Readonly<Config>,
    private readonly log: Logger,
  ) {
    const core = (this.core = createCore(config, log));
    const { bus, topics, metrics, failures } = core;
    const child = core.log;
    this.metrics = metrics;
    this.bus = bus;
    this.writer = core.writer;
    this.lifecycle = new Lifecycle(log);
    this.tls =
      config.tls &&
      new TlsCertificates({ ...config.tls, requestCert: config.tls.deviceCertAuth !== 'off' }, child('tls'), metrics);
    const throttling = { maxDelayMs: config.loginThrottle.maxDelayMs };
    this.loginThrottles = { mqtt: new LoginThrottle('mqtt', metrics, throttling), http: new LoginThrottle('http', metrics, throttling) };
    const publish: Publish = failures.countedPublish((...args) => this.broker.publish(...args));
    this.store = new StateStore(config.dataDir);
    this.audit = new AuditTrail({ db: () => this.store.db, log: child('audit'), failures, metrics, retentionMs: config.auditRetentionMs });
    this.operators = new OperatorRegistry(this.store, child('operators'), config.adminToken);
    this.registry = new DeviceRegistry(this.store, bus, child('registry'), config.lastSeenFlushMs);
    this.bridges = new BridgeRegistry(this.store, child('bridges'));
    // contract §15: when a rotated password's overlap ends, the connections made with either close; the new one
    // reconnects. Only the embedded broker holds them (an external broker refuses overlaps).
    const overlapEnded = (id: string) => {
      if (this.broker instanceof Broker) this.broker.disconnectDevice(id);
    };
    this.registry.onOverlapEnded(overlapEnded);
    this.bridges.onOverlapEnded(overlapEnded);
    this.profiles = new ProfileLoader({
      dir: config.profilesDir,
      log: child('profiles'),
      topicBase: config.baseTopic,
      onChange: () => void this.polling?.profilesChanged(),
      edited: this.folderEdited('profiles.reload', config.profilesDir),
    });
    this.history = new InfluxQuery({ ...config.influx });
    this.commands = new Commands(topics, publish, bus, config.commandTimeoutMs, child('commands'), metrics, (device, action, params) =>
      this.vendorCommand(device, action, params, publish),
    );
    const { ingest, unknownDevice, unknownBehindBridge, rateLimited } = createIngest(core, config, publish);
    this.accounts = this.brokerAccounts(publish);
    this.broker = config.broker ? this.externalBroker(ingest, unknownDevice) : this.embeddedBroker(ingest, unknownDevice, unknownBehindBridge, rateLimited);
    this.upstream = config.upstream && this.upstreamLink(config.upstream);
    this.polling = new ModbusDevices({ bus, registry: this.registry, profile: (id) => this.profiles.get(id), ingest, metrics, log: child('modbus') });
    // The writer's promise is pre-handled and a failure it cannot spool is logged and counted there.
    const writeLine = (line: string) => void core.writer.write(line);
    const topology = {
      parentOf: (id: string) => this.registry.get(id)?.parent,
      // A parent no longer registered holds nothing back.
      online: (id: string) => this.registry.get(id)?.online ?? true,
      lastSeen: (id: string) => this.registry.get(id)?.lastSeen ?? null,
    };
    this.sites = new SiteModel({ dir: config.sitesDir, log: child('sites'), timeZone: config.timeZone, onChange: () => this.notifier?.sitesChanged(), edited: this.folderEdited('sites.reload', config.sitesDir) });
    const places = this.sites;
    this.alarms = new AlarmService({ store: this.store, bus, topics, publish, writeLine, topology, places, log: child('alarms') });
    this.notifier = new Notifier({
      bus,
      store: this.store,
      sites: this.sites,
      places,
      settings: config.notify,
      timeZone: config.timeZone,
      consoleUrl: () => config.notify.consoleUrl ?? (this.api.port ? listenerUrl(config.http.host, this.api.port) : listenerUrl(config.http.host, this.api.httpsPort, 'https')),
      openAlarms: () => this.alarms.list({ state: 'open', limit: 100_000 }),
      alarmOf: (id) => this.alarms.get(id),
      log: child('notify'),
      metrics,
    });
    this.workOrders = new WorkOrderService({ store: this.store, bus, topics, publish, alarms: this.alarms, dueMs: config.workOrderDueMs, places, log: child('workorders') });
    this.fireRelease = new FireRelease({ bus, store: this.store, alarmActive: (id) => (this.alarms.get(id)?.state ?? 'cleared') !== 'cleared', log: child('fire-release') });
    // Watched: the doors a fire rule unlocks are remembered (devices/fire-release.ts).
    const actions = this.fireRelease.observe(createRuleActions({ alarms: this.alarms, workOrders: this.workOrders, commands: this.commands, registry: this.registry, metrics, places, log: child('rules') }));
    const state = new SqliteRuleStateStore(() => this.store.db);
    // contract §13: anomaly baselines learn from stored history when a rule starts or a device first reports.
    const ruleLog = child('rules');
    this.baselines = baselineHistory(this.history, (err, q, failures) => ruleLog.warn({ err, device: q.device, failures }, 'baseline history not read; learning from live readings'));
    this.rules = new RuleEngine({ bus, actions, log: ruleLog, timeZone: config.timeZone, state, failures, history: this.baselines });
    this.ruleLoader = new RuleLoader({ dir: config.rulesDir, engine: this.rules, bus, log: child('rules'), edited: this.folderEdited('rules.reload', config.rulesDir) });
    const sites = () => new Set(this.registry.list().map((d) => d.site));
    this.definitions = new DefinitionsPublisher({ bus, topics, publish, document: () => this.definitionsDocument(), sites, log: child('definitions') });
    this.energy = new EnergyService({
      influx: this.history,
      devices: (site) => this.registry.list({ site }),
      places: { loaded: (s) => this.sites.loaded(s), timeZone: (s) => this.sites.timeZone(s), language: (s) => this.sites.language(s), tariff: (s) => this.sites.get(s)?.tariff },
      sites: () => [...new Set(this.registry.list().filter((d) => d.kind === 'energy' || d.kind === 'water').map((d) => d.site))],
      log: child('energy'),
      pending: () => core.writer.status().spooledPoints > 0,
    });
    // A reading for a day whose figures are kept (a late one, a spool replayed) makes them be worked out again.
    bus.on('telemetryAccepted', this.energy, (m) => this.energy.readingArrived(m.site, m.kind, m.device, m.ts));
    this.reports = new ServiceReports({ store: this.store, influx: this.history, timeZone: config.timeZone, places, energy: this.energy });
    this.reportScheduler = new ReportScheduler({ dir: join(config.dataDir, 'reports'), cron: config.reportsCron, timeZone: config.timeZone, reports: this.reports, log: child('reports') });
    this.readiness = readinessOf({ broker: this.broker, store: this.store, writer: core.writer, upstream: this.upstream });
    const tls = this.tls;
    const https = tls && config.tls && { https: { tls, port: config.tls.httpsPort, limits: config.http, metrics, refusals: core.refusals, log: child('api') }, plain: config.tls.plainListeners };
    this.api = new ApiServer(() => buildApi(this.apiDeps(), config.http), config.http, https);
    // What a former run left of the quota's alarms is older than this (clearFloodingAlarms).
    const constructedAt = Date.now();
    // In order; each after the parts it needs. Stopped in reverse: MQTT closes before the writer flushes, the
    // registry outlives the broker (the last wills still reach it), the state store closes last.
    this.parts = [
      // First: a certificate file missing or invalid stops the start, naming it, before anything else opens.
      this.tls,
      core.refusals,
      // Before anything touches DATA_DIR: a second gateway on it is refused, and a restore can tell this one runs.
      new DataDirLock(config.dataDir),
      this.store,
      // Before everything that records in it; stopped after them.
      this.audit,
      this.operators,
      this.registry,
      this.bridges,
      // Before the broker: a profiled device's first message is mapped by its profile.
      this.profiles,
      core.storage,
      this.commands,
      this.broker,
      this.accounts,
      // After the broker (commands from headquarters go out through it), before the parts whose changes it forwards.
      this.upstream,
      // After the broker: both republish their open records retained, which the broker lost when it stopped.
      this.alarms,
      // The quota's buckets did not survive the restart: a device still flooding raises its alarm again.
      part('flooding alarms', () => this.clearFloodingAlarms(constructedAt), () => undefined),
      // Before the notifier (it reads the channels from it) and the parts that name places.
      this.sites,
      // After the alarms (it re-arms the escalations of the open ones), before the rules that raise them.
      this.notifier,
      this.workOrders,
      // After the alarms (it asks which fire alarms are still active), before the rules that release doors.
      this.fireRelease,
      // After the registry (absent counts from last seen) and the alarm services (the rules act through them).
      this.rules,
      this.ruleLoader,
      // After the rules: what it reads is ruled from the first poll.
      this.polling,
      // After the broker (it publishes) and the rules (their alarm types are part of the document).
      this.definitions,
      this.reportScheduler,
      // After the sites and the registry: it works out the meters' last two months in the background.
      this.energy,
      this.api,
      // Stopped first: the replies they hold back are answered before the listeners close.
      this.loginThrottles.mqtt,
      this.loginThrottles.http,
    ];
  }

  async start(): Promise<Started> {
    await this.lifecycle.start(this.parts);
    const { port: mqttPort, wsPort, tlsPort: mqttsPort = 0, wssPort = 0 } = this.broker.ports;
    const { port: httpPort, httpsPort } = this.api;
    this.log.info({ mqttPort, wsPort, httpPort, mqttsPort, wssPort, httpsPort }, 'gateway started');
    this.operators.keepGeneratedAdminToken();
    return { mqttPort, wsPort, httpPort, mqttsPort, wssPort, httpsPort, generatedAdminToken: this.operators.generatedAdminToken };
  }

  /** Stops in reverse order; every part is stopped even if one fails, and the failures are returned. */
  async stop(): Promise<Error[]> {
    this.stopping = true;
    return this.lifecycle.stop();
  }

  /** Records a reload an edit in a watched folder caused: nobody asked through the API, the gateway did (contract §15). */
  private folderEdited(action: string, dir: string): (load: FolderLoad, files: string[]) => void {
    return (load, files) =>
      this.audit.record({ actor: 'system', source: 'file', action, target: dir, changes: load.ok ? { files, loaded: load.count } : { files, refused: load.errors.length } });
  }

  /** The definitions document with the alarm types of the rules in force. */
  definitionsDocument(): Definitions {
    return buildDefinitions(this.ruleLoader.rules().map((l) => l.rule));
  }

  private apiDeps(): ApiDeps {
    const { core, config } = this;
    const accounts = this.accounts;
    return {
      log: core.log('api'),
      metrics: core.metrics,
      refusals: core.refusals,
      loginThrottle: this.loginThrottles.http,
      bus: core.bus,
      registry: this.registry,
      unlockedAfterFire: (id) => this.fireRelease.unlockedAfterFire(id),
      operators: this.operators,
      audit: this.audit,
      history: this.history,
      alarms: this.alarms,
      notificationsOf: (id) => this.notifier.notificationsOf(id),
      incidents: { list: (f) => this.alarms.incidents.list(f), get: (id) => this.alarms.incidents.get(id), alarmsOf: (id) => this.alarms.ofIncident(id) },
      silences: this.alarms.silences,
      workOrders: this.workOrders,
      reports: this.reports,
      energy: this.energy,
      siteKnown: (site) => this.sites.loaded(site) !== undefined || this.registry.list({ site }).length > 0,
      rules: () => this.ruleLoader.rules().map(ruleView),
      rule: (id) => this.ruleLoader.rules().find((l) => l.rule.id === id)?.rule,
      reloadRules: () => this.ruleLoader.reload(),
      definitions: () => this.definitionsDocument(),
      testRule: (rule, from, to, sites) =>
        testRule(rule, from, to, { timeZone: config.timeZone, devices: () => this.registry.list({ sites }), history: ruleHistory(this.history, sites), baselines: this.baselines }),
      sendCommand: (device, action, params) => this.commands.send(device, action, params),
      disconnect: async (id) => {
        await this.broker.disconnectDevice(id);
        await this.polling.remove(id);
      },
      // contract §15: a disabled, re-sited or deleted operator's MQTT connections close (it logs in again, or is refused);
      // with an external broker its account follows instead.
      operatorAccessChanged: async (operator, change) => {
        if (this.broker instanceof Broker) return this.broker.disconnectOperator(operator.id);
        if (!accounts) return;
        if (change === 'deleted') await accounts.operatorDeleted(operator.id);
        else await accounts.operatorChanged(operator);
      },
      pollOf: (id) => this.polling.stats(id) as Record<string, unknown> | undefined,
      sources: { profile: (id) => this.profiles.get(id), bridge: (id) => this.bridges.get(id) },
      profiles: () => this.profiles.list().map(profileView),
      profile: (id) => this.profiles.get(id),
      reloadProfiles: () => this.profiles.reload(),
      bridges: this.bridges,
      bridgeConnected: (id) => this.broker instanceof Broker && this.broker.connected(id),
      devicesBehind: (bridge) => this.registry.list().filter((d) => d.source?.bridge === bridge).length,
      usernameTaken: (id) => this.registry.get(id) !== undefined || this.operators.get(id) !== undefined,
      ...(config.broker && {
        mqttProfilesUnavailable: 'devices that publish their vendor JSON need the embedded broker (the external broker keeps its own ACL); unset BROKER_URL',
        bridgesUnavailable: 'bridges need the embedded broker (the external broker keeps its own ACL); unset BROKER_URL',
      }),
      // External broker: registrations wait for the broker's account, and are undone when it is refused.
      ...(accounts && {
        createDeviceAccount: (device, password) => accounts.deviceRegistered(device, password),
        createOperatorAccount: (operator, password) => accounts.operatorCreated(operator, password),
      }),
      readiness: this.readiness,
      sites: this.sites,
      places: this.sites,
    };
  }

  /**
   * A command to a profiled device, the vendor's way: an MQTT device gets its profile's topic and payload, published
   * at QoS 1 (its own acknowledgement, if it sends one, is not read); a Modbus device a write read back to confirm
   * it; undefined for a native device.
   */
  private vendorCommand(device: DeviceRecord, action: string, params: Record<string, unknown>, publish: Publish): VendorCommand | undefined {
    if (!device.source) return undefined;
    const profile = this.profiles.get(device.source.profile);
    if (!profile) return { error: `profile ${device.source.profile} of ${device.id} is not loaded` };
    if (profile.source === 'modbus') {
      const write = modbusWrite(profile, action, params);
      if (!write.ok) return { error: write.error };
      return { deliver: () => this.polling.write(device.id, action, write.write) };
    }
    const rendered = renderCommand(profile, action, params, device.id);
    if (!rendered.ok) return { error: rendered.error };
    // Nothing reads the command unless the device, or the bridge that speaks for it, is connected.
    const via = device.source.bridge ?? device.id;
    return {
      deliver: async () => {
        if (!(this.broker instanceof Broker && this.broker.connected(via))) throw new Error(`${device.source?.bridge ? `bridge ${via}` : device.id} is not connected`);
        await publish(rendered.topic, rendered.payload, { qos: 1 });
      },
    };
  }

  /** The embedded aedes broker, with the gateway's security and ingest as its hooks. */
  private embeddedBroker(
    ingest: Ingest,
    unknownDevice: (topic: string, payload: Buffer) => void,
    unknownBehindBridge: (bridge: { id: string; site: string }, kind: string, topic: string, name: string) => void,
    rateLimited: (o: Origin, topic: string) => void,
  ): Broker {
    const { core, config } = this;
    const profiled = { profile: (id: string) => mqttProfile(this.profiles.get(id)) };
    const auth = createAuth({
      topics: core.topics,
      metrics: core.metrics,
      refusals: core.refusals,
      allowAnonymous: config.mqtt.allowAnonymous,
      findDevice: (id, password) => this.registry.authenticate(id, password),
      findOperator: (id, password) => this.operators.authenticate(id, password),
      findBridge: (id, password) => this.bridges.authenticate(id, password),
      profiled,
      throttle: this.loginThrottles.mqtt,
      // contract §15: a device's client certificate, verified against TLS_CA_FILE, names it (docs/security.md#tls).
      deviceCertAuth: config.tls?.deviceCertAuth ?? 'off',
      deviceById: (id) => this.registry.get(id),
    });
    const routeProfiled = createProfiledRouting({
      ...profiled,
      behind: (bridge, name) => this.registry.behind(bridge, name),
      ingest,
      unknownDevice: (bridge, profile, topic, name) => unknownBehindBridge(bridge, profile.kind, topic, name),
    });
    return new Broker({
      config: config.mqtt,
      auth,
      log: core.log('broker'),
      metrics: core.metrics,
      failures: core.failures,
      // contract §15: retained statuses and persistent sessions survive a restart; the gateway's own retained
      // topics are republished from its state at start instead (alarms, work orders, incidents, definitions).
      persistence: new DurablePersistence({
        db: () => this.store.db,
        // A registered device's status: one of a device deleted since is dropped at the next start.
        durableRetained: (topic) => {
          const t = core.topics.parseDevice(topic);
          return t?.suffix === 'status' && this.registry.find(t.device, t.site, t.kind) !== undefined;
        },
        maxQueued: config.mqtt.maxQueued,
        expiryMs: config.mqtt.sessionExpiryMs,
        metrics: core.metrics,
        log: core.log('broker'),
        failed: (err) => core.failures.report('broker', err, { step: 'persistence' }),
      }),
      ingest: (o, topic, suffix, payload, qos, resend) => ingest.handle(o, topic, suffix, payload, qos, resend),
      routeProfiled,
      resolveTopic: topicResolver(core.topics, (id, site, kind) => this.registry.find(id, site, kind)),
      unknownDevice,
      quota: quotaOf(config.quota),
      rateLimited,
      flooding: (o, on, rate) => this.deviceFlooding(o, on, rate),
      // The connections the broker closes when the gateway stops say nothing of the devices: their last seen
      // stays the time of their last message (an `absent` rule counts from it after the restart).
      deviceDisconnected: (id, clean) => {
        if (!this.stopping) this.registry.connectionClosed(id, clean, Date.now());
      },
      tls: this.tls && config.tls && { serving: this.tls, mqttsPort: config.tls.mqttsPort, wssPort: config.tls.wssPort },
      plain: config.tls?.plainListeners ?? true,
    });
  }

  /** One `device_flooding` warning per device over its quota (contract §11), cleared when it has calmed down. */
  private deviceFlooding(o: Origin, on: boolean, rate: number): void {
    const key = { site: o.site, type: FLOODING_ALARM, source: o.device };
    try {
      if (!on) return void this.alarms.clearByKey(key, `rule:${FLOODING_RULE}`);
      const texts = floodingTexts(o.device, rate, this.config.quota.rate);
      this.alarms.raise({ ...key, severity: 'warning', device: o.device, kind: o.kind, zone: o.zone, rule: FLOODING_RULE, ...texts });
    } catch (err) {
      this.log.error({ err, device: o.device, on }, 'device_flooding alarm not changed');
    }
  }

  /** Clears the `device_flooding` alarms last raised before `since` (a former run): no bucket remembers them. */
  private clearFloodingAlarms(since: number): void {
    for (const a of this.alarms.list({ type: FLOODING_ALARM, state: 'open', limit: 100_000 })) {
      if (a.rule !== FLOODING_RULE || a.state === 'cleared' || Date.parse(a.lastSeen) >= since) continue;
      this.alarms.clearByKey({ site: a.site, type: a.type, source: a.source }, `rule:${FLOODING_RULE}`);
    }
  }

  /** The gateway as a client of an external broker (docs/scale-out.md); it receives every device message. */
  private externalBroker(ingest: Ingest, unknownDevice: (topic: string, payload: Buffer) => void): GatewayBroker {
    const accounts = this.accounts;
    const dynsec = this.dynsec;
    return createExternalBroker(this.core, this.config, {
      suffixes: ['telemetry', 'event', 'status', 'cmd/result'],
      ingest: (o, topic, suffix, payload, qos) => ingest.handle(o, topic, suffix, payload, qos),
      resolveTopic: topicResolver(this.core.topics, (id, site, kind) => this.registry.find(id, site, kind)),
      unknownDevice,
      control: dynsec && { topic: DYNSEC_RESPONSE_TOPIC, handle: (payload) => dynsec.handleResponse(payload) },
      connected: accounts && (() => accounts.sync()),
      removeDevice: accounts && ((id) => accounts.deviceDeleted(id)),
    });
  }

  /** With an external broker and BROKER_ACCOUNTS=dynsec: Mosquitto's accounts kept in step with the registries. */
  private brokerAccounts(publish: Publish): MosquittoAccounts | undefined {
    const { config, core } = this;
    if (config.broker?.accounts !== 'dynsec') return undefined;
    const dynsec = new DynsecClient(publish, () => this.broker.listening, config.broker.accountTimeoutMs, core.log('accounts'));
    this.dynsec = dynsec;
    return new MosquittoAccounts({
      dynsec,
      topics: core.topics,
      log: core.log('accounts'),
      metrics: core.metrics,
      self: config.broker.username ?? '',
      devices: () => this.registry.list(),
      operators: () => this.operators.list(),
    });
  }

  /** The link to headquarters: alarms and work orders forwarded, signed commands from HQ sent to devices. */
  private upstreamLink(upstream: NonNullable<Config['upstream']>): Upstream {
    const { core, config } = this;
    return new Upstream({
      config: upstream,
      dir: join(config.dataDir, 'upstream'),
      timeZone: config.timeZone,
      bus: core.bus,
      sites: () => [...new Set(this.registry.list().map((d) => d.site))],
      commands: {
        siteOf: (id) => this.registry.get(id)?.site,
        send: (id, action, params) => this.commands.send(this.registry.require(id), action, params),
      },
      log: core.log('upstream'),
      metrics: core.metrics,
    });
  }
}

/** The HTTP listener's address as a link: the machine's name when it listens on every interface. */
function listenerUrl(host: string, port: number, scheme = 'http'): string {
  const name = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${name}:${port}`;
}

/** The profile when it is one devices publish with (MQTT); a Modbus profile gives no MQTT rights. */
function mqttProfile(profile: ReturnType<ProfileLoader['get']>): MqttProfile | undefined {
  return profile?.source === 'mqtt' ? profile : undefined;
}
