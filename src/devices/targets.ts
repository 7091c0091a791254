import type { Origin } from '../bus.js';
import type { KindName } from './kinds/index.js';
import type { Topics } from '../topics.js';

/** The registered device a topic belongs to, with its topic prefix. */
export interface Target {
  origin: Origin;
  prefix: string;
}

/** What topic resolution needs of a device record: a registry record or an ingest worker's directory entry. */
export interface TargetDevice {
  id: string;
  site: string;
  kind: KindName;
  zone: string;
}

/**
 * Finds the registered device a topic belongs to, for messages that carry no identity of their own: anonymous
 * mode and an external broker. The site and kind in the topic must match the record. One target per record
 * (a record replaced by a new one, its zone changed, gets a new target), so the storage sink's per-origin
 * series cache holds. `find` may have to ask (an ingest worker asks its primary).
 */
export function topicResolver<D extends TargetDevice>(
  topics: Topics,
  find: (id: string, site: string, kind: string) => D | undefined,
): (topic: string) => Target | undefined;
export function topicResolver<D extends TargetDevice>(
  topics: Topics,
  find: (id: string, site: string, kind: string) => D | undefined | Promise<D | undefined>,
): (topic: string) => Target | undefined | Promise<Target | undefined>;
export function topicResolver<D extends TargetDevice>(
  topics: Topics,
  find: (id: string, site: string, kind: string) => D | undefined | Promise<D | undefined>,
): (topic: string) => Target | undefined | Promise<Target | undefined> {
  const targets = new WeakMap<object, Target>();
  const targetOf = (d: D | undefined): Target | undefined => {
    if (!d) return undefined;
    let target = targets.get(d);
    if (!target) {
      target = { origin: { site: d.site, kind: d.kind, device: d.id, zone: d.zone }, prefix: topics.devicePrefix(d.site, d.kind, d.id) };
      targets.set(d, target);
    }
    return target;
  };
  return (topic) => {
    const t = topics.parseDevice(topic);
    if (!t) return undefined;
    const found = find(t.device, t.site, t.kind);
    return found instanceof Promise ? found.then(targetOf) : targetOf(found);
  };
}
