import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/storage/state/store.js';
import { eventually } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { freePort } from '../helpers/net.js';
import { registerOver, runGatewayToExit, spawnGateway, type GatewayProcess } from '../helpers/process.js';

/**
 * Backup, wipe, restore (docs/operations.md#backup-and-restore): `npm run backup` against a running gateway
 * that keeps taking messages with InfluxDB down, then the data dir and rules wiped, `npm run restore`, and the
 * gateway started again with InfluxDB up: the registry, the open alarm, the work order and the unsent spool
 * are all back. Restore refuses while the gateway runs, and refuses a tampered backup.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'backup-test-admin-token-0123456789';
const SITE = 'birch-row';
const READINGS = 4;
const DEVICES = [
  { id: 'bk-fire-1', kind: 'fire', zone: 'b2-f3', telemetry: { smokeObscurationPct: 0.3, temperatureC: 22, coPpm: 0, batteryPct: 90 } },
  { id: 'bk-lamp-1', kind: 'lighting', zone: 'path', telemetry: { on: true, brightnessPct: 60, powerW: 30, voltageV: 230 } },
  { id: 'bk-meter-1', kind: 'energy', zone: 'plant', telemetry: { energyKwh: 100, powerKw: 2, voltageV: 230, currentA: 9, powerFactor: 0.95 } },
] as const;

/** `npm run <script> -- <dir>` with the gateway's settings in the environment; the exit code and what it printed. */
function npmRun(script: 'backup' | 'restore', dir: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('npm', ['run', '-s', script, '--', dir], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

async function api<T>(g: GatewayProcess, path: string, token = ADMIN): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${g.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('backup, wipe and restore of a running gateway', () => {
  let root: string;
  let env: Record<string, string>;
  let gw: GatewayProcess | undefined;
  let influx: InfluxServer | undefined;
  const clients: MqttClient[] = [];
  const passwords = new Map<string, string>();
  let alarmId: string;
  let workOrderId: string;
  /** Meter readings acknowledged (PUBACK) before the backup started, and in all. */
  let ackedBeforeBackup = 0;
  let ackedInAll = 0;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'gateway-backup-'));
    env = {
      DATA_DIR: join(root, 'data'),
      RULES_DIR: join(root, 'rules'),
      PROFILES_DIR: join(root, 'profiles'),
      SITES_DIR: join(root, 'sites'),
      ADMIN_TOKEN: ADMIN,
      INFLUX_URL: `http://127.0.0.1:${await freePort()}`,
      INFLUX_DB: 'backup_test',
      INFLUX_TIMEOUT: '500ms',
      INFLUX_FLUSH_INTERVAL: '20ms',
      INFLUX_RETRY_MAX: '500ms',
      TZ: 'UTC',
    };
    await cp(join(ROOT, 'tests/fixtures/release-rules'), env.RULES_DIR, { recursive: true });
    await cp(join(ROOT, 'profiles'), env.PROFILES_DIR, { recursive: true });
    await mkdir(env.SITES_DIR);
    await writeFile(join(env.SITES_DIR, 'README.txt'), 'Site files go here (docs/sites.md).\n');
    gw = await spawnGateway(env);
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await gw?.terminate();
    await influx?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('raises an alarm, opens a work order and spools the readings while InfluxDB is down', async () => {
    for (const d of DEVICES) {
      const creds = await registerOver(gw!, ADMIN, { id: d.id, kind: d.kind, site: SITE, zone: d.zone });
      passwords.set(d.id, creds.password);
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw!.mqttPort}`, { ...creds, clientId: d.id, reconnectPeriod: 0 });
      clients.push(client);
      for (let i = 0; i < READINGS; i++) await client.publishAsync(`sc/${SITE}/${d.kind}/${d.id}/telemetry`, JSON.stringify(d.telemetry), { qos: 1 });
    }
    await clients[0].publishAsync(`sc/${SITE}/fire/bk-fire-1/event`, JSON.stringify({ type: 'fire_alarm' }), { qos: 1 });
    await clients[1].publishAsync(`sc/${SITE}/lighting/bk-lamp-1/event`, JSON.stringify({ type: 'lamp_failure' }), { qos: 1 });
    const [alarm] = await eventually(() => api<Array<{ id: string; type: string }>>(gw!, `/api/alarms?state=open&site=${SITE}`).then((a) => (a.length > 0 ? a : undefined)));
    expect(alarm.type).toBe('fire_alarm');
    alarmId = alarm.id;
    const [order] = await eventually(() => api<Array<{ id: string; category: string }>>(gw!, `/api/workorders?site=${SITE}`).then((w) => (w.length > 0 ? w : undefined)));
    expect(order.category).toBe('lighting');
    workOrderId = order.id;
    const ready = await eventually(
      () => api<{ spool: { points: number } }>(gw!, '/ready').then((r) => (r.spool.points >= DEVICES.length * READINGS ? r : undefined)),
      20_000,
    );
    expect(ready.spool.points).toBeGreaterThanOrEqual(DEVICES.length * READINGS);
  });

  it('writes a backup while the gateway runs and messages keep arriving, and restore refuses meanwhile', async () => {
    const meter = clients[2];
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        await meter.publishAsync(`sc/${SITE}/energy/bk-meter-1/telemetry`, JSON.stringify(DEVICES[2].telemetry), { qos: 1 });
        ackedInAll++;
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    await eventually(() => ackedInAll >= 3);
    ackedBeforeBackup = ackedInAll;
    const backup = await npmRun('backup', join(root, 'backup'), env);
    const restore = await npmRun('restore', join(root, 'backup'), env);
    await eventually(() => ackedInAll >= ackedBeforeBackup + 3);
    publishing = false;
    await publisher;

    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^backup: the gateway is running \(pid \d+\): copying online$/m);
    expect(backup.stdout).toContain(`backup: state store state.db: copied with SQLite's backup API (schema version ${SCHEMA_VERSION})`);
    expect(backup.stdout).toMatch(/^backup: manifest\.json: \d+ files, \d+ bytes, release 0\.1\.0, schema version \d+$/m);
    const manifest = JSON.parse(await readFile(join(root, 'backup/manifest.json'), 'utf8')) as { gatewayRunning: boolean; folders: string[]; files: Array<{ path: string }> };
    expect(manifest.gatewayRunning).toBe(true);
    expect(manifest.folders).toStrictEqual(['data', 'rules', 'profiles', 'sites']);
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toContain('data/state.db');
    expect(paths).toContain('rules/release.yaml');
    expect(paths).toContain('sites/README.txt');
    expect(paths.some((p) => /^data\/spool\/\d{10}\.lp$/.test(p))).toBe(true);
    expect(paths.filter((p) => /gateway\.lock|-wal$|-shm$/.test(p))).toStrictEqual([]);

    expect(restore.code).toBe(1);
    expect(restore.stderr).toMatch(/^restore: error: the gateway is running on DATA_DIR .+ \(pid \d+, started .+\): stop it before restoring$/m);
  });

  it('refuses a second gateway on the same data dir', async () => {
    const second = await runGatewayToExit(env);
    expect(second.code).toBe(1);
    expect(second.output).toMatch(/gateway: DATA_DIR .+: another gateway \(pid \d+ on .+, started .+\) is using it/);
  });

  it('refuses a backup into a directory that is not empty', async () => {
    const again = await npmRun('backup', join(root, 'backup'), env);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`backup: error: ${join(root, 'backup')} is not empty: give a new or empty directory for the backup\n`);
  });

  it('refuses a tampered backup and one from a newer schema, and touches nothing', async () => {
    expect(await gw!.terminate()).toBe(0);
    gw = undefined;
    const tampered = join(root, 'tampered');
    await cp(join(root, 'backup'), tampered, { recursive: true });
    const segment = (await readdir(join(tampered, 'data/spool'))).find((n) => n.endsWith('.lp'))!;
    const text = await readFile(join(tampered, 'data/spool', segment), 'utf8');
    // The same length, one reading changed: only the checksum can tell.
    await writeFile(join(tampered, 'data/spool', segment), text.replace('brightnessPct=60', 'brightnessPct=61'));
    const refused = await npmRun('restore', tampered, env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `restore: error: the backup in ${tampered} does not match its manifest, nothing was restored: data/spool/${segment} does not match its sha256 in the manifest\n`,
    );

    const newer = join(root, 'newer');
    await cp(join(root, 'backup'), newer, { recursive: true });
    const manifest = JSON.parse(await readFile(join(newer, 'manifest.json'), 'utf8')) as { schemaVersion: number };
    await writeFile(join(newer, 'manifest.json'), JSON.stringify({ ...manifest, schemaVersion: SCHEMA_VERSION + 1 }));
    const tooNew = await npmRun('restore', newer, env);
    expect(tooNew.code).toBe(1);
    expect(tooNew.stderr).toContain(`restore: error: the backup's state store has schema version ${SCHEMA_VERSION + 1}, from a newer release`);
    expect((await readdir(root)).filter((n) => n.includes('before-restore'))).toStrictEqual([]);
  });

  it('after a wipe, restore brings back the registry, the open alarm, the work order and the unsent spool', async () => {
    await rm(env.DATA_DIR, { recursive: true });
    await rm(env.RULES_DIR, { recursive: true });
    const restored = await npmRun('restore', join(root, 'backup'), env);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain('restore: every file matches its size and sha256 in the manifest');
    expect(restored.stdout).toMatch(/^restore: PROFILES_DIR .+ moved aside to .+profiles\.before-restore-[\dT-]+Z$/m);
    expect(restored.stdout).toContain('restore: done: start the gateway');
    expect((await readdir(root)).filter((n) => n.includes('before-restore')).sort()).toHaveLength(2);

    influx = await startInflux();
    gw = await spawnGateway({ ...env, INFLUX_URL: influx.url });
    const devices = await api<Array<{ id: string }>>(gw, `/api/devices?site=${SITE}`);
    expect(devices.map((d) => d.id).sort()).toStrictEqual(DEVICES.map((d) => d.id).sort());
    const open = await api<Array<{ id: string; state: string }>>(gw, `/api/alarms?state=open&site=${SITE}`);
    expect(open.map((a) => ({ id: a.id, state: a.state }))).toStrictEqual([{ id: alarmId, state: 'active' }]);
    const order = await api<{ id: string; status: string }>(gw, `/api/workorders/${workOrderId}`);
    expect(order.status).toBe('open');
    const rules = await api<Array<{ id: string }>>(gw, '/api/rules');
    expect(rules.map((r) => r.id).sort()).toStrictEqual(['release-fire-alarm', 'release-lamp-failure']);

    const lamp = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { clientId: 'bk-lamp-1', username: 'bk-lamp-1', password: passwords.get('bk-lamp-1'), reconnectPeriod: 0 });
    expect(lamp.connected).toBe(true);
    await lamp.endAsync();

    const count = async (kind: string, field: string, id: string) =>
      (await influx!.query(`SELECT "${field}" FROM "${kind}" WHERE "device" = '${id}'`, env.INFLUX_DB).catch(() => [])).length;
    await eventually(async () => (await count('fire', 'temperatureC', 'bk-fire-1')) === READINGS && (await count('lighting', 'brightnessPct', 'bk-lamp-1')) === READINGS, 30_000);
    // Every meter reading acknowledged before the backup began was in the spool it copied; later ones may be too.
    const meterRows = await eventually(async () => {
      const n = await count('energy', 'powerKw', 'bk-meter-1');
      return n >= READINGS + ackedBeforeBackup ? n : undefined;
    }, 30_000);
    expect(meterRows).toBeLessThanOrEqual(READINGS + ackedInAll);
    await eventually(() => api<{ spool: { points: number } }>(gw!, '/ready').then((r) => r.spool.points === 0), 30_000);
  });
});
