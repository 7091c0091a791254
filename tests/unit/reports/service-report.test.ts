import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { ServiceReports } from '../../../src/reports/service-report.js';
import type { InfluxQuery } from '../../../src/storage/influx/query.js';
import { StateStore } from '../../../src/storage/state/store.js';
import { WorkOrderStore } from '../../../src/workorders/work-order-store.js';
import type { WorkOrder } from '../../../src/workorders/model.js';

const TZ = 'Asia/Shanghai';
/** Local (UTC+8) wall time as epoch ms. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const iso = (ms: number) => new Date(ms).toISOString();
/** Now: 2025-11-04 06:00 local, a quarter of the way into the day. */
const NOW = at('2025-11-04T06:00:00');

const noInflux = { query: async () => [] } as unknown as InfluxQuery;

let dir: string;
let store: StateStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-'));
  store = new StateStore(dir);
  store.open();
});

afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function device(id: string, createdAt: number) {
  store.db
    .prepare("INSERT INTO devices (id, kind, site, zone, secret_hash, created_at) VALUES (?, 'energy', 'maple-court', 'b1-f1', 'x', ?)")
    .run(id, createdAt);
}

function workOrder(id: string, createdAt: number, dueAt: number): void {
  const wo: WorkOrder = {
    id,
    site: 'maple-court',
    title: id,
    category: 'electrical',
    priority: 'normal',
    status: 'open',
    createdAt: iso(createdAt),
    dueAt: iso(dueAt),
    overdue: false,
    history: [{ at: iso(createdAt), by: 'admin', status: 'open' }],
  };
  new WorkOrderStore(store).insert(wo);
}

describe('a report of the current period', () => {
  it('defaults to the current local day and clips availability and overdue to now', async () => {
    device('meter-1', at('2025-10-01T00:00:00'));
    store.db.prepare('INSERT INTO device_status_log (device, at, online) VALUES (?, ?, 1)').run('meter-1', at('2025-11-03T20:00:00'));
    workOrder('wo-due-before-now', at('2025-11-04T01:00:00'), at('2025-11-04T05:00:00'));
    workOrder('wo-due-after-now', at('2025-11-04T02:00:00'), at('2025-11-04T07:00:00'));
    const reports = new ServiceReports({ store, influx: noInflux, timeZone: TZ, now: () => NOW });
    const r = await reports.build('maple-court', 'day');
    expect([r.start, r.from, r.to, r.generatedAt]).toStrictEqual([
      '2025-11-04',
      '2025-11-03T16:00:00.000Z',
      '2025-11-04T16:00:00.000Z',
      '2025-11-03T22:00:00.000Z',
    ]);
    // Online for all of 00:00..06:00 (now), not 6 h of 24.
    expect(r.availability).toStrictEqual({
      pct: 100,
      byKind: [{ kind: 'energy', devices: 1, pct: 100 }],
      devices: [{ device: 'meter-1', kind: 'energy', zone: 'b1-f1', pct: 100 }],
    });
    // Due at 05:00 and open then: overdue. Due at 07:00, after now: not yet.
    expect([r.workOrders.opened, r.workOrders.overdue]).toStrictEqual([2, 1]);
  });

  it('leaves out a device registered after now', async () => {
    device('meter-late', at('2025-11-04T07:00:00'));
    const r = await new ServiceReports({ store, influx: noInflux, timeZone: TZ, now: () => NOW }).build('maple-court', 'week', '2025-11-03');
    expect(r.availability).toStrictEqual({ pct: null, byKind: [], devices: [] });
  });

  it('answers storage_unavailable when InfluxDB does not answer', async () => {
    const down = { query: async () => Promise.reject(new Error('connect ECONNREFUSED')) } as unknown as InfluxQuery;
    const build = new ServiceReports({ store, influx: down, timeZone: TZ, now: () => NOW }).build('maple-court', 'month');
    await expect(build).rejects.toThrow(GatewayError);
    await expect(build).rejects.toMatchObject({ code: 'storage_unavailable', statusCode: 503 });
  });
});
