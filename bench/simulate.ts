/**
 * `npm run bench:simulate`: one simulator process driving thousands of devices (default 5,000, one message per
 * device every 10 s) against a real gateway and InfluxDB on this machine. Reports the simulator's CPU and RSS
 * while it sends, how long registration and connection took, and whether every telemetry point was stored.
 *
 *   npm run bench:simulate -- [--devices 5000] [--interval 10s] [--seconds 120]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KIND_NAMES, type KindName } from '../src/devices/kinds/index.js';
import { startInflux } from '../tests/helpers/influx.js';
import { spawnGateway } from '../tests/helpers/process.js';
import { sampler } from './proc.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    interval: { type: 'string', default: '10s' },
    seconds: { type: 'string', default: '120' },
  },
});
const ADMIN = 'bench-admin-token-0123456789abcdef';
const DB = 'bench_simulate';

function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-sim-'));
  const influx = await startInflux();
  const gateway = await spawnGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, DATA_DIR: join(dir, 'data'), ADMIN_TOKEN: ADMIN });
  log(`gateway on MQTT ${gateway.mqttPort}, HTTP ${gateway.httpPort}; InfluxDB ${influx.url}`);
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'devices/cli.ts',
      '--devices', args.devices!,
      '--interval', args.interval!,
      '--duration', `${Number(args.seconds) + 1000}s`, // stopped by SIGTERM below, after the measurement
      '--gateway', `http://127.0.0.1:${gateway.httpPort}`,
      '--mqtt', `mqtt://127.0.0.1:${gateway.mqttPort}`,
      '--token', ADMIN,
      '--state', join(dir, 'sim.json'),
      '--qos', '1',
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  let out = '';
  let connectedAt = 0;
  let registeredAt = 0;
  const connected = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      process.stderr.write(d);
      if (!registeredAt && /registering (\d+)\/\1/.test(out)) registeredAt = Date.now();
      if (/all \d+ devices connected/.test(out)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  await connected;
  connectedAt = Date.now();
  const before = await storedPoints(influx);
  const probe = sampler(child.pid!);
  log(`measuring the simulator for ${args.seconds} s`);
  await new Promise((r) => setTimeout(r, Number(args.seconds) * 1000));
  const usage = probe.stop();
  const atEnd = await storedPoints(influx);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  const [, sent, events] = (/sent (\d+) messages \((\d+) events\)/.exec(out) ?? ['', '0', '0']).map(Number);
  await new Promise((r) => setTimeout(r, 3000));
  const stored = await storedPoints(influx);
  await gateway.terminate();
  await influx.stop();
  await rm(dir, { recursive: true, force: true });
  const rate = (atEnd - before) / Number(args.seconds);
  // The bench sends no commands and "sent" leaves out status messages: what is not an event is telemetry.
  const telemetrySent = sent - events;
  const result = {
    devices: Number(args.devices),
    interval: args.interval,
    registerSeconds: Number(((registeredAt - started) / 1000).toFixed(1)),
    connectSeconds: Number(((connectedAt - registeredAt) / 1000).toFixed(1)),
    storedPerSecond: Math.round(rate),
    simulatorCpuPct: usage.cpuPct,
    simulatorRssMaxMb: usage.rssMaxMb,
    simulatorRssSteadyMb: usage.rssSteadyMb,
    telemetrySent,
    telemetryStored: stored,
    everyPointStored: stored === telemetrySent,
  };
  log(
    `${result.devices} devices every ${result.interval}: registered in ${result.registerSeconds} s, connected in ${result.connectSeconds} s; ` +
      `simulator CPU ${result.simulatorCpuPct} % of a core, RSS peak ${result.simulatorRssMaxMb} MB, steady ${result.simulatorRssSteadyMb} MB; ` +
      `${result.storedPerSecond} telemetry points/s; ${stored} of ${telemetrySent} telemetry messages stored`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Telemetry points in InfluxDB: per kind, the counts of fields that every message of a role carries. */
async function storedPoints(influx: Awaited<ReturnType<typeof startInflux>>): Promise<number> {
  // Parking lots report freeSpaces, space sensors occupied: no field is in every parking message.
  const fields: Record<KindName, string[]> = {
    access: ['locked'],
    lighting: ['on'],
    parking: ['occupied', 'freeSpaces'],
    energy: ['energyKwh'],
    fire: ['temperatureC'],
    camera: ['fps'],
    lift: ['floor'],
    water: ['levelPct'],
    power: ['voltageV'],
    patrol: ['batteryPct'],
    sos: ['batteryPct'],
    environment: ['temperatureC'],
    waste: ['fillPct'],
  };
  let total = 0;
  for (const kind of KIND_NAMES) {
    for (const field of fields[kind]) {
      const rows = await influx.query(`SELECT count("${field}") FROM "${kind}"`, DB).catch(() => []);
      total += Number(rows[0]?.count ?? 0);
    }
  }
  return total;
}

main().catch((err: Error) => {
  log(`bench failed: ${err.stack}`);
  process.exit(1);
});
