import { connect, type Socket } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.js';

const SITE = 'maple-court';
const TOPIC = `sc/${SITE}/access/door-1/event`;

/** A raw MQTT 3.1.1 connection: the test chooses packet ids and the DUP flag itself. */
async function rawClient(port: number, username: string, password: string) {
  const socket: Socket = connect({ port, host: '127.0.0.1' });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: Array<{ cmd: string; messageId?: number; returnCode?: number }> = [];
  socket.on('data', (d) => parser.parse(d));
  parser.on('packet', (p) => packets.push(p as never));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const send = (packet: object) => socket.write(mqttPacket.generate(packet as never));
  send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `raw-${Math.random()}`, keepalive: 30, username, password: Buffer.from(password) });
  await eventually(() => packets.find((p) => p.cmd === 'connack'), 5000, 10);
  return { socket, packets, closed, send };
}

describe('a QoS 1 message sent again after a failed hand-off (issue 13)', () => {
  let gw: TestGateway;
  let dir: string;
  let creds: { username: string; password: string };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'redelivery-'));
    await mkdir(join(dir, 'rules'));
    await writeFile(
      join(dir, 'rules', 'forced.yaml'),
      '- id: forced-twice\n  match: { kind: access }\n  when: { event: door_forced, count: 2, within: 1m }\n  alarm: { type: forced_twice, severity: major }\n',
    );
    gw = await startGateway({ RULES_DIR: join(dir, 'rules') }, dir);
    creds = await gw.register('door-1', 'access', SITE, 'b1');
  });
  afterAll(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const forcedAlarms = async () => (await gw.api('GET', '/api/alarms?type=forced_twice')).body as unknown[];

  it('is stored, and reaches the rules once', async () => {
    const payload = Buffer.from(JSON.stringify({ type: 'door_forced' }));
    const writer = gw.gateway.writer as unknown as { write: (line: string) => Promise<void> };
    const write = writer.write.bind(writer);
    let failed = 0;
    writer.write = (line) => {
      if (failed++ === 0) return Promise.reject(new Error('disk full'));
      return write(line);
    };
    // The hand-off fails: no PUBACK, the connection is closed, and the rules have seen the message once.
    const first = await rawClient(gw.mqttPort, creds.username, creds.password);
    first.send({ cmd: 'publish', topic: TOPIC, payload, qos: 1, messageId: 7, dup: false, retain: false });
    await first.closed;
    expect(first.packets.filter((p) => p.cmd === 'puback')).toStrictEqual([]);
    writer.write = write;

    // The device sends it again, as MQTT asks [MQTT-4.4.0-1]: same packet id, DUP set.
    const again = await rawClient(gw.mqttPort, creds.username, creds.password);
    again.send({ cmd: 'publish', topic: TOPIC, payload, qos: 1, messageId: 7, dup: true, retain: false });
    await eventually(() => again.packets.find((p) => p.cmd === 'puback' && p.messageId === 7), 5000, 10);
    expect(gw.gateway.metrics.value('gateway_messages_accepted_total', { kind: 'access', type: 'event' })).toBe(2);
    await new Promise((r) => setTimeout(r, 200));
    // Counted once by the rule: one door forced is not two.
    expect(await forcedAlarms()).toStrictEqual([]);

    // A new message with a new packet id is a second door forced.
    again.send({ cmd: 'publish', topic: TOPIC, payload, qos: 1, messageId: 8, dup: false, retain: false });
    await eventually(async () => (await forcedAlarms()).length === 1);
    again.socket.end();
  });
});
