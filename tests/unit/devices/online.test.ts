import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bus } from '../../../src/bus.js';
import { DeviceRegistry } from '../../../src/devices/registry.js';
import { createLogger } from '../../../src/log.js';
import { StateStore } from '../../../src/storage/state/store.js';

const log = createLogger('silent');
const T = Date.parse('2025-11-04T01:00:00Z');
const SMOKE = { id: 'smoke-1', kind: 'fire', site: 'maple-court', zone: 'b3-f12' } as const;
const ORIGIN = { site: SMOKE.site, kind: SMOKE.kind, device: SMOKE.id, zone: SMOKE.zone };

let dir: string;
let store: StateStore;
let bus: Bus;
let registry: DeviceRegistry;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'online-'));
  store = new StateStore(dir);
  store.open();
  bus = new Bus(log);
  registry = new DeviceRegistry(store, bus, log, 3_600_000);
  registry.start();
  registry.register(SMOKE);
});

afterEach(async () => {
  registry.stop();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('online state when a connection closes', () => {
  it('keeps a device that published and said goodbye online (mosquitto_pub, a sensor that wakes and sleeps)', () => {
    registry.touch(SMOKE.id, T);
    registry.connectionClosed(SMOKE.id, true, T + 100);
    expect(registry.get(SMOKE.id)).toMatchObject({ online: true, lastSeen: T });
  });

  it('marks a device offline when its connection drops without DISCONNECT', () => {
    registry.touch(SMOKE.id, T);
    registry.connectionClosed(SMOKE.id, false, T + 100);
    expect(registry.get(SMOKE.id)).toMatchObject({ online: false });
  });

  it('marks a device that reports its status offline whenever its last connection closes', () => {
    bus.emit('statusReceived', { ...ORIGIN, online: true, ts: T });
    registry.connectionClosed(SMOKE.id, true, T + 100);
    expect(registry.get(SMOKE.id)).toMatchObject({ online: false });
  });
});
