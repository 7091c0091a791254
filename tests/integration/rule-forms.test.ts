import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

const SITE = 'maple-court';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The two forms of contract §9 with short durations (issue 14). */
const RULES = `
- id: checkpoint-missed
  match: { kind: access }
  when: { event: access_granted, missing: 3s }
  alarm: { type: checkpoint_missed, severity: major, message: "{device} not scanned" }

- id: meter-service
  match: { kind: energy }
  when: { usage: energyKwh, every: 100 }
  workOrder: { category: energy, priority: normal, title: "Service {device} at {value} kWh" }
`;

describe('the missing and usage rule forms against a real gateway and MQTT clients', () => {
  let gw: TestGateway;
  let dataDir: string;
  let rulesDir: string;
  const creds: Record<string, { username: string; password: string }> = {};
  const clients: Record<string, MqttClient> = {};

  const alarms = async () => (await gw.api('GET', '/api/alarms?type=checkpoint_missed')).body as Array<Record<string, any>>;
  const open = async () => (await alarms()).filter((a) => a.state !== 'cleared');
  /** Titles of the work orders the usage rule opened, oldest first. */
  const serviceOrders = async () =>
    ((await gw.api('GET', `/api/workorders?site=${SITE}`)).body as Array<Record<string, any>>)
      .filter((w) => w.rule === 'meter-service')
      .map((w) => w.title as string)
      .reverse();
  const scan = () => clients['door-1'].publishAsync(`sc/${SITE}/access/door-1/event`, JSON.stringify({ type: 'access_granted', method: 'card' }), { qos: 1 });
  const meter = (energyKwh: number) => clients['meter-1'].publishAsync(`sc/${SITE}/energy/meter-1/telemetry`, JSON.stringify({ energyKwh }), { qos: 1 });
  const start = async () => {
    gw = await startGateway({ RULES_DIR: rulesDir }, dataDir);
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rule-forms-gw-'));
    rulesDir = join(dataDir, 'rules');
    await mkdir(rulesDir);
    await writeFile(join(rulesDir, 'forms.yaml'), RULES);
    await start();
    // Registered after the rules attached: the missing rule watches door-1 from its first message.
    for (const [id, kind] of [['door-1', 'access'], ['meter-1', 'energy']] as const) {
      creds[id] = await gw.register(id, kind, SITE, 'b1-f1');
      clients[id] = await gw.connect(creds[id]);
    }
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('raises when the event does not come for `missing`, and clears when it comes', async () => {
    const scanned = Date.now();
    await scan();
    await sleep(2000);
    expect(await alarms()).toStrictEqual([]);
    const [alarm] = await eventually(async () => ((await open()).length === 1 ? open() : undefined), 5000, 50);
    expect(Date.parse(alarm.firstSeen) - scanned).toBeGreaterThanOrEqual(2900);
    expect(alarm).toMatchObject({ site: SITE, type: 'checkpoint_missed', severity: 'major', state: 'active', source: 'door-1', device: 'door-1', rule: 'checkpoint-missed', message: 'door-1 not scanned', count: 1 });
    await scan();
    await eventually(async () => ((await open()).length === 0 ? true : undefined), 5000, 50);
    expect((await alarms()).map((a) => [a.id, a.state])).toStrictEqual([[alarm.id, 'cleared']]);
  });

  it('opens a work order each time the counter reaches another multiple, once for several, none for a replaced meter', async () => {
    for (const v of [1000, 1050, 1099.5, 1100, 1120]) await meter(v);
    await eventually(async () => ((await serviceOrders()).length === 1 ? true : undefined), 5000, 50);
    // 1350 passes 1200 and 1300 at once; 20 is a new meter, counted again from there (next at 120).
    for (const v of [1350, 1399, 20, 110]) await meter(v);
    await sleep(500);
    expect(await serviceOrders()).toStrictEqual(['Service meter-1 at 1100 kWh', 'Service meter-1 at 1350 kWh']);
    await meter(120);
    await eventually(async () => ((await serviceOrders()).length === 3 ? true : undefined), 5000, 50);
    expect(await serviceOrders()).toStrictEqual(['Service meter-1 at 1100 kWh', 'Service meter-1 at 1350 kWh', 'Service meter-1 at 120 kWh']);
    const orders = (await gw.api('GET', `/api/workorders?site=${SITE}`)).body as Array<Record<string, any>>;
    expect(orders[0]).toMatchObject({ site: SITE, status: 'open', category: 'energy', priority: 'normal', device: 'meter-1', zone: 'b1-f1', rule: 'meter-service' });
  });

  it('keeps the missing timer and the usage count across a restart with the same data dir', async () => {
    await scan();
    await eventually(async () => ((await open()).length === 0 ? true : undefined), 5000, 50);
    const scanned = Date.now();
    await sleep(1000);
    await gw.stop();
    await start();
    const restarted = Date.now();
    for (const id of Object.keys(clients)) clients[id] = await gw.connect(creds[id]);
    const [alarm] = await eventually(async () => ((await open()).length === 1 ? open() : undefined), 6000, 50);
    // Due 3 s after the scan; a count started afresh at the restart would take 3 s from there.
    expect(Date.parse(alarm.firstSeen) - scanned).toBeGreaterThanOrEqual(2900);
    expect(Date.parse(alarm.firstSeen) - restarted).toBeLessThan(2500);
    // The baseline of the replaced meter (20) and its multiple reached (120) came through the restart.
    await meter(219);
    await sleep(300);
    expect(await serviceOrders()).toHaveLength(3);
    await meter(220);
    await eventually(async () => ((await serviceOrders()).length === 4 ? true : undefined), 5000, 50);
    expect((await serviceOrders())[3]).toBe('Service meter-1 at 220 kWh');
  });
});
