/**
 * The topics of devices that speak their vendor's JSON (docs/integrators.md, "Device profiles"): a profiled
 * device may publish only on its profile's topics with `{device}` = itself, and read only its profile's command
 * topics; a bridge may publish on the topics of its profiles for any device registered to it, and read their
 * command topics. Answers come from the profiles in force at the moment, so a reload applies at once.
 */
import type { Origin } from '../bus.js';
import type { BridgeRecord } from '../devices/bridges.js';
import { LIFE_SAFETY_EVENTS } from '../devices/kinds/index.js';
import type { DeviceRecord } from '../devices/registry.js';
import { MAX_PAYLOAD_BYTES, type Ingest, type IngestResult } from '../ingest/pipeline.js';
import { mapMqtt, newEdgeState, type EdgeState } from '../profiles/mapping.js';
import type { MqttEventMapping, MqttProfile } from '../profiles/profile.js';
import { matchTopic, type CompiledTopic } from '../profiles/topic.js';
import { filterCovers, topicMatches } from '../topics.js';
import type { Principal } from './principal.js';

export interface ProfiledDeps {
  /** The MQTT profile in force with this id. */
  profile(id: string): MqttProfile | undefined;
}

/** The MQTT profile a device is registered with, if it is a profiled MQTT device. */
export function profileOf(deps: ProfiledDeps, device: DeviceRecord): MqttProfile | undefined {
  const id = device.source?.profile;
  return id === undefined ? undefined : deps.profile(id);
}

/** Whether `device` may publish `topic`: one of its profile's topics with `{device}` = its id. */
export function devicePublishes(profile: MqttProfile, device: DeviceRecord, topic: string): boolean {
  return profile.topics.some((t) => matchTopic(t, topic) === device.id);
}

/** The profiles of a bridge in force, in its order. */
export function bridgeProfiles(deps: ProfiledDeps, bridge: BridgeRecord): MqttProfile[] {
  return bridge.profiles.flatMap((id) => deps.profile(id) ?? []);
}

/**
 * Where a bridge's message goes: the first of its profiles with a topic matching, and the name the topic gives
 * the device ('' when the profile names devices in the payload, `deviceFrom`). Undefined: none matches.
 */
export function bridgeTopic(profiles: readonly MqttProfile[], topic: string): { profile: MqttProfile; name: string } | undefined {
  for (const profile of profiles) {
    for (const t of profile.topics) {
      const name = matchTopic(t, topic);
      if (name !== undefined) return { profile, name };
    }
  }
  return undefined;
}

/** The command topics of a profile as MQTT filters: `{device}` as `device` (or `+` for a bridge), parameters `+`. */
function commandFilters(profile: MqttProfile, device: string | undefined): string[] {
  return [...profile.commands.values()].map((c) => filterOf(c.topic, device));
}

function filterOf(topic: CompiledTopic, device: string | undefined): string {
  return topic.levels.map((l) => ('text' in l ? l.text : 'device' in l && device !== undefined ? device : '+')).join('/');
}

/** Whether a profiled device (`device` set) or a bridge may subscribe to `filter`: inside its command topics. */
export function mayReadCommands(profiles: readonly MqttProfile[], device: string | undefined, filter: string): boolean {
  return profiles.some((p) => commandFilters(p, device).some((allowed) => filterCovers(allowed, filter)));
}

/** Whether a message on `topic` may reach a profiled device or a bridge: one of its command topics. */
export function receivesCommand(profiles: readonly MqttProfile[], device: string | undefined, topic: string): boolean {
  return profiles.some((p) => commandFilters(p, device).some((allowed) => topicMatches(allowed, topic)));
}

export interface RoutingDeps extends ProfiledDeps {
  /** The device a bridge publishes for under `name`. */
  behind(bridge: string, name: string): DeviceRecord | undefined;
  ingest: Pick<Ingest, 'handleMapped'>;
  /** A bridge published for a device that is not registered to it (counted; told at most once a minute). */
  unknownDevice(bridge: BridgeRecord, profile: MqttProfile, topic: string, name: string): void;
}

/**
 * A profiled device's or a bridge's message with the device it is for found, its ingest not yet run: the broker's
 * quota (broker/quota.ts) counts it against that device, so each device behind a bridge has its own.
 */
export interface ProfiledMessage {
  /** The device it is for; absent when it is refused already (no such device behind the bridge). */
  origin?: Origin;
  /** Whether it may be a life-safety event: only decides the quota's exemption; ingest maps it fully. */
  lifeSafety(): boolean;
  /** Maps it through the device's profile and hands it to ingest. */
  ingest(): IngestResult;
}

type Route = (p: Principal | undefined, topic: string, payload: Buffer, qos: number) => ProfiledMessage | undefined;

/**
 * Ingest for profiled devices and bridges: finds the device (itself, or the one the bridge names by topic or
 * payload), maps the vendor's JSON through its profile and hands it to ingest. Undefined for anyone else.
 */
export function createProfiledRouting(deps: RoutingDeps): Route {
  /** Edge state per device and profile: which event mappings matched last (`edge: true`). */
  const edges = new Map<string, EdgeState>();
  const edgeOf = (device: string, profile: string) => {
    const key = `${device}\u0000${profile}`;
    let state = edges.get(key);
    if (!state) edges.set(key, (state = newEdgeState()));
    return state;
  };
  /**
   * One origin per device record: the InfluxDB sink keeps each series key by its origin object (a WeakMap), so a
   * fresh object per message would rebuild the key every time (as a native device's connection keeps one).
   */
  const origins = new WeakMap<DeviceRecord, Origin>();
  const originOf = (device: DeviceRecord) => {
    let o = origins.get(device);
    if (!o) origins.set(device, (o = { site: device.site, kind: device.kind, device: device.id, zone: device.zone }));
    return o;
  };
  const messageFor = (device: DeviceRecord, profile: MqttProfile, topic: string, payload: Buffer, qos: number, parsed?: unknown): ProfiledMessage => {
    let body = parsed;
    const read = () => (body ??= parseSmall(payload));
    return {
      origin: originOf(device),
      lifeSafety: () => mayBeLifeSafety(profile, read),
      ingest: () => {
        const edge = edgeOf(device.id, profile.id);
        return deps.ingest.handleMapped(originOf(device), topic, payload, qos, (b, at) => mapMqtt(profile, b, at, edge), body);
      },
    };
  };

  return (p, topic, payload, qos) => {
    if (p?.role === 'device') {
      const profile = profileOf(deps, p.device);
      return profile && messageFor(p.device, profile, topic, payload, qos);
    }
    if (p?.role !== 'bridge') return undefined;
    const found = bridgeTopic(bridgeProfiles(deps, p.bridge), topic);
    if (!found) return REFUSED;
    let { name } = found;
    let parsed: unknown;
    const { deviceFrom } = found.profile;
    if (name === '' && deviceFrom) {
      parsed = parseSmall(payload);
      const value = deviceFrom.path.get(parsed);
      name = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
    }
    const device = name === '' ? undefined : deps.behind(p.bridge.id, name);
    // The device's own profile maps it: a bridge may carry devices of several of its profiles on one topic.
    const profile = device && profileOf(deps, device);
    if (!device || !profile || !profile.topics.some((t) => matchTopic(t, topic) !== undefined)) {
      deps.unknownDevice(p.bridge, found.profile, topic, name);
      return REFUSED;
    }
    return messageFor(device, profile, topic, payload, qos, parsed);
  };
}

const REFUSED: ProfiledMessage = { lifeSafety: () => false, ingest: () => ({ accepted: false }) };

/** `kind/type` of each life-safety event. */
const LIFE_SAFETY = new Set(LIFE_SAFETY_EVENTS.map((e) => `${e.kind}/${e.type}`));
/** The event mappings of each profile that yield a life-safety event. */
const lifeSafetyMappings = new WeakMap<MqttProfile, readonly MqttEventMapping[]>();

/**
 * Whether a vendor message may carry a life-safety event: one of the profile's mappings to such an event matches
 * (an `edge` mapping counts on every matching message: this only exempts it from the quota). The payload is parsed
 * only for a profile that has such a mapping, once, and ingest reuses it.
 */
function mayBeLifeSafety(profile: MqttProfile, read: () => unknown): boolean {
  let mappings = lifeSafetyMappings.get(profile);
  if (!mappings) lifeSafetyMappings.set(profile, (mappings = profile.events.filter((e) => LIFE_SAFETY.has(`${profile.kind}/${e.type}`))));
  if (mappings.length === 0) return false;
  const body = read();
  return body !== undefined && mappings.some((e) => e.matches(e.path.get(body)));
}

/** The payload as JSON when it is small enough to be a message at all; undefined otherwise. */
function parseSmall(payload: Buffer): unknown {
  if (payload.length > MAX_PAYLOAD_BYTES) return undefined;
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    // Not JSON: no device can be named; the refusal says unknown_device.
    return undefined;
  }
}
