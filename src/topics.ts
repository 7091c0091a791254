import { KIND_NAMES, type KindName } from './devices/kinds/index.js';

/** Publishes a message through the gateway's broker (embedded or external); injected into the parts that publish. */
export type Publish = (
  topic: string,
  payload: string | Buffer,
  opts?: { qos?: 0 | 1; retain?: boolean },
) => Promise<void>;

/** Name patterns of contract §1. */
export const SITE_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const ZONE_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The suffixes a device may publish under its own prefix (contract §2). */
export const DEVICE_SUFFIXES = ['telemetry', 'event', 'status', 'cmd/result'] as const;
export type DeviceSuffix = (typeof DEVICE_SUFFIXES)[number];

export interface DeviceTopic {
  site: string;
  kind: KindName;
  device: string;
  /** What follows the device id, e.g. `telemetry` or `cmd/result`; may be anything the caller must vet. */
  suffix: string;
}

/** The only place topic strings are built and parsed. */
export class Topics {
  readonly base: string;
  private readonly baseLevels: number;

  constructor(base: string) {
    this.base = base;
    this.baseLevels = base.split('/').length;
  }

  /** `sc/{site}/{kind}/{device}/` — everything a device owns starts with this. */
  devicePrefix(site: string, kind: string, device: string): string {
    return `${this.base}/${site}/${kind}/${device}/`;
  }

  device(site: string, kind: string, device: string, suffix: DeviceSuffix | 'cmd'): string {
    return `${this.devicePrefix(site, kind, device)}${suffix}`;
  }

  /** contract §4: `sc/{site}/alarms/{severity}/{type}/{source}`, retained while the alarm is open. */
  alarm(site: string, severity: string, type: string, source: string): string {
    return `${this.base}/${site}/alarms/${severity}/${type}/${source}`;
  }

  /** contract §4: `sc/{site}/workorders/{id}`, retained while the work order is not closed. */
  workOrder(site: string, id: string): string {
    return `${this.base}/${site}/workorders/${id}`;
  }

  /** contract §11: `sc/{site}/incidents/{id}`, retained while the incident is open. */
  incident(site: string, id: string): string {
    return `${this.base}/${site}/incidents/${id}`;
  }

  /** Every alarm topic of a site: what the security desk subscribes to. */
  alarmsFilter(site: string): string {
    return `${this.base}/${site}/alarms/#`;
  }

  /** Every work order topic of a site. */
  workOrdersFilter(site: string): string {
    return `${this.base}/${site}/workorders/#`;
  }

  /** Every device's topic with this suffix (`sc/+/+/+/telemetry`): what a gateway on an external broker subscribes to. */
  deviceFilter(suffix: DeviceSuffix): string {
    return `${this.base}/+/+/+/${suffix}`;
  }

  /** contract §14: `sc/{site}/gateway/definitions`, retained: what the gateway knows about kinds, alarms and work orders. */
  definitions(site: string): string {
    return `${this.base}/${site}/gateway/definitions`;
  }

  rejected(site: string): string {
    return `${this.base}/${site}/gateway/rejected`;
  }

  /** Parses a device topic; undefined when it is not one (wrong base, bad names, unknown kind). */
  parseDevice(topic: string): DeviceTopic | undefined {
    const levels = topic.split('/');
    if (levels.length < this.baseLevels + 4) return undefined;
    for (let i = 0; i < this.baseLevels; i++) {
      if (levels[i] !== this.base.split('/')[i]) return undefined;
    }
    const [site, kind, device] = levels.slice(this.baseLevels, this.baseLevels + 3);
    if (!SITE_RE.test(site) || !isKind(kind) || !DEVICE_ID_RE.test(device)) return undefined;
    return { site, kind, device, suffix: levels.slice(this.baseLevels + 3).join('/') };
  }

  /** The subscription filters an operator of `site` may use (contract §3). */
  operatorFilters(site: string): string[] {
    const b = `${this.base}/${site}`;
    return [this.alarmsFilter(site), this.workOrdersFilter(site), `${b}/incidents/#`, `${b}/gateway/#`, `${b}/+/+/status`];
  }
}

function isKind(kind: string): kind is KindName {
  return (KIND_NAMES as readonly string[]).includes(kind);
}

/** True when every topic `filter` can match is matched by `allowed` as well (MQTT 3.1.1 §4.7 wildcards). */
export function filterCovers(allowed: string, filter: string): boolean {
  const a = allowed.split('/');
  const f = filter.split('/');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= f.length) return false;
    if (f[i] === '#') return false;
    if (a[i] === '+') continue; // a `+` in the filter is covered too
    if (a[i] !== f[i]) return false;
  }
  return a.length === f.length;
}

/** True when `topic` (no wildcards) matches `filter` [MQTT-4.7.1]. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // [MQTT-4.7.2-1] wildcards at the first level do not match topics starting with $
  if (t[0].startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * The topics of the link to headquarters (issue 6), under their own base (`UPSTREAM_BASE_TOPIC`, default `hq`):
 * `{base}/{site}/alarms/{id}`, `/workorders/{id}`, `/summaries/{kind}/{hour}`, `/commands`, `/commands/result`.
 */
export class UpstreamTopics {
  private readonly baseLevels: number;

  constructor(readonly base: string) {
    this.baseLevels = base.split('/').length;
  }

  alarm(site: string, id: string): string {
    return `${this.base}/${site}/alarms/${id}`;
  }

  workOrder(site: string, id: string): string {
    return `${this.base}/${site}/workorders/${id}`;
  }

  /** `hour` is the window's start as UTC ISO-8601 (`2025-11-27T02:00:00Z`): a topic name may not hold `+` [MQTT-4.7.1-1]. */
  summary(site: string, kind: string, hour: string): string {
    return `${this.base}/${site}/summaries/${kind}/${hour}`;
  }

  /** Where headquarters sends the commands for `site`; the gateway subscribes to it for each of its sites. */
  commands(site: string): string {
    return `${this.base}/${site}/commands`;
  }

  commandResult(site: string): string {
    return `${this.base}/${site}/commands/result`;
  }

  /** The site of a commands topic, or undefined when `topic` is not one. */
  parseCommands(topic: string): string | undefined {
    const levels = topic.split('/');
    if (levels.length !== this.baseLevels + 2 || levels.at(-1) !== 'commands') return undefined;
    if (levels.slice(0, this.baseLevels).join('/') !== this.base) return undefined;
    const site = levels[this.baseLevels];
    return SITE_RE.test(site) ? site : undefined;
  }
}
