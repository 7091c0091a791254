import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmStore } from '../../src/alarms/alarm-store.js';
import type { Alarm } from '../../src/alarms/model.js';
import { currentPeriodStart, previousMonthStart } from '../../src/reports/period.js';
import { eventLine, telemetryLine } from '../../src/storage/influx/points.js';
import { WorkOrderStore } from '../../src/workorders/work-order-store.js';
import type { WorkOrder, WorkOrderChange } from '../../src/workorders/model.js';
import { DAY, MONTH, WEEK } from '../fixtures/report-expected.js';
import { ALARMS, DEVICES, ENERGY, EVENTS, OTHER, PARKING, SITE, STATUS, TZ, WORK_ORDERS, at, type AlarmSpec, type WorkOrderSpec } from '../fixtures/report-history.js';
import { ADMIN_TOKEN, NO_INFLUX, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { createOperator } from '../helpers/operator.js';

const DB = 'reports_it';
const iso = (ms: number) => new Date(ms).toISOString();

/** An alarm through its store, each transition at its own (past) time: the service only knows the wall clock. */
function insertAlarm(gw: TestGateway, s: AlarmSpec): void {
  const store = new AlarmStore(gw.gateway.store);
  const raised = at(s.raised);
  let alarm: Alarm = {
    id: `alm-${s.name}`,
    site: s.site ?? SITE,
    type: s.type,
    severity: s.raisedAs ?? s.severity,
    state: 'active',
    source: s.source,
    device: s.source,
    rule: 'test',
    message: `${s.type} at ${s.source}`,
    firstSeen: iso(raised),
    lastSeen: iso(raised),
    count: 1,
  };
  store.insert({ alarm }, { transition: 'raised', at: raised, by: 'test' });
  if (s.escalated) {
    alarm = { ...alarm, severity: s.severity };
    store.update({ alarm }, { transition: 'escalated', at: at(s.escalated), by: 'escalation' });
  }
  if (s.acked) {
    alarm = { ...alarm, state: 'acknowledged', ackedBy: 'Desk', ackedAt: iso(at(s.acked)) };
    store.update({ alarm }, { transition: 'acknowledged', at: at(s.acked), by: 'Desk' });
  }
  if (s.cleared) {
    alarm = { ...alarm, state: 'cleared', clearedBy: 'Desk', clearedAt: iso(at(s.cleared)) };
    store.update({ alarm }, { transition: 'cleared', at: at(s.cleared), by: 'Desk' });
  }
}

/** A work order through its store, with the history a person moving it through the API would have made. */
function insertWorkOrder(gw: TestGateway, s: WorkOrderSpec): void {
  const history: WorkOrderChange[] = [
    { at: iso(at(s.created)), by: 'Desk', status: 'open' },
    ...s.changes.map(([status, when]) => ({ at: iso(at(when)), by: 'Fixer', status })),
  ];
  const wo: WorkOrder = {
    id: s.id,
    site: s.site ?? SITE,
    title: `Repair ${s.id}`,
    category: s.category,
    priority: 'normal',
    status: s.changes.at(-1)?.[0] ?? 'open',
    createdAt: iso(at(s.created)),
    dueAt: iso(at(s.due)),
    overdue: false,
    history,
  };
  new WorkOrderStore(gw.gateway.store).insert(wo);
}

/** The InfluxDB points of the history, written straight to InfluxDB in the gateway's own line format. */
async function writePoints(influx: InfluxServer): Promise<void> {
  const zone = (device: string) => DEVICES.find((d) => d.id === device)?.zone ?? 'z1';
  const siteOf = (device: string) => DEVICES.find((d) => d.id === device)?.site ?? SITE;
  const lines = [
    ...ENERGY.map(([device, when, energyKwh]) => telemetryLine('energy', siteOf(device), device, zone(device), { energyKwh }, at(when))),
    ...PARKING.map(([device, when, fields]) => telemetryLine('parking', SITE, device, zone(device), fields, at(when))),
    ...EVENTS.map(([site, device, type, when]) => eventLine(site, 'access', device, zone(device), type, { method: 'card' }, at(when))),
  ];
  const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  expect(res.status).toBe(204);
}

describe('service reports (docs/reports.md)', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let desk: Awaited<ReturnType<typeof createOperator>>;
  let elsewhere: Awaited<ReturnType<typeof createOperator>>;

  beforeAll(async () => {
    influx = await startInflux();
    await influx.query(`CREATE DATABASE ${DB}`);
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, TZ });
    for (const d of DEVICES) {
      const res = await gw.api('POST', '/api/devices', { id: d.id, kind: d.kind, site: d.site, zone: d.zone, ...('tags' in d ? { tags: d.tags } : {}) });
      expect(res.status).toBe(201);
      // Registered "back then": availability counts from the registration.
      gw.gateway.store.db.prepare('UPDATE devices SET created_at = ? WHERE id = ?').run(d.createdAt, d.id);
    }
    for (const [device, when, online] of STATUS) gw.gateway.registry.setOnline(device, online, at(when));
    gw.gateway.registry.flush();
    for (const a of ALARMS) insertAlarm(gw, a);
    for (const w of WORK_ORDERS) insertWorkOrder(gw, w);
    await writePoints(influx);
    desk = await createOperator(gw, 'Desk', [SITE]);
    elsewhere = await createOperator(gw, 'Elsewhere', [OTHER]);
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
  });

  const report = (query: string, token?: string) => gw.api('GET', `/api/reports/service?${query}`, undefined, token);

  /** The report as answered, with generatedAt checked to be the time of the request. */
  async function fetchReport(query: string) {
    const before = Date.now();
    const res = await report(query, desk.token);
    expect(res.status).toBe(200);
    const { generatedAt, ...rest } = res.body;
    expect(Date.parse(generatedAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(generatedAt)).toBeLessThanOrEqual(Date.now());
    return rest;
  }

  it('reports a local day: every figure as worked out by hand', async () => {
    expect(await fetchReport(`site=${SITE}&period=day&start=2025-11-04`)).toStrictEqual(DAY);
  });

  it('reports a week from Monday', async () => {
    expect(await fetchReport(`site=${SITE}&period=week&start=2025-11-03&format=json`)).toStrictEqual(WEEK);
  });

  it('reports a month, counting what lies exactly at its start and leaving out what lies exactly at its end', async () => {
    expect(await fetchReport(`site=${SITE}&period=month&start=2025-11-01`)).toStrictEqual(MONTH);
  });

  it('answers the report as CSV in long format, as an attachment', async () => {
    const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api/reports/service?site=${SITE}&period=day&start=2025-11-04&format=csv`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="maple-court-day-2025-11-04.csv"');
    const lines = (await res.text()).split('\r\n');
    expect(lines[0]).toBe('section,key1,key2,metric,value');
    for (const row of [
      'report,,,timeZone,Asia/Shanghai',
      'alarms,,,raised,4',
      'alarms,,,meanTimeToAckMinutes,7.5',
      'alarms,door_forced,,count,2',
      'alarms,,minor,count,0',
      'alarms,fire_alarm,critical,count,1',
      'workOrders,,,meanTimeToResolveMinutes,937.5',
      'workOrders,electrical,,slaCompliancePct,50',
      'workOrders,plumbing,,slaCompliancePct,',
      'energy,,,totalKwh,15.875',
      'energy,b1,2025-11-04,kwh,10.375',
      'parking,8,,occupancyPct,73.3',
      'parking,9,,occupancyPct,',
      'access,7,,granted,4',
      'access,23,,denied,1',
      'availability,,,pct,22.8',
      'availability,parking,,devices,2',
      'availability,parking,lot-north,pct,83.3',
    ]) {
      expect(lines).toContain(row);
    }
  });

  it('shows an operator of another site nothing of it', async () => {
    expect(await report(`site=${SITE}&period=day&start=2025-11-04`, elsewhere.token)).toStrictEqual({
      status: 404,
      body: { error: 'not_found', message: 'site "maple-court" does not exist' },
    });
    const own = await report(`site=${OTHER}&period=day&start=2025-11-04`, elsewhere.token);
    expect(own.status).toBe(200);
    expect([own.body.alarms.raised, own.body.energy.byBuildingDay, own.body.access.granted]).toStrictEqual([
      1, // AX
      [{ building: 'b1', date: '2025-11-04', kwh: 0 }], // its only reading: first − first
      1,
    ]);
  });

  it('refuses a bad period or start, naming the field', async () => {
    const refused = (message: string) => ({ status: 400, body: { error: 'validation_failed', message } });
    expect(await report(`site=${SITE}&period=year&start=2025-01-01`)).toStrictEqual(refused('querystring.period: must be one of day, week, month'));
    expect(await report(`site=${SITE}&start=2025-11-04`)).toStrictEqual(refused('querystring.period: is required'));
    expect(await report(`period=day&start=2025-11-04`)).toStrictEqual(refused('querystring.site: is required'));
    expect(await report(`site=${SITE}&period=week&start=2025-11-04`)).toStrictEqual(refused('start: a week starts on a Monday; 2025-11-04 is a Tuesday'));
    expect(await report(`site=${SITE}&period=month&start=2025-11-04`)).toStrictEqual(refused('start: a month starts on the 1st; 2025-11-04 is not'));
    expect(await report(`site=${SITE}&period=day&start=2025-11-31`)).toStrictEqual(refused('start: "2025-11-31" is not a date (YYYY-MM-DD)'));
    expect((await report(`site=${SITE}&period=day&start=4.11.2025`)).body.message).toMatch(/^querystring\.start: must match pattern/);
    expect((await report(`site=${SITE}&period=day&format=xml`)).body.message).toBe('querystring.format: must be one of json, csv');
  });

  it('reports the current period when start is left out', async () => {
    const res = await report(`site=${SITE}&period=month`);
    expect(res.status).toBe(200);
    expect(res.body.start).toBe(currentPeriodStart('month', Date.now(), TZ));
  });

  it('writes last month\'s report of every site with devices at start, after a start with InfluxDB down', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gateway-reports-'));
    try {
      const first = await startGateway({ INFLUX_URL: NO_INFLUX, TZ }, dir);
      await first.register('meter-a', 'energy', SITE, 'b1-f1');
      await first.register('door-z', 'access', OTHER, 'z-1');
      await first.stop();

      // InfluxDB is down: nothing is written, and the gateway runs on.
      const down = await startGateway({ INFLUX_URL: NO_INFLUX, TZ }, dir);
      await down.gateway.reportScheduler.settled();
      expect(existsSync(join(dir, 'reports'))).toBe(false);
      expect((await down.api('GET', '/health')).status).toBe(200);
      await down.stop();

      // The next start writes what is missing; every second, the schedule writes it again.
      const up = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, TZ, REPORTS_CRON: '* * * * * *' }, dir);
      try {
        await up.gateway.reportScheduler.settled();
        const month = previousMonthStart(Date.now(), TZ);
        for (const site of [SITE, OTHER]) {
          const file = join(dir, 'reports', site, month.slice(0, 7));
          const { generatedAt: _, ...written } = JSON.parse(await readFile(`${file}.json`, 'utf8'));
          const { generatedAt: __, ...answered } = (await up.api('GET', `/api/reports/service?site=${site}&period=month&start=${month}`)).body;
          expect(written).toStrictEqual(answered);
          expect(written).toMatchObject({ site, period: 'month', start: month, timeZone: TZ });
          expect((await readFile(`${file}.csv`, 'utf8')).split('\r\n')[0]).toBe('section,key1,key2,metric,value');
        }
        const json = join(dir, 'reports', SITE, `${month.slice(0, 7)}.json`);
        const firstWrite = (await stat(json)).mtimeMs;
        await eventually(async () => (await stat(json)).mtimeMs > firstWrite, 5000);
      } finally {
        await up.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
