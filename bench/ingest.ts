/**
 * `npm run bench`: telemetry from simulated devices over MQTT into a real InfluxDB, the gateway against the
 * naive pipeline (bench/naive.ts) in the same run, on this machine. For each pipeline and QoS it climbs a
 * ladder of rates; a rate counts as sustained when the sockets did not back up, every point is counted in
 * InfluxDB within 3 s of the end of sending, and, at QoS 1, every message was acknowledged with 99 % of the
 * PUBACKs within 1 s. It reports the highest sustained rate, the
 * pipeline's CPU and peak RSS there, and the ratio gateway / naive.
 *
 * Pipeline `profile` is the gateway with the same devices registered with a device profile (BENCH_PROFILE,
 * written into a temporary PROFILES_DIR): the load publishes a vendor's meter JSON on `vendor/{device}/up`
 * instead of the native payload, and the ratio profile / gateway is reported. `--native full` has the native
 * pipelines send the same four readings as the vendor JSON (voltage, current, power, energy) instead of two,
 * so that the ratio measures the profile and not InfluxDB's cost of the extra fields.
 *
 *   npm run bench -- [--seconds 60] [--devices 1000] [--qos 0,1] [--rates 5000,10000,...] [--pipelines gateway,rules,profile,naive] [--native short|full]
 *                    [--idle]   (also: RSS with every device sending once per 10 s)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { parseArgs } from 'node:util';
import { startInflux, type InfluxServer } from '../tests/helpers/influx.js';
import type { LoadDevice, LoadOptions, LoadResult } from './load.js';
import { sampler } from './proc.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    devices: { type: 'string', default: '1000' },
    qos: { type: 'string', default: '0,1' },
    rates: { type: 'string', default: '5000,10000,15000,20000,25000,30000,35000,40000,50000' },
    pipelines: { type: 'string', default: 'gateway,rules,naive' },
    idle: { type: 'boolean', default: false },
    grace: { type: 'string', default: '20' },
    native: { type: 'string', default: 'short' },
  },
});
const SECONDS = Number(args.seconds);
const DEVICES = Number(args.devices);
const GRACE_S = Number(args.grace);
if (args.native !== 'short' && args.native !== 'full') throw new Error(`--native ${args.native}: short or full`);
const ADMIN = 'bench-admin-token-0123456789abcdef';
const SITE = 'bench-site';
/** How long after the last message everything must be counted for the rate to count as kept up with. */
const LAG_S = 3;
/** At QoS 1, a rate is kept up with only while 99 % of PUBACKs come back within this. */
const MAX_ACK_P99_MS = 1000;
/** Socket backlog left at the end that still counts as keeping up (a few ticks of traffic). */
const MAX_BACKLOG = 512 * 1024;

/**
 * `rules`: the gateway with the default rule pack (rules/) loaded; `gateway`: with no rules; `profile`: with no
 * rules, the devices registered with BENCH_PROFILE and publishing their vendor's JSON.
 */
type Pipeline = 'gateway' | 'rules' | 'profile' | 'naive';

/** The profile of pipeline `profile`: a vendor's meter JSON mapped onto the energy kind, at the vendor's time. */
const BENCH_PROFILE_ID = 'bench-vendor-meter';
const BENCH_PROFILE = `
- id: ${BENCH_PROFILE_ID}
  description: "A vendor's energy meter JSON (npm run bench, pipeline profile)"
  kind: energy
  source: mqtt
  topics: ["vendor/{device}/up"]
  ts: { path: "$.t", format: epoch_ms }
  telemetry:
    voltageV:  { path: "$.d.v" }
    currentA:  { path: "$.d.i" }
    powerKw:   { path: "$.d.p" }
    energyKwh: { path: "$.d.e" }
`;

/** Node flags for the gateway under test, as `npm start` passes them (none today). */
const GATEWAY_NODE_FLAGS: string[] = [];

interface Step {
  pipeline: Pipeline;
  qos: 0 | 1;
  rate: number;
  sent: number;
  /** Counted in InfluxDB within LAG_S of the end of sending. */
  storedInTime: number;
  /** Counted in the end (no loss), and how long after the end of sending. */
  stored: number;
  drainSeconds: number;
  acked: number;
  ackP50Ms?: number;
  ackP99Ms?: number;
  backlogBytes: number;
  cpuPct: number;
  rssMaxMb: number;
  rssSteadyMb: number;
  sustained: boolean;
  /** `rules` only: a door_forced publish to the alarm message an operator subscriber receives. */
  alarmP50Ms?: number;
  alarmP99Ms?: number;
  alarmProbes?: number;
  alarmLost?: number;
}

interface Running {
  child: ChildProcess;
  port: number;
  httpPort?: number;
  stop(): Promise<void>;
}

function log(text: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

function spawnAndWait(argv: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, argv, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

async function startPipeline(pipeline: Pipeline, influxUrl: string, db: string, dataDir: string): Promise<Running> {
  const stop = (child: ChildProcess) => async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  if (pipeline === 'naive') {
    const { child, match } = await spawnAndWait(['--import', 'tsx', 'bench/naive.ts'], { INFLUX_URL: influxUrl, INFLUX_DB: db, MQTT_PORT: '0' }, /MQTT on port (\d+)/);
    return { child, port: Number(match[1]), stop: stop(child) };
  }
  const env = {
    MQTT_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    MQTT_PORT: '0',
    MQTT_WS_PORT: '0',
    HTTP_PORT: '0',
    INFLUX_URL: influxUrl,
    INFLUX_DB: db,
    DATA_DIR: dataDir,
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'warn',
    // A folder that does not exist is no rules.
    RULES_DIR: pipeline === 'rules' ? resolve('rules') : join(dataDir, 'no-rules'),
    // Every gateway pipeline loads the same profiles; only `profile` registers its devices with one.
    PROFILES_DIR: profilesDir(dataDir),
  };
  const { child, match } = await spawnAndWait([...GATEWAY_NODE_FLAGS, 'dist/main.js'], env, /MQTT on port (\d+), MQTT over WebSocket on port \d+, HTTP on port (\d+)/);
  return { child, port: Number(match[1]), httpPort: Number(match[2]), stop: stop(child) };
}

/** The folder of BENCH_PROFILE, beside the gateway's data dir (written by main). */
function profilesDir(dataDir: string): string {
  return join(dataDir, '..', 'profiles');
}

/**
 * Registers the devices (gateway) once per data dir and returns the generator's view of them. Pipeline
 * `profile` has its own data dir and credentials: the same ids, registered with BENCH_PROFILE.
 */
async function devicesFor(pipeline: Pipeline, running: Running, credsFile: string): Promise<LoadDevice[]> {
  const ids = Array.from({ length: DEVICES }, (_, i) => `meter-${String(i).padStart(5, '0')}`);
  const profiled = pipeline === 'profile';
  const topic = (id: string) => (profiled ? `vendor/${id}/up` : `sc/${SITE}/energy/${id}/telemetry`);
  if (pipeline === 'naive') return ids.map((id) => ({ id, topic: topic(id) }));
  const known = JSON.parse(await readFile(credsFile, 'utf8').catch(() => '{}')) as Record<string, string>;
  for (const id of ids) {
    if (known[id]) continue;
    const res = await fetch(`http://127.0.0.1:${running.httpPort}/api/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, kind: 'energy', site: SITE, zone: `b${Number(id.slice(-5)) % 20}`, ...(profiled ? { profile: BENCH_PROFILE_ID } : {}) }),
    });
    if (res.status !== 201) throw new Error(`register ${id}: ${res.status} ${await res.text()}`);
    known[id] = ((await res.json()) as { mqtt: { password: string } }).mqtt.password;
  }
  await writeFile(credsFile, JSON.stringify(known));
  return ids.map((id) => ({ id, topic: topic(id), username: id, password: known[id] }));
}

async function count(influx: InfluxServer, db: string): Promise<number> {
  const rows = await influx.query('SELECT count("energyKwh") FROM "energy"', db).catch(() => []);
  return Number(rows[0]?.count ?? 0);
}

/**
 * Measures the rule path end to end while the load runs: a door controller publishes `door_forced` (the
 * default pack's door-forced rule), an operator subscriber to the alarm topics receives the alarm (a bump
 * republishes it); one probe at a time, every 100 ms, so each alarm message answers the probe before it.
 */
async function alarmProbe(running: Running, file: string) {
  const api = async (path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${running.httpPort}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.json()) as { mqtt: { username: string; password: string } };
  };
  type Creds = { door: { username: string; password: string }; desk: { username: string; password: string } };
  let creds = JSON.parse(await readFile(file, 'utf8').catch(() => 'null')) as Creds | null;
  if (!creds) {
    creds = {
      door: (await api('/api/devices', { id: 'door-probe', kind: 'access', site: SITE, zone: 'probe' })).mqtt,
      desk: (await api('/api/operators', { name: 'bench desk', sites: [SITE] })).mqtt,
    };
    await writeFile(file, JSON.stringify(creds));
  }
  const url = `mqtt://127.0.0.1:${running.port}`;
  const door = await mqtt.connectAsync(url, { ...creds.door, protocolVersion: 4, reconnectPeriod: 0 });
  const desk = await mqtt.connectAsync(url, { ...creds.desk, protocolVersion: 4, reconnectPeriod: 0 });
  let waiting: ((at: number) => void) | undefined;
  desk.on('message', (topic, payload) => {
    if (topic.endsWith('/door_forced/door-probe') && payload.length > 0) waiting?.(Date.now());
  });
  await desk.subscribeAsync(`sc/${SITE}/alarms/#`, { qos: 0 });
  const latencies: number[] = [];
  let lost = 0;
  let running_ = true;
  const loop = (async () => {
    await new Promise((r) => setTimeout(r, 500)); // the retained alarm from an earlier step arrives first
    while (running_) {
      const sent = Date.now();
      const got = new Promise<number | undefined>((resolve) => {
        waiting = resolve;
        setTimeout(() => resolve(undefined), 2000);
      });
      door.publish(`sc/${SITE}/access/door-probe/event`, JSON.stringify({ type: 'door_forced' }), { qos: 0 });
      const at = await got;
      waiting = undefined;
      if (at === undefined) lost++;
      else latencies.push(at - sent);
      await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - sent))));
    }
  })();
  return {
    async stop() {
      running_ = false;
      await loop;
      await door.endAsync(true);
      await desk.endAsync(true);
      latencies.sort((a, b) => a - b);
      const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
      return { alarmP50Ms: q(0.5), alarmP99Ms: q(0.99), alarmProbes: latencies.length + lost, alarmLost: lost };
    },
  };
}

async function runLoadProcess(opts: LoadOptions, dir: string): Promise<LoadResult> {
  const file = join(dir, 'load.json');
  await writeFile(file, JSON.stringify(opts));
  const { child } = { child: spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', file], { stdio: ['ignore', 'pipe', 'inherit'] }) };
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(out) as LoadResult;
}

async function step(influx: InfluxServer, pipeline: Pipeline, qos: 0 | 1, rate: number, seconds: number, dir: string, n: number): Promise<Step> {
  const db = `bench_${pipeline}_q${qos}_${rate}_${n}`;
  const profiled = pipeline === 'profile';
  const dataDir = join(dir, profiled ? 'gateway-data-profile' : 'gateway-data');
  const running = await startPipeline(pipeline, influx.url, db, dataDir);
  try {
    const devices = await devicesFor(pipeline, running, join(dir, profiled ? 'creds-profile.json' : 'creds.json'));
    const probe = pipeline === 'rules' ? await alarmProbe(running, join(dir, 'probe.json')) : undefined;
    const sample = sampler(running.child.pid!);
    const load = await runLoadProcess({ port: running.port, devices, rate, seconds, qos, baseTs: Date.now() - 3_600_000, payload: profiled ? 'vendor' : args.native === 'full' ? 'native-full' : 'native' }, dir);
    const alarms = await probe?.stop();
    // Kernel socket buffers can hide a pipeline that falls behind, so keeping up means: when the sending
    // stops, everything is stored within LAG_S (a flush and a write), not merely at some point later.
    const sentAt = Date.now();
    const storedBy = async (deadline: number) => {
      let stored = await count(influx, db);
      while (stored < load.sent && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        stored = await count(influx, db);
      }
      return stored;
    };
    const storedInTime = await storedBy(sentAt + LAG_S * 1000);
    const usage = sample.stop();
    const stored = await storedBy(sentAt + GRACE_S * 1000);
    const drainSeconds = Number(((Date.now() - sentAt) / 1000).toFixed(1));
    const sustained =
      load.connectErrors === 0 &&
      storedInTime === load.sent &&
      load.backlogBytes <= MAX_BACKLOG &&
      (qos === 0 || (load.acked === load.sent && (load.ackP99Ms ?? Infinity) <= MAX_ACK_P99_MS));
    const result: Step = {
      pipeline,
      qos,
      rate,
      sent: load.sent,
      stored,
      storedInTime,
      drainSeconds,
      acked: load.acked,
      ackP50Ms: load.ackP50Ms,
      ackP99Ms: load.ackP99Ms,
      backlogBytes: load.backlogBytes,
      ...usage,
      sustained,
      ...alarms,
    };
    log(`${pipeline} qos${qos} ${rate}/s: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await running.stop();
    await influx.query(`DROP DATABASE "${db}"`).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  // The gateway runs as `npm start` runs it: compiled, without a TypeScript loader.
  const build = spawn('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if ((await new Promise((r) => build.once('exit', r))) !== 0) throw new Error('build failed');
  const dir = await mkdtemp(join(tmpdir(), 'bench-'));
  await mkdir(join(dir, 'profiles'));
  await writeFile(join(dir, 'profiles', `${BENCH_PROFILE_ID}.yaml`), BENCH_PROFILE);
  const influx = await startInflux();
  const steps: Step[] = [];
  let n = 0;
  try {
    for (const qos of args.qos.split(',').map(Number) as Array<0 | 1>) {
      // The pipelines take each rate in turn, so a shared machine's noise falls on all of them alike; each
      // climbs until its first rate not sustained.
      let climbing = args.pipelines.split(',') as Pipeline[];
      for (const rate of args.rates.split(',').map(Number)) {
        for (const pipeline of climbing) {
          const s = await step(influx, pipeline, qos, rate, SECONDS, dir, n++);
          steps.push(s);
          if (!s.sustained) climbing = climbing.filter((p) => p !== pipeline);
        }
        if (climbing.length === 0) break;
      }
    }
    if (args.idle) steps.push(await step(influx, 'gateway', 1, DEVICES / 10, SECONDS, dir, n++));
  } finally {
    await influx.stop();
    await rm(dir, { recursive: true, force: true });
  }
  await report(steps);
}

async function report(steps: Step[]): Promise<void> {
  const best = (pipeline: Pipeline, qos: number) =>
    steps.filter((s) => s.pipeline === pipeline && s.qos === qos && s.sustained && s.rate !== DEVICES / 10).sort((a, b) => b.rate - a.rate)[0] as Step | undefined;
  const lines = [`# ingest benchmark: ${DEVICES} devices, ${SECONDS} s per step, native payload ${args.native}, ${new Date().toISOString()}`, ''];
  lines.push(
    '| pipeline | QoS | highest sustained rate (msg/s) | CPU % (one core = 100) | peak RSS MB | steady RSS MB |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  const summary: Record<string, unknown> = {};
  for (const qos of [0, 1]) {
    for (const pipeline of ['gateway', 'rules', 'profile', 'naive'] as Pipeline[]) {
      const b = best(pipeline, qos);
      if (steps.some((s) => s.pipeline === pipeline && s.qos === qos)) {
        lines.push(`| ${pipeline} | ${qos} | ${b?.rate ?? 'none'} | ${b?.cpuPct ?? '-'} | ${b?.rssMaxMb ?? '-'} | ${b?.rssSteadyMb ?? '-'} |`);
      }
    }
    const g = best('gateway', qos);
    const nv = best('naive', qos);
    if (g && nv) {
      summary[`qos${qos}Ratio`] = Number((g.rate / nv.rate).toFixed(2));
      lines.push(`| ratio gateway / naive at QoS ${qos} | | ${(g.rate / nv.rate).toFixed(2)}× | | | |`);
    }
  }
  for (const qos of [0, 1]) {
    const p = best('profile', qos);
    const g = best('gateway', qos);
    if (p && g) {
      summary[`qos${qos}ProfileRatio`] = Number((p.rate / g.rate).toFixed(2));
      lines.push(`| ratio profile / gateway at QoS ${qos} | | ${(p.rate / g.rate).toFixed(2)}× | | | |`);
    }
  }
  const withRules = steps.filter((s) => s.pipeline === 'rules' && s.sustained);
  const latencies: string[] = [];
  for (const qos of [0, 1]) {
    const r = best('rules', qos);
    const g = best('gateway', qos);
    if (!r) continue;
    if (g) {
      summary[`qos${qos}RulesRatio`] = Number((r.rate / g.rate).toFixed(2));
      lines.push(`| ratio rules / gateway at QoS ${qos} | | ${(r.rate / g.rate).toFixed(2)}× | | | |`);
    }
    const half = withRules.filter((s) => s.qos === qos && s.rate <= r.rate / 2).sort((a, b) => b.rate - a.rate)[0];
    for (const s of [half, r].filter(Boolean)) {
      latencies.push(`rules, QoS ${qos}, ${s!.rate} msg/s: alarm latency p50 ${s!.alarmP50Ms} ms, p99 ${s!.alarmP99Ms} ms (${s!.alarmProbes} probes, ${s!.alarmLost} lost)`);
    }
  }
  if (latencies.length > 0) lines.push('', ...latencies);
  const idle = steps.find((s) => s.rate === DEVICES / 10);
  if (idle) {
    lines.push(
      '',
      `${DEVICES} devices once per 10 s (${idle.rate} msg/s, QoS 1): CPU ${idle.cpuPct} %, peak RSS ${idle.rssMaxMb} MB, ` +
        `steady RSS ${idle.rssSteadyMb} MB, all stored: ${idle.sustained}`,
    );
  }
  lines.push('', 'Every step:', '```', ...steps.map((s) => JSON.stringify(s)), '```');
  process.stdout.write(`${lines.join('\n')}\n`);
  await mkdir('bench/results', { recursive: true });
  await writeFile(`bench/results/ingest-${Date.now()}.json`, JSON.stringify({ devices: DEVICES, seconds: SECONDS, native: args.native, summary, steps }, null, 2));
}

await main();
