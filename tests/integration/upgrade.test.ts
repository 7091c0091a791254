import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../src/storage/state/store.js';
import { eventually } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { runGatewayToExit, spawnGateway, type GatewayProcess } from '../helpers/process.js';

/**
 * A data dir written by the previous release (tests/fixtures/release-0.1.0, made by
 * tests/fixtures/make-release-fixture.ts with that release's own gateway) is migrated forward at start and
 * nothing in it is lost; a data dir from a newer release is refused (docs/operations.md#upgrades-and-downgrades).
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const RELEASE = join(FIXTURES, 'release-0.1.0');
const RULES = join(FIXTURES, 'release-rules');

interface Fixture {
  adminToken: string;
  site: string;
  devices: Array<{ id: string; kind: string; zone: string; password: string }>;
  operator: { id: string; name: string; token: string; mqttPassword: string };
  alarms: Array<{ id: string; type: string; source: string; state: string }>;
  workOrders: Array<{ id: string; category: string; status: string }>;
  spool: { readingsPerDevice: number; fieldsByKind: Record<string, string[]> };
}

async function copyOfRelease(): Promise<{ dir: string; dataDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gateway-upgrade-'));
  await cp(join(RELEASE, 'data'), join(dir, 'data'), { recursive: true });
  return { dir, dataDir: join(dir, 'data') };
}

describe('a data dir written by release 0.1.0, started by this release', () => {
  const DB = 'upgrade_test';
  let fixture: Fixture;
  let influx: InfluxServer;
  let dir: string;
  let dataDir: string;
  let gw: GatewayProcess | undefined;

  const api = async <T>(path: string, token = fixture.adminToken): Promise<{ status: number; body: T }> => {
    const res = await fetch(`http://127.0.0.1:${gw!.httpPort}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as T };
  };

  beforeAll(async () => {
    fixture = JSON.parse(await readFile(join(RELEASE, 'fixture.json'), 'utf8')) as Fixture;
    influx = await startInflux();
    ({ dir, dataDir } = await copyOfRelease());
    gw = await spawnGateway({
      DATA_DIR: dataDir,
      RULES_DIR: RULES,
      ADMIN_TOKEN: fixture.adminToken,
      INFLUX_URL: influx.url,
      INFLUX_DB: DB,
      INFLUX_FLUSH_INTERVAL: '20ms',
      INFLUX_RETRY_MAX: '500ms',
      TZ: 'UTC',
    });
  });
  afterAll(async () => {
    await gw?.terminate();
    await influx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the registry: every device is listed and logs in with the password the old release gave it', async () => {
    const { body: devices } = await api<Array<{ id: string; kind: string; site: string; zone: string }>>(`/api/devices?site=${fixture.site}`);
    expect(devices.map((d) => ({ id: d.id, kind: d.kind, site: d.site, zone: d.zone })).sort((a, b) => a.id.localeCompare(b.id))).toStrictEqual(
      fixture.devices.map((d) => ({ id: d.id, kind: d.kind, site: fixture.site, zone: d.zone })).sort((a, b) => a.id.localeCompare(b.id)),
    );
    for (const d of fixture.devices) {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw!.mqttPort}`, { clientId: d.id, username: d.id, password: d.password, reconnectPeriod: 0 });
      expect(client.connected).toBe(true);
      await client.endAsync();
    }
  });

  it('keeps the open fire alarm and both work orders', async () => {
    const { body: open } = await api<Array<{ id: string; type: string; source: string; state: string }>>(`/api/alarms?state=open&site=${fixture.site}`);
    expect(open.map((a) => ({ id: a.id, type: a.type, source: a.source, state: a.state }))).toStrictEqual(fixture.alarms);
    const { body: orders } = await api<Array<{ id: string; category: string; status: string }>>(`/api/workorders?site=${fixture.site}`);
    expect(orders.map((w) => ({ id: w.id, category: w.category, status: w.status })).sort((a, b) => a.id.localeCompare(b.id))).toStrictEqual(
      fixture.workOrders.map((w) => ({ id: w.id, category: w.category, status: w.status })).sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it("lets the operator's old token in, now as a supervisor, and its old MQTT password", async () => {
    const me = await api<{ name: string; role: string }>('/api/me', fixture.operator.token);
    expect(me.status).toBe(200);
    expect({ name: me.body.name, role: me.body.role }).toStrictEqual({ name: fixture.operator.name, role: 'supervisor' });
    const { status } = await api(`/api/alarms?site=${fixture.site}`, fixture.operator.token);
    expect(status).toBe(200);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw!.mqttPort}`, {
      clientId: `${fixture.operator.id}-upgrade`,
      username: fixture.operator.id,
      password: fixture.operator.mqttPassword,
      reconnectPeriod: 0,
    });
    expect(client.connected).toBe(true);
    await client.endAsync();
  });

  it("delivers the old release's unsent spool to InfluxDB", async () => {
    for (const d of fixture.devices) {
      const field = fixture.spool.fieldsByKind[d.kind][0];
      const rows = await eventually(async () => {
        const found = await influx.query(`SELECT "${field}" FROM "${d.kind}" WHERE "device" = '${d.id}'`, DB).catch(() => []);
        return found.length >= fixture.spool.readingsPerDevice ? found : undefined;
      }, 30_000);
      expect(rows).toHaveLength(fixture.spool.readingsPerDevice);
    }
    const ready = await eventually(async () => {
      const { body } = await api<{ spool: { points: number } }>('/ready');
      return body.spool.points === 0 ? body : undefined;
    }, 30_000);
    expect(ready.spool.points).toBe(0);
  });

  it("leaves the state store at this release's schema version after a clean stop", async () => {
    expect(await gw!.terminate()).toBe(0);
    gw = undefined;
    const db = new Database(join(dataDir, 'state.db'), { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });
});

describe('a data dir written by a newer release', () => {
  it('is refused at start with one line naming the data dir and the schema versions, and left as it was', async () => {
    const { dir, dataDir } = await copyOfRelease();
    try {
      const db = new Database(join(dataDir, 'state.db'));
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
      const { code, output } = await runGatewayToExit({ DATA_DIR: dataDir, RULES_DIR: RULES, ADMIN_TOKEN: 'newer-release-admin-token-0001', INFLUX_URL: 'http://127.0.0.1:9' });
      expect(code).toBe(1);
      expect(output).toContain(
        `gateway: DATA_DIR ${dataDir}: state.db has schema version ${SCHEMA_VERSION + 1}, written by a newer release; this release knows versions up to ${SCHEMA_VERSION}.`,
      );
      const after = new Database(join(dataDir, 'state.db'), { readonly: true });
      try {
        expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
      } finally {
        after.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
