/**
 * Notifications (contract §16): tells the people a site file names about its alarms, through webhooks, WeCom and
 * DingTalk robots and e-mail. Raises go to the entries without `after` (webhooks also hear of acknowledgements and
 * clears); an entry with `after` is an escalation, sent once when the alarm is still unacknowledged that long
 * after it was raised. Everything happens after the bus has delivered the alarm, and each channel has its own
 * queue, so a notification never delays the alarm's publish and a dead channel never delays another.
 */
import type { Alarm, AlarmChange, Severity } from '../alarms/model.js';
import type { Bus } from '../bus.js';
import { formatDuration } from '../config/duration.js';
import { LogLimiter, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { DueTimers } from '../shared/due-timers.js';
import type { SitePlaces } from '../shared/language.js';
import type { StateStore } from '../storage/state/store.js';
import { deliver, smtpTransport, type Delivery, type MailTransport, type SendContext } from './channels.js';
import { awaitingAck, held, immediateChannels, matches } from './match.js';
import { NotificationOutcomes, type NotificationRecord } from './outcomes.js';
import { ChannelQueue, type Job, type Outcome } from './queue.js';
import { channelType, type NotifySites, type SiteNotify } from './site-channels.js';
import type { NotifyEvent } from './texts.js';

/** NOTIFY_* and SMTP_URL. */
export interface NotifySettings {
  smtpUrl?: string;
  from: string;
  retryDelayMs: number;
  retryForMs: number;
  timeoutMs: number;
}

export interface NotifierDeps {
  bus: Bus;
  store: StateStore;
  /** Each site's channels and notify entries: the site model, which tells `sitesChanged()` of a new set. */
  sites: NotifySites;
  settings: NotifySettings;
  timeZone: string;
  /** The console's address, for the links (known once the API listens). */
  consoleUrl(): string;
  /** The open alarms, to re-arm escalations after a restart or a change of the site files. */
  openAlarms(): Alarm[];
  /** The alarm as it is now. */
  alarmOf(id: string): Alarm | undefined;
  /** The sites' time zones (contract §12); default: `timeZone` for every site. */
  places?: SitePlaces;
  log: Logger;
  metrics: Metrics;
  /** Deliveries held per channel (default 1000). */
  queueMax?: number;
}

interface Payload {
  delivery: Delivery;
  /** The row of `alarm_notifications`, once the first attempt is recorded. */
  seq?: number;
}

export class Notifier {
  readonly name = 'notifier';
  readonly sites: NotifySites;
  private readonly outcomes: NotificationOutcomes;
  private readonly queues = new Map<string, ChannelQueue<Payload>>();
  private readonly timers = new DueTimers();
  /** `alarm|channel` of the escalations queued since start (the table remembers those tried before). */
  private readonly escalated = new Set<string>();
  private readonly limiter = new LogLimiter(60_000);
  private readonly count: (labels: Record<string, string>) => void;
  private mail?: MailTransport;
  private closing = new AbortController();
  private started = false;

  constructor(private readonly deps: NotifierDeps) {
    this.outcomes = new NotificationOutcomes(deps.store);
    this.sites = deps.sites;
    this.count = deps.metrics.counter('gateway_notifications_total', 'Notification attempts by channel type and outcome (delivered, retrying, failed, dropped)');
    deps.metrics.gauge('gateway_notifications_queued', 'Notifications waiting to be delivered or retried', () =>
      [...this.queues.values()].reduce((n, q) => n + q.size, 0),
    );
  }

  async start(): Promise<void> {
    const { bus, settings } = this.deps;
    if (settings.smtpUrl) this.mail = smtpTransport(settings.smtpUrl, settings.timeoutMs);
    this.closing = new AbortController();
    // contract §16: never on the alarm's own path; the bus delivers synchronously, so the work waits a turn.
    bus.on('alarmRaised', this, ({ alarm }) => void setImmediate(() => this.safely(() => this.raised(alarm, Date.parse(alarm.firstSeen)))));
    bus.on('alarmChanged', this, ({ alarm, change, previousSeverity }) => void setImmediate(() => this.safely(() => this.changed(alarm, change, previousSeverity))));
    bus.on('alarmCleared', this, ({ alarm }) => void setImmediate(() => this.safely(() => this.cleared(alarm))));
    this.started = true;
    this.rearm();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.deps.bus.removeListeners(this);
    this.timers.clear();
    this.closing.abort();
    await Promise.all([...this.queues.values()].map((q) => q.stop()));
    this.queues.clear();
    this.mail?.close();
    this.mail = undefined;
  }

  /** The site files changed: the escalations of the open alarms follow the entries now in force. */
  sitesChanged(): void {
    if (this.started) this.safely(() => this.rearm());
  }

  /** The notifications of an alarm and their outcomes, oldest first. */
  notificationsOf(alarmId: string): NotificationRecord[] {
    return this.outcomes.of(alarmId);
  }

  private raised(alarm: Alarm, since: number): void {
    const site = this.sites.get(alarm.site);
    if (!this.started || !site || held(alarm)) return;
    for (const id of immediateChannels(site.notify, alarm)) this.enqueue(site, id, 'raised', alarm);
    this.arm(site, alarm, since);
  }

  private changed(alarm: Alarm, change: AlarmChange, previous?: Severity): void {
    const site = this.sites.get(alarm.site);
    if (!this.started || !site) return;
    // The silence it was raised under ended and it still holds: it is told now, as it is published now.
    if (change === 'unsilenced') return this.raised(alarm, Math.max(Date.parse(alarm.firstSeen), Date.now()));
    if (held(alarm)) return;
    if (change === 'acknowledged') {
      this.cancel(site, alarm.id);
      for (const id of immediateChannels(site.notify, alarm)) if (this.isWebhook(site, id)) this.enqueue(site, id, 'acknowledged', alarm);
      return;
    }
    if (previous && previous !== alarm.severity) {
      // A severity that changed (an escalation, a raise above it) reaches the entries it matches now and did not before.
      const before = new Set(immediateChannels(site.notify, alarm, previous));
      for (const id of immediateChannels(site.notify, alarm)) if (!before.has(id)) this.enqueue(site, id, 'raised', alarm);
      this.arm(site, alarm, Date.parse(alarm.firstSeen));
    }
  }

  private cleared(alarm: Alarm): void {
    const site = this.sites.get(alarm.site);
    if (!this.started || !site) return;
    if (!awaitingAck(alarm)) this.cancel(site, alarm.id);
    if (held(alarm)) return;
    for (const id of immediateChannels(site.notify, alarm)) if (this.isWebhook(site, id)) this.enqueue(site, id, 'cleared', alarm);
  }

  /** Arms the escalations of the entries the alarm matches, each due `after` from `since`; armed ones stay. */
  private arm(site: SiteNotify, alarm: Alarm, since: number): void {
    if (!awaitingAck(alarm)) return;
    site.notify.forEach((entry, i) => {
      const key = `${alarm.id}|${i}`;
      if (entry.after === undefined || !matches(entry, alarm) || this.timers.has(key)) return;
      this.timers.set(key, since + entry.after, () => this.safely(() => this.escalate(alarm.id, i)));
    });
  }

  /** Cancels the alarm's escalations and forgets the ones sent (the table keeps them), so memory stays bounded. */
  private cancel(site: SiteNotify, alarmId: string): void {
    site.notify.forEach((_e, i) => this.timers.cancel(`${alarmId}|${i}`));
    for (const c of site.channels) this.escalated.delete(`${alarmId}|${c.id}`);
  }

  /** An escalation is due: sent once per channel, if the alarm still waits for a person and still matches. */
  private escalate(alarmId: string, index: number): void {
    const alarm = this.deps.alarmOf(alarmId);
    const site = alarm && this.sites.get(alarm.site);
    const entry = site?.notify[index];
    if (!alarm || !site || !entry || entry.after === undefined || !awaitingAck(alarm) || held(alarm) || !matches(entry, alarm)) return;
    for (const id of entry.channels) {
      const key = `${alarmId}|${id}`;
      if (this.escalated.has(key) || this.outcomes.escalated(alarmId, id)) continue;
      this.escalated.add(key);
      this.enqueue(site, id, 'escalated', alarm, formatDuration(entry.after));
    }
  }

  /** After a start or a change of the site files: the escalations of every open alarm, from its raise. */
  private rearm(): void {
    this.timers.clear();
    for (const alarm of this.deps.openAlarms()) {
      const site = this.sites.get(alarm.site);
      if (site && !held(alarm)) this.arm(site, alarm, Date.parse(alarm.firstSeen));
    }
  }

  private isWebhook(site: SiteNotify, channelId: string): boolean {
    const c = site.channels.find((x) => x.id === channelId);
    return c !== undefined && channelType(c) === 'webhook';
  }

  private enqueue(site: SiteNotify, channelId: string, event: NotifyEvent, alarm: Alarm, after?: string): void {
    const channel = site.channels.find((c) => c.id === channelId);
    if (!channel) return;
    const timeZone = this.deps.places?.timeZone(site.id);
    const delivery: Delivery = { channel, event, site: site.id, alarm, language: site.language, ...(timeZone !== undefined && { timeZone }), after };
    this.queue(site.id, channelId).push({ delivery }, alarm.lifeSafety === true);
  }

  private queue(site: string, channelId: string): ChannelQueue<Payload> {
    const key = `${site}/${channelId}`;
    let q = this.queues.get(key);
    if (!q) {
      const { settings } = this.deps;
      q = new ChannelQueue<Payload>({
        send: (p) => deliver(p.delivery, this.sendContext()),
        outcome: (job, outcome, error) => this.safely(() => this.record(job, outcome, error)),
        retryDelayMs: settings.retryDelayMs,
        retryForMs: settings.retryForMs,
        max: this.deps.queueMax,
      });
      this.queues.set(key, q);
    }
    return q;
  }

  private sendContext(): SendContext {
    const { settings, timeZone } = this.deps;
    return { consoleUrl: this.deps.consoleUrl(), timeZone, timeoutMs: settings.timeoutMs, mail: this.mail, from: settings.from, signal: this.closing.signal };
  }

  /** Writes the outcome on the alarm, counts it, and logs what someone should look at. */
  private record(job: Job<Payload>, outcome: Outcome, error?: string): void {
    const { delivery: d } = job.payload;
    const ok = outcome === 'delivered';
    const err = outcome === 'dropped' ? `dropped: ${error}` : error;
    const now = Date.now();
    if (job.payload.seq === undefined) job.payload.seq = this.outcomes.insert(d.alarm.id, d.channel.id, d.event, now, ok, job.attempts, err);
    else this.outcomes.update(job.payload.seq, now, ok, job.attempts, err);
    const type = channelType(d.channel);
    this.count({ channel_type: type, outcome });
    const context = { site: d.site, channel: d.channel.id, type, alarm: d.alarm.id, event: d.event, attempts: job.attempts, error };
    if (outcome === 'delivered' || outcome === 'retrying') this.deps.log.debug(context, `notification ${outcome}`);
    else if (this.limiter.allow(`${d.site}/${d.channel.id}/${outcome}`) !== undefined) this.deps.log.warn(context, `notification ${outcome}`);
  }

  /** Runs a step whose failure must not reach a timer or the queue: logged, and the others go on. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.deps.log.error({ err }, 'notification step failed');
    }
  }
}
