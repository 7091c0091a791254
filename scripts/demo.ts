/**
 * `npm run demo`: a gateway with the default rule pack (rules/), the demo community of the simulators
 * (devices/sites/demo.yaml, its site file and plans in devices/demo-site/) and a scripted timeline of faults
 * (devices/sites/demo-timeline.yaml), played again and again; the alarms and work orders print as they happen,
 * read from their MQTT topics as the security desk would. A scenario typed on standard input starts at once.
 *
 *   npm run demo -- [--speed 1] [--duration 10m] [--devices N] [--timeline FILE]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../src/config/duration.js';
import { Simulator } from '../devices/runtime/simulator.js';
import { isDecay, parseScenario, type ScenarioStep } from '../devices/scenarios.js';
import { loadSite } from '../devices/site.js';
import { BASE_TOPIC, clock, watch } from './demo-desk.js';

const { values: args } = parseArgs({
  options: {
    speed: { type: 'string', default: '1' },
    duration: { type: 'string' },
    devices: { type: 'string' },
    timeline: { type: 'string', default: 'devices/sites/demo-timeline.yaml' },
  },
});

/** The demo site's file and drawn plans, served by the gateway (contract §12). */
const DEMO_SITES_DIR = 'devices/demo-site';
/** Quiet time after the timeline's last fault before it plays again: the demo never goes silent. */
const ROUND_PAUSE_MS = 4 * 60_000;
/** How long the gateway may take to stop before it is killed: Ctrl-C must end the demo within 5 s. */
const GATEWAY_STOP_MS = 3000;
/** npm forwards the terminal's SIGINT, which reaches us directly too: the same Ctrl-C within this is one. */
const SAME_SIGNAL_MS = 1000;

interface RunningGateway {
  child: ChildProcess;
  exited: Promise<unknown>;
  mqttPort: number;
  httpPort: number;
}

/** Everything to release when the demo stops; filled in as the start gets there. */
const held: { dataDir?: string; gateway?: RunningGateway; sim?: Simulator; desk?: MqttClient; timers: NodeJS.Timeout[] } = { timers: [] };
const say = (line: string) => process.stdout.write(`${clock()}  ${line}\n`);

/** Starts the gateway as `npm run dev` does, with its own data dir; resolves with its ports. */
function startGateway(dataDir: string, token: string, timeZone: string): Promise<RunningGateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      ADMIN_TOKEN: token,
      RULES_DIR: 'rules',
      SITES_DIR: DEMO_SITES_DIR,
      // The demo community's clock: rules' hours, reports' days and the printed times agree with the simulators'.
      TZ: timeZone,
      MQTT_PORT: process.env.MQTT_PORT ?? '0',
      MQTT_WS_PORT: process.env.MQTT_WS_PORT ?? '0',
      HTTP_PORT: process.env.HTTP_PORT ?? '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      LOG_FORMAT: process.env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    /** What the gateway printed until its ports line; undefined once it is up. */
    let out: string | undefined = '';
    child.stdout!.on('data', (d: Buffer) => {
      // What the gateway says (its warnings: InfluxDB away, a port in use) is shown as it comes.
      process.stdout.write(d);
      if (out === undefined) return;
      out += d.toString();
      const m = /MQTT on port (\d+), MQTT over WebSocket on port \d+, HTTP on port (\d+)\n/.exec(out);
      if (!m) return;
      out = undefined;
      resolve({ child, exited, mqttPort: Number(m[1]), httpPort: Number(m[2]) });
    });
    void exited.then((code) => reject(new Error(`the gateway exited with ${String(code)}`)));
  });
}

/** A zone with fire detectors, for the example of a fire set off by hand (the demo may run a cut-down site). */
function fireZone(sim: Simulator): string {
  const zones = sim.specs.filter((d) => d.kind === 'fire').map((d) => d.zone);
  return zones.includes('b1-f2') ? 'b1-f2' : (zones[0] ?? 'b1-f2');
}

/** The timeline shifted by `offsetMs`, for its next round. */
const shifted = (timeline: ScenarioStep[], offsetMs: number) => timeline.map((s) => ({ ...s, atMs: s.atMs + offsetMs }));

/** Plays the timeline now and again every round, until the demo stops. */
function playRounds(sim: Simulator, timeline: ScenarioStep[]): void {
  if (timeline.length === 0) return;
  const roundMs = Math.max(...timeline.map((s) => s.atMs)) + ROUND_PAUSE_MS;
  sim.schedule(timeline);
  let round = 1;
  held.timers.push(
    setInterval(() => {
      say(`the timeline plays again (round ${++round})`);
      sim.schedule(shifted(timeline, (round - 1) * roundMs));
    }, roundMs),
  );
}

/** A scenario typed on standard input (`fire:b1-f2`) starts at once, as if the timeline said so. */
function takeScenarios(sim: Simulator): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (text) => {
    if (text.trim() === '') return;
    try {
      const step = parseScenario(text);
      // The simulator says which devices it started on, or that none fits.
      const acted = sim.apply(step, true);
      // A slow fault's `+for` is its time to the failure, not how long it lasts.
      if (acted.length > 0 && step.forMs !== undefined && !isDecay(step)) held.timers.push(setTimeout(() => sim.apply(step, false), step.forMs));
    } catch (err) {
      say((err as Error).message);
    }
  });
}

async function main(): Promise<void> {
  const site = await loadSite('devices/sites/demo.yaml');
  // Every time this process prints is the site's local time.
  process.env.TZ = site.timeZone;
  held.dataDir = await mkdtemp(join(tmpdir(), 'gateway-demo-'));
  const token = randomBytes(18).toString('base64url');
  const gateway = (held.gateway = await startGateway(held.dataDir, token, site.timeZone));
  const apiUrl = `http://127.0.0.1:${gateway.httpPort}`;
  const mqttUrl = `mqtt://127.0.0.1:${gateway.mqttPort}`;
  held.desk = await watch(mqttUrl, apiUrl, token, site.site);
  const timeline = (parseYaml(await readFile(args.timeline!, 'utf8')) as string[]).map(parseScenario);
  const sim = (held.sim = new Simulator({
    site,
    apiUrl,
    mqttUrl,
    token,
    devices: args.devices === undefined ? undefined : Number(args.devices),
    stateFile: join(held.dataDir, 'simulator.json'),
    speed: Number(args.speed),
    baseTopic: BASE_TOPIC,
    log: say,
  }));
  await sim.start();
  process.stdout.write(
    [
      '',
      `demo: the console       http://localhost:${gateway.httpPort}/   sign in with the admin token below`,
      `demo: admin token       ${token}`,
      `demo: MQTT              ${mqttUrl}   time zone ${site.timeZone}   data in ${held.dataDir} (removed when the demo stops)`,
      `demo: ${sim.specs.length} devices of ${site.site} connected; the timeline's ${timeline.length} faults play every few minutes`,
      `demo: to set off a fire by hand, type this line and press Enter:   fire:${fireZone(sim)}+3m`,
      '      (any scenario of docs/simulator.md works the same way: door-forced:access-b1-lobby-01, sos-call:sos-carpark-01)',
      'demo: Ctrl-C stops the demo and removes its data; a second Ctrl-C stops it at once',
      '',
    ].join('\n'),
  );
  playRounds(sim, timeline);
  takeScenarios(sim);
  const duration = args.duration === undefined ? undefined : parseDuration(args.duration);
  if (duration !== undefined) held.timers.push(setTimeout(() => void stop(), duration));
}

/** Resolves after `ms` at most, whatever `work` does. */
const atMost = (work: Promise<unknown> | undefined, ms: number) =>
  Promise.race([work?.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);

let stopping: Promise<void> | undefined;

/** Stops the devices, the desk and the gateway, removes the data dir, exits 0. */
function stop(): Promise<void> {
  stopping ??= (async () => {
    process.stdout.write('\ndemo: stopping (Ctrl-C again to stop at once)\n');
    for (const t of held.timers) clearTimeout(t);
    process.stdin.destroy();
    // Ctrl-C reached the gateway too (one process group): it may be gone already, so nothing here waits long.
    await atMost(held.sim?.stop(), 1500);
    held.desk?.end(true);
    const gw = held.gateway;
    if (gw && gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill('SIGTERM');
      if ((await Promise.race([gw.exited.then(() => true), atMost(undefined, GATEWAY_STOP_MS)])) !== true) {
        gw.child.kill('SIGKILL');
        await gw.exited;
      }
    }
    if (held.dataDir) await rm(held.dataDir, { recursive: true, force: true });
    process.exit(0);
  })();
  return stopping;
}

/** The second Ctrl-C: kill the gateway, remove the data dir, exit now. */
function stopAtOnce(): void {
  held.gateway?.child.kill('SIGKILL');
  if (held.dataDir) rmSync(held.dataDir, { recursive: true, force: true });
  process.exit(130);
}

let firstSignalAt = 0;
const onSignal = () => {
  if (!stopping) {
    firstSignalAt = Date.now();
    return void stop();
  }
  if (Date.now() - firstSignalAt > SAME_SIGNAL_MS) stopAtOnce();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// The terminal window closed: the same clean stop, or the temp dir would stay behind.
process.on('SIGHUP', onSignal);

main().catch(async (err: Error) => {
  // Ctrl-C while starting: the gateway stopped with it, and stop() finishes the job.
  if (stopping) return;
  process.stderr.write(`demo: ${err.message}\n`);
  held.gateway?.child.kill('SIGKILL');
  if (held.dataDir) await rm(held.dataDir, { recursive: true, force: true });
  process.exit(1);
});
