import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../devices/scenarios.js';
import { startDeskSite, type DeskSite } from '../helpers/desk-site.js';
import { eventually } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';

const SITE = 'small-site';
const DB = 'life_safety_test';

/**
 * A passenger trapped in a lift and an emergency call, played by the simulator against a real gateway with the
 * default rule pack: the security desk's MQTT subscriber gets a critical alarm and an urgent work order within
 * 1 s of the device's message (issue 14).
 */
describe('life-safety scenarios of the new kinds with the default rule pack', () => {
  let influx: InfluxServer;
  let site: DeskSite;
  let sim: DeskSite['sim'];
  let gw: DeskSite['gw'];
  let received: DeskSite['received'];

  beforeAll(async () => {
    influx = await startInflux();
    site = await startDeskSite('tests/fixtures/sites/small.yaml', { RULES_DIR: resolve('rules'), INFLUX_URL: influx.url, INFLUX_DB: DB }, { intervalMs: 2000, seed: 5 });
    ({ sim, gw, received } = site);
  });
  afterAll(async () => {
    await site?.stop();
    await influx?.stop();
  });

  /** Starts `scenario` and answers the alarm of `type` and its work order as the desk received them. */
  async function play(scenario: string, type: string) {
    const step = parseScenario(scenario);
    expect(sim.apply(step, true)).toStrictEqual([step.target]);
    const alarm = await eventually(() => received.find((m) => m.body.type === type && m.body.source === step.target), 10_000);
    const order = await eventually(() => received.find((m) => m.topic.includes('/workorders/') && m.body.alarm === alarm.body.id), 5000);
    return { alarm, order };
  }

  it('a passenger trapped in a lift: critical at once, an urgent rescue order, within 1 s of the lift\'s message', async () => {
    const { alarm, order } = await play('lift-trapped:lift-b1-lift-01', 'passenger_trapped');
    expect(alarm.topic).toBe(`sc/${SITE}/alarms/critical/passenger_trapped/lift-b1-lift-01`);
    expect(alarm.body).toMatchObject({ severity: 'critical', state: 'active', zone: 'b1-lift', rule: 'lift-passenger-trapped' });
    expect(order.body).toMatchObject({ priority: 'urgent', status: 'open', device: 'lift-b1-lift-01' });
    // firstSeen is the lift's own time on the message that raised it (its `ts`).
    expect(alarm.at - Date.parse(alarm.body.firstSeen)).toBeLessThan(1000);
    expect(order.at - Date.parse(alarm.body.firstSeen)).toBeLessThan(1000);
    // The stop between floors is its own alarm beside it.
    await eventually(() => received.find((m) => m.body.type === 'lift_stopped_between_floors' && m.body.source === 'lift-b1-lift-01'), 5000);

    // The rescue releases the passenger: the alarm stays open until the desk acknowledges and clears it.
    sim.apply(parseScenario('lift-trapped:lift-b1-lift-01'), false);
    await eventually(async () => {
      const r = await influx.query(`SELECT * FROM "events" WHERE "device" = 'lift-b1-lift-01' AND "type" = 'released'`, DB);
      return r.length > 0 ? r : undefined;
    }, 5000);
    expect((await gw.api('GET', `/api/alarms/${alarm.body.id}`)).body).toMatchObject({ state: 'active', severity: 'critical' });
  });

  it('an emergency call: critical at once, an urgent order, within 1 s, and stored in InfluxDB', async () => {
    const { alarm, order } = await play('sos-call:sos-carpark-01', 'emergency_call');
    expect(alarm.body).toMatchObject({ severity: 'critical', state: 'active', zone: 'carpark', rule: 'sos-call' });
    expect(order.body).toMatchObject({ priority: 'urgent', status: 'open' });
    expect(alarm.at - Date.parse(alarm.body.firstSeen)).toBeLessThan(1000);
    expect(order.at - Date.parse(alarm.body.firstSeen)).toBeLessThan(1000);
    const rows = await eventually(async () => {
      const r = await influx.query(`SELECT * FROM "events" WHERE "device" = 'sos-carpark-01' AND "type" = 'call'`, DB);
      return r.length > 0 ? r : undefined;
    }, 5000);
    expect(rows[0]).toMatchObject({ kind: 'sos', zone: 'carpark', location: expect.any(String) });
    // A cancelled call does not close the alarm: somebody must answer for it.
    sim.apply(parseScenario('sos-call:sos-carpark-01'), false);
    await eventually(async () => {
      const r = await influx.query(`SELECT * FROM "events" WHERE "device" = 'sos-carpark-01' AND "type" = 'cancel'`, DB);
      return r.length > 0 ? r : undefined;
    }, 5000);
    expect((await gw.api('GET', `/api/alarms/${alarm.body.id}`)).body.state).toBe('active');
  });
});
