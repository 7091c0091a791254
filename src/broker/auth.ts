import type { AedesPublishPacket, Client, Subscription } from 'aedes';
import type { Principal } from './principal.js';
import type { BridgeRecord } from '../devices/bridges.js';
import type { DeviceRecord } from '../devices/registry.js';
import type { Metrics } from '../metrics.js';
import type { OperatorRecord } from '../operators/registry.js';
import type { RefusalLog } from '../refusal-log.js';
import type { LoginThrottle } from '../security/throttle.js';
import { verifiedCertNames, type DeviceCertAuth } from './client-cert.js';
import { DEVICE_SUFFIXES, filterCovers, topicMatches, type Topics } from '../topics.js';
import { bridgeProfiles, bridgeTopic, devicePublishes, mayReadCommands, profileOf, receivesCommand, type ProfiledDeps } from './profiled.js';

export interface AuthDeps {
  topics: Topics;
  metrics: Metrics;
  allowAnonymous: boolean;
  /** Refusals are logged through it: summarised per source address, so they cannot fill the disk. */
  refusals: RefusalLog;
  findDevice(id: string, password: Buffer | undefined): DeviceRecord | undefined;
  findOperator(id: string, password: Buffer | undefined): OperatorRecord | undefined;
  /** Bridges, and the profiles of profiled devices and bridges (absent: the gateway has neither). */
  findBridge?(id: string, password: Buffer | undefined): BridgeRecord | undefined;
  profiled?: ProfiledDeps;
  /** DEVICE_CERT_AUTH (docs/security.md#device-certificates); absent: off. */
  deviceCertAuth?: DeviceCertAuth;
  /** A registered device by id, for a client certificate that names it (no password involved). */
  deviceById?(id: string): DeviceRecord | undefined;
  /** Failed CONNECTs slowed, then refused, per source address and username (contract §15); absent: none. */
  throttle?: LoginThrottle;
}

export type { Principal } from './principal.js';

type AuthError = Error & { returnCode: number };

/** Refusals answered CONNACK 5 (not authorized) rather than 4 (bad user name or password): no password helps. */
// 'throttled': refused by the login throttle without checking the secret (contract §15).
const NOT_AUTHORIZED = new Set(['anonymous', 'certificate_mismatch', 'certificate_required', 'throttled']);

const principals = new WeakMap<Client, Principal>();

/** The principal authenticated on this connection; undefined for the broker's own publishes. */
export function principalOf(client: Client | null): Principal | undefined {
  return client ? principals.get(client) : undefined;
}

/**
 * The broker's security hooks (contract §3, aedes `authenticate` / `authorize*`).
 * Publishing is vetted by `canPublish`, which the broker combines with ingest.
 */
export function createAuth(deps: AuthDeps) {
  const refused = deps.metrics.counter('gateway_mqtt_refused_total', 'MQTT connections, publishes and subscriptions refused, by what and why');

  /**
   * contract §15: the login throttle around the checks. A blocked pair is refused without checking its secret
   * or certificate (CONNACK 5); a failure past the first few is answered late; a success never waits.
   */
  function authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: AuthError | null, ok: boolean | null) => void,
  ): void {
    const throttle = deps.throttle;
    if (!throttle) return checkCredentials(client, username, password, done);
    const source = sourceOf(client);
    const user = username ?? '';
    if (throttle.check(source, user).blocked) return refuse(client, 'connect', 'throttled', done, username);
    checkCredentials(client, username, password, (err, ok) => {
      if (ok) {
        throttle.succeeded(source, user);
        return done(err, ok);
      }
      const delayMs = throttle.failed(source, user);
      if (delayMs === 0) return done(err, ok);
      // A client that leaves while its reply waits frees its place at once; aedes ignores a late answer.
      const conn = client.conn as { once?: (e: string, f: () => void) => void; off?: (e: string, f: () => void) => void } | undefined;
      const gone = () => cancel();
      const cancel = throttle.later(source, delayMs, () => {
        conn?.off?.('close', gone);
        done(err, ok);
      });
      conn?.once?.('close', gone);
    });
  }

  function checkCredentials(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: AuthError | null, ok: boolean | null) => void,
  ): void {
    // contract §15: a verified client certificate naming a registered device logs in as that device, and as no other.
    const byCert = certifiedDevice(client, username);
    if (typeof byCert === 'string') return refuse(client, 'connect', byCert, done, username);
    if (byCert) return acceptDevice(client, byCert, done);
    if (username === undefined || username === '') {
      if (deps.allowAnonymous) {
        principals.set(client, { role: 'anonymous' });
        return done(null, true);
      }
      return refuse(client, 'connect', 'anonymous', done);
    }
    const device = deps.findDevice(username, password);
    // A device behind a bridge speaks only through it: its own credentials open no connection.
    if (device?.source?.bridge !== undefined) return refuse(client, 'connect', 'behind_bridge', done, username);
    // DEVICE_CERT_AUTH=required: a device's password alone opens nothing (operators and bridges still use theirs).
    if (device && deps.deviceCertAuth === 'required') return refuse(client, 'connect', 'certificate_required', done, username);
    if (device) return acceptDevice(client, device, done);
    const bridge = deps.findBridge?.(username, password);
    if (bridge) {
      principals.set(client, { role: 'bridge', bridge });
      return done(null, true);
    }
    const operator = deps.findOperator(username, password);
    if (operator) {
      const filters = operator.sites.flatMap((s) => deps.topics.operatorFilters(s));
      principals.set(client, { role: 'operator', operator, filters });
      return done(null, true);
    }
    refuse(client, 'connect', 'bad_credentials', done, username);
  }

  function acceptDevice(client: Client, device: DeviceRecord, done: (err: AuthError | null, ok: boolean | null) => void): void {
    const prefix = deps.topics.devicePrefix(device.site, device.kind, device.id);
    principals.set(client, { role: 'device', device, prefix, cmdTopic: `${prefix}cmd` });
    done(null, true);
  }

  /**
   * The device a connection's verified client certificate names (CN or a DNS SAN equal to a registered id): the
   * one the username names, or with no username the first named. A refusal reason when the certificate names a
   * device but the username someone else, or a device behind a bridge. Undefined when no certificate names a
   * registered device: the password decides then.
   */
  function certifiedDevice(client: Client, username: string | undefined): DeviceRecord | string | undefined {
    if (!deps.deviceCertAuth || deps.deviceCertAuth === 'off' || !deps.deviceById) return undefined;
    const names = verifiedCertNames(client);
    const named = (names ?? []).map((n) => deps.deviceById!(n)).filter((d) => d !== undefined);
    if (named.length === 0) return undefined;
    const device = username === undefined || username === '' ? named[0] : named.find((d) => d.id === username);
    // A certificate for device A never opens a connection as anybody else (contract §15).
    if (!device) return 'certificate_mismatch';
    if (device.source?.bridge !== undefined) return 'behind_bridge';
    return device;
  }

  function refuse(
    client: Client,
    what: string,
    reason: string,
    done: (err: AuthError | null, ok: boolean | null) => void,
    username?: string,
  ): void {
    refused({ what, reason });
    // contract §15: at most one line a minute per source, with the attempts since the line before.
    deps.refusals.noteAttempt(sourceOf(client), 'mqtt connection refused', reason, { client: client.id, username, reason }, 'info');
    // [MQTT-3.2.2.3] CONNACK return code 4 (bad user name or password) / 5 (not authorized)
    const err = Object.assign(new Error('not authorized'), { returnCode: NOT_AUTHORIZED.has(reason) ? 5 : 4 });
    done(err, false);
  }

  /**
   * True when this client may publish on `topic`; refusals are counted and logged. A bridge's `chatter` (see
   * bridgeChatter) is counted as `bridge_chatter` and not logged: it comes with every vendor gateway.
   */
  function canPublish(client: Client, topic: string, chatter = false): boolean {
    const p = principals.get(client);
    // Anonymous clients may act as any registered device, but only as a device: never on `cmd` or elsewhere.
    if (p?.role === 'anonymous' && isDevicePublishTopic(deps.topics, topic)) return true;
    if (p?.role === 'device') {
      // A profiled device publishes its vendor's JSON on its profile's topics, and nowhere else.
      const profile = deps.profiled && profileOf(deps.profiled, p.device);
      if (profile) {
        if (devicePublishes(profile, p.device, topic)) return true;
      } else if (p.device.source === undefined && topic.startsWith(p.prefix) && topic !== p.cmdTopic) {
        // `cmd` is the gateway's direction: a device publishing there is refused like a foreign topic.
        return true;
      }
    }
    if (p?.role === 'bridge' && deps.profiled && bridgeTopic(bridgeProfiles(deps.profiled, p.bridge), topic)) return true;
    if (chatter) {
      refused({ what: 'publish', reason: 'bridge_chatter' });
      return false;
    }
    refused({ what: 'publish', reason: p?.role === 'operator' ? 'operator_publish' : 'foreign_topic' });
    deps.refusals.note(sourceOf(client), 'mqtt publish refused', { client: client.id, role: p?.role, topic });
    return false;
  }

  /** Grants a subscription only inside the principal's filters; refusal is a SUBACK failure [MQTT-3.9.3]. */
  function authorizeSubscribe(
    client: Client,
    sub: Subscription,
    done: (err: Error | null, sub?: Subscription | null) => void,
  ): void {
    if (mayReadFilter(principals.get(client), sub.topic)) return done(null, sub);
    refused({ what: 'subscribe', reason: 'foreign_filter' });
    deps.refusals.note(sourceOf(client), 'mqtt subscription refused', { client: client.id, filter: sub.topic });
    done(null, null);
  }

  /**
   * Checked for every message about to reach a client, retained ones included, so nobody receives a
   * message they could not have subscribed to even if a filter slipped through.
   */
  function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    if (packet.topic === DROPPED_TOPIC) return null;
    const p = principals.get(client);
    if (mayReadTopic(p, packet.topic) && (p?.role !== 'operator' || isForwardableStatus(deps.topics, packet))) return packet;
    refused({ what: 'forward', reason: 'foreign_topic' });
    return null;
  }

  /**
   * Whether a refused publish is only a bridge's own chatter (zigbee2mqtt's `bridge/state`, ChirpStack's `join`
   * and `status` events): a topic outside its profiles but not in the gateway's tree, dropped without closing
   * its connection, since the vendor's gateway publishes it whatever the gateway wants.
   */
  function bridgeChatter(client: Client, topic: string): boolean {
    const p = principals.get(client);
    return p?.role === 'bridge' && !topic.startsWith('$') && topic !== deps.topics.base && !topic.startsWith(`${deps.topics.base}/`);
  }

  return { authenticate, canPublish, bridgeChatter, authorizeSubscribe, authorizeForward, forget: (c: Client) => principals.delete(c) };

  function mayReadFilter(p: Principal | undefined, filter: string): boolean {
    if (!p) return false;
    if (p.role === 'anonymous') return true;
    if (p.role === 'device') {
      const profile = deps.profiled && profileOf(deps.profiled, p.device);
      return profile ? mayReadCommands([profile], p.device.id, filter) : p.device.source === undefined && filter === p.cmdTopic;
    }
    if (p.role === 'bridge') return deps.profiled !== undefined && mayReadCommands(bridgeProfiles(deps.profiled, p.bridge), undefined, filter);
    return p.filters.some((allowed) => filterCovers(allowed, filter));
  }

  function mayReadTopic(p: Principal | undefined, topic: string): boolean {
    if (!p) return false;
    if (p.role === 'anonymous') return true;
    if (p.role === 'device') {
      const profile = deps.profiled && profileOf(deps.profiled, p.device);
      return profile ? receivesCommand([profile], p.device.id, topic) : p.device.source === undefined && topic === p.cmdTopic;
    }
    if (p.role === 'bridge') return deps.profiled !== undefined && receivesCommand(bridgeProfiles(deps.profiled, p.bridge), undefined, topic);
    return p.filters.some((allowed) => topicMatches(allowed, topic));
  }
}

export type Auth = ReturnType<typeof createAuth>;

/** Where a dropped message is sent instead of its topic: forwarded to nobody (aedes has no silent drop). */
export const DROPPED_TOPIC = '$gateway/dropped';

/**
 * A device's `status` payload that ingest refused still passes through the broker (aedes publishes whatever
 * `authorizePublish` lets through); operators receive only the two values the contract defines.
 */
function isForwardableStatus(topics: Topics, packet: AedesPublishPacket): boolean {
  if (!packet.topic.endsWith('/status') || topics.parseDevice(packet.topic)?.suffix !== 'status') return true;
  const text = packet.payload.toString();
  return text === 'online' || text === 'offline' || (packet.retain && packet.payload.length === 0);
}

/** The address a client connects from (TCP or WebSocket), or its client id when neither is known. */
export function sourceOf(client: Client): string {
  const address = (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? client.req?.socket?.remoteAddress;
  return address ?? `client:${client.id}`;
}

/** A topic a device publishes on: one of the device suffixes under some device's prefix. */
function isDevicePublishTopic(topics: Topics, topic: string): boolean {
  const suffix = topics.parseDevice(topic)?.suffix;
  return suffix !== undefined && (DEVICE_SUFFIXES as readonly string[]).includes(suffix);
}
