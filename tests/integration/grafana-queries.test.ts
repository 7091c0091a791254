import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEvent, checkTelemetry, KIND_NAMES, KINDS, type KindName } from '../../src/devices/kinds/index.js';
import { alarmLine, eventLine, telemetryLine } from '../../src/storage/influx/points.js';
import { loadDashboards, substitute, targetsOf, variablesUsed, type Dashboard } from '../helpers/grafana.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

/**
 * Every Grafana dashboard query, run against a real influxd holding points written by the gateway's own line
 * builders: InfluxQL errors (mean() of a boolean, a bad subquery) show up here, not in front of an operator.
 */

const DB = 'smart_community';
const SITE = 'maple-court';
const ZONE = 'b1-f2';

/**
 * Two readings per device with every telemetry field, the booleans flipping between them; the second device
 * sends them in the other order, so at the end one device's booleans are true and the other's false.
 */
const TELEMETRY: Record<KindName, Array<Record<string, number | boolean | string>>> = {
  access: [
    { doorOpen: true, locked: false, batteryPct: 81 },
    { doorOpen: false, locked: true, batteryPct: 80 },
  ],
  lighting: [
    { on: true, brightnessPct: 80, powerW: 36.5, voltageV: 229.8 },
    { on: false, brightnessPct: 0, powerW: 0.4, voltageV: 231.2 },
  ],
  parking: [
    { occupied: true, freeSpaces: 12, capacity: 40, batteryPct: 66 },
    { occupied: false, freeSpaces: 10, capacity: 40, batteryPct: 65 },
  ],
  energy: [
    { energyKwh: 12345.6, powerKw: 3.2, voltageV: 231, currentA: 14.1, powerFactor: 0.97 },
    { energyKwh: 12347.1, powerKw: -0.8, voltageV: 229, currentA: 3.5, powerFactor: 0.91 },
  ],
  fire: [
    { smokeObscurationPct: 0.4, temperatureC: 21.5, coPpm: 0, batteryPct: 96 },
    { smokeObscurationPct: 12.5, temperatureC: 48, coPpm: 35, batteryPct: 95 },
  ],
  camera: [
    { recording: true, fps: 25, bitrateKbps: 4096, storageFreePct: 63 },
    { recording: false, fps: 0, bitrateKbps: 0, storageFreePct: 62 },
  ],
  lift: [
    { floor: 12, moving: true, direction: 'up', doorOpen: false, mode: 'normal', loadPct: 35, speedMps: 1.6, trips: 48213, runHours: 10234.5 },
    { floor: -1, moving: false, direction: 'idle', doorOpen: true, mode: 'inspection', loadPct: 0, speedMps: 0, trips: 48214, runHours: 10234.7 },
  ],
  water: [
    { levelPct: 72, pressureMpa: 0.42, flowM3h: 18.3, volumeM3: 125034.7, pumpRunning: true, pumpCurrentA: 21.4, frequencyHz: 45.5, runHours: 8812.2, starts: 15230, chlorineMgL: 0.35, turbidityNtu: 0.4, temperatureC: 14.5 },
    { levelPct: 70, pressureMpa: 0.38, flowM3h: 0, volumeM3: 125036.1, pumpRunning: false, pumpCurrentA: 0, frequencyHz: 0, runHours: 8812.4, starts: 15231, chlorineMgL: 0.33, turbidityNtu: 0.5, temperatureC: 14.8 },
  ],
  power: [
    { voltageV: 10120, currentA: 85.2, powerKw: 612.5, powerFactor: 0.93, transformerTempC: 61.5, roomTempC: 27, humidityPct: 48, breakerClosed: true, onGenerator: false, generatorFuelPct: 88 },
    { voltageV: 400, currentA: 120, powerKw: 80, powerFactor: 0.88, transformerTempC: 40, roomTempC: 29, humidityPct: 50, breakerClosed: false, onGenerator: true, generatorFuelPct: 86 },
  ],
  patrol: [{ batteryPct: 78 }, { batteryPct: 77 }],
  sos: [{ batteryPct: 91 }, { batteryPct: 90 }],
  environment: [
    { temperatureC: 23.5, humidityPct: 56, pm25Ugm3: 35, pm10Ugm3: 61, co2Ppm: 640, noiseDb: 48.5, waterLeak: false, soilMoisturePct: 31, valveOpen: true },
    { temperatureC: 24, humidityPct: 58, pm25Ugm3: 41, pm10Ugm3: 70, co2Ppm: 720, noiseDb: 52, waterLeak: true, soilMoisturePct: 29, valveOpen: false },
  ],
  waste: [
    { fillPct: 64, temperatureC: 18.5, batteryPct: 70 },
    { fillPct: 96, temperatureC: 19, batteryPct: 69 },
  ],
};

/** One event of every type of every kind, with every detail it may carry. */
const EVENTS: Record<KindName, Record<string, Record<string, unknown>>> = {
  access: {
    access_granted: { method: 'card', credential: 'card-0042' },
    access_denied: { method: 'face', reason: 'unknown face' },
    door_forced: {},
    door_held_open: { seconds: 95 },
    tamper: {},
  },
  lighting: { lamp_failure: {}, circuit_trip: {} },
  parking: { vehicle_entry: { plate: 'ABC123' }, vehicle_exit: { plate: 'ABC123' }, barrier_fault: {}, barrier_open: {} },
  energy: { phase_loss: { phase: 'L2' }, meter_tamper: {} },
  fire: { fire_alarm: {}, fault: { code: 'E12' }, test: {}, reset: {} },
  camera: { motion: { region: 'gate' }, intrusion: { region: 'fence' }, video_loss: {}, tamper: {}, face_match: { list: 'watch' } },
  lift: {
    passenger_trapped: { floor: 7 },
    released: {},
    door_fault: {},
    overspeed: {},
    stopped_between_floors: { floor: 8 },
    power_loss: {},
    alarm_button: {},
    fault: { code: 'E31' },
    maintenance_start: {},
    maintenance_end: {},
  },
  water: { pump_fault: { pump: 'P2', code: 'E07' }, pump_start: { pump: 'P1' }, pump_stop: { pump: 'P1' }, dry_run: {}, overflow: {}, leak: { location: 'tank room' } },
  power: { breaker_trip: { circuit: 'F3' }, mains_loss: {}, mains_restored: {}, generator_start: {}, generator_fault: { code: 'G2' }, flooding: {} },
  patrol: { checkpoint_scan: { guard: 'g-017', route: 'night-east' }, tamper: {} },
  sos: { call: { location: 'lift car 2' }, cancel: {}, tamper: {}, fault: { code: 'S1' } },
  environment: { leak: { location: 'b2 basement' }, valve_fault: {} },
  waste: { full: {}, emptied: {}, fire: {} },
};

function lines(now: number): string[] {
  const out: string[] = [];
  for (const kind of KIND_NAMES) {
    for (const [d, device] of [`${kind}-01`, `${kind}-02`].entries()) {
      const readings = d === 0 ? TELEMETRY[kind] : [...TELEMETRY[kind]].reverse();
      readings.forEach((fields, i) => out.push(telemetryLine(kind, SITE, device, ZONE, fields, now - 20 * 60_000 + i * 10 * 60_000)));
      Object.entries(EVENTS[kind]).forEach(([type, details], i) => {
        const checked = checkEvent(kind, { type, ...details });
        if (!checked.ok) throw new Error(`${kind} ${type}: ${checked.reason}`);
        const { type: _type, ts: _ts, ...rest } = checked.value;
        out.push(eventLine(SITE, kind, device, ZONE, type, rest, now - 15 * 60_000 + i * 1000));
      });
    }
  }
  // A third meter of each register reading every 10 minutes for 3 hours, and a second either side of the hour now
  // begun: the consumption per hour (the increase of each hour's last reading over the hour before's) always has two
  // hours to compare within the test's range of the last hour, whatever the minute the test runs at.
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  const times = [...Array.from({ length: 19 }, (_, i) => now - (18 - i) * 10 * 60_000), hour - 1000, hour + 1000].sort((x, y) => x - y);
  for (const [i, at] of times.entries()) {
    const rising = (at - times[0]) / 600_000;
    out.push(telemetryLine('energy', SITE, 'energy-03', ZONE, { energyKwh: 20000 + rising * 0.75, powerKw: 4.5 + (i % 3) }, at));
    out.push(telemetryLine('water', SITE, 'water-03', ZONE, { volumeM3: 3000 + rising * 0.2, flowM3h: 1.2 + (i % 4) * 0.1 }, at));
  }
  const alarm = { site: SITE, type: 'smoke_high', source: 'fire-01' };
  out.push(alarmLine(alarm.site, alarm.type, 'major', alarm.source, { state: 'active', id: 'alm-1', value: 12.5 }, now - 9 * 60_000));
  out.push(alarmLine(alarm.site, alarm.type, 'critical', alarm.source, { state: 'active', id: 'alm-1', value: 12.5 }, now - 8 * 60_000));
  out.push(alarmLine(alarm.site, alarm.type, 'critical', alarm.source, { state: 'acknowledged', id: 'alm-1' }, now - 7 * 60_000));
  out.push(alarmLine(alarm.site, alarm.type, 'critical', alarm.source, { state: 'cleared', id: 'alm-1' }, now - 6 * 60_000));
  return out;
}

let influx: InfluxServer;
const DASHBOARDS = loadDashboards();

beforeAll(async () => {
  influx = await startInflux();
  await influx.query(`CREATE DATABASE ${DB}`);
  const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines(Date.now()).join('\n') });
  expect(res.status).toBe(204);
});

afterAll(async () => {
  await influx?.stop();
});

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
/** A custom variable (energy-water's time zone) takes its first value, as Grafana does; the others "All" (.*). */
const firstOrAll = (v: { type: string; query: string }) => (v.type === 'custom' ? v.query.split(',')[0].trim() : '.*');
const TIME_FILTER = 'time >= now() - 1h AND time <= now() + 1m';

describe('the sample data', () => {
  it('is what the gateway accepts, with every field and event type of every kind', () => {
    for (const kind of KIND_NAMES) {
      for (const reading of TELEMETRY[kind]) {
        expect(checkTelemetry(kind, reading).ok).toBe(true);
        expect(Object.keys(reading)).toStrictEqual([...KINDS[kind].fields]);
      }
      expect(Object.keys(EVENTS[kind]).sort()).toStrictEqual(Object.keys(KINDS[kind].events).sort());
    }
  });
});

describe.each([...DASHBOARDS.keys()])('dashboard %s on influxd', (name) => {
  const dashboard = DASHBOARDS.get(name) as Dashboard;

  /** Each variable resolved as Grafana would: its query run with the earlier ones set, then its first value. */
  async function resolveVariables(): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const v of dashboard.templating.list) {
      if (v.type === 'custom') {
        values[v.name] = firstOrAll(v);
        continue;
      }
      const rows = await influx.query(substitute(v.query, values, TIME_FILTER, '1m'), DB);
      expect(rows.length, `${v.name}: ${v.query}`).toBeGreaterThan(0);
      values[v.name] = escapeRegex(String(rows[0].value));
    }
    return values;
  }

  it('answers every panel query with rows when every variable is "All"', async () => {
    // Grafana sends a variable's allValue (.*) for "All".
    const all = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, firstOrAll(v)]));
    for (const { panel, target } of targetsOf(dashboard)) {
      const query = substitute(target.query, all, TIME_FILTER, '1m');
      const rows = await influx.query(query, DB);
      expect(rows.length, `${panel.title}: ${query}`).toBeGreaterThan(0);
      for (const v of variablesUsed(target.alias ?? '')) {
        const tag = v.replace(/^tag_/, '');
        for (const row of rows) expect(row[tag], `${panel.title}: alias $${v}`).toBeTypeOf('string');
      }
    }
  });

  it('answers every variable query, and every panel query without an error once they are chosen', async () => {
    const values = await resolveVariables();
    // influx.query throws on an InfluxQL error; an empty answer is fine (no door open on that device).
    for (const { target } of targetsOf(dashboard)) await influx.query(substitute(target.query, values, TIME_FILTER, '1m'), DB);
  });

  if (['access', 'lighting', 'parking', 'camera'].includes(name)) {
    it('counts the devices whose last boolean reading matches, one of the two', async () => {
      const all = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, firstOrAll(v)]));
      let checked = 0;
      for (const { panel, target } of targetsOf(dashboard)) {
        if (!/^SELECT count\("\w+"\) FROM \(SELECT last/.test(target.query)) continue;
        const rows = await influx.query(substitute(target.query, all, TIME_FILTER, '1m'), DB);
        const counted = Object.entries(rows[0]).find(([k]) => k === 'count')?.[1];
        expect(counted, panel.title).toBe(/ WHERE "\w+" = (true|false)$/.test(target.query) ? 1 : 2);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
