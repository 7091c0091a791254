import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { createAuth } from '../../../src/broker/auth.js';
import type { DeviceRecord } from '../../../src/devices/registry.js';
import { createLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/metrics.js';
import { RefusalLog } from '../../../src/refusal-log.js';
import type { OperatorRecord } from '../../../src/operators/registry.js';
import { Topics } from '../../../src/topics.js';

const device: DeviceRecord = {
  id: 'door-1',
  kind: 'access',
  site: 'maple-court',
  zone: 'b1',
  tags: {},
  createdAt: 0,
  online: false,
  lastSeen: null,
};
const operator: OperatorRecord = { id: 'op-1', name: 'Desk', sites: ['maple-court'], role: 'viewer', disabled: false, createdAt: 0 };

function setup(allowAnonymous = false) {
  const metrics = new Metrics();
  const auth = createAuth({
    topics: new Topics('sc'),
    metrics,
    refusals: new RefusalLog(createLogger('silent'), 60_000),
    allowAnonymous,
    findDevice: (id, pw) => (id === 'door-1' && pw?.toString() === 'pw' ? device : undefined),
    findOperator: (id, pw) => (id === 'op-1' && pw?.toString() === 'opw' ? operator : undefined),
  });
  const login = (username?: string, password?: string) =>
    new Promise<{ client: Client; ok: boolean | null; code?: number }>((resolve) => {
      const client = { id: `c-${Math.random()}` } as Client;
      auth.authenticate(client, username, password === undefined ? undefined : Buffer.from(password), (err, ok) =>
        resolve({ client, ok, code: err?.returnCode }),
      );
    });
  const subscribe = (client: Client, topic: string) =>
    new Promise<boolean>((resolve) => auth.authorizeSubscribe(client, { topic, qos: 0 }, (_e, sub) => resolve(Boolean(sub))));
  const forward = (client: Client, topic: string, payload = 'x') =>
    auth.authorizeForward(client, { topic, payload: Buffer.from(payload), qos: 0, retain: true, cmd: 'publish', dup: false } as never) !== null;
  return { auth, metrics, login, subscribe, forward };
}

describe('authenticate', () => {
  it('admits a device with its password and an operator with theirs', async () => {
    const { login } = setup();
    expect((await login('door-1', 'pw')).ok).toBe(true);
    expect((await login('op-1', 'opw')).ok).toBe(true);
  });

  it('refuses a wrong password with CONNACK 4 and an anonymous client with 5, and counts both', async () => {
    const { login, metrics } = setup();
    expect(await login('door-1', 'nope')).toMatchObject({ ok: false, code: 4 });
    expect(await login()).toMatchObject({ ok: false, code: 5 });
    expect(metrics.value('gateway_mqtt_refused_total', { what: 'connect', reason: 'bad_credentials' })).toBe(1);
    expect(metrics.value('gateway_mqtt_refused_total', { what: 'connect', reason: 'anonymous' })).toBe(1);
  });

  it('admits anonymous clients only when that is turned on, and then only as devices', async () => {
    const { login, auth } = setup(true);
    const { client, ok } = await login();
    expect(ok).toBe(true);
    expect(auth.canPublish(client, 'sc/maple-court/access/door-1/telemetry')).toBe(true);
    expect(auth.canPublish(client, 'sc/maple-court/access/door-1/cmd')).toBe(false);
    expect(auth.canPublish(client, 'sc/maple-court/alarms/critical/fire/x')).toBe(false);
  });
});

describe('device ACL', () => {
  it('publishes only under its own prefix, never on its own cmd topic', async () => {
    const { login, auth } = setup();
    const { client } = await login('door-1', 'pw');
    expect(auth.canPublish(client, 'sc/maple-court/access/door-1/telemetry')).toBe(true);
    expect(auth.canPublish(client, 'sc/maple-court/access/door-1/cmd/result')).toBe(true);
    expect(auth.canPublish(client, 'sc/maple-court/access/door-2/telemetry')).toBe(false);
    expect(auth.canPublish(client, 'sc/maple-court/access/door-1/cmd')).toBe(false);
    expect(auth.canPublish(client, 'sc/maple-court/alarms/critical/x/y')).toBe(false);
  });

  it('subscribes only to its own cmd topic', async () => {
    const { login, subscribe, forward } = setup();
    const { client } = await login('door-1', 'pw');
    expect(await subscribe(client, 'sc/maple-court/access/door-1/cmd')).toBe(true);
    expect(await subscribe(client, 'sc/maple-court/access/door-1/#')).toBe(false);
    expect(await subscribe(client, 'sc/maple-court/access/+/cmd')).toBe(false);
    expect(await subscribe(client, '#')).toBe(false);
    expect(forward(client, 'sc/maple-court/access/door-2/cmd')).toBe(false);
  });
});

describe('operator ACL', () => {
  it('reads alarms, work orders, gateway and status topics of its sites and publishes nothing', async () => {
    const { login, subscribe, auth } = setup();
    const { client } = await login('op-1', 'opw');
    expect(await subscribe(client, 'sc/maple-court/alarms/#')).toBe(true);
    expect(await subscribe(client, 'sc/maple-court/workorders/#')).toBe(true);
    expect(await subscribe(client, 'sc/maple-court/gateway/rejected')).toBe(true);
    expect(await subscribe(client, 'sc/maple-court/+/+/status')).toBe(true);
    expect(await subscribe(client, 'sc/maple-court/#')).toBe(false);
    expect(await subscribe(client, 'sc/other-site/alarms/#')).toBe(false);
    expect(await subscribe(client, 'sc/maple-court/fire/+/telemetry')).toBe(false);
    expect(auth.canPublish(client, 'sc/maple-court/alarms/x')).toBe(false);
  });

  it("reads its own sites' retained definitions and no other site's (contract §14)", async () => {
    const { login, subscribe, forward } = setup();
    const { client } = await login('op-1', 'opw');
    const topics = new Topics('sc');
    expect(await subscribe(client, topics.definitions('maple-court'))).toBe(true);
    expect(forward(client, topics.definitions('maple-court'), '{}')).toBe(true);
    expect(await subscribe(client, topics.definitions('other-site'))).toBe(false);
    expect(await subscribe(client, 'sc/+/gateway/definitions')).toBe(false);
    expect(forward(client, topics.definitions('other-site'), '{}')).toBe(false);
  });

  it('never receives a message outside its filters, nor a status that is not online/offline', async () => {
    const { login, forward } = setup();
    const { client } = await login('op-1', 'opw');
    expect(forward(client, 'sc/maple-court/fire/d1/status', 'online')).toBe(true);
    expect(forward(client, 'sc/maple-court/fire/d1/status', 'garbage')).toBe(false);
    expect(forward(client, 'sc/maple-court/fire/d1/telemetry')).toBe(false);
    expect(forward(client, 'sc/other-site/alarms/critical/fire/d1')).toBe(false);
  });
});
