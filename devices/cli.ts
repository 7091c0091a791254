/**
 * `npm run simulate -- [options]`: a simulated site against a running gateway. See docs/simulator.md.
 *
 *   npm run simulate -- --site demo --devices 500 --scenario fire:b2-f3@30s
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { parseDuration } from '../src/config/duration.js';
import { planFlood, POWER_LOSSES, type PowerLoss } from './flood.js';
import { Simulator, type SimulatorStats } from './runtime/simulator.js';
import { isFlood, parseScenario, SCENARIOS, type ScenarioStep } from './scenarios.js';
import { expandSite, loadSite, scaleSite } from './site.js';

const HELP = `usage: npm run simulate -- [options]

  --site NAME|FILE     a site in devices/sites (demo) or a site file           [demo]
  --devices N          grow or cut the site to N devices                      [as the site file says]
  --gateway URL        the gateway's HTTP API                                 [http://127.0.0.1:$HTTP_PORT or 8080]
  --mqtt URL           the gateway's MQTT listener                            [mqtt://127.0.0.1:$MQTT_PORT or 1883]
  --token TOKEN        the admin token, to register the devices               [$ADMIN_TOKEN]
  --state FILE         where the devices' credentials are kept                [.simulator/SITE.json]
  --interval D         telemetry interval of each device                      [10s]
  --qos 0|1            QoS of telemetry (events and results are always 1)     [1]
  --speed X            simulated time runs X times faster (60: a day in 24 min) [1]
  --start TIME         simulated start time, ISO-8601                         [now]
  --seed N             random seed                                            [1]
  --scenario S         name:target[@at][+for], e.g. fire:b2-f3@30s+5m (repeatable)
  --timeline FILE      scenarios from a YAML or JSON list of such strings or {at, scenario, target, for}
  --decay F            a share F (0..1) of the lamps, pump sets and distribution rooms wear out slowly [0]
  --keepalive D        MQTT keepalive of the devices (a dark one is noticed after 1.5 × this) [30s]
  --flood-fire-after D in a mains-loss-flood, when the fire starts after the mains fail [30s]
  --flood-fire-zone Z  in a mains-loss-flood, the fire's zone                 [the building's middle one]
  --flood-loss HOW     keepalive (the devices just stop) or close (their sockets close at once) [keepalive]
  --flood-boot D       the fed devices come back within D after the mains return [10s]
  --duration D         stop after D                                           [run until Ctrl-C]
  --list               list the scenarios and exit
`;

class UsageError extends Error {}

const { values: args } = parseArgs({
  options: {
    site: { type: 'string', default: 'demo' },
    devices: { type: 'string' },
    gateway: { type: 'string', default: `http://127.0.0.1:${process.env.HTTP_PORT ?? 8080}` },
    mqtt: { type: 'string', default: `mqtt://127.0.0.1:${process.env.MQTT_PORT ?? 1883}` },
    token: { type: 'string', default: process.env.ADMIN_TOKEN },
    state: { type: 'string' },
    interval: { type: 'string', default: '10s' },
    qos: { type: 'string', default: '1' },
    speed: { type: 'string', default: '1' },
    start: { type: 'string' },
    seed: { type: 'string', default: '1' },
    scenario: { type: 'string', multiple: true, default: [] },
    timeline: { type: 'string' },
    duration: { type: 'string' },
    keepalive: { type: 'string', default: '30s' },
    decay: { type: 'string', default: '0' },
    'flood-fire-after': { type: 'string' },
    'flood-fire-zone': { type: 'string' },
    'flood-loss': { type: 'string', default: 'keepalive' },
    'flood-boot': { type: 'string' },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

const SITES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'sites');

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`--${flag}: expected a duration like 500ms, 10s, 5m or 2h, got "${text}"`);
  return ms;
}

function zeroOrMore(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0) throw new UsageError(`--${flag}: expected a duration like 0s, 500ms, 10s or 5m, got "${text}"`);
  return ms;
}

function positive(flag: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${flag}: expected a positive ${integer ? 'whole ' : ''}number, got "${text}"`);
  }
  return n;
}

/** More devices than one process can hold connections for is a typo, not a plan. */
const MAX_DEVICES = 100_000;

function deviceCount(text: string): number {
  const n = positive('devices', text, true);
  if (n > MAX_DEVICES) throw new UsageError(`--devices: at most ${MAX_DEVICES} in one simulator, got ${n}; run several`);
  return n;
}

/** The scenarios of `--timeline`: a list of `name:target@at+for` strings or `{ at, scenario, target, for }`. */
async function readTimeline(path: string): Promise<ScenarioStep[]> {
  const list = parseYaml(await readFile(path, 'utf8')) as unknown;
  if (!Array.isArray(list)) throw new UsageError(`--timeline ${path}: expected a list of scenarios`);
  return list.map((item, i) => {
    try {
      if (typeof item === 'string') return parseScenario(item);
      const { at, scenario, target, for: lasts } = item as Record<string, unknown>;
      return parseScenario(`${scenario}:${target}${at ? `@${at}` : ''}${lasts ? `+${lasts}` : ''}`);
    } catch (err) {
      throw new UsageError(`--timeline ${path}: item ${i + 1}: ${(err as Error).message}`);
    }
  });
}

async function options() {
  const sitePath = /[/.]/.test(args.site!) ? args.site! : join(SITES_DIR, `${args.site}.yaml`);
  const site = await loadSite(sitePath);
  if (!args.token) throw new UsageError('--token: the admin token is needed to register devices (or set ADMIN_TOKEN)');
  if (args.qos !== '0' && args.qos !== '1') throw new UsageError(`--qos: expected 0 or 1, got "${args.qos}"`);
  const startAt = args.start === undefined ? undefined : Date.parse(args.start);
  if (startAt !== undefined && !Number.isFinite(startAt)) throw new UsageError(`--start: expected an ISO-8601 time, got "${args.start}"`);
  const steps = args.scenario!.map((s) => {
    try {
      return parseScenario(s);
    } catch (err) {
      throw new UsageError(`--scenario: ${(err as Error).message}`);
    }
  });
  if (args.timeline) steps.push(...(await readTimeline(args.timeline)));
  const loss = args['flood-loss']!;
  if (!(POWER_LOSSES as readonly string[]).includes(loss)) throw new UsageError(`--flood-loss: expected ${POWER_LOSSES.join(' or ')}, got "${loss}"`);
  const flood = {
    fireAfterMs: args['flood-fire-after'] === undefined ? undefined : zeroOrMore('flood-fire-after', args['flood-fire-after']),
    fireZone: args['flood-fire-zone'],
    loss: loss as PowerLoss,
    bootSpreadMs: args['flood-boot'] === undefined ? undefined : zeroOrMore('flood-boot', args['flood-boot']),
  };
  const devices = args.devices === undefined ? undefined : deviceCount(args.devices);
  const decay = Number(args.decay);
  if (!(decay >= 0 && decay <= 1)) throw new UsageError(`--decay: expected a share from 0 to 1, got "${args.decay}"`);
  // A flood that cannot be played is refused now, before anything is registered.
  const specs = devices === undefined ? expandSite(site) : scaleSite(site, devices);
  for (const step of steps.filter(isFlood)) {
    try {
      planFlood(specs, step.target, { ...flood, outageMs: step.forMs });
    } catch (err) {
      throw new UsageError(`--scenario ${step.text}: ${(err as Error).message}`);
    }
  }
  return {
    site,
    devices,
    keepaliveS: Math.max(1, Math.round(duration('keepalive', args.keepalive!) / 1000)),
    decay: { fraction: decay },
    flood,
    apiUrl: args.gateway!.replace(/\/$/, ''),
    mqttUrl: args.mqtt!,
    token: args.token,
    // The gateway's topic root, when it is not the default `sc` (contract §1).
    baseTopic: process.env.BASE_TOPIC,
    stateFile: args.state ?? join('.simulator', `${site.site}.json`),
    intervalMs: duration('interval', args.interval!),
    qos: Number(args.qos) as 0 | 1,
    speed: positive('speed', args.speed!, false),
    startAt,
    seed: positive('seed', args.seed!, true),
    steps,
    durationMs: args.duration === undefined ? undefined : duration('duration', args.duration),
  };
}

/** The live progress line: rewritten in place on a terminal, a line every 10 s otherwise (CI logs). */
function progress(sim: Simulator, timeZone: string, speed: number): () => void {
  let last = sim.stats();
  let lastAt = Date.now();
  let lines = 0;
  let shownRejections = 0;
  const tty = process.stderr.isTTY;
  const timer = setInterval(() => {
    const s = sim.stats();
    const now = Date.now();
    const rate = ((s.published - last.published) * 1000) / Math.max(1, now - lastAt);
    for (const r of s.lastRejections.slice(-Math.min(5, s.rejected - shownRejections))) {
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}rejected: ${r.topic}: ${r.reason}\n`);
    }
    shownRejections = s.rejected;
    const line = describe(s, rate, timeZone, speed);
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (lines++ % 10 === 0) process.stderr.write(`${line}\n`);
    last = s;
    lastAt = now;
  }, 1000);
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write('\n');
  };
}

function describe(s: SimulatorStats, rate: number, timeZone: string, speed: number): string {
  const when = new Date(s.simTime).toLocaleString('sv-SE', { timeZone }).slice(0, 16);
  return (
    `[${when}${speed !== 1 ? ` ${speed}×` : ''}] ${s.connected}/${s.devices} connected · ${rate.toFixed(1)} msg/s · ` +
    `${s.published} sent · ${s.events} events · ${s.commands} commands · ${s.rejected} rejected` +
    (s.publishErrors ? ` · ${s.publishErrors} publish errors` : '')
  );
}

async function main(): Promise<void> {
  if (args.help) return void process.stdout.write(HELP);
  if (args.list) {
    const width = Math.max(...Object.keys(SCENARIOS).map((n) => n.length)) + 2;
    for (const [name, def] of Object.entries(SCENARIOS)) process.stdout.write(`${name.padEnd(width)}${def.description}\n`);
    return;
  }
  const o = await options();
  const say = (line: string) => process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${line}\n`);
  const sim = new Simulator({
    ...o,
    log: say,
    onProgress: (phase, done, total) => {
      if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${phase} ${done}/${total}`);
      else if (done === total) say(`${phase} ${done}/${total}`);
    },
  });
  say(`site ${o.site.site}: ${sim.specs.length} devices → ${o.mqttUrl} (API ${o.apiUrl})`);
  await sim.start();
  say(`all ${sim.specs.length} devices connected`);
  sim.schedule(o.steps);
  const stopProgress = progress(sim, o.site.timeZone, o.speed);
  const stop = async (why: string) => {
    stopProgress();
    say(`stopping (${why}): devices say offline and disconnect`);
    await sim.stop();
    const s = sim.stats();
    say(`sent ${s.published} messages (${s.events} events), answered ${s.commands} commands, ${s.rejected} rejected`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  if (o.durationMs !== undefined) setTimeout(() => void stop(`--duration ${args.duration}`), o.durationMs);
}

main().catch((err: Error) => {
  process.stderr.write(`simulate: ${err.message}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
