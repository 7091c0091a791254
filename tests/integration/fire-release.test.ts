import { resolve } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

const SITE = 'maple-court';
const ZONE = 'b1-f2';

describe('a door left unlocked after a fire (issue 17), with the default rule pack', () => {
  let gw: TestGateway;
  const clients: Record<string, MqttClient> = {};
  const publish = (device: string, kind: string, suffix: string, body: unknown) =>
    clients[device].publishAsync(`sc/${SITE}/${kind}/${device}/${suffix}`, JSON.stringify(body), { qos: 1 });
  const device = async (id: string) => (await gw.api('GET', `/api/devices/${id}`)).body as Record<string, unknown>;
  const flagged = async () =>
    ((await gw.api('GET', '/api/devices')).body as Array<Record<string, unknown>>).filter((d) => d.unlockedAfterFire === true).map((d) => d.id);
  /** Door ids with the commands each received. */
  const commands: Record<string, string[]> = {};

  beforeAll(async () => {
    gw = await startGateway({ RULES_DIR: resolve('rules') });
    for (const [id, kind, zone] of [['smoke-1', 'fire', ZONE], ['door-1', 'access', ZONE], ['door-2', 'access', ZONE], ['door-9', 'access', 'b1-f9']] as const) {
      clients[id] = await gw.connect(await gw.register(id, kind, SITE, zone));
    }
    // The doors answer as a controller does: the command's result, then their new state.
    for (const id of ['door-1', 'door-2', 'door-9']) {
      commands[id] = [];
      await clients[id].subscribeAsync(`sc/${SITE}/access/${id}/cmd`, { qos: 1 });
      clients[id].on('message', (_topic, payload) => {
        const cmd = JSON.parse(payload.toString()) as { id: string; action: string };
        commands[id].push(cmd.action);
        void publish(id, 'access', 'cmd/result', { id: cmd.id, ok: true });
        if (cmd.action === 'unlock') void publish(id, 'access', 'telemetry', { locked: false, doorOpen: false });
      });
    }
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('flags the released doors once the fire alarm is cleared, until each reports locked', async () => {
    await publish('door-9', 'access', 'telemetry', { locked: false, doorOpen: false });
    await publish('smoke-1', 'fire', 'event', { type: 'fire_alarm' });
    const alarm = await eventually(async () => ((await gw.api('GET', '/api/alarms?type=fire_alarm')).body as Array<Record<string, any>>)[0]);
    await eventually(() => commands['door-1'].includes('unlock') && commands['door-2'].includes('unlock'), 5000);
    // The fire is still on: the doors are meant to be open.
    await eventually(async () => (await device('door-2')).online === true);
    expect(await flagged()).toStrictEqual([]);

    // The detector's reset clears the alarm (it stays, cleared, until someone acknowledges it).
    await publish('smoke-1', 'fire', 'event', { type: 'reset' });
    await eventually(async () => (await device('door-1')).unlockedAfterFire === true, 5000);
    expect(await flagged()).toStrictEqual(['door-1', 'door-2']);
    expect(commands['door-9']).toStrictEqual([]);

    // Acknowledged: the fire is over either way, the doors stay flagged.
    expect((await gw.api('POST', `/api/alarms/${alarm.id}/ack`, { note: 'false alarm, dust' })).status).toBe(200);
    expect((await device('door-1')).unlockedAfterFire).toBe(true);

    await publish('door-1', 'access', 'telemetry', { locked: true, doorOpen: false });
    await eventually(async () => (await device('door-1')).unlockedAfterFire === undefined, 5000);
    expect(await flagged()).toStrictEqual(['door-2']);
  }, 20_000);
});
