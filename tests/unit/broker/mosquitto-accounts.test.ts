import { describe, expect, it } from 'vitest';
import { DynsecClient } from '../../../src/broker/dynsec.js';
import { deviceAcls, gatewayAcls, operatorAcls, sameAcls } from '../../../src/broker/mosquitto-accounts.js';
import { createLogger } from '../../../src/log.js';
import { Topics } from '../../../src/topics.js';

const topics = new Topics('sc');

describe('the Mosquitto roles of contract §3', () => {
  it("lets a device publish its four topics and read its own cmd, nothing else", () => {
    expect(deviceAcls(topics, { site: 'maple-court', kind: 'fire', id: 'smoke-1' })).toStrictEqual([
      { acltype: 'publishClientSend', topic: 'sc/maple-court/fire/smoke-1/telemetry', allow: true },
      { acltype: 'publishClientSend', topic: 'sc/maple-court/fire/smoke-1/event', allow: true },
      { acltype: 'publishClientSend', topic: 'sc/maple-court/fire/smoke-1/status', allow: true },
      { acltype: 'publishClientSend', topic: 'sc/maple-court/fire/smoke-1/cmd/result', allow: true },
      { acltype: 'subscribeLiteral', topic: 'sc/maple-court/fire/smoke-1/cmd', allow: true },
      { acltype: 'publishClientReceive', topic: 'sc/maple-court/fire/smoke-1/cmd', allow: true },
    ]);
  });

  it("lets an operator subscribe to and receive its sites' operator topics, and publish nothing", () => {
    const acls = operatorAcls(topics, ['a', 'b']);
    expect(acls.filter((a) => a.acltype === 'publishClientSend')).toStrictEqual([]);
    expect(acls.filter((a) => a.acltype === 'subscribePattern').map((a) => a.topic)).toStrictEqual([
      'sc/a/alarms/#',
      'sc/a/workorders/#',
      'sc/a/incidents/#',
      'sc/a/gateway/#',
      'sc/a/+/+/status',
      'sc/b/alarms/#',
      'sc/b/workorders/#',
      'sc/b/incidents/#',
      'sc/b/gateway/#',
      'sc/b/+/+/status',
    ]);
    expect(acls.filter((a) => a.acltype === 'publishClientReceive')).toHaveLength(10);
  });

  it('gives the gateway the base topic, shared subscriptions to it included, and nothing outside it', () => {
    expect(gatewayAcls(new Topics('estate/north')).map((a) => `${a.acltype} ${a.topic}`)).toStrictEqual([
      'publishClientSend estate/north/#',
      'publishClientReceive estate/north/#',
      'subscribePattern estate/north/#',
      'subscribePattern $share/+/estate/north/#',
    ]);
  });

  it('compares ACL lists regardless of order and of the priority the broker adds', () => {
    const a = gatewayAcls(topics);
    expect(sameAcls(a, [...a].reverse().map((x) => ({ ...x, priority: 0 })))).toBe(true);
    expect(sameAcls(a, a.slice(1))).toBe(false);
    expect(sameAcls(a, a.map((x, i) => (i === 0 ? { ...x, allow: false } : x)))).toBe(false);
  });
});

describe('DynsecClient', () => {
  const log = createLogger('silent');

  it('matches a response to its command message by correlationData and answers in order', async () => {
    const sent: string[] = [];
    const client = new DynsecClient(async (_t, body) => void sent.push(body.toString()), () => true, 1000, log);
    const answer = client.send([{ command: 'getClient', username: 'a' }, { command: 'deleteRole', rolename: 'r' }]);
    const { commands } = JSON.parse(sent[0]) as { commands: Array<{ command: string; correlationData: string }> };
    client.handleResponse(Buffer.from(JSON.stringify({ responses: [{ command: 'getClient', correlationData: 'someone-else' }] })));
    client.handleResponse(
      Buffer.from(
        JSON.stringify({
          responses: [
            { command: 'getClient', correlationData: commands[0].correlationData, data: { client: { username: 'a' } } },
            { command: 'deleteRole', correlationData: commands[1].correlationData, error: 'Role not found' },
          ],
        }),
      ),
    );
    expect(await answer).toStrictEqual([
      { command: 'getClient', correlationData: commands[0].correlationData, data: { client: { username: 'a' } } },
      { command: 'deleteRole', correlationData: commands[1].correlationData, error: 'Role not found' },
    ]);
  });

  it('refuses at once while the link is down, and times out a broker that does not answer', async () => {
    const down = new DynsecClient(async () => undefined, () => false, 1000, log);
    await expect(down.send([{ command: 'listClients' }])).rejects.toMatchObject({ code: 'broker_unavailable', statusCode: 503 });
    const silent = new DynsecClient(async () => undefined, () => true, 20, log);
    await expect(silent.send([{ command: 'listClients' }])).rejects.toThrow(/did not answer listClients within 20 ms/);
  });
});
