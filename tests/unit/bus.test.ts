import { describe, expect, it } from 'vitest';
import { Bus } from '../../src/bus.js';
import { createLogger } from '../../src/log.js';

const origin = { site: 's', kind: 'fire' as const, device: 'd-1', zone: 'z' };

describe('Bus', () => {
  it.each([
    ['the registry subscribed first', true],
    ['the rules subscribed first', false],
  ])('delivers a fact emitted during another after it, to every listener (%s)', (_name, registryFirst) => {
    const bus = new Bus(createLogger('silent'));
    const seen: string[] = [];
    const registry = () =>
      bus.on('telemetryAccepted', { name: 'registry' }, (m) => bus.emit('deviceStatusChanged', { ...origin, online: true, ts: m.ts }));
    const rules = () => {
      bus.on('telemetryAccepted', { name: 'rules' }, () => void seen.push('telemetry'));
      bus.on('deviceStatusChanged', { name: 'rules' }, () => void seen.push('status'));
    };
    if (registryFirst) {
      registry();
      rules();
    } else {
      rules();
      registry();
    }
    bus.emit('telemetryAccepted', { ...origin, ts: 1, fields: { temperatureC: 20 } });
    // Everything is delivered before emit returns, in the order the facts happened.
    expect(seen).toStrictEqual(['telemetry', 'status']);
  });
});
