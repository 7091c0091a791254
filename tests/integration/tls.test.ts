import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/env.js';
import { TlsFileError } from '../../src/errors.js';
import { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { ADMIN_TOKEN, connectMqtt, eventually, NO_INFLUX, startGateway, subscribeGranted, type TestGateway } from '../helpers/gateway.js';
import { logLines } from '../helpers/log-lines.js';
import { freePort } from '../helpers/net.js';

const SITE = 'maple-court';

/** A throwaway PKI made with the openssl CLI: a CA, the gateway's certificate, devices' certificates, a stranger CA. */
class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));

  constructor() {
    this.ca('ca', 'Test Community CA');
    this.ca('other-ca', 'Somebody Else CA');
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  /** `{name}.pem` and `{name}.key`, signed by `signer`, with the given subject CN and extensions. */
  issue(name: string, cn: string, signer: string, ext: string): void {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(this.path(`${name}.ext`), `${ext}\n`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }

  server(name: string): void {
    this.issue(name, 'localhost', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  }

  client(name: string, cn: string, signer = 'ca', san?: string): void {
    this.issue(name, cn, signer, `extendedKeyUsage=clientAuth${san ? `\nsubjectAltName=${san}` : ''}`);
  }

  fingerprint(name: string): string {
    return new X509Certificate(this.read(`${name}.pem`)).fingerprint256;
  }

  private ca(name: string, cn: string): void {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`],
      { cwd: this.dir, stdio: 'pipe' },
    );
  }
}

/** An HTTPS request trusting the test CA; resolves with the status, the parsed body and the served certificate. */
function httpsApi(port: number, method: string, path: string, opts: { ca?: Buffer; body?: unknown; token?: string } = {}) {
  return new Promise<{ status: number; body: any; fingerprint: string }>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: '127.0.0.1', port, method, path, headers, ca: opts.ca, agent: false }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Not JSON (e.g. /metrics): the text itself.
        }
        resolve({ status: res.statusCode ?? 0, body, fingerprint });
      });
    });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

/** The certificate a new TLS connection to `port` is served (trusting the test CA). */
function servedFingerprint(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fp);
    });
    socket.on('error', reject);
  });
}

/** Whether something accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The CONNACK return code an MQTT connection is refused with (mqtt.js puts it in the error's `code`). */
async function refusal(url: string, opts: IClientOptions): Promise<unknown> {
  try {
    const c = await connectMqtt(url, opts);
    await c.endAsync(true);
    return 'connected';
  } catch (err) {
    return (err as { code?: unknown }).code;
  }
}

describe('TLS listeners with a throwaway CA (contract §15)', () => {
  const pki = new TestPki();
  const { lines, log } = logLines('info');
  let gw: TestGateway;
  let ca: Buffer;
  let devA: { username: string; password: string };
  const clients: MqttClient[] = [];
  const mqtts = (opts: IClientOptions = {}) => connectMqtt(`mqtts://127.0.0.1:${gw.mqttsPort}`, { ca, servername: 'localhost', ...opts });
  const cert = (name: string) => ({ cert: pki.read(`${name}.pem`), key: pki.read(`${name}.key`) });

  beforeAll(async () => {
    pki.server('server');
    pki.server('server-2');
    pki.client('dev-a', 'dev-a');
    pki.client('dev-b-san', 'lobby-panel', 'ca', 'DNS:dev-b');
    pki.client('stranger-a', 'dev-a', 'other-ca');
    ca = pki.read('ca.pem');
    // The served files are copies, replaced later by the test.
    writeFileSync(pki.path('served.pem'), pki.read('server.pem'));
    writeFileSync(pki.path('served.key'), pki.read('server.key'));
    gw = await startGateway(
      {
        TLS_CERT_FILE: pki.path('served.pem'),
        TLS_KEY_FILE: pki.path('served.key'),
        TLS_CA_FILE: pki.path('ca.pem'),
        DEVICE_CERT_AUTH: 'optional',
        TLS_RELOAD_INTERVAL: '100ms',
      },
      undefined,
      log,
    );
    devA = await gw.register('dev-a', 'access', SITE, 'b1');
    await gw.register('dev-b', 'access', SITE, 'b1');
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await gw?.stop();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it('opens the TLS listeners beside the plain ones and logs the certificate served', () => {
    expect(gw.mqttsPort).toBeGreaterThan(0);
    expect(gw.wssPort).toBeGreaterThan(0);
    expect(gw.httpsPort).toBeGreaterThan(0);
    expect(gw.mqttPort).toBeGreaterThan(0);
    const loaded = lines.find((l) => l.msg === 'tls certificate loaded');
    expect(loaded).toMatchObject({ subject: 'CN=localhost', fingerprint256: pki.fingerprint('server') });
  });

  it('takes a device with its password over MQTT over TLS, trusting the test CA', async () => {
    const client = await mqtts({ ...devA });
    clients.push(client);
    expect(await subscribeGranted(client, [`sc/${SITE}/access/dev-a/cmd`])).toStrictEqual([0]);
  });

  it('takes a device over MQTT over secure WebSocket', async () => {
    const client = await connectMqtt(`wss://127.0.0.1:${gw.wssPort}`, { ca, servername: 'localhost', ...devA });
    clients.push(client);
    expect(client.connected).toBe(true);
  });

  it('serves the API, /health and the console over HTTPS, with the same bearer-token check', async () => {
    expect((await httpsApi(gw.httpsPort, 'GET', '/health', { ca })).status).toBe(200);
    const devices = await httpsApi(gw.httpsPort, 'GET', '/api/devices', { ca, token: ADMIN_TOKEN });
    expect(devices.status).toBe(200);
    expect(JSON.stringify(devices.body)).toContain('dev-a');
    expect((await httpsApi(gw.httpsPort, 'GET', '/api/devices', { ca })).status).toBe(401);
    expect((await httpsApi(gw.httpsPort, 'GET', '/api/devices', { ca, token: 'not-the-admin-token-at-all' })).status).toBe(401);
    const page = await httpsApi(gw.httpsPort, 'GET', '/', { ca });
    expect(page.status).toBe(200);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    await expect(mqtts({ ...devA, ca: pki.read('other-ca.pem') })).rejects.toThrow(/certificate/i);
    await expect(httpsApi(gw.httpsPort, 'GET', '/health', { ca: pki.read('other-ca.pem') })).rejects.toThrow(/certificate/i);
  });

  it("logs a device in with its certificate alone: the certificate's CN names it", async () => {
    const client = await mqtts({ ...cert('dev-a') });
    clients.push(client);
    // Connected as dev-a: its own command topic is granted, dev-b's is not.
    expect(await subscribeGranted(client, [`sc/${SITE}/access/dev-a/cmd`, `sc/${SITE}/access/dev-b/cmd`])).toStrictEqual([0, 128]);
  });

  it('reads the certificate of a secure WebSocket connection too', async () => {
    const client = await connectMqtt(`wss://127.0.0.1:${gw.wssPort}`, { ca, servername: 'localhost', ...cert('dev-a') });
    clients.push(client);
    expect(await subscribeGranted(client, [`sc/${SITE}/access/dev-a/cmd`, `sc/${SITE}/access/dev-b/cmd`])).toStrictEqual([0, 128]);
    expect(await refusal(`wss://127.0.0.1:${gw.wssPort}`, { ca, servername: 'localhost', ...cert('dev-a'), username: 'dev-b' })).toBe(5);
  });

  it('accepts a DNS subject alternative name as the device id', async () => {
    const client = await mqtts({ ...cert('dev-b-san'), username: 'dev-b' });
    clients.push(client);
    expect(await subscribeGranted(client, [`sc/${SITE}/access/dev-b/cmd`])).toStrictEqual([0]);
  });

  it("never lets device A's certificate connect as device B, even with B's name as username", async () => {
    const before = (await gw.api('GET', '/metrics')).body as string;
    expect(await refusal(`mqtts://127.0.0.1:${gw.mqttsPort}`, { ca, servername: 'localhost', ...cert('dev-a'), username: 'dev-b', password: 'whatever' })).toBe(5);
    const after = (await gw.api('GET', '/metrics')).body as string;
    const count = (text: string) => Number(/^gateway_mqtt_refused_total\{reason="certificate_mismatch",what="connect"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    expect(count(after)).toBe(count(before) + 1);
  });

  it('does not take a certificate from another CA as anybody', async () => {
    // Its CN says dev-a, but no TLS_CA_FILE signed it: it names nobody, and without a username it is anonymous.
    expect(await refusal(`mqtts://127.0.0.1:${gw.mqttsPort}`, { ca, servername: 'localhost', ...cert('stranger-a') })).toBe(5);
    expect(await refusal(`mqtts://127.0.0.1:${gw.mqttsPort}`, { ca, servername: 'localhost', ...cert('stranger-a'), username: 'dev-a' })).toBe(4);
  });

  it('serves new certificate files to new connections without a restart, and keeps the old one through a half-written file', async () => {
    expect(await servedFingerprint(gw.mqttsPort, ca)).toBe(pki.fingerprint('server'));
    const held = await mqtts({ ...devA });
    clients.push(held);
    // A certificate caught half-written: the old one stays, and it is said once.
    writeFileSync(pki.path('served.pem'), pki.read('server-2.pem').subarray(0, 100));
    await eventually(() => lines.some((l) => l.msg === 'tls certificate files not usable; keeping the old certificate'), 5000, 50);
    expect(await servedFingerprint(gw.mqttsPort, ca)).toBe(pki.fingerprint('server'));
    writeFileSync(pki.path('served.key'), pki.read('server-2.key'));
    writeFileSync(pki.path('served.pem'), pki.read('server-2.pem'));
    const next = pki.fingerprint('server-2');
    await eventually(async () => (await servedFingerprint(gw.mqttsPort, ca)) === next, 5000, 50);
    expect(await servedFingerprint(gw.wssPort, ca)).toBe(next);
    expect((await httpsApi(gw.httpsPort, 'GET', '/health', { ca })).fingerprint).toBe(next);
    expect(lines.filter((l) => l.msg === 'tls certificate files not usable; keeping the old certificate')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'tls certificate reloaded')).toMatchObject({ subject: 'CN=localhost', fingerprint256: next });
    // The connection made before the change goes on.
    expect(held.connected).toBe(true);
    const metrics = (await gw.api('GET', '/metrics')).body as string;
    expect(Number(/^gateway_tls_certificate_expiry_days (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(1);
  });
});

describe('DEVICE_CERT_AUTH=required with PLAIN_LISTENERS=off', () => {
  const pki = new TestPki();
  let gw: TestGateway;
  let ca: Buffer;
  let plainPorts: number[];
  let devA: { username: string; password: string };
  const clients: MqttClient[] = [];
  const url = () => `mqtts://127.0.0.1:${gw.mqttsPort}`;
  const cert = (name: string) => ({ cert: pki.read(`${name}.pem`), key: pki.read(`${name}.key`) });
  const api = (method: string, path: string, body?: unknown) => httpsApi(gw.httpsPort, method, path, { ca, body, token: ADMIN_TOKEN });

  beforeAll(async () => {
    pki.server('server');
    pki.client('dev-a', 'dev-a');
    ca = pki.read('ca.pem');
    plainPorts = [await freePort(), await freePort(), await freePort()];
    gw = await startGateway({
      MQTT_PORT: String(plainPorts[0]),
      MQTT_WS_PORT: String(plainPorts[1]),
      HTTP_PORT: String(plainPorts[2]),
      TLS_CERT_FILE: pki.path('server.pem'),
      TLS_KEY_FILE: pki.path('server.key'),
      TLS_CA_FILE: pki.path('ca.pem'),
      DEVICE_CERT_AUTH: 'required',
      PLAIN_LISTENERS: 'off',
      TLS_RELOAD_INTERVAL: '100ms',
    });
    const res = await api('POST', '/api/devices', { id: 'dev-a', kind: 'access', site: SITE, zone: 'b1' });
    expect(res.status).toBe(201);
    devA = res.body.mqtt;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await gw?.stop();
    rmSync(pki.dir, { recursive: true, force: true });
  });

  it('closes the plain MQTT, WebSocket and HTTP listeners; /health stays on HTTPS', async () => {
    expect([gw.mqttPort, gw.wsPort, gw.httpPort]).toStrictEqual([0, 0, 0]);
    expect(await Promise.all(plainPorts.map(accepts))).toStrictEqual([false, false, false]);
    expect((await httpsApi(gw.httpsPort, 'GET', '/health', { ca })).status).toBe(200);
  });

  it("passes the image's and the compose file's health checks over HTTPS, which fail with nothing listening", async () => {
    const root = join(import.meta.dirname, '..', '..');
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
    const image = JSON.parse(/^HEALTHCHECK .*? CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: { gateway: { healthcheck: { test: string[] } } } };
    const [, ...composed] = compose.services.gateway.healthcheck.test;
    const check = async (argv: string[], port: number) => {
      const env = { PATH: process.env.PATH, PLAIN_LISTENERS: 'off', HTTPS_PORT: String(port) };
      // The compose check names the container's port; here the gateway listens on a free one.
      const args = argv.slice(1).map((a) => a.replace('8443', String(port)));
      return promisify(execFile)(argv[0] === 'node' ? process.execPath : argv[0], args, { env, timeout: 10_000 }).then(
        () => 0,
        (err: { code?: number }) => err.code ?? -1,
      );
    };
    expect(await check(image, gw.httpsPort)).toBe(0);
    expect(await check(composed, gw.httpsPort)).toBe(0);
    const closed = plainPorts[2];
    expect(await check(image, closed)).toBe(1);
    expect(await check(composed, closed)).toBe(1);
  });

  it("refuses a device's password alone, and takes its certificate", async () => {
    expect(await refusal(url(), { ca, servername: 'localhost', ...devA })).toBe(5);
    const client = await connectMqtt(url(), { ca, servername: 'localhost', ...cert('dev-a'), ...devA });
    clients.push(client);
    expect(client.connected).toBe(true);
  });

  it('still lets an operator log in with a password', async () => {
    const created = await api('POST', '/api/operators', { name: 'Desk', sites: [SITE], role: 'viewer' });
    expect(created.status).toBe(201);
    const client = await connectMqtt(url(), { ca, servername: 'localhost', ...created.body.mqtt });
    clients.push(client);
    expect(client.connected).toBe(true);
  });

  it('stops cleanly, closing the TLS listeners', async () => {
    expect(await gw.gateway.stop()).toStrictEqual([]);
    expect(await Promise.all([gw.mqttsPort, gw.wssPort, gw.httpsPort].map(accepts))).toStrictEqual([false, false, false]);
  });
});

describe('TLS files at start', () => {
  /** The error a gateway's start fails with; the parts it started are stopped again. */
  async function startError(dir: string, env: Record<string, string>): Promise<unknown> {
    const config = loadConfig({ HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', MQTT_HOST: '127.0.0.1', MQTT_PORT: '0', MQTT_WS_PORT: '0', DATA_DIR: dir, ADMIN_TOKEN, INFLUX_URL: NO_INFLUX, LOG_LEVEL: 'silent', ...env });
    const gateway = new Gateway(config, createLogger('silent'));
    try {
      await gateway.start();
      return undefined;
    } catch (err) {
      return err;
    } finally {
      await gateway.stop();
    }
  }

  it('refuses to start when a certificate file cannot be read or is no certificate, naming the setting and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-tls-'));
    try {
      const missing = await startError(dir, { TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: join(dir, 'missing.key') });
      expect(missing).toBeInstanceOf(TlsFileError);
      expect((missing as Error).message).toMatch(`TLS_CERT_FILE: ${join(dir, 'missing.pem')} cannot be read`);
      writeFileSync(join(dir, 'bad.pem'), 'not a certificate');
      writeFileSync(join(dir, 'bad.key'), 'not a key');
      const bad = await startError(dir, { TLS_CERT_FILE: join(dir, 'bad.pem'), TLS_KEY_FILE: join(dir, 'bad.key') });
      expect((bad as Error).message).toBe(`TLS_CERT_FILE: ${join(dir, 'bad.pem')} is not a PEM certificate`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
