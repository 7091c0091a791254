import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AlarmStore } from '../../src/alarms/alarm-store.js';
import type { Alarm } from '../../src/alarms/model.js';
import { currentPeriodStart, localDate, previousMonthStart } from '../../src/reports/period.js';
import { roundTo } from '../../src/reports/model.js';
import { eventLine, telemetryLine } from '../../src/storage/influx/points.js';
import { WorkOrderStore } from '../../src/workorders/work-order-store.js';
import type { WorkOrder, WorkOrderChange } from '../../src/workorders/model.js';
import { DAY, MONTH, WEEK } from '../fixtures/report-expected.js';
import { ALARMS, DEVICES, ENERGY, EVENTS, OTHER, PARKING, SITE, STATUS, TZ, WORK_ORDERS, at, type AlarmSpec, type WorkOrderSpec } from '../fixtures/report-history.js';
import { BIRCH, NEW_KIND_DEVICES, NEW_KIND_STATUS, NEW_KINDS_DAY, PUBLISHED, payloadOf } from '../fixtures/report-new-kinds.js';
import type { MqttClient } from 'mqtt';
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
    acknowledged: false,
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
    alarm = { ...alarm, state: 'acknowledged', acknowledged: true, ackedBy: 'Desk', ackedAt: iso(at(s.acked)) };
    store.update({ alarm }, { transition: 'acknowledged', at: at(s.acked), by: 'Desk' });
  }
  if (s.cleared) {
    // A person's clear acknowledges it too.
    alarm = { ...alarm, state: 'cleared', acknowledged: true, clearedBy: 'Desk', clearedAt: iso(at(s.cleared)) };
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

/** The repository's own life-safety rules (an emergency call, a trapped passenger), alone in a rules directory. */
async function lifeSafetyRules(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'report-rules-'));
  const rules = [];
  for (const [file, id] of [['sos.yaml', 'sos-call'], ['lift.yaml', 'lift-passenger-trapped']]) {
    const pack = parse(await readFile(join(import.meta.dirname, '../../rules', file), 'utf8')) as Array<{ id: string }>;
    rules.push(pack.find((r) => r.id === id));
  }
  await writeFile(join(dir, 'life-safety.yaml'), stringify(rules));
  return dir;
}

/** Registers the new-kind devices of birch-row "back then" and publishes their history over MQTT, QoS 1 (PUBACK once stored). */
async function publishNewKinds(gw: TestGateway): Promise<void> {
  const clients = new Map<string, MqttClient>();
  for (const d of NEW_KIND_DEVICES) {
    const res = await gw.api('POST', '/api/devices', { id: d.id, kind: d.kind, site: BIRCH, zone: d.zone, tags: d.tags });
    expect(res.status).toBe(201);
    gw.gateway.store.db.prepare('UPDATE devices SET created_at = ? WHERE id = ?').run(d.createdAt, d.id);
    clients.set(d.id, await gw.connect(res.body.mqtt));
  }
  for (const [device, when, online] of NEW_KIND_STATUS) gw.gateway.registry.setOnline(device, online, at(when));
  gw.gateway.registry.flush();
  for (const [device, suffix, when, payload] of PUBLISHED) {
    const kind = NEW_KIND_DEVICES.find((d) => d.id === device)!.kind;
    await clients.get(device)!.publishAsync(`sc/${BIRCH}/${kind}/${device}/${suffix}`, JSON.stringify(payloadOf(when, payload)), { qos: 1 });
  }
}

describe('service reports (docs/reports.md)', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let desk: Awaited<ReturnType<typeof createOperator>>;
  let elsewhere: Awaited<ReturnType<typeof createOperator>>;
  let rulesDir: string;

  beforeAll(async () => {
    influx = await startInflux();
    await influx.query(`CREATE DATABASE ${DB}`);
    rulesDir = await lifeSafetyRules();
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, TZ, RULES_DIR: rulesDir });
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
    desk = await createOperator(gw, 'Desk', [SITE], 'supervisor');
    elsewhere = await createOperator(gw, 'Elsewhere', [OTHER], 'supervisor');
  });
  afterAll(async () => {
    await gw?.stop();
    await influx?.stop();
    if (rulesDir) await rm(rulesDir, { recursive: true, force: true });
  });

  const report = (query: string, token?: string) => gw.api('GET', `/api/reports/service?${query}`, undefined, token);

  /** The report as answered (to the desk of maple-court, or `token`), with generatedAt checked to be the time of the request. */
  async function fetchReport(query: string, token = desk.token) {
    const before = Date.now();
    const res = await report(query, token);
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

  describe('patrol, lifts, pumps and life-safety alarms, from what devices published over MQTT', () => {
    const DAY_QUERY = `site=${BIRCH}&period=day&start=2025-11-04`;
    let guardDesk: Awaited<ReturnType<typeof createOperator>>;
    /** The life-safety alarms by source: raised when the rules saw the event (now), acknowledged by the desk or not. */
    const raised = new Map<string, string>();
    const acked = new Map<string, string>();
    /** The local day the rules raised the alarms on: the day whose report lists them. */
    let alarmDay: string;

    beforeAll(async () => {
      guardDesk = await createOperator(gw, 'Guard desk', [BIRCH], 'guard');
      await publishNewKinds(gw);
      // Two trapped passengers and one emergency call; the trapped passenger of the 5th bumps lift b's open alarm.
      const alarms: Alarm[] = await eventually(async () => {
        const list = (await gw.api('GET', `/api/alarms?site=${BIRCH}`)).body as Alarm[];
        return list.length === 3 ? list : undefined;
      });
      for (const a of alarms) raised.set(a.source, a.firstSeen);
      alarmDay = localDate(Date.parse(alarms[0].firstSeen), TZ);
      for (const source of ['lift-b1-b', 'sos-p1']) {
        const res = await gw.api('POST', `/api/alarms/${alarms.find((a) => a.source === source)!.id}/ack`, {}, guardDesk.token);
        expect(res.status).toBe(200);
        acked.set(source, res.body.ackedAt);
      }
    });

    it('reports guard rounds per route and night, lift availability, trips and trapped passengers, and pump counters', async () => {
      const { patrol, lifts, pumps } = await fetchReport(DAY_QUERY, guardDesk.token);
      expect({ patrol, lifts, pumps }).toStrictEqual(NEW_KINDS_DAY);
    });

    it('gives a week seven nights per route, a scan after midnight counting for the night before', async () => {
      const { patrol } = await fetchReport(`site=${BIRCH}&period=week&start=2025-11-03`, guardDesk.token);
      expect([patrol.scansDue, patrol.scansMade]).toStrictEqual([7 * (6 + 4), 1 + 9]);
      const made = patrol.nights.filter((n: { scansMade: number }) => n.scansMade > 0);
      expect(made.map((n: { route: string; night: string; scansMade: number }) => [n.route, n.night, n.scansMade])).toStrictEqual([
        ['perimeter', '2025-11-03', 1], // cp-gate at 01:00 on the 4th: round 2 of the night of the 3rd
        ['perimeter', '2025-11-04', 5],
        ['site', '2025-11-04', 4],
      ]);
    });

    it('lists emergency calls and trapped passengers with the time the desk took to acknowledge them', async () => {
      const ackMs = (source: string) => Date.parse(acked.get(source)!) - Date.parse(raised.get(source)!);
      const minutes = (ms: number) => roundTo(ms / 60_000, 1);
      const incident = (type: string, device: string, zone: string) => ({
        type,
        device,
        zone,
        raisedAt: raised.get(device),
        acknowledgedAt: acked.get(device) ?? null,
        acknowledgedBy: acked.has(device) ? 'Guard desk' : null,
        minutesToAck: acked.has(device) ? minutes(ackMs(device)) : null,
      });
      const { lifeSafety } = await fetchReport(`site=${BIRCH}&period=day&start=${alarmDay}`, guardDesk.token);
      expect(lifeSafety).toStrictEqual({
        meanMinutesToAck: minutes((ackMs('lift-b1-b') + ackMs('sos-p1')) / 2),
        byType: [
          { type: 'emergency_call', count: 1, acknowledged: 1, meanMinutesToAck: minutes(ackMs('sos-p1')) },
          { type: 'passenger_trapped', count: 2, acknowledged: 1, meanMinutesToAck: minutes(ackMs('lift-b1-b')) },
        ],
        // Published in this order, so raised in it.
        incidents: [
          incident('passenger_trapped', 'lift-b1-a', 'b1-core'),
          incident('passenger_trapped', 'lift-b1-b', 'b1-core'),
          incident('emergency_call', 'sos-p1', 'p1'),
        ],
      });
      // The day of the events themselves has none: an alarm is dated when the rules see its event.
      expect((await fetchReport(DAY_QUERY, guardDesk.token)).lifeSafety.incidents).toStrictEqual([]);
    });

    it('answers the new figures in the CSV under their own sections', async () => {
      const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api/reports/service?${DAY_QUERY}&format=csv`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const lines = (await res.text()).split('\r\n');
      for (const row of [
        'patrol,,,completionPct,90',
        'patrol,perimeter,2025-11-04,scansDue,6',
        'patrol,2025-11-04,cp-gate,missedRound,3',
        'lifts,,,availabilityPct,82.3',
        'lifts,lift-b1-a,,trips,110',
        'lifts,lift-b1-b,,trappedAt,2025-11-04T05:00:00.000Z',
        'pumps,pump-b1,,runHours,6',
        'pumps,pump-b1,,pumpFaults,2',
      ]) {
        expect(lines).toContain(row);
      }
      const csv = await fetch(`http://127.0.0.1:${gw.httpPort}/api/reports/service?site=${BIRCH}&period=day&start=${alarmDay}&format=csv`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const today = (await csv.text()).split('\r\n');
      for (const row of [
        'lifeSafety,passenger_trapped,,count,2',
        `lifeSafety,lift-b1-a,${raised.get('lift-b1-a')},minutesToAck,`,
        `lifeSafety,sos-p1,${raised.get('sos-p1')},acknowledgedAt,${acked.get('sos-p1')}`,
        `lifeSafety,sos-p1,${raised.get('sos-p1')},acknowledgedBy,Guard desk`,
      ]) {
        expect(today).toContain(row);
      }
    });
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
