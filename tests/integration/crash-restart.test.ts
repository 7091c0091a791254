import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/gateway.js';
import { startInflux, type InfluxServer } from '../helpers/influx.js';
import { freePort } from '../helpers/net.js';
import { registerOver, spawnGateway, type GatewayProcess } from '../helpers/process.js';

/**
 * A crash is survivable (docs/operations.md#if-the-process-dies): the gateway process is SIGKILLed under a
 * supervisor that does what the systemd unit's Restart=always RestartSec=1s does, and a device that keeps
 * publishing gets its data stored again. Measures how long that takes.
 */

const SITE = 'maple-court';
const DEVICE = 'lamp-crash-1';
const ADMIN = 'crash-restart-admin-token-0123456789';
/** deploy/systemd/smart-community-gateway.service: RestartSec=1s. */
const RESTART_SEC_MS = 1000;
const PUBLISH_EVERY_MS = 100;
const RECOVERY_BOUND_MS = 20_000;

/** Restarts the gateway RESTART_SEC_MS after every exit until stopped, as systemd's Restart=always does. */
class Supervisor {
  starts = 0;
  private current?: GatewayProcess;
  private pending?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly env: Record<string, string>) {}

  /** The process running now (undefined between a death and its restart). */
  get running(): GatewayProcess | undefined {
    return this.current;
  }

  start(): Promise<void> {
    this.pending = spawnGateway(this.env).then(
      (g) => {
        this.starts++;
        this.current = g;
        g.child.once('exit', () => {
          this.current = undefined;
          this.schedule();
        });
      },
      // A failed start is retried like a death.
      () => this.schedule(),
    );
    return this.pending;
  }

  /** Stops the supervision, then the process it runs (SIGTERM to its PID), one still starting included. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pending;
    await this.current?.terminate();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.start(), RESTART_SEC_MS);
  }
}

async function storedTimes(influx: InfluxServer, db: string, after = 0): Promise<number[]> {
  const q = `SELECT "brightnessPct" FROM "lighting" WHERE "device" = '${DEVICE}' AND time > ${after}ms`;
  // Before the first write the database may not exist yet: that counts as nothing stored.
  const rows = await influx.query(q, db).catch(() => []);
  return rows.map((r) => Number(r.time));
}

describe('a SIGKILLed gateway under a restart policy', () => {
  const DB = 'crash_restart';
  let influx: InfluxServer;
  let dataDir: string;
  let supervisor: Supervisor | undefined;
  let client: MqttClient | undefined;
  let publisher: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    influx = await startInflux();
    dataDir = await mkdtemp(join(tmpdir(), 'gateway-crash-restart-'));
  });
  afterAll(async () => {
    clearInterval(publisher);
    await client?.endAsync(true).catch(() => undefined);
    await supervisor?.stop();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("stores a device's data again within seconds, and loses no reading it acknowledged before the kill", async () => {
    // Fixed ports chosen now: the restarted process must be where the device reconnects.
    const [mqttPort, wsPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    supervisor = new Supervisor({
      DATA_DIR: dataDir,
      RULES_DIR: join(dataDir, 'rules'),
      ADMIN_TOKEN: ADMIN,
      INFLUX_URL: influx.url,
      INFLUX_DB: DB,
      INFLUX_FLUSH_INTERVAL: '20ms',
      INFLUX_RETRY_MAX: '500ms',
      MQTT_PORT: String(mqttPort),
      MQTT_WS_PORT: String(wsPort),
      HTTP_PORT: String(httpPort),
    });
    await supervisor.start();
    const first = supervisor.running!;
    expect([first.mqttPort, first.httpPort]).toStrictEqual([mqttPort, httpPort]);
    const creds = await registerOver(first, ADMIN, { id: DEVICE, kind: 'lighting', site: SITE, zone: 'path' });

    const device = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { ...creds, clientId: DEVICE, reconnectPeriod: 500, connectTimeout: 2000 });
    client = device;
    await new Promise<void>((resolve, reject) => {
      device.once('connect', () => resolve());
      device.once('error', reject);
    });
    // Each reading carries its publish time as `ts`, which is its time in InfluxDB: that identifies it.
    const acknowledged = new Set<number>();
    let n = 0;
    const publish = () => {
      const ts = Date.now();
      device
        .publishAsync(`sc/${SITE}/lighting/${DEVICE}/telemetry`, JSON.stringify({ brightnessPct: n++ % 101, ts }), { qos: 1 })
        .then(() => acknowledged.add(ts), () => undefined);
    };
    publisher = setInterval(publish, PUBLISH_EVERY_MS);
    await eventually(async () => acknowledged.size >= 10 && (await storedTimes(influx, DB)).length >= 10, 10_000);

    // Every PUBACK of the old connection has been read once the client sees that connection close.
    const oldConnectionClosed = new Promise<void>((resolve) => device.once('close', resolve));
    const killedAt = Date.now();
    await first.kill();
    const deadAt = Date.now();
    await oldConnectionClosed;
    const acknowledgedBeforeKill = [...acknowledged];

    let recoveredAt = 0;
    await eventually(
      async () => {
        if ((await storedTimes(influx, DB, deadAt)).length === 0) return false;
        recoveredAt = Date.now();
        return true;
      },
      RECOVERY_BOUND_MS,
      PUBLISH_EVERY_MS,
    );
    const recoveryMs = recoveredAt - killedAt;
    console.log(`crash-restart: data flowing again ${recoveryMs} ms after SIGKILL`);
    expect(recoveryMs).toBeLessThan(RECOVERY_BOUND_MS);
    expect(supervisor.starts).toBe(2);

    const stored = new Set(await storedTimes(influx, DB));
    expect(acknowledgedBeforeKill.filter((ts) => !stored.has(ts))).toStrictEqual([]);
    expect(acknowledgedBeforeKill.length).toBeGreaterThanOrEqual(10);
  });
});
