import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED_KINDS } from '../../devices/models/index.js';
import { Simulator } from '../../devices/runtime/simulator.js';
import { parseScenario } from '../../devices/scenarios.js';
import { loadSite, type Site } from '../../devices/site.js';
import { ADMIN_TOKEN, eventually, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const DB = 'simulator_test';

describe('the simulators against a real gateway and InfluxDB', () => {
  let influx: InfluxServer;
  let gw: TestGateway;
  let site: Site;
  let sim: Simulator;
  let stateFile: string;

  const simulator = () =>
    new Simulator({
      site,
      apiUrl: `http://127.0.0.1:${gw.httpPort}`,
      mqttUrl: gw.mqttUrl,
      token: ADMIN_TOKEN,
      stateFile,
      intervalMs: 500,
      // Ten times faster: a fire develops in seconds rather than a minute.
      speed: 10,
      seed: 7,
    });

  /** The devices of `measurement` that have at least one point in InfluxDB. */
  const storedDevices = async (measurement: string) =>
    (await influx.query(`SHOW TAG VALUES FROM "${measurement}" WITH KEY = "device"`, DB)).map((r) => r.value as string).sort();

  const lastValue = async (kind: string, device: string, field: string) =>
    (await influx.query(`SELECT last("${field}") FROM "${kind}" WHERE "device" = '${device}'`, DB))[0]?.last;

  beforeAll(async () => {
    influx = await startInflux();
    gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, COMMAND_TIMEOUT: '5s' });
    site = await loadSite('tests/fixtures/sites/small.yaml');
    stateFile = join(await mkdtemp(join(tmpdir(), 'sim-')), 'state.json');
    sim = simulator();
    await sim.start();
  });
  afterAll(async () => {
    await sim?.stop();
    await gw?.stop();
    await influx?.stop();
  });

  it('registers every device of the site through the API, with its zone and tags', async () => {
    const res = await gw.api('GET', '/api/devices');
    const ours = res.body.filter((d: { site: string }) => d.site === 'small-site');
    expect(ours.map((d: { id: string }) => d.id).sort()).toStrictEqual(sim.specs.map((s) => s.id).sort());
    expect(ours.find((d: { id: string }) => d.id === 'parking-carpark-fl01')).toMatchObject({
      kind: 'parking',
      zone: 'carpark',
      tags: { role: 'fire-lane', area: 'carpark' },
      online: true,
    });
  });

  it('stores telemetry from every device of every simulated kind, and nothing is rejected', async () => {
    for (const kind of SIMULATED_KINDS) {
      const expected = sim.specs.filter((s) => s.kind === kind).map((s) => s.id).sort();
      expect(expected.length).toBeGreaterThan(0);
      await eventually(async () => ((await storedDevices(kind)).join() === expected.join() ? true : undefined), 15_000);
    }
    const metrics = (await gw.api('GET', '/metrics')).body as string;
    expect(metrics).not.toMatch(/^gateway_messages_rejected_total\{[^}]*\} [1-9]/m);
    expect(sim.stats()).toMatchObject({ rejected: 0, publishErrors: 0 });
  });

  it('unlocks a door on command, answers ok and reports the door unlocked', async () => {
    const door = 'access-b1-f1-01';
    const res = await gw.api('POST', `/api/devices/${door}/commands`, { action: 'unlock' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true });
    await eventually(async () => ((await lastValue('access', door, 'locked')) === false ? true : undefined));
    const lock = await gw.api('POST', `/api/devices/${door}/commands`, { action: 'lock' });
    expect(lock.body).toMatchObject({ ok: true });
    await eventually(async () => ((await lastValue('access', door, 'locked')) === true ? true : undefined));
  });

  it('dims a lamp to the level asked and refuses a dim without a level, naming the parameter', async () => {
    const lamp = 'lighting-street-02';
    const res = await gw.api('POST', `/api/devices/${lamp}/commands`, { action: 'dim', params: { pct: 30 } });
    expect(res.body).toMatchObject({ ok: true });
    await eventually(async () => ((await lastValue('lighting', lamp, 'brightnessPct')) === 30 ? true : undefined));
    const bad = await gw.api('POST', `/api/devices/${lamp}/commands`, { action: 'dim' });
    expect(bad.body).toMatchObject({ ok: false });
    expect(bad.body.error).toMatch(/pct/);
  });

  it('opens the car park barrier on command and reports it as an event', async () => {
    const gate = 'parking-carpark-gate01';
    const res = await gw.api('POST', `/api/devices/${gate}/commands`, { action: 'barrier_open' });
    expect(res.body).toMatchObject({ ok: true });
    await eventually(async () => {
      const rows = await influx.query(`SELECT count("count") FROM "events" WHERE "device" = '${gate}' AND "type" = 'barrier_open'`, DB);
      return (rows[0]?.count as number) >= 1 ? true : undefined;
    });
  });

  it('plays a fire in a zone: smoke rises in several detectors and the origin sends fire_alarm', async () => {
    const acted = sim.apply(parseScenario('fire:b1-f2'), true);
    expect(acted.length).toBeGreaterThanOrEqual(2);
    await eventually(async () => {
      const rows = await influx.query(`SELECT "count", "device" FROM "events" WHERE "type" = 'fire_alarm' AND "zone" = 'b1-f2'`, DB);
      return rows.length === 1 && rows[0].device === acted[0] ? true : undefined;
    }, 15_000);
    for (const id of acted) {
      await eventually(async () => (((await lastValue('fire', id, 'smokeObscurationPct')) as number) > 2 ? true : undefined), 15_000);
    }
  });

  it('reports a device that drops out offline, through its last will', async () => {
    const camera = 'camera-street-01';
    sim.apply(parseScenario(`drop:${camera}`), true);
    await eventually(async () => ((await gw.api('GET', `/api/devices/${camera}`)).body.online === false ? true : undefined));
    sim.apply(parseScenario(`drop:${camera}`), false);
    await eventually(async () => ((await gw.api('GET', `/api/devices/${camera}`)).body.online === true ? true : undefined));
  });

  it('sends nothing from a silenced device, and resumes when the silence ends', async () => {
    const lamp = 'lighting-b1-lobby-01';
    const count = async () => Number((await influx.query(`SELECT count("on") FROM "lighting" WHERE "device" = '${lamp}'`, DB))[0]?.count ?? 0);
    const step = parseScenario(`silence:${lamp}`);
    sim.apply(step, true);
    await new Promise((r) => setTimeout(r, 1500)); // what was in flight lands
    const silent = await count();
    await new Promise((r) => setTimeout(r, 2000)); // four intervals
    expect(await count()).toBe(silent);
    sim.apply(step, false);
    await eventually(async () => ((await count()) > silent ? true : undefined));
  });

  it('reuses the kept credentials when restarted, registering nothing again', async () => {
    const before = await readFile(stateFile, 'utf8');
    await sim.stop();
    sim = simulator();
    await sim.start();
    expect(sim.stats()).toMatchObject({ registered: 0, connected: sim.specs.length });
    expect(await readFile(stateFile, 'utf8')).toBe(before);
  });
});
