/**
 * `npm run bench:modbus`: 1,000 Modbus meters on 50 simulated links, polled by a gateway process every 5 s, with
 * a real InfluxDB, on this machine. Each link is its own Modbus TCP server (devices/modbus/server.ts, in this
 * process, each on its own port) with 20 unit ids holding an Eastron SDM120's registers (the shipped profile,
 * `poll` set to the interval asked for). Measures, on the gateway's pid only:
 *
 * - CPU % of one core and RSS over N seconds, against a baseline measured first in the same run: the same
 *   gateway process (same profiles, rules and settings), the same duration, no devices; and, with
 *   `--reference`, the same 1,000 ids registered as native energy meters (nothing polled), which tells the
 *   memory of 1,000 registered devices from the memory of polling them;
 * - poll jitter from the simulators' request times: per unit, the gap between the first requests of
 *   consecutive polls minus the interval (p50/p99 of its absolute value), and how late each poll starts
 *   after its grid point (the poller schedules on multiples of the interval);
 * - that every device stayed online (no failed poll) and that every poll the simulators answered was counted
 *   in InfluxDB, per device.
 *
 *   npm run bench:modbus -- [--seconds 60] [--links 50] [--units 20] [--poll 5s] [--warmup 10] [--reference]
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ModbusSimulator } from '../devices/modbus/server.js';
import { encodeRegisters } from '../src/modbus/codec.js';
import { startInflux, type InfluxServer } from '../tests/helpers/influx.js';
import { spawnGateway, type GatewayProcess } from '../tests/helpers/process.js';
import { sampler } from './proc.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    links: { type: 'string', default: '50' },
    units: { type: 'string', default: '20' },
    poll: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '10' },
    reference: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const LINKS = Number(args.links);
const UNITS = Number(args.units);
const WARMUP_S = Number(args.warmup);
const POLL_MS = durationMs(args.poll);
const ADMIN = 'bench-admin-token-0123456789abcdef';
const SITE = 'bench-site';
const PROFILE = 'eastron-sdm120-modbus';
/** The profile reads input registers 0..13, 30..31 and 72..73: the request at address 0 starts each poll. */
const FIRST = { fc: 4, address: 0 };

/** Targets of the brief (docs/performance.md). */
const TARGET = { cpuPct: 15, jitterP99Ms: 500, rssGrowthMb: 40 };

function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`--poll ${text}: expected e.g. 5s or 500ms`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm'];
}

const figures = (m: { cpuPct: number; rssMaxMb: number; rssSteadyMb: number; heapUsedMb: number; externalMb: number }) => ({
  cpuPct: m.cpuPct,
  rssMaxMb: m.rssMaxMb,
  rssSteadyMb: m.rssSteadyMb,
  heapUsedMb: m.heapUsedMb,
  externalMb: m.externalMb,
});
const signed = (n: number) => (n >= 0 ? `+${n}` : `${n}`);

function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number | undefined {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]) : undefined;
}

/** A meter's state: realistic single-phase readings, the energy register counting up with the power drawn. */
interface Meter {
  voltageV: number;
  currentA: number;
  powerFactor: number;
  energyKwh: number;
}

function writeMeter(sim: ModbusSimulator, unit: number, m: Meter): void {
  const w = (address: number, value: number) => sim.setRegisters(unit, 'input', address, encodeRegisters(value, 'float32', 'ABCD'));
  w(0, m.voltageV);
  w(6, m.currentA);
  w(12, m.voltageV * m.currentA * m.powerFactor); // W; the profile scales it to kW
  w(30, m.powerFactor);
  w(72, m.energyKwh);
}

async function api(g: GatewayProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${g.httpPort}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** The gateway under test, as bench/simulate.ts starts it (spawnGateway: `node --import tsx src/main.ts`). */
function gateway(influx: InfluxServer, db: string, dir: string, profilesDir: string): Promise<GatewayProcess> {
  return spawnGateway({ INFLUX_URL: influx.url, INFLUX_DB: db, DATA_DIR: dir, ADMIN_TOKEN: ADMIN, PROFILES_DIR: profilesDir });
}

/** Samples the gateway's pid for `seconds`; the samples of bench/proc.ts, and the V8 heap in use at the end. */
async function measure(g: GatewayProcess, seconds: number) {
  const probe = sampler(g.child.pid!);
  const from = Date.now();
  await sleep(seconds * 1000);
  const usage = probe.stop();
  const to = Date.now();
  const metrics = await (await fetch(`http://127.0.0.1:${g.httpPort}/metrics`)).text();
  const mb = (name: string) => Math.round(Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN) / 2 ** 20);
  return { ...usage, heapUsedMb: mb('nodejs_heap_used_bytes'), externalMb: mb('nodejs_external_memory_bytes'), from, to };
}

/** Registers the meters through the API: Modbus-polled with the profile, or (`native`) as plain energy meters. */
async function register(g: GatewayProcess, meters: Map<string, { sim: ModbusSimulator; unit: number; link: number }>, native: boolean): Promise<number> {
  const start = Date.now();
  for (const [id, { sim, unit, link }] of meters) {
    const res = await api(g, 'POST', '/api/devices', {
      id,
      kind: 'energy',
      site: SITE,
      zone: `link-${link}`,
      ...(native ? {} : { profile: PROFILE, modbus: { host: sim.host, port: sim.port, unitId: unit } }),
    });
    if (res.status !== 201) throw new Error(`register ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return (Date.now() - start) / 1000;
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const dir = await mkdtemp(join(tmpdir(), 'bench-modbus-'));
  const profilesDir = join(dir, 'profiles');
  await mkdir(profilesDir);
  const shipped = await readFile(`profiles/${PROFILE}.yaml`, 'utf8');
  if (!/^ {2}poll: .*$/m.test(shipped)) throw new Error(`profiles/${PROFILE}.yaml has no poll line`);
  await writeFile(join(profilesDir, `${PROFILE}.yaml`), shipped.replace(/^ {2}poll: .*$/m, `  poll: ${args.poll}`));

  const influx = await startInflux();
  const sims: ModbusSimulator[] = [];
  const meters = new Map<string, { sim: ModbusSimulator; unit: number; link: number; m: Meter }>();
  let bump: NodeJS.Timeout | undefined;
  const gateways: GatewayProcess[] = [];
  try {
    for (let l = 0; l < LINKS; l++) {
      const sim = await ModbusSimulator.start({ timestamps: true });
      sims.push(sim);
      for (let u = 1; u <= UNITS; u++) {
        const n = l * UNITS + u;
        const m: Meter = { voltageV: 225 + (n % 150) / 10, currentA: 0.5 + (n % 190) / 10, powerFactor: 0.85 + (n % 15) / 100, energyKwh: 100 + n * 17.3 };
        writeMeter(sim, u, m);
        meters.set(`meter-${String(n - 1).padStart(5, '0')}`, { sim, unit: u, link: l, m });
      }
    }
    // The energy registers count up with the power drawn, as a real meter's would.
    bump = setInterval(() => {
      for (const { sim, unit, m } of meters.values()) {
        m.energyKwh += (m.voltageV * m.currentA * m.powerFactor * (POLL_MS / 3_600_000)) / 1000;
        sim.setRegisters(unit, 'input', 72, encodeRegisters(m.energyKwh, 'float32', 'ABCD'));
      }
    }, POLL_MS);
    log(`${LINKS} Modbus TCP simulators on ports ${sims[0].port}…${sims[sims.length - 1].port}, ${UNITS} units each; InfluxDB ${influx.url}`);

    // The baseline: the same gateway with no devices, the same warm-up and duration.
    const base = await gateway(influx, 'bench_modbus_baseline', join(dir, 'data-baseline'), profilesDir);
    gateways.push(base);
    log(`baseline gateway (pid ${base.child.pid}): ${WARMUP_S} s warm-up, ${SECONDS} s measured, no devices`);
    await sleep(WARMUP_S * 1000);
    const baseline = await measure(base, SECONDS);
    await base.terminate();
    gateways.pop();
    log(`baseline: CPU ${baseline.cpuPct} %, RSS peak ${baseline.rssMaxMb} MB, steady ${baseline.rssSteadyMb} MB, heap used ${baseline.heapUsedMb} MB`);

    let reference: Awaited<ReturnType<typeof measure>> | undefined;
    if (args.reference) {
      const ref = await gateway(influx, 'bench_modbus_reference', join(dir, 'data-reference'), profilesDir);
      gateways.push(ref);
      const seconds = await register(ref, meters, true);
      log(`reference gateway (pid ${ref.child.pid}): ${meters.size} native devices registered in ${seconds.toFixed(1)} s, not polled; ${WARMUP_S} s warm-up, ${SECONDS} s measured`);
      await sleep(WARMUP_S * 1000);
      reference = await measure(ref, SECONDS);
      await ref.terminate();
      gateways.pop();
      log(`reference: CPU ${reference.cpuPct} %, RSS peak ${reference.rssMaxMb} MB, steady ${reference.rssSteadyMb} MB, heap used ${reference.heapUsedMb} MB`);
    }

    const g = await gateway(influx, 'bench_modbus', join(dir, 'data-modbus'), profilesDir);
    gateways.push(g);
    const registerSeconds = await register(g, meters, false);
    log(`gateway (pid ${g.child.pid}): ${meters.size} devices registered in ${registerSeconds.toFixed(1)} s; ${WARMUP_S} s warm-up, ${SECONDS} s measured`);
    await sleep(WARMUP_S * 1000);
    const run = await measure(g, SECONDS);
    log(`with ${meters.size} Modbus devices: CPU ${run.cpuPct} %, RSS peak ${run.rssMaxMb} MB, steady ${run.rssSteadyMb} MB, heap used ${run.heapUsedMb} MB`);

    // Cut between two grid points, so every poll started before the cut has been answered and handed on.
    const now = Date.now();
    const cut = Math.floor(now / POLL_MS) * POLL_MS + POLL_MS / 2 + (now % POLL_MS >= POLL_MS / 2 ? POLL_MS : 0);
    await sleep(cut - Date.now() + 3000); // and a flush to InfluxDB after it
    const stored = new Map<string, number>();
    for (const row of await influx.query(`SELECT count("energyKwh") FROM "energy" WHERE time < ${cut}ms GROUP BY "device"`, 'bench_modbus')) {
      stored.set(String(row.device), Number(row.count));
    }

    // Per unit: the polls the simulators saw (first request of each), the jitter and the lateness after the grid.
    const gapsMs: number[] = [];
    const lateMs: number[] = [];
    let polled = 0;
    const missing: string[] = [];
    for (const [id, { sim, unit }] of meters) {
      const starts = sim.requests.flatMap((r) => (r.unitId === unit && r.fc === FIRST.fc && r.address === FIRST.address && r.at !== undefined && r.at < cut ? [r.at] : []));
      polled += starts.length;
      if ((stored.get(id) ?? 0) !== starts.length) missing.push(`${id}: ${stored.get(id) ?? 0} stored of ${starts.length} polls`);
      const inWindow = starts.filter((t) => t >= run.from && t <= run.to);
      for (let i = 1; i < inWindow.length; i++) gapsMs.push(Math.abs(inWindow[i] - inWindow[i - 1] - POLL_MS));
      for (const t of inWindow) lateMs.push(t % POLL_MS);
    }
    gapsMs.sort((a, b) => a - b);
    lateMs.sort((a, b) => a - b);

    // What the gateway says of each device, read after the measurement so it costs the measured CPU nothing.
    let online = 0;
    let failures = 0;
    let overruns = 0;
    let skipped = 0;
    for (const id of meters.keys()) {
      const d = (await api(g, 'GET', `/api/devices/${id}`)).body as { online?: boolean; poll?: { failures: number; overruns: number; skipped: number } };
      if (d.online === true) online++;
      failures += d.poll?.failures ?? 0;
      overruns += d.poll?.overruns ?? 0;
      skipped += d.poll?.skipped ?? 0;
    }
    const storedTotal = [...stored.values()].reduce((a, b) => a + b, 0);
    const load1 = loadavg();
    const result = {
      devices: meters.size,
      links: LINKS,
      unitsPerLink: UNITS,
      pollMs: POLL_MS,
      seconds: SECONDS,
      registerSeconds: Number(registerSeconds.toFixed(1)),
      baseline: figures(baseline),
      ...(reference ? { reference: figures(reference) } : {}),
      modbus: figures(run),
      rssGrowthSteadyMb: run.rssSteadyMb - baseline.rssSteadyMb,
      rssGrowthPeakMb: run.rssMaxMb - baseline.rssMaxMb,
      jitter: { intervals: gapsMs.length, p50Ms: pct(gapsMs, 0.5), p99Ms: pct(gapsMs, 0.99), maxMs: gapsMs.at(-1) },
      afterGridPoint: { polls: lateMs.length, p50Ms: pct(lateMs, 0.5), p99Ms: pct(lateMs, 0.99), maxMs: lateMs.at(-1) },
      online,
      pollFailures: failures,
      pollOverruns: overruns,
      pollsSkipped: skipped,
      polledBeforeCut: polled,
      storedBeforeCut: storedTotal,
      devicesWithPointsMissing: missing.length,
      loadAverage: { before: load0.map((x) => Number(x.toFixed(2))), after: load1.map((x) => Number(x.toFixed(2))) },
    };
    const met = {
      cpu: result.modbus.cpuPct <= TARGET.cpuPct,
      jitter: (result.jitter.p99Ms ?? Infinity) < TARGET.jitterP99Ms,
      rss: result.rssGrowthSteadyMb < TARGET.rssGrowthMb,
      everyDevice: online === meters.size && failures === 0 && missing.length === 0 && storedTotal === polled,
    };
    const lines = [
      `# Modbus polling benchmark: ${meters.size} devices on ${LINKS} links, every ${args.poll}, ${SECONDS} s, ${new Date().toISOString()}`,
      '',
      `load average before ${result.loadAverage.before.join(' ')}, after ${result.loadAverage.after.join(' ')}; registration ${result.registerSeconds} s`,
      '',
      `| | no devices (baseline) | ${meters.size} Modbus devices | target | met |`,
      '| --- | --- | --- | --- | --- |',
      `| gateway CPU (one core = 100 %) | ${baseline.cpuPct} % | ${run.cpuPct} % | ≤ ${TARGET.cpuPct} % | ${met.cpu ? 'yes' : 'no'} |`,
      `| steady RSS | ${baseline.rssSteadyMb} MB | ${run.rssSteadyMb} MB (${signed(result.rssGrowthSteadyMb)} MB) | growth < ${TARGET.rssGrowthMb} MB | ${met.rss ? 'yes' : 'no'} |`,
      `| peak RSS | ${baseline.rssMaxMb} MB | ${run.rssMaxMb} MB (${signed(result.rssGrowthPeakMb)} MB) | | |`,
      `| V8 heap in use at the end | ${baseline.heapUsedMb} MB | ${run.heapUsedMb} MB (${signed(run.heapUsedMb - baseline.heapUsedMb)} MB) | | |`,
      `| poll jitter, \\|gap − ${POLL_MS} ms\\| p50 / p99 / max | | ${result.jitter.p50Ms} / ${result.jitter.p99Ms} / ${result.jitter.maxMs} ms (${result.jitter.intervals} gaps) | p99 < ${TARGET.jitterP99Ms} ms | ${met.jitter ? 'yes' : 'no'} |`,
      `| poll start after its grid point p50 / p99 / max | | ${result.afterGridPoint.p50Ms} / ${result.afterGridPoint.p99Ms} / ${result.afterGridPoint.maxMs} ms | | |`,
      `| online at the end, failed polls | | ${online} of ${meters.size}, ${failures} failed | all, none | ${met.everyDevice ? 'yes' : 'no'} |`,
      `| polls answered / points in InfluxDB (before the cut) | | ${polled} / ${storedTotal} (${missing.length} devices short) | equal | ${storedTotal === polled && missing.length === 0 ? 'yes' : 'no'} |`,
      '',
      ...(reference
        ? [
            `Reference, the same ${meters.size} ids registered as native meters, not polled: CPU ${reference.cpuPct} %, steady RSS ${reference.rssSteadyMb} MB ` +
              `(${signed(reference.rssSteadyMb - baseline.rssSteadyMb)} MB on the baseline), peak ${reference.rssMaxMb} MB, heap used ${reference.heapUsedMb} MB; ` +
              `polling them adds ${signed(run.rssSteadyMb - reference.rssSteadyMb)} MB steady RSS, ${signed(run.heapUsedMb - reference.heapUsedMb)} MB heap.`,
            '',
          ]
        : []),
      ...(missing.length ? ['Devices short of points (first 10):', ...missing.slice(0, 10)] : []),
      '```',
      JSON.stringify(result),
      '```',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    await mkdir('bench/results', { recursive: true });
    await writeFile(`bench/results/modbus-${Date.now()}.json`, JSON.stringify({ result, met }, null, 2));
  } finally {
    clearInterval(bump);
    for (const g of gateways) await g.terminate();
    for (const sim of sims) await sim.stop();
    await influx.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  log(`bench failed: ${err.stack}`);
  process.exit(1);
});
