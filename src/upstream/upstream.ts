/**
 * The upstream link to headquarters (issue 6): alarm and work order changes and hourly telemetry summaries go
 * to the central broker through a disk queue, at least once and in order, each with a per-site `seq`; signed
 * commands from trusted accounts come back and go to the devices through the gateway's Commands part.
 */
import type { Bus, BusEvents } from '../bus.js';
import type { UpstreamSettings } from '../config/env.js';
import type { Logger } from '../log.js';
import { truncatePayload } from '../log.js';
import type { Labels, Metrics } from '../metrics.js';
import { UpstreamTopics } from '../topics.js';
import { CommandVerifier, type HqCommand } from './commands.js';
import { UpstreamLink } from './link.js';
import { UpstreamQueue, type MessageClass } from './queue.js';
import { Sender } from './sender.js';
import { SummaryWindow, nextBoundary, topicHour } from './summaries.js';

/** Publishes awaiting their PUBACK at most. */
const MAX_IN_FLIGHT = 32;
/** How often the sites (and so the command subscriptions) are looked at again when UPSTREAM_SITES is unset. */
const SITES_REFRESH_MS = 10_000;
/** A refused command is logged at warn at most this often per outcome; the rest go to debug (and all are counted). */
const REFUSED_LOG_INTERVAL_MS = 10_000;

/** The `upstream` part of the configuration (UPSTREAM_* variables). */
export type UpstreamConfig = UpstreamSettings;

/** How a trusted command reaches a device: the gateway's Commands part and registry, injected. */
export interface UpstreamCommandSender {
  /** The site of a registered device, or undefined. */
  siteOf(device: string): string | undefined;
  /** Sends the command and resolves with the device's `cmd/result` body; rejects on timeout. */
  send(device: string, action: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface UpstreamDeps {
  config: UpstreamConfig;
  /** `DATA_DIR/upstream`. */
  dir: string;
  timeZone: string;
  bus: Bus;
  /** Every site with a registered device (used when `config.sites` is unset). */
  sites(): string[];
  commands: UpstreamCommandSender;
  log: Logger;
  metrics: Metrics;
}

export interface UpstreamStatus {
  connected: boolean;
  /** Messages queued and not yet acknowledged by the central broker. */
  queued: number;
}

export class Upstream {
  /** The stage its failures are counted under. */
  readonly name = 'upstream';
  private readonly topics: UpstreamTopics;
  private readonly queue: UpstreamQueue;
  private readonly link: UpstreamLink;
  private readonly sender: Sender;
  private readonly verifier: CommandVerifier;
  private readonly window = new SummaryWindow();
  private sites = new Set<string>();
  /** When the current window's counting began: after its nominal start means it is partial. */
  private windowStart = 0;
  private summaryTimer?: NodeJS.Timeout;
  private sitesTimer?: NodeJS.Timeout;
  private stopped = false;
  private readonly refusedLoggedAt = new Map<string, number>();
  private count: Record<'sent' | 'dropped' | 'commands' | 'disconnects', (labels?: Labels, by?: number) => void> = {
    sent: () => undefined,
    dropped: () => undefined,
    commands: () => undefined,
    disconnects: () => undefined,
  };

  constructor(private readonly deps: UpstreamDeps) {
    const { config, log } = deps;
    this.topics = new UpstreamTopics(config.baseTopic);
    this.verifier = new CommandVerifier(config.trusted);
    this.queue = new UpstreamQueue({
      dir: deps.dir,
      maxBytes: config.maxBytes,
      log,
      dropped: (cls, reason, n) => this.count.dropped({ class: cls, reason }, n),
      appended: () => this.sender.pump(),
    });
    this.link = new UpstreamLink({
      url: config.url,
      username: config.username,
      password: config.password,
      clientId: config.clientId,
      log,
      up: () => this.sender.connected(),
      down: () => this.count.disconnects(),
      message: (topic, payload) => this.onCommand(topic, payload),
    });
    this.sender = new Sender({
      queue: this.queue,
      link: this.link,
      maxInFlight: MAX_IN_FLIGHT,
      log,
      sent: (e) => this.count.sent({ class: e.cls }),
      refused: (e, err) => {
        this.count.dropped({ class: e.cls, reason: 'refused' });
        log.error({ err, topic: e.topic, reason: err.code }, 'upstream message refused by the central broker');
      },
    });
  }

  async start(): Promise<void> {
    const { bus, metrics, config } = this.deps;
    this.count = {
      sent: metrics.counter('gateway_upstream_sent_total', 'Messages the central broker acknowledged, by class'),
      dropped: metrics.counter('gateway_upstream_dropped_total', 'Upstream messages dropped, by class and reason (bound, refused, corrupt, write_failed)'),
      commands: metrics.counter('gateway_upstream_commands_total', 'Commands from headquarters, by outcome'),
      disconnects: metrics.counter('gateway_upstream_disconnects_total', 'Times the link to the central broker went down'),
    };
    metrics.gauge('gateway_upstream_connected', 'Whether the link to the central broker is up (1) or down (0)', () => (this.link.connected ? 1 : 0));
    metrics.gauge('gateway_upstream_queued_messages', 'Messages queued for the central broker', () => this.queue.pendingMessages);
    metrics.gauge('gateway_upstream_queued_bytes', 'Bytes queued for the central broker', () => this.queue.pendingBytes);
    await this.queue.open();
    this.stopped = false;
    bus.on('alarmRaised', this, ({ alarm }) => this.forwardAlarm(alarm, 'raised'));
    bus.on('alarmChanged', this, ({ alarm, change, previousSeverity }) => this.forwardAlarm(alarm, change, previousSeverity));
    bus.on('alarmCleared', this, ({ alarm }) => this.forwardAlarm(alarm, 'cleared'));
    bus.on('workOrderChanged', this, (e) => this.forwardWorkOrder(e));
    bus.on('telemetryAccepted', this, (m) => {
      // Without UPSTREAM_SITES every site with a device is forwarded, and telemetry only comes from devices.
      if (!config.sites || this.sites.has(m.site)) this.window.add(m.site, m.kind, m.zone, m.device, m.fields);
    });
    this.refreshSites();
    if (!config.sites) {
      this.sitesTimer = setInterval(() => this.refreshSites(), SITES_REFRESH_MS);
      this.sitesTimer.unref();
    }
    this.windowStart = Date.now();
    this.armSummary();
    this.link.start();
    this.deps.log.info({ sites: config.sites ?? 'registered', baseTopic: config.baseTopic, clientId: config.clientId }, 'upstream started');
  }

  status(): UpstreamStatus {
    return { connected: this.link.connected, queued: this.queue.pendingMessages };
  }

  /** Queues the summary of the window so far (partial), then stops sending; what is queued stays on disk. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.summaryTimer);
    clearInterval(this.sitesTimer);
    this.deps.bus.removeListeners(this);
    this.emitSummaries(Date.now(), true);
    await this.sender.stop();
    await this.link.stop();
    await this.queue.close();
  }

  private forwarded(site: string): boolean {
    if (!this.sites.has(site) && !this.deps.config.sites) this.refreshSites();
    return this.sites.has(site);
  }

  private refreshSites(): void {
    const sites = this.deps.config.sites ?? this.deps.sites();
    this.sites = new Set(sites);
    this.link.subscribe([...this.sites].sort().map((s) => this.topics.commands(s)));
  }

  private forwardAlarm(alarm: BusEvents['alarmRaised']['alarm'], change: string, previousSeverity?: string): void {
    if (!this.forwarded(alarm.site)) return;
    const body = previousSeverity === undefined ? { change, alarm } : { change, previousSeverity, alarm };
    this.enqueue('event', alarm.site, this.topics.alarm(alarm.site, alarm.id), body);
  }

  private forwardWorkOrder({ workOrder, change, previousStatus }: BusEvents['workOrderChanged']): void {
    if (!this.forwarded(workOrder.site)) return;
    const body = previousStatus === undefined ? { change, workOrder } : { change, previousStatus, workOrder };
    this.enqueue('event', workOrder.site, this.topics.workOrder(workOrder.site, workOrder.id), body);
  }

  /** Every message carries the gateway's client id and when it was queued; the queue adds `seq`. */
  private enqueue(cls: MessageClass, site: string, topic: string, body: Record<string, unknown>): void {
    const payload = { gateway: this.deps.config.clientId, at: new Date().toISOString(), ...body };
    this.queue.enqueue(cls, site, topic, payload).catch((err: unknown) => {
      this.count.dropped({ class: cls, reason: 'write_failed' });
      this.deps.log.error({ err, site, topic }, 'upstream message not queued');
    });
  }

  /** Arms the timer for the end of the current window (windows aligned in the gateway's time zone). */
  private armSummary(after = Date.now()): void {
    const { summaryIntervalMs } = this.deps.config;
    // `after` is the window just emitted: a timer may fire a little early, and that window must not come twice.
    const end = nextBoundary(Math.max(Date.now(), after), summaryIntervalMs, this.deps.timeZone);
    this.summaryTimer = setTimeout(() => {
      this.emitSummaries(end, false);
      this.armSummary(end);
    }, end - Date.now());
    this.summaryTimer.unref();
  }

  /**
   * Queues one summary per site and kind for the window that holds the instant before `at` (nothing for an
   * empty window). Partial: the gateway started inside it, or is stopping inside it.
   */
  private emitSummaries(at: number, stopping: boolean): void {
    const { summaryIntervalMs } = this.deps.config;
    const to = nextBoundary(at - 1, summaryIntervalMs, this.deps.timeZone);
    const from = to - summaryIntervalMs;
    const partial = stopping || this.windowStart > from;
    this.windowStart = to;
    if (this.window.empty) return;
    for (const s of this.window.drain(from, to, this.deps.timeZone, partial)) {
      this.enqueue('summary', s.site, this.topics.summary(s.site, s.kind, topicHour(from)), { summary: s });
    }
  }

  private onCommand(topic: string, payload: Buffer): void {
    const site = this.topics.parseCommands(topic);
    if (site === undefined || !this.sites.has(site)) return;
    const v = this.verifier.verify(site, payload);
    if (!v.ok) {
      this.count.commands({ outcome: v.outcome });
      this.logRefused({ site, outcome: v.outcome, reason: v.reason, by: v.by, id: v.id, payload: truncatePayload(payload) });
      return;
    }
    // Not awaited: the broker's message callback cannot wait. execute() turns a failed or unanswered command
    // into a result, and enqueue() logs and counts a result it could not queue.
    void this.execute(site, v.command);
  }

  /** Sends a trusted command to its device and queues the result for headquarters. */
  private async execute(site: string, c: HqCommand): Promise<void> {
    const { log, commands } = this.deps;
    log.info({ site, device: c.device, action: c.action, id: c.id, by: c.by }, 'upstream command accepted');
    let outcome: string;
    let result: Record<string, unknown>;
    if (commands.siteOf(c.device) !== site) {
      outcome = 'rejected';
      result = { ok: false, error: `device ${c.device} is not registered at site ${site}` };
    } else {
      try {
        const body = await commands.send(c.device, c.action, c.params);
        outcome = body.ok === true ? 'ok' : 'failed';
        result = { ok: body.ok === true, ...(typeof body.error === 'string' ? { error: body.error } : {}), result: body };
      } catch (err) {
        outcome = 'unanswered';
        result = { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    this.count.commands({ outcome });
    log.info({ site, device: c.device, id: c.id, outcome }, 'upstream command answered');
    if (this.stopped) return log.warn({ site, id: c.id }, 'upstream command result not sent: the gateway is stopping');
    this.enqueue('event', site, this.topics.commandResult(site), { id: c.id, device: c.device, action: c.action, by: c.by, ...result });
  }

  /** Refused commands at warn, at most once per outcome per interval (an untrusted sender could flood the log). */
  private logRefused(data: { site: string; outcome: string; reason: string; by?: string; id?: string; payload: string }): void {
    const now = Date.now();
    const last = this.refusedLoggedAt.get(data.outcome) ?? 0;
    if (now - last < REFUSED_LOG_INTERVAL_MS) return this.deps.log.debug(data, 'upstream command refused');
    this.refusedLoggedAt.set(data.outcome, now);
    this.deps.log.warn(data, 'upstream command refused');
  }
}
