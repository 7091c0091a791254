import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';

/** Who the connection is before the hostile packets: nobody, or a client that has connected properly. */
export type Preamble = 'none' | 'device' | 'operator';

/** One connection of the packet fuzz: hostile packets, sent after the preamble. */
export interface PacketCase {
  name: string;
  preamble: Preamble;
  packets: Buffer[];
  /** What the gateway must answer, checked by the test: a refused CONNECT, or a SUBACK refusing every filter. */
  expect?: 'connect-refused' | 'all-filters-refused';
}

/** The accounts the cases use: a device (its own prefix), an operator, and a wrong password to try. */
export interface Accounts {
  device: { username: string; password: string; prefix: string };
  operator: { username: string; password: string };
  site: string;
}

/** The MQTT variable byte integer [MQTT-1.5.5]; the fuzz also writes ones longer than four bytes by hand. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

/** A packet from its first byte and body, the remaining length computed. */
export function frame(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first]), varint(body.length), body]);
}

/** A length-prefixed MQTT string of raw bytes (which need not be UTF-8). */
function str(bytes: Buffer | string): Buffer {
  const b = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length & 0xffff);
  return Buffer.concat([len, b]);
}

/** A valid CONNECT (MQTT 3.1.1 unless `version` says 5). */
export function connectPacket(clientId: string, username?: string, password?: string, version: 4 | 5 = 4): Buffer {
  return mqttPacket.generate({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: version,
    clean: true,
    keepalive: 30,
    clientId,
    username,
    password: password === undefined ? undefined : Buffer.from(password),
  });
}

const publish = (topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0) =>
  mqttPacket.generate({ cmd: 'publish', topic, payload, qos, messageId: qos > 0 ? 7 : undefined, retain: false, dup: false });

/** Well-formed packets a client might send, the material the mutations start from. */
function validPackets(a: Accounts): fc.Arbitrary<Buffer> {
  const own = `${a.device.prefix}telemetry`;
  return fc.oneof(
    fc.constant(connectPacket('fuzz-valid', a.device.username, a.device.password)),
    fc.constant(connectPacket('fuzz-valid-5', a.device.username, a.device.password, 5)),
    fc.tuple(fc.constantFrom(own, `${a.device.prefix}event`, `${a.device.prefix}status`), fc.constantFrom<0 | 1 | 2>(0, 1, 2)).map(([t, q]) =>
      publish(t, t.endsWith('status') ? 'online' : '{"on":true,"brightnessPct":50}', q),
    ),
    fc.constant(mqttPacket.generate({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `${a.device.prefix}cmd`, qos: 1 }] })),
    fc.constant(mqttPacket.generate({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: [`${a.device.prefix}cmd`] })),
    fc.constant(mqttPacket.generate({ cmd: 'pingreq' })),
    fc.constant(mqttPacket.generate({ cmd: 'puback', messageId: 9 })),
  );
}

const isConnect = (p: Buffer) => p[0] >> 4 === 1;

/** Topic bytes a PUBLISH must not carry [MQTT-3.3.2-2, MQTT-1.5.3-1, -2]: wildcards, NUL, bad UTF-8, nothing. */
function badTopics(a: Accounts): Buffer[] {
  const p = a.device.prefix;
  return [
    Buffer.from([0xc3, 0x28]),
    Buffer.concat([Buffer.from(p), Buffer.from([0xff, 0xfe])]),
    Buffer.from([0xc0, 0xaf]),
    Buffer.concat([Buffer.from(p), Buffer.from([0xed, 0xa0, 0x80])]),
    Buffer.from(`${p}+`),
    Buffer.from(`${p}#`),
    Buffer.from(`sc/${a.site}/+/x/telemetry`),
    Buffer.from('#'),
    Buffer.from(`${p}telemetry\u0000`),
    Buffer.from(`sc/\u0000/lighting`),
    Buffer.from(''),
    Buffer.from(`${p}\uffff`),
    Buffer.from(`${p}${'x'.repeat(60_000)}`),
  ];
}

/** A SUBSCRIBE of 1,000 filters a device may not read (it may subscribe only its own `cmd`). */
function manyFilters(a: Accounts, salt: number): Buffer {
  // Valid filters all: one that is not (`a/#/b`) closes the connection before any is refused.
  const filters = Array.from({ length: 1000 }, (_, i) => {
    const shapes = [
      `sc/${a.site}/lighting/other-${i}/cmd`,
      `sc/${a.site}/+/dev-${i}/telemetry`,
      `sc/other-${i}/alarms/#`,
      `sc/${a.site}/gateway/${i}/#`,
      `$SYS/${i}/#`,
      `${a.device.prefix}cmd/${i}`,
    ];
    return { topic: shapes[(i + salt) % shapes.length], qos: ((i + salt) % 3) as 0 | 1 | 2 };
  });
  return mqttPacket.generate({ cmd: 'subscribe', messageId: 1 + (salt % 60000), subscriptions: filters });
}

/**
 * A SUBSCRIBE of 1,000 filters from a connected device that may subscribe none of them: the case that logged
 * one warning per refused filter. Few of them go a long way, so the test spreads a fixed number over the run.
 */
export function subscribe1000(a: Accounts, salt: number): PacketCase {
  return { name: 'subscribe-1000-filters', preamble: 'device', packets: [manyFilters(a, salt)], expect: 'all-filters-refused' };
}

/** Every other kind of malformed or refused input the fuzz sends, each a connection of its own. */
export function packetCase(a: Accounts): fc.Arbitrary<PacketCase> {
  const valid = validPackets(a);
  const truncated = valid.chain((p) =>
    fc.integer({ min: 1, max: p.length - 1 }).map((n): PacketCase => ({ name: 'truncated', preamble: isConnect(p) ? 'none' : 'device', packets: [p.subarray(0, n)] })),
  );
  const mutated = fc
    .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
    .map(([p, flips]): PacketCase => {
      const b = Buffer.from(p);
      for (const [at, value] of flips) b[at % b.length] = value;
      return { name: 'mutated', preamble: isConnect(p) ? 'none' : 'device', packets: [b] };
    });
  const garbage = fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constantFrom<Preamble>('none', 'device'))
    .map(([bytes, preamble]): PacketCase => ({ name: 'garbage', preamble, packets: [Buffer.from(bytes)] }));
  const badLength = fc
    .tuple(fc.integer({ min: 0, max: 15 }), fc.constantFrom([0xff, 0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0x7f], [0x80, 0x80, 0x80, 0x80, 0x01], [0x80], [0xff, 0x7f]), fc.constantFrom<Preamble>('none', 'device'))
    .map(([type, len, preamble]): PacketCase => ({ name: 'bad-remaining-length', preamble, packets: [Buffer.from([type << 4, ...len, 0, 3, 0x61, 0x2f, 0x62])] }));
  const badTopic = fc
    .tuple(fc.constantFrom(...badTopics(a)), fc.constantFrom(0, 1))
    .map(([topic, qos]): PacketCase => ({
      name: 'bad-publish-topic',
      preamble: 'device',
      packets: [frame(0x30 | (qos << 1), Buffer.concat([str(topic), qos ? Buffer.from([0, 5]) : Buffer.alloc(0), Buffer.from('{"on":true}')]))],
    }));
  const qos3 = fc
    .tuple(fc.constantFrom(0x36, 0x37, 0x3e, 0x3f), fc.constantFrom<Preamble>('none', 'device'))
    .map(([first, preamble]): PacketCase => ({
      name: 'qos-3',
      preamble,
      packets: [frame(first, Buffer.concat([str(`${a.device.prefix}telemetry`), Buffer.from([0, 1]), Buffer.from('{"on":true}')]))],
    }));
  const longClientId = fc
    .tuple(fc.constantFrom(65_535, 60_000, 24), fc.constantFrom<[string | undefined, string | undefined]>([a.device.username, a.device.password], [a.device.username, 'wrong'], [undefined, undefined]), fc.nat(3))
    .map(([len, [user, pw], seed]): PacketCase => ({
      name: 'long-client-id',
      preamble: 'none',
      // A few distinct ids only: a rate limit may key by client id, and an attacker's ids are endless anyway.
      packets: [connectPacket(String(seed).repeat(len), user, pw)],
      // MQTT 3.1.1 lets a server take ids longer than 23 bytes [MQTT-3.1.3-5]: only the credentials decide.
      expect: pw === a.device.password ? undefined : 'connect-refused',
    }));
  const badPassword = fc
    .tuple(fc.nat(7), fc.constantFrom(a.device.username, a.operator.username, 'nobody', 'pk-good'), fc.string({ maxLength: 40 }), fc.constantFrom<4 | 5>(4, 5))
    .map(([n, user, pw, version]): PacketCase => ({
      name: 'wrong-password',
      preamble: 'none',
      packets: [connectPacket(`wrong-pw-${n}`, user, pw === a.device.password ? `${pw}x` : pw, version)],
      expect: 'connect-refused',
    }));
  const beforeConnect = valid
    .filter((p) => !isConnect(p))
    .map((p): PacketCase => ({ name: 'packet-before-connect', preamble: 'none', packets: [p] }));
  const secondConnect = fc.constant<PacketCase>({ name: 'second-connect', preamble: 'device', packets: [connectPacket('again', a.device.username, a.device.password)] });
  const badConnect = fc
    .constantFrom(
      Buffer.concat([str('MQTX'), Buffer.from([4, 0x02, 0, 30]), str('x')]),
      Buffer.concat([str('MQTT'), Buffer.from([0, 0x02, 0, 30]), str('x')]),
      Buffer.concat([str('MQTT'), Buffer.from([255, 0x02, 0, 30]), str('x')]),
      Buffer.concat([str('MQTT'), Buffer.from([4, 0x03, 0, 30]), str('x')]), // reserved flag set [MQTT-3.1.2-3]
      Buffer.concat([str('MQTT'), Buffer.from([4, 0x1e, 0, 30]), str('x'), str('w'), str('m')]), // will QoS 3
      Buffer.concat([str('MQTT'), Buffer.from([4, 0x40, 0, 30]), str('x'), str('pw')]), // password without user name
      Buffer.concat([str('MQTT'), Buffer.from([4, 0x00, 0, 30]), str('')]), // empty id without clean session
      Buffer.concat([str('MQTT'), Buffer.from([5, 0x02, 0, 30]), varint(200), Buffer.from([0x11, 0, 0, 0, 1]), str('x')]), // property length too long
      Buffer.concat([str('MQTT'), Buffer.from([5, 0x02, 0, 30, 5, 0xff, 0, 0, 0, 1]), str('x')]), // unknown property
      Buffer.concat([str('MQTT'), Buffer.from([5, 0x02, 0, 30, 6, 0x21, 0, 1, 0x21, 0, 1]), str('x')]), // duplicate property
    )
    .map((body): PacketCase => ({ name: 'bad-connect', preamble: 'none', packets: [frame(0x10, body)] }));
  const reserved = fc
    .tuple(fc.constantFrom(0x80, 0xa0, 0x60, 0x00, 0xf0, 0x82 | 0x01, 0xe2), fc.constantFrom<Preamble>('none', 'device'))
    .map(([first, preamble]): PacketCase => ({ name: 'reserved-flags-or-type', preamble, packets: [frame(first, Buffer.concat([Buffer.from([0, 1]), str(`${a.device.prefix}cmd`), Buffer.from([0])]))] }));
  const empty = fc
    .constantFrom(frame(0x82, Buffer.from([0, 1])), frame(0xa2, Buffer.from([0, 1])), frame(0x82, Buffer.from([0, 0, 0, 1, 0x61, 0])), frame(0x32, Buffer.concat([str(`${a.device.prefix}telemetry`), Buffer.from([0, 0])])))
    .map((p): PacketCase => ({ name: 'empty-or-id-0', preamble: 'device', packets: [p] }));
  const foreign = fc
    .tuple(fc.constantFrom<Preamble>('device', 'operator'), fc.integer({ min: 1, max: 8 }), fc.constantFrom<0 | 1>(0, 1))
    .map(([preamble, n, qos]): PacketCase => {
      const topics = [`sc/${a.site}/lighting/pk-good/telemetry`, `sc/other-site/lighting/x/telemetry`, `sc/${a.site}/gateway/rejected`, `${a.device.prefix}cmd`, `sc/${a.site}/alarms/critical/fire/x`];
      return { name: 'refused-publish', preamble, packets: Array.from({ length: n }, (_, i) => publish(topics[i % topics.length], '{"on":true}', qos)) };
    });
  return fc.oneof(
    { weight: 4, arbitrary: truncated },
    { weight: 5, arbitrary: mutated },
    { weight: 3, arbitrary: garbage },
    { weight: 2, arbitrary: badLength },
    { weight: 3, arbitrary: badTopic },
    { weight: 1, arbitrary: qos3 },
    { weight: 1, arbitrary: longClientId },
    { weight: 3, arbitrary: badPassword },
    { weight: 2, arbitrary: beforeConnect },
    { weight: 1, arbitrary: secondConnect },
    { weight: 2, arbitrary: badConnect },
    { weight: 2, arbitrary: reserved },
    { weight: 1, arbitrary: empty },
    { weight: 1, arbitrary: foreign },
  );
}

/** Refused publishes are well-formed: they go alongside, not counted among the malformed packets. */
export const isMalformed = (c: Pick<PacketCase, 'name'>): boolean => c.name !== 'refused-publish';

/**
 * The run's cases one at a time, until `packets` malformed packets are planned: batches of 500 from seeds
 * `seed`, `seed + 1`, … (a long run holds little in memory), with `bigSubscribes` SUBSCRIBEs of 1,000
 * filters spread evenly among them.
 */
export function planCases(a: Accounts, seed: number, packets: number, bigSubscribes: number): () => PacketCase | undefined {
  const arb = packetCase(a);
  let batch: PacketCase[] = [];
  let batchNo = 0;
  let planned = 0;
  let big = 0;
  return () => {
    if (planned >= packets) return undefined;
    if (big < bigSubscribes && planned >= ((big + 0.5) * packets) / bigSubscribes) {
      planned++;
      return subscribe1000(a, big++);
    }
    if (batch.length === 0) batch = fc.sample(arb, { seed: seed + batchNo++, numRuns: 500 });
    const c = batch.pop()!;
    if (isMalformed(c)) planned += c.packets.length;
    return c;
  };
}
