import { connect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type TestGateway } from '../helpers/gateway.js';
import { logLines } from '../helpers/log-lines.js';

const SITE = 'maple-court';

/**
 * One MQTT CONNECT over a raw socket from `localAddress` (Linux answers all of 127/8 on loopback, so
 * 127.0.0.2 is another source address); resolves with the CONNACK return code.
 */
function connack(port: number, username: string, password: string, localAddress = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => {
      if (packet.cmd !== 'connack') return;
      socket.destroy();
      resolve(packet.returnCode ?? -1);
    });
    socket.on('data', (chunk) => parser.parse(chunk));
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('connection closed before CONNACK')));
    socket.on('connect', () =>
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: `t-${Math.random()}`, username, password: Buffer.from(password) })),
    );
  });
}

/** `n` CONNECTs, `parallel` at a time; the CONNACK codes, counted. */
async function connacks(n: number, parallel: number, attempt: () => Promise<number>): Promise<Record<number, number>> {
  const codes: Record<number, number> = {};
  let left = n;
  const worker = async () => {
    while (left-- > 0) {
      const code = await attempt();
      codes[code] = (codes[code] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return codes;
}

describe('login throttling (issue 19)', () => {
  let gw: TestGateway;
  let door1: { username: string; password: string };
  let door2: { username: string; password: string };
  const logs = logLines();

  const metric = async (name: string, protocol: string) => {
    const text = (await gw.api('GET', '/metrics')).body as string;
    const m = new RegExp(`^${name}\\{protocol="${protocol}"\\} (\\d+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };

  beforeAll(async () => {
    // The slowed replies wait 100 ms at most here (4 s by default), so the 15 slowed ones take little time.
    gw = await startGateway({ LOG_LEVEL: 'info', LOGIN_THROTTLE_MAX_DELAY: '100ms' }, undefined, logs.log);
    door1 = await gw.register('door-1', 'access', SITE, 'b1');
    door2 = await gw.register('door-2', 'access', SITE, 'b1');
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('slows 1,000 wrong passwords from one address, then refuses them unchecked, while the device connects from another address', async () => {
    const codes = await connacks(1000, 8, () => connack(gw.mqttPort, door1.username, 'wrong-password'));
    // 20 passwords checked (CONNACK 4, the last 15 answered late), then refused without a look (CONNACK 5).
    expect(codes).toStrictEqual({ 4: 20, 5: 980 });
    expect(await metric('gateway_login_failures_total', 'mqtt')).toBe(20);
    expect(await metric('gateway_login_delayed_total', 'mqtt')).toBe(15);
    expect(await metric('gateway_login_blocked_total', 'mqtt')).toBe(980);
    expect(await metric('gateway_login_blocked_sources', 'mqtt')).toBe(1);

    // The right password from the attacked address is not even checked now...
    expect(await connack(gw.mqttPort, door1.username, door1.password)).toBe(5);
    // ...but the device itself, from another address, connects at once.
    expect(await connack(gw.mqttPort, door1.username, door1.password, '127.0.0.2')).toBe(0);
  });

  it('still lets in another device behind the same address (one NAT address for a site)', async () => {
    expect(await connack(gw.mqttPort, door2.username, door2.password)).toBe(0);
    expect(await connack(gw.mqttPort, door2.username, 'wrong-password')).toBe(4);
  });

  it('answers wrong API tokens 401, later and later, then 429 with Retry-After, while the admin token from the same address works', async () => {
    const call = (token: string) => fetch(`http://127.0.0.1:${gw.httpPort}/api/devices`, { headers: { authorization: `Bearer ${token}` } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await call(`wrong-token-${i}`)).status);
    expect(statuses).toStrictEqual(new Array(20).fill(401));
    expect(await metric('gateway_login_delayed_total', 'http')).toBe(15);

    const refused = await call('wrong-token-20');
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: 'too_many_requests' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(600);

    expect((await call(ADMIN_TOKEN)).status).toBe(200);
    expect((await call('wrong-token-21')).status).toBe(429);
    expect(await metric('gateway_login_failures_total', 'http')).toBe(20);
    expect(await metric('gateway_login_blocked_total', 'http')).toBe(2);
    expect(await metric('gateway_login_blocked_sources', 'http')).toBe(1);
  });

  it('writes a handful of log lines for all those attempts, with their count, not one line each', async () => {
    await gw.stop();
    const mqtt = logs.lines.filter((l) => l.msg === 'mqtt connection refused' && l.source === '127.0.0.1');
    expect(mqtt.length).toBeLessThanOrEqual(3);
    // 1,000 wrong passwords, the right one refused unchecked, and door-2's wrong one.
    expect(mqtt.reduce((n, l) => n + l.attempts, 0)).toBe(1002);
    expect(mqtt.at(-1)).toMatchObject({ outcomes: { throttled: 981 } });
    const http = logs.lines.filter((l) => l.msg === 'http token refused');
    expect(http.length).toBeLessThanOrEqual(3);
    expect(http.reduce((n, l) => n + l.attempts, 0)).toBe(22);
    const fromLocalhost = logs.lines.filter((l) => l.source === '127.0.0.1');
    expect(fromLocalhost.length).toBeLessThan(10);
  });
});
