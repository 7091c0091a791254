/**
 * The energy API on a month of a large site: `npm run bench:energy [-- --meters 1000 --days 30]`.
 *
 * A fresh influxd and gateway; `meters` energy meters over 20 buildings of 10 floors, each with a reading of its
 * register and power every 15 minutes for `days` days (written as line protocol in batches of 10,000), and a
 * site file with a two-band tariff. Then:
 * - cold: the month by building per day worked out straight from InfluxDB, with nothing kept (a service of its own);
 * - the gateway's warm-up at start (it works out the meters' closed days of the last two months and keeps them);
 * - over HTTP with the admin token, after the warm-up: the month by building per day (JSON), first and best of
 *   three, and the month by device per day as CSV, with the growth of the process's resident memory while it is
 *   answered (sampled every 20 ms), to show that the CSV streams.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EnergyService } from '../src/energy/service.js';
import { seriesLine, telemetrySeries } from '../src/storage/influx/points.js';
import { StateStore } from '../src/storage/state/store.js';
import { ADMIN_TOKEN, startGateway } from '../tests/helpers/gateway.js';
import { startInflux, type InfluxServer } from '../tests/helpers/influx.js';

const { values } = parseArgs({ options: { meters: { type: 'string', default: '1000' }, days: { type: 'string', default: '30' } } });
const METERS = Number(values.meters);
const DAYS = Number(values.days);
const SITE = 'bench-energy';
const DB = 'bench_energy';
const QUARTER = 900_000;
const BATCH = 10_000;

const SITE_FILE = `id: ${SITE}
name: { zh-CN: 基准小区, en: Bench Court }
timezone: Asia/Shanghai
buildings:
${Array.from({ length: 20 }, (_, b) => `  - id: b${b + 1}\n    name: { zh-CN: ${b + 1}号楼, en: Building ${b + 1} }\n    floors: [${Array.from({ length: 10 }, (_, f) => `{ id: b${b + 1}-f${f + 1} }`).join(', ')}]`).join('\n')}
tariff:
  currency: CNY
  energy:
    - { from: "08:00", to: "22:00", price: 0.62 }
    - { from: "22:00", to: "08:00", price: 0.3 }
`;

async function write(influx: InfluxServer, lines: string[]): Promise<void> {
  const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines.join('\n') });
  if (!res.ok) throw new Error(`write: ${res.status} ${await res.text()}`);
}

/** The month before the current one, Shanghai time, as [from, to). */
function lastMonth(): { from: number; to: number } {
  const now = new Date(Date.now() + 8 * 3_600_000);
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) - 8 * 3_600_000;
  return { from: to - DAYS * 86_400_000, to };
}

async function writeReadings(influx: InfluxServer, from: number): Promise<number> {
  let lines: string[] = [];
  let points = 0;
  const n = (DAYS * 86_400_000) / QUARTER;
  for (let m = 0; m < METERS; m++) {
    const zone = `b${(m % 20) + 1}-f${(Math.floor(m / 20) % 10) + 1}`;
    const series = telemetrySeries('energy', SITE, `meter-${String(m).padStart(4, '0')}`, zone);
    let kwh = 1000 + m;
    for (let i = 0; i < n; i++) {
      const t = from + i * QUARTER;
      const hour = new Date(t + 8 * 3_600_000).getUTCHours();
      const kw = (hour >= 8 && hour < 22 ? 4 : 1.5) + (m % 7) * 0.25 + ((i * 7919 + m) % 13) / 26;
      kwh += kw / 4;
      lines.push(seriesLine(series, { energyKwh: Math.round(kwh * 1000) / 1000, powerKw: Math.round(kw * 1000) / 1000 }, t));
      if (lines.length === BATCH) {
        await write(influx, lines);
        points += lines.length;
        lines = [];
      }
    }
  }
  if (lines.length > 0) await write(influx, lines);
  return points + lines.length;
}

/** Resident memory and JS heap sampled while `fn` runs: their peaks above the levels before. */
async function peakGrowth<T>(fn: () => Promise<T>): Promise<{ value: T; rssMb: number; heapMb: number }> {
  const before = process.memoryUsage();
  let rss = before.rss;
  let heap = before.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  try {
    const value = await fn();
    sample();
    return { value, rssMb: (rss - before.rss) / 1024 / 1024, heapMb: (heap - before.heapUsed) / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

/** A CSV answer read and dropped chunk by chunk: its time and size. */
async function csvOf(get: (query: string) => Promise<Response>, query: string) {
  return peakGrowth(async () => {
    const start = performance.now();
    const res = await get(query);
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    return { ms: performance.now() - start, bytes };
  });
}

const dir = await mkdtemp(join(tmpdir(), 'bench-energy-'));
const influx = await startInflux();
try {
  await influx.query(`CREATE DATABASE ${DB}`);
  const range = lastMonth();
  process.stderr.write(`writing ${METERS} meters × ${DAYS} days of 15-minute readings…\n`);
  let t = performance.now();
  const points = await writeReadings(influx, range.from);
  const writeS = (performance.now() - t) / 1000;
  await mkdir(join(dir, 'sites'));
  await writeFile(join(dir, 'sites', `${SITE}.yaml`), SITE_FILE);
  const store = new StateStore(dir);
  store.open();
  const insert = store.db.prepare('INSERT INTO devices (id, kind, site, zone, tags, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
  store.db.transaction(() => {
    for (let m = 0; m < METERS; m++) {
      insert.run(`meter-${String(m).padStart(4, '0')}`, 'energy', SITE, `b${(m % 20) + 1}-f${(Math.floor(m / 20) % 10) + 1}`, '{}', 'x', range.from);
    }
  })();
  store.close();
  t = performance.now();
  const gw = await startGateway({ INFLUX_URL: influx.url, INFLUX_DB: DB, SITES_DIR: join(dir, 'sites'), INFLUX_TIMEOUT: '120s' }, dir);
  await gw.gateway.energy.warmed();
  const warmS = (performance.now() - t) / 1000;
  const warmDays = gw.gateway.energy.days.count;
  const g = gw.gateway;
  const cold = new EnergyService({
    influx: g.history,
    devices: (site) => g.registry.list({ site }),
    places: { loaded: (s) => g.sites.loaded(s), timeZone: (s) => g.sites.timeZone(s), language: (s) => g.sites.language(s), tariff: (s) => g.sites.get(s)?.tariff },
  });
  t = performance.now();
  let coldRows = 0;
  for await (const _row of cold.rows(cold.plan({ site: SITE, from: range.from, to: range.to, by: 'building', interval: '1d', kind: 'energy' }))) coldRows++;
  const coldS = (performance.now() - t) / 1000;
  const base = `http://127.0.0.1:${gw.httpPort}/api/energy?site=${SITE}&from=${new Date(range.from).toISOString()}&to=${new Date(range.to).toISOString()}`;
  const get = async (query: string) => {
    const res = await fetch(`${base}&${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    if (res.status !== 200) throw new Error(`${query}: ${res.status} ${await res.text()}`);
    return res;
  };
  try {
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < 4; i++) {
      t = performance.now();
      rows = ((await (await get('by=building&interval=1d')).json()) as unknown[]).length;
      times.push(performance.now() - t);
    }
    const daily = await csvOf(get, 'by=device&interval=1d&format=csv');
    const hourly = await csvOf(get, 'by=device&interval=1h&format=csv');
    console.log(`energy API, ${METERS} meters × ${DAYS} days of 15-minute readings (${points} points, written in ${writeS.toFixed(1)} s)`);
    console.log(`cold (nothing kept), month by building per day: ${coldRows} rows in ${coldS.toFixed(1)} s`);
    console.log(`gateway start with the warm-up of ${warmDays} meter-days (${g.energy.days.count} after the requests): ${warmS.toFixed(1)} s`);
    console.log('request | rows or bytes | first ms | best of 3 ms | peak RSS growth MB | peak heap growth MB');
    console.log(`by=building&interval=1d (JSON) | ${rows} rows | ${times[0].toFixed(0)} | ${Math.min(...times.slice(1)).toFixed(0)} | – | –`);
    for (const [query, c] of [['by=device&interval=1d&format=csv', daily], ['by=device&interval=1h&format=csv', hourly]] as const) {
      console.log(`${query} | ${(c.value.bytes / 1024 / 1024).toFixed(1)} MB | ${c.value.ms.toFixed(0)} | – | ${c.rssMb.toFixed(0)} | ${c.heapMb.toFixed(0)}`);
    }
  } finally {
    await gw.stop();
  }
} finally {
  await influx.stop();
  await rm(dir, { recursive: true, force: true });
}
