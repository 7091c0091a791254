import { describe, expect, it } from 'vitest';
import { createProfiledRouting } from '../../../src/broker/profiled.js';
import type { BridgeRecord } from '../../../src/devices/bridges.js';
import type { DeviceRecord } from '../../../src/devices/registry.js';
import type { IngestResult } from '../../../src/ingest/pipeline.js';
import type { MqttProfile } from '../../../src/profiles/profile.js';
import { mqttProfile } from '../profiles/fixtures.js';

const LIFT = mqttProfile();

function device(id: string, bridge?: string): DeviceRecord {
  return {
    id,
    kind: 'lift',
    site: 'maple-court',
    zone: 'b1',
    tags: {},
    createdAt: 0,
    online: false,
    lastSeen: null,
    source: { profile: LIFT.id, ...(bridge && { bridge }) },
  };
}

function routing() {
  const ingested: Array<{ device: string; parsed: unknown }> = [];
  const behind = new Map([
    ['car-1', device('car-1', 'gw-1')],
    ['car-2', device('car-2', 'gw-1')],
  ]);
  const route = createProfiledRouting({
    profile: (id): MqttProfile | undefined => (id === LIFT.id ? LIFT : undefined),
    behind: (_bridge, name) => behind.get(name),
    ingest: {
      handleMapped: (o, _topic, _payload, _qos, _map, parsed): IngestResult => {
        ingested.push({ device: o.device, parsed });
        return { accepted: true };
      },
    },
    unknownDevice: () => undefined,
  });
  return { route, ingested };
}

const json = (o: unknown) => Buffer.from(JSON.stringify(o));
const record: BridgeRecord = { id: 'gw-1', site: 'maple-court', profiles: [LIFT.id], createdAt: 0 };
const bridge = { role: 'bridge' as const, bridge: record };

describe('profiled messages and the quota', () => {
  it('names the device behind a bridge, so each has its own quota, and ingests only when asked', () => {
    const { route, ingested } = routing();
    const a = route(bridge, 'acme/car-1/status', json({ data: { curFloor: 3 } }), 0);
    const b = route(bridge, 'acme/car-2/status', json({ data: { curFloor: 4 } }), 0);
    expect([a?.origin?.device, b?.origin?.device]).toStrictEqual(['car-1', 'car-2']);
    expect(ingested).toStrictEqual([]);
    b?.ingest();
    expect(ingested.map((i) => i.device)).toStrictEqual(['car-2']);
  });

  it("recognises a life-safety event by its profile's mapping, and ingest reuses the parsed payload", () => {
    const { route, ingested } = routing();
    const trapped = route(bridge, 'acme/car-1/alarm', json({ alarm: { code: 21 } }), 1)!;
    expect(trapped.lifeSafety()).toBe(true);
    trapped.ingest();
    expect(ingested[0].parsed).toStrictEqual({ alarm: { code: 21 } });
    expect(route(bridge, 'acme/car-1/alarm', json({ alarm: { code: 0 } }), 1)!.lifeSafety()).toBe(false);
    expect(route(bridge, 'acme/car-1/status', json({ data: { curFloor: 3 } }), 1)!.lifeSafety()).toBe(false);
    expect(route(bridge, 'acme/car-1/status', Buffer.from('not json'), 1)!.lifeSafety()).toBe(false);
  });

  it('answers no device for a name not behind the bridge: nothing to count it against', () => {
    const { route } = routing();
    const refused = route(bridge, 'acme/car-9/status', json({ data: { curFloor: 3 } }), 0)!;
    expect(refused.origin).toBeUndefined();
    expect(refused.ingest()).toStrictEqual({ accepted: false });
  });
});
