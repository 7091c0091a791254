import { describe, expect, it } from 'vitest';
import { parseScenario, resolveTargets } from '../../../devices/scenarios.js';
import { expandSite, loadSite } from '../../../devices/site.js';

const demo = expandSite(await loadSite('devices/sites/demo.yaml'));

describe('scenarios on the command line', () => {
  it('reads name:target@at+for', () => {
    expect(parseScenario('fire:b2-f3@30s+5m')).toStrictEqual({ scenario: 'fire', target: 'b2-f3', atMs: 30_000, forMs: 300_000, text: 'fire:b2-f3@30s+5m' });
    expect(parseScenario('drop:camera-street-01')).toMatchObject({ scenario: 'drop', target: 'camera-street-01', atMs: 0, forMs: undefined });
  });

  it('refuses an unknown scenario by name, listing the known ones', () => {
    expect(() => parseScenario('flood:b1')).toThrow(/unknown scenario flood \(fire, fire-fault, door-forced/);
  });

  it('refuses a malformed step, showing the expected form', () => {
    expect(() => parseScenario('fire b2-f3')).toThrow(/expected name:target\[@at\]\[\+for\]/);
    expect(() => parseScenario('fire:b2-f3@soon')).toThrow(/expected name:target/);
  });

  it('spreads a fire over the origin and up to three more detectors of the zone', () => {
    const ids = resolveTargets(parseScenario('fire:b2-f3'), demo).map((d) => d.id);
    expect(ids).toStrictEqual(['fire-b2-f3-01', 'fire-b2-f3-02']);
    expect(resolveTargets(parseScenario('fire:carpark'), demo).map((d) => d.id)).toStrictEqual([
      'fire-carpark-01',
      'fire-carpark-02',
      'fire-carpark-03',
      'fire-carpark-04',
    ]);
  });

  it('takes one device of the right kind and role for a single-device fault', () => {
    expect(resolveTargets(parseScenario('fire-lane:carpark'), demo).map((d) => d.id)).toStrictEqual(['parking-carpark-fl01']);
    expect(resolveTargets(parseScenario('door-forced:b1'), demo).map((d) => d.id)).toStrictEqual(['access-b1-lobby-01']);
    expect(resolveTargets(parseScenario('meter-tamper:b3'), demo).map((d) => d.id)).toStrictEqual(['energy-b3-power-01']);
  });

  it('trips every lamp of a circuit', () => {
    expect(resolveTargets(parseScenario('circuit-trip:b1-f2'), demo).map((d) => d.id)).toStrictEqual(['lighting-b1-f2-01', 'lighting-b1-f2-02']);
  });

  it('acts on a device named directly only when the scenario fits its kind', () => {
    expect(resolveTargets(parseScenario('lamp-failure:lighting-street-05'), demo).map((d) => d.id)).toStrictEqual(['lighting-street-05']);
    expect(resolveTargets(parseScenario('lamp-failure:fire-b1-f1-01'), demo)).toStrictEqual([]);
  });
});
