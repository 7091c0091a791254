import { describe, expect, it } from 'vitest';
import { filterCovers, topicMatches, Topics } from '../../src/topics.js';

describe('Topics', () => {
  const topics = new Topics('sc');

  it('parses a device topic into site, kind, device and suffix', () => {
    expect(topics.parseDevice('sc/maple-court/fire/fire-b3-f12-01/cmd/result')).toStrictEqual({
      site: 'maple-court',
      kind: 'fire',
      device: 'fire-b3-f12-01',
      suffix: 'cmd/result',
    });
  });

  it.each(['lift', 'water', 'power', 'patrol', 'sos', 'environment', 'waste'])('parses a device topic of the contract §9 kind %s', (kind) => {
    expect(topics.parseDevice(`sc/maple-court/${kind}/${kind}-b3-01/event`)).toStrictEqual({ site: 'maple-court', kind, device: `${kind}-b3-01`, suffix: 'event' });
  });

  it('does not parse topics under another base, an unknown kind or a bad site', () => {
    expect(topics.parseDevice('xx/maple-court/fire/d1/telemetry')).toBeUndefined();
    expect(topics.parseDevice('sc/maple-court/toaster/d1/telemetry')).toBeUndefined();
    expect(topics.parseDevice('sc/Maple/fire/d1/telemetry')).toBeUndefined();
    expect(topics.parseDevice('sc/maple-court/fire/d1')).toBeUndefined();
  });

  it("builds a site's definitions topic under the gateway's own branch, which operators may read", () => {
    expect(topics.definitions('maple-court')).toBe('sc/maple-court/gateway/definitions');
    expect(topics.operatorFilters('maple-court').some((f) => topicMatches(f, topics.definitions('maple-court')))).toBe(true);
    expect(topics.operatorFilters('oak-park').some((f) => topicMatches(f, topics.definitions('maple-court')))).toBe(false);
  });

  it('supports a base topic of several levels', () => {
    const deep = new Topics('acme/edge');
    expect(deep.device('s1', 'camera', 'c1', 'status')).toBe('acme/edge/s1/camera/c1/status');
    expect(deep.parseDevice('acme/edge/s1/camera/c1/status')?.device).toBe('c1');
  });
});

describe('filterCovers', () => {
  it('covers a narrower filter and refuses a wider one', () => {
    expect(filterCovers('sc/s1/alarms/#', 'sc/s1/alarms/critical/+/+')).toBe(true);
    expect(filterCovers('sc/s1/alarms/#', 'sc/s1/alarms')).toBe(true);
    expect(filterCovers('sc/s1/alarms/#', 'sc/s1/#')).toBe(false);
    expect(filterCovers('sc/s1/alarms/#', 'sc/+/alarms/#')).toBe(false);
    expect(filterCovers('sc/s1/+/+/status', 'sc/s1/fire/+/status')).toBe(true);
    expect(filterCovers('sc/s1/+/+/status', 'sc/s1/fire/d1/#')).toBe(false);
    expect(filterCovers('sc/s1/+/+/status', 'sc/s1/fire/d1/telemetry')).toBe(false);
  });
});

describe('topicMatches', () => {
  it('matches + and # as MQTT does, and keeps $ topics away from leading wildcards', () => {
    expect(topicMatches('sc/+/fire/+/status', 'sc/s1/fire/d1/status')).toBe(true);
    expect(topicMatches('sc/s1/#', 'sc/s1')).toBe(true);
    expect(topicMatches('sc/s1/+', 'sc/s1/a/b')).toBe(false);
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
  });
});
