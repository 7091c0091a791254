/**
 * Replay benchmark (contract §7): 1,000,000 telemetry points waiting in the spool, then the writer starts
 * against a real influxd while live traffic keeps arriving at 1,000 points/s. Reports how long until the
 * spool is empty and until InfluxDB counts every point. Run: npx tsx bench/spool-replay.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics.js';
import { telemetryLine } from '../src/storage/influx/points.js';
import { Spool } from '../src/storage/influx/spool.js';
import { InfluxWriter } from '../src/storage/influx/writer.js';
import { startInflux } from '../tests/helpers/influx.js';

const SPOOLED = 1_000_000;
const LIVE_PER_SECOND = 1000;
const DEVICES = 1000;
const T0 = Date.UTC(2026, 0, 1);
const DEADLINE_MS = 300_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Point i: device i % 1000 at its own millisecond, so every point is a distinct one in InfluxDB. */
function point(i: number): string {
  const fields = { powerKw: (i % 977) / 10, voltageV: 230 + (i % 7), currentA: (i % 311) / 10, energyKwh: i / 1000 };
  return telemetryLine('energy', 'bench-site', `meter-${i % DEVICES}`, `zone-${i % 20}`, fields, T0 + i);
}

async function fill(spool: Spool): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < SPOOLED; i += 10_000) {
    let text = '';
    for (let j = i; j < i + 10_000; j++) text += `${point(j)}\n`;
    await spool.append(text, 10_000);
  }
  return performance.now() - started;
}

/** Writes LIVE_PER_SECOND points a second, in 10 steps a second, until `running()` says stop. */
async function liveTraffic(writer: InfluxWriter, running: () => boolean): Promise<number> {
  const acks: Array<Promise<void>> = [];
  const started = performance.now();
  let sent = 0;
  while (running()) {
    const due = Math.floor(((performance.now() - started) / 1000) * LIVE_PER_SECOND);
    for (; sent < due; sent++) acks.push(writer.write(point(SPOOLED + sent)));
    await sleep(100);
  }
  await Promise.all(acks);
  return sent;
}

async function main(): Promise<void> {
  const influx = await startInflux();
  const dir = await mkdtemp(join(tmpdir(), 'bench-spool-'));
  const metrics = new Metrics();
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
  try {
    const spool = new Spool({ dir, maxBytes: 1024 * 1024 * 1024, log: log.child({ module: 'spool' }), metrics });
    await spool.open();
    const fillMs = await fill(spool);
    console.log(`spool filled: ${spool.pendingPoints} points, ${(spool.pendingBytes / 1e6).toFixed(1)} MB in ${seconds(fillMs)}`);

    const reopened = performance.now();
    await spool.close();
    const again = new Spool({ dir, maxBytes: 1024 * 1024 * 1024, log: log.child({ module: 'spool' }), metrics });
    await again.open();
    console.log(`spool reopened (scan + count): ${again.pendingPoints} points in ${seconds(performance.now() - reopened)}`);

    const writer = new InfluxWriter({
      url: influx.url,
      db: 'bench',
      batchSize: 5000,
      flushIntervalMs: 100,
      timeoutMs: 30_000,
      retryMaxMs: 30_000,
      maxPending: 100_000,
      spool: again,
      log: log.child({ module: 'influx' }),
      metrics,
    });
    const started = performance.now();
    await writer.start();
    let live = true;
    const traffic = liveTraffic(writer, () => live);
    while (writer.status().mode !== 'direct' || writer.status().spooledPoints > 0) {
      if (performance.now() - started > DEADLINE_MS) throw new Error('spool did not drain within the deadline');
      await sleep(20);
    }
    const drainedMs = performance.now() - started;
    live = false;
    const liveSent = await traffic;
    const expected = SPOOLED + liveSent;
    let counted = 0;
    while (counted < expected && performance.now() - started < DEADLINE_MS) {
      const rows = await influx.query('SELECT count(powerKw) FROM energy', 'bench');
      counted = Number(rows[0]?.count ?? 0);
      if (counted < expected) await sleep(200);
    }
    const countedMs = performance.now() - started;
    await writer.stop();

    console.log(`spool empty after:            ${seconds(drainedMs)} (${Math.round(SPOOLED / (drainedMs / 1000))} spooled points/s)`);
    console.log(`live points written meanwhile: ${liveSent} at ${LIVE_PER_SECOND}/s`);
    console.log(`InfluxDB count:                ${counted} of ${expected} expected, confirmed after ${seconds(countedMs)}`);
    console.log(`points written (metric):       ${metrics.value('gateway_influx_points_written_total')}`);
    console.log(`refused / dropped:             ${metrics.value('gateway_influx_points_refused_total')} / ${metrics.value('gateway_spool_dropped_points_total')}`);
    if (counted !== expected) process.exitCode = 1;
  } finally {
    await influx.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
