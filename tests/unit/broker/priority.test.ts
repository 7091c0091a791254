import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { FairReader, lifeSafetyConnection, READ_AHEAD } from '../../../src/broker/priority.js';
import type { DeviceRecord } from '../../../src/devices/registry.js';

/** A real aedes broker whose connections FairReader reads; ids starting `fire-` are the life-safety ones. */
async function start(options: { chunkBytes: number; sliceMs: number }, costUs = 0) {
  const handled: string[] = [];
  /** Messages whose payload is `held` wait for their callback (as a QoS 1 message waits for storage) until released. */
  const held: Array<() => void> = [];
  const aedes = await Aedes.createBroker({
    authorizePublish: (client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void) => {
      // Some work per message, as ingest does, so that a flood takes its time.
      const until = performance.now() + costUs / 1000;
      while (performance.now() < until);
      handled.push(`${client?.id}:${packet.payload.toString()}`);
      if (packet.payload.toString() === 'held') held.push(() => done(null));
      else done(null);
    },
  });
  const reader = new FairReader(options, (client) => client.id.startsWith('fire-'));
  const server: Server = createServer((socket) => {
    const client = aedes.handle(socket);
    if (!reader.attach(client)) throw new Error('not attached');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const sockets: Socket[] = [];
  const open = async (clientId: string) => {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    const parser = mqttPacket.parser();
    const acks: number[] = [];
    parser.on('packet', (p) => {
      if (p.cmd === 'puback') acks.push(p.messageId!);
    });
    const connack = new Promise<void>((resolve) => parser.once('packet', () => resolve()));
    socket.on('data', (d: Buffer) => parser.parse(d));
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 60 }));
    await connack;
    return { socket, acks };
  };
  const publishes = (topic: string, from: number, to: number, qos: 0 | 1 = 0) =>
    Buffer.concat(
      Array.from({ length: to - from }, (_, i) =>
        mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(String(from + i)), qos, messageId: qos ? from + i + 1 : undefined, retain: false, dup: false }),
      ),
    );
  const until = async (ok: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  };
  const stop = async () => {
    for (const s of sockets) s.destroy();
    reader.stop();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
  };
  const release = () => held.splice(0).forEach((done) => done());
  return { handled, release, reader, open, publishes, until, stop };
}

let stopping: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stopping?.();
  stopping = undefined;
});

describe('FairReader: the broker read path of the priority lane', () => {
  it("handles a fire detector's message before most of a flood that another connection sent before it", async () => {
    const b = await start({ chunkBytes: 4096, sliceMs: 0 }, 20);
    stopping = b.stop;
    const meter = await b.open('meter-1');
    const fire = await b.open('fire-1');
    const FLOOD = 5000;
    meter.socket.write(b.publishes('sc/s/energy/meter-1/telemetry', 0, FLOOD));
    // The flood is on its way (and, at 20 µs a message, takes 100 ms to handle) when the detector sends.
    await new Promise((r) => setTimeout(r, 5));
    fire.socket.write(mqttPacket.generate({ cmd: 'publish', topic: 'sc/s/fire/fire-1/event', payload: Buffer.from('fire_alarm'), qos: 1, messageId: 1, retain: false, dup: false }));
    await b.until(() => b.handled.length === FLOOD + 1);
    const position = b.handled.indexOf('fire-1:fire_alarm');
    expect(position).toBeGreaterThanOrEqual(0);
    // The detector waited for at most a few of the flood's 4 KB visits, not for the flood.
    expect(position).toBeLessThan(FLOOD / 5);
    await b.until(() => fire.acks.length === 1);
    expect(fire.acks).toStrictEqual([1]);
    expect(b.reader.stats.priorityPackets).toBeGreaterThanOrEqual(1);
  });

  it('reads on while messages wait for storage, up to READ_AHEAD of them, then holds the connection until they are safe', async () => {
    const b = await start({ chunkBytes: 4096, sliceMs: 4 });
    stopping = b.stop;
    const fire = await b.open('fire-1');
    const meter = await b.open('meter-1');
    const publish = (payload: string, messageId: number) => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from(payload), qos: 1, messageId, retain: false, dup: false });
    // A detector's reading waits for storage: its fire alarm right after it is handled all the same.
    fire.socket.write(publish('held', 1));
    await b.until(() => b.handled.length === 1);
    fire.socket.write(publish('fire_alarm', 2));
    await b.until(() => b.handled.includes('fire-1:fire_alarm'));
    expect(b.handled).toContain('fire-1:fire_alarm');
    // A meter with more readings waiting than it may is not read further (back-pressure) until they are safe.
    const held = READ_AHEAD + 6;
    meter.socket.write(Buffer.concat(Array.from({ length: held }, (_, i) => publish('held', i + 1))));
    await b.until(() => b.handled.filter((h) => h === 'meter-1:held').length === held);
    meter.socket.write(publish('reading', held + 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(b.handled).not.toContain('meter-1:reading');
    b.release();
    await b.until(() => b.handled.includes('meter-1:reading') && meter.acks.length === held + 1 && fire.acks.length === 2);
    expect(meter.acks).toStrictEqual(Array.from({ length: held + 1 }, (_, i) => i + 1));
    expect([...fire.acks].sort()).toStrictEqual([1, 2]);
  });

  it('answers a stored batch of thousands of messages in short turns, so a fire alarm does not wait for all of them', async () => {
    const b = await start({ chunkBytes: 4096, sliceMs: 4 });
    stopping = b.stop;
    const fire = await b.open('fire-1');
    // 10,000 PUBACK callbacks come due at once (an InfluxDB batch was stored), 50 µs each: half a second in one go.
    let answered = 0;
    for (let i = 0; i < 10_000; i++) {
      b.reader.defer(() => {
        const until = performance.now() + 0.05;
        while (performance.now() < until);
        answered++;
      });
    }
    fire.socket.write(mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.from('fire_alarm'), qos: 0, retain: false, dup: false }));
    let answeredBefore = -1;
    await b.until(() => {
      if (answeredBefore < 0 && b.handled.includes('fire-1:fire_alarm')) answeredBefore = answered;
      return answered === 10_000;
    });
    expect(answeredBefore).toBeGreaterThanOrEqual(0);
    expect(answeredBefore).toBeLessThan(5_000);
  });

  it("reads a door controller's one message before a backlogged connection's flood", async () => {
    const b = await start({ chunkBytes: 4096, sliceMs: 0 }, 20);
    stopping = b.stop;
    const meter = await b.open('meter-1');
    const door = await b.open('door-1');
    const FLOOD = 5000;
    meter.socket.write(b.publishes('sc/s/energy/meter-1/telemetry', 0, FLOOD));
    await new Promise((r) => setTimeout(r, 5));
    door.socket.write(mqttPacket.generate({ cmd: 'publish', topic: 'sc/s/access/door-1/event', payload: Buffer.from('door_forced'), qos: 0, retain: false, dup: false }));
    await b.until(() => b.handled.length === FLOOD + 1);
    const position = b.handled.indexOf('door-1:door_forced');
    expect(position).toBeGreaterThanOrEqual(0);
    expect(position).toBeLessThan(FLOOD / 5);
  });

  it('takes turns between busy connections instead of reading one to its end', async () => {
    const b = await start({ chunkBytes: 1024, sliceMs: 0 });
    stopping = b.stop;
    const one = await b.open('meter-1');
    const two = await b.open('meter-2');
    one.socket.write(b.publishes('a/1', 0, 2000));
    two.socket.write(b.publishes('a/2', 0, 2000));
    await b.until(() => b.handled.length === 4000);
    // By the time the first connection's messages are all handled, most of the second's are too.
    const lastOfOne = b.handled.lastIndexOf('meter-1:1999');
    const twoBefore = b.handled.slice(0, lastOfOne).filter((h) => h.startsWith('meter-2:')).length;
    expect(twoBefore).toBeGreaterThan(1500);
  });

  it('loses nothing and keeps each connection in order, packets split across reads, QoS 0 and 1', async () => {
    // 7 bytes a visit: every packet is cut in two or three.
    const b = await start({ chunkBytes: 7, sliceMs: 1 });
    stopping = b.stop;
    const zero = await b.open('meter-0');
    const one = await b.open('meter-1');
    zero.socket.write(b.publishes('q/0', 0, 300, 0));
    one.socket.write(b.publishes('q/1', 0, 300, 1));
    await b.until(() => b.handled.length === 600 && one.acks.length === 300);
    const of = (id: string) => b.handled.filter((h) => h.startsWith(`${id}:`)).map((h) => Number(h.split(':')[1]));
    const expected = Array.from({ length: 300 }, (_, i) => i);
    expect(of('meter-0')).toStrictEqual(expected);
    expect(of('meter-1')).toStrictEqual(expected);
    expect(one.acks).toStrictEqual(expected.map((i) => i + 1));
  });
});

describe('lifeSafetyConnection', () => {
  const device = (kind: DeviceRecord['kind']) =>
    ({ role: 'device', device: { id: 'd', kind, site: 's', zone: 'z', tags: {}, createdAt: 0, online: false, lastSeen: null }, prefix: 'sc/s/x/d/', cmdTopic: '' }) as const;

  it('is a fire detector, an emergency call point or a lift; not a meter, an operator or a bridge', () => {
    expect(lifeSafetyConnection(device('fire'))).toBe(true);
    expect(lifeSafetyConnection(device('sos'))).toBe(true);
    expect(lifeSafetyConnection(device('lift'))).toBe(true);
    expect(lifeSafetyConnection(device('energy'))).toBe(false);
    expect(lifeSafetyConnection({ role: 'bridge', bridge: { id: 'b', site: 's', profiles: [], createdAt: 0 } })).toBe(false);
    expect(lifeSafetyConnection(undefined)).toBe(false);
  });
});
