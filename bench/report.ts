/**
 * How long a service report takes as a site grows: `npm run bench:report [-- --devices 1000,5000 --days 30]`.
 *
 * For each size: a fresh state store and InfluxDB database with a month of history shaped like the demo
 * community (a meter per 50 devices every 15 min, a car park counter per 1,000 devices every 5 min, a door
 * per 10 devices with 40 access events a day, two status changes per device a day, an alarm per 2.5 devices
 * and a work order per 10), then the month's and the last day's report, best of three. The first size is
 * the baseline: the ratio says how the time grows with the devices (linear would be the size ratio).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AlarmService } from '../src/alarms/service.js';
import { Bus } from '../src/bus.js';
import { createLogger } from '../src/log.js';
import { currentPeriodStart } from '../src/reports/period.js';
import { ServiceReports } from '../src/reports/service-report.js';
import { eventLine, seriesLine, telemetrySeries } from '../src/storage/influx/points.js';
import { InfluxQuery } from '../src/storage/influx/query.js';
import { StateStore } from '../src/storage/state/store.js';
import { Topics } from '../src/topics.js';
import { WorkOrderService } from '../src/workorders/service.js';
import { startInflux, type InfluxServer } from '../tests/helpers/influx.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '1000,5000' }, days: { type: 'string', default: '30' } } });
const SIZES = values.devices.split(',').map(Number);
const DAYS = Number(values.days);
const SITE = 'bench-court';
const TZ = 'Asia/Shanghai';
const DAY = 86_400_000;
const HOUR = 3_600_000;

async function write(influx: InfluxServer, db: string, lines: string[]): Promise<void> {
  for (let i = 0; i < lines.length; i += 20_000) {
    const res = await fetch(`${influx.url}/write?db=${db}&precision=ms`, { method: 'POST', body: lines.slice(i, i + 20_000).join('\n') });
    if (!res.ok) throw new Error(`write: ${res.status} ${await res.text()}`);
  }
}

async function buildSite(influx: InfluxServer, devices: number, dir: string) {
  const db = `bench_report_${devices}`;
  await influx.query(`CREATE DATABASE ${db}`);
  const store = new StateStore(dir);
  store.open();
  const now = Date.now();
  const start = now - DAYS * DAY;
  const insert = store.db.prepare('INSERT INTO devices (id, kind, site, zone, tags, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const status = store.db.prepare('INSERT INTO device_status_log (device, at, online) VALUES (?, ?, ?)');
  const lines: string[] = [];
  const kinds = ['fire', 'lighting', 'access', 'camera', 'parking', 'energy'] as const;
  store.db.transaction(() => {
    for (let i = 0; i < devices; i++) {
      const kind = i % 50 === 0 ? 'energy' : i % 1000 === 1 ? 'parking' : i % 10 === 2 ? 'access' : kinds[i % 4];
      const zone = `b${(i % 40) + 1}-f${(i % 18) + 1}`;
      const id = `${kind}-${i}`;
      insert.run(id, kind, SITE, zone, '{}', 'x', start - DAY);
      for (let d = 0; d < DAYS; d++) {
        status.run(id, start + d * DAY + (i % 600) * 1000, 1);
        if (d % 2 === 0) status.run(id, start + d * DAY + 3 * HOUR, 0);
      }
      const series = telemetrySeries(kind, SITE, id, zone);
      if (kind === 'energy') for (let t = start, kwh = 0; t < now; t += 15 * 60_000, kwh += 2.5) lines.push(seriesLine(series, { energyKwh: kwh }, t));
      if (kind === 'parking') for (let t = start; t < now; t += 5 * 60_000) lines.push(seriesLine(series, { capacity: 400, freeSpaces: (t / 60_000) % 400 }, t));
      if (kind === 'access') {
        for (let d = 0; d < DAYS; d++) for (let e = 0; e < 40; e++) lines.push(eventLine(SITE, 'access', id, zone, e % 20 ? 'access_granted' : 'access_denied', {}, start + d * DAY + e * 1_800_000 + (i % 1000)));
      }
    }
  })();
  await write(influx, db, lines);

  const log = createLogger('silent');
  const bus = new Bus(log);
  const topics = new Topics('sc');
  const publish = async () => {};
  const alarms = new AlarmService({ store, bus, topics, publish, writeLine: () => {}, log });
  const workOrders = new WorkOrderService({ store, bus, topics, publish, alarms, dueMs: { urgent: HOUR, high: 4 * HOUR, normal: DAY, low: 3 * DAY }, log });
  for (let i = 0; i < devices / 2.5; i++) {
    const { alarm } = alarms.raise({ site: SITE, type: `t${i % 12}`, severity: 'major', source: `s${i}`, rule: 'bench', message: 'bench', at: start + (i * 7919) % (DAYS * DAY) });
    if (i % 2) alarms.ack(alarm.id, 'desk');
    if (i % 3) alarms.clear(alarm.id, 'desk');
  }
  for (let i = 0; i < devices / 10; i++) {
    const wo = workOrders.create({ site: SITE, title: 'bench', category: `c${i % 6}`, priority: 'normal', by: 'desk' });
    if (i % 2) workOrders.update(wo.id, { status: 'in_progress' }, 'desk');
  }
  const reports = new ServiceReports({ store, influx: new InfluxQuery({ url: influx.url, db, timeoutMs: 60_000 }), timeZone: TZ });
  return { store, reports, points: lines.length, now };
}

async function best(fn: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

const influx = await startInflux();
const rows: Array<{ devices: number; points: number; month: number; day: number }> = [];
try {
  for (const devices of SIZES) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-report-'));
    process.stderr.write(`building ${devices} devices, ${DAYS} days of history…\n`);
    const site = await buildSite(influx, devices, dir);
    const month = await best(() => site.reports.build(SITE, 'month', currentPeriodStart('month', site.now, TZ)));
    const day = await best(() => site.reports.build(SITE, 'day', currentPeriodStart('day', site.now - DAY, TZ)));
    rows.push({ devices, points: site.points, month, day });
    site.store.close();
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  await influx.stop();
}
const base = rows[0];
console.log('devices | InfluxDB points | month report ms | day report ms | month vs baseline | devices vs baseline');
for (const r of rows) {
  console.log(
    `${r.devices} | ${r.points} | ${r.month.toFixed(0)} | ${r.day.toFixed(0)} | ${(r.month / base.month).toFixed(2)}× | ${(r.devices / base.devices).toFixed(1)}×`,
  );
}
