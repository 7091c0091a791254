import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../devices/scenarios.js';
import { startDeskSite, type DeskSite } from '../helpers/desk-site.js';
import { eventually } from '../helpers/gateway.js';

const SITE = 'small-site';

describe('the fire scenario with the default rule pack', () => {
  let site: DeskSite;
  let sim: DeskSite['sim'];
  let gw: DeskSite['gw'];
  let received: DeskSite['received'];
  /** When the zone's door and lamp were first seen obeying. */
  const obeyed: { doorUnlocked?: number; lampFull?: number } = {};

  beforeAll(async () => {
    // Twenty times faster: the fire develops over seconds instead of minutes.
    site = await startDeskSite('tests/fixtures/sites/small.yaml', { RULES_DIR: resolve('rules'), COMMAND_TIMEOUT: '5s' }, { intervalMs: 1000, speed: 20, seed: 3 });
    ({ sim, gw, received } = site);
  });
  afterAll(async () => {
    await site?.stop();
  });

  it("raises a confirmed fire, opens an urgent work order, unlocks the zone's doors and lights it, each within 2 s", async () => {
    const door = sim.device('access-b1-f2-01')!.model;
    const lamp = sim.device('lighting-b1-f2-01')!.model;
    const probe = setInterval(() => {
      const now = sim.clock.now();
      if (obeyed.doorUnlocked === undefined && door.telemetry(now).locked === false) obeyed.doorUnlocked = Date.now();
      if (obeyed.lampFull === undefined && lamp.telemetry(now).brightnessPct === 100) obeyed.lampFull = Date.now();
    }, 20);
    try {
      expect(sim.apply(parseScenario('fire:b1-f2'), true)).toStrictEqual(['fire-b1-f2-01', 'fire-b1-f2-02', 'fire-b1-f2-03']);
      const alarmOf = (type: string) => received.find((m) => m.body.type === type && m.body.state === 'active');
      const fire = await eventually(() => alarmOf('fire_alarm'), 30_000);
      const confirmed = await eventually(() => alarmOf('fire_confirmed'), 30_000);
      const order = await eventually(() => received.find((m) => m.topic.includes('/workorders/') && m.body.alarm === confirmed.body.id), 5000);
      await eventually(() => obeyed.doorUnlocked !== undefined && obeyed.lampFull !== undefined, 5000, 20);

      expect(fire.body).toMatchObject({ site: SITE, severity: 'critical', source: 'fire-b1-f2-01', zone: 'b1-f2', rule: 'fire-alarm' });
      expect(confirmed.body).toMatchObject({ severity: 'critical', source: 'b1-f2', zone: 'b1-f2', rule: 'fire-confirmed' });
      expect((await gw.api('GET', `/api/alarms/${confirmed.body.id}`)).body.workOrder).toBe(order.body.id);
      expect(confirmed.topic).toBe(`sc/${SITE}/alarms/critical/fire_confirmed/b1-f2`);
      // No site file: the title in the default language (zh-CN), both in `titles` (issue 17).
      const titles = { 'zh-CN': 'b1-f2 火情确认：出动处置并现场检查', en: 'Confirmed fire in b1-f2: dispatch and inspect' };
      expect(order.body).toMatchObject({ priority: 'urgent', category: 'fire', status: 'open', zone: 'b1-f2', title: titles['zh-CN'], titles });

      // Each measured from the moment the gateway took in the message that triggered it.
      const fireAt = Date.parse(fire.body.firstSeen);
      const confirmedAt = Date.parse(confirmed.body.firstSeen);
      expect(fire.at - fireAt).toBeLessThan(2000);
      expect(confirmed.at - confirmedAt).toBeLessThan(2000);
      expect(order.at - confirmedAt).toBeLessThan(2000);
      expect(obeyed.doorUnlocked! - fireAt).toBeLessThan(2000);
      expect(obeyed.lampFull! - fireAt).toBeLessThan(2000);
    } finally {
      clearInterval(probe);
    }
  });
});
