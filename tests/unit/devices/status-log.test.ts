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

let dir: string;
let store: StateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'status-log-'));
  store = new StateStore(dir);
  store.open();
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A started registry that flushes only when told to. */
function registry(): DeviceRegistry {
  const r = new DeviceRegistry(store, new Bus(log), log, 3_600_000);
  r.start();
  return r;
}

const logRows = () => store.db.prepare('SELECT device, at, online FROM device_status_log ORDER BY rowid').all();

describe('device status log', () => {
  it('records each online/offline change at its time, written with the next flush', () => {
    const r = registry();
    r.register({ id: 'lamp-1', kind: 'lighting', site: 'maple-court', zone: 'b1' });
    r.setOnline('lamp-1', true, T);
    r.touch('lamp-1', T + 1000);
    r.setOnline('lamp-1', true, T + 2000);
    r.setOnline('lamp-1', false, T + 3000);
    expect(logRows()).toStrictEqual([]);
    r.flush();
    expect(logRows()).toStrictEqual([
      { device: 'lamp-1', at: T, online: 1 },
      { device: 'lamp-1', at: T + 3000, online: 0 },
    ]);
    r.stop();
  });

  it('logs offline at the stop for every device still online, so the downtime counts as unavailable', () => {
    const r = registry();
    r.register({ id: 'lamp-1', kind: 'lighting', site: 'maple-court', zone: 'b1' });
    r.register({ id: 'lamp-2', kind: 'lighting', site: 'maple-court', zone: 'b1' });
    r.setOnline('lamp-1', true, T);
    const before = Date.now();
    r.stop();
    const rows = logRows() as Array<{ device: string; at: number; online: number }>;
    expect(rows.slice(0, 1)).toStrictEqual([{ device: 'lamp-1', at: T, online: 1 }]);
    expect(rows.slice(1).map((x) => [x.device, x.online])).toStrictEqual([['lamp-1', 0]]);
    expect(rows[1].at).toBeGreaterThanOrEqual(before);
    r.stop();
    expect(logRows()).toHaveLength(2);
  });

  it('closes at its last seen the status of a device left online by a crash', () => {
    const crashed = registry();
    crashed.register({ id: 'lamp-1', kind: 'lighting', site: 'maple-court', zone: 'b1' });
    crashed.setOnline('lamp-1', true, T);
    crashed.touch('lamp-1', T + 5000);
    crashed.flush();
    // No stop(): the process died. The next start finds the log saying online.
    const next = registry();
    expect(logRows()).toStrictEqual([
      { device: 'lamp-1', at: T, online: 1 },
      { device: 'lamp-1', at: T + 5000, online: 0 },
    ]);
    next.stop();
    expect(logRows()).toHaveLength(2);
  });

  it('forgets the log of a deleted device, written or pending', () => {
    const r = registry();
    r.register({ id: 'lamp-1', kind: 'lighting', site: 'maple-court', zone: 'b1' });
    r.setOnline('lamp-1', true, T);
    r.flush();
    r.setOnline('lamp-1', false, T + 1000);
    r.delete('lamp-1');
    r.flush();
    expect(logRows()).toStrictEqual([]);
    r.stop();
  });
});
