import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvSchema, loadConfig } from '../../src/config/env.js';
import { loadDataSources } from '../helpers/grafana.js';
import { freePort } from '../helpers/net.js';

/**
 * The Compose deployment of docs/deployment.md: docker-compose.yml as `docker-compose config` resolves it
 * (no Docker engine needed), and mosquitto/mosquitto.conf on a real Mosquitto 2.
 */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Service {
  image?: string;
  build?: { context: string };
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: Array<{ published: number; target: number }>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, unknown>;
  restart?: string;
  stop_grace_period?: string;
  stop_signal?: string;
  logging?: { driver: string; options: Record<string, string> };
}
interface Resolved {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

/** `docker-compose [args] config`, from the project folder, with only `envFile` as the `.env` (none by default). */
async function composeConfig(args: string[], envFile?: string): Promise<{ resolved: Resolved; stdout: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'compose-env-'));
  try {
    const file = join(dir, '.env');
    await writeFile(file, envFile ?? '');
    // A clean environment: a variable in the developer's shell must not change what is checked.
    const { stdout } = await run('docker-compose', ['--env-file', file, '-f', 'docker-compose.yml', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
      timeout: 60_000,
    });
    return { resolved: parse(stdout) as Resolved, stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('docker-compose.yml, as docker-compose config resolves it', () => {
  let resolved: Resolved;
  beforeAll(async () => {
    ({ resolved } = await composeConfig(['config']));
  });
  const defaults = EnvSchema.parse({});

  it('has the gateway and InfluxDB by default, Mosquitto and Grafana only in their profiles', () => {
    expect(Object.keys(resolved.services).sort()).toStrictEqual(['gateway', 'grafana', 'influxdb', 'mosquitto']);
    expect(resolved.services.gateway.profiles).toBeUndefined();
    expect(resolved.services.influxdb.profiles).toBeUndefined();
    expect(resolved.services.mosquitto.profiles).toStrictEqual(['mosquitto']);
    expect(resolved.services.grafana.profiles).toStrictEqual(['grafana']);
  });

  it('validates with both profiles on, and lists them', async () => {
    const both = await composeConfig(['--profile', 'mosquitto', '--profile', 'grafana', 'config']);
    expect(Object.keys(both.resolved.services).sort()).toStrictEqual(['gateway', 'grafana', 'influxdb', 'mosquitto']);
    const profiles = await composeConfig(['config', '--profiles']);
    expect(profiles.stdout.trim().split('\n').sort()).toStrictEqual(['grafana', 'mosquitto']);
  });

  it('keeps every service in a named volume, with a health check and restarted unless stopped', () => {
    expect(Object.keys(resolved.volumes).sort()).toStrictEqual(['gateway-data', 'grafana-data', 'influxdb-data', 'mosquitto-data']);
    for (const [name, service] of Object.entries(resolved.services)) {
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(0);
      expect(service.restart, name).toBe('unless-stopped');
      const named = (service.volumes ?? []).map((v) => v.split(':')[0]).filter((v) => !v.startsWith('/'));
      expect(named.length, `${name} has a named volume`).toBe(1);
    }
  });

  it('restarts the gateway after any exit, as the docker run of docs/deployment.md does', () => {
    // unless-stopped, like always, restarts on every exit code and signal; only a deliberate stop keeps it down.
    expect(resolved.services.gateway.restart).toBe('unless-stopped');
    expect(read('docs/deployment.md')).toMatch(/docker run -d --name gateway --restart unless-stopped /);
  });

  it("rotates every service's Docker log", () => {
    for (const [name, service] of Object.entries(resolved.services)) {
      expect(service.logging?.driver, name).toBe('json-file');
      expect(service.logging?.options['max-size'], name).toMatch(/^\d+m$/);
    }
  });

  it('is described with these images in docs/deployment.md', () => {
    const doc = read('docs/deployment.md');
    for (const service of Object.values(resolved.services)) if (service.image) expect(doc).toContain(`\`${service.image}\``);
  });

  it("builds the gateway here, publishes its default ports and gives it 30 s to stop", () => {
    const g = resolved.services.gateway;
    expect(g.build?.context).toBe(ROOT.replace(/\/$/, ''));
    const ports = [defaults.MQTT_PORT, defaults.MQTT_WS_PORT, defaults.HTTP_PORT, defaults.MQTTS_PORT, defaults.MQTT_WSS_PORT, defaults.HTTPS_PORT];
    expect(g.ports?.map((p) => [p.published, p.target])).toStrictEqual(ports.map((p) => [p, p]));
    expect(g.stop_grace_period).toBe('30s');
    expect(g.stop_signal).toBe('SIGTERM');
    expect(Object.keys(g.depends_on ?? {})).toStrictEqual(['influxdb']);
    expect(g.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${defaults.HTTP_PORT}/health`);
  });

  it('gives the gateway an environment it accepts, pointing at the influxdb service and the /data volume', () => {
    const env = resolved.services.gateway.environment!;
    const config = loadConfig(env);
    expect(config.influx.url).toBe('http://influxdb:8086');
    expect(config.dataDir).toBe('/data');
    expect(resolved.services.gateway.volumes).toContain('gateway-data:/data:rw');
    expect(config.rulesDir).toBe('/app/rules');
    expect(config.mqtt.allowAnonymous).toBe(false);
    expect(config.adminToken).toBeUndefined();
    // The TLS listeners' ports as the gateway takes them once certificate files are set (none by default).
    expect(config.tls).toBeUndefined();
    const tls = loadConfig({ ...env, TLS_CERT_FILE: '/certs/gateway.pem', TLS_KEY_FILE: '/certs/gateway.key' }).tls!;
    const targets = [config.mqtt.port, config.mqtt.wsPort, config.http.port, tls.mqttsPort, tls.wssPort, tls.httpsPort];
    expect(targets).toStrictEqual(resolved.services.gateway.ports!.map((p) => p.target));
    expect(resolved.services.gateway.volumes).toContain(`${join(ROOT, 'certs')}:/certs:ro`);
  });

  it('names one database for the gateway, InfluxDB and Grafana', () => {
    const db = resolved.services.gateway.environment!.INFLUX_DB;
    expect(db).toBe(defaults.INFLUX_DB);
    expect(resolved.services.influxdb.environment!.INFLUXDB_DB).toBe(db);
    expect(loadDataSources()[0].jsonData.dbName).toBe(db);
    expect(resolved.services.influxdb.image).toBe('influxdb:1.8');
    expect(resolved.services.influxdb.volumes).toContain('influxdb-data:/var/lib/influxdb:rw');
  });

  it('runs Mosquitto 2.0 with the project config, its data (dynsec file included) on its volume', () => {
    const m = resolved.services.mosquitto;
    expect(m.image).toBe('eclipse-mosquitto:2.0');
    expect(m.volumes).toContain(`${join(ROOT, 'mosquitto/mosquitto.conf')}:/mosquitto/config/mosquitto.conf:ro`);
    expect(m.volumes).toContain('mosquitto-data:/mosquitto/data:rw');
    const conf = read('mosquitto/mosquitto.conf');
    expect(conf).toMatch(/^persistence_location \/mosquitto\/data\/$/m);
    expect(conf).toMatch(/^plugin_opt_config_file \/mosquitto\/data\/dynamic-security\.json$/m);
    expect(m.ports?.map((p) => p.target).sort()).toStrictEqual([1883, 8083]);
  });

  it('runs a pinned Grafana with the provisioning mounted and an admin password to change', () => {
    const g = resolved.services.grafana;
    expect(g.image).toMatch(/^grafana\/grafana-oss:1[01]\.\d+\.\d+$/);
    expect(g.ports?.map((p) => [p.published, p.target])).toStrictEqual([[3000, 3000]]);
    expect(g.volumes).toContain(`${join(ROOT, 'grafana/provisioning')}:/etc/grafana/provisioning:ro`);
    expect(g.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('change-me');
    expect(read('docs/security.md')).toContain('GRAFANA_ADMIN_PASSWORD');
  });

  it('takes its settings from a .env file beside it', async () => {
    const { resolved: custom } = await composeConfig(
      ['config'],
      'ADMIN_TOKEN=0123456789abcdef0123\nGATEWAY_HTTP_PORT=9080\nTZ=Asia/Shanghai\nGRAFANA_ADMIN_PASSWORD=s3cret-enough\n',
    );
    const env = custom.services.gateway.environment!;
    expect(env.ADMIN_TOKEN).toBe('0123456789abcdef0123');
    expect(env.TZ).toBe('Asia/Shanghai');
    expect(custom.services.gateway.ports).toContainEqual({ published: 9080, target: defaults.HTTP_PORT });
    expect(custom.services.grafana.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('s3cret-enough');
    expect(loadConfig(env).adminToken).toBe('0123456789abcdef0123');
  });
});

/** Debian's mosquitto with mosquitto/mosquitto.conf, only its paths and ports moved into a temporary folder. */
describe('mosquitto/mosquitto.conf on a real Mosquitto 2', () => {
  const MOSQUITTO = existsSync('/usr/sbin/mosquitto') ? '/usr/sbin/mosquitto' : 'mosquitto';
  const PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';
  const admin = { username: 'admin', password: 'dynsec-admin-password' };
  let dir: string;
  let port: number;
  let wsPort: number;
  let child: ChildProcess | undefined;
  let output = '';

  const accepts = (p: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect({ port: p, host: '127.0.0.1' });
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    const force = setTimeout(() => running.kill('SIGKILL'), 5_000);
    running.kill('SIGTERM');
    await exited;
    clearTimeout(force);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosquitto-conf-'));
    [port, wsPort] = [await freePort(), await freePort()];
    const conf = read('mosquitto/mosquitto.conf')
      .replace('/usr/lib/mosquitto_dynamic_security.so', existsSync(PLUGIN) ? PLUGIN : '/usr/lib/mosquitto_dynamic_security.so')
      .replaceAll('/mosquitto/data/', `${dir}/`)
      .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
      .replace(/^listener 8083$/m, `listener ${wsPort} 127.0.0.1`);
    // Started as root, mosquitto would switch to the `mosquitto` user, who cannot write our private temp dir.
    await writeFile(join(dir, 'mosquitto.conf'), conf + (process.getuid?.() === 0 ? '\nuser root\n' : ''));
    // As mosquitto/README.md says: initialise the plugin's file before the first start.
    await run('mosquitto_ctrl', ['dynsec', 'init', join(dir, 'dynamic-security.json'), admin.username, admin.password], { timeout: 10_000 });
    child = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
    const deadline = Date.now() + 10_000;
    while (!((await accepts(port)) && (await accepts(wsPort)))) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not listen:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads the dynamic security plugin and refuses a client without credentials, as the compose health check expects', async () => {
    expect(output).not.toMatch(/Error/);
    const compose = parse(read('docker-compose.yml')) as { services: { mosquitto: { healthcheck: { test: string[] } } } };
    const [kind, command] = compose.services.mosquitto.healthcheck.test;
    expect(kind).toBe('CMD-SHELL');
    const { stdout } = await run('sh', ['-c', `${command.replace('-p 1883', `-p ${port}`)} && echo healthy`], { timeout: 15_000 });
    expect(stdout.trim()).toBe('healthy');
  });

  it('lets the dynsec admin in over TCP and WebSocket', async () => {
    for (const url of [`mqtt://127.0.0.1:${port}`, `ws://127.0.0.1:${wsPort}`]) {
      const client = await mqtt.connectAsync(url, { ...admin, reconnectPeriod: 0, connectTimeout: 5_000 });
      const granted = await client.subscribeAsync('$SYS/broker/uptime');
      expect(granted[0].qos, url).toBe(0);
      await client.endAsync();
    }
  });

  it('keeps retained messages on disk (persistence in its data folder)', async () => {
    await stop();
    expect(await readdir(dir)).toContain('mosquitto.db');
  });
});
